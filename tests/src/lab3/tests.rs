//! The Lab 3 driver on services that need no Raft: one that answers from its own state at
//! once (or after a delay), one that never answers; under an idle Raft.

use std::collections::BTreeMap;

use kvraft::{Clerk, ClerkEnds, Err, KvContext, KvInit, KvService, PutAppendOp, ReplyTo, RngCore};
use raft::{ApplyMsg, Context, Init, RaftNode, RaftView, TimerId};
use serde::{Deserialize, Serialize};

use super::{KvCase, KvConfig, run, run_case};
use crate::RunOptions;

/// A Raft that does nothing.
struct IdleRaft;

impl RaftNode for IdleRaft {
    type Request = u8;
    type Reply = u8;
    fn new(_: &mut Context<'_, u8>, _: Init) -> Self {
        IdleRaft
    }
    fn handle_request(&mut self, _: &mut Context<'_, u8>, request: u8) -> u8 {
        request
    }
    fn handle_reply(&mut self, _: &mut Context<'_, u8>, _: usize, _: u8, _: Option<u8>) {}
    fn handle_timer(&mut self, _: &mut Context<'_, u8>, _: TimerId) {}
    fn start(&mut self, _: &mut Context<'_, u8>, _: Vec<u8>) -> Option<(u64, u64)> {
        None
    }
    fn state(&self) -> (u64, bool) {
        (0, false)
    }
    fn inspect(&self) -> RaftView {
        RaftView::default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Op {
    Get(String),
    PutAppend(String, String, PutAppendOp),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Answer {
    err: Err,
    value: String,
}

/// Answers from its own map, after `DELAY_MS` (0: at once), or never (`u64::MAX`).
struct LocalKv<const DELAY_MS: u64> {
    data: BTreeMap<String, String>,
    waiting: BTreeMap<TimerId, (ReplyTo, Answer)>,
}

impl<const DELAY_MS: u64> KvService for LocalKv<DELAY_MS> {
    type Request = Op;
    type Reply = Answer;
    fn new(_: &mut KvContext<'_, Answer>, _: KvInit) -> Self {
        LocalKv {
            data: BTreeMap::new(),
            waiting: BTreeMap::new(),
        }
    }
    fn handle_request(&mut self, ctx: &mut KvContext<'_, Answer>, op: Op, reply_to: ReplyTo) {
        let value = match op {
            Op::Get(key) => self.data.get(&key).cloned().unwrap_or_default(),
            Op::PutAppend(key, value, op) => {
                let slot = self.data.entry(key).or_default();
                if op == PutAppendOp::Put {
                    slot.clear();
                }
                slot.push_str(&value);
                String::new()
            }
        };
        let answer = Answer {
            err: Err::Ok,
            value,
        };
        match DELAY_MS {
            0 => ctx.reply(reply_to, answer),
            u64::MAX => {} // never answered: the caller waits
            delay_ms => {
                let timer = ctx.set_timer(delay_ms);
                self.waiting.insert(timer, (reply_to, answer));
            }
        }
    }
    fn apply(&mut self, _: &mut KvContext<'_, Answer>, _: ApplyMsg) {}
    fn handle_timer(&mut self, ctx: &mut KvContext<'_, Answer>, timer: TimerId) {
        if let Some((reply_to, answer)) = self.waiting.remove(&timer) {
            ctx.reply(reply_to, answer);
        }
    }
}

/// Calls end 0 until it answers; a Get that fails once returns `"failed"` if `ONCE`.
struct FirstEnd<const ONCE: bool> {
    ends: ClerkEnds<Op, Answer>,
}

impl<const ONCE: bool> FirstEnd<ONCE> {
    async fn call(&mut self, op: Op) -> Option<String> {
        loop {
            match self.ends.call(0, &op).await {
                Some(answer) => return Some(answer.value),
                None if ONCE => return None,
                None => self.ends.sleep_ms(10).await,
            }
        }
    }
}

impl<const ONCE: bool> Clerk for FirstEnd<ONCE> {
    type Request = Op;
    type Reply = Answer;
    fn new(ends: ClerkEnds<Op, Answer>, _: Box<dyn RngCore>) -> Self {
        FirstEnd { ends }
    }
    async fn get(&mut self, key: &str) -> String {
        let value = self.call(Op::Get(key.to_owned())).await;
        value.unwrap_or_else(|| "failed".to_owned())
    }
    async fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp) {
        self.call(Op::PutAppend(key.to_owned(), value.to_owned(), op))
            .await;
    }
}

type Fast = (IdleRaft, LocalKv<0>, FirstEnd<false>);
type Slow = (IdleRaft, LocalKv<100>, FirstEnd<false>);
type Silent = (IdleRaft, LocalKv<{ u64::MAX }>, FirstEnd<true>);

#[test]
fn speed_passes_a_fast_service_and_fails_one_that_answers_after_100_ms() {
    let fast = run::<Fast>("speed_3a", 1, RunOptions::default());
    assert!(fast.passed(), "{:?}", fast.result);
    let slow = run::<Slow>("speed_3a", 1, RunOptions::default());
    let message = slow.result.expect_err("100 ms per operation").message;
    assert!(
        message.starts_with("Operations completed too slowly 10")
            && message.ends_with("ms/op > 33.333333ms/op\n"),
        "{message}"
    );
}

/// A custom case on [`Silent`]: a Get waits on a server that never answers; every server
/// shuts down 250 ms in; the call fails at the 100 ms check after that (Go's labrpc), plus
/// the hop back.
async fn waiting_call_fails_at_the_next_check(cfg: KvConfig<Silent>) -> crate::TestResult {
    let mut ck = cfg.make_client(&cfg.all());
    let start = cfg.now();
    let get = cfg.spawn({
        let cfg = cfg.clone();
        async move { Ok((cfg.get(&mut ck, "k", None).await, cfg.now())) }
    });
    cfg.sleep_ms(250).await;
    for i in 0..cfg.n() {
        cfg.shutdown_server(i);
    }
    let (value, failed_at) = get.await;
    let after_us = failed_at.micros_since(start);
    if value != "failed" || !(300_000..310_000).contains(&after_us) {
        return Err(cfg.failure(format!("{value:?} after {after_us} µs")));
    }
    Ok(())
}

#[test]
fn a_call_waiting_on_a_server_that_shuts_down_fails_at_the_next_100_ms_check() {
    let case = KvCase::<Silent> {
        name: "waiting_call",
        part: "3a",
        servers: 3,
        unreliable: false,
        max_raft_state: None,
        body: |cfg| Box::pin(waiting_call_fails_at_the_next_check(cfg)),
    };
    let report = run_case(&case, 1, RunOptions::default());
    assert!(report.passed(), "{:?}", report.result);
}

/// The op log's stamps: strictly increasing in the order recorded, whatever the instants.
async fn stamps_increase(cfg: KvConfig<Fast>) -> crate::TestResult {
    let clients: Vec<_> = (0..3)
        .map(|cli| {
            let cfg = cfg.clone();
            cfg.clone().spawn(async move {
                let mut ck = cfg.make_client(&cfg.all());
                for i in 0..20 {
                    cfg.append(&mut ck, "k", &format!("{cli}.{i} "), Some(cli))
                        .await;
                    cfg.get(&mut ck, "k", Some(cli)).await;
                }
                Ok(())
            })
        })
        .collect();
    for client in clients {
        client.await;
    }
    let history = cfg.state().history.clone();
    let mut stamps: Vec<(u64, u64)> = history
        .iter()
        .map(|op| (op.call_us, op.return_us))
        .collect();
    if history.len() != 120 || stamps.iter().any(|(call, ret)| call >= ret) {
        return Err(cfg.failure(format!("{} operations: {stamps:?}", history.len())));
    }
    let mut all: Vec<u64> = stamps
        .drain(..)
        .flat_map(|(call, ret)| [call, ret])
        .collect();
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    if all.len() != count {
        return Err(cfg.failure("two records share a stamp"));
    }
    Ok(())
}

#[test]
fn op_log_stamps_are_distinct_and_calls_precede_returns() {
    let case = KvCase::<Fast> {
        name: "stamps",
        part: "3a",
        servers: 3,
        unreliable: false,
        max_raft_state: None,
        body: |cfg| Box::pin(stamps_increase(cfg)),
    };
    let report = run_case(&case, 1, RunOptions::default());
    assert!(report.passed(), "{:?}", report.result);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let first = run::<Fast>("concurrent_3a", 3, RunOptions::default());
    let second = run::<Fast>("concurrent_3a", 3, RunOptions::default());
    assert_eq!(first.fingerprint, second.fingerprint);
    assert_eq!(first.events, second.events);
    let other = run::<Fast>("concurrent_3a", 4, RunOptions::default());
    assert_ne!(first.fingerprint, other.fingerprint);
}
