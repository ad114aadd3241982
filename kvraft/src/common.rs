//! Go's `common.go`: the errors and the Put/Append operation every Lab 3 solution speaks of.
//! Optional: a solution's RPC types are its own ([`KvService::Request`]), and may use these.
//!
//! [`KvService::Request`]: crate::KvService::Request

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

/// Go's `Err` values (the skeleton's three; add your own in your own type if you need more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Err {
    /// `OK`.
    Ok,
    /// `ErrNoKey`: a Get of a key never written (the Clerk then returns `""`).
    ErrNoKey,
    /// `ErrWrongLeader`: this server is not the leader; try another.
    ErrWrongLeader,
}

/// Which of the two writes `put_append` does (Go's `"Put"` / `"Append"` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutAppendOp {
    /// Replace the value.
    Put,
    /// Append to the value (to `""` if the key is missing).
    Append,
}

/// Go's `nrand()`: uniform in `0..2^62`, the usual client id.
pub fn nrand(rng: &mut dyn RngCore) -> u64 {
    rng.next_u64() >> 2
}

#[cfg(test)]
mod tests {
    use super::nrand;
    use crate::testing::seeded_rng;

    #[test]
    fn client_ids_are_below_2_to_the_62_and_differ() {
        let mut rng = seeded_rng(9);
        let ids: Vec<u64> = (0..64).map(|_| nrand(&mut rng)).collect();
        assert!(ids.iter().all(|&id| id < 1 << 62), "{ids:?}");
        assert!(ids.windows(2).all(|pair| pair[0] != pair[1]));
    }
}
