//! Deliberately broken implementations for negative controls and canaries: wrappers around a
//! correct Raft that break one rule a 2B check exists for, so that a test can show the check
//! still catches it (`tests/tests/controls.rs`).
//!
//! - [`SendTwice`]: every RPC the inner node makes goes out twice. TestRPCBytes2B must fail it
//!   (`too many RPC bytes`).
//! - [`Chatty`]: while the inner node leads, every 20 ms it re-sends each peer the last request
//!   the inner node sent that peer, like a leader heartbeating 50 times a second. TestCount2B
//!   must fail it (`too many RPCs`).
//!
//! Both keep the inner node's view of the contract intact: the inner node sees exactly one
//! outcome per call it made; the outcomes of the extra calls are swallowed. So the inner node
//! behaves as it would alone, and only the traffic on the wire is broken.
//!
//! Never use these as a Raft.

use raft::{ApplyMsg, Context, Host, Init, Message, RaftNode, RaftView, TimerId};
use rand_core::RngCore;

/// **Deliberately broken**: `R` with every RPC sent twice (fails `rpc_bytes_2b`).
pub type SendTwice<R> = Noisy<R, 2, 0>;

/// **Deliberately broken**: `R` with a 50-per-second heartbeat added while it leads (fails
/// `count_2b`).
pub type Chatty<R> = Noisy<R, 1, 20>;

/// **Deliberately broken**: `R`, with each call it makes sent `COPIES` times, and, if
/// `RESEND_MS` is not 0, while `R` reports itself leader, the last request it sent each peer
/// sent again every `RESEND_MS` milliseconds on a timer of the wrapper's own.
pub struct Noisy<R: RaftNode, const COPIES: usize, const RESEND_MS: u64> {
    inner: R,
    calls: Calls<R::Request>,
    /// The wrapper's own resend timer, told apart from the inner node's timers by its id.
    tick: Option<TimerId>,
}

/// The calls a wrapper makes beyond its inner node's.
struct Calls<Req> {
    /// How many times each of the inner node's calls is sent.
    copies: usize,
    /// Whether to remember the last request sent to each peer (for resending).
    remember: bool,
    /// `(peer, request)` of every extra call in flight: its outcome is not the inner node's.
    extra: Vec<(usize, Req)>,
    /// The last request the inner node sent each peer.
    last: Vec<Option<Req>>,
}

impl<Req: Message> Calls<Req> {
    /// Sends `request` to `peer` as an extra call, whose outcome will be swallowed.
    fn send_extra(&mut self, ctx: &mut Context<'_, Req>, peer: usize, request: &Req) {
        self.extra.push((peer, copy_of(request)));
        ctx.call(peer, copy_of(request));
    }

    /// Whether an outcome for `(peer, request)` is an extra call's; if so, forgets that call.
    /// When an inner call and an extra call carry equal requests, whichever outcome comes
    /// first is swallowed: the inner node still sees one outcome for its one call.
    fn take_extra(&mut self, peer: usize, request: &Req) -> bool {
        let found = self
            .extra
            .iter()
            .position(|(p, r)| *p == peer && r == request);
        match found {
            Some(at) => {
                self.extra.swap_remove(at);
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

/// The [`Host`] the inner node sees: the real context, with calls multiplied.
struct Forward<'c, 'a, Req> {
    ctx: &'c mut Context<'a, Req>,
    calls: &'c mut Calls<Req>,
}

impl<Req: Message> Host<Req> for Forward<'_, '_, Req> {
    fn now_ms(&self) -> u64 {
        self.ctx.now_ms()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.ctx.rng()
    }

    fn call(&mut self, peer: usize, request: Req) {
        for _ in 1..self.calls.copies {
            self.calls.send_extra(self.ctx, peer, &request);
        }
        if self.calls.remember {
            self.calls.last[peer] = Some(copy_of(&request));
        }
        self.ctx.call(peer, request);
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.ctx.set_timer(delay_ms)
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.ctx.cancel_timer(timer);
    }

    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        match snapshot {
            None => self.ctx.persist(raft_state),
            Some(snapshot) => self.ctx.persist_with_snapshot(raft_state, snapshot),
        }
    }

    fn apply(&mut self, msg: ApplyMsg) {
        self.ctx.apply(msg);
    }
}

impl<R: RaftNode, const COPIES: usize, const RESEND_MS: u64> Noisy<R, COPIES, RESEND_MS> {
    /// Runs `f` on the inner node, with the wrapper's host.
    fn with_inner<T>(
        &mut self,
        ctx: &mut Context<'_, R::Request>,
        f: impl FnOnce(&mut R, &mut Context<'_, R::Request>) -> T,
    ) -> T {
        let mut host = Forward {
            ctx,
            calls: &mut self.calls,
        };
        f(&mut self.inner, &mut Context::new(&mut host))
    }

    /// The resend timer fired: while the inner node leads, re-send each peer its last request.
    fn resend(&mut self, ctx: &mut Context<'_, R::Request>) {
        if self.inner.state().1 {
            for peer in 0..self.calls.last.len() {
                if let Some(request) = self.calls.last[peer].take() {
                    self.calls.send_extra(ctx, peer, &request);
                    self.calls.last[peer] = Some(request);
                }
            }
        }
        self.tick = Some(ctx.set_timer(RESEND_MS));
    }
}

impl<R: RaftNode, const COPIES: usize, const RESEND_MS: u64> RaftNode
    for Noisy<R, COPIES, RESEND_MS>
{
    type Request = R::Request;
    type Reply = R::Reply;

    fn new(ctx: &mut Context<'_, Self::Request>, init: Init) -> Self {
        let peer_count = init.peer_count;
        let mut calls = Calls {
            copies: COPIES.max(1),
            remember: RESEND_MS > 0,
            extra: Vec::new(),
            last: (0..peer_count).map(|_| None).collect(),
        };
        let inner = {
            let mut host = Forward {
                ctx,
                calls: &mut calls,
            };
            R::new(&mut Context::new(&mut host), init)
        };
        let tick = (RESEND_MS > 0).then(|| ctx.set_timer(RESEND_MS));
        Noisy { inner, calls, tick }
    }

    fn handle_request(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        request: Self::Request,
    ) -> Self::Reply {
        self.with_inner(ctx, |inner, ctx| inner.handle_request(ctx, request))
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        peer: usize,
        request: Self::Request,
        reply: Option<Self::Reply>,
    ) {
        if self.calls.take_extra(peer, &request) {
            return;
        }
        self.with_inner(ctx, |inner, ctx| {
            inner.handle_reply(ctx, peer, request, reply)
        });
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Self::Request>, timer: TimerId) {
        if self.tick == Some(timer) {
            self.resend(ctx);
            return;
        }
        self.with_inner(ctx, |inner, ctx| inner.handle_timer(ctx, timer));
    }

    fn start(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        command: Vec<u8>,
    ) -> Option<(u64, u64)> {
        self.with_inner(ctx, |inner, ctx| inner.start(ctx, command))
    }

    fn state(&self) -> (u64, bool) {
        self.inner.state()
    }

    fn snapshot(&mut self, ctx: &mut Context<'_, Self::Request>, index: u64, snapshot: Vec<u8>) {
        self.with_inner(ctx, |inner, ctx| inner.snapshot(ctx, index, snapshot));
    }

    fn inspect(&self) -> RaftView {
        self.inner.inspect()
    }
}
