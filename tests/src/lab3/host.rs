//! One Lab 3 server: a key/value service and its Raft in one simulated node (spec §5.2).
//!
//! [`KvRaftHost`] is a [`labrpc::Node`] holding a [`RaftHost`] and a [`KvService`]. A request's
//! first byte says whom it is for: [`RAFT_TAG`] (a Raft peer's RPC, answered at once) or
//! [`KV_TAG`] (a clerk's, whose reply is deferred until the service answers it). After every
//! input, the host **settles** the node: every message Raft applied goes to
//! [`KvService::apply`], in order, then the snapshots the service asked for go to Raft, until
//! nothing is left. So the service never runs re-entrantly, and Raft never sees a `snapshot`
//! in the middle of handing out applies.

use std::collections::{BTreeSet, VecDeque};

use kvraft::{KvContext, KvHost, KvInit, KvService, ReplyTo};
use labrpc::{CallId, EndId, Node, NodeIo};
use raft::{RaftNode, TimerId};
use rand_core::RngCore;

use crate::guard::{NodeCall, node_call};
use crate::host::{Outbox, RaftHost, encode_or_panic};

/// The first byte of a request between Raft peers.
pub const RAFT_TAG: u8 = 0;
/// The first byte of a clerk's request to the key/value service.
pub const KV_TAG: u8 = 1;

/// A key/value server and its Raft, as the simulator hosts them.
pub struct KvRaftHost<R: RaftNode, K: KvService> {
    me: usize,
    raft: RaftHost<R>,
    kv: K,
    /// What this node's Raft applied and the service has not seen yet.
    outbox: Outbox,
    /// The service's own timers (Raft's are its host's).
    kv_timers: BTreeSet<TimerId>,
    /// Snapshots the service asked for, for Raft after the current batch of applies.
    snapshots: VecDeque<(u64, Vec<u8>)>,
}

impl<R: RaftNode, K: KvService> KvRaftHost<R, K> {
    /// Boots Raft from `io`'s persister, then the service from the same persister's snapshot
    /// (Go's `StartKVServer`), and settles whatever either did.
    pub fn boot(
        io: &mut NodeIo<'_>,
        peers: Vec<EndId>,
        max_raft_state: Option<usize>,
    ) -> KvRaftHost<R, K> {
        let me = io.me();
        let peer_count = peers.len();
        let outbox = Outbox::default();
        let mut raft = RaftHost::boot_tagged(io, peers, outbox.clone(), Some(RAFT_TAG));
        let init = KvInit {
            me,
            peer_count,
            max_raft_state,
            snapshot: io.persister().snapshot().to_vec(),
        };
        let mut kv_timers = BTreeSet::new();
        let mut snapshots = VecDeque::new();
        let kv = {
            let mut host = KvIo {
                io,
                raft: &mut raft,
                timers: &mut kv_timers,
                snapshots: &mut snapshots,
                me,
            };
            node_call(me, NodeCall::Tester("KvService::new"), || {
                K::new(&mut KvContext::new(&mut host), init)
            })
        };
        let mut node = KvRaftHost {
            me,
            raft,
            kv,
            outbox,
            kv_timers,
            snapshots,
        };
        node.settle(io);
        node
    }

    /// Raft's `state()` (Go's `GetState`, as `Leader()` asks it).
    pub fn raft_state(&self) -> (u64, bool) {
        self.raft.state()
    }

    /// The key/value service, for reading.
    pub fn service(&self) -> &K {
        &self.kv
    }

    /// Runs `f` on the service with a context; `what` names the call if it panics.
    fn with_service(
        &mut self,
        io: &mut NodeIo<'_>,
        what: &'static str,
        f: impl FnOnce(&mut K, &mut KvContext<'_, K::Reply>),
    ) {
        let me = self.me;
        let mut host = KvIo {
            io,
            raft: &mut self.raft,
            timers: &mut self.kv_timers,
            snapshots: &mut self.snapshots,
            me,
        };
        let kv = &mut self.kv;
        node_call(me, NodeCall::Tester(what), || {
            f(kv, &mut KvContext::new(&mut host))
        });
    }

    /// Hands the service what Raft applied, then Raft the snapshots asked for, until neither
    /// has anything left.
    fn settle(&mut self, io: &mut NodeIo<'_>) {
        loop {
            let next = self.outbox.borrow_mut().pop_front();
            if let Some((_, msg)) = next {
                self.with_service(io, "KvService::apply", |kv, ctx| kv.apply(ctx, msg));
                continue;
            }
            let Some((index, snapshot)) = self.snapshots.pop_front() else {
                return;
            };
            self.raft.input(io, "snapshot", |raft, ctx| {
                raft.snapshot(ctx, index, snapshot)
            });
        }
    }

    /// A clerk's request: deferred, handed to the service with its [`ReplyTo`].
    fn handle_kv_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) {
        let call = io.defer_reply();
        let request = labgob::decode::<K::Request>(args).unwrap_or_else(|error| {
            panic!(
                "a clerk's request does not decode as the service's request type (the clerk's \
                 and the service's types must be the same): {error}"
            )
        });
        let reply_to = ReplyTo::from_host(call.0);
        self.with_service(io, "KvService::handle_request", |kv, ctx| {
            kv.handle_request(ctx, request, reply_to)
        });
    }
}

impl<R: RaftNode, K: KvService> Node for KvRaftHost<R, K> {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let reply = match args.split_first() {
            Some((&RAFT_TAG, rest)) => self.raft.on_request(io, rest),
            Some((&KV_TAG, rest)) => {
                self.handle_kv_request(io, rest);
                None
            }
            _ => panic!("a request with no known tag reached S{}", self.me),
        };
        self.settle(io);
        reply
    }

    fn on_reply(&mut self, io: &mut NodeIo<'_>, call: CallId, reply: Option<Vec<u8>>) {
        // Only Raft makes calls.
        self.raft.on_reply(io, call, reply);
        self.settle(io);
    }

    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: labrpc::TimerId) {
        let kv_timer = TimerId(timer.0);
        if self.kv_timers.remove(&kv_timer) {
            self.with_service(io, "KvService::handle_timer", |kv, ctx| {
                kv.handle_timer(ctx, kv_timer)
            });
        } else {
            self.raft.on_timer(io, timer);
        }
        self.settle(io);
    }
}

/// The [`KvHost`] of a service while it handles one input.
struct KvIo<'a, 'b, R: RaftNode> {
    io: &'a mut NodeIo<'b>,
    raft: &'a mut RaftHost<R>,
    timers: &'a mut BTreeSet<TimerId>,
    snapshots: &'a mut VecDeque<(u64, Vec<u8>)>,
    me: usize,
}

impl<R: RaftNode, Reply: raft::Message> KvHost<Reply> for KvIo<'_, '_, R> {
    fn now_ms(&self) -> u64 {
        self.io.now().as_millis()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.io.rng()
    }

    fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.raft
            .input(self.io, "start", |raft, ctx| raft.start(ctx, command))
    }

    fn raft_state(&self) -> (u64, bool) {
        self.raft.state()
    }

    fn raft_state_size(&self) -> usize {
        self.io.raft_state_size()
    }

    fn snapshot(&mut self, index: u64, snapshot: Vec<u8>) {
        self.snapshots.push_back((index, snapshot));
    }

    fn reply(&mut self, reply_to: ReplyTo, reply: Reply) {
        let bytes = encode_or_panic(self.me, "a reply", &reply);
        // `false`: the caller gave up (dead at a check); the reply is discarded, as in Go.
        self.io.reply(CallId(reply_to.host_id()), bytes);
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        let timer = TimerId(self.io.set_timer(delay_ms).0);
        self.timers.insert(timer);
        timer
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        if self.timers.remove(&timer) {
            self.io.cancel_timer(labrpc::TimerId(timer.0));
        }
    }
}
