//! raft: the contract a Raft implementation meets. This is the crate a student implements
//! against; it holds no Raft of its own.
//!
//! Code map:
//! - `contract.rs`: [`RaftNode`], the trait students implement, with [`Context`] (the effects
//!   a node may ask for) and [`ApplyMsg`]. Start here.
//! - `view.rs`: [`RaftView`], what [`RaftNode::inspect`] reports for the safety checks, field
//!   by field, and [`LogTerms`], a log's terms as runs.
//! - `testing.rs`: [`testing::RecordingHost`], a [`Host`] that records effects, for driving a
//!   node by hand in unit tests.
//!
//! **Boundary:** this crate never touches time, threads or the network. It sees virtual time
//! and randomness only through [`Context`], and knows nothing of `labrpc`. Our reference
//! implementation lives in its own package (`reference/`), which no student-facing crate
//! depends on.

mod contract;
pub mod testing;
mod view;

pub use contract::{ApplyMsg, Context, Host, Init, Message, RaftNode, TimerId};
pub use view::{LogTerms, RaftView, TermRun};
