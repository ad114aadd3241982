//! Where the simulation is right now, for log lines: the virtual time and the node handling
//! the current event. A logger (the replay tool's) reads it to prefix every line.

use std::cell::Cell;

use crate::SimTime;

thread_local! {
    static CURRENT: Cell<(SimTime, Option<usize>)> = const { Cell::new((SimTime::ZERO, None)) };
}

/// The virtual time of the event being simulated on this thread, and the server whose
/// handler is running (if any). Outside a simulation: time zero, no server.
pub fn current() -> (SimTime, Option<usize>) {
    CURRENT.with(Cell::get)
}

pub(crate) fn set(now: SimTime, server: Option<usize>) {
    CURRENT.with(|current| current.set((now, server)));
}
