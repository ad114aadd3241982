//! Deferred replies: a handler that answers later (Go's handler goroutine blocking until its
//! operation commits, Lab 3; spec §5.3), and Go's dead detection while it waits.
//!
//! A node calls [`NodeIo::defer_reply`] while it handles a request and answers later with
//! [`NodeIo::reply`]. The answer takes the path a synchronous reply takes: the dead check
//! (end disabled, or the incarnation that took the request no longer registered), then the
//! unreliable network's reply drop, decided by the `reliable` flag as it was when the request
//! was sent, then a hop of latency.
//!
//! **Dead detection while waiting.** Go's labrpc checks, every 100 ms from the handler's start,
//! whether the request is "dead" at that instant, and fails the call if so; a disconnect that
//! heals between two checks goes unnoticed. Here a change that can make a request dead (an
//! end disabled, a server deleted or replaced) schedules one check of each waiting request at
//! its next 100 ms boundary (`start + 100·k ms`, k ≥ 1, not before the change). A request dead
//! at a boundary was made dead by the last change before it, whose check is at that boundary
//! or at an earlier one where it was dead too: the same calls fail, at the same instants, as
//! with a poll every 100 ms, without an event per request per 100 ms.
//!
//! A crashed incarnation's waiting requests can never be answered (its node is gone); their
//! callers get a failure at the next boundary, through the dead check.

use std::collections::BTreeMap;

use super::{CallId, Caller, Core, EndId, Event};
use crate::network::{Network, ReplyPlan};
use crate::observe::FailReason;
use crate::{MICROS_PER_MS, SimTime};

/// Go's poll interval for a blocked handler: `time.After(100 * time.Millisecond)`.
pub const DEAD_CHECK_INTERVAL_MS: u64 = 100;

/// A request whose handler has run (or runs now) and whose reply is not sent yet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waiting {
    pub(crate) call: CallId,
    pub(crate) caller: Caller,
    pub(crate) end: EndId,
    pub(crate) server: usize,
    pub(crate) incarnation: u64,
    /// The network's flags when the request was sent (Go reads them at request start).
    pub(crate) reliable: bool,
    pub(crate) long_reordering: bool,
    /// When the handler started: dead checks fall at `started + 100·k ms`.
    pub(crate) started: SimTime,
    /// The latest dead check scheduled for it, so one boundary gets one check.
    pub(crate) check_at: Option<SimTime>,
}

/// The requests being handled now (at most one) and those deferred.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    /// The request whose handler runs now, until it returns or defers.
    pub(crate) current: Option<Waiting>,
    /// Deferred requests, by call.
    pub(crate) waiting: BTreeMap<CallId, Waiting>,
}

impl Core {
    /// Whether `request` is dead as Go's labrpc defines it: its end disabled, or its server no
    /// longer the incarnation that took it.
    fn is_dead(&self, request: &Waiting) -> bool {
        !self.net.end(request.end).enabled || !self.is_live(request.server, request.incarnation)
    }

    /// Sends a handled request's outcome back: the dead check, then the reply drop (with the
    /// flags of request time), then a hop of latency, after `disk_us` of the answering
    /// handler's persists (`Sim::set_disk_latency`). `reply` is `None` if the node could not
    /// handle the request.
    pub(crate) fn finish_request(
        &mut self,
        request: &Waiting,
        reply: Option<Vec<u8>>,
        disk_us: u64,
    ) {
        let back = self
            .now
            .plus_micros(disk_us)
            .plus_micros(self.latency.draw_us(&mut self.latency_rng));
        let (at, outcome) = match reply {
            None => (back, Err(FailReason::Rejected)),
            Some(_) if self.is_dead(request) => (back, Err(FailReason::ServerDead)),
            Some(bytes) => {
                match Network::plan_reply(
                    request.reliable,
                    request.long_reordering,
                    &mut self.net_rng,
                ) {
                    ReplyPlan::Drop => (back, Err(FailReason::ReplyDropped)),
                    ReplyPlan::Deliver { delay_ms } => (back.plus_millis(delay_ms), Ok(bytes)),
                }
            }
        };
        let (call, caller) = (request.call, request.caller);
        self.push(
            at,
            Event::Outcome {
                call,
                caller,
                reply: outcome,
            },
        );
    }

    /// Moves the request being handled to the waiting set. Panics outside a request handler
    /// or if called twice for one request: a host bug.
    pub(crate) fn defer_current(&mut self) -> CallId {
        let request = self
            .deferred
            .current
            .take()
            .expect("defer_reply is only for the request being handled, once");
        self.deferred.waiting.insert(request.call, request);
        request.call
    }

    /// Answers a deferred request; `false` if it no longer waits (it failed a dead check, or
    /// was answered) or belongs to another node or incarnation.
    pub(crate) fn reply_deferred(
        &mut self,
        server: usize,
        incarnation: u64,
        call: CallId,
        reply: Vec<u8>,
    ) -> bool {
        match self.deferred.waiting.get(&call) {
            Some(request) if (request.server, request.incarnation) == (server, incarnation) => {
                let request = self.deferred.waiting.remove(&call).expect("just found");
                // Answered from a handler: its persists so far hold the reply back.
                let disk_us = self.handler_disk_us;
                self.finish_request(&request, Some(reply), disk_us);
                true
            }
            _ => false,
        }
    }

    /// After a change that may have made requests dead: one check of each waiting request at
    /// its next 100 ms boundary.
    pub(crate) fn schedule_dead_checks(&mut self) {
        let interval_us = DEAD_CHECK_INTERVAL_MS * MICROS_PER_MS;
        let now = self.now;
        let mut checks = Vec::new();
        for request in self.deferred.waiting.values_mut() {
            let waited_us = now.micros_since(request.started);
            let k = waited_us.div_ceil(interval_us).max(1);
            let at = request.started.plus_micros(k * interval_us);
            if request.check_at != Some(at) {
                request.check_at = Some(at);
                checks.push((at, request.call));
            }
        }
        for (at, call) in checks {
            self.push(at, Event::DeadCheck { call });
        }
    }

    /// A dead check came due: fail the call if its request still waits and is dead.
    pub(crate) fn dead_check(&mut self, call: CallId) {
        let Some(request) = self.deferred.waiting.get(&call).copied() else {
            return;
        };
        if self.is_dead(&request) {
            self.deferred.waiting.remove(&call);
            let (call, caller) = (request.call, request.caller);
            self.push(
                self.now,
                Event::Outcome {
                    call,
                    caller,
                    reply: Err(FailReason::ServerDead),
                },
            );
        }
    }
}
