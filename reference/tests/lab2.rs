//! The Lab 2 suites on our reference Raft: `cargo test --release 2a` runs exactly the 2A
//! tests. `LAB_SEED=n` picks the seed (default 1), `LAB_SEEDS=k` runs k consecutive seeds.
//!
//! A student's crate runs the same suites on its own Raft with the same one line.

tester::lab_tests!(raft_reference::Reference);
