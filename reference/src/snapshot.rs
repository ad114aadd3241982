//! Log compaction (§7, Figure 13): the service's snapshots and both sides of InstallSnapshot.

use super::messages::{InstallSnapshotArgs, InstallSnapshotReply};
use super::role::Sent;
use super::{Reference, Request};
use raft::{ApplyMsg, Context};

impl Reference {
    /// The service has a snapshot of every command through `index`: drop those entries and
    /// save state and snapshot atomically. A snapshot no newer than ours is stale and ignored.
    pub(super) fn compact(&mut self, ctx: &mut Context<'_, Request>, index: u64, data: Vec<u8>) {
        if index <= self.log.snapshot_index() {
            return;
        }
        assert!(
            index <= self.last_applied,
            "node {}: the service snapshotted {index}, past last applied {}",
            self.me,
            self.last_applied
        );
        self.log.compact_to(index);
        self.snapshot = data;
        self.persist_with_snapshot(ctx);
    }

    /// Leaders: a follower whose `nextIndex` the snapshot covers gets the snapshot instead of
    /// entries (§7), in one chunk, noted in flight.
    pub(super) fn send_install_snapshot(&mut self, ctx: &mut Context<'_, Request>, peer: usize) {
        let args = InstallSnapshotArgs {
            term: self.current_term,
            leader_id: self.me,
            last_included_index: self.log.snapshot_index(),
            last_included_term: self.log.snapshot_term(),
            data: self.snapshot.clone(),
        };
        let sent = Sent::Snapshot {
            last_included_index: args.last_included_index,
        };
        self.note_in_flight(ctx, peer, sent);
        self.send(ctx, peer, Request::InstallSnapshot(args));
    }

    /// InstallSnapshot RPC, receiver implementation (Figure 13): "1. Reply immediately if
    /// term < currentTerm". A snapshot through an index we have already committed is stale
    /// and ignored: our log has those entries, and applying it would move the service back.
    /// Otherwise "6. If existing log entry has same index and term as snapshot's last included
    /// entry, retain log entries following it and reply; 7. Discard the entire log; 8. Reset
    /// state machine using snapshot contents" — persisting first, then handing the snapshot to
    /// the service, which resumes at `last_included_index + 1`.
    pub(super) fn install_snapshot(
        &mut self,
        ctx: &mut Context<'_, Request>,
        args: InstallSnapshotArgs,
    ) -> InstallSnapshotReply {
        let reply = InstallSnapshotReply {
            term: self.current_term,
        };
        if args.term < self.current_term {
            return reply;
        }
        self.recognize_leader(ctx);
        let flawed = super::flaws::is(super::flaws::Flaw::InstallsStaleSnapshot);
        if args.last_included_index <= self.commit_index && !flawed {
            return reply;
        }
        if flawed && args.last_included_index <= self.log.snapshot_index() {
            // The flaw, below what the log already compacted: the service is reset to the
            // stale snapshot and commitIndex moves back with it.
            self.commit_index = args.last_included_index;
            self.last_applied = args.last_included_index;
            ctx.apply(ApplyMsg::Snapshot {
                term: args.last_included_term,
                index: args.last_included_index,
                data: args.data,
            });
            return reply;
        }
        assert!(
            self.last_applied == self.commit_index || super::flaws::any(),
            "install with entries unapplied"
        );
        self.log
            .install_snapshot(args.last_included_index, args.last_included_term);
        self.snapshot = args.data.clone();
        self.commit_index = args.last_included_index;
        self.last_applied = args.last_included_index;
        self.persist_with_snapshot(ctx);
        ctx.apply(ApplyMsg::Snapshot {
            term: args.last_included_term,
            index: args.last_included_index,
            data: args.data,
        });
        reply
    }

    /// Leaders: the follower has (or had already committed) everything through the
    /// snapshot's last included index. A lost call is retried at the next heartbeat.
    pub(super) fn install_snapshot_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        args: InstallSnapshotArgs,
        delivered: bool,
    ) {
        if !self.role.is_leader() {
            return;
        }
        let included_index = match super::flaws::is(super::flaws::Flaw::SnapshotMatchesOwnSnapshot)
        {
            true => self.log.snapshot_index(),
            false => args.last_included_index,
        };
        let leader = self.leader_mut();
        let sent = Sent::Snapshot {
            last_included_index: args.last_included_index,
        };
        leader.settle_in_flight(peer, sent);
        if !delivered {
            return;
        }
        leader.match_index[peer] = leader.match_index[peer].max(included_index);
        leader.next_index[peer] = leader.next_index[peer].max(leader.match_index[peer] + 1);
        self.replicate_to(ctx, peer, false);
    }
}
