//! The checksums of the format (`FORMAT.md`): CRC-32 (IEEE) in version 1
//! files and snapshots, CRC-32C (Castagnoli) from version 2 on.
//!
//! CRC-32C is what storage formats use (iSCSI, ext4, Kafka, RocksDB) because
//! x86-64 computes it with one instruction per 8 bytes (SSE 4.2): about
//! 9 ns for a 100-byte record's frame here, where the fastest CRC-32
//! (IEEE) code (`crc32fast`, carry-less multiplication) takes about 21 ns.
//! The instruction is found at run time with `cpuid`, which needs no `std`;
//! elsewhere (other architectures, wasm, miri) a slice-by-8 table computes
//! the same values.
//!
//! Large inputs run three independent instruction streams over adjacent
//! blocks (the instruction's latency is three times its throughput) and
//! join their results with a table that advances a CRC register over a
//! block of zero bytes: the register update is linear, so
//! `update(r, a ‖ b) = zeros(update(r, a), |b|) ^ update(0, b)`.
//!
//! With `std` on x86-64, inputs of 256 bytes and more go to the `crc-fast`
//! crate instead, which folds them with carry-less multiplication
//! (`pclmulqdq`, 512-bit `vpclmulqdq` where the CPU has it) beside the
//! `crc32` instruction: 51 ns for 4 KiB, 22 ns for 1 KiB and 16 ns for
//! 256 bytes, against 185, 51 and 18 ns for the `crc32c` crate's
//! three-stream `crc32` code, the method above (on the 2-core development
//! VM, an Intel Xeon with AVX-512). Its feature detection needs `std`.

/// Which checksum a file's frames (and a snapshot) carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checksum {
    /// CRC-32 (IEEE 802.3): format version 1.
    Crc32,
    /// CRC-32C (Castagnoli): format version 2.
    Crc32c,
}

impl Checksum {
    /// The checksum of files and snapshots of format `version` (one that
    /// [`crate::format::check_header`] accepted).
    pub const fn of_version(version: u32) -> Self {
        if version == 1 {
            Self::Crc32
        } else {
            Self::Crc32c
        }
    }

    /// The checksum of `bytes`.
    #[inline]
    pub fn of(self, bytes: &[u8]) -> u32 {
        match self {
            Self::Crc32 => crc32(bytes),
            Self::Crc32c => crc32c(bytes),
        }
    }

    /// The checksums of three inputs at once: on x86-64, CRC-32C runs them
    /// as three interleaved instruction streams (its latency is three times
    /// its throughput), so three frames of a batch cost about what one does.
    #[inline]
    pub fn of3(self, bytes: [&[u8]; 3]) -> [u32; 3] {
        match self {
            Self::Crc32 => bytes.map(crc32),
            Self::Crc32c => crc32c_3(bytes),
        }
    }

    /// The checksum of a frame (bytes 4.. of it: `len`, `offset` and
    /// `timestamp` little-endian, then `payload`) computed from those parts
    /// where that costs no more than over the laid-down bytes: CRC-32C in
    /// hardware, whose instruction takes the header fields from registers.
    /// `None` elsewhere: the caller checksums the frame's bytes. Reading a
    /// frame back right after copying it in stalls on store forwarding
    /// (loads that straddle the copy's stores).
    #[inline]
    pub fn of_frame_parts(self, fields: FrameFields, payload: &[u8]) -> Option<u32> {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if self == Self::Crc32c && hw::available() {
            // SAFETY: the CPU has SSE 4.2 (checked just above).
            return Some(!unsafe { hw::update_parts(fields, payload) });
        }
        let _ = (fields, payload);
        None
    }

    /// Runs `f` in code compiled for SSE 4.2 where this is CRC-32C and the
    /// CPU has the instruction, so that the checksum calls inside `f`
    /// ([`Checksum::of_frame_parts`], [`Checksum::of_frames3_parts`]) are
    /// inlined into it: as calls, they take their arguments and give their
    /// results through memory.
    #[inline]
    pub fn run<T>(self, f: impl FnOnce() -> T) -> T {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if self == Self::Crc32c && hw::available() {
            // SAFETY: the CPU has SSE 4.2 (checked just above).
            return unsafe { hw::run(f) };
        }
        f()
    }

    /// [`Checksum::of_frame_parts`] for three frames at once.
    #[inline]
    pub fn of_frames3_parts(
        self,
        fields: [FrameFields; 3],
        payloads: [&[u8]; 3],
    ) -> Option<[u32; 3]> {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if self == Self::Crc32c && hw::available() {
            // SAFETY: the CPU has SSE 4.2 (checked just above).
            let regs = unsafe { hw::update3_parts(fields, payloads) };
            return Some(regs.map(|r| !r));
        }
        let _ = (fields, payloads);
        None
    }

    /// An incremental hasher, for input that arrives in pieces.
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Crc32 => Hasher::Crc32(crc32_hasher()),
            Self::Crc32c => Hasher::Crc32c(!0),
        }
    }
}

/// The header fields a frame's checksum covers before its payload
/// (`FORMAT.md`): payload length, offset, timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameFields {
    /// Payload length.
    pub len: u32,
    /// The record's offset.
    pub offset: u64,
    /// The record's timestamp.
    pub timestamp: u64,
}

/// A checksum being computed over several pieces of input.
#[derive(Clone)]
pub(crate) enum Hasher {
    /// CRC-32 (IEEE).
    Crc32(crc32fast::Hasher),
    /// CRC-32C: the register (the inverted checksum so far).
    Crc32c(u32),
}

impl Hasher {
    /// Adds `bytes` to the input.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(bytes),
            Self::Crc32c(reg) => *reg = update(*reg, bytes),
        }
    }

    /// The checksum of everything added so far.
    pub fn finalize(&self) -> u32 {
        match self {
            Self::Crc32(h) => h.clone().finalize(),
            Self::Crc32c(reg) => !reg,
        }
    }
}

/// A fresh CRC-32 hasher. `crc32fast::Hasher::new()` detects the CPU's
/// features on every call; cloning one made once skips that (a fifth of
/// the checksum's instructions on a 100-byte record).
fn crc32_hasher() -> crc32fast::Hasher {
    static PROTOTYPE: spin::Once<crc32fast::Hasher> = spin::Once::new();
    PROTOTYPE.call_once(crc32fast::Hasher::new).clone()
}

/// CRC-32 (IEEE) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut h = crc32_hasher();
    h.update(bytes);
    h.finalize()
}

/// CRC-32C of `bytes`.
#[inline]
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    !update(!0, bytes)
}

/// CRC-32C of three inputs, interleaved where the CPU can.
#[inline]
fn crc32c_3(bytes: [&[u8]; 3]) -> [u32; 3] {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if hw::available() {
        // SAFETY: the CPU has SSE 4.2 (checked just above), the only
        // requirement of `hw::update3`.
        return unsafe { hw::update3([!0; 3], bytes) }.map(|r| !r);
    }
    bytes.map(crc32c)
}

/// The reflected CRC-32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// Bytes per stream in one three-stream block.
const BLOCK: usize = 256;

/// Advances the CRC-32C register `reg` over `bytes`.
#[inline]
fn update(reg: u32, bytes: &[u8]) -> u32 {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if hw::available() {
        // SAFETY: the CPU has SSE 4.2 (checked just above), the only
        // requirement of `hw::update`.
        return unsafe { hw::update(reg, bytes) };
    }
    sw_update(reg, bytes)
}

/// `reg` advanced over `bits` zero bits, one bit at a time (for building
/// tables at compile time).
const fn zero_bits(mut reg: u32, bits: usize) -> u32 {
    let mut i = 0;
    while i < bits {
        reg = (reg >> 1) ^ (POLY & (reg & 1).wrapping_neg());
        i += 1;
    }
    reg
}

/// Slice-by-8 tables: `TABLES[k][b]` advances a register holding byte `b`
/// over that byte and `k` more zero bytes.
static TABLES: [[u32; 256]; 8] = byte_tables();

const fn byte_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut b = 0;
    while b < 256 {
        t[0][b] = zero_bits(b as u32, 8);
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

/// The software register update: eight bytes per step through [`TABLES`].
fn sw_update(mut reg: u32, bytes: &[u8]) -> u32 {
    let t = &TABLES;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let lo = reg ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        reg = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][w[4] as usize]
            ^ t[2][w[5] as usize]
            ^ t[1][w[6] as usize]
            ^ t[0][w[7] as usize];
    }
    for &b in words.remainder() {
        reg = (reg >> 8) ^ t[0][((reg ^ u32::from(b)) & 0xff) as usize];
    }
    reg
}

/// `SKIP[k][b]` is the register holding `b << 8k` advanced over [`BLOCK`]
/// zero bytes: XORing the four lookups of a register's bytes advances it.
#[cfg_attr(not(all(target_arch = "x86_64", not(miri))), allow(dead_code))]
static SKIP: [[u32; 256]; 4] = skip_tables();

const fn skip_tables() -> [[u32; 256]; 4] {
    // Where each register bit goes over BLOCK zero bytes (the update is
    // linear, so a register's image is the XOR of its bits' images).
    let mut bit = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        bit[i] = zero_bits(1 << i, BLOCK * 8);
        i += 1;
    }
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut b = 0;
        while b < 256 {
            let mut v = 0;
            let mut j = 0;
            while j < 8 {
                if b & (1 << j) != 0 {
                    v ^= bit[8 * k + j];
                }
                j += 1;
            }
            t[k][b] = v;
            b += 1;
        }
        k += 1;
    }
    t
}

/// `reg` advanced over [`BLOCK`] zero bytes.
#[cfg_attr(not(all(target_arch = "x86_64", not(miri))), allow(dead_code))]
fn skip_block(reg: u32) -> u32 {
    let t = &SKIP;
    t[0][(reg & 0xff) as usize]
        ^ t[1][((reg >> 8) & 0xff) as usize]
        ^ t[2][((reg >> 16) & 0xff) as usize]
        ^ t[3][(reg >> 24) as usize]
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod hw {
    //! The SSE 4.2 `crc32` instruction.

    use core::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    use core::sync::atomic::{AtomicU8, Ordering};

    use super::{skip_block, BLOCK};

    /// Whether the CPU has SSE 4.2, asked once (`cpuid` leaf 1, ECX bit 20).
    #[inline]
    pub fn available() -> bool {
        const UNKNOWN: u8 = 0;
        const NO: u8 = 1;
        const YES: u8 = 2;
        static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
        match STATE.load(Ordering::Relaxed) {
            NO => false,
            YES => true,
            _ => {
                #[allow(unused_unsafe)]
                // SAFETY: every x86-64 CPU has `cpuid`, and leaf 1 always exists.
                let leaf = unsafe { core::arch::x86_64::__cpuid(1) };
                let yes = leaf.ecx & (1 << 20) != 0;
                STATE.store(if yes { YES } else { NO }, Ordering::Relaxed);
                yes
            }
        }
    }

    /// The little-endian word at `bytes[8 * i..]`.
    #[inline(always)]
    fn word(bytes: &[u8], i: usize) -> u64 {
        let mut w = [0; 8];
        w.copy_from_slice(&bytes[8 * i..8 * i + 8]);
        u64::from_le_bytes(w)
    }

    /// Inputs from which [`update`] hands over to `crc-fast` (with `std`).
    #[cfg(feature = "std")]
    pub const LONG: usize = 256;

    /// Advances the register over `bytes` with `crc-fast` (see the module
    /// docs), whose state for CRC-32C is the register itself.
    #[cfg(feature = "std")]
    #[inline(never)]
    fn update_long(reg: u32, bytes: &[u8]) -> u32 {
        use crc_fast::{CrcAlgorithm, Digest};
        let mut digest = Digest::new_with_init_state(CrcAlgorithm::Crc32Iscsi, u64::from(reg));
        digest.update(bytes);
        // The state of a 32-bit CRC fits in its low 32 bits.
        digest.get_state() as u32
    }

    /// Advances the register over `bytes`: with `crc-fast` from
    /// [`LONG`] bytes on (with `std`); otherwise with the `crc32`
    /// instruction, three streams per block of `3 * BLOCK` bytes, then one
    /// stream.
    #[target_feature(enable = "sse4.2")]
    pub fn update(reg: u32, bytes: &[u8]) -> u32 {
        #[cfg(feature = "std")]
        if bytes.len() >= LONG {
            return update_long(reg, bytes);
        }
        let mut reg = reg;
        let mut rest = bytes;
        while let Some((block, tail)) = rest.split_at_checked(3 * BLOCK) {
            let (a, bc) = block.split_at(BLOCK);
            let (b, c) = bc.split_at(BLOCK);
            let (mut r0, mut r1, mut r2) = (u64::from(reg), 0, 0);
            for i in 0..BLOCK / 8 {
                r0 = _mm_crc32_u64(r0, word(a, i));
                r1 = _mm_crc32_u64(r1, word(b, i));
                r2 = _mm_crc32_u64(r2, word(c, i));
            }
            // The instruction keeps the register in the low 32 bits.
            reg = skip_block(skip_block(r0 as u32) ^ r1 as u32) ^ r2 as u32;
            rest = tail;
        }
        words_then_tail(reg, rest)
    }

    /// One stream over `bytes`: 8 bytes per instruction, then 4, then 1.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    fn words_then_tail(reg: u32, bytes: &[u8]) -> u32 {
        let (words, tail) = bytes.as_chunks::<8>();
        let mut r = u64::from(reg);
        for w in words {
            r = _mm_crc32_u64(r, u64::from_le_bytes(*w));
        }
        let mut reg = r as u32;
        let (halves, tail) = tail.as_chunks::<4>();
        for h in halves {
            reg = _mm_crc32_u32(reg, u32::from_le_bytes(*h));
        }
        for &b in tail {
            reg = _mm_crc32_u8(reg, b);
        }
        reg
    }

    /// A fresh register advanced over a frame's header fields (from
    /// registers, no memory).
    #[target_feature(enable = "sse4.2")]
    #[inline]
    fn fields(f: super::FrameFields) -> u32 {
        let r = _mm_crc32_u32(!0, f.len);
        let r = _mm_crc32_u64(u64::from(r), f.offset);
        // The instruction keeps the register in the low 32 bits.
        _mm_crc32_u64(r, f.timestamp) as u32
    }

    /// `f()`, compiled with SSE 4.2 ([`super::Checksum::run`]).
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub fn run<T>(f: impl FnOnce() -> T) -> T {
        f()
    }

    /// A fresh register advanced over a frame's header fields, then its
    /// payload.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub fn update_parts(fields: super::FrameFields, payload: &[u8]) -> u32 {
        update(self::fields(fields), payload)
    }

    /// Three fresh registers advanced over three frames' header fields,
    /// then their payloads ([`update3`]).
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub fn update3_parts(fields: [super::FrameFields; 3], payloads: [&[u8]; 3]) -> [u32; 3] {
        update3(fields.map(|f| self::fields(f)), payloads)
    }

    /// Advances three registers over three inputs: their common whole
    /// words as three interleaved streams, then the rest of each alone
    /// (short inputs: frames of a batch, where [`update`]'s blocks do not
    /// apply).
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub fn update3(regs: [u32; 3], bytes: [&[u8]; 3]) -> [u32; 3] {
        #[cfg(feature = "std")]
        if bytes.iter().any(|b| b.len() >= LONG) {
            return [0, 1, 2].map(|i| update(regs[i], bytes[i]));
        }
        let common = bytes.iter().map(|b| b.len() / 8).min().unwrap_or(0);
        let [a, b, c] = bytes.map(|b| b.split_at(8 * common));
        let (mut r0, mut r1, mut r2) = (u64::from(regs[0]), u64::from(regs[1]), u64::from(regs[2]));
        for i in 0..common {
            r0 = _mm_crc32_u64(r0, word(a.0, i));
            r1 = _mm_crc32_u64(r1, word(b.0, i));
            r2 = _mm_crc32_u64(r2, word(c.0, i));
        }
        // The instruction keeps the register in the low 32 bits.
        [
            words_then_tail(r0 as u32, a.1),
            words_then_tail(r1 as u32, b.1),
            words_then_tail(r2 as u32, c.1),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Bit at a time, straight from the definition.
    fn reference(bytes: &[u8]) -> u32 {
        let mut reg = !0u32;
        for &b in bytes {
            reg = zero_bits(reg ^ u32::from(b), 8);
        }
        !reg
    }

    #[test]
    fn known_values() {
        // The check value of CRC-32C (RFC 3720 and every CRC catalogue).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros, of 0xff.
        assert_eq!(crc32c(&[0; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xff; 32]), 0x62A8_AB43);
        assert_eq!(Checksum::Crc32.of(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn every_path_agrees_with_the_definition_at_every_length() {
        // Lengths around the block boundaries of the three-stream path.
        let bytes: Vec<u8> = (0..4 * 3 * BLOCK + 40)
            .map(|i| (i * 131 % 251) as u8)
            .collect();
        // And around 256 bytes, where inputs go to `crc-fast` (with `std`).
        let lengths = (0..80)
            .chain(250..262)
            .chain(3 * BLOCK - 9..3 * BLOCK + 9)
            .chain([2 * 3 * BLOCK + 17, bytes.len() - 5]);
        // Miri interprets each bit step: the short lengths and two long ones.
        let stride = if cfg!(miri) { 9 } else { 1 };
        for len in lengths.step_by(stride) {
            for start in [0, 1, 5] {
                let input = &bytes[start..start + len];
                let want = reference(input);
                assert_eq!(crc32c(input), want, "len {len} start {start}");
                assert_eq!(!sw_update(!0, input), want, "software, len {len}");
                let (a, b) = input.split_at(len / 3);
                let mut h = Checksum::Crc32c.hasher();
                h.update(a);
                h.update(b);
                assert_eq!(h.finalize(), want, "in pieces, len {len}");
            }
        }
    }

    #[test]
    fn three_at_once_agree_with_one_at_a_time() {
        let bytes: Vec<u8> = (0..400).map(|i| (i * 37 % 253) as u8).collect();
        let lengths = [0, 1, 7, 8, 9, 20, 100, 120, 124, 130, 257];
        for checksum in [Checksum::Crc32, Checksum::Crc32c] {
            for (i, &x) in lengths.iter().enumerate() {
                for &y in &lengths[i..] {
                    for z in [x, y, 3, 121] {
                        let inputs = [&bytes[..x], &bytes[1..1 + y], &bytes[5..5 + z]];
                        assert_eq!(
                            checksum.of3(inputs),
                            inputs.map(|b| checksum.of(b)),
                            "{checksum:?} {x} {y} {z}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_frame_checksummed_from_its_parts_is_checksummed_as_its_bytes() {
        let payload: Vec<u8> = (0..300).map(|i| (i * 11 % 256) as u8).collect();
        for len in [0, 1, 4, 8, 13, 100, 300] {
            let p = &payload[..len];
            let fields = [3u64, 1 << 40, u64::MAX].map(|offset| FrameFields {
                len: len as u32,
                offset,
                timestamp: 1_700_000_000_000 + offset % 7,
            });
            let bytes = fields.map(|f| {
                let mut b = Vec::new();
                b.extend_from_slice(&f.len.to_le_bytes());
                b.extend_from_slice(&f.offset.to_le_bytes());
                b.extend_from_slice(&f.timestamp.to_le_bytes());
                b.extend_from_slice(p);
                b
            });
            for checksum in [Checksum::Crc32, Checksum::Crc32c] {
                let want = bytes.each_ref().map(|b| checksum.of(b));
                if let Some(crc) = checksum.of_frame_parts(fields[0], p) {
                    assert_eq!(crc, want[0], "{checksum:?} {len}");
                }
                if let Some(crcs) = checksum.of_frames3_parts(fields, [p, p, p]) {
                    assert_eq!(crcs, want, "{checksum:?} {len}");
                }
            }
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            if hw::available() {
                assert!(Checksum::Crc32c.of_frame_parts(fields[0], p).is_some());
            }
        }
    }

    #[test]
    fn skipping_a_block_equals_updating_over_zeros() {
        for reg in [1u32, 0x8000_0000, 0xDEAD_BEEF, !0] {
            assert_eq!(skip_block(reg), sw_update(reg, &[0; BLOCK]));
        }
    }

    #[test]
    fn crc32_hasher_matches_one_shot() {
        let mut h = Checksum::Crc32.hasher();
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.finalize(), 0xCBF4_3926);
    }
}
