//! The contract between a Raft implementation and the tester.
//!
//! A Raft node is a sans-IO state machine. The tester owns time, the network and storage; the
//! node reacts to one input at a time and asks for effects through a [`Context`]:
//!
//! | input (tester → node)            | effects (node → tester, through `ctx`)          |
//! |----------------------------------|-------------------------------------------------|
//! | [`RaftNode::new`] (boot/restart) | [`Context::call`] an RPC to a peer              |
//! | [`RaftNode::handle_request`]     | [`Context::set_timer`] / [`Context::cancel_timer`] |
//! | [`RaftNode::handle_reply`]       | [`Context::persist`] / [`Context::persist_with_snapshot`] |
//! | [`RaftNode::handle_timer`]       | [`Context::apply`] a committed command or snapshot |
//! | [`RaftNode::start`], [`RaftNode::snapshot`] | (and reads [`Context::now_ms`], [`Context::random_below`]) |
//!
//! What the tester guarantees:
//! - **One input at a time, to completion.** No handler is ever called while another runs, on
//!   any node; there are no threads and no locks to take.
//! - **Effects happen in order, after the call that asked for them.** A persist is durable
//!   before the reply returned by the same `handle_request` leaves the node, and before any
//!   call asked for later in the same handler is sent. A crash never splits a handler.
//! - **Every call gets exactly one outcome**: [`RaftNode::handle_reply`] with the reply, or with
//!   `None` (Go's `Call` returning false: request or reply lost, peer crashed or disconnected).
//!   A failure may take up to 7 virtual seconds to be reported, as in Go's labrpc. Replies may
//!   arrive out of order. Outcomes of calls made by a crashed incarnation are never delivered.
//! - **Applied messages are consumed when the input that emitted them returns**, in order; the
//!   tester may then call [`RaftNode::snapshot`] (2D), never from inside a handler.
//! - **A crash drops the node** with its timers and pending calls; the next incarnation is
//!   built by [`RaftNode::new`] from what was persisted. There is no `kill()`.
//! - **A restart restores the service from the snapshot, not the node.** Before
//!   [`RaftNode::new`] runs, the tester reads the saved snapshot itself and restores its
//!   service from it (Go's `ingestSnap` in `start1`). The node must not apply that snapshot
//!   again: it starts with `lastApplied` (and `commitIndex`) at the snapshot's last index, and
//!   its first apply is the command right after it (the 2D applier fails any other index).
//! - Time is virtual, in milliseconds; randomness is seeded per node and per boot, so a run
//!   replays exactly from its seed.
//! - **A misbehaving node fails its own run, named.** A panic in any method ends the run as a
//!   `panic` (a `todo!()` as `not-implemented`) whose message names the server and the call
//!   (`S2 panicked in handle_reply (a call to S0): ...`); so does a call to a peer outside
//!   `0..peer_count`. A handler that asks for more than 100,000 effects in one input is stopped
//!   as a `hang`. A node's timers are its own: cancelling an id it did not set does nothing.

use std::fmt::Debug;

use rand_core::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::view::RaftView;

/// An RPC message type: serde-encodable, comparable (the tester checks in debug builds that
/// every value survives an encode/decode round trip), printable.
pub trait Message: Serialize + DeserializeOwned + PartialEq + Debug + 'static {}
impl<T: Serialize + DeserializeOwned + PartialEq + Debug + 'static> Message for T {}

/// A timer set through [`Context::set_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// What a node hands to the service (the tester) once it is committed (Go's `ApplyMsg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A committed command (Go's `CommandValid`). Indices start at 1.
    Command {
        /// The log index of the command.
        index: u64,
        /// The command, as given to [`RaftNode::start`].
        command: Vec<u8>,
    },
    /// A snapshot received from the leader, to install in the service (Go's
    /// `SnapshotValid`, 2D). The tester installs it unconditionally (the 2023 semantics: no
    /// `CondInstallSnapshot`).
    Snapshot {
        /// Term of the last entry the snapshot covers.
        term: u64,
        /// Index of the last entry the snapshot covers.
        index: u64,
        /// The service's snapshot bytes.
        data: Vec<u8>,
    },
}

/// What a node is built from (Go's `Make` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    /// This node's index among the peers, `0..peer_count`.
    pub me: usize,
    /// Number of peers, this node included. Peers are addressed by index.
    pub peer_count: usize,
    /// The raft state last persisted (empty on first boot).
    pub raft_state: Vec<u8>,
    /// The snapshot last persisted (empty if none). The tester has already restored its
    /// service from it: keep it (to send in InstallSnapshot, and to persist again with later
    /// state), and start `lastApplied` at the index it covers, which your raft state must
    /// record (the bytes are the service's, opaque to Raft). Do not apply it.
    pub snapshot: Vec<u8>,
}

/// The tester's side of a [`Context`]. Implemented by the tester's host (and by test doubles);
/// a Raft implementation only ever uses [`Context`].
pub trait Host<Request> {
    /// Virtual milliseconds since the simulation began (rounded down).
    fn now_ms(&self) -> u64;
    /// Virtual microseconds since the simulation began. Default: `now_ms() * 1000`, for a
    /// host whose clock counts milliseconds.
    fn now_us(&self) -> u64 {
        self.now_ms().saturating_mul(1000)
    }
    /// This node's seeded random stream.
    fn rng(&mut self) -> &mut dyn RngCore;
    /// Sends `request` to `peer`.
    fn call(&mut self, peer: usize, request: Request);
    /// Sets a timer.
    fn set_timer(&mut self, delay_ms: u64) -> TimerId;
    /// Sets a timer in microseconds. Default: [`Host::set_timer`] of the delay rounded up to
    /// whole milliseconds, for a host whose clock counts milliseconds.
    fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        self.set_timer(delay_us.div_ceil(1000))
    }
    /// Cancels a timer.
    fn cancel_timer(&mut self, timer: TimerId);
    /// Saves raft state, and the snapshot too if given, atomically.
    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>);
    /// Hands a message to the service.
    fn apply(&mut self, msg: ApplyMsg);
}

/// How a node asks for effects while it handles an input.
pub struct Context<'a, Request> {
    host: &'a mut dyn Host<Request>,
}

impl<'a, Request> Context<'a, Request> {
    /// Wraps a host. The tester does this; implementations receive a ready `Context`.
    pub fn new(host: &'a mut dyn Host<Request>) -> Self {
        Context { host }
    }

    /// Virtual milliseconds since the simulation began (rounded down). The only clock a node
    /// may read, with [`Context::now_us`].
    pub fn now_ms(&self) -> u64 {
        self.host.now_ms()
    }

    /// Virtual microseconds since the simulation began. The tester's clock counts
    /// microseconds, because messages take tens of them to arrive; milliseconds are enough for
    /// a Raft's timers, and this is for those who want finer.
    pub fn now_us(&self) -> u64 {
        self.host.now_us()
    }

    /// This node's seeded random stream (use `rand`'s traits on it if you like).
    pub fn rng(&mut self) -> &mut dyn RngCore {
        self.host.rng()
    }

    /// Uniform in `0..n`. Panics if `n == 0`.
    pub fn random_below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "random_below(0)");
        self.host.rng().next_u64() % n
    }

    /// Uniform in `low_ms..=high_ms`: for election timeouts. Any range is fine, up to
    /// `0..=u64::MAX`. Panics if `low_ms > high_ms`.
    pub fn random_range_ms(&mut self, low_ms: u64, high_ms: u64) -> u64 {
        assert!(low_ms <= high_ms, "random_range_ms({low_ms}, {high_ms})");
        match (high_ms - low_ms).checked_add(1) {
            Some(span) => low_ms + self.random_below(span),
            // The whole of u64: every value is in range.
            None => self.host.rng().next_u64(),
        }
    }

    /// Sends `request` to `peer`. Exactly one [`RaftNode::handle_reply`] follows, unless this
    /// node crashes first.
    pub fn call(&mut self, peer: usize, request: Request) {
        self.host.call(peer, request)
    }

    /// Sets a timer firing after `delay_ms` in [`RaftNode::handle_timer`]. Any delay is fine:
    /// one past the end of the test (`u64::MAX`) never fires.
    pub fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.host.set_timer(delay_ms)
    }

    /// Sets a timer firing after `delay_us` microseconds in [`RaftNode::handle_timer`].
    pub fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        self.host.set_timer_us(delay_us)
    }

    /// Cancels a timer: it will not fire. Cancelling a fired timer, or one this node did not
    /// set, does nothing.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.host.cancel_timer(timer)
    }

    /// Saves the raft state, keeping any saved snapshot (Go's `SaveRaftState`).
    pub fn persist(&mut self, raft_state: Vec<u8>) {
        self.host.persist(raft_state, None)
    }

    /// Saves raft state and snapshot atomically (Go's `SaveStateAndSnapshot`).
    pub fn persist_with_snapshot(&mut self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        self.host.persist(raft_state, Some(snapshot))
    }

    /// Hands a committed command or an installed snapshot to the service.
    pub fn apply(&mut self, msg: ApplyMsg) {
        self.host.apply(msg)
    }
}

/// The trait a student implements: one Raft peer, as a sans-IO state machine.
///
/// See the module documentation for what the tester guarantees. Terms and indices are `u64`;
/// log indices start at 1.
///
/// # Example
///
/// Not Raft, but every kind of input and effect: a node that leads alone, persists its log,
/// applies at once, and pings its peers on a timer.
///
/// ```
/// use raft::{ApplyMsg, Context, Init, LogTerms, RaftNode, RaftView, TimerId};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Ping { term: u64 }
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Pong { term: u64 }
///
/// struct Solo { me: usize, peers: usize, term: u64, log: Vec<Vec<u8>> }
///
/// impl RaftNode for Solo {
///     type Request = Ping;
///     type Reply = Pong;
///
///     fn new(ctx: &mut Context<'_, Ping>, init: Init) -> Self {
///         // Restore what was persisted (empty on first boot).
///         let log: Vec<Vec<u8>> = if init.raft_state.is_empty() {
///             Vec::new()
///         } else {
///             labgob::decode(&init.raft_state).expect("my own encoding")
///         };
///         let timeout_ms = ctx.random_range_ms(300, 600); // seeded: replays exactly
///         ctx.set_timer(timeout_ms);
///         Solo { me: init.me, peers: init.peer_count, term: 1, log }
///     }
///
///     fn handle_request(&mut self, _ctx: &mut Context<'_, Ping>, ping: Ping) -> Pong {
///         self.term = self.term.max(ping.term);
///         Pong { term: self.term }
///     }
///
///     fn handle_reply(&mut self, _: &mut Context<'_, Ping>, _peer: usize, _: Ping, pong: Option<Pong>) {
///         // `None`: the call failed (lost, or the peer is down or disconnected).
///         if let Some(pong) = pong {
///             self.term = self.term.max(pong.term);
///         }
///     }
///
///     fn handle_timer(&mut self, ctx: &mut Context<'_, Ping>, _timer: TimerId) {
///         for peer in (0..self.peers).filter(|&peer| peer != self.me) {
///             ctx.call(peer, Ping { term: self.term });
///         }
///         ctx.set_timer(100);
///     }
///
///     fn start(&mut self, ctx: &mut Context<'_, Ping>, command: Vec<u8>) -> Option<(u64, u64)> {
///         self.log.push(command.clone());
///         ctx.persist(labgob::encode(&self.log).expect("bytes encode")); // durable first
///         let index = self.log.len() as u64;
///         ctx.apply(ApplyMsg::Command { index, command }); // then applied
///         Some((index, self.term))
///     }
///
///     fn state(&self) -> (u64, bool) {
///         (self.term, true)
///     }
///
///     fn inspect(&self) -> RaftView {
///         RaftView {
///             term: self.term,
///             is_leader: true,
///             commit_index: self.log.len() as u64,
///             log_terms: LogTerms::repeat(self.term, self.log.len() as u64),
///             ..RaftView::default()
///         }
///     }
/// }
///
/// // Drive it by hand with the recording test double (the tester does this on a network).
/// let mut host = raft::testing::RecordingHost::<Ping>::new(7);
/// let mut node: Solo = host.boot(0, 1);
/// assert_eq!(node.start(&mut host.context(), b"x".to_vec()), Some((1, 1)));
/// assert_eq!(host.take_applied(), vec![ApplyMsg::Command { index: 1, command: b"x".to_vec() }]);
/// ```
pub trait RaftNode: Sized + 'static {
    /// The implementation's own RPC request type, usually an enum over RequestVote,
    /// AppendEntries and InstallSnapshot arguments.
    type Request: Message;
    /// The implementation's own RPC reply type.
    type Reply: Message;

    /// Boots a node (Go's `Make`): first start, or restart from persisted state. Must return
    /// promptly; set the first timer here.
    ///
    /// On a restart, `init.raft_state` and `init.snapshot` are what the last incarnation
    /// persisted. The tester has already restored its service from the snapshot, so a
    /// restarted node starts with `lastApplied` and `commitIndex` at the snapshot's last index
    /// (0 without one) and applies nothing until it learns of newer commits; what it applies
    /// next must be the command at `lastApplied + 1`. Lines logged here carry this node (`S2`)
    /// in the debug log.
    ///
    /// The safety checks also call it to boot a *shadow* of a live node from what that node
    /// persisted, inspect it and drop it (its effects are discarded, its log lines muted):
    /// that is how "persist before reply" is checked on any encoding. So `new` must act only
    /// through `ctx` and `init`, never on global state.
    fn new(ctx: &mut Context<'_, Self::Request>, init: Init) -> Self;

    /// Handles an RPC request from a peer and returns the reply.
    fn handle_request(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        request: Self::Request,
    ) -> Self::Reply;

    /// The outcome of a call this node made to `peer`: the request it sent, and the reply or
    /// `None` if the call failed.
    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        peer: usize,
        request: Self::Request,
        reply: Option<Self::Reply>,
    );

    /// A timer set with [`Context::set_timer`] fired.
    fn handle_timer(&mut self, ctx: &mut Context<'_, Self::Request>, timer: TimerId);

    /// Go's `Start`: if leader, append `command` and return `Some((index, term))` where it
    /// will appear if ever committed; otherwise `None`. Must not wait for agreement.
    fn start(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        command: Vec<u8>,
    ) -> Option<(u64, u64)>;

    /// Go's `GetState`: `(current_term, is_leader)`.
    fn state(&self) -> (u64, bool);

    /// Go's `Snapshot` (2D): the service has a snapshot of every command up to and including
    /// `index`; trim the log. Called on every peer. The default ignores it (fine until 2D).
    fn snapshot(&mut self, ctx: &mut Context<'_, Self::Request>, index: u64, snapshot: Vec<u8>) {
        let _ = (ctx, index, snapshot);
    }

    /// Read-only inspection of term, vote, leadership, commit index and log terms, for the
    /// safety checks, which call it after **every** input this node handles. [`RaftView`]
    /// says exactly what each field must report and which check reads it. Keep it cheap:
    /// build [`RaftView::log_terms`] from runs of equal terms (see [`LogTerms`]) if your log
    /// is long.
    ///
    /// [`LogTerms`]: crate::LogTerms
    fn inspect(&self) -> RaftView;
}

#[cfg(test)]
mod tests {
    use crate::testing::RecordingHost;

    #[test]
    fn random_ranges_cover_the_whole_of_u64_and_a_single_value() {
        let mut host = RecordingHost::<u8>::new(3);
        let mut ctx = host.context();
        // Draws, not overflow panics: a node may ask for the widest range there is.
        let wide: Vec<u64> = (0..4).map(|_| ctx.random_range_ms(0, u64::MAX)).collect();
        assert!(wide.windows(2).any(|pair| pair[0] != pair[1]), "{wide:?}");
        assert!(ctx.random_range_ms(1, u64::MAX) >= 1);
        assert_eq!(ctx.random_range_ms(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(ctx.random_range_ms(300, 300), 300);
        let timeout_ms = ctx.random_range_ms(300, 600);
        assert!((300..=600).contains(&timeout_ms), "{timeout_ms}");
    }

    #[test]
    fn a_timer_set_for_ever_is_due_at_the_end_of_time() {
        let mut host = RecordingHost::<u8>::new(3);
        host.now_ms = 5;
        let timer = host.context().set_timer(u64::MAX);
        assert_eq!(host.timers.get(&timer), Some(&u64::MAX));
    }
}
