//! Lab 2B (being written).

use raft::RaftNode;

use crate::registry::TestCase;

/// The 2B tests.
pub fn cases<R: RaftNode>() -> Vec<TestCase<R>> {
    Vec::new()
}
