//! The Lab 3 suites on our reference key/value service, clerk and Raft: `cargo test --release
//! 3a` runs exactly the 3A tests. `LAB_SEED=n` picks the seed (default 1), `LAB_SEEDS=k` runs
//! k consecutive seeds.
//!
//! A student's crate runs the same suites on its own service, clerk and Raft with the same
//! one line.

tester::kv_lab_tests!(
    raft_reference::Reference,
    raft_reference::kv::KvServer,
    raft_reference::kv::KvClerk
);
