//! The Lab 3 config driver: Go's kvraft `config.go`, helper by helper, in virtual time.
//!
//! A [`KvConfig`] is a cheap handle (two `Rc`s); tester tasks clone it. Servers are
//! [`KvRaftHost`]s; clerks are the student's [`Clerk`]s, each owned by the task that uses it,
//! calling through a [`Transport`] whose calls are driver calls on the simulated network.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use kvraft::{Clerk, ClerkEnds, KvService, LocalFuture, Transport};
use labrpc::{CallId, EndId, Latency, Sim, SimRng, SimTime};
use linearizability::{KvInput, KvOperation, KvOutput};
use raft::RaftNode;

use super::host::{KV_TAG, KvRaftHost};
use crate::config::{Stats, TEST_TIME_LIMIT_MS};
use crate::exec::{Executor, JoinHandle, SleepUntil, TaskId, VirtualClock};
use crate::failure::{Failure, FailureKind, TestResult};

/// Every hop of a Lab 3 run takes this long (request or reply, clerk or Raft): 1.8–2.2 ms. A
/// deliberate difference from Go, where a hop costs microseconds but an operation costs
/// milliseconds of CPU (spec §5.6). An operation takes about four hops, 8 ms: between Go's
/// one-client samples (2.6 ms per operation in 3B, 16 ms in 3A under `-race`), a client that
/// loops without sleeping still moves virtual time, and TestSpeed's 33 ms per operation
/// leaves room for a design with an extra round trip while one that replicates only on its
/// 100 ms heartbeat still fails.
pub const KV_HOP_LATENCY: Latency = Latency {
    min_us: 1800,
    spread_us: 400,
};

/// The three types of a Lab 3 solution: a Raft, the key/value service on it, and its clerk.
pub trait KvLab: 'static {
    /// The Raft.
    type Raft: RaftNode;
    /// The key/value service.
    type Service: KvService;
    /// The clerk, speaking the service's RPC types.
    type Clerk: Clerk<
            Request = <Self::Service as KvService>::Request,
            Reply = <Self::Service as KvService>::Reply,
        >;
}

impl<R, K, C> KvLab for (R, K, C)
where
    R: RaftNode,
    K: KvService,
    C: Clerk<Request = K::Request, Reply = K::Reply>,
{
    type Raft = R;
    type Service = K;
    type Clerk = C;
}

/// A server of a Lab 3 run.
pub type Server<L> = KvRaftHost<<L as KvLab>::Raft, <L as KvLab>::Service>;

/// A driver call waiting for its outcome: the task to wake and where to put the reply.
type CallSlot = (TaskId, Rc<RefCell<Option<Option<Vec<u8>>>>>);

/// The tester's state for one Lab 3 run.
pub(crate) struct KvState<L: KvLab> {
    pub(crate) sim: Sim<Server<L>>,
    n: usize,
    max_raft_state: Option<usize>,
    /// `ends[i][j]`: the end server `i`'s current incarnation uses to reach `j`.
    ends: Vec<Vec<EndId>>,
    /// Each clerk's ends, in server order (Go's `clerks[ck]`).
    clerk_ends: Vec<Vec<EndId>>,
    rng: SimRng,
    /// Driver calls in flight.
    calls: BTreeMap<CallId, CallSlot>,
    pub(crate) fatal: Option<Failure>,
    begin: (SimTime, u64),
    ops: u64,
    pub(crate) lines: Vec<String>,
    pub(crate) echo: bool,
    pub(crate) passed: Option<Stats>,
    pub(crate) seed: u64,
    pub(crate) test: &'static str,
    /// Every logged operation (Go's `OpLog`).
    pub(crate) history: Vec<KvOperation>,
    /// The last timestamp handed out ([`KvConfig::stamp`]).
    last_stamp: u64,
}

/// Go's kvraft `config`: the handle every tester helper hangs on. Clone it into tasks.
pub struct KvConfig<L: KvLab> {
    state: Rc<RefCell<KvState<L>>>,
    executor: Rc<RefCell<Executor>>,
}

impl<L: KvLab> Clone for KvConfig<L> {
    fn clone(&self) -> Self {
        KvConfig {
            state: Rc::clone(&self.state),
            executor: Rc::clone(&self.executor),
        }
    }
}

/// A clerk made by [`KvConfig::make_client`]: the student's clerk and its number.
pub struct TestClerk<L: KvLab> {
    /// The student's clerk.
    pub clerk: L::Clerk,
    /// Its number in the run (for [`KvConfig::connect_client`]).
    pub id: usize,
}

impl<L: KvLab> KvConfig<L> {
    /// Go's `make_config(t, n, unreliable, maxraftstate)`: `n` servers booted and connected on
    /// a reliable network, which then becomes unreliable if asked. Long delays stay off.
    pub fn new(
        seed: u64,
        test: &'static str,
        n: usize,
        unreliable: bool,
        max_raft_state: Option<usize>,
    ) -> KvConfig<L> {
        KvConfig::observed(seed, test, (n, unreliable, max_raft_state), None)
    }

    /// [`KvConfig::new`] with an observer that sees every event from the first boot on.
    pub fn observed(
        seed: u64,
        test: &'static str,
        (n, unreliable, max_raft_state): (usize, bool, Option<usize>),
        observer: Option<Box<dyn labrpc::Observer>>,
    ) -> KvConfig<L> {
        let mut sim = Sim::new(seed);
        if let Some(observer) = observer {
            sim.set_observer(observer);
        }
        sim.set_long_delays(false);
        sim.set_latency(KV_HOP_LATENCY);
        let state = KvState {
            sim,
            n,
            max_raft_state,
            ends: vec![Vec::new(); n],
            clerk_ends: Vec::new(),
            rng: SimRng::new(seed, "tester"),
            calls: BTreeMap::new(),
            fatal: None,
            begin: (SimTime::ZERO, 0),
            ops: 0,
            lines: Vec::new(),
            echo: false,
            passed: None,
            seed,
            test,
            history: Vec::new(),
            last_stamp: 0,
        };
        let cfg = KvConfig {
            state: Rc::new(RefCell::new(state)),
            executor: Rc::new(RefCell::new(Executor::default())),
        };
        for i in 0..n {
            cfg.start_server(i);
        }
        cfg.connect_all();
        cfg.state().sim.set_reliable(!unreliable);
        cfg
    }

    pub(crate) fn state(&self) -> std::cell::RefMut<'_, KvState<L>> {
        crate::exec::counted_borrow(&self.executor, &self.state, |state| state.sim.now())
    }

    pub(crate) fn try_borrow_state(&self) -> Option<std::cell::RefMut<'_, KvState<L>>> {
        self.state.try_borrow_mut().ok()
    }

    pub(crate) fn executor(&self) -> &Rc<RefCell<Executor>> {
        &self.executor
    }

    /// Ends the run: drops pending tasks (they hold handles), then every server, guarded.
    pub(crate) fn drop_nodes(&self) {
        if let Ok(mut executor) = self.executor.try_borrow_mut() {
            executor.clear();
        }
        let Some(mut state) = self.try_borrow_state() else {
            return;
        };
        for i in 0..state.n {
            crate::guard::node_call(i, crate::guard::NodeCall::Drop, || {
                state.sim.delete_server(i);
            });
        }
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.state().n
    }

    /// Go's `All()`: every server.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.state().sim.now()
    }

    /// A failed check now (Go's `t.Fatalf`).
    pub fn failure(&self, message: impl Into<String>) -> Failure {
        Failure::check(self.now(), message)
    }

    /// Prints a line (Go's `fmt.Printf`), kept with the run's report.
    pub fn print(&self, line: impl Into<String>) {
        let line = line.into();
        log::info!(target: "tester", "{line}");
        let mut state = self.state();
        if state.echo {
            println!("{line}");
        }
        state.lines.push(line);
    }

    // ----- tasks and time -----

    /// Sleeps `delay_ms` of virtual time.
    pub fn sleep_ms(&self, delay_ms: u64) -> KvSleep<L> {
        SleepUntil {
            clock: self.clone(),
            deadline: self.now().plus_millis(delay_ms),
            registered: false,
        }
    }

    /// Runs `task` concurrently (Go's `go`). Its failure fails the run at once.
    pub fn spawn<T: 'static>(
        &self,
        task: impl Future<Output = TestResult<T>> + 'static,
    ) -> JoinHandle<T> {
        let cfg = self.clone();
        crate::exec::spawn_task(&self.executor, task, move |failure| cfg.set_fatal(failure))
    }

    /// Whether the task behind `handle` finished (Go's non-blocking receive).
    pub fn is_finished<T>(&self, handle: &JoinHandle<T>) -> bool {
        self.executor.borrow().is_done(handle.task)
    }

    pub(crate) fn set_fatal(&self, failure: Failure) {
        let mut state = self.state();
        if state.fatal.is_none() {
            state.fatal = Some(failure);
        }
    }

    /// A draw from the tester's stream, uniform in `0..n` (Go's `rand.Int() % n`).
    pub fn rand_below(&self, n: u64) -> u64 {
        self.state().rng.below(n)
    }

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.state().seed
    }

    // ----- servers and the network -----

    /// Go's `connectUnlocked(i, to)`: enables `i`'s ends to each of `to`, and theirs to `i`.
    pub fn connect(&self, i: usize, to: &[usize]) {
        let mut state = self.state();
        for &j in to {
            let (a, b) = (state.ends[i].get(j).copied(), state.ends[j].get(i).copied());
            for end in [a, b].into_iter().flatten() {
                state.sim.enable(end, true);
            }
        }
    }

    /// Go's `disconnectUnlocked(i, from)`.
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        let mut state = self.state();
        for &j in from {
            let (a, b) = (state.ends[i].get(j).copied(), state.ends[j].get(i).copied());
            for end in [a, b].into_iter().flatten() {
                state.sim.enable(end, false);
            }
        }
    }

    /// Go's `ConnectAll()`.
    pub fn connect_all(&self) {
        let all = self.all();
        for i in 0..self.n() {
            self.connect(i, &all);
        }
    }

    /// Go's `partition(p1, p2)`: each group connected within, cut off from the other. Clerk
    /// ends are untouched.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        log::info!(target: "tester", "partition {p1:?} {p2:?}");
        for &i in p1 {
            self.disconnect(i, p2);
            self.connect(i, p1);
        }
        for &i in p2 {
            self.disconnect(i, p1);
            self.connect(i, p2);
        }
    }

    /// Go's `ShutdownServer(i)`: cut `i` off from its peers and delete it; its persister stays.
    /// Clerk ends to `i` stay enabled: their calls fail, and waiting ones fail at the next
    /// 100 ms check.
    pub fn shutdown_server(&self, i: usize) {
        log::info!(target: "tester", "shutdown S{i}");
        self.disconnect(i, &self.all());
        let mut state = self.state();
        crate::guard::node_call(i, crate::guard::NodeCall::Drop, || {
            state.sim.delete_server(i);
        });
    }

    /// Go's `StartServer(i)`: new (disabled) ends for `i`, then the server booted from its
    /// persister. Call [`KvConfig::connect_all`] afterwards.
    pub fn start_server(&self, i: usize) {
        let mut guard = self.state();
        let state = &mut *guard;
        log::info!(target: "tester", "start S{i}");
        let ends: Vec<EndId> = (0..state.n).map(|_| state.sim.make_end()).collect();
        for (j, &end) in ends.iter().enumerate() {
            state.sim.connect(end, j);
        }
        state.ends[i] = ends.clone();
        let max_raft_state = state.max_raft_state;
        state
            .sim
            .add_server(i, |io| KvRaftHost::boot(io, ends, max_raft_state));
    }

    /// Go's `Leader()`: the lowest server whose Raft says it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let state = self.state();
        (0..state.n).find(|&i| {
            state
                .sim
                .node(i)
                .is_some_and(|server| server.raft_state().1)
        })
    }

    /// Go's `make_partition()`: a majority without the leader, and a minority with the leader
    /// last (server 0 stands for the leader when there is none).
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let leader = self.leader().unwrap_or(0);
        let n = self.n();
        let others: Vec<usize> = (0..n).filter(|&i| i != leader).collect();
        let p1 = others[..n / 2 + 1].to_vec();
        let mut p2 = others[n / 2 + 1..].to_vec();
        p2.push(leader);
        (p1, p2)
    }

    /// Go's `LogSize()`: the largest persisted raft state, crashed servers included.
    pub fn log_size(&self) -> usize {
        let state = self.state();
        (0..state.n)
            .filter_map(|i| state.sim.persister(i))
            .map(|p| p.raft_state_size())
            .max()
            .unwrap_or(0)
    }

    /// Go's `SnapshotSize()`: the largest snapshot, crashed servers included.
    pub fn snapshot_size(&self) -> usize {
        let state = self.state();
        (0..state.n)
            .filter_map(|i| state.sim.persister(i))
            .map(|p| p.snapshot_size())
            .max()
            .unwrap_or(0)
    }

    /// The `maxraftstate` this run's servers got.
    pub fn max_raft_state(&self) -> Option<usize> {
        self.state().max_raft_state
    }

    // ----- clients -----

    /// Go's `makeClient(to)`: new ends to every server, shuffled with the tester's stream,
    /// a clerk over them with its own stream (`clerk/<k>`), and only the ends to `to` enabled.
    pub fn make_client(&self, to: &[usize]) -> TestClerk<L> {
        let (id, shuffled, rng) = {
            let mut guard = self.state();
            let state = &mut *guard;
            let ends: Vec<EndId> = (0..state.n).map(|_| state.sim.make_end()).collect();
            for (j, &end) in ends.iter().enumerate() {
                state.sim.connect(end, j);
            }
            let mut shuffled = ends.clone();
            for i in 0..shuffled.len() {
                let j = state.rng.below(i as u64 + 1) as usize;
                shuffled.swap(i, j);
            }
            let id = state.clerk_ends.len();
            state.clerk_ends.push(ends);
            let rng = SimRng::new(state.seed, &format!("clerk/{id}"));
            (id, shuffled, rng)
        };
        let transport = SimTransport {
            cfg: self.clone(),
            ends: shuffled,
        };
        let clerk = L::Clerk::new(ClerkEnds::new(Box::new(transport)), Box::new(rng));
        self.connect_client(id, to);
        TestClerk { clerk, id }
    }

    /// Go's `ConnectClient(ck, to)`: enables clerk `id`'s ends to the servers in `to`.
    pub fn connect_client(&self, id: usize, to: &[usize]) {
        let mut state = self.state();
        for &j in to {
            let end = state.clerk_ends[id][j];
            state.sim.enable(end, true);
        }
    }

    /// Delivers a driver call's outcome to the task waiting for it.
    pub(crate) fn call_done(&self, call: CallId, reply: Option<Vec<u8>>) {
        let slot = self.state().calls.remove(&call);
        if let Some((task, slot)) = slot {
            *slot.borrow_mut() = Some(reply);
            self.executor.borrow_mut().wake(task);
        }
    }

    // ----- the counting wrappers (Go's Get, Put, Append) and the op log -----

    /// A timestamp for the op log: virtual microseconds, made strictly increasing in the
    /// order the tester records, so the log's real-time order is the simulation's exact order
    /// (spec §5.6; drifts by a microsecond per record made at one instant).
    fn stamp(&self) -> u64 {
        let mut state = self.state();
        let stamp = state.sim.now().as_micros().max(state.last_stamp + 1);
        state.last_stamp = stamp;
        stamp
    }

    /// Records one operation (if `log` names a client) and counts it (Go's `op()`).
    fn record(&self, log: Option<usize>, input: KvInput, value: String, call_us: u64) {
        let return_us = self.stamp();
        let mut state = self.state();
        state.ops += 1;
        if let Some(client_id) = log {
            let output = KvOutput { value };
            state.history.push(KvOperation {
                client_id,
                input,
                call_us,
                output,
                return_us,
            });
        }
    }

    /// Go's `Get(cfg, ck, key, log, cli)`: `log` is the client id to log it under, if any.
    pub async fn get(&self, ck: &mut TestClerk<L>, key: &str, log: Option<usize>) -> String {
        let call_us = self.stamp();
        let value = ck.clerk.get(key).await;
        let input = KvInput::Get {
            key: key.to_owned(),
        };
        self.record(log, input, value.clone(), call_us);
        value
    }

    /// Go's `Put(cfg, ck, key, value, log, cli)`.
    pub async fn put(&self, ck: &mut TestClerk<L>, key: &str, value: &str, log: Option<usize>) {
        let call_us = self.stamp();
        ck.clerk.put(key, value).await;
        let (key, value) = (key.to_owned(), value.to_owned());
        self.record(log, KvInput::Put { key, value }, String::new(), call_us);
    }

    /// Go's `Append(cfg, ck, key, value, log, cli)`.
    pub async fn append(&self, ck: &mut TestClerk<L>, key: &str, value: &str, log: Option<usize>) {
        let call_us = self.stamp();
        ck.clerk.append(key, value).await;
        let (key, value) = (key.to_owned(), value.to_owned());
        self.record(log, KvInput::Append { key, value }, String::new(), call_us);
    }

    /// Go's `check(cfg, t, ck, key, value)`: an unlogged Get that must read `value`.
    pub async fn check(&self, ck: &mut TestClerk<L>, key: &str, value: &str) -> TestResult {
        let got = self.get(ck, key, None).await;
        if got != value {
            return Err(self.failure(format!("Get({key}): expected:\n{value}\nreceived:\n{got}")));
        }
        Ok(())
    }

    // ----- begin, end, checkTimeout -----

    /// Go's `begin(description)`.
    pub fn begin(&self, description: &str) {
        self.print(format!("{description} ..."));
        let mut state = self.state();
        state.begin = (state.sim.now(), state.sim.total_rpcs());
        state.ops = 0;
    }

    /// The stats since `begin`: virtual time, peers, RPCs (clerks' included), and the
    /// operations the counting wrappers made (in [`Stats::commands`]).
    pub fn stats(&self) -> Stats {
        let state = self.state();
        Stats {
            virtual_ms: state.sim.now().millis_since(state.begin.0),
            peers: state.n,
            rpcs: state.sim.total_rpcs() - state.begin.1,
            bytes: 0,
            commands: state.ops,
        }
    }

    /// Go's `end()`: the time limit, then `  ... Passed --  time  peers  rpcs  ops`.
    pub fn end(&self) -> TestResult {
        if let Some(failure) = self.state().fatal.clone() {
            return Err(failure);
        }
        self.check_timeout()?;
        let stats = self.stats();
        let seed = self.seed();
        self.print(format!(
            "  ... Passed --  {:4.1}  {} {:5} {:4}   (seed {seed})",
            stats.virtual_ms as f64 / 1000.0,
            stats.peers,
            stats.rpcs,
            stats.commands
        ));
        self.state().passed = Some(stats);
        Ok(())
    }

    /// Go's `checkTimeout()`: more than 120 virtual seconds since `make_config` fails.
    pub fn check_timeout(&self) -> TestResult {
        if self.now().as_millis() > TEST_TIME_LIMIT_MS {
            return Err(Failure {
                kind: FailureKind::TimeLimit,
                message: "test took longer than 120 seconds".to_owned(),
                at: self.now(),
            });
        }
        Ok(())
    }
}

/// The future of [`KvConfig::sleep_ms`].
pub type KvSleep<L> = SleepUntil<KvConfig<L>>;

impl<L: KvLab> VirtualClock for KvConfig<L> {
    fn now(&self) -> SimTime {
        KvConfig::now(self)
    }

    fn wake_current_at(&self, at: SimTime) {
        let task = self.executor().borrow().current();
        self.state().sim.schedule_wake_at(at, task as u64);
    }
}

/// A clerk's [`Transport`]: its shuffled ends, calls as driver calls, sleeps in virtual time.
struct SimTransport<L: KvLab> {
    cfg: KvConfig<L>,
    ends: Vec<EndId>,
}

impl<L: KvLab> Transport for SimTransport<L> {
    fn end_count(&self) -> usize {
        self.ends.len()
    }

    fn call(&self, end: usize, args: Vec<u8>) -> LocalFuture<'_, Option<Vec<u8>>> {
        let mut bytes = Vec::with_capacity(args.len() + 1);
        bytes.push(KV_TAG);
        bytes.extend_from_slice(&args);
        Box::pin(CallFuture::<L> {
            cfg: self.cfg.clone(),
            end: self.ends[end],
            args: Some(bytes),
            slot: Rc::default(),
            _lab: PhantomData,
        })
    }

    fn sleep_ms(&self, delay_ms: u64) -> LocalFuture<'_, ()> {
        Box::pin(self.cfg.sleep_ms(delay_ms))
    }
}

/// One clerk call: sent at its first poll, ready when the run loop delivers its outcome.
struct CallFuture<L: KvLab> {
    cfg: KvConfig<L>,
    end: EndId,
    args: Option<Vec<u8>>,
    slot: Rc<RefCell<Option<Option<Vec<u8>>>>>,
    _lab: PhantomData<fn() -> L>,
}

impl<L: KvLab> Future for CallFuture<L> {
    type Output = Option<Vec<u8>>;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        if let Some(args) = self.args.take() {
            let task = self.cfg.executor().borrow().current();
            let end = self.end;
            let slot = Rc::clone(&self.slot);
            let mut state = self.cfg.state();
            let call = state.sim.call(end, args);
            state.calls.insert(call, (task, slot));
            return Poll::Pending;
        }
        match self.slot.borrow_mut().take() {
            Some(reply) => Poll::Ready(reply),
            None => Poll::Pending,
        }
    }
}
