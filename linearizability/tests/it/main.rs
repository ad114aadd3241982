//! Integration tests of the linearizability checker, one binary with a module per concern:
//!
//! - [`histories`]: hand-made histories with known verdicts (overlapping, touching and
//!   zero-length operations, stale reads, lost, duplicated and reordered appends, budget
//!   exhaustion), a generic model, and the explanation page of an illegal history;
//! - [`properties`]: proptest properties on generated histories (sequential executions pass,
//!   injected stale reads fail, per-key checking equals whole-history checking, partition
//!   order changes no verdict or step count, brute force agrees on small histories).

mod histories;
mod properties;
