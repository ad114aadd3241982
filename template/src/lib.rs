//! my_raft: your Raft peer for the MIT 6.824 Lab 2 tests, and (`kv`) your key/value service
//! on it for Lab 3.
//!
//! Everything below is a stub: each method is a `todo!()`, so every test fails at once with
//! the class `not-implemented`. Replace them one part at a time (2A: elections; 2B: the log;
//! 2C: persistence; 2D: snapshots). `cargo doc -p raft --open` documents the contract: what
//! each method must do and what the tester guarantees.

pub mod kv;

use raft::{Context, Init, RaftNode, RaftView, TimerId};
use serde::{Deserialize, Serialize};

/// The RPCs your peers send each other. Add AppendEntries (2B) and InstallSnapshot (2D).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Figure 2's RequestVote arguments.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// The candidate asking for the vote.
        candidate_id: usize,
        /// Index of the candidate's last log entry.
        last_log_index: u64,
        /// Term of the candidate's last log entry.
        last_log_term: u64,
    },
}

/// The replies, one variant per request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// Figure 2's RequestVote results.
    RequestVote {
        /// The voter's current term, for the candidate to update itself.
        term: u64,
        /// Whether the candidate received the vote.
        vote_granted: bool,
    },
}

/// One Raft peer.
pub struct MyRaft {
    /// This peer's index among the peers.
    me: usize,
    /// Figure 2's `currentTerm`.
    current_term: u64,
}

impl RaftNode for MyRaft {
    type Request = Request;
    type Reply = Reply;

    fn new(ctx: &mut Context<'_, Request>, init: Init) -> Self {
        // Lines logged here carry this node (`S0`) in `replay`'s debug log.
        log::debug!(target: "boot", "{} boots with {} B of raft state", init.me, init.raft_state.len());
        let _ = ctx;
        todo!("2A: restore what was persisted (init.raft_state) and set an election timer")
    }

    fn handle_request(&mut self, ctx: &mut Context<'_, Request>, request: Request) -> Reply {
        let _ = (ctx, request);
        todo!("2A: answer RequestVote (Figure 2, \"Receiver implementation\")")
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Request>,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    ) {
        let _ = (ctx, peer, request, reply);
        todo!("2A: count votes; `None` means the call failed")
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Request>, timer: TimerId) {
        let _ = (ctx, timer);
        todo!("2A: start an election, or send heartbeats")
    }

    fn start(&mut self, ctx: &mut Context<'_, Request>, command: Vec<u8>) -> Option<(u64, u64)> {
        let _ = (ctx, command);
        todo!("2B: append the command if leader")
    }

    fn state(&self) -> (u64, bool) {
        let _ = (self.me, self.current_term);
        todo!("2A: (current term, whether this peer believes it is the leader)")
    }

    fn inspect(&self) -> RaftView {
        todo!("2A: report term, vote, leadership, commit index and log terms (see RaftView)")
    }
}
