//! The contract between a key/value service and the tester (Lab 3).
//!
//! A service is a sans-IO state machine like [`RaftNode`](raft::RaftNode), hosted with a Raft
//! in one simulated server: the tester routes RPCs named for the service to it and the rest
//! to Raft, and hands it what Raft applies. It never sees Raft's type: it reaches its Raft
//! through the [`KvContext`], so any service runs on any `RaftNode`.
//!
//! | input (tester → service)             | effects (service → tester, through `ctx`)          |
//! |--------------------------------------|----------------------------------------------------|
//! | [`KvService::new`] (boot/restart)    | [`KvContext::start`] a command in Raft (Go's `Start`) |
//! | [`KvService::handle_request`]        | [`KvContext::reply`] now, or later (deferred)      |
//! | [`KvService::apply`]                 | [`KvContext::snapshot`] (Go's `rf.Snapshot`)       |
//! | [`KvService::handle_timer`]          | [`KvContext::set_timer`] / [`KvContext::cancel_timer`] |
//! |                                      | reads [`KvContext::raft_state`] (Go's `GetState`), [`KvContext::raft_state_size`] |
//!
//! What the tester guarantees:
//! - **One input at a time, to completion**, on every node, service and Raft alike: no
//!   threads, no locks, and none of Go's kvserver/Raft deadlocks (Raft blocked on `applyCh`
//!   while the server holds its lock to call `Start`) can happen.
//! - **Applied messages come between inputs.** After every Raft input (an RPC, a reply, a
//!   timer, a `start`, a `snapshot`), the host hands each message Raft applied to
//!   [`KvService::apply`], in order, before anything else happens on the node. A `start`
//!   called from a handler returns at once; what it commits arrives in later `apply` calls.
//! - **A snapshot asked for during an apply is taken after the batch**: the host calls Raft's
//!   `snapshot(index, bytes)` once the current messages are all applied.
//! - **Replies may be deferred.** [`KvService::handle_request`] gets a [`ReplyTo`]; answer
//!   through [`KvContext::reply`] at once or in any later input (typically the `apply` of the
//!   request's command). The caller waits meanwhile, as on a blocked Go handler. If the
//!   server crashes or is cut off from the caller, the caller's call fails at Go's next
//!   100 ms check; a reply to a call that failed is discarded. Answer each request once.
//! - **A crash drops the service and its Raft together**, with timers and waiting requests.
//!   The next incarnation is built by [`KvService::new`] from [`KvInit::snapshot`], the last
//!   snapshot Raft persisted, before anything else; Raft's later
//!   [`ApplyMsg::Snapshot`](raft::ApplyMsg::Snapshot) messages replace the state wholesale.
//! - Timers are the service's own, apart from Raft's: ids never collide, and a timer fires in
//!   [`KvService::handle_timer`] only.
//!
//! What the service must do (the lab): execute each Put/Append exactly once though clerks
//! resend (detect duplicates by client id and sequence number, and keep that table in the
//! snapshot); answer a Get only after agreement (log it in Raft, or equivalent); answer
//! `ErrWrongLeader`-style errors when leadership is lost (another command at the index
//! `start` returned, or a new term); and, when [`KvInit::max_raft_state`] is set, call
//! [`KvContext::snapshot`] before [`KvContext::raft_state_size`] reaches it.

use std::marker::PhantomData;

use raft::{ApplyMsg, Message, TimerId};
use rand_core::RngCore;

/// A request waiting for its reply: pass it to [`KvContext::reply`], once. Not `Clone`, so a
/// request is answered at most once; dropping it leaves the caller waiting (Go's handler
/// that never returns).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyTo(u64);

impl ReplyTo {
    /// For hosts and test doubles: the host's own id of the waiting request.
    pub fn from_host(id: u64) -> ReplyTo {
        ReplyTo(id)
    }

    /// For hosts and test doubles: the id given to [`ReplyTo::from_host`].
    pub fn host_id(&self) -> u64 {
        self.0
    }
}

/// What a service is built from (Go's `StartKVServer` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvInit {
    /// This server's index, `0..peer_count` (its Raft's `me`).
    pub me: usize,
    /// Number of servers.
    pub peer_count: usize,
    /// Go's `maxraftstate`: snapshot before the persisted raft state (log and Raft's other
    /// state, not the snapshot) reaches this many bytes. `None` is Go's `-1`: never
    /// snapshot (the tester then checks that no snapshot exists).
    pub max_raft_state: Option<usize>,
    /// The snapshot last persisted (empty if none): restore from it before anything else.
    pub snapshot: Vec<u8>,
}

/// The tester's side of a [`KvContext`], generic over the reply type. Implemented by the
/// tester's host and by [`crate::testing::RecordingKvHost`]; a service only uses
/// [`KvContext`].
pub trait KvHost<Reply> {
    /// Virtual milliseconds since the simulation began.
    fn now_ms(&self) -> u64;
    /// This node's seeded random stream.
    fn rng(&mut self) -> &mut dyn RngCore;
    /// Raft's `start(command)`.
    fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)>;
    /// Raft's `state()`.
    fn raft_state(&self) -> (u64, bool);
    /// Bytes of raft state persisted now.
    fn raft_state_size(&self) -> usize;
    /// Raft's `snapshot(index, snapshot)`, after the current batch of applies.
    fn snapshot(&mut self, index: u64, snapshot: Vec<u8>);
    /// Answers a waiting request.
    fn reply(&mut self, reply_to: ReplyTo, reply: Reply);
    /// Sets a service timer.
    fn set_timer(&mut self, delay_ms: u64) -> TimerId;
    /// Cancels a service timer.
    fn cancel_timer(&mut self, timer: TimerId);
}

/// How a service asks for effects while it handles an input.
pub struct KvContext<'a, Reply> {
    host: &'a mut dyn KvHost<Reply>,
    _reply: PhantomData<Reply>,
}

impl<'a, Reply> KvContext<'a, Reply> {
    /// Wraps a host. The tester does this; services receive a ready context.
    pub fn new(host: &'a mut dyn KvHost<Reply>) -> Self {
        KvContext {
            host,
            _reply: PhantomData,
        }
    }

    /// Virtual milliseconds since the simulation began: the only clock a service may read.
    pub fn now_ms(&self) -> u64 {
        self.host.now_ms()
    }

    /// This node's seeded random stream.
    pub fn rng(&mut self) -> &mut dyn RngCore {
        self.host.rng()
    }

    /// Go's `rf.Start(command)`: `Some((index, term))` if this server's Raft leads and
    /// appended the command, `None` otherwise. Returns at once; the command, if committed,
    /// comes back through [`KvService::apply`] in a later input.
    pub fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.host.start(command)
    }

    /// Go's `rf.GetState()`: `(current_term, is_leader)`.
    pub fn raft_state(&self) -> (u64, bool) {
        self.host.raft_state()
    }

    /// Go's `persister.RaftStateSize()`: the bytes of raft state persisted now, to compare
    /// with [`KvInit::max_raft_state`].
    pub fn raft_state_size(&self) -> usize {
        self.host.raft_state_size()
    }

    /// Go's `rf.Snapshot(index, snapshot)`: the service's state includes every command up to
    /// `index`; Raft may trim its log. Raft persists the bytes with its state; a restarted
    /// service gets them in [`KvInit::snapshot`]. Taken after the current batch of applies.
    pub fn snapshot(&mut self, index: u64, snapshot: Vec<u8>) {
        self.host.snapshot(index, snapshot)
    }

    /// Answers a request, now or in any later input.
    pub fn reply(&mut self, reply_to: ReplyTo, reply: Reply) {
        self.host.reply(reply_to, reply)
    }

    /// Sets a timer firing after `delay_ms` in [`KvService::handle_timer`].
    pub fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.host.set_timer(delay_ms)
    }

    /// Cancels a timer; cancelling a fired or unknown one does nothing.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.host.cancel_timer(timer)
    }
}

/// The trait a student implements in Lab 3: one key/value server, as a sans-IO state
/// machine on top of its Raft (which the tester hosts beside it).
///
/// See the module documentation for what the tester guarantees.
///
/// # Example
///
/// Every kind of input and effect, in the simplest shape that works on a reliable network:
/// every operation goes through Raft, the handler's reply waits for the command's apply, and
/// the state is snapshotted when the raft state nears its limit. It lacks duplicate detection
/// and leadership-loss handling, which the lab asks for.
///
/// ```
/// use std::collections::BTreeMap;
/// use kvraft::{Err, KvContext, KvInit, KvService, ReplyTo};
/// use raft::{ApplyMsg, TimerId};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
/// enum Op { Get(String), Put(String, String) }
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Answer { err: Err, value: String }
///
/// struct Naive {
///     data: BTreeMap<String, String>,
///     waiting: BTreeMap<u64, (Op, ReplyTo)>, // by log index
///     max_raft_state: Option<usize>,
/// }
///
/// impl KvService for Naive {
///     type Request = Op;
///     type Reply = Answer;
///
///     fn new(_ctx: &mut KvContext<'_, Answer>, init: KvInit) -> Self {
///         let data = if init.snapshot.is_empty() {
///             BTreeMap::new()
///         } else {
///             labgob::decode(&init.snapshot).expect("my own encoding")
///         };
///         Naive { data, waiting: BTreeMap::new(), max_raft_state: init.max_raft_state }
///     }
///
///     fn handle_request(&mut self, ctx: &mut KvContext<'_, Answer>, op: Op, reply_to: ReplyTo) {
///         let command = labgob::encode(&op).expect("encodes");
///         match ctx.start(command) {
///             Some((index, _term)) => { self.waiting.insert(index, (op, reply_to)); } // later
///             None => ctx.reply(reply_to, Answer { err: Err::ErrWrongLeader, value: String::new() }),
///         }
///     }
///
///     fn apply(&mut self, ctx: &mut KvContext<'_, Answer>, msg: ApplyMsg) {
///         match msg {
///             ApplyMsg::Command { index, command } => {
///                 let op: Op = labgob::decode(&command).expect("my own encoding");
///                 let value = match &op {
///                     Op::Get(key) => self.data.get(key).cloned().unwrap_or_default(),
///                     Op::Put(key, value) => {
///                         self.data.insert(key.clone(), value.clone());
///                         String::new()
///                     }
///                 };
///                 if let Some((_, reply_to)) = self.waiting.remove(&index) {
///                     ctx.reply(reply_to, Answer { err: Err::Ok, value });
///                 }
///                 if self.max_raft_state.is_some_and(|max| ctx.raft_state_size() >= max / 2) {
///                     ctx.snapshot(index, labgob::encode(&self.data).expect("encodes"));
///                 }
///             }
///             ApplyMsg::Snapshot { data, .. } => {
///                 self.data = labgob::decode(&data).expect("my own encoding");
///             }
///         }
///     }
///
///     fn handle_timer(&mut self, _ctx: &mut KvContext<'_, Answer>, _timer: TimerId) {}
/// }
///
/// // Drive it by hand with the recording test double (the tester hosts it beside a Raft).
/// let mut host = kvraft::testing::RecordingKvHost::<Answer>::new(7);
/// host.leader = true;
/// let mut kv: Naive = host.boot(0, 3, Some(1000));
/// let reply_to = host.reply_to(1);
/// kv.handle_request(&mut host.context(), Op::Put("k".into(), "v".into()), reply_to);
/// assert!(host.replies.is_empty()); // waiting for agreement
/// let (index, command) = host.started.pop().expect("started in Raft");
/// kv.apply(&mut host.context(), ApplyMsg::Command { index, command });
/// assert_eq!(host.replies, vec![(1, Answer { err: Err::Ok, value: String::new() })]);
/// ```
pub trait KvService: Sized + 'static {
    /// The service's RPC request type (Go's `GetArgs` and `PutAppendArgs`, usually one enum),
    /// with whatever fields the solution needs (a client id and sequence number).
    type Request: Message;
    /// The service's RPC reply type.
    type Reply: Message;

    /// Boots the service (Go's `StartKVServer`), first start or restart: restore from
    /// `init.snapshot`. Its Raft is already built (from the same persister). Must return
    /// promptly.
    fn new(ctx: &mut KvContext<'_, Self::Reply>, init: KvInit) -> Self;

    /// Handles a clerk's request: answer it through `ctx.reply(reply_to, …)`, now or later.
    fn handle_request(
        &mut self,
        ctx: &mut KvContext<'_, Self::Reply>,
        request: Self::Request,
        reply_to: ReplyTo,
    );

    /// A message Raft applied (Go's `applyCh`): a committed command, or a snapshot to
    /// install. Called in log order, between inputs.
    fn apply(&mut self, ctx: &mut KvContext<'_, Self::Reply>, msg: ApplyMsg);

    /// A timer set with [`KvContext::set_timer`] fired.
    fn handle_timer(&mut self, ctx: &mut KvContext<'_, Self::Reply>, timer: TimerId);
}
