//! labrpc: the deterministic simulator under every lab test.
//!
//! Code map (start at [`Sim`]):
//! - `sim.rs`: [`Sim`], the event queue and virtual clock; [`Node`], the sans-IO interface of a
//!   hosted node, and [`NodeIo`], what a node may do while it handles an event;
//!   `sim/deferred.rs`: replies a node sends later ([`NodeIo::defer_reply`], Lab 3), with Go's
//!   100 ms dead checks.
//! - `network.rs`: ends, servers, flags, counters and the 6.824 fault model (spec §1.3) as
//!   pure decisions with named constants; [`Latency`], every hop's delay on top of them.
//! - `observe.rs`: [`EventRecord`] and [`Observer`] (every event, for traces and checkers) and
//!   the run's [`Fingerprint`].
//! - `rng.rs`: [`SimRng`], named ChaCha streams under one root seed.
//! - `persister.rs`: [`Persister`], a server's stable storage.
//! - `time.rs`: [`SimTime`], virtual microseconds (nodes and the fault model speak milliseconds).
//! - `current.rs`: [`current`], the virtual time and node of the running event, for loggers.
//!
//! **Invariant:** no wall clock, no threads, no unseeded randomness, no hash-order iteration:
//! one seed, one run, bit for bit.

mod current;
mod network;
mod observe;
mod persister;
mod rng;
mod sim;
mod time;

pub use current::current;
pub use network::{
    GO_HOP_MIN_US, GO_HOP_SPREAD_US, LONG_DELAY_MS_BELOW, Latency, REORDER_BASE_MS,
    REORDER_DENOMINATOR, REORDER_NUMERATOR, REORDER_SPREAD_MS, REPLY_DROP_PER_MILLE,
    REQUEST_DROP_PER_MILLE, SHORT_DELAY_MS_BELOW, SHORT_FAIL_DELAY_MS_BELOW,
};
pub use observe::{EventRecord, FailReason, Fingerprint, Observer};
pub use persister::Persister;
pub use rng::SimRng;
pub use sim::{
    CallId, Caller, DEAD_CHECK_INTERVAL_MS, Duplicates, EndId, Node, NodeIo, Sim, Stepped, TimerId,
};
pub use time::{MICROS_PER_MS, SimTime};
