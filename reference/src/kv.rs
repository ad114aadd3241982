//! The reference key/value service of Lab 3 ([`KvServer`], a [`kvraft::KvService`]) and its
//! [`KvClerk`] (a [`kvraft::Clerk`]). The service runs on any `RaftNode`; the tests pair it
//! with [`crate::Reference`].
//!
//! Code map:
//! - `kv/messages.rs`: the RPCs ([`KvRequest`], [`KvReply`]) and the command logged in Raft.
//! - `kv/server.rs`: [`KvServer`]: every operation through Raft, replies deferred until the
//!   operation's index applies, duplicates detected by client id and sequence number, and a
//!   snapshot when the raft state nears `maxraftstate`.
//! - `kv/clerk.rs`: [`KvClerk`]: a client id from its own stream, one sequence number per
//!   operation, the last leader tried first.
//! - `kv/flaws.rs`: [`flaws::FlawedKv`]: the reference service with one classic student bug
//!   switched on (no duplicate detection, local reads, no snapshots, a snapshot without the
//!   duplicate table, a snapshot with the whole history), the negative controls of the Lab 3
//!   tests.
//!
//! **Invariant:** each client's Put/Append executes once, whatever the clerk resends: the
//! table of the last sequence number applied per client is part of the applied state, and of
//! every snapshot.

mod clerk;
#[cfg(test)]
mod flaw_tests;
pub mod flaws;
mod messages;
mod server;
#[cfg(test)]
mod tests;

pub use clerk::{KvClerk, ROUND_PAUSE_MS};
pub use messages::{KvOp, KvReply, KvRequest};
pub use server::{KvServer, LEADERSHIP_POLL_MS, SNAPSHOT_AT_PERCENT, WAIT_LIMIT_MS};
