//! [`KvClerk`]: the reference clerk.

use kvraft::{Clerk, ClerkEnds, Err, PutAppendOp, nrand};
use rand_core::RngCore;

use super::messages::{KvOp, KvReply, KvRequest};

/// After a whole round of servers failed or answered `ErrWrongLeader` (an election is under
/// way, or the leader is cut off), wait this long before the next round instead of calling
/// in a tight loop.
pub const ROUND_PAUSE_MS: u64 = 20;

/// The reference clerk: a random client id, one sequence number per operation (the same on
/// every resend), and the last server that answered tried first.
pub struct KvClerk {
    ends: ClerkEnds<KvRequest, KvReply>,
    client_id: u64,
    /// The sequence number of the last operation begun.
    seq: u64,
    /// The end to try first.
    leader: usize,
}

impl KvClerk {
    /// This clerk's id.
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// Runs one operation to completion: every server in turn until one answers as leader.
    async fn run(&mut self, op: KvOp) -> KvReply {
        self.seq += 1;
        let request = KvRequest {
            client_id: self.client_id,
            seq: self.seq,
            op,
        };
        let mut failures = 0;
        loop {
            match self.ends.call(self.leader, &request).await {
                Some(reply) if reply.err != Err::ErrWrongLeader => return reply,
                _ => {
                    self.leader = (self.leader + 1) % self.ends.len();
                    failures += 1;
                    if failures % self.ends.len() == 0 {
                        self.ends.sleep_ms(ROUND_PAUSE_MS).await;
                    }
                }
            }
        }
    }
}

impl Clerk for KvClerk {
    type Request = KvRequest;
    type Reply = KvReply;

    fn new(ends: ClerkEnds<KvRequest, KvReply>, mut rng: Box<dyn RngCore>) -> Self {
        KvClerk {
            ends,
            client_id: nrand(&mut *rng),
            seq: 0,
            leader: 0,
        }
    }

    async fn get(&mut self, key: &str) -> String {
        let key = key.to_string();
        self.run(KvOp::Get { key }).await.value
    }

    async fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp) {
        let (key, value) = (key.to_string(), value.to_string());
        let op = match op {
            PutAppendOp::Put => KvOp::Put { key, value },
            PutAppendOp::Append => KvOp::Append { key, value },
        };
        self.run(op).await;
    }
}
