//! linearizability: porcupine's checker (spec §4), deterministic: a budget of search steps
//! per partition instead of a wall-clock timeout (spec §5.7), so a verdict never depends on
//! the machine.
//!
//! Code map (start at [`check`]):
//! - `model.rs`: [`Model`], the sequential specification a history is checked against;
//!   [`Operation`], one call and its return in virtual time; [`Partition`]; porcupine's
//!   event-list input ([`Event`], [`operations_from_events`]).
//! - `checker.rs`: [`check`], the Wing & Gong search with Lowe's just-in-time linearization
//!   and a cache of explored configurations, per partition, in the model's order;
//!   [`Verdict`], [`CheckReport`]; [`longest_prefixes`] for explaining an illegal partition.
//! - `kv.rs`: [`KvModel`], the Lab 3 key/value model (Get/Put/Append, partitioned by key),
//!   over shared append-only [`Value`]s.
//! - `visualize.rs` (+ `visualize.html`): [`visualize::explain`], the data of a failing
//!   check (per illegal partition: operations, longest linearizable prefixes, what could not
//!   go next), and [`visualize::write_html`], a self-contained page drawing it;
//!   [`visualize::write_for_test`] does both at the test-and-seed path and returns it.
//!
//! ```
//! use linearizability::visualize::write_for_test;
//! use linearizability::{DEFAULT_STEPS_PER_PARTITION, KvInput, KvModel, KvOutput, Operation};
//! use linearizability::{Verdict, check};
//!
//! let op = |client_id, input, value: &str, call_us, return_us| Operation {
//!     client_id,
//!     input,
//!     call_us,
//!     output: KvOutput { value: value.to_owned() },
//!     return_us,
//! };
//! let history = [
//!     op(0, KvInput::Put { key: "k".into(), value: "a".into() }, "", 0, 10),
//!     op(1, KvInput::Get { key: "k".into() }, "", 20, 30), // stale: the Put completed
//! ];
//! let report = check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
//! assert_eq!(report.verdict, Verdict::Illegal);
//! let path = write_for_test(&KvModel, &history, &report, "doc_example", 1)?;
//! println!("info: wrote history visualization to {}", path.display());
//! assert!(path.ends_with("raft-dst/doc_example-seed1.html"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! **Invariant:** no wall clock, no threads, no hash-order iteration: the same history and
//! budget give the same verdict and step counts on every machine.

mod checker;
mod kv;
mod model;
pub mod visualize;

pub use checker::{
    CheckReport, DEFAULT_STEPS_PER_PARTITION, MAX_PREFIXES_KEPT, PartitionReport, Verdict, check,
    longest_prefixes,
};
pub use kv::{KvInput, KvModel, KvOperation, KvOutput, PIECE_BYTES_MAX, Value};
pub use model::{
    Event, EventError, EventKind, Model, Operation, Partition, operations_from_events,
};
