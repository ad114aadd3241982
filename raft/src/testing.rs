//! Test doubles: a [`Host`] that records every effect, for driving a [`RaftNode`] by hand.
//!
//! ```
//! use raft::testing::RecordingHost;
//! use raft::{Context, Init, RaftNode, RaftView, TimerId};
//!
//! /// Stands for election in term 1 when its first timer fires.
//! struct Eager { me: usize, peers: usize, term: u64 }
//!
//! impl RaftNode for Eager {
//!     type Request = u64; // a term
//!     type Reply = bool; // a vote
//!     fn new(ctx: &mut Context<'_, u64>, init: Init) -> Self {
//!         let timeout_ms = ctx.random_range_ms(300, 600);
//!         ctx.set_timer(timeout_ms);
//!         Eager { me: init.me, peers: init.peer_count, term: 0 }
//!     }
//!     fn handle_timer(&mut self, ctx: &mut Context<'_, u64>, _: TimerId) {
//!         self.term += 1;
//!         for peer in (0..self.peers).filter(|&p| p != self.me) {
//!             ctx.call(peer, self.term);
//!         }
//!     }
//! #   fn handle_request(&mut self, _: &mut Context<'_, u64>, _: u64) -> bool { false }
//! #   fn handle_reply(&mut self, _: &mut Context<'_, u64>, _: usize, _: u64, _: Option<bool>) {}
//! #   fn start(&mut self, _: &mut Context<'_, u64>, _: Vec<u8>) -> Option<(u64, u64)> { None }
//!     fn state(&self) -> (u64, bool) { (self.term, false) }
//! #   fn inspect(&self) -> RaftView { RaftView { term: self.term, ..RaftView::default() } }
//! }
//!
//! let mut host = RecordingHost::new(1);
//! let mut node: Eager = host.boot(0, 3);
//! host.fire_timer(&mut node).expect("an election timer");
//! assert_eq!(node.state(), (1, false)); // a candidate in term 1
//! assert_eq!(host.take_calls(), vec![(1, 1), (2, 1)]); // to both peers
//! ```

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::{ApplyMsg, Context, Host, Init, RaftNode, TimerId};

/// One effect, as recorded in [`RecordingHost::trace`] (payloads are kept elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A call to this peer.
    Call(usize),
    /// A timer was set, firing after this many milliseconds.
    SetTimer(TimerId, u64),
    /// A timer was cancelled.
    CancelTimer(TimerId),
    /// State was saved; `true` if a snapshot was saved with it.
    Persist(bool),
    /// A message was handed to the service: a command's index, or a snapshot's.
    Apply(u64),
}

/// A [`Host`] that records every effect and plays stable storage and a clock that moves only
/// when told. Its random stream is a ChaCha8 seeded by the test.
pub struct RecordingHost<Req> {
    /// Virtual now, in milliseconds.
    pub now_ms: u64,
    rng: ChaCha8Rng,
    next_timer: u64,
    /// Live timers: when each fires, in virtual milliseconds.
    pub timers: BTreeMap<TimerId, u64>,
    /// Calls sent and not yet taken: `(peer, request)`.
    pub calls: Vec<(usize, Req)>,
    /// Messages applied and not yet taken.
    pub applied: Vec<ApplyMsg>,
    /// Saved raft state (stable storage: survives [`RecordingHost::crash`]).
    pub raft_state: Vec<u8>,
    /// Saved snapshot (stable storage).
    pub snapshot: Vec<u8>,
    /// Every effect, in order.
    pub trace: Vec<Effect>,
}

impl<Req> RecordingHost<Req> {
    /// A host at time 0 with empty storage, its random stream seeded with `seed`.
    pub fn new(seed: u64) -> RecordingHost<Req> {
        RecordingHost {
            now_ms: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_timer: 0,
            timers: BTreeMap::new(),
            calls: Vec::new(),
            applied: Vec::new(),
            raft_state: Vec::new(),
            snapshot: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// A context over this host, for one input.
    pub fn context(&mut self) -> Context<'_, Req> {
        Context::new(self)
    }

    /// What node `me` of `peer_count` boots from, given what is saved here.
    pub fn init(&self, me: usize, peer_count: usize) -> Init {
        Init {
            me,
            peer_count,
            raft_state: self.raft_state.clone(),
            snapshot: self.snapshot.clone(),
        }
    }

    /// Boots node `me` of `peer_count` from what is saved here (first boot, or after
    /// [`RecordingHost::crash`]).
    pub fn boot<N: RaftNode<Request = Req>>(&mut self, me: usize, peer_count: usize) -> N {
        let init = self.init(me, peer_count);
        N::new(&mut self.context(), init)
    }

    /// Fires the first live timer at `node` (see [`RecordingHost::pop_timer`]), if any.
    pub fn fire_timer<N: RaftNode<Request = Req>>(&mut self, node: &mut N) -> Option<TimerId> {
        let timer = self.pop_timer()?;
        node.handle_timer(&mut self.context(), timer);
        Some(timer)
    }

    /// A crash: timers, unsent calls, unread applies and the trace go; storage stays.
    pub fn crash(&mut self) {
        self.timers.clear();
        self.calls.clear();
        self.applied.clear();
        self.trace.clear();
    }

    /// Removes the live timer that fires first (the lowest id among equals), moves the clock
    /// to its time and returns it, for the test to hand to `handle_timer`.
    pub fn pop_timer(&mut self) -> Option<TimerId> {
        let (&timer, &at_ms) = self
            .timers
            .iter()
            .min_by_key(|&(&timer, &at)| (at, timer))?;
        self.timers.remove(&timer);
        self.now_ms = self.now_ms.max(at_ms);
        Some(timer)
    }

    /// When the first live timer fires, if any.
    pub fn next_timer_ms(&self) -> Option<u64> {
        self.timers.values().min().copied()
    }

    /// Takes the calls sent since last taken.
    pub fn take_calls(&mut self) -> Vec<(usize, Req)> {
        std::mem::take(&mut self.calls)
    }

    /// Takes the messages applied since last taken.
    pub fn take_applied(&mut self) -> Vec<ApplyMsg> {
        std::mem::take(&mut self.applied)
    }

    /// Takes the trace of effects since last taken.
    pub fn take_trace(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.trace)
    }
}

impl<Req> Host<Req> for RecordingHost<Req> {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        &mut self.rng
    }

    fn call(&mut self, peer: usize, request: Req) {
        self.trace.push(Effect::Call(peer));
        self.calls.push((peer, request));
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.next_timer += 1;
        let timer = TimerId(self.next_timer);
        self.timers
            .insert(timer, self.now_ms.saturating_add(delay_ms));
        self.trace.push(Effect::SetTimer(timer, delay_ms));
        timer
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.timers.remove(&timer);
        self.trace.push(Effect::CancelTimer(timer));
    }

    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        self.trace.push(Effect::Persist(snapshot.is_some()));
        self.raft_state = raft_state;
        if let Some(snapshot) = snapshot {
            self.snapshot = snapshot;
        }
    }

    fn apply(&mut self, msg: ApplyMsg) {
        let index = match &msg {
            ApplyMsg::Command { index, .. } | ApplyMsg::Snapshot { index, .. } => *index,
        };
        self.trace.push(Effect::Apply(index));
        self.applied.push(msg);
    }
}
