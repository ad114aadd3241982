//! The Lab 2 tests on your Raft: `cargo test --release 2a` (or 2b, 2c, 2d, a test's name).

tester::lab_tests!(my_raft::MyRaft);
