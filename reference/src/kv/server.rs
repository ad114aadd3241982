//! [`KvServer`]: the reference key/value service.
//!
//! `flaws::is` marks the one place each deliberate bug of [`super::flaws`] changes; with no flaw
//! on (always, outside a `FlawedKv`), the code paths are the reference's own.

use std::collections::BTreeMap;

use kvraft::{Err, KvContext, KvInit, KvService, ReplyTo};
use raft::{ApplyMsg, TimerId};
use serde::{Deserialize, Serialize};

use super::flaws::{self, KvFlaw};
use super::messages::{KvOp, KvReply, KvRequest};

/// While requests wait, check this often whether this server still leads in their term.
pub const LEADERSHIP_POLL_MS: u64 = 100;
/// A request still waiting after this long is answered `ErrWrongLeader`, so that its clerk
/// tries elsewhere: a leader cut off from its peers (clerk ends are never partitioned) learns
/// of no new term and would hold it until the partition heals.
pub const WAIT_LIMIT_MS: u64 = 1000;
/// Snapshot once the persisted raft state reaches this share of `maxraftstate`.
pub const SNAPSHOT_AT_PERCENT: usize = 90;

/// What the applied commands built: the data and the duplicate table. The snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Applied {
    /// The last index applied.
    index: u64,
    /// The key/value data.
    data: BTreeMap<String, String>,
    /// The highest sequence number applied per client: a Put/Append at or below it is a
    /// resend and is not executed again.
    last_seq: BTreeMap<u64, u64>,
}

impl Applied {
    /// Executes one command once: a Get reads, a resent write does nothing.
    fn execute(&mut self, request: &KvRequest) -> KvReply {
        let last_seq = self.last_seq.entry(request.client_id).or_insert(0);
        let fresh = request.seq > *last_seq || flaws::is(KvFlaw::ExecutesResends);
        *last_seq = (*last_seq).max(request.seq);
        let (err, value) = match &request.op {
            KvOp::Get { key } => return self.read(key),
            KvOp::Put { key, value } => {
                if fresh {
                    self.data.insert(key.clone(), value.clone());
                }
                (Err::Ok, String::new())
            }
            KvOp::Append { key, value } => {
                if fresh {
                    self.data.entry(key.clone()).or_default().push_str(value);
                }
                (Err::Ok, String::new())
            }
        };
        KvReply { err, value }
    }

    /// A Get's answer from this state.
    fn read(&self, key: &str) -> KvReply {
        match self.data.get(key) {
            Some(value) => KvReply {
                err: Err::Ok,
                value: value.clone(),
            },
            None => KvReply {
                err: Err::ErrNoKey,
                value: String::new(),
            },
        }
    }

    /// The snapshot's bytes: this whole state.
    fn snapshot_bytes(&self) -> Vec<u8> {
        if flaws::is(KvFlaw::SnapshotsWithoutResends) {
            let without_table = Applied {
                last_seq: BTreeMap::new(),
                ..self.clone()
            };
            return labgob::encode(&without_table).expect("the applied state encodes");
        }
        labgob::encode(self).expect("the applied state encodes")
    }
}

/// A request whose command was started at some index and is not answered yet.
#[derive(Debug)]
struct Waiting {
    /// The term `start` returned: leadership lost if Raft's term moves on.
    term: u64,
    client_id: u64,
    seq: u64,
    since_ms: u64,
    reply_to: ReplyTo,
}

/// The reference key/value server: every operation goes through Raft, its reply waits for
/// the apply at the index `start` returned, resends are detected by client id and sequence
/// number, and the state is snapshotted when the raft state nears `maxraftstate`.
#[derive(Debug)]
pub struct KvServer {
    applied: Applied,
    /// Waiting requests, by the log index of their command.
    waiting: BTreeMap<u64, Waiting>,
    max_raft_state: Option<usize>,
    /// The raft-state size when the last snapshot was asked for: Raft's state does not
    /// change while one batch of applies is delivered, so a batch asks once.
    asked_at_size: Option<usize>,
    /// The leadership poll, armed while requests wait.
    poll: Option<TimerId>,
}

impl KvServer {
    /// The applied data, for tests.
    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.applied.data
    }

    /// The last index applied.
    pub fn last_applied(&self) -> u64 {
        self.applied.index
    }

    /// How many requests wait for their command to apply.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn arm_poll(&mut self, ctx: &mut KvContext<'_, KvReply>) {
        if self.poll.is_none() && !self.waiting.is_empty() {
            self.poll = Some(ctx.set_timer(LEADERSHIP_POLL_MS));
        }
    }

    fn maybe_snapshot(&mut self, ctx: &mut KvContext<'_, KvReply>) {
        let Some(max) = self.max_raft_state else {
            return;
        };
        if flaws::is(KvFlaw::NeverSnapshots) {
            return;
        }
        let size = ctx.raft_state_size();
        if size * 100 >= max * SNAPSHOT_AT_PERCENT && self.asked_at_size != Some(size) {
            self.asked_at_size = Some(size);
            ctx.snapshot(self.applied.index, self.applied.snapshot_bytes());
        }
    }

    fn apply_command(&mut self, ctx: &mut KvContext<'_, KvReply>, index: u64, command: &[u8]) {
        if index <= self.applied.index {
            return; // covered by an installed snapshot
        }
        let request: KvRequest = labgob::decode(command).expect("Raft returns our commands");
        self.applied.index = index;
        let reply = self.applied.execute(&request);
        if let Some(waiting) = self.waiting.remove(&index) {
            // Another command at our index: leadership was lost before ours committed.
            let ours = (waiting.client_id, waiting.seq) == (request.client_id, request.seq);
            ctx.reply(
                waiting.reply_to,
                if ours { reply } else { KvReply::wrong_leader() },
            );
        }
        self.maybe_snapshot(ctx);
    }

    fn install_snapshot(&mut self, ctx: &mut KvContext<'_, KvReply>, index: u64, data: &[u8]) {
        if index <= self.applied.index {
            return;
        }
        self.applied = labgob::decode(data).expect("Raft returns our snapshots");
        self.applied.index = index;
        // Their fate is unknown to us: the clerks resend, and duplicates are detected.
        let covered: Vec<u64> = self.waiting.range(..=index).map(|(&i, _)| i).collect();
        for i in covered {
            let waiting = self.waiting.remove(&i).expect("just listed");
            ctx.reply(waiting.reply_to, KvReply::wrong_leader());
        }
    }
}

impl KvService for KvServer {
    type Request = KvRequest;
    type Reply = KvReply;

    fn new(_ctx: &mut KvContext<'_, KvReply>, init: KvInit) -> Self {
        let applied = if init.snapshot.is_empty() {
            Applied::default()
        } else {
            labgob::decode(&init.snapshot).expect("our own snapshot")
        };
        KvServer {
            applied,
            waiting: BTreeMap::new(),
            max_raft_state: init.max_raft_state,
            asked_at_size: None,
            poll: None,
        }
    }

    fn handle_request(
        &mut self,
        ctx: &mut KvContext<'_, KvReply>,
        request: KvRequest,
        reply_to: ReplyTo,
    ) {
        if flaws::is(KvFlaw::ReadsLocally)
            && ctx.raft_state().1
            && let KvOp::Get { key } = &request.op
        {
            ctx.reply(reply_to, self.applied.read(key));
            return;
        }
        let (client_id, seq) = (request.client_id, request.seq);
        let command = labgob::encode(&request).expect("a request encodes");
        let Some((index, term)) = ctx.start(command) else {
            ctx.reply(reply_to, KvReply::wrong_leader());
            return;
        };
        let waiting = Waiting {
            term,
            client_id,
            seq,
            since_ms: ctx.now_ms(),
            reply_to,
        };
        // The index was handed out before, in an earlier term whose entry was overwritten.
        if let Some(stale) = self.waiting.insert(index, waiting) {
            ctx.reply(stale.reply_to, KvReply::wrong_leader());
        }
        self.arm_poll(ctx);
    }

    fn apply(&mut self, ctx: &mut KvContext<'_, KvReply>, msg: ApplyMsg) {
        match msg {
            ApplyMsg::Command { index, command } => self.apply_command(ctx, index, &command),
            ApplyMsg::Snapshot { index, data, .. } => self.install_snapshot(ctx, index, &data),
        }
    }

    /// The leadership poll: answer `ErrWrongLeader` to requests of a term this server no
    /// longer leads, and to those that waited too long.
    fn handle_timer(&mut self, ctx: &mut KvContext<'_, KvReply>, timer: TimerId) {
        if self.poll != Some(timer) {
            return;
        }
        self.poll = None;
        let (term, is_leader) = ctx.raft_state();
        let now_ms = ctx.now_ms();
        let lost: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, w)| {
                !is_leader || w.term != term || now_ms.saturating_sub(w.since_ms) >= WAIT_LIMIT_MS
            })
            .map(|(&index, _)| index)
            .collect();
        for index in lost {
            let waiting = self.waiting.remove(&index).expect("just listed");
            ctx.reply(waiting.reply_to, KvReply::wrong_leader());
        }
        self.arm_poll(ctx);
    }
}
