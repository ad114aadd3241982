//! The RPCs of Figure 2 (RequestVote, AppendEntries) and Figure 13 (InstallSnapshot), with
//! the conflict hint of §5.3's "optimization" in AppendEntries replies.

use serde::{Deserialize, Serialize};

use super::log::Entry;

/// Every request a [`super::Reference`] node sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Invoked by candidates to gather votes.
    RequestVote(RequestVoteArgs),
    /// Invoked by the leader to replicate log entries; also used as heartbeat.
    AppendEntries(AppendEntriesArgs),
    /// Invoked by the leader to send a snapshot to a follower that is too far behind.
    InstallSnapshot(InstallSnapshotArgs),
}

/// Every reply a [`super::Reference`] node returns; the variant matches the request's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Reply to [`Request::RequestVote`].
    RequestVote(RequestVoteReply),
    /// Reply to [`Request::AppendEntries`].
    AppendEntries(AppendEntriesReply),
    /// Reply to [`Request::InstallSnapshot`].
    InstallSnapshot(InstallSnapshotReply),
}

impl Request {
    /// The sender's `currentTerm`.
    pub fn term(&self) -> u64 {
        match self {
            Request::RequestVote(args) => args.term,
            Request::AppendEntries(args) => args.term,
            Request::InstallSnapshot(args) => args.term,
        }
    }
}

impl Reply {
    /// The replier's `currentTerm`, for the sender to update itself.
    pub fn term(&self) -> u64 {
        match self {
            Reply::RequestVote(reply) => reply.term,
            Reply::AppendEntries(reply) => reply.term,
            Reply::InstallSnapshot(reply) => reply.term,
        }
    }
}

/// RequestVote RPC arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    /// Candidate's term.
    pub term: u64,
    /// Candidate requesting vote.
    pub candidate_id: usize,
    /// Index of candidate's last log entry (§5.4).
    pub last_log_index: u64,
    /// Term of candidate's last log entry (§5.4).
    pub last_log_term: u64,
}

/// RequestVote RPC results (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// `currentTerm`, for candidate to update itself.
    pub term: u64,
    /// True means candidate received vote.
    pub vote_granted: bool,
}

/// AppendEntries RPC arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesArgs {
    /// Leader's term.
    pub term: u64,
    /// So follower can redirect clients.
    pub leader_id: usize,
    /// Index of log entry immediately preceding new ones.
    pub prev_log_index: u64,
    /// Term of the `prev_log_index` entry.
    pub prev_log_term: u64,
    /// Log entries to store (empty for heartbeat).
    pub entries: Vec<Entry>,
    /// Leader's `commitIndex`.
    pub leader_commit: u64,
}

/// AppendEntries RPC results (Figure 2), with a conflict hint when `success` is false.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// `currentTerm`, for leader to update itself.
    pub term: u64,
    /// True if follower contained entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On a mismatch, the term of the follower's entry at `prev_log_index`; `None` if the
    /// follower's log is too short to have one (Go's `XTerm`).
    pub conflict_term: Option<u64>,
    /// On a mismatch, the follower's first index of `conflict_term`, or, if that is `None`,
    /// the index just past its log (Go's `XIndex` / `XLen`). 0 on success.
    pub conflict_index: u64,
}

/// InstallSnapshot RPC arguments (Figure 13), always in one chunk (no `offset`, `done`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    /// Leader's term.
    pub term: u64,
    /// So follower can redirect clients.
    pub leader_id: usize,
    /// The snapshot replaces all entries up through and including this index.
    pub last_included_index: u64,
    /// Term of `last_included_index`.
    pub last_included_term: u64,
    /// The service's snapshot bytes.
    pub data: Vec<u8>,
}

/// InstallSnapshot RPC results (Figure 13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// `currentTerm`, for leader to update itself.
    pub term: u64,
}
