//! Log replication (§5.3): the leader's heartbeats and batching, both sides of AppendEntries,
//! and the commit and apply rules.
//!
//! Batching: `start` only appends and arms a "replicate now" timer; when it fires, each
//! follower with no data request in flight gets one AppendEntries with everything from its
//! `next_index`. While a request is in flight, heartbeats carry no entries; when its outcome
//! arrives, whatever accumulated meanwhile goes out at once.

use super::flaws::{self, Flaw};
use super::log::Entry;
use super::messages::{AppendEntriesArgs, AppendEntriesReply};
use super::role::{InFlight, Role, Sent};
use super::{APPEND_RETRY_MS, REPLICATE_DELAY_MS, Reference, Request};
use raft::{ApplyMsg, Context};

impl Reference {
    /// Leaders: "If command received from client: append entry to local log, respond after
    /// entry applied to state machine (§5.3)". Here, respond with where it will be; send it
    /// soon, with whatever else arrives in the same instant.
    pub(super) fn append_command(
        &mut self,
        ctx: &mut Context<'_, Request>,
        command: Vec<u8>,
    ) -> Option<(u64, u64)> {
        if !self.role.is_leader() {
            return None;
        }
        let term = self.current_term;
        if flaws::is(Flaw::LeaderOverwritesLast) {
            self.log.drop_last_if_older(term);
        }
        let index = self.log.append(Entry { term, command });
        self.persist_pending = true;
        if self.timers.replicate.is_none() {
            self.timers.replicate = Some(ctx.set_timer(REPLICATE_DELAY_MS));
        }
        self.advance_commit_index(); // a cluster of one commits at once
        Some((index, term))
    }

    /// Leaders: "repeat (heartbeats) during idle periods to prevent election timeouts (§5.2)".
    pub(super) fn tick_heartbeat(&mut self, ctx: &mut Context<'_, Request>) {
        assert!(self.role.is_leader(), "heartbeat timer outlived leadership");
        self.timers.heartbeat = Some(ctx.set_timer_us(self.timing.heartbeat_interval_us));
        self.broadcast_append_entries(ctx);
    }

    /// The "replicate now" timer after `start`: send new entries to every idle follower.
    pub(super) fn tick_replicate(&mut self, ctx: &mut Context<'_, Request>) {
        assert!(self.role.is_leader(), "replicate timer outlived leadership");
        for peer in self.other_peers() {
            self.replicate_to(ctx, peer, false);
        }
    }

    /// Sends every follower an AppendEntries: entries if it lacks some, else a heartbeat.
    pub(super) fn broadcast_append_entries(&mut self, ctx: &mut Context<'_, Request>) {
        for peer in self.other_peers() {
            self.replicate_to(ctx, peer, true);
        }
    }

    /// Leaders: "If last log index ≥ nextIndex for a follower: send AppendEntries RPC with log
    /// entries starting at nextIndex" (or InstallSnapshot if the snapshot covers nextIndex),
    /// unless such a request is in flight and not presumed lost; otherwise send an empty
    /// heartbeat if `heartbeat`.
    pub(super) fn replicate_to(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        heartbeat: bool,
    ) {
        let Role::Leader(leader) = &self.role else {
            return;
        };
        let next_index = leader.next_index[peer];
        let busy = leader.in_flight[peer]
            .is_some_and(|in_flight| ctx.now_ms() < in_flight.sent_at_ms + APPEND_RETRY_MS);
        let lacks_entries = next_index <= self.log.last_index();
        if lacks_entries && !busy {
            if next_index <= self.log.snapshot_index() {
                self.send_install_snapshot(ctx, peer);
            } else {
                self.send_append_entries(ctx, peer, next_index - 1, true);
            }
        } else if heartbeat {
            let prev_log_index = (next_index - 1).max(self.log.snapshot_index());
            self.send_append_entries(ctx, peer, prev_log_index, false);
        }
    }

    /// Sends AppendEntries after `prev_log_index`: every later entry if `with_entries` (and
    /// notes it in flight), none otherwise.
    fn send_append_entries(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        prev_log_index: u64,
        with_entries: bool,
    ) {
        let entries = match with_entries {
            true => self.log.entries_from(prev_log_index + 1).to_vec(),
            false => Vec::new(),
        };
        if with_entries {
            let sent = Sent::Entries {
                prev_log_index,
                last_index: self.log.last_index(),
            };
            self.note_in_flight(ctx, peer, sent);
        }
        let args = AppendEntriesArgs {
            term: self.current_term,
            leader_id: self.me,
            prev_log_index,
            prev_log_term: self
                .log
                .term_at(prev_log_index)
                .expect("prev_log_index in log"),
            entries,
            leader_commit: self.commit_index,
        };
        self.send(ctx, peer, Request::AppendEntries(args));
    }

    /// Records the data request just sent to `peer` as in flight.
    pub(super) fn note_in_flight(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        sent: Sent,
    ) {
        self.leader_mut().in_flight[peer] = Some(InFlight {
            sent_at_ms: ctx.now_ms(),
            sent,
        });
    }

    /// AppendEntries RPC, receiver implementation: "1. Reply false if term < currentTerm
    /// (§5.1). 2. Reply false if log doesn't contain an entry at prevLogIndex whose term
    /// matches prevLogTerm (§5.3). 3.–4. [see `RaftLog::merge`] 5. If leaderCommit >
    /// commitIndex, set commitIndex = min(leaderCommit, index of last new entry)".
    pub(super) fn append_entries(
        &mut self,
        ctx: &mut Context<'_, Request>,
        args: AppendEntriesArgs,
    ) -> AppendEntriesReply {
        if args.term < self.current_term {
            if !flaws::is(Flaw::AcceptsStaleTerms) {
                if flaws::is(Flaw::ResetsTimerOnStaleAppend) {
                    self.reset_election_deadline(ctx);
                }
                return self.append_entries_rejection(None, 0);
            }
            self.current_term = args.term;
            self.persist_pending = true;
        }
        self.recognize_leader(ctx);
        if let Some(rejection) = self.append_entries_mismatch(&args) {
            return rejection;
        }
        let last_new_index = args.prev_log_index + args.entries.len() as u64;
        if flaws::is(Flaw::TruncatesOnEveryAppend) {
            self.persist_pending |= self.log.truncate_after(args.prev_log_index);
        }
        if self.log.merge(args.prev_log_index, args.entries) {
            self.persist_pending = true;
        }
        if args.leader_commit > self.commit_index {
            let commit_index = match flaws::is(Flaw::CommitsPastLog) {
                true => args.leader_commit,
                false => args.leader_commit.min(last_new_index),
            };
            // Never backwards: a delayed request may end before our commit index.
            self.commit_index = match flaws::is(Flaw::CommitGoesBack) {
                true => commit_index,
                false => self.commit_index.max(commit_index),
            };
        }
        AppendEntriesReply {
            term: self.current_term,
            success: true,
            conflict_term: None,
            conflict_index: 0,
        }
    }

    /// A request from the leader of the current term: a candidate steps down (Candidates:
    /// "If AppendEntries RPC received from new leader: convert to follower"), and the election
    /// timeout starts over.
    pub(super) fn recognize_leader(&mut self, ctx: &mut Context<'_, Request>) {
        assert!(
            !self.role.is_leader() || flaws::any(),
            "two leaders in term {}",
            self.current_term
        );
        if matches!(self.role, Role::Candidate(_)) {
            self.become_follower(ctx, self.current_term);
        }
        self.reset_election_deadline(ctx);
    }

    /// Receiver rule 2, with the conflict hint: the term of our entry at `prev_log_index` and
    /// the first index of that term, or, if we have no entry there, our log length + 1. An
    /// index the snapshot covers matches (it is committed).
    fn append_entries_mismatch(&self, args: &AppendEntriesArgs) -> Option<AppendEntriesReply> {
        if args.prev_log_index < self.log.snapshot_index() {
            return None;
        }
        match self.log.term_at(args.prev_log_index) {
            Some(term) if term == args.prev_log_term => None,
            Some(_) if flaws::is(Flaw::SkipsPrevLogTerm) && !args.entries.is_empty() => None,
            Some(term) => {
                assert!(
                    args.prev_log_index > self.log.snapshot_index(),
                    "leader's log disagrees with committed entry {}",
                    args.prev_log_index
                );
                let first_index = self.log.first_index_of_term_at(args.prev_log_index);
                Some(self.append_entries_rejection(Some(term), first_index))
            }
            None => Some(self.append_entries_rejection(None, self.log.last_index() + 1)),
        }
    }

    fn append_entries_rejection(
        &self,
        conflict_term: Option<u64>,
        conflict_index: u64,
    ) -> AppendEntriesReply {
        AppendEntriesReply {
            term: self.current_term,
            success: false,
            conflict_term,
            conflict_index,
        }
    }

    /// Leaders: "If successful: update nextIndex and matchIndex for follower (§5.3). If
    /// AppendEntries fails because of log inconsistency: decrement nextIndex and retry
    /// (§5.3)", backing up a whole term at a time with the follower's hint. A lost call is
    /// retried at the next heartbeat.
    pub(super) fn append_entries_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        args: AppendEntriesArgs,
        reply: Option<AppendEntriesReply>,
    ) {
        if !self.role.is_leader() {
            return;
        }
        let last_sent_index = args.prev_log_index + args.entries.len() as u64;
        if !args.entries.is_empty() {
            let sent = Sent::Entries {
                prev_log_index: args.prev_log_index,
                last_index: last_sent_index,
            };
            self.leader_mut().settle_in_flight(peer, sent);
        }
        let Some(reply) = reply else {
            return;
        };
        if reply.success {
            self.append_entries_success(peer, last_sent_index);
        } else {
            self.append_entries_failure(peer, args.prev_log_index, &reply);
        }
        self.replicate_to(ctx, peer, false);
    }

    /// The follower's log matches ours through `last_sent_index`.
    fn append_entries_success(&mut self, peer: usize, last_sent_index: u64) {
        let own_last_index = self.log.last_index();
        let leader = self.leader_mut();
        if flaws::is(Flaw::MatchesOwnLog) {
            leader.match_index[peer] = own_last_index;
            leader.next_index[peer] = own_last_index + 1;
        } else if flaws::is(Flaw::StaleSuccessRewinds) {
            leader.match_index[peer] = last_sent_index;
            leader.next_index[peer] = last_sent_index + 1;
        } else {
            leader.match_index[peer] = leader.match_index[peer].max(last_sent_index);
            leader.next_index[peer] = leader.next_index[peer].max(leader.match_index[peer] + 1);
        }
        self.advance_commit_index();
    }

    /// The follower lacks `prev_log_index`: back up at least past it, never past a match.
    fn append_entries_failure(
        &mut self,
        peer: usize,
        prev_log_index: u64,
        reply: &AppendEntriesReply,
    ) {
        let backed_up_index = self.next_index_after_conflict(reply);
        let leader = self.leader_mut();
        let next_index = backed_up_index
            .min(prev_log_index)
            .min(leader.next_index[peer]);
        leader.next_index[peer] = next_index.max(leader.match_index[peer] + 1);
    }

    /// Where to retry after a rejection: just past our last entry of the follower's
    /// conflicting term if we have that term, else the follower's first index of it (or its
    /// log length + 1 if its log was too short).
    fn next_index_after_conflict(&self, reply: &AppendEntriesReply) -> u64 {
        match reply.conflict_term {
            Some(term) => self
                .log
                .last_index_of_term(term)
                .map_or(reply.conflict_index, |index| index + 1),
            None => reply.conflict_index,
        }
    }

    /// Leaders: "If there exists an N such that N > commitIndex, a majority of
    /// `matchIndex[i] ≥ N`, and `log[N].term == currentTerm`: set commitIndex = N (§5.3,
    /// §5.4)". Only entries of the current term are committed by counting replicas (Figure 8).
    pub(super) fn advance_commit_index(&mut self) {
        let Role::Leader(leader) = &self.role else {
            return;
        };
        let mut match_indexes = leader.match_index.clone();
        match_indexes[self.me] = self.log.last_index();
        match_indexes.sort_unstable_by(|a, b| b.cmp(a));
        let replicated_index = match_indexes[self.majority() - 1];
        let current = self.log.term_at(replicated_index) == Some(self.current_term);
        if replicated_index > self.commit_index
            && (current || flaws::is(Flaw::CommitsOldTermByCount))
        {
            self.commit_index = match flaws::is(Flaw::CommitsWholeLog) {
                true => self.log.last_index(),
                false => replicated_index,
            };
        }
    }

    /// All Servers: "If commitIndex > lastApplied: increment lastApplied, apply
    /// `log[lastApplied]` to state machine (§5.3)", in order, each entry exactly once.
    pub(super) fn apply_committed(&mut self, ctx: &mut Context<'_, Request>) {
        let mut apply_to = self.commit_index.min(self.log.last_index());
        if flaws::is(Flaw::AppliesUncommitted) {
            apply_to = self.log.last_index();
        }
        while self.last_applied < apply_to {
            self.last_applied += 1;
            let index = self.last_applied;
            let command = self.log.entry(index).command.clone();
            ctx.apply(ApplyMsg::Command { index, command });
        }
    }
}
