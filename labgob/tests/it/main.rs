//! Integration tests of the labgob codec, one binary with a module per concern:
//!
//! - [`round_trip`]: the Go `TestGOB` analogue, `decode(encode(x)) == x`, errors are values;
//! - [`bad_bytes`]: truncated, random, mutated, wrong-type and oversized inputs never panic;
//! - [`lost_field`]: the Go `TestCapital` analogue, `check_round_trip` / `encode_checked`;
//! - [`wire_sizes`]: exact byte counts, so a codec change is noticed (spec §2.6).
//!
//! The peak-memory proof for hostile length prefixes lives in its own binary (`tests/alloc.rs`)
//! because it lowers the whole process's address-space limit.

mod bad_bytes;
mod lost_field;
mod round_trip;
mod types;
mod wire_sizes;
