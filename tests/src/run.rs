//! Running one test on one seed: the event loop that interleaves tester tasks with the
//! simulation, and the report of what happened.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;

use labrpc::{Observer, SimTime, Stepped};
use raft::RaftNode;

use crate::config::{Config, Stats};
use crate::exec::run_ready;
use crate::failure::{Failure, FailureKind, TestResult};
use crate::guard::NodeFault;
use crate::registry::TestCase;

/// Virtual time after which a run is stopped as a failure even if its test never checks
/// (Go's `go test` kills a test binary after 10 minutes).
pub const VIRTUAL_TIME_LIMIT_MS: u64 = 600_000;
/// Events at a single virtual instant after which a run counts as hung (a node that keeps
/// setting zero-delay timers or ping-ponging messages without time passing). A count of
/// events, so the bound does not depend on message sizes. The reference never comes near it
/// (a hunt of every test on 2,000 seeds).
pub const LIVELOCK_EVENTS: u64 = 10_000;

/// Events a run may hold pending at once (messages in flight, timers, wake-ups) before it
/// fails as `resource-limit`: an RPC storm grows memory without bound otherwise. The reference
/// stays far below it (every test passes with it, on thousands of seeds).
pub const MAX_PENDING_EVENTS: usize = 200_000;

/// Bytes of messages a run may hold in flight at once (requests not yet handled, replies not
/// yet delivered) before it fails as `resource-limit`: a storm of large messages exhausts
/// memory long before [`MAX_PENDING_EVENTS`]. Four times the largest message labgob decodes
/// (32 MiB); the reference never holds more than a few hundred kilobytes.
pub const MAX_PENDING_BYTES: u64 = 128 << 20;

/// Events past [`LIVELOCK_EVENTS`] whose inputs are counted by node and kind, to name in the
/// failure what loops.
pub const LIVELOCK_SAMPLE_EVENTS: u64 = 1_000;

/// What the caller wants from a run besides the verdict.
pub struct RunOptions {
    /// Print the Go lines (`Test (2A): ... ...`, `  ... Passed --`) as they happen.
    pub echo: bool,
    /// Sees every simulated event (traces, the determinism self-check).
    pub observer: Option<Box<dyn Observer>>,
    /// Run the safety checks after every input ([`crate::safety`]). Default: on, unless
    /// `LAB_CHECKS=off`.
    pub safety_checks: bool,
    /// Every hop's latency. Default: [`crate::latency::from_env`] (`LAB_LATENCY`, else
    /// [`crate::latency::DEFAULT`]).
    pub latency: labrpc::Latency,
    /// Sees each node's `inspect()` view after every input it handles (the timeline).
    pub views: Option<Box<dyn crate::timeline::ViewObserver>>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            echo: false,
            observer: None,
            safety_checks: crate::safety::enabled_by_env(),
            latency: crate::latency::from_env(),
            views: None,
        }
    }
}

/// The outcome of one run of one test on one seed.
#[derive(Debug)]
pub struct RunReport {
    /// The test's name (`initial_election_2a`).
    pub test: &'static str,
    /// The seed.
    pub seed: u64,
    /// The stats of the Go `Passed` line, or the failure.
    pub result: Result<Stats, Failure>,
    /// Virtual time when the run ended.
    pub virtual_ms: u64,
    /// Hash of the run's event sequence.
    pub fingerprint: u64,
    /// Events simulated.
    pub events: u64,
    /// What the test printed.
    pub lines: Vec<String>,
}

impl RunReport {
    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }
}

/// The command that reruns `test` of our reference suite (package `raft-reference`) on `seed`.
pub fn replay_command(test: &str, seed: u64) -> String {
    cargo_replay_command("raft-reference", test, seed)
}

/// The command that reruns the `#[test]` at `test_path` of `package` on `seed`.
pub fn cargo_replay_command(package: &str, test_path: &str, seed: u64) -> String {
    format!("LAB_SEED={seed} cargo test --release -p {package} -- --exact {test_path}")
}

/// Runs `case` on `seed`. Never panics: a panic inside the implementation or the tester is
/// caught and reported as [`FailureKind::Panic`] ([`FailureKind::NotImplemented`] for a
/// `todo!()`). A case with its own driver ([`TestCase::own_run`], Lab 3) runs on it, which
/// keeps the same promise.
pub fn run_case<R: RaftNode>(case: &TestCase<R>, seed: u64, options: RunOptions) -> RunReport {
    if let Some(run) = case.own_run {
        return run(case.name, seed, options);
    }
    let mut cfg_slot: Option<Config<R>> = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let (mut servers, unreliable, mut snapshot) =
            (case.servers, case.unreliable, case.snapshot);
        let schedule = crate::nemesis::schedule_for(case.name, case.part, seed);
        if let Some(schedule) = &schedule {
            (servers, snapshot) = (schedule.servers, schedule.snapshots);
        }
        let checks = options.safety_checks;
        let observer = options.observer;
        let network = (unreliable, options.latency);
        let hooks = (observer, options.views);
        let cfg = Config::<R>::hooked(seed, servers, network, snapshot, hooks, checks);
        cfg.state().echo = options.echo;
        cfg.state().schedule = schedule;
        cfg_slot = Some(cfg.clone());
        let result = drive(&cfg, (case.body)(cfg.clone()));
        result
            .and_then(|()| cfg.check_timeout())
            .map(|()| cfg.state().passed.unwrap_or_default())
    }));
    report(case.name, seed, outcome, cfg_slot)
}

/// What the end of a run needs of its config (Lab 2's [`Config`], Lab 3's).
pub(crate) trait RunEnd {
    /// `(virtual_ms, fingerprint, events, lines)`, or `None` if the state is borrowed (a
    /// panic in the middle of an event).
    fn try_summary(&self) -> Option<(u64, u64, u64, Vec<String>)>;
    /// Drops pending tasks, then every node.
    fn drop_nodes(&self);
}

/// The report of a run whose body ended with `outcome` (or panicked): drops the nodes,
/// guarded, so that a `Drop` that panics fails this run (unless it failed already), rather
/// than the caller.
pub(crate) fn report<C: RunEnd>(
    test: &'static str,
    seed: u64,
    outcome: std::thread::Result<TestResult<Stats>>,
    mut cfg_slot: Option<C>,
) -> RunReport {
    let summary = cfg_slot.as_ref().and_then(C::try_summary);
    let at = SimTime::from_millis(summary.as_ref().map_or(0, |s| s.0));
    let mut result = outcome.unwrap_or_else(|payload| Err(failure_of_panic(payload, at)));
    let (virtual_ms, fingerprint, events, lines) = summary.unwrap_or_default();
    let dropped = catch_unwind(AssertUnwindSafe(|| {
        if let Some(cfg) = cfg_slot.take() {
            cfg.drop_nodes();
        }
    }));
    if let (Ok(_), Err(payload)) = (&result, dropped) {
        result = Err(failure_of_panic(payload, at));
    }
    RunReport {
        test,
        seed,
        result,
        virtual_ms,
        fingerprint,
        events,
        lines,
    }
}

/// The failure of a run that panicked at `at` with `payload`: a node's fault as its guard
/// classified it ([`NodeFault`]), any other panic by its message.
pub(crate) fn failure_of_panic(payload: Box<dyn std::any::Any + Send>, at: SimTime) -> Failure {
    let (kind, message) = match payload.downcast::<NodeFault>() {
        Ok(fault) => (fault.kind, fault.message),
        Err(payload) => {
            let message = panic_message(&*payload);
            (FailureKind::of_panic(&message), message)
        }
    };
    Failure { kind, message, at }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// The event loop: run every ready tester task, then simulate one event, until the test body
/// finishes or something fails. **Invariant:** this and [`labrpc::Sim::step`] are the only
/// places a run makes progress; virtual time moves only inside `step`.
fn drive<R: RaftNode>(
    cfg: &Config<R>,
    body: Pin<Box<dyn Future<Output = TestResult>>>,
) -> TestResult {
    let main = cfg.spawn(body);
    let mut instant = (SimTime::ZERO, 0u64);
    loop {
        run_ready(cfg.executor());
        if let Some(failure) = cfg.state().fatal.take() {
            return Err(failure);
        }
        if main.slot.borrow().is_some() {
            return Ok(());
        }
        let stepped = cfg.state().sim.step();
        match stepped {
            Some(Stepped::Wake(task)) => cfg.executor().borrow_mut().wake(task as usize),
            Some(Stepped::Node(server)) => cfg.after_input(server),
            Some(Stepped::CallDone { .. } | Stepped::Quiet) => {}
            None => return Err(stuck(cfg, "the test is waiting, but no event is scheduled")),
        }
        // A broken check ends the run at the event that broke it.
        if let Some(failure) = cfg.state().fatal.take() {
            return Err(failure);
        }
        let now = cfg.now();
        crate::watchdog::at(now.as_millis());
        if let Some(failure) = over_bounds(cfg, now) {
            return Err(failure);
        }
        if now == instant.0 {
            instant.1 += 1;
            if instant.1 == LIVELOCK_EVENTS {
                cfg.count_inputs(true);
            }
            if instant.1 == LIVELOCK_EVENTS + LIVELOCK_SAMPLE_EVENTS {
                return Err(stuck(cfg, &livelock_message(cfg, instant.1)));
            }
        } else {
            if instant.1 >= LIVELOCK_EVENTS {
                cfg.count_inputs(false);
            }
            instant = (now, 0);
        }
        if let Some(failure) = past_time_limit(now) {
            return Err(failure);
        }
    }
}

/// A `resource-limit` failure if the run holds more than [`MAX_PENDING_EVENTS`] events or
/// [`MAX_PENDING_BYTES`] bytes of messages at once.
fn over_bounds<R: RaftNode>(cfg: &Config<R>, now: SimTime) -> Option<Failure> {
    let state = cfg.state();
    pending_failure(state.sim.pending_events(), state.sim.pending_bytes(), now)
}

/// A `resource-limit` failure if `events` pending or `bytes` in flight are past the bounds
/// ([`MAX_PENDING_EVENTS`], [`MAX_PENDING_BYTES`]): every event loop's check (Lab 2's, Lab 3's).
pub(crate) fn pending_failure(events: usize, bytes: u64, now: SimTime) -> Option<Failure> {
    let message = if events > MAX_PENDING_EVENTS {
        format!(
            "{events} events pending at once (messages in flight, timers), more than \
             {MAX_PENDING_EVENTS}: an RPC storm? The run is stopped before it exhausts memory"
        )
    } else if bytes > MAX_PENDING_BYTES {
        format!(
            "{bytes} bytes of messages in flight at once, more than {MAX_PENDING_BYTES} \
             ({} MiB): a storm of large messages? The run is stopped before it exhausts memory",
            MAX_PENDING_BYTES >> 20
        )
    } else {
        return None;
    };
    Some(Failure {
        kind: FailureKind::ResourceLimit,
        message,
        at: now,
    })
}

/// A `time-limit` failure once virtual time is past [`VIRTUAL_TIME_LIMIT_MS`] (Go's `go test`
/// kills a binary after 10 minutes).
pub(crate) fn past_time_limit(now: SimTime) -> Option<Failure> {
    (now.as_millis() > VIRTUAL_TIME_LIMIT_MS).then(|| Failure {
        kind: FailureKind::TimeLimit,
        message: format!(
            "test ran past {} virtual seconds",
            VIRTUAL_TIME_LIMIT_MS / 1000
        ),
        at: now,
    })
}

/// The failure message of a livelock after `events` events at one instant: what each node
/// handled in the last [`LIVELOCK_SAMPLE_EVENTS`], most frequent first.
fn livelock_message<R: RaftNode>(cfg: &Config<R>, events: u64) -> String {
    let n = cfg.n();
    let state = cfg.state();
    let mut counted: Vec<(u64, String)> = Vec::new();
    for server in 0..n {
        let Some(inputs) = state
            .sim
            .node(server)
            .and_then(|host| host.counted_inputs())
        else {
            continue;
        };
        counted.extend(
            inputs
                .iter()
                .map(|(kind, &count)| (count, format!("S{server} {kind}"))),
        );
    }
    counted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let shown: Vec<String> = counted
        .iter()
        .take(6)
        .map(|(count, what)| format!("{what} ×{count}"))
        .collect();
    format!(
        "virtual time stopped advancing (livelock): {events} events at one instant; the last \
         {LIVELOCK_SAMPLE_EVENTS} were {}{}",
        shown.join(", "),
        if counted.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    )
}

fn stuck<R: RaftNode>(cfg: &Config<R>, why: &str) -> Failure {
    Failure {
        kind: FailureKind::Hang,
        message: why.to_owned(),
        at: cfg.now(),
    }
}

impl<R: RaftNode> RunEnd for Config<R> {
    fn try_summary(&self) -> Option<(u64, u64, u64, Vec<String>)> {
        let state = self.try_borrow_state()?;
        Some((
            state.sim.now().as_millis(),
            state.sim.fingerprint(),
            state.sim.event_count(),
            state.lines.clone(),
        ))
    }

    fn drop_nodes(&self) {
        Config::drop_nodes(self)
    }
}
