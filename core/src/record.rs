//! Records and their framing in a store file.
//!
//! A frame is a 24-byte header followed by the payload (`FORMAT.md`):
//!
//! | bytes  | field      | meaning                                           |
//! |--------|------------|---------------------------------------------------|
//! | 0..4   | `crc`      | checksum of bytes 4.. of the frame (CRC-32C; CRC-32 in version 1 stores) |
//! | 4..8   | `len`      | payload length                                    |
//! | 8..16  | `offset`   | the record's offset                               |
//! | 16..24 | `timestamp`| milliseconds since the Unix epoch (or caller's)   |
//! | 24..   | payload    | `len` bytes                                       |

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::checksum::{Checksum, FrameFields};
use crate::format::{read_u32, read_u64};

/// Length of a record frame's header.
pub const FRAME_HEADER_LEN: u64 = 24;

/// One record of the log: its offset, its timestamp and its payload. The
/// payload is borrowed from the storage when the backend allows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record's offset (its id).
    pub offset: u64,
    /// The record's timestamp: milliseconds since the Unix epoch by default,
    /// or whatever the caller passed.
    pub timestamp: u64,
    /// The record's bytes.
    pub payload: Cow<'a, [u8]>,
}

impl Record<'_> {
    /// A copy of the record that owns its payload.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            offset: self.offset,
            timestamp: self.timestamp,
            payload: Cow::Owned(self.payload.into_owned()),
        }
    }
}

/// The decoded header of a record frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub crc: u32,
    pub len: u32,
    pub offset: u64,
    pub timestamp: u64,
}

impl FrameHeader {
    #[inline]
    pub fn decode(bytes: &[u8; FRAME_HEADER_LEN as usize]) -> Self {
        Self {
            crc: read_u32(bytes, 0),
            len: read_u32(bytes, 4),
            offset: read_u64(bytes, 8),
            timestamp: read_u64(bytes, 16),
        }
    }

    /// Length of the whole frame, header included.
    #[inline]
    pub fn frame_len(&self) -> u64 {
        frame_len(self.len as usize)
    }

    /// Whether `payload` is the one this header was written for, under the
    /// store's (or snapshot's) checksum.
    pub fn checks(
        &self,
        header: &[u8; FRAME_HEADER_LEN as usize],
        payload: &[u8],
        checksum: Checksum,
    ) -> bool {
        let mut h = checksum.hasher();
        h.update(&header[4..]);
        h.update(payload);
        h.finalize() == self.crc
    }

    /// Whether `frame` (header and payload, contiguous) is the frame this
    /// header was decoded from: one checksum pass over bytes 4.. .
    #[inline]
    pub fn checks_frame(&self, frame: &[u8], checksum: Checksum) -> bool {
        frame
            .get(4..)
            .is_some_and(|tail| checksum.of(tail) == self.crc)
    }
}

/// A whole frame at the start of some bytes, holding the offset asked
/// for, its checksum not checked yet.
pub(crate) struct Unchecked<'a> {
    /// The record, borrowed from the bytes.
    pub record: Record<'a>,
    /// The checksum its header holds.
    pub crc: u32,
    /// The bytes that checksum covers (4.. of the frame).
    pub covered: &'a [u8],
}

impl Unchecked<'_> {
    /// Its checksum and the bytes it covers, under `checksum`, for
    /// [`check3`].
    pub fn claim(&self, checksum: Checksum) -> (&[u8], u32, Checksum) {
        (self.covered, self.crc, checksum)
    }
}

/// The frame that starts `bytes`, if it is whole and holds `offset`; its
/// checksum is for the caller to check ([`check3`]).
#[inline]
pub(crate) fn parse_unchecked(bytes: &[u8], offset: u64) -> Option<Unchecked<'_>> {
    let head: &[u8; FRAME_HEADER_LEN as usize] =
        bytes.get(..FRAME_HEADER_LEN as usize)?.try_into().ok()?;
    let header = FrameHeader::decode(head);
    let frame = bytes.get(..usize::try_from(header.frame_len()).ok()?)?;
    if header.offset != offset {
        return None;
    }
    Some(Unchecked {
        record: Record {
            offset,
            timestamp: header.timestamp,
            payload: Cow::Borrowed(frame.get(FRAME_HEADER_LEN as usize..)?),
        },
        crc: header.crc,
        covered: frame.get(4..)?,
    })
}

/// Whether each of up to three frames checks, given as (the bytes its
/// checksum covers, the checksum it holds, the checksum of its store).
/// Three frames under one checksum are checksummed together
/// ([`Checksum::of3`]: three interleaved instruction streams on x86-64,
/// where one frame's checksum is a chain of dependent instructions, half
/// of the iterator's time when it checked one frame at a time).
pub(crate) fn check3(frames: [Option<(&[u8], u32, Checksum)>; 3]) -> [bool; 3] {
    if let [Some(a), Some(b), Some(c)] = frames {
        if a.2 == b.2 && b.2 == c.2 {
            let got = a.2.of3([a.0, b.0, c.0]);
            return [got[0] == a.1, got[1] == b.1, got[2] == c.1];
        }
    }
    frames.map(|f| f.is_some_and(|(bytes, crc, checksum)| checksum.of(bytes) == crc))
}

/// The record whose whole frame starts `bytes`, borrowed from it, if the
/// frame holds `offset` and checks under `checksum`; `None` for anything
/// else (a frame cut short by the end of `bytes`, another offset, a bad
/// checksum). The fast path of reads by offset and of the iterator: on
/// `None` they read through the store, which says what is wrong.
#[inline]
pub(crate) fn parse_frame(bytes: &[u8], offset: u64, checksum: Checksum) -> Option<Record<'_>> {
    let frame = parse_unchecked(bytes, offset)?;
    (checksum.of(frame.covered) == frame.crc).then_some(frame.record)
}

/// How many of the (at most three) frames that start `bytes`, back to back,
/// at offsets from `offset` on and below `end`, are whole, hold their
/// offsets and check under `checksum`, counted from the first up to the
/// first that does not; checked together ([`check3`]). The iterator checks
/// frames ahead this way, then takes each with [`parse_unchecked`].
pub(crate) fn check_frames(bytes: &[u8], offset: u64, end: u64, checksum: Checksum) -> usize {
    let mut frames = [None, None, None];
    let mut rest = bytes;
    for (i, slot) in frames.iter_mut().enumerate() {
        let offset = offset.saturating_add(i as u64);
        let Some(frame) = (offset < end)
            .then(|| parse_unchecked(rest, offset))
            .flatten()
        else {
            break;
        };
        let len = FRAME_HEADER_LEN as usize + frame.record.payload.len();
        rest = rest.get(len..).unwrap_or_default();
        *slot = Some(frame);
    }
    let checks = check3([0, 1, 2].map(|i| frames[i].as_ref().map(|f| f.claim(checksum))));
    checks.iter().take_while(|&&ok| ok).count()
}

/// Length of the frame of a payload of `len` bytes.
#[inline]
pub fn frame_len(len: usize) -> u64 {
    FRAME_HEADER_LEN + len as u64
}

/// Appends the frame of one record to `out`, checksummed with `checksum`
/// (the store's). The payload length must fit in a `u32` (the log checks it
/// against `max_record_bytes` first).
///
/// The header and payload are laid down first, then the checksum is
/// computed in one pass ([`frame_crc`]): one call over 120 bytes costs about
/// half of two calls over 20 and 100.
#[inline(always)]
pub(crate) fn encode_frame(
    out: &mut Vec<u8>,
    offset: u64,
    timestamp: u64,
    payload: &[u8],
    checksum: Checksum,
) {
    let start = out.len();
    let fields = push_unsealed(out, offset, timestamp, payload);
    let crc = frame_crc(checksum, fields, payload, &out[start + 4..]);
    seal(out, start, crc);
}

/// Appends the frames of `payloads`, at offsets from `first` on, all
/// stamped `timestamp` (what [`encode_frame`] would append for each in
/// turn). Their checksums are computed three frames at a time
/// ([`Checksum::of_frames3_parts`]), in code compiled for the checksum's
/// instructions ([`Checksum::run`]).
///
/// Each three frames are held in plain variables, not in arrays indexed by
/// a counter: such arrays live in memory, and the checksum's wide loads of
/// their narrow stores stalled on store forwarding.
pub(crate) fn encode_frames<'a>(
    out: &mut Vec<u8>,
    first: u64,
    timestamp: u64,
    payloads: impl IntoIterator<Item = &'a [u8]>,
    checksum: Checksum,
) {
    checksum.run(
        #[inline(always)]
        || {
            let mut payloads = payloads.into_iter();
            // The caller's offsets fit (a batch's were checked before), and no
            // offset past the end of the batch is formed.
            let mut offset = first;
            while let Some(a) = payloads.next() {
                let Some(b) = payloads.next() else {
                    encode_frame(out, offset, timestamp, a, checksum);
                    return;
                };
                let Some(c) = payloads.next() else {
                    encode_frame(out, offset, timestamp, a, checksum);
                    encode_frame(out, offset + 1, timestamp, b, checksum);
                    return;
                };
                let (sa, fa) = (out.len(), push_unsealed(out, offset, timestamp, a));
                let (sb, fb) = (out.len(), push_unsealed(out, offset + 1, timestamp, b));
                let (sc, fc) = (out.len(), push_unsealed(out, offset + 2, timestamp, c));
                let [ca, cb, cc] = checksum
                    .of_frames3_parts([fa, fb, fc], [a, b, c])
                    .unwrap_or_else(|| {
                        checksum.of3([&out[sa + 4..sb], &out[sb + 4..sc], &out[sc + 4..]])
                    });
                seal(out, sa, ca);
                seal(out, sb, cb);
                seal(out, sc, cc);
                offset += 3;
            }
        },
    );
}

/// The checksum of one frame whose checksummed bytes (4.. of it) are
/// `laid`, from its parts where the checksum runs in hardware
/// ([`Checksum::of_frame_parts`]), else over `laid`.
#[inline]
fn frame_crc(checksum: Checksum, fields: FrameFields, payload: &[u8], laid: &[u8]) -> u32 {
    checksum
        .of_frame_parts(fields, payload)
        .unwrap_or_else(|| checksum.of(laid))
}

/// Appends a frame whose checksum field is still zero; returns the header
/// fields its checksum covers.
#[inline]
fn push_unsealed(out: &mut Vec<u8>, offset: u64, timestamp: u64, payload: &[u8]) -> FrameFields {
    let len = payload.len() as u32;
    let mut header = [0u8; FRAME_HEADER_LEN as usize];
    header[4..8].copy_from_slice(&len.to_le_bytes());
    header[8..16].copy_from_slice(&offset.to_le_bytes());
    header[16..24].copy_from_slice(&timestamp.to_le_bytes());
    out.reserve(header.len() + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    FrameFields {
        len,
        offset,
        timestamp,
    }
}

/// Writes `crc` into the checksum field of the frame at `start`.
#[inline]
fn seal(out: &mut [u8], start: usize, crc: u32) {
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Checksum; 2] = [Checksum::Crc32, Checksum::Crc32c];

    fn frame(offset: u64, ts: u64, payload: &[u8], checksum: Checksum) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&mut out, offset, ts, payload, checksum);
        out
    }

    fn split(f: &[u8]) -> ([u8; 24], &[u8]) {
        let mut h = [0; 24];
        h.copy_from_slice(&f[..24]);
        (h, &f[24..])
    }

    #[test]
    fn frames_of_a_batch_are_the_frames_one_at_a_time() {
        let payloads: [&[u8]; 8] = [
            b"", b"a", &[7; 100], &[1; 3], &[9; 250], b"xyz", &[4; 300], &[2; 8],
        ];
        for checksum in BOTH {
            for n in 0..=payloads.len() {
                let mut batch = Vec::new();
                encode_frames(&mut batch, 40, 5, payloads[..n].iter().copied(), checksum);
                let mut one_by_one = Vec::new();
                for (i, p) in payloads[..n].iter().enumerate() {
                    encode_frame(&mut one_by_one, 40 + i as u64, 5, p, checksum);
                }
                assert_eq!(batch, one_by_one, "{checksum:?} {n}");
            }
        }
    }

    #[test]
    fn frames_are_checked_ahead_up_to_the_first_that_does_not_check() {
        let payloads: [&[u8]; 4] = [b"first", &[7; 100], b"", &[3; 40]];
        for checksum in BOTH {
            let mut bytes = Vec::new();
            encode_frames(&mut bytes, 10, 5, payloads.iter().copied(), checksum);
            let starts: Vec<usize> = payloads
                .iter()
                .scan(0, |at, p| {
                    let start = *at;
                    *at += frame_len(p.len()) as usize;
                    Some(start)
                })
                .collect();
            assert_eq!(check_frames(&bytes, 10, u64::MAX, checksum), 3);
            // From the second frame: three more, checked together.
            assert_eq!(check_frames(&bytes[starts[1]..], 11, u64::MAX, checksum), 3);
            // `end` and the bytes' end bound what is looked at.
            assert_eq!(check_frames(&bytes, 10, 12, checksum), 2);
            assert_eq!(
                check_frames(&bytes[..starts[2] + 3], 10, u64::MAX, checksum),
                2
            );
            // Another offset than the frames hold: none.
            assert_eq!(check_frames(&bytes, 11, u64::MAX, checksum), 0);
            // A flipped payload bit in frame k: the k frames before it.
            for (k, &start) in starts.iter().enumerate().take(3) {
                let mut bad = bytes.clone();
                bad[start + 20] ^= 1; // a timestamp byte, covered by the checksum
                assert_eq!(
                    check_frames(&bad, 10, u64::MAX, checksum),
                    k,
                    "{checksum:?} {k}"
                );
            }
            let got: Vec<_> = (0..3)
                .map(|k| parse_unchecked(&bytes[starts[k]..], 10 + k as u64).map(|f| f.record))
                .collect();
            for (k, record) in got.into_iter().enumerate() {
                assert_eq!(record.unwrap().payload.as_ref(), payloads[k]);
            }
        }
    }

    #[test]
    fn frame_round_trips() {
        for checksum in BOTH {
            let f = frame(42, 1_700_000_000_000, b"hello", checksum);
            assert_eq!(f.len() as u64, frame_len(5));
            let (h, payload) = split(&f);
            let header = FrameHeader::decode(&h);
            assert_eq!(header.len, 5);
            assert_eq!(header.offset, 42);
            assert_eq!(header.timestamp, 1_700_000_000_000);
            assert!(header.checks(&h, payload, checksum));
            assert!(header.checks_frame(&f, checksum));
            assert!(!header.checks_frame(&f[..f.len() - 1], checksum));
        }
        // A frame checks only under the checksum it was written with.
        let f = frame(42, 7, b"hello", Checksum::Crc32c);
        assert!(!FrameHeader::decode(&split(&f).0).checks_frame(&f, Checksum::Crc32));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        for checksum in BOTH {
            let f = frame(7, 9, b"payload bytes", checksum);
            for byte in 0..f.len() {
                for bit in 0..8 {
                    let mut g = f.clone();
                    g[byte] ^= 1 << bit;
                    let (h, payload) = split(&g);
                    let header = FrameHeader::decode(&h);
                    let same_len = header.len as usize == payload.len();
                    assert!(
                        !(same_len && header.checks(&h, payload, checksum)),
                        "{checksum:?}: flip of bit {bit} in byte {byte} went unnoticed"
                    );
                }
            }
        }
    }

    #[test]
    fn zeroed_frame_does_not_check() {
        let h = [0; 24];
        for checksum in BOTH {
            assert!(!FrameHeader::decode(&h).checks(&h, &[], checksum));
        }
    }

    #[test]
    fn golden_frame_bytes() {
        // Pins the on-disk layout of FORMAT.md: any change here is a format change.
        for (checksum, crc) in [
            (Checksum::Crc32, crc32fast::hash as fn(&[u8]) -> u32),
            (Checksum::Crc32c, crate::checksum::crc32c),
        ] {
            let f = frame(1, 2, b"ab", checksum);
            assert_eq!(
                &f[4..],
                &[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']
            );
            let (h, _) = split(&f);
            assert_eq!(
                FrameHeader::decode(&h).crc,
                crc(&f[4..]),
                "crc covers bytes 4.. of the frame"
            );
        }
        assert_eq!(
            frame(1, 2, b"ab", Checksum::Crc32c)[..4],
            0x05B1_7639u32.to_le_bytes(),
            "CRC-32C of the golden frame"
        );
    }
}
