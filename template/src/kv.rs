//! Lab 3: your key/value service on your Raft, and its clerk.
//!
//! Stubs, like the Raft's: every method panics as not yet implemented, so every Lab 3 test
//! fails at once as `not-implemented`. `cargo doc -p kvraft --open` documents the contract
//! ([`KvService`], [`Clerk`]): what the tester guarantees, and an example of each.

use kvraft::{Clerk, ClerkEnds, Err, KvContext, KvInit, KvService, PutAppendOp, ReplyTo, RngCore};
use raft::{ApplyMsg, TimerId};
use serde::{Deserialize, Serialize};

/// A clerk's request (Go's `GetArgs` and `PutAppendArgs`). Add what duplicate detection needs
/// (a client id and a sequence number).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KvRequest {
    /// Go's `Get(key)`.
    Get {
        /// The key.
        key: String,
    },
    /// Go's `PutAppend(key, value, op)`.
    PutAppend {
        /// The key.
        key: String,
        /// The value to put or append.
        value: String,
        /// Put or Append.
        op: PutAppendOp,
    },
}

/// The reply (Go's `GetReply` and `PutAppendReply`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KvReply {
    /// `Ok`, `ErrNoKey` or `ErrWrongLeader`.
    pub err: Err,
    /// A Get's value.
    pub value: String,
}

/// One key/value server, beside its Raft.
pub struct MyKvServer {
    /// This server's index.
    me: usize,
}

impl KvService for MyKvServer {
    type Request = KvRequest;
    type Reply = KvReply;

    fn new(ctx: &mut KvContext<'_, KvReply>, init: KvInit) -> Self {
        let _ = ctx;
        let _ = MyKvServer { me: init.me }.me;
        todo!("3A: restore from init.snapshot (3B), remember init.max_raft_state")
    }

    fn handle_request(
        &mut self,
        ctx: &mut KvContext<'_, KvReply>,
        request: KvRequest,
        reply_to: ReplyTo,
    ) {
        let _ = (ctx, request, reply_to);
        todo!("3A: start the operation in Raft and answer once it applies (ctx.reply)")
    }

    fn apply(&mut self, ctx: &mut KvContext<'_, KvReply>, msg: ApplyMsg) {
        let _ = (ctx, msg);
        todo!("3A: execute each command once; 3B: snapshot near max_raft_state, install snapshots")
    }

    fn handle_timer(&mut self, ctx: &mut KvContext<'_, KvReply>, timer: TimerId) {
        let _ = (ctx, timer);
        todo!("3A: a timer you set, if you use any (say, to notice lost leadership)")
    }
}

/// The client side (Go's `Clerk`).
pub struct MyClerk {
    ends: ClerkEnds<KvRequest, KvReply>,
}

impl Clerk for MyClerk {
    type Request = KvRequest;
    type Reply = KvReply;

    fn new(ends: ClerkEnds<KvRequest, KvReply>, rng: Box<dyn RngCore>) -> Self {
        let _ = (MyClerk { ends }.ends.len(), rng);
        todo!("3A: pick a client id with kvraft::nrand(rng)")
    }

    async fn get(&mut self, key: &str) -> String {
        let _ = key;
        todo!("3A: call servers until one answers as leader")
    }

    async fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp) {
        let _ = (key, value, op);
        todo!("3A: call servers until one answers as leader; same request on every resend")
    }
}
