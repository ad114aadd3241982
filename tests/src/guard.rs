//! Guards around every call into a node, so that what a misbehaving node does ends its run as
//! a failure that names the node and the call, never as a harness error.
//!
//! A node's panic (an index out of bounds in a handler, a `todo!()`, an RPC to a peer that
//! does not exist) unwinds out of the simulation to [`crate::run_case`], which turns it into a
//! [`Failure`](crate::Failure). On the way out, [`node_call`] adds which server panicked and in
//! which call: `S2 panicked in handle_reply (a call to S0): index out of bounds: ...`. The
//! class stays that of the panic's own message (`panic`, or `not-implemented` for a
//! `todo!()`). The panic hook has already run at the panic itself, so its location and
//! backtrace are the node's.
//!
//! The payload carried up is a [`NodeFault`]: the class and the whole message. A fault raised
//! inside a node call (a nested guard) passes through outer guards unchanged.
//!
//! A handler that asks for more than [`MAX_EFFECTS_PER_INPUT`] effects in one input (calls,
//! timers, persists, applies) is in a loop that would never end, or end only when memory
//! does: the host stops it with [`flood`], and the run fails as `hang`, naming the node and
//! the call. (A loop that asks for nothing cannot be stopped from inside the simulation: the
//! hunt's wall-clock watchdog reports it.)

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::failure::FailureKind;
use crate::run::panic_message;

/// Which call into a node, for the message of a failure inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeCall {
    /// `RaftNode::new`, booting or restarting the node.
    New,
    /// `RaftNode::handle_request`.
    Request,
    /// `RaftNode::handle_reply`, for a call to this peer.
    Reply(usize),
    /// `RaftNode::handle_timer`.
    Timer,
    /// A call from the tester (`start`, `snapshot`).
    Tester(&'static str),
    /// `RaftNode::state`.
    State,
    /// `RaftNode::inspect`.
    Inspect,
    /// The node's `Drop`, when it crashes or its run ends.
    Drop,
}

impl fmt::Display for NodeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeCall::New => f.write_str("new"),
            NodeCall::Request => f.write_str("handle_request"),
            NodeCall::Reply(peer) => write!(f, "handle_reply (a call to S{peer})"),
            NodeCall::Timer => f.write_str("handle_timer"),
            NodeCall::Tester(what) => f.write_str(what),
            NodeCall::State => f.write_str("state"),
            NodeCall::Inspect => f.write_str("inspect"),
            NodeCall::Drop => f.write_str("drop"),
        }
    }
}

/// A failure raised inside a call into a node: unwinds to [`crate::run_case`], which reports it
/// as this class and message.
#[derive(Debug)]
pub struct NodeFault {
    /// The class.
    pub kind: FailureKind,
    /// The whole message, naming the server and the call.
    pub message: String,
}

/// Effects (calls, timers, persists, applies) a node may ask for while handling one input.
/// The reference asks for a few dozen at most; a node applying a long log at once, a few
/// thousand.
pub const MAX_EFFECTS_PER_INPUT: u64 = 100_000;

/// What [`flood`] unwinds with, until the guard names the node and the call.
struct Flood;

/// Stops a node's handler that asked for more than [`MAX_EFFECTS_PER_INPUT`] effects: the
/// guard around the call turns it into a [`FailureKind::Hang`]. Unwinds without the panic
/// hook: there is no panic of the node's to show.
pub fn flood() -> ! {
    resume_unwind(Box::new(Flood))
}

/// Runs `f`, a call into server `server`'s node. If it panics, the unwinding continues as a
/// [`NodeFault`] naming the server and `call`.
pub fn node_call<T>(server: usize, call: NodeCall, f: impl FnOnce() -> T) -> T {
    let previous = crate::watchdog::enter(server, call);
    let outcome = catch_unwind(AssertUnwindSafe(f));
    crate::watchdog::leave(previous);
    match outcome {
        Ok(value) => value,
        Err(payload) if payload.is::<NodeFault>() => resume_unwind(payload),
        Err(payload) if payload.is::<Flood>() => resume_unwind(Box::new(NodeFault {
            kind: FailureKind::Hang,
            message: format!(
                "S{server} asked for more than {MAX_EFFECTS_PER_INPUT} effects (calls, timers, \
                 persists, applies) in one {call}: a loop that never ends? The run is stopped \
                 before it exhausts memory"
            ),
        })),
        Err(payload) => {
            let message = panic_message(&*payload);
            let fault = NodeFault {
                kind: FailureKind::of_panic(&message),
                message: format!("S{server} panicked in {call}: {message}"),
            };
            resume_unwind(Box::new(fault))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caught(f: impl FnOnce()) -> NodeFault {
        let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("it unwinds");
        *payload.downcast::<NodeFault>().expect("a NodeFault")
    }

    #[test]
    #[allow(clippy::todo)] // the panic under test
    fn a_panic_names_the_server_and_the_call_and_keeps_its_class() {
        let fault = caught(|| node_call(2, NodeCall::Reply(0), || panic!("index 7")));
        assert_eq!(fault.kind, FailureKind::Panic);
        assert_eq!(
            fault.message,
            "S2 panicked in handle_reply (a call to S0): index 7"
        );
        let fault = caught(|| node_call(1, NodeCall::Timer, || todo!("2B")));
        assert_eq!(fault.kind, FailureKind::NotImplemented);
        assert_eq!(
            fault.message,
            "S1 panicked in handle_timer: not yet implemented: 2B"
        );
    }

    #[test]
    fn an_inner_fault_passes_outer_guards_unchanged_and_values_pass_through() {
        let fault = caught(|| {
            node_call(0, NodeCall::Tester("start"), || {
                node_call(1, NodeCall::New, || -> () { panic!("bad state") })
            })
        });
        assert_eq!(fault.kind, FailureKind::Panic);
        assert!(
            fault.message.starts_with("S1 panicked in new"),
            "{}",
            fault.message
        );
        assert!(fault.message.ends_with(": bad state"), "{}", fault.message);
        assert_eq!(node_call(0, NodeCall::State, || 7), 7);
    }

    #[test]
    fn a_flood_is_a_hang_of_the_node_and_call_it_happened_in() {
        let fault = caught(|| node_call(2, NodeCall::Request, || -> () { flood() }));
        assert_eq!(fault.kind, FailureKind::Hang);
        assert!(
            fault
                .message
                .starts_with("S2 asked for more than 100000 effects (calls, timers, persists, applies) in one handle_request: "),
            "{}",
            fault.message
        );
    }
}
