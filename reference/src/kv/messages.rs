//! The reference service's RPCs, and the command it logs in Raft.

use kvraft::Err;
use serde::{Deserialize, Serialize};

/// One key/value operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key (`""` if missing).
    Get {
        /// The key.
        key: String,
    },
    /// Replace a key's value.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

/// A clerk's request (Go's `GetArgs` and `PutAppendArgs` in one), which is also the command
/// logged in Raft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRequest {
    /// The clerk's id (62 random bits).
    pub client_id: u64,
    /// The clerk's operation number, from 1, the same on every resend of one operation.
    pub seq: u64,
    /// The operation.
    pub op: KvOp,
}

/// The reply to a [`KvRequest`] (Go's `GetReply` and `PutAppendReply` in one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvReply {
    /// `Ok`, `ErrNoKey` (a Get of a missing key) or `ErrWrongLeader` (try another server).
    pub err: Err,
    /// A Get's value; empty otherwise.
    pub value: String,
}

impl KvReply {
    /// "Not me, try another server": not the leader, leadership lost, or waited too long.
    pub fn wrong_leader() -> KvReply {
        KvReply {
            err: Err::ErrWrongLeader,
            value: String::new(),
        }
    }
}
