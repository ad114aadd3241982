//! Shared fixtures: the test node, the driver loop and a recording observer.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use labrpc::{
    CallId, Caller, EndId, EventRecord, FailReason, Fingerprint, Node, NodeIo, Observer, Sim,
    SimTime, Stepped, TimerId,
};
use serde::{Deserialize, Serialize};

/// A small struct argument, for the "types" test (Go passes it by pointer and by value).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Junk {
    pub x: String,
    pub y: i64,
}

/// Requests the test server understands. Each variant is one Go `JunkServer`-style handler,
/// re-invented from the behaviour the spec describes (§1.5), not transliterated.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Req {
    /// A string argument, answered with its length ([`Rep::Count`]).
    Len(String),
    /// An integer argument, answered with a string of that many `'y'` ([`Rep::Text`]).
    Repeat(u64),
    /// An integer argument, answered with `"echo-<n>"` ([`Rep::Text`]).
    Echo(i64),
    /// A string argument holding a number, answered with the number ([`Rep::Count`]).
    Parse(String),
    /// A struct passed by value: answered with `Junk { x: "plain", y: -y }`.
    Plain(Junk),
    /// A struct behind a pointer (Go's `*JunkArgs`): answered with `Junk { x: "boxed", y: -y }`.
    Boxed(Box<Junk>),
}

/// Replies of the test server.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Rep {
    Count(u64),
    Text(String),
    Junk(Junk),
}

impl Req {
    pub fn encode(&self) -> Vec<u8> {
        labgob::encode_checked(self).expect("encode request")
    }

    /// What the test server answers: the reference for every reply check.
    pub fn answer(&self) -> Rep {
        match self {
            Req::Len(s) => Rep::Count(s.len() as u64),
            Req::Repeat(n) => Rep::Text("y".repeat(usize::try_from(*n).expect("small"))),
            Req::Echo(n) => Rep::Text(format!("echo-{n}")),
            Req::Parse(s) => Rep::Count(s.parse().unwrap_or(u64::MAX)),
            Req::Plain(j) => Rep::Junk(Junk {
                x: "plain".into(),
                y: -j.y,
            }),
            Req::Boxed(j) => Rep::Junk(Junk {
                x: "boxed".into(),
                y: -j.y,
            }),
        }
    }
}

impl Rep {
    pub fn encode(&self) -> Vec<u8> {
        labgob::encode_checked(self).expect("encode reply")
    }

    pub fn decode(bytes: &[u8]) -> Rep {
        labgob::decode(bytes).expect("decode reply")
    }
}

/// Random chatter for the determinism workload: every so often call a random peer.
#[derive(Debug, Clone)]
pub struct Chatter {
    pub peers: Vec<EndId>,
    /// Next timer delay is drawn from `1..=max_gap_ms`.
    pub max_gap_ms: u64,
    pub timer: Option<TimerId>,
}

/// The test node: a server (answers [`Req`] with [`Req::answer`], remembering what it
/// handled: the handler's side effects) and optionally a client (a script of calls, issued
/// `parallel` at a time once its start timer fires) or a chatterbox.
#[derive(Debug, Default)]
pub struct TestNode {
    /// Every request whose handler ran on this node (effects stand even if the reply is lost).
    pub handled: Vec<Req>,
    /// Calls still to make.
    pub script: VecDeque<(EndId, Req)>,
    /// How many scripted calls may be outstanding at once.
    pub parallel: usize,
    /// Outstanding calls, with what was asked.
    pub outstanding: BTreeMap<CallId, Req>,
    /// Finished calls: when, what was asked, what came back (`None` = Go's `false`).
    pub replies: Vec<(SimTime, Req, Option<Rep>)>,
    pub timers_fired: Vec<TimerId>,
    pub chatter: Option<Chatter>,
}

impl TestNode {
    /// A pure server.
    pub fn server() -> impl FnOnce(&mut NodeIo<'_>) -> TestNode {
        |_io| TestNode::default()
    }

    /// A client that starts its script at time `start_ms` from now.
    pub fn client(
        script: Vec<(EndId, Req)>,
        parallel: usize,
        start_ms: u64,
    ) -> impl FnOnce(&mut NodeIo<'_>) -> TestNode {
        move |io| {
            io.set_timer(start_ms);
            TestNode {
                script: script.into(),
                parallel,
                ..TestNode::default()
            }
        }
    }

    /// A chatterbox for the determinism workload.
    pub fn chatter(peers: Vec<EndId>, max_gap_ms: u64) -> impl FnOnce(&mut NodeIo<'_>) -> TestNode {
        move |io| {
            let gap = 1 + io.rng().below(max_gap_ms);
            let timer = Some(io.set_timer(gap));
            TestNode {
                chatter: Some(Chatter {
                    peers,
                    max_gap_ms,
                    timer,
                }),
                ..TestNode::default()
            }
        }
    }

    fn issue(&mut self, io: &mut NodeIo<'_>) {
        while self.outstanding.len() < self.parallel.max(1) {
            let Some((end, req)) = self.script.pop_front() else {
                return;
            };
            let call = io.call(end, req.encode());
            self.outstanding.insert(call, req);
        }
    }

    fn chat(&mut self, io: &mut NodeIo<'_>) {
        let Some(chatter) = self.chatter.as_mut() else {
            return;
        };
        let peers = chatter.peers.len() as u64;
        let fanout = 1 + io.rng().below(3);
        for _ in 0..fanout {
            let end = chatter.peers[io.rng().below(peers) as usize];
            let req = match io.rng().below(3) {
                0 => Req::Echo(io.rng().below(1000) as i64),
                1 => Req::Repeat(io.rng().below(40)),
                _ => Req::Len("z".repeat(io.rng().below(30) as usize)),
            };
            let call = io.call(end, req.encode());
            self.outstanding.insert(call, req);
        }
        let gap = 1 + io.rng().below(chatter.max_gap_ms);
        let next = io.set_timer(gap);
        // A decoy timer, cancelled at once: cancelled timers must never fire (on_timer
        // asserts that only the live timer does).
        let decoy_delay = io.rng().below(50);
        let decoy = io.set_timer(decoy_delay);
        io.cancel_timer(decoy);
        chatter.timer = Some(next);
    }
}

impl Node for TestNode {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let req: Req = labgob::decode(args).ok()?;
        let rep = req.answer();
        self.handled.push(req);
        // A side effect that outlives a crash, for the determinism workload.
        let count = self.handled.len() as u64;
        io.persister().save_raft_state(count.to_le_bytes().to_vec());
        Some(rep.encode())
    }

    fn on_reply(&mut self, io: &mut NodeIo<'_>, call: CallId, reply: Option<Vec<u8>>) {
        let req = self
            .outstanding
            .remove(&call)
            .expect("a reply to a call this incarnation made");
        let rep = reply.map(|bytes| Rep::decode(&bytes));
        if let Some(rep) = &rep {
            assert_eq!(rep, &req.answer(), "reply matches its own request");
        }
        self.replies.push((io.now(), req, rep));
        self.issue(io);
    }

    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: TimerId) {
        self.timers_fired.push(timer);
        if self.chatter.is_some() {
            assert_eq!(
                self.chatter.as_ref().and_then(|c| c.timer),
                Some(timer),
                "only the live timer fires"
            );
            self.chat(io);
        } else {
            self.issue(io);
        }
    }
}

/// The driver side: steps the simulation and remembers what finished.
#[derive(Default)]
pub struct Driver {
    /// Finished driver calls: when, and the raw reply.
    pub done: BTreeMap<CallId, (SimTime, Option<Vec<u8>>)>,
    pub wakes: Vec<(SimTime, u64)>,
}

impl Driver {
    /// One step; false when the queue is empty.
    pub fn step(&mut self, sim: &mut Sim<TestNode>) -> bool {
        match sim.step() {
            None => false,
            Some(Stepped::CallDone { call, reply }) => {
                let previous = self.done.insert(call, (sim.now(), reply));
                assert!(previous.is_none(), "{call:?} finished twice");
                true
            }
            Some(Stepped::Wake(token)) => {
                self.wakes.push((sim.now(), token));
                true
            }
            Some(Stepped::Node(_) | Stepped::Quiet) => true,
        }
    }

    /// Steps until nothing is scheduled.
    pub fn run_idle(&mut self, sim: &mut Sim<TestNode>) {
        while self.step(sim) {}
    }

    /// Steps every event due at or before `ms`, then stops (time stays at the last event).
    pub fn run_until(&mut self, sim: &mut Sim<TestNode>, ms: u64) {
        while sim
            .next_event_time()
            .is_some_and(|at| at <= SimTime::from_millis(ms))
        {
            self.step(sim);
        }
    }

    /// Steps until `call` is done; returns when and the decoded reply.
    pub fn wait(&mut self, sim: &mut Sim<TestNode>, call: CallId) -> (SimTime, Option<Rep>) {
        while !self.done.contains_key(&call) {
            assert!(self.step(sim), "{call:?} never finished");
        }
        let (at, reply) = &self.done[&call];
        (*at, reply.as_deref().map(Rep::decode))
    }

    /// A driver call with `req` through `end`, run to completion.
    pub fn call(
        &mut self,
        sim: &mut Sim<TestNode>,
        end: EndId,
        req: &Req,
    ) -> (SimTime, Option<Rep>) {
        let call = sim.call(end, req.encode());
        self.wait(sim, call)
    }
}

/// A new end connected to `server` and enabled.
pub fn link(sim: &mut Sim<TestNode>, server: usize) -> EndId {
    let end = sim.make_end();
    sim.connect(end, server);
    sim.enable(end, true);
    end
}

/// What the recorder knows about one call.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    pub caller: Option<Caller>,
    pub sent_at: u64,
    pub handled_at: Option<u64>,
    pub outcome_at: Option<u64>,
    /// `Ok(reply length)` or the failure reason.
    pub outcome: Option<Result<usize, FailReason>>,
}

/// Everything the recorder saw.
#[derive(Debug, Default)]
pub struct Log {
    pub events: u64,
    pub fingerprint: Fingerprint,
    /// Indexed by `CallId.0` (call ids are dense from 0).
    pub calls: Vec<CallRecord>,
    pub timers: u64,
    pub wakes: u64,
    pub changes: u64,
    /// Every network change: what, target, value.
    pub changes_seen: Vec<(&'static str, u64, u64)>,
    pub externals: u64,
    pub persists: u64,
    pub applies: u64,
}

impl Log {
    pub fn reasons(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for record in &self.calls {
            let key = match record.outcome {
                None => "pending".to_string(),
                Some(Ok(_)) => "ok".to_string(),
                Some(Err(reason)) => format!("{reason:?}"),
            };
            *out.entry(key).or_insert(0) += 1;
        }
        out
    }

    pub fn count(&self, reason: FailReason) -> u64 {
        self.calls
            .iter()
            .filter(|r| r.outcome == Some(Err(reason)))
            .count() as u64
    }
}

/// An observer that records every call's life and mirrors the fingerprint.
pub struct Recorder(pub Rc<RefCell<Log>>);

impl Recorder {
    pub fn install(sim: &mut Sim<TestNode>) -> Rc<RefCell<Log>> {
        let log = Rc::new(RefCell::new(Log::default()));
        sim.set_observer(Box::new(Recorder(Rc::clone(&log))));
        log
    }
}

impl Observer for Recorder {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        let mut log = self.0.borrow_mut();
        log.events += 1;
        log.fingerprint.record(at, event);
        let now = at.as_millis();
        match *event {
            EventRecord::Send { call, caller, .. } => {
                let index = usize::try_from(call.0).expect("small");
                assert_eq!(index, log.calls.len(), "call ids are dense");
                log.calls.push(CallRecord {
                    caller: Some(caller),
                    sent_at: now,
                    ..CallRecord::default()
                });
            }
            EventRecord::Handle { call, .. } => {
                let record = &mut log.calls[usize::try_from(call.0).expect("small")];
                assert!(record.handled_at.is_none(), "handled twice");
                record.handled_at = Some(now);
            }
            EventRecord::Outcome { call, reply, .. } => {
                let record = &mut log.calls[usize::try_from(call.0).expect("small")];
                assert!(record.outcome.is_none(), "two outcomes");
                record.outcome_at = Some(now);
                record.outcome = Some(reply.map(<[u8]>::len));
            }
            EventRecord::Timer { .. } => log.timers += 1,
            EventRecord::Wake { .. } => log.wakes += 1,
            EventRecord::External { .. } => log.externals += 1,
            EventRecord::NetworkChange {
                what,
                target,
                value,
            } => {
                log.changes += 1;
                log.changes_seen.push((what, target, value));
            }
            EventRecord::Persist { .. } => log.persists += 1,
            EventRecord::Apply { .. } => log.applies += 1,
        }
    }
}

/// The server number of the single server in most tests.
pub const SERVER: usize = 0;

/// A simulation with one test server registered as [`SERVER`].
pub fn sim_with_server(seed: u64) -> Sim<TestNode> {
    let mut sim = Sim::new(seed);
    sim.add_server(SERVER, TestNode::server());
    sim
}
