//! The Lab 3 tests on your key/value service, clerk and Raft: `cargo test --release 3a` (or
//! 3b, a test's name).

tester::kv_lab_tests!(
    my_raft::MyRaft,
    my_raft::kv::MyKvServer,
    my_raft::kv::MyClerk
);
