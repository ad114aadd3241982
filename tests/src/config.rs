//! The config driver: Go's `config.go`, helper by helper, in virtual time.
//!
//! A [`Config`] is a cheap handle (an `Rc`); tester tasks clone it. Helpers that wait in Go
//! (`checkOneLeader`, `one`, `wait`) are `async` here and sleep in virtual time; the rest are
//! plain methods. Every Go `t.Fatalf` is an `Err(Failure)` with Go's message.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

use labrpc::{EndId, Latency, Observer, Sim, SimRng, SimTime};
use raft::{ApplyMsg, Init, RaftNode, RaftView};

use crate::command::show_command;
use crate::exec::{Executor, JoinHandle, SleepUntil, VirtualClock};
use crate::failure::{Failure, TestResult};
use crate::host::{Outbox, RaftHost, shadow_view};
use crate::safety::{Moment, Safety};
use crate::timeline::ViewObserver;

/// Go's `RaftElectionTimeout`: the tester allows an election one second.
pub const RAFT_ELECTION_TIMEOUT_MS: u64 = 1000;
/// Go's `SnapShotInterval`: the 2D applier snapshots every 10 applied commands.
pub const SNAPSHOT_INTERVAL: u64 = 10;
/// Go's per-test limit, measured from `make_config`.
pub const TEST_TIME_LIMIT_MS: u64 = 120_000;

/// The numbers of the Go `  ... Passed --` line, measured from `begin`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Virtual milliseconds since `begin`.
    pub virtual_ms: u64,
    /// Number of peers.
    pub peers: usize,
    /// RPCs sent since `begin` (network total, failed ones included).
    pub rpcs: u64,
    /// Bytes since `begin` (requests, plus delivered replies).
    pub bytes: u64,
    /// Log entries reported committed since `begin` (`maxIndex - maxIndex0`).
    pub commands: u64,
}

/// The tester's state for one run.
pub(crate) struct State<R: RaftNode> {
    pub(crate) sim: Sim<RaftHost<R>>,
    n: usize,
    /// Whether the 2D applier (`applierSnap`) is in use.
    snapshot: bool,
    connected: Vec<bool>,
    /// `ends[i][j]`: the end server `i`'s current incarnation uses to reach `j`.
    ends: Vec<Vec<EndId>>,
    /// What each server applied: index → command. Kept across restarts, as in Go.
    logs: Vec<AppliedLog>,
    last_applied: Vec<u64>,
    max_index: u64,
    pub(crate) rng: SimRng,
    outbox: Outbox,
    /// The first fatal error from outside a task (an applier), ending the run at once.
    pub(crate) fatal: Option<Failure>,
    begin: Begin,
    pub(crate) lines: Vec<String>,
    pub(crate) echo: bool,
    pub(crate) passed: Option<Stats>,
    /// Appended to the `Passed` line, so a student sees which seed passed.
    pub(crate) seed: u64,
    /// The safety checks after every input (`None` with `LAB_CHECKS=off`).
    safety: Option<Safety>,
    /// Sees each node's view after every input (the timeline).
    views: Option<Box<dyn ViewObserver>>,
    /// The fault schedule of a nemesis campaign (`None` for the Go suites).
    pub(crate) schedule: Option<crate::nemesis::Schedule>,
    /// A nemesis crash waiting for its moment: the next node whose input persists (or
    /// replies) is crashed right after that input.
    pub(crate) crash_trigger: Option<crate::nemesis::CrashOn>,
    /// The node the trigger crashed, until the campaign restarts it.
    pub(crate) triggered: Option<usize>,
}

#[derive(Clone, Copy, Default)]
struct Begin {
    t0: SimTime,
    rpcs0: u64,
    bytes0: u64,
    max_index0: u64,
}

/// What sees a run from outside: every event, and each node's view after every input.
pub(crate) type Hooks = (Option<Box<dyn Observer>>, Option<Box<dyn ViewObserver>>);

/// Go's `config`: the handle every tester helper hangs on. Clone it into spawned tasks.
pub struct Config<R: RaftNode> {
    state: Rc<RefCell<State<R>>>,
    executor: Rc<RefCell<Executor>>,
}

impl<R: RaftNode> Clone for Config<R> {
    fn clone(&self) -> Self {
        Config {
            state: Rc::clone(&self.state),
            executor: Rc::clone(&self.executor),
        }
    }
}

impl<R: RaftNode> Config<R> {
    /// Go's `make_config(t, n, unreliable, snapshot)`: `n` servers, booted and connected, on a
    /// network with long delays on, every hop taking the latency `LAB_LATENCY` names (default
    /// [`crate::latency::DEFAULT`]). All randomness comes from `seed`. The safety checks are on
    /// unless `LAB_CHECKS=off`.
    pub fn new(seed: u64, n: usize, unreliable: bool, snapshot: bool) -> Config<R> {
        let checks = crate::safety::enabled_by_env();
        let network = (unreliable, crate::latency::from_env());
        Config::observed(seed, n, network, snapshot, None, checks)
    }

    /// [`Config::new`] with the network given as `(unreliable, latency)`, an observer that
    /// sees every event from the first boot on, and the safety checks on or off.
    pub fn observed(
        seed: u64,
        n: usize,
        (unreliable, latency): (bool, Latency),
        snapshot: bool,
        observer: Option<Box<dyn Observer>>,
        safety_checks: bool,
    ) -> Config<R> {
        let network = (unreliable, latency);
        Config::hooked(seed, n, network, snapshot, (observer, None), safety_checks)
    }

    /// [`Config::observed`] with a [`ViewObserver`] too, which sees each node's view after
    /// every input from the first boot on.
    pub(crate) fn hooked(
        seed: u64,
        n: usize,
        (unreliable, latency): (bool, Latency),
        snapshot: bool,
        (observer, views): Hooks,
        safety_checks: bool,
    ) -> Config<R> {
        let mut sim = Sim::new(seed);
        if let Some(observer) = observer {
            sim.set_observer(observer);
        }
        sim.set_reliable(!unreliable);
        sim.set_long_delays(true);
        sim.set_latency(latency);
        let state = State {
            sim,
            n,
            snapshot,
            connected: vec![false; n],
            ends: vec![Vec::new(); n],
            logs: vec![AppliedLog::default(); n],
            last_applied: vec![0; n],
            max_index: 0,
            rng: SimRng::new(seed, "tester"),
            outbox: Outbox::default(),
            fatal: None,
            begin: Begin::default(),
            lines: Vec::new(),
            echo: false,
            passed: None,
            seed,
            safety: safety_checks.then(|| Safety::new(n, seed)),
            views,
            schedule: None,
            crash_trigger: None,
            triggered: None,
        };
        let cfg = Config {
            state: Rc::new(RefCell::new(state)),
            executor: Rc::new(RefCell::new(Executor::default())),
        };
        for i in 0..n {
            cfg.start1(i)
                .expect("a fresh server has no snapshot to ingest");
        }
        for i in 0..n {
            cfg.connect(i);
        }
        cfg
    }

    pub(crate) fn state(&self) -> std::cell::RefMut<'_, State<R>> {
        crate::exec::counted_borrow(&self.executor, &self.state, |state| state.sim.now())
    }

    pub(crate) fn try_borrow_state(&self) -> Option<std::cell::RefMut<'_, State<R>>> {
        self.state.try_borrow_mut().ok()
    }

    /// Starts (or stops) counting every live node's inputs by kind, for a livelock's message.
    pub(crate) fn count_inputs(&self, on: bool) {
        let mut state = self.state();
        for server in 0..state.n {
            if let Some(host) = state.sim.node_mut(server) {
                host.count_inputs(on);
            }
        }
    }

    /// Ends the run: drops its pending tasks (which hold `Config`s), then each node, in a
    /// [`crate::guard::node_call`] that names it if its `Drop` panics.
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

    pub(crate) fn executor(&self) -> &Rc<RefCell<Executor>> {
        &self.executor
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.state().n
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.state().sim.now()
    }

    fn fail<T>(&self, message: String) -> TestResult<T> {
        Err(self.failure(message))
    }

    /// A failed check at the current virtual time (Go's `t.Fatalf(message)`): return it as
    /// `Err(cfg.failure(...))`.
    pub fn failure(&self, message: impl Into<String>) -> Failure {
        Failure::check(self.now(), message)
    }

    // ----- tasks and time -----

    /// Sleeps `delay_ms` of virtual time (Go's `time.Sleep`).
    pub fn sleep_ms(&self, delay_ms: u64) -> Sleep<R> {
        let deadline = self.now().plus_millis(delay_ms);
        SleepUntil {
            clock: self.clone(),
            deadline,
            registered: false,
        }
    }

    /// Runs `task` concurrently (Go's `go func() {...}()`). If it fails, the whole run fails
    /// at once with its failure; otherwise its value can be awaited through the handle.
    pub fn spawn<T: 'static>(
        &self,
        task: impl Future<Output = TestResult<T>> + 'static,
    ) -> JoinHandle<T> {
        let cfg = self.clone();
        crate::exec::spawn_task(&self.executor, task, move |failure| cfg.set_fatal(failure))
    }

    pub(crate) fn set_fatal(&self, failure: Failure) {
        let mut state = self.state();
        if state.fatal.is_none() {
            state.fatal = Some(failure);
        }
    }

    /// A draw from the tester's random stream, uniform in `0..n` (Go's `rand.Int() % n`).
    pub fn rand_below(&self, n: u64) -> u64 {
        self.state().rng.below(n)
    }

    /// A 63-bit draw (Go's `rand.Int()`).
    pub fn rand_int(&self) -> u64 {
        self.state().rng.next_u64() >> 1
    }

    /// `n` random URL-safe base64 characters (Go's `randstring`).
    pub fn rand_string(&self, n: usize) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut state = self.state();
        (0..n)
            .map(|_| ALPHABET[state.rng.below(64) as usize] as char)
            .collect()
    }

    /// Prints a line (Go's `fmt.Printf` from a test), kept with the run's report.
    pub fn print(&self, line: impl Into<String>) {
        let line = line.into();
        log::info!(target: "tester", "{line}");
        let mut state = self.state();
        if state.echo {
            println!("{line}");
        }
        state.lines.push(line);
    }

    // ----- servers and the network (Go's crash1, start1, connect, disconnect) -----

    /// Go's `crash1(i)`: disconnect, delete the server, keep its persister.
    pub fn crash1(&self, i: usize) {
        self.disconnect(i);
        let mut state = self.state();
        if state.sim.is_alive(i) {
            log::info!(target: "tester", "crash S{i}");
        }
        // Dropping the node runs its `Drop`: a call into it like any other.
        crate::guard::node_call(i, crate::guard::NodeCall::Drop, || {
            state.sim.delete_server(i);
        });
        if let Some(safety) = &mut state.safety {
            safety.on_crash(i);
        }
    }

    /// Go's `start1(i, applier)`: crash, then boot a fresh node from `i`'s persister with new
    /// ends (disabled until [`Config::connect`]). If a snapshot was saved, ingests it first.
    pub fn start1(&self, i: usize) -> TestResult {
        self.crash1(i);
        let mut guard = self.state();
        let state = &mut *guard;
        let n = state.n;
        let ends: Vec<EndId> = (0..n).map(|_| state.sim.make_end()).collect();
        for (j, &end) in ends.iter().enumerate() {
            state.sim.connect(end, j);
        }
        state.ends[i] = ends.clone();
        state.last_applied[i] = 0;
        let (raft_state_bytes, snapshot) = state
            .sim
            .persister(i)
            .map(|p| (p.raft_state_size(), p.snapshot().to_vec()))
            .unwrap_or_default();
        let restart = state.sim.persister(i).is_some();
        log::info!(
            target: "tester",
            "{} S{i} from {raft_state_bytes} B of raft state and a {} B snapshot",
            if restart { "restart" } else { "boot" },
            snapshot.len()
        );
        if !snapshot.is_empty()
            && let Err(message) = state.ingest_snap(i, &snapshot, None)
        {
            let now = state.sim.now();
            return Err(Failure::check(now, message));
        }
        if let Some(safety) = &mut state.safety {
            safety.on_boot(i, state.last_applied[i]);
        }
        let outbox = Rc::clone(&state.outbox);
        state
            .sim
            .add_server(i, |io| RaftHost::boot(io, ends, outbox));
        drop(guard);
        self.after_input(i);
        Ok(())
    }

    /// Go's `connect(i)`: attach server `i` to every connected server, both directions.
    pub fn connect(&self, i: usize) {
        let mut guard = self.state();
        let state = &mut *guard;
        if !state.connected[i] {
            log::info!(target: "tester", "connect S{i}");
        }
        state.connected[i] = true;
        for j in 0..state.n {
            if state.connected[j] {
                if let Some(&end) = state.ends[i].get(j) {
                    state.sim.enable(end, true);
                }
                if let Some(&end) = state.ends[j].get(i) {
                    state.sim.enable(end, true);
                }
            }
        }
    }

    /// Go's `disconnect(i)`: detach server `i` from everyone, both directions.
    pub fn disconnect(&self, i: usize) {
        let mut guard = self.state();
        let state = &mut *guard;
        if state.connected[i] {
            log::info!(target: "tester", "disconnect S{i}");
        }
        state.connected[i] = false;
        for j in 0..state.n {
            if let Some(&end) = state.ends[i].get(j) {
                state.sim.enable(end, false);
            }
            if let Some(&end) = state.ends[j].get(i) {
                state.sim.enable(end, false);
            }
        }
    }

    /// One direction of one link: whether server `from`'s current incarnation can reach `to`
    /// (its calls to `to`, and their replies). The nemesis's bridges and one-way partitions;
    /// [`Config::connect`] and [`Config::disconnect`] set both directions of every link of a
    /// server.
    pub fn set_link(&self, from: usize, to: usize, up: bool) {
        let mut state = self.state();
        if let Some(&end) = state.ends[from].get(to) {
            state.sim.enable(end, up);
        }
    }

    /// Duplicated, stale deliveries from now on ([`labrpc::Duplicates`]; off in the Go
    /// suites).
    pub fn set_duplicates(&self, duplicates: labrpc::Duplicates) {
        log::info!(target: "tester", "duplicates {duplicates:?}");
        self.state().sim.set_duplicates(duplicates);
    }

    /// What server `i` applied at `index` (or holds there from an ingested snapshot), if
    /// anything.
    pub fn applied(&self, i: usize, index: u64) -> Option<Vec<u8>> {
        self.state().logs[i].get(index).map(<[u8]>::to_vec)
    }

    /// The service on server `i` snapshots now, at the last index it applied (2D; the
    /// nemesis's snapshots at random points). Nothing if `i` is down, the run has no 2D
    /// applier, or nothing was applied.
    pub fn snapshot_now(&self, i: usize) {
        let (index, snapshot) = {
            let state = self.state();
            let index = state.last_applied[i];
            if !state.snapshot || index == 0 || !state.sim.is_alive(i) {
                return;
            }
            (index, state.tester_snapshot(i, index))
        };
        self.take_snapshot(i, index, snapshot);
        self.after_input(i);
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.state().connected[i]
    }

    /// Whether server `i` is running (not crashed).
    pub fn is_alive(&self, i: usize) -> bool {
        self.state().sim.is_alive(i)
    }

    /// Go's `setunreliable(u)`.
    pub fn set_unreliable(&self, unreliable: bool) {
        log::info!(target: "tester", "network {}", if unreliable { "unreliable" } else { "reliable" });
        self.state().sim.set_reliable(!unreliable);
    }

    /// Go's `setlongreordering(b)`.
    pub fn set_long_reordering(&self, long_reordering: bool) {
        log::info!(target: "tester", "long reordering {}", if long_reordering { "on" } else { "off" });
        self.state().sim.set_long_reordering(long_reordering);
    }

    /// Go's `rpcCount(i)`: requests delivered to server `i`'s current incarnation.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.state().sim.rpc_count(i)
    }

    /// Go's `rpcTotal()`.
    pub fn rpc_total(&self) -> u64 {
        self.state().sim.total_rpcs()
    }

    /// Go's `bytesTotal()`.
    pub fn bytes_total(&self) -> u64 {
        self.state().sim.total_bytes()
    }

    /// Go's `LogSize()`: the largest persisted raft state, in bytes.
    pub fn log_size(&self) -> usize {
        let state = self.state();
        (0..state.n)
            .filter_map(|i| state.sim.persister(i))
            .map(|p| p.raft_state_size())
            .max()
            .unwrap_or(0)
    }

    // ----- the node's interface (Go's rf.Start, rf.GetState, rf.Snapshot) -----

    /// `rafts[i].Start(command)`: `Some((index, term))` if `i` is alive and accepted it.
    pub fn start(&self, i: usize, command: Vec<u8>) -> Option<(u64, u64)> {
        let shown =
            log::log_enabled!(target: "tester", log::Level::Info).then(|| show_command(&command));
        let outcome = self.state().sim.with_node(i, "start", |host, io| {
            host.input(io, "start", |raft, ctx| raft.start(ctx, command))
        });
        if let Some(shown) = shown {
            let result = match outcome {
                None => format!("S{i} is down"),
                Some(None) => "not leader".to_owned(),
                Some(Some((index, term))) => format!("index {index} term {term}"),
            };
            // Refusals are most of the calls (`one` asks every server in turn): debug only.
            let level = match outcome {
                Some(Some(_)) => log::Level::Info,
                _ => log::Level::Debug,
            };
            log::log!(target: "tester", level, "start({shown}) on S{i} -> {result}");
        }
        self.after_input(i);
        outcome.flatten()
    }

    /// `rafts[i].GetState()`, or `None` if `i` is crashed.
    pub fn get_state(&self, i: usize) -> Option<(u64, bool)> {
        self.state().sim.node(i).map(|host| host.state())
    }

    /// `rafts[i]`'s Raft state, for checkers; `None` if crashed.
    pub fn inspect(&self, i: usize) -> Option<RaftView> {
        self.state().sim.node(i).map(|host| host.inspect())
    }

    // ----- checks (Go's checkOneLeader, checkTerms, checkNoLeader, nCommitted, wait, one) -----

    /// Go's `checkOneLeader()`: within about 5 s, exactly one leader in the highest term.
    pub async fn check_one_leader(&self) -> TestResult<usize> {
        for _ in 0..10 {
            let ms = 450 + self.rand_below(100);
            self.sleep_ms(ms).await;
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for i in 0..self.n() {
                if !self.is_connected(i) {
                    continue;
                }
                if let Some((term, true)) = self.get_state(i) {
                    leaders.entry(term).or_default().push(i);
                }
            }
            for (term, in_term) in &leaders {
                if in_term.len() > 1 {
                    return self.fail(format!("term {term} has {} (>1) leaders", in_term.len()));
                }
            }
            if let Some((_, in_term)) = leaders.last_key_value() {
                return Ok(in_term[0]);
            }
        }
        self.fail("expected one leader, got none".to_owned())
    }

    /// Go's `checkTerms()`: every connected server reports the same term; `None` if none is
    /// connected (Go's -1).
    pub fn check_terms(&self) -> TestResult<Option<u64>> {
        let mut term = None;
        for i in 0..self.n() {
            if !self.is_connected(i) {
                continue;
            }
            let Some((xterm, _)) = self.get_state(i) else {
                continue;
            };
            match term {
                None => term = Some(xterm),
                Some(t) if t != xterm => return self.fail("servers disagree on term".to_owned()),
                Some(_) => {}
            }
        }
        Ok(term)
    }

    /// Go's `checkNoLeader()`.
    pub fn check_no_leader(&self) -> TestResult {
        for i in 0..self.n() {
            if self.is_connected(i) && matches!(self.get_state(i), Some((_, true))) {
                return self.fail(format!(
                    "expected no leader among connected servers, but {i} claims to be leader"
                ));
            }
        }
        Ok(())
    }

    /// Go's `nCommitted(index)`: how many servers applied `index`, and the command.
    pub fn n_committed(&self, index: u64) -> TestResult<(usize, Option<Vec<u8>>)> {
        let state = self.state();
        let mut count = 0;
        let mut command: Option<&[u8]> = None;
        for log in &state.logs {
            let Some(applied) = log.get(index) else {
                continue;
            };
            if let Some(previous) = command
                && previous != applied
            {
                let message = format!(
                    "committed values do not match: index {index}, {}, {}",
                    show_command(previous),
                    show_command(applied)
                );
                return Err(Failure::check(state.sim.now(), message));
            }
            count += 1;
            command = Some(applied);
        }
        Ok((count, command.map(<[u8]>::to_vec)))
    }

    /// Go's `wait(index, n, startTerm)`: waits for `n` servers to apply `index`. Returns
    /// `None` (Go's -1) if some server's term passed `start_term` first.
    pub async fn wait(
        &self,
        index: u64,
        n: usize,
        start_term: Option<u64>,
    ) -> TestResult<Option<Vec<u8>>> {
        let mut to_ms = 10;
        for _ in 0..30 {
            if self.n_committed(index)?.0 >= n {
                break;
            }
            self.sleep_ms(to_ms).await;
            if to_ms < 1000 {
                to_ms *= 2;
            }
            if let Some(start_term) = start_term {
                let moved_on = (0..self.n())
                    .filter_map(|i| self.get_state(i))
                    .any(|(term, _)| term > start_term);
                if moved_on {
                    return Ok(None);
                }
            }
        }
        let (nd, command) = self.n_committed(index)?;
        if nd < n {
            return self.fail(format!("only {nd} decided for index {index}; wanted {n}"));
        }
        Ok(command)
    }

    /// Go's `one(cmd, expectedServers, retry)`: submits `command` to a leader and waits for
    /// `expected_servers` to apply it; returns its index.
    pub async fn one(
        &self,
        command: Vec<u8>,
        expected_servers: usize,
        retry: bool,
    ) -> TestResult<u64> {
        let t0 = self.now();
        let mut starts = 0;
        while self.now().millis_since(t0) < 10_000 {
            let mut index = None;
            for _ in 0..self.n() {
                starts = (starts + 1) % self.n();
                if !self.is_connected(starts) {
                    continue;
                }
                if let Some((at, _)) = self.start(starts, command.clone()) {
                    index = Some(at);
                    break;
                }
            }
            let Some(index) = index else {
                self.sleep_ms(50).await;
                continue;
            };
            let t1 = self.now();
            while self.now().millis_since(t1) < 2000 {
                let (nd, applied) = self.n_committed(index)?;
                if nd > 0 && nd >= expected_servers && applied.as_ref() == Some(&command) {
                    return Ok(index);
                }
                self.sleep_ms(20).await;
            }
            if !retry {
                return self.fail(format!(
                    "one({}) failed to reach agreement",
                    show_command(&command)
                ));
            }
        }
        self.fail(format!(
            "one({}) failed to reach agreement",
            show_command(&command)
        ))
    }

    // ----- lifecycle (Go's begin, end, checkTimeout) -----

    /// Go's `begin(description)`: prints `<description> ...` and starts the stats.
    pub fn begin(&self, description: &str) {
        self.print(format!("{description} ..."));
        let mut state = self.state();
        state.begin = Begin {
            t0: state.sim.now(),
            rpcs0: state.sim.total_rpcs(),
            bytes0: state.sim.total_bytes(),
            max_index0: state.max_index,
        };
    }

    /// The stats since `begin`.
    pub fn stats(&self) -> Stats {
        let state = self.state();
        Stats {
            virtual_ms: state.sim.now().millis_since(state.begin.t0),
            peers: state.n,
            rpcs: state.sim.total_rpcs() - state.begin.rpcs0,
            bytes: state.sim.total_bytes() - state.begin.bytes0,
            commands: state.max_index - state.begin.max_index0,
        }
    }

    /// Go's `end()`: checks the time limit and prints the `  ... Passed --` line.
    pub fn end(&self) -> TestResult {
        // An applier failure raised during this task's last step ends the run: never print
        // `Passed` over it.
        if let Some(failure) = self.state().fatal.clone() {
            return Err(failure);
        }
        self.check_timeout()?;
        let stats = self.stats();
        let seed = self.state().seed;
        self.print(format!(
            "  ... Passed --  {:4.1}  {} {:4} {:7} {:4}   (seed {seed})",
            stats.virtual_ms as f64 / 1000.0,
            stats.peers,
            stats.rpcs,
            stats.bytes,
            stats.commands
        ));
        self.state().passed = Some(stats);
        Ok(())
    }

    /// Go's `checkTimeout()`: fails if more than 120 virtual seconds passed since the start.
    pub fn check_timeout(&self) -> TestResult {
        if self.now().as_millis() > TEST_TIME_LIMIT_MS {
            return Err(Failure {
                kind: crate::FailureKind::TimeLimit,
                message: "test took longer than 120 seconds".to_owned(),
                at: self.now(),
            });
        }
        Ok(())
    }

    // ----- appliers (Go's applier, applierSnap, checkLogs, ingestSnap) -----

    /// After server `i` handled an input: its applied messages go to the appliers (Go's
    /// checks), then the safety checks run on its state. A failure of either is fatal for the
    /// run. When both fail at this same input, the safety failure is kept: it names the broken
    /// property, of which Go's apply mismatch is a consequence.
    pub(crate) fn after_input(&self, i: usize) {
        if self.state().fatal.is_some() {
            return;
        }
        self.drain_outbox();
        let effects = self.state().sim.node_mut(i).map(RaftHost::take_effects);
        let result = self.state().check_safety(i, effects);
        if let Err(failure) = result {
            self.state().fatal = Some(failure);
            return;
        }
        if let Some(effects) = effects {
            self.crash_if_triggered(i, effects);
        }
    }

    /// Crashes server `i` if a nemesis crash waits for what its input just did.
    fn crash_if_triggered(&self, i: usize, effects: crate::safety::Effects) {
        let trigger = self.state().crash_trigger;
        let fire = match trigger {
            Some(crate::nemesis::CrashOn::Persist) => effects.persisted,
            Some(crate::nemesis::CrashOn::Reply) => effects.replied,
            None => false,
        };
        if fire {
            {
                let mut state = self.state();
                state.crash_trigger = None;
                state.triggered = Some(i);
            }
            log::info!(target: "tester", "nemesis: crash S{i} right after {trigger:?}");
            self.crash1(i);
        }
    }

    /// Delivers every applied message waiting in the outbox to the applier, in order. A
    /// broken rule is fatal for the run (Go's `log.Fatalf("apply error: ...")`).
    fn drain_outbox(&self) {
        loop {
            let next = self.state().outbox.borrow_mut().pop_front();
            let Some((i, msg)) = next else { return };
            let result = self.state().apply(i, msg);
            match result {
                Ok(Some((index, snapshot))) => self.take_snapshot(i, index, snapshot),
                Ok(None) => {}
                Err(message) => {
                    let now = self.now();
                    self.set_fatal(Failure::check(now, format!("apply error: {message}")));
                    return;
                }
            }
        }
    }

    /// Hands the tester's snapshot to server `i` (Go's `rf.Snapshot(index, bytes)` from the
    /// applier goroutine), after the apply that triggered it was delivered.
    fn take_snapshot(&self, i: usize, index: u64, snapshot: Vec<u8>) {
        log::info!(target: "tester", "snapshot(index {index}, {} B) on S{i}", snapshot.len());
        self.state().sim.with_node(i, "snapshot", |host, io| {
            host.input(io, "snapshot", |raft, ctx| {
                raft.snapshot(ctx, index, snapshot)
            })
        });
    }
}

impl<R: RaftNode> State<R> {
    /// The safety checks on server `i` after its input (nothing if it is crashed or the
    /// checks are off).
    fn check_safety(&mut self, i: usize, effects: Option<crate::safety::Effects>) -> TestResult {
        if self.safety.is_none() && self.views.is_none() {
            return Ok(());
        }
        let Some((effects, view)) = effects.zip(self.sim.node(i).map(|host| host.inspect())) else {
            return Ok(());
        };
        if let Some(views) = &mut self.views {
            views.on_view(self.sim.now(), i, &view);
        }
        let Some(safety) = self.safety.as_mut() else {
            return Ok(());
        };
        let moment = Moment {
            at: self.sim.now(),
            event: self.sim.event_count(),
        };
        let persister = self
            .sim
            .persister(i)
            .expect("a live server has a persister");
        let raft_state_bytes = persister.raft_state_size();
        let now_ms = moment.at.as_millis();
        let n = self.n;
        let mut shadow = |rng: &mut SimRng| {
            let init = Init {
                me: i,
                peer_count: n,
                raft_state: persister.raft_state().to_vec(),
                snapshot: persister.snapshot().to_vec(),
            };
            shadow_view::<R>(init, now_ms, rng)
        };
        safety.after_input(i, effects, view, moment, raft_state_bytes, &mut shadow)
    }

    /// One applied message from server `i`. Returns a snapshot to hand back to `i` when the
    /// 2D applier takes one.
    fn apply(&mut self, i: usize, msg: ApplyMsg) -> Result<Option<(u64, Vec<u8>)>, String> {
        let (ApplyMsg::Command { index, .. } | ApplyMsg::Snapshot { index, .. }) = msg;
        if index == u64::MAX {
            // No log reaches it, and the next index to apply would wrap to 0.
            return Err(format!(
                "server {i} applied index {index} (u64::MAX): no log reaches that index"
            ));
        }
        if let Some(safety) = &mut self.safety {
            safety.on_apply(i, &msg);
        }
        match msg {
            ApplyMsg::Command { index, command } => self.apply_command(i, index, command),
            ApplyMsg::Snapshot { index, data, .. } if self.snapshot => {
                self.ingest_snap(i, &data, Some(index))?;
                Ok(None)
            }
            // Go's 2A–2C applier ignores everything but commands.
            ApplyMsg::Snapshot { .. } => Ok(None),
        }
    }

    fn apply_command(
        &mut self,
        i: usize,
        index: u64,
        command: Vec<u8>,
    ) -> Result<Option<(u64, Vec<u8>)>, String> {
        if self.snapshot && index != self.last_applied[i] + 1 {
            return Err(format!(
                "server {i} apply out of order, expected index {}, got {index}",
                self.last_applied[i] + 1
            ));
        }
        let prev_ok = self.check_logs(i, index, command)?;
        if index > 1 && !prev_ok {
            return Err(format!("server {i} apply out of order {index}"));
        }
        if !self.snapshot {
            return Ok(None);
        }
        self.last_applied[i] = index;
        if !(index + 1).is_multiple_of(SNAPSHOT_INTERVAL) {
            return Ok(None);
        }
        Ok(Some((index, self.tester_snapshot(i, index))))
    }

    /// Go's `checkLogs`: the command must match what every other server applied at `index`.
    /// Returns whether `i` had applied `index - 1`.
    fn check_logs(&mut self, i: usize, index: u64, command: Vec<u8>) -> Result<bool, String> {
        for (j, log) in self.logs.iter().enumerate() {
            if let Some(old) = log.get(index)
                && *old != *command
            {
                return Err(format!(
                    "commit index={index} server={i} {} != server={j} {}",
                    show_command(&command),
                    show_command(old)
                ));
            }
        }
        let prev_ok = index > 0 && self.logs[i].get(index - 1).is_some();
        if index > 1 && !prev_ok {
            // An error follows (apply out of order); storing a wild index could only exhaust
            // memory on the way.
            return Ok(false);
        }
        self.logs[i].insert(index, command);
        self.max_index = self.max_index.max(index);
        Ok(prev_ok)
    }

    /// The 2022 tester snapshot: `index`, then every command applied so far (element 0 is
    /// nil), encoded with labgob.
    fn tester_snapshot(&self, i: usize, index: u64) -> Vec<u8> {
        let xlog: Vec<Option<&[u8]>> = (0..=index).map(|j| self.logs[i].get(j)).collect();
        labgob::encode(&(index, xlog)).expect("tester snapshots encode")
    }

    /// Go's `ingestSnap`: replaces what `i` applied with the snapshot's history.
    fn ingest_snap(&mut self, i: usize, snapshot: &[u8], index: Option<u64>) -> Result<(), String> {
        if snapshot.is_empty() {
            return Err("nil snapshot".to_owned());
        }
        let Ok((last_included_index, xlog)) =
            labgob::decode::<(u64, Vec<Option<Vec<u8>>>)>(snapshot)
        else {
            return Err("snapshot decode error".to_owned());
        };
        if index.is_some_and(|index| index != last_included_index) {
            return Err(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
        }
        self.logs[i] = AppliedLog { commands: xlog };
        self.last_applied[i] = last_included_index;
        Ok(())
    }
}

/// The future of [`Config::sleep_ms`].
pub type Sleep<R> = SleepUntil<Config<R>>;

impl<R: RaftNode> VirtualClock for Config<R> {
    fn now(&self) -> SimTime {
        Config::now(self)
    }

    fn wake_current_at(&self, at: SimTime) {
        let task = self.executor().borrow().current();
        self.state().sim.schedule_wake_at(at, task as u64);
    }
}

/// What one server applied, by log index (Go's `logs[i]` map, dense: indices are small and
/// every lookup is on the hot path of the appliers and `nCommitted`).
#[derive(Clone, Debug, Default)]
struct AppliedLog {
    /// `commands[index]`: the command applied at `index`, if any. Index 0 is never a command.
    commands: Vec<Option<Vec<u8>>>,
}

impl AppliedLog {
    fn get(&self, index: u64) -> Option<&[u8]> {
        self.commands.get(usize::try_from(index).ok()?)?.as_deref()
    }

    fn insert(&mut self, index: u64, command: Vec<u8>) {
        let index = usize::try_from(index).expect("log index fits in memory");
        if self.commands.len() <= index {
            self.commands.resize(index + 1, None);
        }
        self.commands[index] = Some(command);
    }
}
