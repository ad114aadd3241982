//! Running one Lab 3 test on one seed: the event loop, as Lab 2's (`crate::run`), plus clerk
//! calls whose outcomes go back to the tasks that wait for them.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;

use labrpc::{SimTime, Stepped};

use super::config::{KvConfig, KvLab};
use super::{KvCase, cases};
use crate::exec::run_ready;
use crate::failure::{Failure, FailureKind, TestResult};
use crate::run::{
    LIVELOCK_EVENTS, RunEnd, RunOptions, RunReport, past_time_limit, pending_failure, report,
};

/// Runs the Lab 3 test `name` on `seed`. Never panics: a panic in the solution or the tester
/// is a failed run. The latency of `options` is not used: Lab 3 runs on
/// [`super::KV_HOP_LATENCY`]; the safety checks of Lab 2 are not run on Lab 3's Rafts.
pub fn run<L: KvLab>(name: &'static str, seed: u64, options: RunOptions) -> RunReport {
    let Some(case) = cases::<L>().into_iter().find(|case| case.name == name) else {
        panic!("no Lab 3 test is called {name:?}");
    };
    run_case(&case, seed, options)
}

/// Runs `case` (one of [`cases`], or a test's own) on `seed`. Never panics.
pub fn run_case<L: KvLab>(case: &KvCase<L>, seed: u64, options: RunOptions) -> RunReport {
    let mut cfg_slot: Option<KvConfig<L>> = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let cfg = boot(case, seed, options);
        cfg_slot = Some(cfg.clone());
        drive(&cfg, (case.body)(cfg.clone()))
            .and_then(|()| cfg.check_timeout())
            .map(|()| cfg.state().passed.unwrap_or_default())
    }));
    report(case.name, seed, outcome, cfg_slot)
}

impl<L: KvLab> RunEnd for KvConfig<L> {
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
        KvConfig::drop_nodes(self)
    }
}

/// Go's `make_config` for `case`, with the caller's observer and echo.
fn boot<L: KvLab>(case: &KvCase<L>, seed: u64, options: RunOptions) -> KvConfig<L> {
    let (n, unreliable) = (case.servers, case.unreliable);
    let cfg = KvConfig::<L>::observed(
        seed,
        case.name,
        (n, unreliable, case.max_raft_state),
        options.observer,
    );
    cfg.state().echo = options.echo;
    cfg
}

/// The event loop: ready tasks, then one event, until the body finishes or something fails.
fn drive<L: KvLab>(
    cfg: &KvConfig<L>,
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
            Some(Stepped::CallDone { call, reply }) => cfg.call_done(call, reply),
            Some(Stepped::Node(_) | Stepped::Quiet) => {}
            None => return Err(hang(cfg, "the test is waiting, but no event is scheduled")),
        }
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
                let message = format!(
                    "virtual time stopped advancing (livelock): {LIVELOCK_EVENTS} events at one \
                     instant"
                );
                return Err(hang(cfg, &message));
            }
        } else {
            instant = (now, 0);
        }
        if let Some(failure) = past_time_limit(now) {
            return Err(failure);
        }
    }
}

/// A `resource-limit` failure if the run holds too many events or bytes at once.
fn over_bounds<L: KvLab>(cfg: &KvConfig<L>, now: SimTime) -> Option<Failure> {
    let state = cfg.state();
    pending_failure(state.sim.pending_events(), state.sim.pending_bytes(), now)
}

fn hang<L: KvLab>(cfg: &KvConfig<L>, why: &str) -> Failure {
    Failure {
        kind: FailureKind::Hang,
        message: why.to_owned(),
        at: cfg.now(),
    }
}
