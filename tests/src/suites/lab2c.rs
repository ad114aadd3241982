//! Lab 2C (being written).

use raft::RaftNode;

use crate::registry::TestCase;

/// The 2C tests.
pub fn cases<R: RaftNode>() -> Vec<TestCase<R>> {
    Vec::new()
}
