//! Stable storage of one server: raft state and snapshot, saved atomically.

/// What a server has saved. Survives a crash; nothing else does.
///
/// Go's Persister clones on every save and read and copies itself at crash and restart so that
/// a killed instance's late writes are invisible. Here a crashed node is dropped at once and can
/// write nothing more, so the persister simply stays in the server's slot in [`crate::Sim`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persister {
    raft_state: Vec<u8>,
    snapshot: Vec<u8>,
}

impl Persister {
    /// An empty persister: both reads return zero-length data.
    pub fn new() -> Persister {
        Persister::default()
    }

    /// Go's `SaveRaftState`: replaces the raft state, keeps the snapshot.
    pub fn save_raft_state(&mut self, raft_state: Vec<u8>) {
        self.raft_state = raft_state;
    }

    /// Go's `SaveStateAndSnapshot`: replaces both, atomically.
    pub fn save_state_and_snapshot(&mut self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        self.raft_state = raft_state;
        self.snapshot = snapshot;
    }

    /// The saved raft state (empty if never saved).
    pub fn raft_state(&self) -> &[u8] {
        &self.raft_state
    }

    /// The saved snapshot (empty if never saved).
    pub fn snapshot(&self) -> &[u8] {
        &self.snapshot
    }

    /// Length of the raft state in bytes (`cfg.LogSize()` takes the maximum of these).
    pub fn raft_state_size(&self) -> usize {
        self.raft_state.len()
    }

    /// Length of the snapshot in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.snapshot.len()
    }
}
