//! Hosting a [`RaftNode`] on the simulated network: bytes in, typed inputs out, and back.
//!
//! [`RaftHost`] is a [`labrpc::Node`]. It decodes each request with labgob, hands it to the
//! Raft node with a [`Context`] whose [`raft::Host`] is [`IoHost`], and encodes the reply.
//! `IoHost` turns the node's effects into labrpc operations: calls through the node's ends,
//! timers, persister writes, and applied messages into the shared [`Outbox`].

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use labrpc::{CallId, EndId, Node, NodeIo, SimRng};
use raft::{ApplyMsg, Context, Host, Init, RaftNode, RaftView, TimerId};
use rand_core::RngCore;

use crate::safety::Effects;

/// Applied messages from every node, in the order they were emitted: `(server, message)`.
/// The driver drains it after every event, like Go's applier goroutines reading `applyCh`.
pub type Outbox = Rc<RefCell<VecDeque<(usize, ApplyMsg)>>>;

/// One Raft node as the simulator hosts it.
pub struct RaftHost<R: RaftNode> {
    raft: R,
    me: usize,
    /// `peers[j]` is the end this node uses to reach server `j` (Go's `endnames[me][j]`).
    peers: Vec<EndId>,
    /// Calls in flight: the request is handed back with the outcome.
    pending: BTreeMap<CallId, (usize, R::Request)>,
    outbox: Outbox,
    /// What the node did since the safety checker last looked.
    effects: Effects,
}

impl<R: RaftNode> RaftHost<R> {
    /// Boots `R` from what `io`'s persister holds (Go's `Make`).
    pub fn boot(io: &mut NodeIo<'_>, peers: Vec<EndId>, outbox: Outbox) -> RaftHost<R> {
        let me = io.me();
        let init = Init {
            me,
            peer_count: peers.len(),
            raft_state: io.persister().raft_state().to_vec(),
            snapshot: io.persister().snapshot().to_vec(),
        };
        let mut pending = BTreeMap::new();
        let mut effects = Effects::default();
        let raft = {
            let mut host = IoHost {
                io,
                me,
                peers: &peers,
                pending: &mut pending,
                outbox: &outbox,
                effects: &mut effects,
            };
            R::new(&mut Context::new(&mut host), init)
        };
        RaftHost {
            raft,
            me,
            peers,
            pending,
            outbox,
            effects,
        }
    }

    /// What the node did since the last call (replies, calls, persists), for the safety
    /// checker.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// The hosted node, for reading (`state()`, `inspect()`).
    pub fn raft(&self) -> &R {
        &self.raft
    }

    /// Runs `f` on the node with a context, for inputs from the tester (`start`, `snapshot`).
    pub fn input<T>(
        &mut self,
        io: &mut NodeIo<'_>,
        f: impl FnOnce(&mut R, &mut Context<'_, R::Request>) -> T,
    ) -> T {
        let (raft, mut host) = self.split(io);
        f(raft, &mut Context::new(&mut host))
    }

    fn split<'a, 'b>(
        &'a mut self,
        io: &'a mut NodeIo<'b>,
    ) -> (&'a mut R, IoHost<'a, 'b, R::Request>) {
        let host = IoHost {
            io,
            me: self.me,
            peers: &self.peers,
            pending: &mut self.pending,
            outbox: &self.outbox,
            effects: &mut self.effects,
        };
        (&mut self.raft, host)
    }
}

impl<R: RaftNode> Node for RaftHost<R> {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let request: R::Request = match labgob::decode(args) {
            Ok(request) => request,
            Err(error) => {
                log::warn!(
                    "server {}: dropping a request that does not decode: {error}",
                    self.me
                );
                return None;
            }
        };
        let (raft, mut host) = self.split(io);
        let reply = raft.handle_request(&mut Context::new(&mut host), request);
        self.effects.replied = true;
        Some(encode_or_panic(&reply))
    }

    fn on_reply(&mut self, io: &mut NodeIo<'_>, call: CallId, reply: Option<Vec<u8>>) {
        let (peer, request) = self
            .pending
            .remove(&call)
            .expect("an outcome for an unknown call");
        let reply = reply.map(|bytes| {
            labgob::decode::<R::Reply>(&bytes)
                .unwrap_or_else(|error| panic!("decode reply: {error}"))
        });
        let (raft, mut host) = self.split(io);
        raft.handle_reply(&mut Context::new(&mut host), peer, request, reply);
    }

    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: labrpc::TimerId) {
        let (raft, mut host) = self.split(io);
        raft.handle_timer(&mut Context::new(&mut host), TimerId(timer.0));
    }
}

/// Go's `labrpc` panics on an encode error (2021+); so do we, naming the type.
fn encode_or_panic<T: raft::Message>(value: &T) -> Vec<u8> {
    labgob::encode_checked(value).unwrap_or_else(|error| panic!("{error}"))
}

/// The [`raft::Host`] of a node while it handles one input.
pub struct IoHost<'a, 'b, Request> {
    io: &'a mut NodeIo<'b>,
    me: usize,
    peers: &'a [EndId],
    pending: &'a mut BTreeMap<CallId, (usize, Request)>,
    outbox: &'a Outbox,
    effects: &'a mut Effects,
}

impl<Request: raft::Message> Host<Request> for IoHost<'_, '_, Request> {
    fn now_ms(&self) -> u64 {
        self.io.now().as_millis()
    }

    fn now_us(&self) -> u64 {
        self.io.now().as_micros()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.io.rng()
    }

    fn call(&mut self, peer: usize, request: Request) {
        let Some(&end) = self.peers.get(peer) else {
            panic!(
                "server {} called peer {peer}, but peers are 0..{}",
                self.me,
                self.peers.len()
            )
        };
        let call = self.io.call(end, encode_or_panic(&request));
        self.pending.insert(call, (peer, request));
        self.effects.calls += 1;
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        TimerId(self.io.set_timer(delay_ms).0)
    }

    fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        TimerId(self.io.set_timer_us(delay_us).0)
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.io.cancel_timer(labrpc::TimerId(timer.0));
    }

    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        self.effects.persisted = true;
        match snapshot {
            None => self.io.save_raft_state(raft_state),
            Some(snapshot) => self.io.save_state_and_snapshot(raft_state, snapshot),
        }
    }

    fn apply(&mut self, msg: ApplyMsg) {
        match &msg {
            ApplyMsg::Command { index, command } => self.io.record_apply(*index, None, command),
            ApplyMsg::Snapshot { term, index, data } => {
                self.io.record_apply(*index, Some(*term), data)
            }
        }
        self.outbox.borrow_mut().push_back((self.me, msg));
    }
}

/// What a node would be if it rebooted now from `raft_state` and `snapshot`: a *shadow*
/// incarnation, built by `R::new` with effects discarded, randomness from `rng` (the safety
/// checker's own stream) and its log lines muted, then inspected. The persist-before-reply
/// check compares it with the live node.
pub fn shadow_view<R: RaftNode>(init: Init, now_ms: u64, rng: &mut SimRng) -> RaftView {
    let mut host = DiscardHost { now_ms, rng };
    let node = crate::logging::muted(|| R::new(&mut Context::new(&mut host), init));
    node.inspect()
}

/// The [`raft::Host`] of a shadow boot: every effect is dropped.
struct DiscardHost<'a> {
    now_ms: u64,
    rng: &'a mut SimRng,
}

impl<Request> Host<Request> for DiscardHost<'_> {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.rng
    }

    fn call(&mut self, _peer: usize, _request: Request) {}

    fn set_timer(&mut self, _delay_ms: u64) -> TimerId {
        TimerId(u64::MAX)
    }

    fn cancel_timer(&mut self, _timer: TimerId) {}

    fn persist(&mut self, _raft_state: Vec<u8>, _snapshot: Option<Vec<u8>>) {}

    fn apply(&mut self, _msg: ApplyMsg) {}
}
