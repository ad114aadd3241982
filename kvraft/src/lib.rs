//! kvraft: the Lab 3 contract a student implements: a fault-tolerant key/value service on
//! their Raft. Like the `raft` crate, it holds no solution and never touches time, threads or
//! the network.
//!
//! Code map:
//! - `service.rs`: [`KvService`], the server side, a sans-IO state machine hosted beside any
//!   [`RaftNode`](raft::RaftNode), with [`KvContext`] (its effects, Raft's `start`, `state`
//!   and `snapshot` among them) and [`ReplyTo`], a reply that may be sent later. Start here.
//! - `clerk.rs`: [`Clerk`], the async client side, and [`ClerkEnds`], its shuffled ends.
//! - `common.rs`: Go's `common.go`: [`Err`], [`PutAppendOp`], [`nrand`].
//! - `testing.rs`: [`testing::RecordingKvHost`], a scripted host for unit tests, and
//!   [`testing::block_on`] for clerks over in-memory transports.

mod clerk;
mod common;
mod service;
pub mod testing;

pub use clerk::{Clerk, ClerkEnds, LocalFuture, Transport};
pub use common::{Err, PutAppendOp, nrand};
/// The trait of a clerk's seeded stream ([`Clerk::new`]), so a solution needs no `rand_core`
/// dependency of its own.
pub use rand_core::RngCore;
pub use service::{KvContext, KvHost, KvInit, KvService, ReplyTo};
