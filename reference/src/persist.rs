//! Persistent state (Figure 2: `currentTerm`, `votedFor`, `log[]`; Figure 13: the snapshot's
//! last included index and term), its encoding, and booting from it.
//!
//! The encoding is labgob's (varint integers) of [`PersistentState`]: about 5 bytes of header
//! plus, per entry, the term (1 byte below 251), the command's length (1 byte) and the command
//! itself, so a 10-byte command costs 12 bytes. Only the entries after the snapshot are kept.
//! Saving writes the header and copies the log's cached encoding (see `entries.rs`).

use serde::{Deserialize, Serialize};

use super::log::{Entry, RaftLog};
use super::role::Role;
use super::{Reference, Request, Timers, Timing};
use raft::{Context, Init};

/// What survives a crash, besides the snapshot bytes themselves.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PersistentState {
    /// `currentTerm`.
    current_term: u64,
    /// `votedFor`.
    voted_for: Option<usize>,
    /// `lastIncludedIndex` of the snapshot (0: none).
    snapshot_index: u64,
    /// `lastIncludedTerm` of the snapshot (0: none).
    snapshot_term: u64,
    /// The log after the snapshot.
    entries: Vec<Entry>,
}

impl Reference {
    /// The persistent state, encoded as a [`PersistentState`]: its fields up to the entries'
    /// count, then the entries as the log keeps them encoded.
    fn encode_persistent_state(&self) -> Vec<u8> {
        let header = (
            self.current_term,
            self.voted_for,
            self.log.snapshot_index(),
            self.log.snapshot_term(),
            self.log.entries().len(),
        );
        let header = labgob::encode(&header).unwrap_or_else(|error| panic!("{error}"));
        // One allocation of the final size: growing by doubling would copy a long log (Lab
        // 3A's grows to tens of thousands of entries) several times per persist.
        let entries = self.log.encoded_entries();
        let mut bytes = Vec::with_capacity(header.len() + entries.len());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(entries);
        bytes
    }

    /// Saves the persistent state if it changed since last saved.
    pub(super) fn persist_if_pending(&mut self, ctx: &mut Context<'_, Request>) {
        if self.persist_pending {
            ctx.persist(self.encode_persistent_state());
            self.persist_pending = false;
        }
    }

    /// Saves the persistent state and the snapshot, atomically.
    pub(super) fn persist_with_snapshot(&mut self, ctx: &mut Context<'_, Request>) {
        ctx.persist_with_snapshot(self.encode_persistent_state(), self.snapshot.clone());
        self.persist_pending = false;
    }

    /// Go's `Make` plus `readPersist`: a follower with the saved state, whose commit index
    /// and last applied start at the snapshot (which the service has already restored), and
    /// whose election timer is armed.
    pub(super) fn boot(ctx: &mut Context<'_, Request>, init: Init) -> Reference {
        assert!(
            init.me < init.peer_count,
            "me {} of {}",
            init.me,
            init.peer_count
        );
        let state = decode_persistent_state(&init);
        let log = RaftLog::decoded(
            state.snapshot_index,
            state.snapshot_term,
            state.entries,
            &init.raft_state,
        );
        let mut node = Reference {
            me: init.me,
            peer_count: init.peer_count,
            current_term: state.current_term,
            voted_for: state.voted_for,
            commit_index: log.snapshot_index(),
            last_applied: log.snapshot_index(),
            log,
            snapshot: init.snapshot,
            role: Role::Follower,
            timers: Timers::default(),
            timing: Timing::default(),
            persist_pending: false,
        };
        node.reset_election_deadline(ctx);
        node.arm_election_timer(ctx);
        node
    }
}

/// The saved state, or the initial one on first boot. Undecodable state is a broken invariant
/// (we wrote it), so it panics.
fn decode_persistent_state(init: &Init) -> PersistentState {
    if init.raft_state.is_empty() {
        assert!(init.snapshot.is_empty(), "a snapshot without raft state");
        return PersistentState::default();
    }
    let state: PersistentState = labgob::decode(&init.raft_state)
        .unwrap_or_else(|error| panic!("node {}: corrupt persisted raft state: {error}", init.me));
    assert!(
        state.voted_for.is_none_or(|peer| peer < init.peer_count),
        "persisted vote for a peer that does not exist"
    );
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::testing::RecordingHost;

    /// The hand-assembled encoding is exactly the derived one, so boot can decode it.
    #[test]
    fn saved_state_encodes_as_persistent_state() {
        let mut host = RecordingHost::<Request>::new(3);
        let mut node: Reference = host.boot(1, 3);
        let entries = vec![
            Entry {
                term: 2,
                command: vec![9; 10],
            },
            Entry {
                term: 300,
                command: vec![1; 300],
            },
        ];
        node.current_term = 300;
        node.voted_for = Some(2);
        node.log = RaftLog::restore(7, 2, entries.clone());
        let expected = PersistentState {
            current_term: 300,
            voted_for: Some(2),
            snapshot_index: 7,
            snapshot_term: 2,
            entries,
        };
        let bytes = node.encode_persistent_state();
        assert_eq!(bytes, labgob::encode(&expected).expect("encodes"));
        assert_eq!(labgob::decode::<PersistentState>(&bytes), Ok(expected));
    }
}
