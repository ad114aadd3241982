//! Lab 2D (being written).

use raft::RaftNode;

use crate::registry::TestCase;

/// The 2D tests.
pub fn cases<R: RaftNode>() -> Vec<TestCase<R>> {
    Vec::new()
}
