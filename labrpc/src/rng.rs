//! Seeded randomness: one root seed, one named ChaCha stream per consumer.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic random stream. Every random draw in a simulation comes from one of these.
///
/// Streams are named (`"network"`, `"tester"`, `"node/2/boot/1"`): the name picks ChaCha's
/// 64-bit stream id, so two consumers never share draws and a draw added in one place does not
/// shift another's. The API is integers only, so results never depend on floating point or on
/// `rand`'s distribution code across versions.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream called `name` under `root_seed`.
    pub fn new(root_seed: u64, name: &str) -> SimRng {
        let mut inner = ChaCha8Rng::seed_from_u64(root_seed);
        inner.set_stream(stream_id(name));
        SimRng { inner }
    }

    /// Uniform in `0..n` (Go's `rand.Int() % n`, without Go's modulo bias worth mentioning:
    /// 64-bit draws make it below 2^-50 for every n the harness uses). Panics if `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SimRng::below(0)");
        self.inner.next_u64() % n
    }

    /// Uniform in `low..=high`.
    pub fn range_inclusive(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "SimRng::range_inclusive({low}, {high})");
        low + self.below(high - low + 1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        assert!(numerator <= denominator && denominator > 0);
        self.below(denominator) < numerator
    }

    /// A full 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

impl RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest)
    }
}

/// FNV-1a of the stream name: fixed forever, so a seed means the same run on every machine.
fn stream_id(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_stream_other_name_other_stream() {
        let draws = |name| {
            let mut rng = SimRng::new(7, name);
            (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws("network"), draws("network"));
        assert_ne!(draws("network"), draws("tester"));
        let mut other_seed = SimRng::new(8, "network");
        assert_ne!(draws("network")[0], other_seed.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SimRng::new(1, "t");
        let mut seen = [false; 27];
        for _ in 0..10_000 {
            seen[rng.below(27) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(rng.range_inclusive(5, 5), 5);
    }
}
