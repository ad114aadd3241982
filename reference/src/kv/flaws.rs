//! **Deliberately broken** variants of the reference key/value service: one classic Lab 3
//! student bug each, for the negative controls of the Lab 3 tests (each must fail the test
//! meant to catch it while [`KvServer`] passes). Never use these as a service.
//!
//! The same shape as the Raft flaws ([`crate::flaws`]): [`FlawedKv<F>`] runs the reference
//! service with the flaw `F` switched on for the duration of each call into it (a
//! thread-local, so parallel runs never see each other's flaws), and [`KvServer`] consults
//! `flaws::is` at the one place each flaw changes. With no flaw on, the code paths are the
//! reference's own. [`SnapshotsHistory`] is the one flaw added from outside: it changes only
//! the snapshot's bytes, which the wrapper sees pass through the context.
//!
//! Use `FlawedKv<ExecutesResends>` (and so on) wherever a [`kvraft::KvService`] type is
//! expected: it speaks [`KvRequest`]/[`KvReply`] like [`KvServer`], so [`super::KvClerk`]
//! drives it.
//!
//! | flaw | the bug | meant to fail |
//! |---|---|---|
//! | [`ExecutesResends`] | no duplicate detection: a resent Put/Append executes again | the unreliable 3A/3B tests: `duplicate element %v in Append result` (or `get wrong value`) |
//! | [`ReadsLocally`] | a server whose Raft says it leads answers Get from its own state, without logging it | TestOnePartition3A: `Get in minority completed`; the random-key tests: `history is not linearizable` |
//! | [`NeverSnapshots`] | `maxraftstate` ignored: no snapshot is ever asked for | TestSnapshotSize3B and the GenericTest 3B variants: `logs were not trimmed (%v > 8*%v)` |
//! | [`SnapshotsWithoutResends`] | the duplicate table is not in the snapshot: after a restart (or an installed snapshot) a resend of a command the snapshot covers executes a second time | the 3B restart tests (TestSnapshotRecover3B, TestSnapshotRecoverManyClients3B, TestSnapshotUnreliableRecover3B…): `duplicate element %v in Append result` (or `get wrong value`) |
//! | [`SnapshotsHistory`] | the snapshot carries every command applied, beside the data and the table | TestSnapshotSize3B: `snapshot too large (%v > %v)` |
//!
//! [`SnapshotsWithoutResends`] bites only in a narrow window: a resend must be applied after
//! its server restored a snapshot that covers the original (a restart or an InstallSnapshot
//! between the two), and a reply is lost after its apply mostly on an unreliable network. Expect
//! it to need more seeds than the others, and the unreliable restart tests to catch it first.
//!
//! Measured on seeds 1–5 (README, "Lab 3"; `tests/kv_controls.rs` pins it): every control is
//! caught by its first test on every seed, `SnapshotsWithoutResends` by
//! TestSnapshotUnreliableRecover3B (5/5) and …ConcurrentPartition3B (4/5) but by no reliable
//! or crash-free 3B test (0/5). The unit tests (`kv/flaw_tests.rs`) show each flaw biting on a hand-driven script
//! that the plain [`KvServer`] passes. Sizes there, on a scripted Raft whose log costs each
//! command's bytes: half of TestSnapshotSize3B's 800 operations, with client id 7 (a real
//! clerk's 62-bit id costs 8 more bytes per command), grow a `SnapshotsHistory` snapshot to
//! 2,109 B, against 13 B for the reference's; 200 appends of 10 bytes leave a `NeverSnapshots`
//! raft state of 3,200 B (16 B a command), 4 times the 800 B (8 × `maxraftstate`) allowed.

use std::cell::Cell;
use std::marker::PhantomData;

use kvraft::{KvContext, KvHost, KvInit, KvService, ReplyTo};
use raft::{ApplyMsg, TimerId};
use rand_core::RngCore;

use super::messages::{KvReply, KvRequest};
use super::server::KvServer;

thread_local! {
    static ACTIVE: Cell<Option<KvFlaw>> = const { Cell::new(None) };
}

/// Whether `flaw` is switched on for the call running on this thread.
pub(super) fn is(flaw: KvFlaw) -> bool {
    ACTIVE.with(Cell::get) == Some(flaw)
}

/// Runs `f` with `flaw` on, and restores what was on before, even if `f` panics.
fn with<T>(flaw: KvFlaw, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<KvFlaw>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|active| active.replace(Some(flaw))));
    f()
}

/// A type that names one [`KvFlaw`].
pub trait KvFlawKind: 'static {
    /// The flaw.
    const FLAW: KvFlaw;
}

macro_rules! kv_flaws {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One deliberate bug of the reference key/value service; each has a type of the same
        /// name for [`FlawedKv`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum KvFlaw {
            $($(#[$doc])* $name,)*
        }

        $(
            $(#[$doc])*
            pub struct $name;
            impl KvFlawKind for $name {
                const FLAW: KvFlaw = KvFlaw::$name;
            }
        )*
    };
}

kv_flaws! {
    /// No duplicate detection: every applied Put/Append executes, so a clerk's resend (its
    /// reply was lost, or it timed out and tried another leader) appends a second time.
    ExecutesResends,
    /// A Get is answered at once from the applied state whenever Raft says this server leads,
    /// without going through the log: a deposed leader cut off in a minority still believes
    /// it leads and answers stale reads, and a new leader answers before applying what its
    /// predecessor committed.
    ReadsLocally,
    /// `maxraftstate` is ignored: the service never asks Raft for a snapshot, so the log grows
    /// without bound.
    NeverSnapshots,
    /// The snapshot holds the data and the applied index but not the duplicate table: a
    /// server restored from it (a restart, or an InstallSnapshot) has forgotten which
    /// operations it executed, and executes a resend of one the snapshot covers again.
    SnapshotsWithoutResends,
    /// The snapshot carries the log of every command applied since the first boot (the
    /// service keeps it as part of its state), so it grows with every operation.
    SnapshotsHistory,
}

/// **Deliberately broken**: the reference key/value service with the flaw `F` (see the module
/// documentation).
pub struct FlawedKv<F> {
    inner: KvServer,
    /// [`SnapshotsHistory`]'s log: every command applied, in order (empty for other flaws).
    history: Vec<Vec<u8>>,
    flaw: PhantomData<fn() -> F>,
}

impl<F> FlawedKv<F> {
    /// The reference service inside, for tests that look at its data.
    pub fn inner(&self) -> &KvServer {
        &self.inner
    }
}

impl<F: KvFlawKind> KvService for FlawedKv<F> {
    type Request = KvRequest;
    type Reply = KvReply;

    fn new(ctx: &mut KvContext<'_, KvReply>, mut init: KvInit) -> Self {
        let mut history = Vec::new();
        if F::FLAW == KvFlaw::SnapshotsHistory && !init.snapshot.is_empty() {
            (history, init.snapshot) = split_history(&init.snapshot);
        }
        let inner = with(F::FLAW, || KvServer::new(ctx, init));
        FlawedKv {
            inner,
            history,
            flaw: PhantomData,
        }
    }

    fn handle_request(
        &mut self,
        ctx: &mut KvContext<'_, KvReply>,
        request: KvRequest,
        reply_to: ReplyTo,
    ) {
        with(F::FLAW, || {
            self.inner.handle_request(ctx, request, reply_to)
        })
    }

    fn apply(&mut self, ctx: &mut KvContext<'_, KvReply>, msg: ApplyMsg) {
        if F::FLAW == KvFlaw::SnapshotsHistory {
            self.apply_keeping_history(ctx, msg);
        } else {
            with(F::FLAW, || self.inner.apply(ctx, msg));
        }
    }

    fn handle_timer(&mut self, ctx: &mut KvContext<'_, KvReply>, timer: TimerId) {
        with(F::FLAW, || self.inner.handle_timer(ctx, timer))
    }
}

impl<F: KvFlawKind> FlawedKv<F> {
    /// [`SnapshotsHistory`]'s apply: the command joins the history, an installed snapshot
    /// brings its own, and each snapshot the service asks for leaves with the history.
    fn apply_keeping_history(&mut self, ctx: &mut KvContext<'_, KvReply>, msg: ApplyMsg) {
        let fresh = |index: u64| index > self.inner.last_applied();
        let msg = match msg {
            ApplyMsg::Command { index, command } => {
                if fresh(index) {
                    self.history.push(command.clone());
                }
                ApplyMsg::Command { index, command }
            }
            ApplyMsg::Snapshot { term, index, data } => {
                let (history, data) = split_history(&data);
                if fresh(index) {
                    self.history = history;
                }
                ApplyMsg::Snapshot { term, index, data }
            }
        };
        let mut tap = SnapshotTap {
            ctx: &mut *ctx,
            taken: Vec::new(),
        };
        with(F::FLAW, || {
            self.inner.apply(&mut KvContext::new(&mut tap), msg)
        });
        for (index, bytes) in tap.taken {
            let with_history =
                labgob::encode(&(&self.history, bytes)).expect("the snapshot encodes");
            ctx.snapshot(index, with_history);
        }
    }
}

/// A [`SnapshotsHistory`] snapshot's history, and the reference's own snapshot bytes.
fn split_history(snapshot: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    labgob::decode(snapshot).expect("our own snapshot")
}

/// A host that passes everything through to a service's context but keeps the snapshots the
/// service asks for, for the wrapper to send on changed.
struct SnapshotTap<'c, 'a> {
    ctx: &'c mut KvContext<'a, KvReply>,
    taken: Vec<(u64, Vec<u8>)>,
}

impl KvHost<KvReply> for SnapshotTap<'_, '_> {
    fn now_ms(&self) -> u64 {
        self.ctx.now_ms()
    }
    fn rng(&mut self) -> &mut dyn RngCore {
        self.ctx.rng()
    }
    fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.ctx.start(command)
    }
    fn raft_state(&self) -> (u64, bool) {
        self.ctx.raft_state()
    }
    fn raft_state_size(&self) -> usize {
        self.ctx.raft_state_size()
    }
    fn snapshot(&mut self, index: u64, snapshot: Vec<u8>) {
        self.taken.push((index, snapshot));
    }
    fn reply(&mut self, reply_to: ReplyTo, reply: KvReply) {
        self.ctx.reply(reply_to, reply)
    }
    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.ctx.set_timer(delay_ms)
    }
    fn cancel_timer(&mut self, timer: TimerId) {
        self.ctx.cancel_timer(timer)
    }
}
