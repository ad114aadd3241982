//! Follower, candidate, leader (Figure 2, "Rules for Servers"), and the only three functions
//! that change a node's role.

use std::collections::BTreeSet;

use super::{Reference, Request};
use raft::Context;

/// A node's role, with the volatile state only that role keeps.
#[derive(Debug)]
pub(super) enum Role {
    /// Responds to candidates and leaders.
    Follower,
    /// Gathering votes for `current_term`.
    Candidate(Candidate),
    /// Replicating its log to the followers.
    Leader(Leader),
}

/// A candidate's votes.
#[derive(Debug)]
pub(super) struct Candidate {
    /// Peers that granted their vote in this term.
    /// Invariant: contains the candidate itself, and is short of a majority.
    pub(super) votes: BTreeSet<usize>,
}

/// Volatile state on leaders (Figure 2), reinitialized after election. Indexed by peer; the
/// leader's own slots are unused (its log matches itself through its last index).
#[derive(Debug)]
pub(super) struct Leader {
    /// For each server, index of the next log entry to send to that server.
    /// Invariant: `match_index[peer] < next_index[peer] <= last_log_index + 1`.
    pub(super) next_index: Vec<u64>,
    /// For each server, index of highest log entry known to be replicated on server.
    pub(super) match_index: Vec<u64>,
    /// For each server, the request carrying entries or a snapshot that awaits its outcome.
    /// At most one per peer, so each entry is sent once unless a call fails or times out.
    pub(super) in_flight: Vec<Option<InFlight>>,
}

/// A data-carrying request awaiting its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InFlight {
    /// When it was sent; after `APPEND_RETRY_MS` it may be presumed lost.
    pub(super) sent_at_ms: u64,
    /// What it carries, to recognize its outcome.
    pub(super) sent: Sent,
}

/// What a data-carrying request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sent {
    /// AppendEntries with entries `prev_log_index + 1 ..= last_index`.
    Entries {
        /// The request's `prev_log_index`.
        prev_log_index: u64,
        /// Index of its last entry.
        last_index: u64,
    },
    /// InstallSnapshot through `last_included_index`.
    Snapshot {
        /// The request's `last_included_index`.
        last_included_index: u64,
    },
}

impl Role {
    /// Whether this is the leader role.
    pub(super) fn is_leader(&self) -> bool {
        matches!(self, Role::Leader(_))
    }
}

impl Leader {
    /// Forgets the in-flight request to `peer` if `sent` describes it (its outcome arrived).
    pub(super) fn settle_in_flight(&mut self, peer: usize, sent: Sent) {
        if self.in_flight[peer].is_some_and(|in_flight| in_flight.sent == sent) {
            self.in_flight[peer] = None;
        }
    }
}

impl Reference {
    /// The leader's state. Panics unless leader.
    pub(super) fn leader_mut(&mut self) -> &mut Leader {
        match &mut self.role {
            Role::Leader(leader) => leader,
            role => panic!("node {} is not leader but {role:?}", self.me),
        }
    }

    /// All Servers: "If RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower (§5.1)". Candidates: "If AppendEntries RPC
    /// received from new leader: convert to follower" (then `term` is the current term).
    pub(super) fn become_follower(&mut self, ctx: &mut Context<'_, Request>, term: u64) {
        assert!(term >= self.current_term, "following an older term");
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.persist_pending = true;
        }
        if self.role.is_leader() {
            ::log::debug!("{} steps down in term {term}", self.me);
            self.cancel_leader_timers(ctx);
            self.reset_election_deadline(ctx);
        }
        self.role = Role::Follower;
        self.arm_election_timer(ctx);
    }

    /// Candidates (§5.2): "On conversion to candidate, start election: increment currentTerm,
    /// vote for self, reset election timer, send RequestVote RPCs to all other servers".
    pub(super) fn become_candidate(&mut self, ctx: &mut Context<'_, Request>) {
        assert!(
            !self.role.is_leader(),
            "a leader does not stand for election"
        );
        self.current_term += 1;
        self.voted_for = Some(self.me);
        self.persist_pending = true;
        self.reset_election_deadline(ctx);
        self.arm_election_timer(ctx);
        ::log::debug!(
            "{} stands for election in term {}",
            self.me,
            self.current_term
        );
        self.role = Role::Candidate(Candidate {
            votes: BTreeSet::from([self.me]),
        });
        if self.majority() == 1 {
            self.become_leader(ctx);
            return;
        }
        self.send_request_votes(ctx);
    }

    /// Candidates: "If votes received from majority of servers: become leader". Leaders:
    /// "Upon election: send initial empty AppendEntries RPCs (heartbeat) to each server;
    /// repeat during idle periods to prevent election timeouts (§5.2)". `nextIndex` starts
    /// at the leader's last log index + 1, `matchIndex` at 0.
    pub(super) fn become_leader(&mut self, ctx: &mut Context<'_, Request>) {
        assert!(
            matches!(self.role, Role::Candidate(_)),
            "only a candidate wins an election"
        );
        ::log::debug!("{} leads term {}", self.me, self.current_term);
        self.role = Role::Leader(Leader {
            next_index: vec![self.log.last_index() + 1; self.peer_count],
            match_index: vec![0; self.peer_count],
            in_flight: vec![None; self.peer_count],
        });
        self.timers.heartbeat = Some(ctx.set_timer_us(self.timing.heartbeat_interval_us));
        self.broadcast_append_entries(ctx);
    }

    /// The leader's timers stop with its leadership.
    fn cancel_leader_timers(&mut self, ctx: &mut Context<'_, Request>) {
        for timer in [self.timers.heartbeat.take(), self.timers.replicate.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel_timer(timer);
        }
    }

    /// The role's invariants (see the field docs), checked with the others.
    pub(super) fn check_role_invariants(&self) {
        match &self.role {
            Role::Follower => {
                assert!(
                    self.timers.election.is_some(),
                    "follower without election timer"
                );
            }
            Role::Candidate(candidate) => {
                assert!(
                    self.timers.election.is_some(),
                    "candidate without election timer"
                );
                assert_eq!(self.voted_for, Some(self.me), "candidate voted for another");
                assert!(
                    candidate.votes.contains(&self.me),
                    "candidate without own vote"
                );
                assert!(
                    candidate.votes.len() < self.majority(),
                    "candidate with a majority"
                );
            }
            Role::Leader(leader) => {
                assert_eq!(self.voted_for, Some(self.me), "leader voted for another");
                for peer in self.other_peers() {
                    let next_index = leader.next_index[peer];
                    assert!(
                        leader.match_index[peer] < next_index,
                        "match_index >= next_index"
                    );
                    assert!(
                        next_index <= self.log.last_index() + 1,
                        "next_index past the log"
                    );
                    assert!(next_index >= 1, "next_index 0");
                }
            }
        }
    }
}
