//! The fuzz targets' bodies, here so that the crashing inputs a fuzzer
//! finds are replayed by an ordinary test (`sim/tests/fuzz_regressions.rs`)
//! as well as by `cargo fuzz` (`fuzz/fuzz_targets/*`).
//!
//! Each function takes arbitrary bytes and panics only when dislog breaks a
//! promise (a panic inside dislog, a read that returns bytes never appended
//! at that offset, a model mismatch): that panic is what the fuzzer
//! reports. Every size taken from the input is bounded, so a run is short.

use std::collections::BTreeMap;

use dislog_core::{
    file_name, Config, Error, ErrorCode, FileKind, Log, MemoryStorage, Storage, SyncPolicy,
    FORMAT_VERSION, HEADER_LEN, INDEX_MAGIC, STORE_MAGIC,
};

/// A reader of fuzz input that yields zeros once the bytes run out.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A length byte modulo `max`, then up to that many bytes of input.
    fn chunk(&mut self, max: u8) -> &'a [u8] {
        let n = usize::from(self.byte() % max);
        self.bytes(n)
    }

    /// Up to `n` bytes of input.
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A small, valid configuration with tiny segments.
    fn config(&mut self) -> Config {
        let sync = match self.byte() % 4 {
            0 => SyncPolicy::EveryAppend,
            1 => SyncPolicy::EveryBytes(1 + u64::from(self.byte())),
            _ => SyncPolicy::Manual,
        };
        Config {
            max_store_bytes: HEADER_LEN + 25 + u64::from(self.byte()) * 4,
            max_index_bytes: HEADER_LEN + 16 * (1 + u64::from(self.byte() % 16)),
            initial_offset: match self.byte() % 8 {
                0 => u64::MAX - u64::from(self.byte() % 16),
                1 => u64::from(self.u16()),
                _ => 0,
            },
            max_record_bytes: 1 + u64::from(self.byte()),
            sync,
            clock: || 7,
        }
    }
}

/// Builds a real log from the input: returns its files and its records.
fn template(input: &mut Input<'_>, config: Config) -> (MemoryStorage, BTreeMap<u64, Vec<u8>>) {
    let storage = MemoryStorage::new();
    let mut records = BTreeMap::new();
    let Ok(mut log) = Log::open(storage.clone(), config) else {
        return (storage, records);
    };
    let n = input.byte() % 40;
    for i in 0..n {
        let len = usize::from(input.byte() % 48);
        let payload = vec![i; len];
        if let Ok(offset) = log.append_at(&payload, u64::from(i)) {
            records.insert(offset, payload);
        }
    }
    if input.byte().is_multiple_of(4) {
        let lowest = log
            .lowest_offset()
            .unwrap_or(0)
            .saturating_add(u64::from(input.byte() % 8));
        if log.truncate(lowest).is_ok() {
            let low = log.lowest_offset().unwrap_or(log.next_offset());
            records = records.split_off(&low);
        }
    }
    drop(log);
    (storage, records)
}

/// A file header as `FORMAT.md` describes it.
fn header(kind: FileKind, base: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN as usize);
    out.extend_from_slice(match kind {
        FileKind::Store => &STORE_MAGIC,
        FileKind::Index => &INDEX_MAGIC,
    });
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&base.to_le_bytes());
    out
}

/// Applies input-driven damage to `bytes`: flips, cuts, zeroed or
/// overwritten ranges, insertions.
fn mutate(input: &mut Input<'_>, bytes: &mut Vec<u8>) {
    for _ in 0..input.byte() % 4 {
        let len = bytes.len();
        let at = if len == 0 {
            0
        } else {
            usize::from(input.u16()) % len
        };
        match input.byte() % 6 {
            0 if len > 0 => bytes[at] ^= 1 << (input.byte() % 8),
            1 => bytes.truncate(at),
            2 => {
                let n = usize::from(input.byte()).min(len - at);
                bytes[at..at + n].fill(0);
            }
            3 => {
                let patch = input.chunk(32);
                let n = patch.len().min(len - at);
                bytes[at..at + n].copy_from_slice(&patch[..n]);
            }
            4 => {
                let patch = input.chunk(32).to_vec();
                bytes.splice(at..at, patch);
            }
            _ => {}
        }
    }
}

/// Reads everything a log holds and checks it: every record read holds the
/// offset asked for and, when `known` has it, the bytes appended there.
fn read_all(log: &Log<MemoryStorage>, known: &BTreeMap<u64, Vec<u8>>) {
    let next = log.next_offset();
    if let Some(lowest) = log.lowest_offset() {
        assert!(lowest <= next, "lowest {lowest} above next {next}");
        // Bounded: the files are small, so a log cannot hold more records.
        assert!(next - lowest <= 1 << 20, "{lowest}..{next} records");
        for o in lowest..next {
            match log.read(o) {
                Ok(r) => {
                    assert_eq!(r.offset, o, "read({o}) returned another offset");
                    if let Some(expected) = known.get(&o) {
                        assert_eq!(&*r.payload, &expected[..], "read({o}) returned other bytes");
                    }
                }
                Err(e) => assert!(
                    matches!(e.code(), ErrorCode::Corrupt | ErrorCode::Io),
                    "read({o}) in range failed with {e:?}"
                ),
            }
        }
        let mut expect = lowest;
        for r in log.records() {
            match r {
                Ok(r) => {
                    assert_eq!(r.offset, expect, "iteration skipped or repeated");
                    if let Some(expected) = known.get(&r.offset) {
                        assert_eq!(&*r.payload, &expected[..], "iteration returned other bytes");
                    }
                    expect += 1;
                }
                Err(_) => break,
            }
        }
    }
    assert!(log.read(next).is_err(), "read past the end succeeded");
    let _ = log.offset_for_timestamp(5);
    let problems = log.verify(64);
    if problems.is_empty() {
        // An intact log snapshots and restores to the same records.
        let snapshot = log.snapshot();
        let snapshot = snapshot.unwrap_or_else(|e| panic!("verify found nothing, snapshot: {e}"));
        let copy = Log::restore(MemoryStorage::new(), *log.config(), &snapshot);
        let copy = copy.unwrap_or_else(|e| panic!("a fresh snapshot does not restore: {e}"));
        assert_eq!(copy.next_offset(), next);
        assert_eq!(copy.lowest_offset(), log.lowest_offset());
    }
}

/// Fuzz target `open_arbitrary_files`: a storage whose files hold
/// arbitrary (or damaged real) store, index and header bytes is opened,
/// read in full, written to, closed and opened again. Nothing may panic
/// and no read may return bytes that were not appended at that offset.
pub fn open_arbitrary_files(data: &[u8]) {
    let mut input = Input::new(data);
    let config = input.config();
    let (storage, known) = if input.byte().is_multiple_of(2) {
        template(&mut input, config)
    } else {
        (MemoryStorage::new(), BTreeMap::new())
    };
    let mut names = storage.list().unwrap_or_default();
    names.sort();
    // Damage the real files, delete some, add arbitrary ones.
    for name in &names {
        match input.byte() % 8 {
            0 => {
                let _ = storage.remove(name);
            }
            1..=3 => {
                if let Some(mut bytes) = storage.file_bytes(name) {
                    mutate(&mut input, &mut bytes);
                    let _ = storage.set_file_bytes(name, bytes);
                }
            }
            _ => {}
        }
    }
    for _ in 0..input.byte() % 6 {
        let base = match input.byte() % 6 {
            0 => u64::MAX,
            1 => u64::from(input.u16()),
            n => u64::from(n) * 3,
        };
        let kind = if input.byte().is_multiple_of(2) {
            FileKind::Store
        } else {
            FileKind::Index
        };
        let name = match input.byte() % 8 {
            0 => "README".to_string(),
            1 => format!("{}.tmp", file_name(base, kind)),
            _ => file_name(base, kind),
        };
        let mut bytes = if input.byte().is_multiple_of(2) {
            header(kind, base)
        } else {
            Vec::new()
        };
        let len = usize::from(input.u16() % 2048);
        bytes.extend_from_slice(input.bytes(len));
        let _ = storage.set_file_bytes(&name, bytes);
    }
    let log = match Log::open(storage.clone(), config) {
        Ok(log) => log,
        Err(e) => {
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::Format | ErrorCode::Corrupt | ErrorCode::Io
                ),
                "open failed with {e:?}"
            );
            return;
        }
    };
    read_all(&log, &known);
    let mut log = log;
    let next = log.next_offset();
    match log.append(b"after recovery") {
        Ok(offset) => assert_eq!(offset, next, "append after recovery"),
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::RecordTooLarge | ErrorCode::InvalidArgument | ErrorCode::Corrupt
            ),
            "append after recovery failed with {e:?}"
        ),
    }
    let _ = log.truncate_suffix(next.saturating_sub(u64::from(input.byte() % 4)));
    let _ = log.retain_bytes(u64::from(input.u16()));
    let _ = log.close();
    if let Ok(log) = Log::open(storage, config) {
        read_all(&log, &BTreeMap::new());
    }
}

/// Fuzz target `restore_snapshot`: arbitrary (or damaged real) snapshot
/// bytes given to `Log::restore`. A restore either fails with
/// `INVALID_SNAPSHOT` and leaves the storage empty, or gives a log whose
/// own snapshot is byte for byte the input.
pub fn restore_snapshot(data: &[u8]) {
    let mut input = Input::new(data);
    let config = input.config();
    let bytes = if input.byte().is_multiple_of(2) {
        let (storage, _) = template(&mut input, config);
        let mut bytes = match Log::open(storage, config).and_then(|log| log.snapshot()) {
            Ok(bytes) => bytes,
            Err(_) => return,
        };
        mutate(&mut input, &mut bytes);
        bytes
    } else {
        input.bytes(usize::MAX).to_vec()
    };
    let storage = MemoryStorage::new();
    match Log::restore(storage.clone(), config, &bytes) {
        Ok(log) => {
            let again = log.snapshot();
            let again = again.unwrap_or_else(|e| panic!("restored log does not snapshot: {e}"));
            assert!(again == bytes, "a restored log snapshots to other bytes");
            read_all(&log, &BTreeMap::new());
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::InvalidSnapshot(_)
                        | Error::RecordTooLarge { .. }
                        | Error::InvalidArgument(_)
                ),
                "restore failed with {e:?}"
            );
            let left = storage.list().unwrap_or_default();
            assert!(
                left.is_empty(),
                "a failed restore left files behind: {left:?}"
            );
        }
    }
}

/// Fuzz target `api_model`: a sequence of API calls decoded from the input
/// on tiny segments, each checked against a plain model, with clean and
/// unclean reopens in between.
pub fn api_model(data: &[u8]) {
    let mut input = Input::new(data);
    let config = input.config();
    let storage = MemoryStorage::new();
    let Ok(mut log) = Log::open(storage.clone(), config) else {
        panic!("a valid config does not open");
    };
    // Offset -> (timestamp, payload), lowest..next.
    let mut model: BTreeMap<u64, (u64, Vec<u8>)> = BTreeMap::new();
    let mut next = config.initial_offset;
    let limit = config.record_limit();
    for step in 0..256u32 {
        if input.is_empty() {
            break;
        }
        let floor = model.keys().next().copied().unwrap_or(next);
        match input.byte() % 12 {
            0..=3 => {
                let count = 1 + usize::from(input.byte() % 4);
                let batch: Vec<Vec<u8>> = (0..count).map(|_| input.chunk(64).to_vec()).collect();
                let ts = u64::from(input.byte());
                let too_large = batch.iter().any(|p| p.len() as u64 > limit);
                let overflow = next.checked_add(count as u64).is_none();
                match log.append_batch_at(&batch, ts) {
                    Ok(first) => {
                        assert!(
                            !too_large && !overflow,
                            "step {step}: invalid batch accepted"
                        );
                        assert_eq!(first, next, "step {step}: append offset");
                        for p in batch {
                            model.insert(next, (ts, p));
                            next += 1;
                        }
                    }
                    Err(Error::RecordTooLarge { .. }) => assert!(too_large),
                    Err(Error::InvalidArgument(_)) => assert!(overflow),
                    Err(e) => panic!("step {step}: append failed: {e}"),
                }
            }
            4 => log.sync().unwrap_or_else(|e| panic!("sync: {e}")),
            5 => {
                let to = floor.saturating_add(u64::from(input.byte() % 8));
                let removed = log.truncate(to).unwrap_or_else(|e| panic!("truncate: {e}"));
                let low = log.lowest_offset().unwrap_or(log.next_offset());
                assert!(
                    low >= floor && low <= floor.max(to),
                    "step {step}: truncate({to})"
                );
                assert_eq!(removed.records, low - floor);
                model = model.split_off(&low);
            }
            6 => {
                let from = next.saturating_sub(u64::from(input.byte() % 8));
                log.truncate_suffix(from)
                    .unwrap_or_else(|e| panic!("truncate_suffix: {e}"));
                if from < next {
                    model.split_off(&from);
                    next = from;
                }
            }
            7 => {
                let max = u64::from(input.u16());
                let low_before = floor;
                let removed = log
                    .retain_bytes(max)
                    .unwrap_or_else(|e| panic!("retain: {e}"));
                let size = log.size_bytes().unwrap_or_else(|e| panic!("size: {e}"));
                assert!(size <= max || log.segment_count() == 1);
                let low = log.lowest_offset().unwrap_or(log.next_offset());
                assert_eq!(removed.records, low - low_before);
                model = model.split_off(&low);
            }
            8 => {
                let ts = u64::from(input.byte());
                let removed = log
                    .retain_since(ts)
                    .unwrap_or_else(|e| panic!("retain: {e}"));
                let low = log.lowest_offset().unwrap_or(log.next_offset());
                assert_eq!(removed.records, low - floor);
                for (o, (t, _)) in model.range(..low) {
                    assert!(
                        *t < ts,
                        "step {step}: retain_since({ts}) removed {o} of time {t}"
                    );
                }
                model = model.split_off(&low);
            }
            9 => {
                if input.byte().is_multiple_of(2) {
                    log.close().unwrap_or_else(|e| panic!("close: {e}"));
                } else {
                    drop(log);
                }
                log = Log::open(storage.clone(), config)
                    .unwrap_or_else(|e| panic!("step {step}: reopen: {e}"));
            }
            10 => {
                let o = floor
                    .saturating_add(u64::from(input.byte() % 16))
                    .saturating_sub(2);
                match (log.read(o), model.get(&o)) {
                    (Ok(r), Some((ts, p))) => {
                        assert_eq!((r.timestamp, &*r.payload), (*ts, &p[..]), "read({o})");
                    }
                    (Err(Error::OutOfRange { .. }), None) => {}
                    (got, want) => panic!("step {step}: read({o}) gave {got:?}, model {want:?}"),
                }
            }
            _ => {
                let ts = u64::from(input.byte());
                let want = model.iter().find(|(_, (t, _))| *t >= ts).map(|(&o, _)| o);
                let got = log.offset_for_timestamp(ts);
                let got = got.unwrap_or_else(|e| panic!("offset_for_timestamp: {e}"));
                assert_eq!(got, want, "step {step}: offset_for_timestamp({ts})");
            }
        }
        assert_eq!(log.next_offset(), next, "step {step}: next offset");
        assert_eq!(
            log.lowest_offset(),
            model.keys().next().copied(),
            "step {step}"
        );
    }
    let all: Vec<(u64, u64, Vec<u8>)> = log
        .records()
        .map(|r| r.map(|r| (r.offset, r.timestamp, r.payload.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("iteration: {e}"));
    let want: Vec<(u64, u64, Vec<u8>)> = model.into_iter().map(|(o, (t, p))| (o, t, p)).collect();
    assert!(all == want, "iteration differs from the model");
    assert!(log.verify(16).is_empty(), "verify found problems");
}
