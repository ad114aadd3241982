//! The Go `test_test.go` suites, one module per lab part, written against [`raft::RaftNode`]
//! only. Each test keeps its Go steps, iteration counts, thresholds and failure messages.

pub mod lab2a;
pub mod lab2b;
pub mod lab2c;
pub mod lab2d;
