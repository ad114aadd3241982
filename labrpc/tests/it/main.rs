//! labrpc's integration tests: one binary (faster to build and link than one per file).
//!
//! - `ported`: deterministic ports of the Go labrpc tests (spec §1.5).
//! - `semantics`: counters, flags and dead-server rules (spec §1.3, §1.4, §10).
//! - `stats`: the fault model's distributions over many seeds (spec §1.3).
//! - `deferred`: replies a node sends later, and dead checks while they wait (spec §5.3).
//! - `determinism`: same seed, same fingerprint, across processes.
//! - `latency`: every hop's delay, on top of the fault model and apart from its draws.
//! - `disk`: a persist's time, holding back what its handler sends next.
//! - `duplicates`: duplicated, stale deliveries, their own stream, one outcome per call.
//! - `timers`: timer jitter, late and never early.
//! - `support`: the test node, the driver loop and a recording observer.

mod deferred;
mod determinism;
mod disk;
mod duplicates;
mod latency;
mod ported;
mod semantics;
mod stats;
mod support;
mod timers;
