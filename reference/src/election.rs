//! Leader election (§5.2): the election timer and both sides of RequestVote.

use super::flaws::{self, Flaw};
use super::log::RaftLog;
use super::messages::{RequestVoteArgs, RequestVoteReply};
use super::role::Role;
use super::{Reference, Request, Timing};
use raft::Context;

impl Reference {
    /// Sets the election timeout range and heartbeat interval: the election timer restarts
    /// with a timeout from the new range, and a leader's next heartbeat comes one new interval
    /// from now.
    pub fn set_timing(&mut self, ctx: &mut Context<'_, Request>, timing: Timing) {
        assert!(
            timing.resolution_us > 0
                && timing.election_timeout_min_us <= timing.election_timeout_max_us
                && timing.heartbeat_interval_us > 0,
            "bad timing {timing:?}"
        );
        self.timing = timing;
        if let Some(timer) = self.timers.election.take() {
            ctx.cancel_timer(timer);
        }
        if let Some(timer) = self.timers.heartbeat.take() {
            ctx.cancel_timer(timer);
            self.timers.heartbeat = Some(ctx.set_timer_us(timing.heartbeat_interval_us));
        }
        if !self.role.is_leader() {
            self.reset_election_deadline(ctx);
            self.arm_election_timer(ctx);
        }
    }

    /// Now on the clock timeouts count on: whole milliseconds by default, as the labs'.
    pub(super) fn clock_us(&self, ctx: &Context<'_, Request>) -> u64 {
        let resolution_us = self.timing.resolution_us;
        ctx.now_us() / resolution_us * resolution_us
    }

    /// Draws a fresh election timeout from the node's seeded stream, counted from now. With
    /// the default [`Timing`], the same draw as `random_range_ms(300, 600)`.
    pub(super) fn reset_election_deadline(&mut self, ctx: &mut Context<'_, Request>) {
        let Timing {
            election_timeout_min_us: min_us,
            election_timeout_max_us: max_us,
            resolution_us,
            ..
        } = self.timing;
        let steps = (max_us - min_us) / resolution_us;
        let timeout_us = min_us + ctx.random_below(steps + 1) * resolution_us;
        self.timers.election_deadline_us = self.clock_us(ctx) + timeout_us;
    }

    /// Arms the election timer for the current deadline, unless it is armed already: a
    /// deadline that moved later is noticed when the timer fires, so resetting the timeout
    /// never touches the event queue.
    pub(super) fn arm_election_timer(&mut self, ctx: &mut Context<'_, Request>) {
        if self.timers.election.is_none() {
            let delay_us = self
                .timers
                .election_deadline_us
                .saturating_sub(self.clock_us(ctx));
            self.timers.election = Some(ctx.set_timer_us(delay_us));
        }
    }

    /// Followers: "If election timeout elapses without receiving AppendEntries RPC from
    /// current leader or granting vote to candidate: convert to candidate". Candidates: "If
    /// election timeout elapses: start new election". A leader lets the timer lapse.
    pub(super) fn tick_election(&mut self, ctx: &mut Context<'_, Request>) {
        if self.role.is_leader() {
            return;
        }
        if self.clock_us(ctx) < self.timers.election_deadline_us {
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
            if !flaws::is(Flaw::KeepsTimerOnGrant) {
                self.reset_election_deadline(ctx);
            }
        } else if flaws::is(Flaw::ResetsTimerOnEveryRequestVote) {
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

/// The Figure 16 experiment's hook: the timeouts at microsecond resolution.
impl tester::fig16::SetTimeouts for Reference {
    fn set_timeouts(&mut self, ctx: &mut Context<'_, Request>, timeouts: tester::fig16::Timeouts) {
        let timing = Timing {
            election_timeout_min_us: timeouts.election_min_us,
            election_timeout_max_us: timeouts.election_max_us,
            heartbeat_interval_us: timeouts.heartbeat_us,
            resolution_us: 1,
            persist_term_before_vote: timeouts.voter_persists_term_first,
        };
        self.set_timing(ctx, timing);
    }
}
