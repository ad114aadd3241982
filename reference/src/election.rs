//! Leader election (§5.2): the election timer and both sides of RequestVote.

use super::flaws::{self, Flaw};
use super::log::RaftLog;
use super::messages::{RequestVoteArgs, RequestVoteReply};
use super::role::Role;
use super::{ELECTION_TIMEOUT_MAX_MS, ELECTION_TIMEOUT_MIN_MS, Reference, Request};
use raft::Context;

impl Reference {
    /// Draws a fresh election timeout from the node's seeded stream, counted from now.
    pub(super) fn reset_election_deadline(&mut self, ctx: &mut Context<'_, Request>) {
        let timeout_ms = ctx.random_range_ms(ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS);
        self.timers.election_deadline_ms = ctx.now_ms() + timeout_ms;
    }

    /// Arms the election timer for the current deadline, unless it is armed already: a
    /// deadline that moved later is noticed when the timer fires, so resetting the timeout
    /// never touches the event queue.
    pub(super) fn arm_election_timer(&mut self, ctx: &mut Context<'_, Request>) {
        if self.timers.election.is_none() {
            let delay_ms = self
                .timers
                .election_deadline_ms
                .saturating_sub(ctx.now_ms());
            self.timers.election = Some(ctx.set_timer(delay_ms));
        }
    }

    /// Followers: "If election timeout elapses without receiving AppendEntries RPC from
    /// current leader or granting vote to candidate: convert to candidate". Candidates: "If
    /// election timeout elapses: start new election". A leader lets the timer lapse.
    pub(super) fn tick_election(&mut self, ctx: &mut Context<'_, Request>) {
        if self.role.is_leader() {
            return;
        }
        if ctx.now_ms() < self.timers.election_deadline_ms {
            self.arm_election_timer(ctx);
            return;
        }
        self.become_candidate(ctx);
    }

    /// Candidates: "send RequestVote RPCs to all other servers".
    pub(super) fn send_request_votes(&mut self, ctx: &mut Context<'_, Request>) {
        let args = RequestVoteArgs {
            term: self.current_term,
            candidate_id: self.me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.other_peers() {
            self.send(ctx, peer, Request::RequestVote(args.clone()));
        }
    }

    /// RequestVote RPC, receiver implementation: "1. Reply false if term < currentTerm
    /// (§5.1). 2. If votedFor is null or candidateId, and candidate's log is at least as
    /// up-to-date as receiver's log, grant vote (§5.2, §5.4)". Granting a vote resets the
    /// election timeout.
    pub(super) fn request_vote(
        &mut self,
        ctx: &mut Context<'_, Request>,
        args: RequestVoteArgs,
    ) -> RequestVoteReply {
        let vote_granted = args.term == self.current_term
            && (self.voted_for.is_none_or(|peer| peer == args.candidate_id)
                || flaws::is(Flaw::GrantsEveryVote))
            && (candidate_log_is_up_to_date(&self.log, &args)
                || flaws::is(Flaw::VotesForStaleLogs));
        if vote_granted {
            assert!(
                !self.role.is_leader() || flaws::any(),
                "a leader votes for another in its term"
            );
            if flaws::is(Flaw::PersistsBeforeVoting) {
                self.persist_pending = true;
                self.persist_if_pending(ctx);
                self.voted_for = Some(args.candidate_id);
            } else if self.voted_for != Some(args.candidate_id) {
                self.voted_for = Some(args.candidate_id);
                self.persist_pending = true;
            }
            self.reset_election_deadline(ctx);
        }
        RequestVoteReply {
            term: self.current_term,
            vote_granted,
        }
    }

    /// Candidates: "If votes received from majority of servers: become leader".
    pub(super) fn request_vote_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        reply: RequestVoteReply,
    ) {
        let Role::Candidate(candidate) = &mut self.role else {
            return;
        };
        if reply.vote_granted {
            candidate.votes.insert(peer);
        }
        if candidate.votes.len() >= self.majority() {
            self.become_leader(ctx);
        }
    }
}

/// §5.4.1: "If the logs have last entries with different terms, then the log with the later
/// term is more up-to-date. If the logs end with the same term, then whichever log is longer
/// is more up-to-date."
fn candidate_log_is_up_to_date(log: &RaftLog, args: &RequestVoteArgs) -> bool {
    if args.last_log_term != log.last_term() {
        return args.last_log_term > log.last_term();
    }
    args.last_log_index >= log.last_index()
}
