//! One file's bytes on the simulated media, and what a power loss leaves of
//! them: exactly the states `dislog_core::Storage` allows, no others.

use std::collections::BTreeSet;

use crate::faults::CrashMode;
use crate::rng::Rng;
use crate::storage::World;

/// Length of a dislog file header.
const HEADER: usize = dislog_core::HEADER_LEN as usize;

/// A file's content: what reads see and what the last sync made durable.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inode {
    /// The bytes reads see.
    pub live: Vec<u8>,
    /// The bytes as of the last sync.
    pub durable: Vec<u8>,
    /// Bytes `0..low` of `durable` were neither truncated nor rewritten
    /// since the last sync, so they survive a power loss.
    pub low: usize,
}

impl Inode {
    /// A file whose `bytes` are all synced.
    pub fn durable(bytes: Vec<u8>) -> Self {
        Self {
            low: bytes.len(),
            live: bytes.clone(),
            durable: bytes,
        }
    }

    pub fn truncate(&mut self, len: usize) {
        self.live.truncate(len);
        self.low = self.low.min(len);
    }

    pub fn sync(&mut self) {
        self.durable.clone_from(&self.live);
        self.low = self.live.len();
    }

    /// Makes bytes `0..len` durable as reads see them now, the rest as it
    /// was: what survives a power loss keeps that prefix (`low`).
    pub fn sync_prefix(&mut self, len: usize) {
        let len = len.min(self.live.len());
        if self.durable.len() < len {
            self.durable.resize(len, 0);
        }
        self.durable[..len].copy_from_slice(&self.live[..len]);
        self.low = self.low.max(len);
    }

    pub fn flip_bit(&mut self, bit: u64) -> bool {
        let Ok(byte) = usize::try_from(bit / 8) else {
            return false;
        };
        let mask = 1u8 << (bit % 8);
        let mut hit = false;
        for bytes in [&mut self.live, &mut self.durable] {
            if let Some(b) = bytes.get_mut(byte) {
                *b ^= mask;
                hit = true;
            }
        }
        hit
    }

    /// What the media holds of this file after a power loss.
    fn after_power_loss(&self, mode: CrashMode, rng: &mut Rng) -> Vec<u8> {
        let (garbage, zero_fill, torn_headers) = match mode {
            CrashMode::LoseUnsynced => return self.durable.clone(),
            CrashMode::KeepAll => return self.live.clone(),
            CrashMode::Prefix => {
                // A truncation since the sync may not have landed either.
                if self.durable.len() > self.low && rng.chance(1, 2) {
                    return self.durable.clone();
                }
                let len = rng.range(self.low as u64, self.live.len() as u64) as usize;
                return self.live[..len].to_vec();
            }
            CrashMode::Random {
                garbage,
                zero_fill,
                torn_headers,
            } => (garbage, zero_fill, torn_headers),
        };
        let (live, durable, low) = (&self.live, &self.durable, self.low);
        let mut out = match rng.below(4) {
            // Nothing unsynced reached the media.
            0 => durable.clone(),
            // All of it did.
            1 => live.clone(),
            // A torn write: a prefix of it did.
            2 => live[..rng.range(low as u64, live.len() as u64) as usize].to_vec(),
            // Anything: runs of new, old, zero or garbage bytes.
            _ => {
                // Torn writes usually keep a whole length (the size is
                // metadata) with holes in the data: favour the two ends.
                let len = match rng.below(3) {
                    0 => live.len(),
                    1 => durable.len().max(low),
                    _ => rng.range(low as u64, live.len().max(durable.len()) as u64) as usize,
                };
                let mut out = live[..low].to_vec();
                while out.len() < len {
                    let run = (rng.range(1, 64) as usize).min(len - out.len());
                    let at = out.len();
                    match rng.below(if garbage { 4 } else { 3 }) {
                        0 if at + run <= live.len() => out.extend_from_slice(&live[at..at + run]),
                        1 if at + run <= durable.len() => {
                            out.extend_from_slice(&durable[at..at + run]);
                        }
                        3 => {
                            let mut bytes = vec![0; run];
                            rng.fill(&mut bytes);
                            out.extend_from_slice(&bytes);
                        }
                        _ => out.resize(at + run, 0),
                    }
                }
                out
            }
        };
        if zero_fill && rng.chance(1, 8) {
            let extra = rng.range(1, 64) as usize;
            out.resize(out.len() + extra, 0);
        }
        if !torn_headers {
            self.whole_header(&mut out);
        }
        out
    }

    /// Puts back a whole header (as written, as synced, or all zero) where
    /// `out` holds a torn one.
    fn whole_header(&self, out: &mut [u8]) {
        let Some(header) = out.get_mut(..HEADER) else {
            return;
        };
        let whole = |bytes: &Vec<u8>| bytes.get(..HEADER).is_some_and(|h| h == header);
        if header.iter().all(|&b| b == 0) || whole(&self.live) || whole(&self.durable) {
            return;
        }
        match self
            .live
            .get(..HEADER)
            .or_else(|| self.durable.get(..HEADER))
        {
            Some(h) => header.copy_from_slice(h),
            None => header.fill(0),
        }
    }
}

/// Every file the media holds after a power loss now, with its bytes.
pub(crate) fn after_power_loss(
    world: &World,
    mode: CrashMode,
    rng: &mut Rng,
) -> Vec<(String, Vec<u8>)> {
    let names: BTreeSet<&String> = world.live.keys().chain(world.durable.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let live = world.live.get(name).and_then(|id| world.inodes.get(id));
        let durable = world.durable.get(name).and_then(|id| world.inodes.get(id));
        let same = world.live.get(name) == world.durable.get(name);
        // Which file the name leads to, and whether it is the live one.
        let pick = match (live, durable, mode) {
            (Some(l), Some(_), _) if same => Some((l, true)),
            (Some(l), _, CrashMode::KeepAll) => Some((l, true)),
            (None, Some(_), CrashMode::KeepAll) => None,
            (_, Some(d), CrashMode::LoseUnsynced) => Some((d, false)),
            (Some(_), None, CrashMode::LoseUnsynced) => None,
            // Created, removed or replaced since the last directory sync:
            // either state of the name may be what the media holds.
            (Some(l), Some(d), _) => Some(if rng.chance(1, 2) {
                (l, true)
            } else {
                (d, false)
            }),
            (Some(l), None, _) => rng.chance(1, 2).then_some((l, true)),
            (None, Some(d), _) => rng.chance(1, 2).then_some((d, false)),
            (None, None, _) => None,
        };
        match pick {
            Some((inode, true)) => out.push((name.clone(), inode.after_power_loss(mode, rng))),
            // A removed file that comes back holds what it held at its last sync.
            Some((inode, false)) => out.push((name.clone(), inode.durable.clone())),
            None => {}
        }
    }
    out
}
