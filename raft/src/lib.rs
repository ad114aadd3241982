//! raft: the contract a Raft implementation meets, and our reference implementation.
//!
//! Code map:
//! - `contract.rs`: [`RaftNode`], the trait students implement, with [`Context`] (the effects
//!   a node may ask for) and [`ApplyMsg`]. Start here.
//!
//! **Boundary:** this crate never touches time, threads or the network. It sees virtual time
//! and randomness only through [`Context`], and knows nothing of `labrpc`.

mod contract;

pub use contract::{ApplyMsg, Context, Host, Init, Message, RaftNode, RaftView, TimerId};
