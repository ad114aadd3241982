//! **Deliberately broken** variants of the reference key/value service: one classic Lab 3
//! student bug each, for the negative controls of the Lab 3 tests (each must fail the test
//! meant to catch it while [`KvServer`] passes). Never use these as a service.
//!
//! The same shape as the Raft flaws ([`crate::flaws`]): [`FlawedKv<F>`] runs the reference
//! service with the flaw `F` switched on for the duration of each call into it (a
//! thread-local, so parallel runs never see each other's flaws), and [`KvServer`] consults
//! `flaws::is` at the one place each flaw changes. With no flaw on, the code paths are the
//! reference's own. Use `FlawedKv<ExecutesResends>` wherever a [`kvraft::KvService`] type is
//! expected.
//!
//! | flaw | the bug | meant to fail |
//! |---|---|---|
//! | [`ExecutesResends`] | no duplicate detection: a resent Put/Append executes again | the unreliable 3A/3B tests: `duplicate element %v in Append result` (or `get wrong value`) |
//! | [`ReadsLocally`] | a server whose Raft says it leads answers Get from its own state, without logging it | TestOnePartition3A: `Get in minority completed`; the random-key tests: `history is not linearizable` |
//! | [`NeverSnapshots`] | `maxraftstate` ignored: no snapshot is ever asked for | TestSnapshotSize3B and the GenericTest 3B variants: `logs were not trimmed (%v > 8*%v)` |
//! | [`SnapshotsWithoutResends`] | the duplicate table is not in the snapshot: after a restart (or an installed snapshot) a resend of a command the snapshot covers executes a second time | the 3B restart tests (TestSnapshotRecover3B, TestSnapshotRecoverManyClients3B, TestSnapshotUnreliableRecover3B…): `duplicate element %v in Append result` (or `get wrong value`) |
//!
//! Whether each is caught, and on which seeds, is for the Lab 3 driver's control runs to
//! measure; the unit tests (`kv/flaw_tests.rs`) show each flaw biting on a hand-driven script
//! that the plain [`KvServer`] passes.

use std::cell::Cell;
use std::marker::PhantomData;

use kvraft::{KvContext, KvInit, KvService, ReplyTo};
use raft::{ApplyMsg, TimerId};

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
}

/// **Deliberately broken**: the reference key/value service with the flaw `F` (see the module
/// documentation).
pub struct FlawedKv<F> {
    inner: KvServer,
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

    fn new(ctx: &mut KvContext<'_, KvReply>, init: KvInit) -> Self {
        let inner = with(F::FLAW, || KvServer::new(ctx, init));
        FlawedKv {
            inner,
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
        with(F::FLAW, || self.inner.apply(ctx, msg))
    }

    fn handle_timer(&mut self, ctx: &mut KvContext<'_, KvReply>, timer: TimerId) {
        with(F::FLAW, || self.inner.handle_timer(ctx, timer))
    }
}
