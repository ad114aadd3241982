//! raft: the contract a Raft implementation meets, and our reference implementation.
//!
//! Code map:
//! - `contract.rs`: [`RaftNode`], the trait students implement, with [`Context`] (the effects
//!   a node may ask for) and [`ApplyMsg`]. Start here.
//! - `reference/`: [`Reference`], our Raft (Figure 2 plus snapshots), one file per concern;
//!   its `mod.rs` has the map. [`flaws`]: the reference with one deliberate bug each, the
//!   safety checks' negative controls.
//! - `view.rs`: [`RaftView`], what [`RaftNode::inspect`] reports for the safety checks, field
//!   by field, and [`LogTerms`], a log's terms as runs.
//! - `testing.rs`: [`testing::RecordingHost`], a [`Host`] that records effects, for driving a
//!   node by hand in unit tests.
//!
//! **Boundary:** this crate never touches time, threads or the network. It sees virtual time
//! and randomness only through [`Context`], and knows nothing of `labrpc`.

mod contract;
mod reference;
pub mod testing;
mod view;

pub use contract::{ApplyMsg, Context, Host, Init, Message, RaftNode, TimerId};
pub use reference::{Reference, flaws};
pub use view::{LogTerms, RaftView, TermRun};
