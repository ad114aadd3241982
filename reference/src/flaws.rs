//! **Deliberately broken** variants of the reference: one classic student bug each, for the
//! negative controls of the safety checks (each must be caught, with class `safety` and the
//! right property). Never use these as a Raft.
//!
//! A bug that lives inside a handler (a vote granted twice, a prevLogTerm check skipped)
//! cannot be added from outside by a wrapper over a generic Raft, so the reference carries
//! them: [`Flawed<F>`] runs the reference with the flaw `F` switched on for the duration of
//! each call into it (a thread-local, so parallel runs never see each other's flaws), and the
//! reference consults `flaws::is` at the one place each flaw changes. With no flaw on, the code
//! paths are the reference's own.
//!
//! | flaw | the bug | caught by |
//! |---|---|---|
//! | [`GrantsEveryVote`] | RequestVote ignores `votedFor` | Vote once |
//! | [`AcceptsStaleTerms`] | AppendEntries from an older term is obeyed, its term adopted | Term monotonic |
//! | [`LeaderOverwritesLast`] | `start` overwrites the last entry when it is of an older term | Leader Append-Only |
//! | [`SkipsPrevLogTerm`] | AppendEntries with entries appends without checking `prevLogTerm` | Log Matching |
//! | [`VotesForStaleLogs`] | RequestVote skips the up-to-date check (§5.4.1) | Leader Completeness |
//! | [`CommitsPastLog`] | `commitIndex = leaderCommit`, without `min(…, last new entry)` | Commit index |
//! | [`AppliesUncommitted`] | entries are applied as soon as they are in the log | Apply order |
//! | [`TruncatesOnEveryAppend`] | AppendEntries truncates after `prevLogIndex` even when entries match | No stale truncation |
//! | [`PersistsBeforeVoting`] | the state is saved, then the vote is recorded and replied | Persist before reply |
//! | [`CommitsOldTermByCount`] | a leader commits an entry of an earlier term by counting replicas (Figure 8) | the nemesis family (State Machine Safety, Leader Completeness) |
//! | [`InstallsStaleSnapshot`] | InstallSnapshot below the follower's commit index is installed | the nemesis family's stale deliveries (Apply order, Commit index) |
//! | [`ResetsTimerOnEveryRequestVote`] | any RequestVote resets the election timer, granted or not | the nemesis liveness phase, seed 25 (README, "Nemesis") |
//! | [`ResetsTimerOnStaleAppend`] | an AppendEntries of an older term resets the election timer | nothing on seeds 1–50: it slows a heal by one timeout at most |
//! | [`KeepsTimerOnGrant`] | granting a vote leaves the election timer running | nothing on seeds 1–50: it costs an extra election now and then |
//! | [`CountsStaleVotes`] | a vote reply from an earlier term is counted by a candidate | nothing on seeds 1–50 (in flight) |
//! | [`TakesStaleAppendReplies`] | an AppendEntries reply from an earlier term is applied by a leader | nothing on seeds 1–50 (in flight) |
//! | [`StaleSuccessRewinds`] | an AppendEntries success sets `matchIndex`/`nextIndex` from its request, even back | nothing, by design (in flight) |
//! | [`MatchesOwnLog`] | an AppendEntries success sets `matchIndex` from the leader's log at reply time | Go's agreement, or a livelock (in flight) |
//! | [`SnapshotMatchesOwnSnapshot`] | an InstallSnapshot success sets `matchIndex` from the leader's snapshot at reply time | Go's agreement (in flight) |
//! | [`CommitsWholeLog`] | a majority's success commits the leader's whole log | Commit needs a majority (in flight) |
//! | [`CommitGoesBack`] | a follower's commit index follows a late AppendEntries back | Commit index (in flight) |
//!
//! The last seven are the **in-flight controls** of the latency model: each bites only when a
//! reply (or a request) arrives after its sender moved on: a new election or term, a later
//! AppendEntries already answered, a `start` or a snapshot taken meanwhile. Without latency a
//! reliable network still interleaves one thing there: an event already queued for the instant
//! of a send (a tester wake-up, another reply) runs before the reply. Latency adds everything
//! that happens in the next tens of microseconds, and the unreliable tests' delays add
//! milliseconds with or without it. They live here, not in `tester::controls`, because each
//! removes a guard inside a handler that no wrapper around a generic Raft can reach. The
//! `in_flight` benchmark counts the seeds that catch each, with and without latency (README,
//! "What the latency buys"); `tests/in_flight_controls.rs` pins a catching run of each of the
//! four that are caught, and `src/tests/in_flight.rs` shows each flaw biting when a late
//! message is delivered by hand.
//!
//! Election Safety's control is a wrapper (`tester::controls::StaleLeader`): a deposed leader
//! that keeps reporting leadership needs no code inside a handler.

use std::cell::Cell;
use std::marker::PhantomData;

use super::Reference;
use super::messages::{Reply, Request};
use raft::{Context, Init, RaftNode, RaftView, TimerId};

thread_local! {
    static ACTIVE: Cell<Option<Flaw>> = const { Cell::new(None) };
}

/// Whether `flaw` is switched on for the call running on this thread.
pub(super) fn is(flaw: Flaw) -> bool {
    ACTIVE.with(Cell::get) == Some(flaw)
}

/// Whether any flaw is on: the reference's own invariant checks are off then (the flaw breaks
/// them on purpose, and the tester's checks must be the ones to notice).
pub(super) fn any() -> bool {
    ACTIVE.with(Cell::get).is_some()
}

/// Whether a reply to `request`, sent in an earlier term, is handled as if it were current
/// (the in-flight flaws that skip the `args.term == currentTerm` check on replies).
pub(super) fn takes_stale_reply(request: &Request) -> bool {
    match request {
        Request::RequestVote(_) => is(Flaw::CountsStaleVotes),
        Request::AppendEntries(_) => is(Flaw::TakesStaleAppendReplies),
        Request::InstallSnapshot(_) => false,
    }
}

/// Runs `f` with `flaw` on.
fn with<T>(flaw: Flaw, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Flaw>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|active| active.replace(Some(flaw))));
    f()
}

/// A type that names one [`Flaw`].
pub trait FlawKind: 'static {
    /// The flaw.
    const FLAW: Flaw;
}

macro_rules! flaws {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One deliberate bug of the reference; each has a type of the same name for
        /// [`Flawed`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Flaw {
            $($(#[$doc])* $name,)*
        }

        $(
            $(#[$doc])*
            pub struct $name;
            impl FlawKind for $name {
                const FLAW: Flaw = Flaw::$name;
            }
        )*
    };
}

flaws! {
    /// RequestVote grants a vote to any up-to-date candidate of the current term, whoever it
    /// voted for before ("If votedFor is null or candidateId" forgotten).
    GrantsEveryVote,
    /// AppendEntries of an older term is not rejected: the follower adopts that term.
    AcceptsStaleTerms,
    /// `start` on a leader whose last entry is of an older term overwrites that entry instead of
    /// appending (an off-by-one in the log's indexing).
    LeaderOverwritesLast,
    /// AppendEntries that carries entries appends them after `prevLogIndex` without comparing
    /// `prevLogTerm` (the check only guards heartbeats).
    SkipsPrevLogTerm,
    /// RequestVote grants votes without the "at least as up-to-date" check of §5.4.1.
    VotesForStaleLogs,
    /// A follower sets `commitIndex = leaderCommit` even past its own last entry.
    CommitsPastLog,
    /// Entries are applied as soon as they are in the log, committed or not.
    AppliesUncommitted,
    /// AppendEntries deletes every entry after `prevLogIndex` before appending, even entries
    /// that match: a stale or reordered request erases newer entries.
    TruncatesOnEveryAppend,
    /// Granting a vote saves the state first and records the vote after, so the reply leaves
    /// with the vote unsaved.
    PersistsBeforeVoting,
    /// A candidate counts every granted vote it receives, whatever term the vote was asked
    /// in (the reply handler checks `reply.term`, not `args.term == currentTerm`): a vote of
    /// an earlier round that arrives late elects it without a majority of this round.
    CountsStaleVotes,
    /// A leader applies every AppendEntries reply it receives, whatever term it sent the
    /// request in: a success from an earlier leadership, arriving after it stepped down and
    /// came back in a new term, sets `matchIndex` for entries the follower may not hold.
    TakesStaleAppendReplies,
    /// An AppendEntries success sets `matchIndex = prevLogIndex + len(entries)` and
    /// `nextIndex` one past it, without `max`: a stale success, overtaken by a later one,
    /// moves both backwards. Costs resends, not safety: no check should catch it, which is
    /// what this control shows.
    StaleSuccessRewinds,
    /// A leader commits the entry a majority holds whatever its term: Figure 8's bug. An
    /// entry of an earlier term, counted on a majority, is committed, then overwritten by a
    /// leader that never had it.
    CommitsOldTermByCount,
    /// InstallSnapshot is obeyed even when it covers less than the follower committed: a
    /// stale or duplicated snapshot moves `commitIndex` and the service back.
    InstallsStaleSnapshot,
    /// An AppendEntries success sets `matchIndex` to the leader's own last log index when
    /// the reply arrives (`len(log) - 1`), not to `prevLogIndex + len(entries)` of the request
    /// it answers, and `nextIndex` one past it: a `start` that lands while the request is in
    /// flight makes the leader count the follower for entries it never got, and never send
    /// them (the Students' Guide to Raft warns of exactly this).
    MatchesOwnLog,
    /// An InstallSnapshot success sets `matchIndex` to the leader's own snapshot index when
    /// the reply arrives (`lastIncludedIndex`), not to the request's: a snapshot the leader
    /// takes while the request is in flight counts the follower for entries it never got.
    SnapshotMatchesOwnSnapshot,
    /// When a success gives a majority past `commitIndex`, the leader commits its whole log
    /// (`commitIndex = len(log) - 1`), not the index the majority holds: entries `start`ed
    /// while the request was in flight are committed on the leader alone.
    CommitsWholeLog,
    /// A follower sets `commitIndex = min(leaderCommit, index of last new entry)` exactly as
    /// Figure 2 says, without `max` with its own: an AppendEntries overtaken by a later one (or
    /// a heartbeat sent while entries were in flight) moves the commit index back.
    CommitGoesBack,
    /// Every RequestVote resets the election timer, granted or not: a candidate whose log is
    /// behind keeps the up-to-date nodes from ever timing out.
    ResetsTimerOnEveryRequestVote,
    /// An AppendEntries of an older term is rejected but still resets the election timer: a
    /// deposed leader's heartbeats hold the others back.
    ResetsTimerOnStaleAppend,
    /// Granting a vote does not reset the election timer ("or granting vote to candidate"
    /// forgotten): a voter may stand against the candidate it just voted for.
    KeepsTimerOnGrant,
}

/// **Deliberately broken**: the reference with the flaw `F` (see the module documentation).
pub struct Flawed<F> {
    pub(crate) inner: Reference,
    flaw: PhantomData<fn() -> F>,
}

impl<F: FlawKind> RaftNode for Flawed<F> {
    type Request = Request;
    type Reply = Reply;

    fn new(ctx: &mut Context<'_, Request>, init: Init) -> Self {
        let inner = with(F::FLAW, || Reference::new(ctx, init));
        Flawed {
            inner,
            flaw: PhantomData,
        }
    }

    fn handle_request(&mut self, ctx: &mut Context<'_, Request>, request: Request) -> Reply {
        with(F::FLAW, || self.inner.handle_request(ctx, request))
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    ) {
        with(F::FLAW, || {
            self.inner.handle_reply(ctx, peer, request, reply)
        })
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Request>, timer: TimerId) {
        with(F::FLAW, || self.inner.handle_timer(ctx, timer))
    }

    fn start(&mut self, ctx: &mut Context<'_, Request>, command: Vec<u8>) -> Option<(u64, u64)> {
        with(F::FLAW, || self.inner.start(ctx, command))
    }

    fn state(&self) -> (u64, bool) {
        self.inner.state()
    }

    fn snapshot(&mut self, ctx: &mut Context<'_, Request>, index: u64, snapshot: Vec<u8>) {
        with(F::FLAW, || self.inner.snapshot(ctx, index, snapshot))
    }

    fn inspect(&self) -> RaftView {
        self.inner.inspect()
    }
}
