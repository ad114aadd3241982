//! Shrinking a failing schedule with proptest: [`ScheduleTree`] is a proptest `ValueTree`
//! whose simplifications are fewer steps, fewer fault kinds, an earlier end, a smaller
//! cluster and shorter windows; proptest's runner drives it, keeping each simplification
//! under which the run still fails with the same class and property. The seed stays the
//! same, so node randomness and the network's draws stay seeded: every attempt is
//! deterministic.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestError, TestRunner};
use raft::RaftNode;

use super::schedule::Schedule;
use super::with_schedule;
use crate::failure::{Failure, FailureKind};
use crate::registry::TestCase;
use crate::run::{RunOptions, RunReport, run_case};

/// Runs of the schedule a shrink may try, by default.
pub const MAX_ATTEMPTS: u32 = 400;

/// What a failure is, for shrinking: its class, and its property (a safety failure's
/// property name, a liveness failure's kind, a failed check's message without numbers).
pub fn signature(failure: &Failure) -> (FailureKind, String) {
    let property = match failure.kind {
        FailureKind::Safety => failure.message.split(':').next().unwrap_or("").to_owned(),
        FailureKind::Liveness | FailureKind::FailedCheck => failure
            .message
            .split(" (")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect(),
        _ => String::new(),
    };
    (failure.kind, property)
}

/// A shrunk failure: the schedule it started from, the smallest that still fails the same
/// way, that run's failure, and how many runs it took.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The failing schedule shrinking started from.
    pub original: Schedule,
    /// The smallest schedule found that fails with the same class and property.
    pub minimal: Schedule,
    /// The failure of the minimal schedule.
    pub failure: Failure,
    /// Runs made while shrinking.
    pub attempts: u32,
}

/// Runs `case` on `seed` following `schedule`.
pub fn run_schedule<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    schedule: &Schedule,
    options: RunOptions,
) -> RunReport {
    with_schedule(schedule.clone(), || run_case(case, seed, options))
}

/// Shrinks `schedule`, on which `case` fails on `seed` with `failure`, to the smallest
/// schedule proptest's shrinking finds that fails with the same [`signature`], in at most
/// `max_attempts` runs made with `options()`.
pub fn shrink<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    schedule: &Schedule,
    failure: &Failure,
    max_attempts: u32,
    options: &dyn Fn() -> RunOptions,
) -> Shrunk {
    let target = signature(failure);
    let attempts = RefCell::new(0u32);
    let last = RefCell::new(failure.clone());
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 1,
        max_shrink_iters: max_attempts,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let start = ScheduleTree {
        accepted: schedule.clone(),
        trying: None,
        next: 0,
        progressed: false,
        failed_at_ms: failure.at.as_millis(),
    };
    let outcome = runner.run_one(start, |candidate| {
        *attempts.borrow_mut() += 1;
        let report = run_schedule(case, seed, &candidate, options());
        match report.result {
            Err(failure) if signature(&failure) == target => {
                let shown = failure.to_string();
                *last.borrow_mut() = failure;
                Err(TestCaseError::fail(shown))
            }
            _ => Ok(()),
        }
    });
    let minimal = match outcome {
        Err(TestError::Fail(_, minimal)) => minimal,
        // The schedule no longer fails the same way (it cannot: runs are deterministic).
        _ => schedule.clone(),
    };
    // The failure of the minimal schedule: rerun it, since the last failing attempt may be
    // an earlier one.
    let report = run_schedule(case, seed, &minimal, options());
    let failure = report.result.err().unwrap_or_else(|| last.into_inner());
    Shrunk {
        original: schedule.clone(),
        minimal,
        failure,
        attempts: attempts.into_inner(),
    }
}

/// A proptest `ValueTree` over schedules: greedy, one simplification at a time, in passes
/// over the list of [`simplifications`]. A simplification that still fails is accepted, and
/// the pass goes on at the same place in the new schedule's list (the bigger ones before it
/// were just tried: starting over would try them all again after every step removed); one
/// that passes is dropped and the next one is tried. A pass that accepted anything is
/// followed by another from the top, until one accepts nothing.
#[derive(Debug)]
pub struct ScheduleTree {
    accepted: Schedule,
    trying: Option<Schedule>,
    next: usize,
    /// Whether this pass accepted a simplification.
    progressed: bool,
    failed_at_ms: u64,
}

impl ScheduleTree {
    /// Moves to the next simplification of the accepted schedule, if there is one, starting
    /// a new pass when this one made progress.
    fn advance(&mut self) -> bool {
        loop {
            let candidates = simplifications(&self.accepted, self.failed_at_ms);
            if let Some(candidate) = candidates.into_iter().nth(self.next) {
                self.trying = Some(candidate);
                self.next += 1;
                return true;
            }
            if !std::mem::take(&mut self.progressed) {
                self.trying = None;
                return false;
            }
            self.next = 0;
        }
    }
}

impl ValueTree for ScheduleTree {
    type Value = Schedule;

    fn current(&self) -> Schedule {
        self.trying.clone().unwrap_or_else(|| self.accepted.clone())
    }

    fn simplify(&mut self) -> bool {
        // Called after the current value failed: keep it.
        if let Some(failing) = self.trying.take() {
            self.accepted = failing;
            self.next = self.next.saturating_sub(1);
            self.progressed = true;
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        // Called after the current value passed: drop it, try the next.
        self.trying.take().is_some() && self.advance()
    }
}

/// The simplifications of `schedule`, biggest first: an earlier end (at the failure, for a
/// failure of the safety phase), fewer fault kinds, fewer steps (halves, quarters, … single
/// steps), a smaller cluster, no client, shorter windows. Each is a valid schedule.
pub fn simplifications(schedule: &Schedule, failed_at_ms: u64) -> Vec<Schedule> {
    let mut out = Vec::new();
    if failed_at_ms < schedule.heal_ms {
        let mut early = schedule.clone();
        early.heal_ms = failed_at_ms + 1;
        early.steps.retain(|step| step.at_ms <= early.heal_ms);
        out.push(early);
    }
    let mut kinds: Vec<&str> = schedule.steps.iter().map(|s| s.fault.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.len() > 1 {
        for kind in kinds {
            let mut fewer = schedule.clone();
            fewer.steps.retain(|step| step.fault.kind() != kind);
            out.push(fewer);
        }
    }
    let len = schedule.steps.len();
    // Halves first; a schedule of one step tries none.
    let mut chunk = (len / 2).max(len.min(1));
    while chunk >= 1 {
        for start in (0..len).step_by(chunk) {
            let mut fewer = schedule.clone();
            fewer.steps.drain(start..(start + chunk).min(len));
            out.push(fewer);
        }
        chunk /= 2;
    }
    for servers in [3, 5] {
        if servers < schedule.servers {
            let mut smaller = schedule.clone();
            smaller.servers = servers;
            if smaller.check().is_ok() {
                out.push(smaller);
            }
        }
    }
    if schedule.client_gap_ms > 0 {
        let mut quiet = schedule.clone();
        quiet.client_gap_ms = 0;
        out.push(quiet);
    }
    for k in 0..len {
        let mut shorter = schedule.clone();
        if let Some(window) = shorter.steps[k].fault.window_ms()
            && *window >= 100
        {
            *window /= 2;
            out.push(shorter);
        }
    }
    out.retain(|candidate| candidate != schedule && candidate.check().is_ok());
    out
}

/// Writes `schedule` as a file `scripts/replay --schedule FILE` replays.
pub fn write_schedule(path: &Path, schedule: &Schedule) -> std::io::Result<()> {
    std::fs::write(path, schedule.to_file_text())
}

/// The report of a shrink, as printed: the original's size, the minimal schedule one line
/// per step, its failure, and where the files are.
pub fn describe(shrunk: &Shrunk, files: Option<(&Path, &Path)>) -> String {
    let mut out = format!(
        "shrunk the schedule from {} step(s) to {} in {} run(s); the minimal schedule:\n{}\n  \
         fails: {}",
        shrunk.original.steps.len(),
        shrunk.minimal.steps.len(),
        shrunk.attempts,
        shrunk.minimal,
        shrunk.failure
    );
    if let Some((original, minimal)) = files {
        out.push_str(&format!(
            "\n  schedule files: {} (original), {} (minimal); replay one with \
             scripts/replay --schedule FILE TEST SEED",
            original.display(),
            minimal.display()
        ));
    }
    out
}

/// For a failing run of a nemesis test: writes its schedule as `<stem>.schedule.json` and
/// its shrunk schedule as `<stem>.shrunk.json` beside `stem`, and returns the text of
/// [`describe`]. `None` for a test outside the family or a passing run.
pub fn save_beside<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    report: &RunReport,
    options: &dyn Fn() -> RunOptions,
    stem: &Path,
) -> Option<std::io::Result<String>> {
    let failure = report.result.as_ref().err()?;
    let schedule = super::schedule_for(case.name, case.part, seed)?;
    let shrunk = shrink(case, seed, &schedule, failure, MAX_ATTEMPTS, options);
    let with_ext = |ext: &str| -> PathBuf {
        let mut name = stem.as_os_str().to_owned();
        name.push(ext);
        PathBuf::from(name)
    };
    let (original, minimal) = (with_ext(".schedule.json"), with_ext(".shrunk.json"));
    let written = write_schedule(&original, &schedule)
        .and_then(|()| write_schedule(&minimal, &shrunk.minimal));
    Some(written.map(|()| describe(&shrunk, Some((&original, &minimal)))))
}
