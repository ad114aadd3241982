//! raft-reference: our reference Raft, the solution the harness is tested with. **Not for
//! students**: no student-facing crate (`raft`, `labgob`, `tester`, the `scripts` library)
//! depends on this one, and a course hands the harness out without this folder (README, "For
//! course staff"). The repository's own lab tests, hunt, replay, canary and negative controls
//! run on it: `tests/`, `src/bin/`, `benches/`.
//!
//! The Raft: Figure 2 of the Raft paper (extended version), with the snapshots of
//! Figure 13 and the conflict hint of §5.3, as a sans-IO [`RaftNode`].
//!
//! Code map (start with [`Reference`] and its [`RaftNode`] impl below):
//! - `role.rs`: follower, candidate and leader state; the only three functions that change
//!   role (`become_follower`, `become_candidate`, `become_leader`).
//! - `election.rs`: the election timer and both sides of RequestVote.
//! - `replication.rs`: heartbeats, batching, both sides of AppendEntries, commit and apply.
//! - `snapshot.rs`: the service's snapshots and both sides of InstallSnapshot.
//! - `persist.rs`: what is persisted, and booting from it.
//! - `log.rs`: the log with a snapshot offset; `entries.rs`: its entries, stored with their
//!   encoding so that persisting is one copy.
//! - `messages.rs`: the RPC types.
//! - `kv.rs`, `kv/`: the Lab 3 key/value service ([`kv::KvServer`]) and clerk
//!   ([`kv::KvClerk`]), on any `RaftNode`, and the service's deliberate bugs
//!   ([`kv::flaws::FlawedKv`]) for Lab 3's negative controls.
//!
//! Every input runs to completion and ends in `finish_input`: pending state is persisted,
//! committed entries are applied, and `check_invariants` runs (debug builds).
//!
//! **Invariant:** nothing leaves the node before the state it depends on is durable: every
//! call goes through `send`, which persists first, and replies leave after `finish_input`.

mod election;
mod entries;
pub mod flaws;
pub mod kv;
mod log;
pub mod messages;
mod persist;
mod replication;
mod role;
mod snapshot;

#[cfg(test)]
mod tests;

use raft::{Context, Init, RaftNode, RaftView, TimerId};

use self::log::RaftLog;
pub use self::messages::{Reply, Request};
use self::role::Role;

/// Heartbeat interval: the tester allows at most ten heartbeats per second per follower.
pub const HEARTBEAT_INTERVAL_MS: u64 = 100;
/// Shortest election timeout: three heartbeat intervals, so two lost heartbeats in a row (an
/// unreliable network drops 10% of requests) do not start an election.
pub const ELECTION_TIMEOUT_MIN_MS: u64 = 300;
/// Longest election timeout. The 300 ms spread makes split votes rare, and a leader is still
/// elected well within the tester's 5 s.
pub const ELECTION_TIMEOUT_MAX_MS: u64 = 600;
/// An AppendEntries or InstallSnapshot carrying data that has had no outcome for this long is
/// presumed lost and may be resent (an unreachable peer's failure can take 7 s to report).
pub const APPEND_RETRY_MS: u64 = 2 * HEARTBEAT_INTERVAL_MS;
/// Delay between `start` and sending its entry: 0 fires after the current input, so every
/// `start` of the same instant goes out in one AppendEntries per follower.
pub const REPLICATE_DELAY_MS: u64 = 0;

/// The election timeout range and the heartbeat interval, settable for experiments (the
/// Figure 16 runner, through `tester::fig16::SetTimeouts`). The default is the lab setting
/// above, drawn exactly as before this existed, so the lab suites' runs are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Shortest election timeout, µs.
    pub election_timeout_min_us: u64,
    /// Longest election timeout, µs (inclusive).
    pub election_timeout_max_us: u64,
    /// The leader's heartbeat interval, µs.
    pub heartbeat_interval_us: u64,
    /// Granularity of timeouts and of the clock they are counted on, µs: 1000 (whole
    /// milliseconds) for the labs, 1 for experiments whose ranges are a millisecond wide.
    pub resolution_us: u64,
    /// A voter that learns a newer term from a RequestVote persists it at once, and its vote
    /// in a second write: LogCabin's `handleRequestVote` (`stepDown`, then `updateLogMetadata`
    /// for the vote). Off for the labs (one write per input); the Figure 16 experiment's
    /// LogCabin-like profile turns it on.
    pub persist_term_before_vote: bool,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            election_timeout_min_us: ELECTION_TIMEOUT_MIN_MS * 1000,
            election_timeout_max_us: ELECTION_TIMEOUT_MAX_MS * 1000,
            heartbeat_interval_us: HEARTBEAT_INTERVAL_MS * 1000,
            resolution_us: 1000,
            persist_term_before_vote: false,
        }
    }
}

/// Our reference Raft peer: Figure 2's state, one input at a time.
pub struct Reference {
    /// This peer's index.
    me: usize,
    /// Number of peers, this one included.
    peer_count: usize,

    // Persistent state on all servers (Figure 2), plus the snapshot (Figure 13).
    /// Latest term server has seen (initialized to 0 on first boot, increases monotonically).
    current_term: u64,
    /// Candidate that received vote in current term (or `None`).
    voted_for: Option<usize>,
    /// Log entries, after the snapshot.
    log: RaftLog,
    /// The service's snapshot through `log.snapshot_index()` (empty if none).
    snapshot: Vec<u8>,

    // Volatile state on all servers (Figure 2).
    /// Index of highest log entry known to be committed.
    /// Invariant: `log.snapshot_index() <= commit_index <= log.last_index()`.
    commit_index: u64,
    /// Index of highest log entry applied to state machine.
    /// Invariant: equals `commit_index` between inputs (committed entries are applied at once).
    last_applied: u64,

    /// Follower, candidate or leader, with the state each keeps.
    role: Role,
    /// The timers this node has armed.
    timers: Timers,
    /// Persistent state changed and is not yet saved.
    /// Invariant: false between inputs and whenever a call is sent.
    persist_pending: bool,
    /// Election timeouts and heartbeat interval.
    timing: Timing,
}

/// The node's timers. Each `Option` is the armed timer of its kind, if any.
#[derive(Debug, Default)]
struct Timers {
    /// When the election timeout elapses, µs. Moved forward freely; the timer checks it
    /// lazily.
    election_deadline_us: u64,
    /// Invariant: armed unless leader (a leader lets it lapse).
    election: Option<TimerId>,
    /// Invariant: armed if and only if leader.
    heartbeat: Option<TimerId>,
    /// A "replicate now" after `start`. Invariant: armed only if leader.
    replicate: Option<TimerId>,
}

impl RaftNode for Reference {
    type Request = Request;
    type Reply = Reply;

    fn new(ctx: &mut Context<'_, Request>, init: Init) -> Self {
        let mut node = Reference::boot(ctx, init);
        node.finish_input(ctx);
        node
    }

    /// All Servers: "If RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower (§5.1)"; then the receiver implementation.
    fn handle_request(&mut self, ctx: &mut Context<'_, Request>, request: Request) -> Reply {
        if request.term() > self.current_term {
            self.become_follower(ctx, request.term());
            if self.timing.persist_term_before_vote && matches!(request, Request::RequestVote(_)) {
                self.persist_if_pending(ctx);
            }
        }
        let reply = match request {
            Request::RequestVote(args) => Reply::RequestVote(self.request_vote(ctx, args)),
            Request::AppendEntries(args) => Reply::AppendEntries(self.append_entries(ctx, args)),
            Request::InstallSnapshot(args) => {
                Reply::InstallSnapshot(self.install_snapshot(ctx, args))
            }
        };
        self.finish_input(ctx);
        reply
    }

    /// All Servers: a reply with a higher term makes this node a follower; a reply to a request
    /// of an earlier term is stale and ignored; the rest go to the sender's rules.
    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    ) {
        let reply_term = reply.as_ref().map_or(0, Reply::term);
        if reply_term > self.current_term {
            self.become_follower(ctx, reply_term);
        } else if request.term() == self.current_term || flaws::takes_stale_reply(&request) {
            self.handle_current_reply(ctx, peer, request, reply);
        }
        self.finish_input(ctx);
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Request>, timer: TimerId) {
        if self.timers.election == Some(timer) {
            self.timers.election = None;
            self.tick_election(ctx);
        } else if self.timers.heartbeat == Some(timer) {
            self.timers.heartbeat = None;
            self.tick_heartbeat(ctx);
        } else if self.timers.replicate == Some(timer) {
            self.timers.replicate = None;
            self.tick_replicate(ctx);
        } else {
            panic!("node {}: timer {timer:?} is not armed", self.me);
        }
        self.finish_input(ctx);
    }

    fn start(&mut self, ctx: &mut Context<'_, Request>, command: Vec<u8>) -> Option<(u64, u64)> {
        let placed = self.append_command(ctx, command);
        self.finish_input(ctx);
        placed
    }

    fn state(&self) -> (u64, bool) {
        (self.current_term, self.role.is_leader())
    }

    fn snapshot(&mut self, ctx: &mut Context<'_, Request>, index: u64, snapshot: Vec<u8>) {
        self.compact(ctx, index, snapshot);
        self.finish_input(ctx);
    }

    fn inspect(&self) -> RaftView {
        RaftView {
            term: self.current_term,
            voted_for: self.voted_for,
            is_leader: self.role.is_leader(),
            commit_index: self.commit_index,
            snapshot_index: self.log.snapshot_index(),
            snapshot_term: self.log.snapshot_term(),
            log_terms: self.log.terms().clone(),
        }
    }
}

impl Reference {
    /// Routes a current-term outcome to the rule for its RPC.
    fn handle_current_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    ) {
        match (request, reply) {
            (Request::RequestVote(_), Some(Reply::RequestVote(reply))) => {
                self.request_vote_reply(ctx, peer, reply)
            }
            // A lost vote is not asked for again: the election timer starts a new election.
            (Request::RequestVote(_), None) => {}
            (Request::AppendEntries(args), Some(Reply::AppendEntries(reply))) => {
                self.append_entries_reply(ctx, peer, args, Some(reply))
            }
            (Request::AppendEntries(args), None) => {
                self.append_entries_reply(ctx, peer, args, None)
            }
            (Request::InstallSnapshot(args), Some(Reply::InstallSnapshot(_))) => {
                self.install_snapshot_reply(ctx, peer, args, true)
            }
            (Request::InstallSnapshot(args), None) => {
                self.install_snapshot_reply(ctx, peer, args, false)
            }
            (request, reply) => panic!("reply {reply:?} does not answer {request:?}"),
        }
    }

    /// Sends `request` to `peer`, persisting first whatever it may depend on.
    fn send(&mut self, ctx: &mut Context<'_, Request>, peer: usize, request: Request) {
        debug_assert_ne!(peer, self.me, "sending to self");
        self.persist_if_pending(ctx);
        ctx.call(peer, request);
    }

    /// Ends every input: persist, apply what is committed, check.
    fn finish_input(&mut self, ctx: &mut Context<'_, Request>) {
        self.persist_if_pending(ctx);
        self.apply_committed(ctx);
        if cfg!(debug_assertions) && !flaws::any() {
            self.check_invariants();
        }
    }

    /// Votes needed to win an election, and replicas needed to commit.
    fn majority(&self) -> usize {
        self.peer_count / 2 + 1
    }

    /// Every peer but this one.
    fn other_peers(&self) -> impl Iterator<Item = usize> + use<> {
        let me = self.me;
        (0..self.peer_count).filter(move |&peer| peer != me)
    }

    /// The node's invariants, checked at the end of every input in debug builds.
    fn check_invariants(&self) {
        assert!(!self.persist_pending, "an input ended with state unsaved");
        assert!(
            self.last_applied <= self.commit_index,
            "applied past commit"
        );
        assert!(
            self.last_applied >= self.commit_index,
            "committed entries left unapplied"
        );
        assert!(
            self.commit_index <= self.log.last_index(),
            "committed past the log"
        );
        assert!(
            self.log.snapshot_index() <= self.commit_index,
            "snapshot not committed"
        );
        assert!(
            self.log.last_term() <= self.current_term,
            "log has a future term"
        );
        assert!(
            self.voted_for.is_none_or(|peer| peer < self.peer_count),
            "vote for no peer"
        );
        assert!(
            self.timers.replicate.is_none() || self.role.is_leader(),
            "replicate timer armed while not leader"
        );
        assert_eq!(
            self.timers.heartbeat.is_some(),
            self.role.is_leader(),
            "heartbeat timer armed if and only if leader"
        );
        self.check_role_invariants();
    }
}
