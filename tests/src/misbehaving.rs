//! Misbehaving Rafts: a correct Raft wrapped (with [`Broken`]) so that it does what a student's
//! Raft may do to the harness itself: panic inside a handler, call a peer that does not
//! exist, fail to boot from its own persisted state, ask for a timer that never fires. Each
//! must end its run as a classified failure that names the node and the call (or pass, where
//! the behaviour is allowed), never as an error of the harness.
//!
//! | misbehaving Raft       | what it does                                  | what the run reports |
//! |------------------------|-----------------------------------------------|----------------------|
//! | [`PanicsOnReply`]      | panics in its first `handle_reply`             | `panic`: `S1 panicked in handle_reply (a call to S0): ...` |
//! | [`CallsNoSuchPeer`]    | its first call goes to peer `peer_count`       | `panic`: `... called peer 3, but peers are 0..3` |
//! | [`RejectsItsOwnState`] | `new` panics on any persisted state            | `panic` in `new`, or in a shadow boot of the safety checks |
//! | [`TimesOutNever`]      | sets a `u64::MAX` timer, draws from `0..=u64::MAX` | passes             |
//! | [`CancelsTimerZero`]   | cancels `TimerId(0)`, which another node set   | passes, as if it had not |
//! | [`ArmsTimersForever`]  | a timer handler that sets timers in an endless loop | `hang`: `... more than 100000 effects ... in one handle_timer` |
//! | [`AppliesSnapshotAtMax`] | applies a snapshot at index `u64::MAX`      | `failed-check`: `apply error: server 0 applied index 18446744073709551615 (u64::MAX): ...` |
//! | [`StartsAtOne`]        | a leader's `start` says index 1 once it is committed, appending nothing | `failed-check` (`one(...) failed to reach agreement`), not a tester task spinning for ever |
//! | [`RearmsAtOnce`]       | server 0 re-arms a 0 ms timer from its handler, for ever | `hang`: `... livelock ...: S0 handle_timer ×1000` |
//! | [`PanicsOnDrop`]       | server 0's `Drop` panics, once it has handled a timer | `panic`: `S0 panicked in drop: ...`, at its crash or the end of the run |
//! | [`LoopsForever`]       | server 0 loops for ever in a timer handler, asking for nothing | `cargo test`'s watchdog stops the binary: `hang`, the node, the call, the reproduce line |
//! | [`PilesUpTimers`]      | server 0 sets 1,000 far-off timers every virtual ms | `resource-limit`: `200001 events pending at once ...` |
//! | [`FloodsBytes`]        | sends each request of over 1 KiB 16,384 times over | `resource-limit`: `... bytes of messages in flight at once, more than 134217728 ...` |
//! | [`OverflowsStack`]     | on some seeds, server 0 recurses without end in a timer handler | the process aborts: `crash` in the hunt and under `cargo test` |
//! | [`ExitsZero`], [`ExitsOne`] | on some seeds, server 0 calls `std::process::exit` in a timer handler | `exit`, whatever the status (0 included) |
//! | [`SpinsSometimes`]     | on some seeds, [`LoopsForever`]                 | `hang`: the hunt kills its worker after `--hang-timeout` |
//! | [`FloodsItsLog`]       | logs the same 1 KiB line 64 times per timer, then panics | `panic`; the hunt's saved log stays within its byte caps, repeats collapsed |
//!
//! `reference/tests/misbehaving.rs` runs each over the reference Raft. Never use these as a Raft.

use raft::{ApplyMsg, Context, Init, RaftNode, TimerId};

use crate::controls::{Broken, Bug};

/// What [`PanicsOnReply`] panics with.
pub const REPLY_PANIC: &str = "deliberate: a reply handler indexes past its log";

/// What [`RejectsItsOwnState`] panics with.
pub const STATE_PANIC: &str = "deliberate: new cannot decode its own persisted state";

/// **Misbehaving**: `R`, panicking in its first `handle_reply`.
pub type PanicsOnReply<R> = Broken<R, PanicsOnReplyBug>;

/// The bug of [`PanicsOnReply`].
pub struct PanicsOnReplyBug;

impl<R: RaftNode> Bug<R> for PanicsOnReplyBug {
    fn new(_init: &Init) -> Self {
        PanicsOnReplyBug
    }

    fn passes_reply(&mut self, _peer: usize, _request: &R::Request) -> bool {
        panic!("{REPLY_PANIC}")
    }
}

/// **Misbehaving**: `R`, whose first call goes to peer `peer_count` (one past the last), as a
/// student's off-by-one in a loop over peers would.
pub type CallsNoSuchPeer<R> = Broken<R, CallsNoSuchPeerBug>;

/// The bug of [`CallsNoSuchPeer`].
pub struct CallsNoSuchPeerBug {
    peer_count: usize,
    called: bool,
}

impl<R: RaftNode> Bug<R> for CallsNoSuchPeerBug {
    fn new(init: &Init) -> Self {
        CallsNoSuchPeerBug {
            peer_count: init.peer_count,
            called: false,
        }
    }

    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        let peer = if self.called { peer } else { self.peer_count };
        self.called = true;
        ctx.call(peer, request);
    }
}

/// **Misbehaving**: `R`, whose `new` panics whenever there is persisted raft state (as one
/// that cannot decode what it saved). On a first boot it is `R`; the first shadow boot of the
/// persist-before-reply check, or the first restart, panics.
pub type RejectsItsOwnState<R> = Broken<R, RejectsItsOwnStateBug>;

/// The bug of [`RejectsItsOwnState`].
pub struct RejectsItsOwnStateBug;

impl<R: RaftNode> Bug<R> for RejectsItsOwnStateBug {
    fn new(init: &Init) -> Self {
        assert!(init.raft_state.is_empty(), "{STATE_PANIC}");
        RejectsItsOwnStateBug
    }
}

/// **Allowed, if odd**: `R`, which also sets a timer of `u64::MAX` ms at boot (a student's
/// "never") and draws a number from the widest range there is. Neither may overflow virtual
/// time: the run is `R`'s.
pub type TimesOutNever<R> = Broken<R, TimesOutNeverBug>;

/// The bug of [`TimesOutNever`].
pub struct TimesOutNeverBug;

impl<R: RaftNode> Bug<R> for TimesOutNeverBug {
    fn new(_init: &Init) -> Self {
        TimesOutNeverBug
    }

    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        ctx.set_timer(u64::MAX);
        let delay_ms = ctx.random_range_ms(0, u64::MAX);
        ctx.set_timer(delay_ms);
    }
}

/// **Allowed, and harmless**: `R`, which on every server but 0 also cancels `TimerId(0)` at
/// boot (as a student's placeholder id would). Timer ids are unique in a run, so that is
/// server 0's first timer: a node may cancel only its own, and the run must be `R`'s.
pub type CancelsTimerZero<R> = Broken<R, CancelsTimerZeroBug>;

/// The bug of [`CancelsTimerZero`].
pub struct CancelsTimerZeroBug {
    me: usize,
}

impl<R: RaftNode> Bug<R> for CancelsTimerZeroBug {
    fn new(init: &Init) -> Self {
        CancelsTimerZeroBug { me: init.me }
    }

    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        if self.me != 0 {
            ctx.cancel_timer(TimerId(0));
        }
    }
}

/// **Misbehaving**: `R`, whose first timer after virtual second 1 sets timers in a loop that
/// never ends (a `while` whose condition never changes). Unstopped, it would run until memory
/// ran out.
pub type ArmsTimersForever<R> = Broken<R, ArmsTimersForeverBug>;

/// When [`ArmsTimersForever`] starts looping, in virtual milliseconds.
pub const LOOP_FROM_MS: u64 = 1000;

/// The bug of [`ArmsTimersForever`].
pub struct ArmsTimersForeverBug;

impl<R: RaftNode> Bug<R> for ArmsTimersForeverBug {
    fn new(_init: &Init) -> Self {
        ArmsTimersForeverBug
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        while ctx.now_ms() >= LOOP_FROM_MS {
            ctx.set_timer(1);
        }
        true
    }
}

/// **Misbehaving**: `R`, whose server 0 also applies a snapshot at index `u64::MAX` on its
/// first timer after [`LOOP_FROM_MS`] (an index that a wrapped subtraction produced, say). The
/// next index to apply would wrap to 0: the tester must refuse it.
pub type AppliesSnapshotAtMax<R> = Broken<R, AppliesSnapshotAtMaxBug>;

/// The bug of [`AppliesSnapshotAtMax`].
pub struct AppliesSnapshotAtMaxBug {
    me: usize,
    applied: bool,
}

impl<R: RaftNode> Bug<R> for AppliesSnapshotAtMaxBug {
    fn new(init: &Init) -> Self {
        AppliesSnapshotAtMaxBug {
            me: init.me,
            applied: false,
        }
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        if self.me == 0 && !self.applied && ctx.now_ms() >= LOOP_FROM_MS {
            self.applied = true;
            // What the 2D tester's snapshot of that index would hold: the index, no commands.
            let data = labgob::encode(&(u64::MAX, Vec::<Option<Vec<u8>>>::new()))
                .expect("a small snapshot encodes");
            ctx.apply(ApplyMsg::Snapshot {
                term: 1,
                index: u64::MAX,
                data,
            });
        }
        true
    }
}

/// **Misbehaving**: `R`, whose `start` on a leader answers index 1 once anything is
/// committed, without appending the command (a student's `return 1, term, true`). 2C's churn
/// clients used to loop on it at one virtual instant for ever.
pub type StartsAtOne<R> = Broken<R, StartsAtOneBug>;

/// The bug of [`StartsAtOne`].
pub struct StartsAtOneBug;

impl<R: RaftNode> Bug<R> for StartsAtOneBug {
    fn new(_init: &Init) -> Self {
        StartsAtOneBug
    }

    fn answers_start(&mut self, inner: &R) -> Option<Option<(u64, u64)>> {
        let (term, leads) = inner.state();
        (leads && inner.inspect().commit_index >= 1).then_some(Some((1, term)))
    }
}

/// **Misbehaving**: `R`, whose server 0, from virtual second 1, sets a 0 ms timer whose
/// handler sets another: virtual time never passes again, though each input ends.
pub type RearmsAtOnce<R> = Broken<R, RearmsAtOnceBug>;

/// The bug of [`RearmsAtOnce`].
pub struct RearmsAtOnceBug {
    me: usize,
    timer: Option<TimerId>,
}

impl<R: RaftNode> Bug<R> for RearmsAtOnceBug {
    fn new(init: &Init) -> Self {
        RearmsAtOnceBug {
            me: init.me,
            timer: None,
        }
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, timer: TimerId) -> bool {
        let mine = self.timer == Some(timer);
        if mine || (self.me == 0 && self.timer.is_none() && ctx.now_ms() >= LOOP_FROM_MS) {
            self.timer = Some(ctx.set_timer(0));
        }
        !mine
    }
}

/// What [`PanicsOnDrop`] panics with.
pub const DROP_PANIC: &str = "deliberate: a Drop that unwraps a closed channel";

/// **Misbehaving**: `R`, whose server 0 panics when it is dropped (at a crash, or when the run
/// ends), once it has handled a timer: shadow boots of the safety checks, which handle
/// nothing, drop cleanly.
pub type PanicsOnDrop<R> = Broken<R, PanicsOnDropBug>;

/// The bug of [`PanicsOnDrop`].
pub struct PanicsOnDropBug {
    me: usize,
    timers: u64,
}

impl<R: RaftNode> Bug<R> for PanicsOnDropBug {
    fn new(init: &Init) -> Self {
        PanicsOnDropBug {
            me: init.me,
            timers: 0,
        }
    }

    fn passes_timer(&mut self, _: &R, _: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        self.timers += 1;
        true
    }
}

impl Drop for PanicsOnDropBug {
    fn drop(&mut self) {
        if self.me == 0 && self.timers > 0 && !std::thread::panicking() {
            panic!("{DROP_PANIC}");
        }
    }
}

/// **Misbehaving**: `R`, whose server 0 loops for ever in its first timer handler after
/// [`LOOP_FROM_MS`], asking for nothing (a backtracking loop with a misplaced `i -= 1`). Only
/// a wall-clock watchdog can stop it.
pub type LoopsForever<R> = Broken<R, LoopsForeverBug>;

/// The bug of [`LoopsForever`].
pub struct LoopsForeverBug {
    me: usize,
}

impl<R: RaftNode> Bug<R> for LoopsForeverBug {
    fn new(init: &Init) -> Self {
        LoopsForeverBug { me: init.me }
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        while self.me == 0 && ctx.now_ms() >= LOOP_FROM_MS {
            std::hint::spin_loop();
        }
        true
    }
}

/// **Misbehaving**: `R`, whose server 0, from [`LOOP_FROM_MS`], sets 1,000 timers a million
/// seconds away every virtual millisecond (from a 1 ms timer of its own): pending events grow
/// without bound, as in an RPC storm, though each input ends and time passes.
pub type PilesUpTimers<R> = Broken<R, PilesUpTimersBug>;

/// The bug of [`PilesUpTimers`].
pub struct PilesUpTimersBug {
    me: usize,
    tick: Option<TimerId>,
}

impl<R: RaftNode> Bug<R> for PilesUpTimersBug {
    fn new(init: &Init) -> Self {
        PilesUpTimersBug {
            me: init.me,
            tick: None,
        }
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, timer: TimerId) -> bool {
        let mine = self.tick == Some(timer);
        if mine || (self.me == 0 && self.tick.is_none() && ctx.now_ms() >= LOOP_FROM_MS) {
            self.tick = Some(ctx.set_timer(1));
            for _ in 0..1000 {
                ctx.set_timer(1_000_000_000);
            }
        }
        !mine
    }
}

/// **Misbehaving**: `R`, which sends every request that encodes to more than 1 KiB
/// [`FLOOD_COPIES`] more times (a retry loop without a bound): bytes in flight grow far faster
/// than events. 2B's `rpc_bytes_2b`, whose commands are 5,000 bytes, sets it off at its first
/// agreement.
pub type FloodsBytes<R> = Broken<R, FloodsBytesBug>;

/// Extra copies [`FloodsBytes`] sends of each large request.
pub const FLOOD_COPIES: usize = 16_384;

/// The bug of [`FloodsBytes`].
pub struct FloodsBytesBug;

impl<R: RaftNode> Bug<R> for FloodsBytesBug {
    fn new(_init: &Init) -> Self {
        FloodsBytesBug
    }

    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        let bytes = labgob::encode(&request).expect("a request encodes");
        if bytes.len() > 1024 {
            for _ in 0..FLOOD_COPIES {
                let copy = labgob::decode(&bytes).expect("a request decodes");
                ctx.call(peer, copy);
            }
        }
        ctx.call(peer, request);
    }
}

/// **Misbehaving, on about half the seeds**: `R`, whose server 0 recurses without end in its
/// first timer handler after [`LOOP_FROM_MS`] (a recursive helper without its base case). The
/// thread's stack overflows and the process aborts: no `catch_unwind` can stop it, only a
/// process around the run. Which seeds: a coin server 0 draws at boot from its own stream.
pub type OverflowsStack<R> = Broken<R, SometimesBug<OVERFLOW>>;

/// **Misbehaving, on about half the seeds**: `R`, whose server 0 calls
/// `std::process::exit(0)` in its first timer handler after [`LOOP_FROM_MS`] (an `os.Exit(0)`
/// left in). A careless harness reports a pass.
pub type ExitsZero<R> = Broken<R, SometimesBug<EXIT_ZERO>>;

/// **Misbehaving, on about half the seeds**: as [`ExitsZero`], with status 1 (a Go student's
/// `log.Fatal`).
pub type ExitsOne<R> = Broken<R, SometimesBug<EXIT_ONE>>;

/// **Misbehaving, on about half the seeds**: as [`LoopsForever`], on the seeds of the coin.
pub type SpinsSometimes<R> = Broken<R, SometimesBug<SPIN>>;

/// What [`SometimesBug`] does: overflow its stack.
pub const OVERFLOW: u8 = 0;
/// What [`SometimesBug`] does: `exit(0)`.
pub const EXIT_ZERO: u8 = 1;
/// What [`SometimesBug`] does: `exit(1)`.
pub const EXIT_ONE: u8 = 2;
/// What [`SometimesBug`] does: loop for ever, asking for nothing.
pub const SPIN: u8 = 3;

/// The bug of [`OverflowsStack`], [`ExitsZero`], [`ExitsOne`] and [`SpinsSometimes`].
pub struct SometimesBug<const WHAT: u8> {
    me: usize,
    armed: bool,
}

/// Recursion that never ends (the base case is a depth no stack reaches).
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let frame = std::hint::black_box([depth; 32]);
    frame[0].wrapping_add(recurse(depth + 1))
}

impl<R: RaftNode, const WHAT: u8> Bug<R> for SometimesBug<WHAT> {
    fn new(init: &Init) -> Self {
        SometimesBug {
            me: init.me,
            armed: false,
        }
    }

    fn booted(&mut self, ctx: &mut Context<'_, R::Request>) {
        self.armed = self.me == 0 && ctx.random_range_ms(0, 1) == 0;
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        if self.armed && ctx.now_ms() >= LOOP_FROM_MS {
            match WHAT {
                OVERFLOW => {
                    std::hint::black_box(recurse(0));
                }
                EXIT_ZERO => std::process::exit(0),
                EXIT_ONE => std::process::exit(1),
                _ => loop {
                    std::hint::spin_loop();
                },
            }
        }
        true
    }
}

/// What [`FloodsItsLog`] panics with.
pub const LOG_FLOOD_PANIC: &str = "deliberate: a panic after a flood of log lines";

/// **Misbehaving**: `R`, which logs the same 1 KiB debug line 64 times in every timer handler
/// and panics in its first timer after 3 virtual seconds: the debug log of its failing run
/// is megabytes of repeats, as a livelocked one is.
pub type FloodsItsLog<R> = Broken<R, FloodsItsLogBug>;

/// The bug of [`FloodsItsLog`].
pub struct FloodsItsLogBug;

impl<R: RaftNode> Bug<R> for FloodsItsLogBug {
    fn new(_init: &Init) -> Self {
        FloodsItsLogBug
    }

    fn passes_timer(&mut self, _: &R, ctx: &mut Context<'_, R::Request>, _: TimerId) -> bool {
        let line = "x".repeat(1024);
        for _ in 0..64 {
            log::debug!(target: "flood", "{line}");
        }
        assert!(ctx.now_ms() < 3 * LOOP_FROM_MS, "{LOG_FLOOD_PANIC}");
        true
    }
}
