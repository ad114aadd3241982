//! Test doubles: a [`KvHost`] that records every effect and plays a scripted Raft, and a
//! `block_on` for clerks whose transport answers at once. For unit tests and examples; the
//! tester hosts services beside a real Raft on the simulated network.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use raft::TimerId;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::{KvContext, KvHost, KvInit, KvService, ReplyTo};

/// A seeded random stream for test doubles (a clerk's `rng`, for instance).
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Runs a future that never waits on anything outside it (a clerk over an in-memory
/// transport whose futures are ready). Panics if it stays pending after many polls: in the
/// tester, that future would be waiting for a simulated event.
pub fn block_on<F: Future>(future: F) -> F::Output {
    const POLLS: usize = 1_000;
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("block_on: the future still waits after {POLLS} polls");
}

/// A [`KvHost`] that records every effect, with a scripted Raft: while [`Self::leader`] is
/// set, `start` appends at the next index of [`Self::term`] and records the command; the
/// raft-state size grows by each command's length and drops to 0 on a snapshot (a crude
/// model of a log that a snapshot trims).
pub struct RecordingKvHost<Reply> {
    /// Virtual now, in milliseconds.
    pub now_ms: u64,
    rng: ChaCha8Rng,
    next_timer: u64,
    /// Live timers: when each fires, in virtual milliseconds.
    pub timers: BTreeMap<TimerId, u64>,
    /// Whether the scripted Raft leads (`start` succeeds).
    pub leader: bool,
    /// The scripted Raft's term.
    pub term: u64,
    /// The scripted Raft's last log index.
    pub last_index: u64,
    /// Commands started and not yet taken: `(index, command)`.
    pub started: Vec<(u64, Vec<u8>)>,
    /// Replies sent and not yet taken: `(host id of the ReplyTo, reply)`.
    pub replies: Vec<(u64, Reply)>,
    /// Snapshots asked for, in order: `(index, bytes)`.
    pub snapshots: Vec<(u64, Vec<u8>)>,
    /// The raft-state size reported to the service.
    pub raft_state_size: usize,
}

impl<Reply> RecordingKvHost<Reply> {
    /// A host at time 0, term 1, not leading, with an empty log.
    pub fn new(seed: u64) -> Self {
        RecordingKvHost {
            now_ms: 0,
            rng: seeded_rng(seed),
            next_timer: 0,
            timers: BTreeMap::new(),
            leader: false,
            term: 1,
            last_index: 0,
            started: Vec::new(),
            replies: Vec::new(),
            snapshots: Vec::new(),
            raft_state_size: 0,
        }
    }

    /// A context on this host, to call a service's methods with.
    pub fn context(&mut self) -> KvContext<'_, Reply> {
        KvContext::new(self)
    }

    /// A request token with host id `id`, as the tester would pass it.
    pub fn reply_to(&self, id: u64) -> ReplyTo {
        ReplyTo::from_host(id)
    }

    /// Boots (or reboots) a service as server `me` of `peers`, from the last snapshot asked
    /// for (none at first).
    pub fn boot<S: KvService<Reply = Reply>>(
        &mut self,
        me: usize,
        peers: usize,
        max_raft_state: Option<usize>,
    ) -> S {
        let snapshot = self
            .snapshots
            .last()
            .map(|(_, bytes)| bytes.clone())
            .unwrap_or_default();
        let init = KvInit {
            me,
            peer_count: peers,
            max_raft_state,
            snapshot,
        };
        S::new(&mut self.context(), init)
    }

    /// Takes the replies sent so far.
    pub fn take_replies(&mut self) -> Vec<(u64, Reply)> {
        std::mem::take(&mut self.replies)
    }
}

impl<Reply> KvHost<Reply> for RecordingKvHost<Reply> {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        &mut self.rng
    }

    fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)> {
        if !self.leader {
            return None;
        }
        self.last_index += 1;
        self.raft_state_size += command.len();
        self.started.push((self.last_index, command));
        Some((self.last_index, self.term))
    }

    fn raft_state(&self) -> (u64, bool) {
        (self.term, self.leader)
    }

    fn raft_state_size(&self) -> usize {
        self.raft_state_size
    }

    fn snapshot(&mut self, index: u64, snapshot: Vec<u8>) {
        self.raft_state_size = 0;
        self.snapshots.push((index, snapshot));
    }

    fn reply(&mut self, reply_to: ReplyTo, reply: Reply) {
        self.replies.push((reply_to.host_id(), reply));
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        let timer = TimerId(self.next_timer);
        self.next_timer += 1;
        self.timers
            .insert(timer, self.now_ms.saturating_add(delay_ms));
        timer
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        self.timers.remove(&timer);
    }
}
