//! Pseudo-random payload bytes and offsets from a fixed seed, so every
//! engine gets the same input in every run.

/// xorshift64: small, fast and deterministic; statistical quality is not needed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (zero is replaced, as xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `bound` (which must not be zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// A pool of random bytes; record `i` is the `size` bytes at a position that
/// depends on `i`, so payloads differ without holding every record in memory.
#[derive(Debug)]
pub struct Payloads {
    pool: Vec<u8>,
    size: usize,
}

/// Bytes in the pool beyond one payload.
const POOL_SLACK: usize = 1 << 16;

impl Payloads {
    /// Payloads of `size` bytes drawn from a pool filled from `seed`.
    pub fn new(size: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let pool = (0..size + POOL_SLACK)
            .map(|_| rng.next_u64() as u8)
            .collect();
        Self { pool, size }
    }

    /// The payload of record `i`.
    pub fn get(&self, i: u64) -> &[u8] {
        let start = (i.wrapping_mul(0x9e37_79b9) % POOL_SLACK as u64) as usize;
        &self.pool[start..start + self.size]
    }
}

/// `count` offsets drawn uniformly from `0..records`.
pub fn random_offsets(records: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| rng.below(records)).collect()
}
