//! The canary: a deliberately broken Raft that every hunt must report as failing.
//!
//! [`Canary`] wraps any [`RaftNode`] (the hunt wraps [`raft::Reference`]) and adds two bugs
//! students really write. It sees only the contract, so both are generic:
//!
//! 1. **A deposed leader keeps saying it leads.** `GetState` reads an `is_leader` flag that
//!    the step-down path forgot to clear: once a node has been leader, [`RaftNode::state`]
//!    (and [`RaftNode::inspect`]) report leadership in whatever term it is in now, until it
//!    restarts. The first leader change that does not crash the old leader makes two leaders
//!    in one term (`term N has 2 (>1) leaders`) or a leader where there must be none. Fails
//!    2A (`re_election_2a`, `many_elections_2a`) on every seed, and the 2B–2D tests that
//!    disconnect a leader.
//! 2. **Amnesia.** Every persist is dropped, so a restarted node forgets its term, its vote
//!    and its log (and, in 2D, its snapshot). Fails the 2C persistence tests and the 2D
//!    crash tests: a restarted majority re-commits different commands at old indices.
//!
//! If a hunt over the canary passes, the hunt (or the suites) lost the ability to see a
//! failure: `scripts/ci-hunt` checks that it does not.

use raft::{ApplyMsg, Context, Host, Init, RaftNode, RaftView, TimerId};
use rand_core::RngCore;

/// A [`RaftNode`] with two deliberate bugs: a stale leadership claim and dropped persists.
pub struct Canary<R: RaftNode> {
    inner: R,
    /// Whether this incarnation has ever been leader (the flag the step-down forgets).
    was_leader: bool,
}

impl<R: RaftNode> Canary<R> {
    /// Records leadership after every input: the only moments it can change.
    fn remember(&mut self) {
        self.was_leader |= self.inner.state().1;
    }
}

/// A [`Host`] that forwards every effect to the real context but drops persists.
struct Amnesiac<'a, 'b, Request> {
    ctx: &'a mut Context<'b, Request>,
}

impl<Request> Host<Request> for Amnesiac<'_, '_, Request> {
    fn now_ms(&self) -> u64 {
        self.ctx.now_ms()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.ctx.rng()
    }

    fn call(&mut self, peer: usize, request: Request) {
        self.ctx.call(peer, request);
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.ctx.set_timer(delay_ms)
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.ctx.cancel_timer(timer);
    }

    fn persist(&mut self, _raft_state: Vec<u8>, _snapshot: Option<Vec<u8>>) {
        // The bug: nothing reaches stable storage.
    }

    fn apply(&mut self, msg: ApplyMsg) {
        self.ctx.apply(msg);
    }
}

/// Runs `f` with a context whose persists are dropped.
fn forgetful<Request, T>(
    ctx: &mut Context<'_, Request>,
    f: impl FnOnce(&mut Context<'_, Request>) -> T,
) -> T {
    let mut host = Amnesiac { ctx };
    f(&mut Context::new(&mut host))
}

impl<R: RaftNode> RaftNode for Canary<R> {
    type Request = R::Request;
    type Reply = R::Reply;

    fn new(ctx: &mut Context<'_, Self::Request>, init: Init) -> Self {
        let inner = forgetful(ctx, |ctx| R::new(ctx, init));
        let mut canary = Canary {
            inner,
            was_leader: false,
        };
        canary.remember();
        canary
    }

    fn handle_request(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        request: Self::Request,
    ) -> Self::Reply {
        let reply = forgetful(ctx, |ctx| self.inner.handle_request(ctx, request));
        self.remember();
        reply
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        peer: usize,
        request: Self::Request,
        reply: Option<Self::Reply>,
    ) {
        forgetful(ctx, |ctx| {
            self.inner.handle_reply(ctx, peer, request, reply)
        });
        self.remember();
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Self::Request>, timer: TimerId) {
        forgetful(ctx, |ctx| self.inner.handle_timer(ctx, timer));
        self.remember();
    }

    fn start(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        command: Vec<u8>,
    ) -> Option<(u64, u64)> {
        let placed = forgetful(ctx, |ctx| self.inner.start(ctx, command));
        self.remember();
        placed
    }

    fn state(&self) -> (u64, bool) {
        let (term, is_leader) = self.inner.state();
        (term, is_leader || self.was_leader)
    }

    fn snapshot(&mut self, ctx: &mut Context<'_, Self::Request>, index: u64, snapshot: Vec<u8>) {
        forgetful(ctx, |ctx| self.inner.snapshot(ctx, index, snapshot));
        self.remember();
    }

    fn inspect(&self) -> RaftView {
        let mut view = self.inner.inspect();
        view.is_leader |= self.was_leader;
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host that counts persists and does nothing else.
    #[derive(Default)]
    struct Counting {
        persists: usize,
        rng: Zeros,
    }

    #[derive(Default)]
    struct Zeros;

    impl RngCore for Zeros {
        fn next_u32(&mut self) -> u32 {
            0
        }
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.fill(0);
        }
    }

    impl Host<u64> for Counting {
        fn now_ms(&self) -> u64 {
            0
        }
        fn rng(&mut self) -> &mut dyn RngCore {
            &mut self.rng
        }
        fn call(&mut self, _peer: usize, _request: u64) {}
        fn set_timer(&mut self, _delay_ms: u64) -> TimerId {
            TimerId(0)
        }
        fn cancel_timer(&mut self, _timer: TimerId) {}
        fn persist(&mut self, _raft_state: Vec<u8>, _snapshot: Option<Vec<u8>>) {
            self.persists += 1;
        }
        fn apply(&mut self, _msg: ApplyMsg) {}
    }

    /// A node that leads in term 1 and is deposed by any input in term 2.
    struct Toy {
        term: u64,
    }

    impl RaftNode for Toy {
        type Request = u64;
        type Reply = u64;
        fn new(ctx: &mut Context<'_, u64>, _init: Init) -> Self {
            ctx.persist(vec![1]); // dropped by the canary
            Toy { term: 1 }
        }
        fn handle_request(&mut self, _ctx: &mut Context<'_, u64>, request: u64) -> u64 {
            self.term = request;
            request
        }
        fn handle_reply(&mut self, _: &mut Context<'_, u64>, _: usize, _: u64, _: Option<u64>) {}
        fn handle_timer(&mut self, _ctx: &mut Context<'_, u64>, _timer: TimerId) {}
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
        let mut host = Counting::default();
        let init = Init {
            me: 0,
            peer_count: 3,
            raft_state: Vec::new(),
            snapshot: Vec::new(),
        };
        let mut node = Canary::<Toy>::new(&mut Context::new(&mut host), init);
        assert_eq!(node.state(), (1, true));
        node.handle_request(&mut Context::new(&mut host), 2);
        assert_eq!(node.inner.state(), (2, false));
        assert_eq!(node.state(), (2, true), "the stale claim");
        assert!(node.inspect().is_leader);
        assert_eq!(host.persists, 0, "persists are dropped");
    }
}
