//! Deliberately broken Raft implementations, for negative controls and the hunt's canary: a
//! correct Raft wrapped so that it breaks a rule a check exists for, so that a test can show
//! the check still catches it.
//!
//! One mechanism serves them all. [`Broken<R, B>`] is a [`RaftNode`] that hands every input to
//! the inner node `R` and every effect `R` asks for to the real context, except where the
//! [`Bug`] `B` says otherwise. Every method of [`Bug`] passes things through by default; a bug
//! overrides only what it breaks.
//!
//! | broken Raft    | what it breaks                                 | what must catch it      |
//! |----------------|------------------------------------------------|-------------------------|
//! | [`SendTwice`]  | every RPC goes out twice                       | `rpc_bytes_2b`          |
//! | [`Chatty`]     | 50 heartbeats a second while leading           | `count_2b`              |
//! | [`NeverTrims`] | the service's `snapshot()` is ignored          | `Log size too large`    |
//! | [`Canary`]     | a deposed leader still leads; persists dropped | every hunt              |
//! | [`StaleLeader`] | a deposed leader still says it leads          | Election Safety (`safety`) |
//! | [`Drifts`]     | run 2 of a seed differs from run 1             | the determinism check   |
//!
//! Bugs inside a handler (a vote granted twice, a skipped `prevLogTerm` check) cannot be added
//! from outside a generic Raft; the reference carries one each, `raft_reference::flaws`, for the other
//! safety properties. [`first_catch`] runs a broken Raft over every test, seed after seed,
//! until something fails: the controls' tests and the `controls` benchmark use it.
//!
//! The negative controls are `reference/tests/controls.rs`, `reference/tests/snapshot_controls.rs`
//! and `reference/tests/safety_controls.rs`;
//! `scripts/ci-hunt` hunts the canary.
//!
//! Never use these as a Raft.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use labrpc::Latency;
use raft::{ApplyMsg, Context, Host, Init, Message, RaftNode, RaftView, TimerId};
use rand_core::RngCore;

use crate::registry;
use crate::run::{RunOptions, RunReport, run_case};

/// What a [`Broken`] wrapper changes about its inner node `R`. Every method defaults to passing
/// through unchanged; a bug overrides only what it breaks.
///
/// Effects `R` asks for go through [`Bug::call`] and [`Bug::persist`]; the other effects
/// (timers, applies, the clock, randomness) reach the context unchanged. A bug's own effects
/// go straight to the context it is given.
pub trait Bug<R: RaftNode>: Sized + 'static {
    /// The bug's state for a node about to boot from `init` (before `R` boots).
    fn new(init: &Init) -> Self;

    /// `R` has booted: effects of the bug's own at boot (a timer, say) come after `R`'s.
    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        let _ = ctx;
    }

    /// `R` sends `request` to `peer`.
    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        ctx.call(peer, request);
    }

    /// `R` saves its raft state, and a snapshot too if given.
    fn persist(
        &mut self,
        ctx: &mut Context<'_, R::Request>,
        raft_state: Vec<u8>,
        snapshot: Option<Vec<u8>>,
    ) {
        match snapshot {
            None => ctx.persist(raft_state),
            Some(snapshot) => ctx.persist_with_snapshot(raft_state, snapshot),
        }
    }

    /// The outcome of a call to `peer` with `request`: whether `R` gets it (`false` swallows
    /// the outcome of a call the bug made itself).
    fn passes_reply(&mut self, peer: usize, request: &R::Request) -> bool {
        let _ = (peer, request);
        true
    }

    /// `timer` fired: whether `R` gets it (`false` for a timer the bug set itself). The bug may
    /// act on it first, with `R` to read and the context.
    fn passes_timer(
        &mut self,
        inner: &R,
        ctx: &mut Context<'_, R::Request>,
        timer: TimerId,
    ) -> bool {
        let _ = (inner, ctx, timer);
        true
    }

    /// The service's snapshot up to `index`: whether `R` gets it.
    fn passes_snapshot(&mut self, index: u64) -> bool {
        let _ = index;
        true
    }

    /// `start`: `Some(answer)` answers it without `R` (which never sees the command), `None`
    /// passes it to `R`.
    fn answers_start(&mut self, inner: &R) -> Option<Option<(u64, u64)>> {
        let _ = inner;
        None
    }

    /// After `R` booted or handled an input: the only moments its state changes.
    fn after_input(&mut self, inner: &R) {
        let _ = inner;
    }

    /// What the node reports as `(term, is_leader)`.
    fn state(&self, inner: &R) -> (u64, bool) {
        inner.state()
    }

    /// What the node shows checkers.
    fn inspect(&self, inner: &R) -> RaftView {
        inner.inspect()
    }
}

/// **Deliberately broken**: `R` with the bug `B` (see [`Bug`]).
pub struct Broken<R, B> {
    inner: R,
    bug: B,
}

impl<R: RaftNode, B: Bug<R>> Broken<R, B> {
    /// Runs `f` on the inner node with a context whose effects go through the bug, then tells
    /// the bug.
    fn with_inner<T>(
        &mut self,
        ctx: &mut Context<'_, R::Request>,
        f: impl FnOnce(&mut R, &mut Context<'_, R::Request>) -> T,
    ) -> T {
        let out = f(
            &mut self.inner,
            &mut Context::new(&mut Through::new(ctx, &mut self.bug)),
        );
        self.bug.after_input(&self.inner);
        out
    }
}

impl<R: RaftNode, B: Bug<R>> RaftNode for Broken<R, B> {
    type Request = R::Request;
    type Reply = R::Reply;

    fn new(ctx: &mut Context<'_, R::Request>, init: Init) -> Self {
        let mut bug = B::new(&init);
        let inner = R::new(&mut Context::new(&mut Through::new(ctx, &mut bug)), init);
        bug.booted(ctx);
        bug.after_input(&inner);
        Broken { inner, bug }
    }

    fn handle_request(
        &mut self,
        ctx: &mut Context<'_, R::Request>,
        request: R::Request,
    ) -> R::Reply {
        self.with_inner(ctx, |inner, ctx| inner.handle_request(ctx, request))
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, R::Request>,
        peer: usize,
        request: R::Request,
        reply: Option<R::Reply>,
    ) {
        if self.bug.passes_reply(peer, &request) {
            self.with_inner(ctx, |inner, ctx| {
                inner.handle_reply(ctx, peer, request, reply)
            });
        }
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, R::Request>, timer: TimerId) {
        if self.bug.passes_timer(&self.inner, ctx, timer) {
            self.with_inner(ctx, |inner, ctx| inner.handle_timer(ctx, timer));
        }
    }

    fn start(&mut self, ctx: &mut Context<'_, R::Request>, command: Vec<u8>) -> Option<(u64, u64)> {
        if let Some(answer) = self.bug.answers_start(&self.inner) {
            return answer;
        }
        self.with_inner(ctx, |inner, ctx| inner.start(ctx, command))
    }

    fn state(&self) -> (u64, bool) {
        self.bug.state(&self.inner)
    }

    fn snapshot(&mut self, ctx: &mut Context<'_, R::Request>, index: u64, snapshot: Vec<u8>) {
        if self.bug.passes_snapshot(index) {
            self.with_inner(ctx, |inner, ctx| inner.snapshot(ctx, index, snapshot));
        }
    }

    fn inspect(&self) -> RaftView {
        self.bug.inspect(&self.inner)
    }
}

/// The [`Host`] the inner node sees: the real context, with calls and persists through the bug.
struct Through<'c, 'a, R: RaftNode, B> {
    ctx: &'c mut Context<'a, R::Request>,
    bug: &'c mut B,
    inner: PhantomData<fn() -> R>,
}

impl<'c, 'a, R: RaftNode, B> Through<'c, 'a, R, B> {
    fn new(ctx: &'c mut Context<'a, R::Request>, bug: &'c mut B) -> Self {
        Through {
            ctx,
            bug,
            inner: PhantomData,
        }
    }
}

impl<R: RaftNode, B: Bug<R>> Host<R::Request> for Through<'_, '_, R, B> {
    fn now_ms(&self) -> u64 {
        self.ctx.now_ms()
    }

    fn now_us(&self) -> u64 {
        self.ctx.now_us()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.ctx.rng()
    }

    fn call(&mut self, peer: usize, request: R::Request) {
        self.bug.call(self.ctx, peer, request);
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.ctx.set_timer(delay_ms)
    }

    fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        self.ctx.set_timer_us(delay_us)
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.ctx.cancel_timer(timer);
    }

    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        self.bug.persist(self.ctx, raft_state, snapshot);
    }

    fn apply(&mut self, msg: ApplyMsg) {
        self.ctx.apply(msg);
    }
}

/// **Deliberately broken**: `R` with every RPC sent twice. `rpc_bytes_2b` must fail it (`too
/// many RPC bytes`: on the reference, 201 280 B where 200 000 are allowed).
pub type SendTwice<R> = Broken<R, SendTwiceBug<<R as RaftNode>::Request>>;

/// The bug of [`SendTwice`]: a copy of each call goes out before it, as an extra call.
pub struct SendTwiceBug<Req> {
    extra: ExtraCalls<Req>,
}

impl<R: RaftNode> Bug<R> for SendTwiceBug<R::Request> {
    fn new(_init: &Init) -> Self {
        SendTwiceBug {
            extra: ExtraCalls::default(),
        }
    }

    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        self.extra.send(ctx, peer, &request);
        ctx.call(peer, request);
    }

    fn passes_reply(&mut self, peer: usize, request: &R::Request) -> bool {
        !self.extra.take(peer, request)
    }
}

/// **Deliberately broken**: `R` with a 50-per-second heartbeat added while it leads: every
/// [`CHATTY_RESEND_MS`], on a timer of the bug's own, each peer is sent again the last request
/// `R` sent it. `count_2b` must fail it (`too many RPCs`).
pub type Chatty<R> = Broken<R, ChattyBug<<R as RaftNode>::Request>>;

/// How often [`Chatty`] resends while `R` leads.
pub const CHATTY_RESEND_MS: u64 = 20;

/// The bug of [`Chatty`].
pub struct ChattyBug<Req> {
    extra: ExtraCalls<Req>,
    /// The last request `R` sent each peer.
    last: Vec<Option<Req>>,
    /// The resend timer, told apart from `R`'s timers by its id.
    tick: Option<TimerId>,
}

impl<R: RaftNode> Bug<R> for ChattyBug<R::Request> {
    fn new(init: &Init) -> Self {
        ChattyBug {
            extra: ExtraCalls::default(),
            last: (0..init.peer_count).map(|_| None).collect(),
            tick: None,
        }
    }

    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        self.tick = Some(ctx.set_timer(CHATTY_RESEND_MS));
    }

    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        self.last[peer] = Some(copy_of(&request));
        ctx.call(peer, request);
    }

    fn passes_reply(&mut self, peer: usize, request: &R::Request) -> bool {
        !self.extra.take(peer, request)
    }

    /// The resend timer: while `R` leads, each peer gets `R`'s last request to it again.
    fn passes_timer(
        &mut self,
        inner: &R,
        ctx: &mut Context<'_, R::Request>,
        timer: TimerId,
    ) -> bool {
        if self.tick != Some(timer) {
            return true;
        }
        if inner.state().1 {
            for (peer, request) in self.last.iter().enumerate() {
                if let Some(request) = request {
                    self.extra.send(ctx, peer, request);
                }
            }
        }
        self.tick = Some(ctx.set_timer(CHATTY_RESEND_MS));
        false
    }
}

/// Calls a bug makes beyond its inner node's. Their outcomes are swallowed, so the inner node
/// sees exactly one outcome per call it made and behaves as it would alone: only the traffic
/// on the wire is broken.
struct ExtraCalls<Req>(Vec<(usize, Req)>);

impl<Req> Default for ExtraCalls<Req> {
    fn default() -> Self {
        ExtraCalls(Vec::new())
    }
}

impl<Req: Message> ExtraCalls<Req> {
    /// Sends a copy of `request` to `peer`, whose outcome will be swallowed.
    fn send(&mut self, ctx: &mut Context<'_, Req>, peer: usize, request: &Req) {
        self.0.push((peer, copy_of(request)));
        ctx.call(peer, copy_of(request));
    }

    /// Whether an outcome for `(peer, request)` is an extra call's; if so, forgets that call.
    /// When an inner call and an extra call carry equal requests, whichever outcome comes
    /// first is swallowed: the inner node still sees one outcome for its one call.
    fn take(&mut self, peer: usize, request: &Req) -> bool {
        let found = self.0.iter().position(|(p, r)| *p == peer && r == request);
        match found {
            Some(at) => {
                self.0.swap_remove(at);
                true
            }
            None => false,
        }
    }
}

/// A copy of a message, through its encoding (messages need not be `Clone`).
fn copy_of<M: Message>(message: &M) -> M {
    let bytes = labgob::encode(message).expect("a message encodes");
    labgob::decode(&bytes).expect("an encoded message decodes")
}

/// **Deliberately broken**: `R` with every `snapshot()` call from the service ignored, so its
/// log is never trimmed and its persisted raft state grows with every command. The 2D
/// `Log size too large` check (`MAX_LOG_SIZE_BYTES`) must fail it; everything else is `R`'s.
pub type NeverTrims<R> = Broken<R, NeverTrimsBug>;

/// The bug of [`NeverTrims`]: the service's snapshot is dropped and the log kept whole.
pub struct NeverTrimsBug;

impl<R: RaftNode> Bug<R> for NeverTrimsBug {
    fn new(_init: &Init) -> Self {
        NeverTrimsBug
    }

    fn passes_snapshot(&mut self, _index: u64) -> bool {
        false
    }
}

/// **Deliberately broken**: the canary, which every hunt must report as failing (`scripts/hunt
/// --canary` wraps our reference Raft; `scripts/ci-hunt` checks). Two bugs students really write:
///
/// 1. **A deposed leader keeps saying it leads.** `GetState` reads an `is_leader` flag that
///    the step-down path forgot to clear: once a node has been leader, [`RaftNode::state`]
///    (and [`RaftNode::inspect`]) report leadership in whatever term it is in now, until it
///    restarts. The first leader change that does not crash the old leader makes two leaders
///    in one term (`term N has 2 (>1) leaders`) or a leader where there must be none. Fails
///    2A (`re_election_2a`, `many_elections_2a`) on every seed, and the 2B–2D tests that
///    disconnect a leader.
/// 2. **Amnesia.** Every persist is dropped, so a restarted node forgets its term, its vote
///    and its log (and, in 2D, its snapshot). Fails the 2C persistence tests and the 2D
///    crash tests: a restarted majority re-commits different commands at old indices.
///
/// If a hunt over the canary passes, the hunt (or the suites) lost the ability to see a
/// failure.
pub type Canary<R> = Broken<R, CanaryBug>;

/// The bugs of [`Canary`]: [`StaleLeaderBug`], and amnesia.
pub struct CanaryBug {
    stale_leader: StaleLeaderBug,
}

impl<R: RaftNode> Bug<R> for CanaryBug {
    fn new(init: &Init) -> Self {
        CanaryBug {
            stale_leader: <StaleLeaderBug as Bug<R>>::new(init),
        }
    }

    /// Amnesia: nothing reaches stable storage.
    fn persist(&mut self, _: &mut Context<'_, R::Request>, _: Vec<u8>, _: Option<Vec<u8>>) {}

    fn after_input(&mut self, inner: &R) {
        Bug::<R>::after_input(&mut self.stale_leader, inner);
    }

    fn state(&self, inner: &R) -> (u64, bool) {
        Bug::<R>::state(&self.stale_leader, inner)
    }

    fn inspect(&self, inner: &R) -> RaftView {
        Bug::<R>::inspect(&self.stale_leader, inner)
    }
}

/// **Deliberately broken**: `R` whose [`RaftNode::state`] and [`RaftNode::inspect`] keep
/// reporting leadership after it stepped down, until it restarts (the canary's first bug
/// alone). The safety checks must catch it as Election Safety as soon as another node leads
/// the term the deposed leader is in.
pub type StaleLeader<R> = Broken<R, StaleLeaderBug>;

/// The bug of [`StaleLeader`] (and the canary's first).
pub struct StaleLeaderBug {
    /// Whether this incarnation has ever been leader (the flag the step-down forgets).
    was_leader: bool,
}

impl<R: RaftNode> Bug<R> for StaleLeaderBug {
    fn new(_init: &Init) -> Self {
        StaleLeaderBug { was_leader: false }
    }

    fn after_input(&mut self, inner: &R) {
        self.was_leader |= inner.state().1;
    }

    fn state(&self, inner: &R) -> (u64, bool) {
        let (term, is_leader) = inner.state();
        (term, is_leader || self.was_leader)
    }

    fn inspect(&self, inner: &R) -> RaftView {
        let mut view = inner.inspect();
        view.is_leader |= self.was_leader;
        view
    }
}

/// Runs every lab test on `R`, seed after seed from `first_seed` (every test on a seed before
/// the next seed), until a run fails or `seeds` seeds have passed. Returns the failing run
/// and how many runs it took, or `None`.
pub fn first_catch<R: RaftNode>(
    first_seed: u64,
    seeds: u64,
    safety_checks: bool,
) -> Option<(RunReport, u64)> {
    let latency = crate::latency::from_env();
    first_catch_on::<R>(first_seed, seeds, safety_checks, latency)
}

/// [`first_catch`] on a network whose every hop takes `latency`.
pub fn first_catch_on<R: RaftNode>(
    first_seed: u64,
    seeds: u64,
    safety_checks: bool,
    latency: Latency,
) -> Option<(RunReport, u64)> {
    let cases = registry::all::<R>();
    let mut runs = 0;
    for seed in first_seed..first_seed + seeds {
        for case in &cases {
            runs += 1;
            let options = RunOptions {
                safety_checks,
                latency,
                ..RunOptions::default()
            };
            let report = run_case(case, seed, options);
            if !report.passed() {
                return Some((report, runs));
            }
        }
    }
    None
}

/// How many of the seeds `1..=seeds` catch `R`: seeds on which at least one test of the whole
/// suite fails, on a network whose every hop takes `latency`, the safety checks on. Returns
/// that count and the first failing run. The in-flight controls' measure: the same seeds with
/// [`Latency::ZERO`] and with [`crate::latency::DEFAULT`].
pub fn seeds_caught<R: RaftNode>(seeds: u64, latency: Latency) -> (u64, Option<RunReport>) {
    seeds_caught_by::<R>(seeds, latency, |_| true)
}

/// [`seeds_caught`] counting only the tests `among` keeps (say, the reliable ones: a bug that
/// needs a message in flight can show on a reliable network only if messages take time).
pub fn seeds_caught_by<R: RaftNode>(
    seeds: u64,
    latency: Latency,
    among: impl Fn(&registry::TestCase<R>) -> bool,
) -> (u64, Option<RunReport>) {
    let cases: Vec<_> = registry::all::<R>().into_iter().filter(among).collect();
    let (mut caught, mut first) = (0, None);
    for seed in 1..=seeds {
        let options = || RunOptions {
            latency,
            ..RunOptions::default()
        };
        let failed = cases
            .iter()
            .map(|case| run_case(case, seed, options()))
            .find(|report| !report.passed());
        if let Some(report) = failed {
            caught += 1;
            first.get_or_insert(report);
        }
    }
    (caught, first)
}

/// A nondeterministic Raft, the determinism check's negative control: each first boot of
/// server 0 at time 0 with an odd count in this process sets one extra timer (swallowed when it
/// fires), so run 2 of a seed differs from run 1. Later boots do not count: the safety
/// checker's shadow boots (of a node from its persisted state) call `new` too.
pub type Drifts<R> = Broken<R, DriftBug>;

/// Boots of server 0 at time 0 in this process, for [`DriftBug`].
static DRIFT_BOOTS: AtomicU64 = AtomicU64::new(0);

/// The misbehaviour of [`Drifts`].
pub struct DriftBug {
    me: usize,
    /// The drifting extra timer, swallowed when it fires.
    extra: Option<TimerId>,
}

impl<R: RaftNode> Bug<R> for DriftBug {
    fn new(init: &Init) -> Self {
        DriftBug {
            me: init.me,
            extra: None,
        }
    }

    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        let first_boot = self.me == 0 && ctx.now_ms() == 0;
        if first_boot && DRIFT_BOOTS.fetch_add(1, Ordering::SeqCst) % 2 == 1 {
            self.extra = Some(ctx.set_timer(1));
        }
    }

    fn passes_timer(&mut self, _: &R, _: &mut Context<'_, R::Request>, timer: TimerId) -> bool {
        self.extra != Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use raft::testing::{Effect, RecordingHost};

    use super::*;

    /// A node that leads in term 1 and is deposed by any request of a later term; on a timer
    /// it calls peer 1, and it counts the outcomes it sees.
    struct Toy {
        term: u64,
        outcomes: usize,
    }

    impl RaftNode for Toy {
        type Request = u64;
        type Reply = u64;
        fn new(ctx: &mut Context<'_, u64>, _init: Init) -> Self {
            ctx.persist(vec![1]);
            Toy {
                term: 1,
                outcomes: 0,
            }
        }
        fn handle_request(&mut self, _ctx: &mut Context<'_, u64>, request: u64) -> u64 {
            self.term = request;
            request
        }
        fn handle_reply(&mut self, _: &mut Context<'_, u64>, _: usize, _: u64, _: Option<u64>) {
            self.outcomes += 1;
        }
        fn handle_timer(&mut self, ctx: &mut Context<'_, u64>, _timer: TimerId) {
            ctx.call(1, self.term);
        }
        fn start(&mut self, _ctx: &mut Context<'_, u64>, _c: Vec<u8>) -> Option<(u64, u64)> {
            None
        }
        fn state(&self) -> (u64, bool) {
            (self.term, self.term == 1)
        }
        fn inspect(&self) -> RaftView {
            RaftView {
                term: self.term,
                is_leader: self.term == 1,
                ..RaftView::default()
            }
        }
    }

    #[test]
    fn a_deposed_leader_still_claims_leadership_and_nothing_is_persisted() {
        let mut host = RecordingHost::new(1);
        let mut node: Canary<Toy> = host.boot(0, 3);
        assert_eq!(node.state(), (1, true));
        node.handle_request(&mut host.context(), 2);
        assert_eq!(node.inner.state(), (2, false));
        assert_eq!(node.state(), (2, true), "the stale claim");
        assert!(node.inspect().is_leader);
        assert!(
            !host.take_trace().contains(&Effect::Persist(false)),
            "persists are dropped"
        );
        assert!(host.raft_state.is_empty());
    }

    #[test]
    fn a_call_sent_twice_gets_one_outcome_to_the_inner_node() {
        let mut host = RecordingHost::new(1);
        let mut node: SendTwice<Toy> = host.boot(0, 3);
        node.handle_timer(&mut host.context(), TimerId(7));
        let calls = host.take_calls();
        assert_eq!(calls, vec![(1, 1), (1, 1)]);
        for (peer, request) in calls {
            node.handle_reply(&mut host.context(), peer, request, None);
        }
        assert_eq!(
            node.inner.outcomes, 1,
            "the extra call's outcome is swallowed"
        );
    }
}
