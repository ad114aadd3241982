//! The flake hunt: many seeds of many tests on a pool of worker threads.
//!
//! A feeder thread walks the [`plan`] into a bounded crossbeam channel; each
//! worker pulls `(test, seed)` runs and makes each one a single-threaded simulation with
//! [`tester::run_case`] (or [`tester::determinism::run_twice`]); the main thread writes the
//! result file, draws the display and runs the wall-clock watchdog. A run that panics is a
//! failed run ([`tester::run_case`] catches it; the panic hook keeps workers quiet). A run
//! still going after `--hang-timeout` seconds is reported as a hang with its seed; its thread
//! cannot be killed, so it is abandoned, a fresh worker takes its place, and at the end the
//! process exits without joining it.
//!
//! After a run fails, its worker reruns the seed (cheap: the run is deterministic) with the
//! debug log captured and a [`tester::trace::Trace`] installed, and saves both to the output
//! folder.
//!
//! Entry points: [`hunt_main`] hunts any [`RaftNode`], from a binary in the crate that
//! implements it; [`main_with`] is `scripts/hunt` (the reference, or `--canary`), whose binary
//! lives in the `raft-reference` package.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use raft::RaftNode;
use tester::trace::Trace;
use tester::{FailureKind, RunOptions, TestCase, determinism, run_case};

use crate::display::{Display, human_duration};
use crate::logging::{self, Capture};
use crate::plan::{self, Done, Shard};
use crate::record::{self, NONDETERMINISTIC, RunRecord, Summary};
use crate::{Checks, Implementation, junit, megabytes, peak_memory_bytes};

/// Largest log or trace file saved for one failing run; the rest is cut.
const ARTIFACT_LIMIT_BYTES: u64 = 64 << 20;
/// Stack of a worker thread (a deep panic or a recursive implementation needs room).
const WORKER_STACK_BYTES: usize = 32 << 20;

/// `scripts/hunt`: run many seeds of the lab tests in parallel and report every failure with
/// a one-line replay.
#[derive(Parser, Debug)]
#[command(
    name = "hunt",
    about = "Run many seeds of the Lab 2 tests in parallel; report every failure with its replay.",
    after_help = "Examples:\n  \
        scripts/hunt --seeds 1000                    every test, seeds 1..=1000\n  \
        scripts/hunt 2c figure_8 --seeds 500 -j 8    the 2C tests and the Figure 8 ones\n  \
        scripts/hunt --seeds 10000 --shard 3/16 --jsonl shard3.jsonl\n  \
        scripts/hunt --seeds 10000 --jsonl r.jsonl --resume      continue an interrupted hunt\n  \
        scripts/hunt --canary 2a --seeds 3           the broken canary: must fail"
)]
pub struct HuntArgs {
    /// Lab parts (2a, 2b, 2c, 2d) or parts of test names; none selects every test.
    pub filters: Vec<String>,
    /// Seeds per test (at least 1).
    #[arg(short = 'n', long, default_value_t = 100, value_parser = plan::parse_seeds)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Parallel runs (default: available cores).
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Folder for the log and trace of every failing run
    /// [default: hunt-out/YYYYmmdd-HHMMSS, in UTC].
    #[arg(short = 'o', long)]
    pub out: Option<PathBuf>,
    /// Stop at the first failure (runs in flight finish).
    #[arg(short = 'x', long)]
    pub stop_on_failure: bool,
    /// Run shard I of N (I counts from 0): seeds first+I, first+I+N, ...
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Write a JUnit XML report here at the end.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Append one JSON object per finished run to this file (see --resume, scripts/merge).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Continue the hunt in --jsonl FILE: skip the (test, seed) runs it already holds.
    #[arg(long, requires = "jsonl")]
    pub resume: bool,
    /// Hunt the deliberately broken canary instead of the reference (it must fail; scripts/hunt
    /// only).
    #[arg(long)]
    pub canary: bool,
    /// Run every seed twice and compare event by event (also: LAB_CHECK_DETERMINISM=1).
    #[arg(long)]
    pub check_determinism: bool,
    /// Fail runs that print a Go warning, such as "warning: term changed even though there
    /// were no failures" (also: LAB_STRICT=1). Without it they are counted and shown.
    #[arg(long)]
    pub strict: bool,
    /// Turn off the safety checks after every input (also: LAB_CHECKS=off), to compare speed
    /// with the Go checks alone. Printed replay commands carry it.
    #[arg(long)]
    pub no_checks: bool,
    /// Report a run still going after this many wall-clock seconds as a hang.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub hang_timeout: u64,
    /// Save the log and trace of at most this many failing runs per test.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub keep: u64,
    /// Plain lines even on a terminal (no progress bars).
    #[arg(long)]
    pub plain: bool,
    /// List the selected tests and exit.
    #[arg(long)]
    pub list: bool,
}

/// Interrupts (Ctrl-C, SIGTERM) received; the first stops the hunt cleanly, the second quits.
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// `scripts/hunt`: parses the arguments and runs `hunt` on them (which picks the reference,
/// or the canary with `--canary`, and calls [`run`]). Returns the exit status: 0 if every run
/// passed, 1 after failures or a hunt that stopped early, 2 after a usage error.
pub fn main_with(hunt: impl FnOnce(&HuntArgs) -> Result<i32, String>) -> ExitCode {
    let args = HuntArgs::parse();
    exit_code(with_signals(|| hunt(&args)))
}

/// The hunt over your own Raft: the whole of a `src/bin/hunt.rs` in the crate that implements
/// it, with the same options and output as `scripts/hunt` (see `scripts/README.md`):
///
/// ```no_run
/// # mod my_raft {
/// #     use raft::{Context, Init, RaftNode, RaftView, TimerId};
/// #     pub struct MyRaft;
/// #     impl RaftNode for MyRaft {
/// #         type Request = ();
/// #         type Reply = ();
/// #         fn new(_: &mut Context<'_, ()>, _: Init) -> Self { MyRaft }
/// #         fn handle_request(&mut self, _: &mut Context<'_, ()>, _: ()) {}
/// #         fn handle_reply(&mut self, _: &mut Context<'_, ()>, _: usize, _: (), _: Option<()>) {}
/// #         fn handle_timer(&mut self, _: &mut Context<'_, ()>, _: TimerId) {}
/// #         fn start(&mut self, _: &mut Context<'_, ()>, _: Vec<u8>) -> Option<(u64, u64)> { None }
/// #         fn state(&self) -> (u64, bool) { (0, false) }
/// #         fn inspect(&self) -> RaftView { RaftView::default() }
/// #     }
/// # }
/// fn main() -> std::process::ExitCode {
///     scripts::hunt_main::<my_raft::MyRaft>() // your type here
/// }
/// ```
///
/// Result files name the implementation by its type name, and printed replay commands run the
/// crate's `replay` binary ([`crate::replay_main`]). `--canary` is refused: the canary wraps
/// this repository's reference, so `scripts/hunt --canary` runs it.
pub fn hunt_main<R: RaftNode>() -> ExitCode {
    let args = HuntArgs::parse();
    if args.canary {
        eprintln!(
            "hunt: --canary hunts this repository's canary (a broken reference), not your Raft; \
             run it with scripts/hunt --canary"
        );
        return ExitCode::from(2);
    }
    let implementation = Implementation::Own(std::any::type_name::<R>());
    exit_code(with_signals(|| run::<R>(&args, implementation)))
}

/// Runs a hunt with the Ctrl-C and SIGTERM handler installed: the first signal stops the hunt
/// after the runs in flight and prints the report so far (resume it with `--resume`); a
/// second one quits at once.
fn with_signals(hunt: impl FnOnce() -> Result<i32, String>) -> Result<i32, String> {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTS.fetch_add(1, Ordering::SeqCst) > 0 {
            eprintln!("\nhunt: interrupted twice, quitting now");
            std::process::exit(130);
        }
    });
    hunt()
}

/// A hunt's result as an exit status; a usage error is printed and gives 2.
fn exit_code(result: Result<i32, String>) -> ExitCode {
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(message) => {
            eprintln!("hunt: {message}");
            ExitCode::from(2)
        }
    }
}

/// What the workers share.
struct Shared {
    stop: AtomicBool,
    checks: Checks,
    implementation: Implementation,
    out: PathBuf,
    /// Failing runs of each test whose artifacts were taken (capped by `--keep`).
    saved: Vec<AtomicU64>,
    /// Whether anything was written to `out`.
    wrote: AtomicBool,
    keep: u64,
}

/// What a worker is doing, for the watchdog. One lock, so that a worker finishing a run and
/// the watchdog abandoning it cannot both report it.
#[derive(Default)]
struct Slot(Mutex<SlotState>);

#[derive(Default)]
struct SlotState {
    /// The run in progress: test, seed, since when, and whether it is the rerun that saves a
    /// failure's log and trace.
    current: Option<(usize, u64, Instant, bool)>,
    abandoned: bool,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self, test: usize, seed: u64, rerun: bool) {
        self.lock().current = Some((test, seed, Instant::now(), rerun));
    }

    /// Ends the current run; false if the watchdog abandoned it (the worker must then quit
    /// without reporting it).
    fn end(&self) -> bool {
        let mut state = self.lock();
        state.current = None;
        !state.abandoned
    }

    /// Abandons the current run if it has been going for `limit`: returns it.
    fn abandon_if_older(&self, limit: Duration) -> Option<(usize, u64, Duration, bool)> {
        let mut state = self.lock();
        let (test, seed, since, rerun) = state.current?;
        if state.abandoned || since.elapsed() < limit {
            return None;
        }
        state.abandoned = true;
        Some((test, seed, since.elapsed(), rerun))
    }

    fn abandoned(&self) -> bool {
        self.lock().abandoned
    }
}

enum Msg {
    /// A run finished.
    Done {
        worker: usize,
        test: usize,
        record: RunRecord,
        /// For a failure: the log the worker is about to write (the trace is beside it).
        log: Option<PathBuf>,
    },
    /// Something went wrong saving a failing run's artifacts.
    Saved { worker: usize, note: String },
    /// A worker found no more runs.
    Exit { worker: usize },
}

/// The hunt over implementation `R`, named `implementation` in reports and replay commands.
/// Returns the exit status (0: every run passed), or a usage error.
pub fn run<R: RaftNode>(args: &HuntArgs, implementation: Implementation) -> Result<i32, String> {
    let cases = plan::select(tester::registry::all::<R>(), &args.filters)?;
    if args.list {
        for case in &cases {
            println!("{}", case.name);
        }
        return Ok(0);
    }
    let setup = Setup::new(args, implementation, &cases)?;
    setup.announce(args, cases.len(), implementation);
    logging::init_capture();
    logging::install_quiet_panic_hook();
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        checks: setup.checks,
        implementation,
        out: setup.out.clone(),
        saved: cases.iter().map(|_| AtomicU64::new(0)).collect(),
        wrote: AtomicBool::new(false),
        keep: args.keep,
    });
    let jobs = setup.jobs;
    let (mut progress, feed) = Progress::new(args, setup, &cases, implementation);
    let cases = Arc::new(cases);
    let mut workers = Workers::start(&cases, &shared, jobs, feed)?;
    let started = Instant::now();
    progress.collect(args, &mut workers, &cases)?;
    progress.display.finish();
    let elapsed = started.elapsed().as_secs_f64();
    Ok(progress.report(args, elapsed, &shared, workers.abandoned))
}

/// What a hunt is about to do: the runs, the checks, where results go.
struct Setup {
    jobs: usize,
    checks: Checks,
    seeds_per_test: u64,
    /// Runs in the plan, done or not.
    total: u64,
    /// Runs already in the result file (`--resume`), per test.
    resumed_per_test: Vec<u64>,
    summary: Summary,
    jsonl: Option<File>,
    out: PathBuf,
    /// The runs to hand out: the shard's seeds, less those done.
    feed: (plan::Seeds, Done),
}

impl Setup {
    fn new<R: RaftNode>(
        args: &HuntArgs,
        implementation: Implementation,
        cases: &[TestCase<R>],
    ) -> Result<Setup, String> {
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        let shard = args.shard.unwrap_or_default();
        if let Some(empty) = plan::no_seeds(args.first_seed, args.seeds, shard) {
            return Err(empty);
        }
        let seeds = plan::shard_seeds(args.first_seed, args.seeds, shard);
        let seeds_per_test = seeds.clone().count() as u64;
        let names: Vec<String> = cases.iter().map(|c| c.name.to_owned()).collect();
        let mut summary = Summary::new(names);
        let mut done = Done::new(cases.len(), args.first_seed);
        let mut resumed_per_test = vec![0u64; cases.len()];
        let jsonl = match &args.jsonl {
            Some(path) => Some(open_results(
                path,
                args,
                implementation,
                cases,
                shard,
                &mut done,
                &mut summary,
                &mut resumed_per_test,
            )?),
            None => None,
        };
        Ok(Setup {
            jobs,
            checks: Checks {
                determinism: args.check_determinism || determinism::enabled(),
                strict: args.strict || tester::warnings::strict_from_env(),
                safety_off: Checks::safety_off_from(args.no_checks),
            },
            seeds_per_test,
            total: seeds_per_test * cases.len() as u64,
            resumed_per_test,
            summary,
            jsonl,
            out: args.out.clone().unwrap_or_else(default_out),
            feed: (seeds, done),
        })
    }

    /// The first line: what runs, on what, how.
    fn announce(&self, args: &HuntArgs, tests: usize, implementation: Implementation) {
        let shard = args.shard.unwrap_or_default();
        let resumed: u64 = self.resumed_per_test.iter().sum();
        let mut how = String::new();
        if self.checks.determinism {
            how.push_str(", each seed twice (determinism check)");
        }
        if self.checks.strict {
            how.push_str(", warnings fail (strict)");
        }
        if self.checks.safety_off {
            how.push_str(", safety checks OFF");
        }
        if resumed > 0 {
            how.push_str(&format!("; {resumed} run(s) already in the result file"));
        }
        println!(
            "hunt: {tests} test(s) x {} seed(s) (seeds {}..={}{}) = {} runs of {}, {} job(s){how}",
            self.seeds_per_test,
            args.first_seed,
            args.first_seed.saturating_add(args.seeds).saturating_sub(1),
            if shard.count > 1 {
                format!(", shard {shard}")
            } else {
                String::new()
            },
            self.total,
            implementation.as_str(),
            self.jobs,
        );
    }
}

/// The worker threads and the feeder that hands them runs.
struct Workers<R: RaftNode> {
    cases: Arc<Vec<TestCase<R>>>,
    shared: Arc<Shared>,
    jobs: Receiver<(usize, u64)>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    slots: Vec<Arc<Slot>>,
    /// Workers that have not exited and were not abandoned.
    live: usize,
    abandoned: usize,
    /// Abandoned workers after which the hunt stops.
    max_abandoned: usize,
}

impl<R: RaftNode> Workers<R> {
    /// Starts the feeder, which walks the plan lazily into a short queue, and `jobs` workers.
    fn start(
        cases: &Arc<Vec<TestCase<R>>>,
        shared: &Arc<Shared>,
        jobs: usize,
        (seeds, done): (plan::Seeds, Done),
    ) -> Result<Workers<R>, String> {
        let (job_tx, job_rx) = bounded::<(usize, u64)>(jobs * 4);
        let feeder_shared = Arc::clone(shared);
        let tests = cases.len();
        std::thread::Builder::new()
            .name("hunt-feeder".into())
            .spawn(move || {
                for run in plan::runs(tests, seeds, &done) {
                    if feeder_shared.stop.load(Ordering::Relaxed) || job_tx.send(run).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let (tx, rx) = unbounded::<Msg>();
        let mut workers = Workers {
            cases: Arc::clone(cases),
            shared: Arc::clone(shared),
            jobs: job_rx,
            tx,
            rx,
            slots: Vec::new(),
            live: 0,
            abandoned: 0,
            max_abandoned: jobs.max(2),
        };
        for _ in 0..jobs {
            workers.spawn()?;
        }
        Ok(workers)
    }

    /// Starts one more worker.
    fn spawn(&mut self) -> Result<(), String> {
        let id = self.slots.len();
        let slot = Arc::new(Slot::default());
        self.slots.push(Arc::clone(&slot));
        let (cases, jobs, tx, shared) = (
            Arc::clone(&self.cases),
            self.jobs.clone(),
            self.tx.clone(),
            Arc::clone(&self.shared),
        );
        std::thread::Builder::new()
            .name(format!("hunt-worker-{id}"))
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || worker::<R>(id, &cases, &jobs, &tx, &slot, &shared))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        self.live += 1;
        Ok(())
    }
}

/// The main thread's view of a hunt in progress: what finished, and why it stops early.
struct Progress {
    display: Display,
    summary: Summary,
    jsonl: Option<File>,
    checks: Checks,
    implementation: Implementation,
    jobs: usize,
    /// Runs in the plan, done or not.
    total: u64,
    ran: u64,
    resumed: u64,
    stop_reason: Option<String>,
    write_error: Option<String>,
}

impl Progress {
    /// The progress of the hunt `setup` describes, and the runs to hand out.
    fn new<R: RaftNode>(
        args: &HuntArgs,
        setup: Setup,
        cases: &[TestCase<R>],
        implementation: Implementation,
    ) -> (Progress, (plan::Seeds, Done)) {
        // Bars only when both streams are a terminal: a redirected stdout wants plain lines.
        let terminal =
            !args.plain && std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let rows: Vec<(&str, u64, u64)> = cases
            .iter()
            .zip(&setup.resumed_per_test)
            .map(|(case, &done)| (case.name, done, setup.seeds_per_test))
            .collect();
        let progress = Progress {
            display: Display::new(&rows, terminal),
            summary: setup.summary,
            jsonl: setup.jsonl,
            checks: setup.checks,
            implementation,
            jobs: setup.jobs,
            total: setup.total,
            ran: 0,
            resumed: setup.resumed_per_test.iter().sum(),
            stop_reason: None,
            write_error: None,
        };
        (progress, setup.feed)
    }

    /// Stops the hunt (runs in flight finish) for `reason`, unless it is stopping already.
    fn stop(&mut self, shared: &Shared, reason: &str) {
        if self.stop_reason.is_none() {
            self.stop_reason = Some(reason.to_owned());
            shared.stop.store(true, Ordering::SeqCst);
        }
    }

    /// Records a finished run: result file, display, summary. Returns whether it failed.
    fn finish_run(&mut self, test: usize, record: RunRecord, log: Option<PathBuf>) -> bool {
        self.ran += 1;
        if let Some(file) = self.jsonl.as_mut() {
            let line = serde_json::to_string(&record).expect("a record serializes");
            if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                let error = format!("writing the result file: {e}");
                self.write_error.get_or_insert(error);
            }
        }
        self.display.record(test, record.passed);
        if !record.passed {
            let mut block = failure_block(&record, self.implementation, self.checks);
            if let Some(log) = log {
                block.push_str(&format!("\n    log:    {} (and .trace)", log.display()));
            }
            self.display.println(&block);
        } else if record.warnings > 0 && self.summary.warned.len() < record::LISTED_WARNINGS {
            self.display.println(&record::warning_block(&record));
        }
        self.summary.add(&record);
        !record.passed
    }

    /// Takes messages from the workers and runs the watchdog until every worker is done.
    fn collect<R: RaftNode>(
        &mut self,
        args: &HuntArgs,
        workers: &mut Workers<R>,
        cases: &[TestCase<R>],
    ) -> Result<(), String> {
        let hang_after = Duration::from_secs(args.hang_timeout.max(1));
        while workers.live > 0 {
            if INTERRUPTS.load(Ordering::SeqCst) > 0 && self.stop_reason.is_none() {
                self.stop(&workers.shared, "interrupted: by Ctrl-C or SIGTERM");
                self.display.println(
                    "interrupted: finishing the runs in flight (interrupt again to quit now)",
                );
            }
            match workers.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(message) => self.take(message, args, workers),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.watchdog(args, workers, cases, hang_after)?;
            self.display.tick();
        }
        Ok(())
    }

    /// One message from a worker.
    fn take<R: RaftNode>(&mut self, message: Msg, args: &HuntArgs, workers: &mut Workers<R>) {
        match message {
            Msg::Done {
                worker,
                test,
                record,
                log,
            } => {
                if workers.slots[worker].abandoned() {
                    return;
                }
                if self.finish_run(test, record, log) && args.stop_on_failure {
                    self.stop(&workers.shared, STOPPED_AT_FIRST_FAILURE);
                }
            }
            Msg::Saved { worker, note } => {
                if !workers.slots[worker].abandoned() {
                    self.display.println(&note);
                }
            }
            Msg::Exit { worker } => {
                if !workers.slots[worker].abandoned() {
                    workers.live -= 1;
                }
            }
        }
    }

    /// Abandons every run older than `hang_after` and reports it as a hang; replaces its
    /// worker unless the hunt stops.
    fn watchdog<R: RaftNode>(
        &mut self,
        args: &HuntArgs,
        workers: &mut Workers<R>,
        cases: &[TestCase<R>],
        hang_after: Duration,
    ) -> Result<(), String> {
        for worker in 0..workers.slots.len() {
            let Some((test, seed, wall, rerun)) =
                workers.slots[worker].abandon_if_older(hang_after)
            else {
                continue;
            };
            workers.live -= 1;
            workers.abandoned += 1;
            let case = &cases[test];
            if rerun {
                // The run itself was reported already; only the rerun for its log hung.
                self.display.println(&format!(
                    "    the rerun of {} seed {seed} that saves its log and trace hung; its \
                     thread was abandoned",
                    case.name
                ));
            } else {
                let record = hang_record(case, seed, wall, self.implementation, self.checks);
                let log = save_hang_note(&workers.shared, test, case, seed, &record);
                self.finish_run(test, record, log);
            }
            if args.stop_on_failure {
                self.stop(&workers.shared, STOPPED_AT_FIRST_FAILURE);
            } else if workers.abandoned >= workers.max_abandoned {
                let reason = format!(
                    "stopped: {} runs hung, each still spinning on an abandoned thread",
                    workers.abandoned
                );
                self.stop(&workers.shared, &reason);
            } else if !workers.shared.stop.load(Ordering::SeqCst) {
                workers.spawn()?;
            }
        }
        Ok(())
    }

    /// The end of the hunt: failures, warnings, the table, the totals. Returns the exit
    /// status.
    fn report(&mut self, args: &HuntArgs, elapsed: f64, shared: &Shared, abandoned: usize) -> i32 {
        let summary = &self.summary;
        if !summary.failures.is_empty() {
            println!("\n{}", summary.failure_header());
            print!("{}", summary.failure_list());
        }
        if let Some(warnings) = summary.warning_list() {
            print!("\n{warnings}");
            if !self.checks.strict {
                println!("(--strict, or LAB_STRICT=1, fails runs that print warnings)");
            }
        }
        println!();
        print!("{}", summary.table());
        self.print_notes(shared, elapsed, abandoned);
        if let Some(path) = &args.junit {
            let suite = junit::Suite {
                name: format!("hunt ({})", self.implementation.as_str()),
                summary: &self.summary,
            };
            if let Err(e) = std::fs::write(path, junit::render("hunt", &[suite], Some(elapsed))) {
                let error = format!("writing {}: {e}", path.display());
                self.write_error.get_or_insert(error);
            }
        }
        self.print_ending(args);
        let failed =
            self.summary.failed() > 0 || self.write_error.is_some() || self.stop_reason.is_some();
        i32::from(failed)
    }

    /// The lines under the table: failures by kind, where the logs are, speed and memory.
    fn print_notes(&self, shared: &Shared, elapsed: f64, abandoned: usize) {
        if !self.summary.kinds.is_empty() {
            let kinds: Vec<String> = self
                .summary
                .kinds
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            println!("failures by kind: {}", kinds.join(", "));
        }
        if shared.wrote.load(Ordering::SeqCst) {
            println!("logs and traces of failing runs: {}", shared.out.display());
        }
        if abandoned > 0 {
            println!(
                "{abandoned} hung run(s) left on abandoned threads; exiting without waiting for them"
            );
        }
        println!(
            "{} run(s) in {} ({:.1} runs/s with {} job(s)); peak memory (VmHWM) {}",
            self.ran,
            human_duration(elapsed),
            self.ran as f64 / elapsed.max(1e-9),
            self.jobs,
            peak_memory_bytes().map_or_else(|| "unknown".into(), megabytes)
        );
    }

    /// The last lines: errors, why the hunt stopped early (right above the totals, so that
    /// `N passed, 0 failed` with exit status 1 explains itself), and the totals.
    fn print_ending(&self, args: &HuntArgs) {
        let total = self.total;
        if let Some(error) = &self.write_error {
            println!("error: {error}");
        }
        if total == self.resumed && self.ran == 0 {
            println!("nothing left to run: the result file holds all {total} run(s) of this hunt");
        }
        if let Some(reason) = &self.stop_reason {
            let skipped = total.saturating_sub(self.resumed + self.ran);
            let resume = if args.jsonl.is_some() {
                "; rerun with --resume to finish them"
            } else {
                ""
            };
            println!(
                "{reason}; {skipped} of {total} run(s) not started, so the exit status is 1{resume}"
            );
        }
        println!("{}", self.summary.last_line());
        let _ = std::io::stdout().flush();
    }
}

/// Why a hunt with `--stop-on-failure` stopped.
const STOPPED_AT_FIRST_FAILURE: &str = "stopped: at the first failure (--stop-on-failure)";

/// Opens `--jsonl FILE` for appending. With `--resume`, first reads it: its runs of this plan
/// count as done (and in the table); without, a non-empty file is an error (no silent mixing).
#[allow(clippy::too_many_arguments)]
fn open_results<R: RaftNode>(
    path: &Path,
    args: &HuntArgs,
    implementation: Implementation,
    cases: &[TestCase<R>],
    shard: Shard,
    done: &mut Done,
    summary: &mut Summary,
    resumed_per_test: &mut [u64],
) -> Result<File, String> {
    let exists = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if exists && !args.resume {
        return Err(format!(
            "{} already holds results: pass --resume to continue that hunt, or choose another file",
            path.display()
        ));
    }
    if exists {
        let last = args.first_seed.saturating_add(args.seeds);
        for record in record::read_jsonl(path)? {
            if record.implementation != implementation.as_str() {
                return Err(format!(
                    "{} holds runs of the {} implementation, not the {}",
                    path.display(),
                    record.implementation,
                    implementation.as_str()
                ));
            }
            let Some(test) = cases.iter().position(|c| c.name == record.test) else {
                continue;
            };
            let in_shard = record.seed >= args.first_seed
                && record.seed < last
                && (record.seed - args.first_seed) % shard.count == shard.index;
            if in_shard && done.insert(test, record.seed) {
                resumed_per_test[test] += 1;
                summary.add(&record);
            }
        }
    }
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // A hunt killed mid-write leaves a cut-off line: cut it away (its run was skipped above,
    // and runs again), so that the next resume and `merge` read only whole lines.
    cut_partial_last_line(&mut file).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}

/// Truncates `file` after its last newline (to nothing if it has none), if it does not end
/// with one. Reads backwards, 64 KiB at a time: a results file can be gigabytes.
pub fn cut_partial_last_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(newline) = part.iter().rposition(|&b| b == b'\n') {
            let keep = start + newline as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    file.set_len(0)
}

/// `hunt-out/20260326-101500` (UTC), made unique if a folder of that name exists.
fn default_out() -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = utc_stamp(secs);
    let base = PathBuf::from("hunt-out").join(&stamp);
    let mut path = base.clone();
    let mut n = 2;
    while path.exists() {
        path = PathBuf::from("hunt-out").join(format!("{stamp}-{n}"));
        n += 1;
    }
    path
}

/// `YYYYmmdd-HHMMSS` in UTC for Unix seconds (Hinnant's civil-from-days).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn worker<R: RaftNode>(
    id: usize,
    cases: &[TestCase<R>],
    jobs: &Receiver<(usize, u64)>,
    tx: &Sender<Msg>,
    slot: &Slot,
    shared: &Shared,
) {
    logging::quiet_panics_on_this_thread();
    for (test, seed) in jobs.iter() {
        if shared.stop.load(Ordering::SeqCst) {
            continue;
        }
        let case = &cases[test];
        slot.begin(test, seed, false);
        let record = run_one(case, seed, shared.implementation, shared.checks);
        if !slot.end() {
            return;
        }
        let save =
            !record.passed && shared.saved[test].fetch_add(1, Ordering::SeqCst) < shared.keep;
        let fingerprint = record.fingerprint.clone();
        let _ = tx.send(Msg::Done {
            worker: id,
            test,
            record,
            log: save.then(|| artifact_path(shared, case.name, seed, "log")),
        });
        if save {
            slot.begin(test, seed, true);
            let note = save_artifacts(case, seed, &fingerprint, shared);
            if !slot.end() {
                return;
            }
            if let Some(note) = note {
                let _ = tx.send(Msg::Saved { worker: id, note });
            }
        }
    }
    let _ = tx.send(Msg::Exit { worker: id });
}

/// One run (two with the determinism check), as a record.
pub fn run_one<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    implementation: Implementation,
    checks: Checks,
) -> RunRecord {
    let started = Instant::now();
    let (mut report, mismatch) = if checks.determinism {
        determinism::run_twice(case, seed, checks.run_options())
    } else {
        (run_case(case, seed, checks.run_options()), None)
    };
    if checks.strict {
        report.fail_on_warnings();
    }
    // Microseconds are plenty, and keep result lines short.
    let wall_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
    let (kind, message, at_ms) = failure_of(&report, mismatch.as_ref());
    let passed = kind.is_none();
    let warnings = report.warnings();
    let fingerprint = format!("{:016x}", report.fingerprint);
    let replay = (!passed || !warnings.is_empty())
        .then(|| implementation.replay_command(case.name, seed, checks, Some(&fingerprint)));
    RunRecord {
        test: case.name.to_owned(),
        part: case.part.as_str().to_owned(),
        seed,
        implementation: implementation.as_str().to_owned(),
        passed,
        kind,
        message,
        at_ms,
        wall_ms,
        virtual_ms: report.virtual_ms,
        events: report.events,
        warnings: warnings.len() as u64,
        warning: warnings.first().map(|w| (*w).to_owned()),
        fingerprint,
        replay,
    }
}

/// The class, message and virtual time of a failed run, as result files write them.
fn failure_of(
    report: &tester::RunReport,
    mismatch: Option<&determinism::Mismatch>,
) -> (Option<String>, Option<String>, Option<u64>) {
    let panicked_at = logging::take_panic_location();
    match (mismatch, &report.result) {
        (Some(mismatch), _) => (
            Some(NONDETERMINISTIC.to_owned()),
            Some(mismatch.to_string()),
            mismatch.at.1.or(mismatch.at.0).map(|t| t.as_millis()),
        ),
        (None, Err(failure)) => {
            // Cut before it is printed, recorded and kept: the run's log has it whole.
            let mut message = tester::shortened(&failure.message).into_owned();
            let panicked = matches!(
                failure.kind,
                FailureKind::Panic | FailureKind::NotImplemented
            );
            if let (true, Some(at)) = (panicked, panicked_at) {
                message = format!("{message} (panicked at {at})");
            }
            (
                Some(failure.kind.as_str().to_owned()),
                Some(message),
                Some(failure.at.as_millis()),
            )
        }
        (None, Ok(_)) => (None, None, None),
    }
}

fn hang_record<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    wall: Duration,
    implementation: Implementation,
    checks: Checks,
) -> RunRecord {
    RunRecord {
        test: case.name.to_owned(),
        part: case.part.as_str().to_owned(),
        seed,
        implementation: implementation.as_str().to_owned(),
        passed: false,
        kind: Some(FailureKind::Hang.as_str().to_owned()),
        message: Some(format!(
            "no result after {:.0} s of wall-clock time (hunt watchdog): something in the run \
             never returns; its thread was abandoned",
            wall.as_secs_f64()
        )),
        at_ms: None,
        wall_ms: wall.as_secs_f64() * 1000.0,
        virtual_ms: 0,
        events: 0,
        fingerprint: String::new(),
        warnings: 0,
        warning: None,
        replay: Some(implementation.replay_command(case.name, seed, checks, None)),
    }
}

/// The lines printed when a run fails: what, when, and how to replay it.
fn failure_block(record: &RunRecord, implementation: Implementation, checks: Checks) -> String {
    let mut block = record::failure_line(record);
    for line in record.message.iter().flat_map(|m| m.lines().skip(1)) {
        block.push_str("\n    ");
        block.push_str(line);
    }
    if let Some(replay) = &record.replay {
        block.push_str(&format!("\n    replay: {replay}"));
    }
    if let Some(cargo) = implementation.cargo_command(&record.test, record.seed, checks) {
        block.push_str(&format!("\n            {cargo}"));
    }
    block
}

/// A writer that keeps at most `left` bytes and then notes the cut once.
struct Limited<W: Write> {
    inner: W,
    left: u64,
    cut: bool,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left >= buf.len() as u64 {
            self.left -= buf.len() as u64;
            self.inner.write_all(buf)?;
        } else if !self.cut {
            self.cut = true;
            self.inner.write_all(
                b"\n... cut here: the file reached the hunt's size limit; use scripts/replay\n",
            )?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn limited(file: File) -> Limited<BufWriter<File>> {
    Limited {
        inner: BufWriter::new(file),
        left: ARTIFACT_LIMIT_BYTES,
        cut: false,
    }
}

/// `<out>/<test>-<seed>.<extension>`.
fn artifact_path(shared: &Shared, test: &str, seed: u64, extension: &str) -> PathBuf {
    shared.out.join(format!("{test}-{seed}.{extension}"))
}

/// Reruns a failing seed with the debug log captured and a trace, into `<out>/<test>-<seed>.*`.
/// Returns a note if something is wrong.
fn save_artifacts<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    fingerprint: &str,
    shared: &Shared,
) -> Option<String> {
    match try_save_artifacts(case, seed, fingerprint, shared) {
        Ok(note) => note,
        Err(e) => Some(format!(
            "    could not save the log and trace of {} seed {seed}: {e}",
            case.name
        )),
    }
}

fn try_save_artifacts<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    fingerprint: &str,
    shared: &Shared,
) -> std::io::Result<Option<String>> {
    std::fs::create_dir_all(&shared.out)?;
    shared.wrote.store(true, Ordering::SeqCst);
    let log_path = artifact_path(shared, case.name, seed, "log");
    let trace_path = artifact_path(shared, case.name, seed, "trace");
    let mut log = File::create(&log_path)?;
    write_log_header(&mut log, case.name, seed, fingerprint, shared, &trace_path)?;
    let (trace, trace_handle) = Trace::to_writer(Box::new(limited(File::create(&trace_path)?)));
    let mut report = {
        let _capture = Capture::start(Box::new(limited(log.try_clone()?)));
        let observer: Box<dyn labrpc::Observer> = Box::new(trace.decoding::<R>());
        let options = RunOptions {
            echo: false,
            observer: Some(observer),
            ..shared.checks.run_options()
        };
        run_case(case, seed, options)
    };
    if shared.checks.strict {
        report.fail_on_warnings();
    }
    let trace_result = trace_handle.finish();
    let _ = logging::take_panic_location();
    let mut log = BufWriter::new(OpenOptions::new().append(true).open(&log_path)?);
    let note = write_log_result(&mut log, &report, fingerprint)?;
    // A nemesis failure: its schedule and its shrunk schedule, as files beside the log.
    let stem = shared.out.join(format!("{}-{seed}", case.name));
    let options = || shared.checks.run_options();
    if let Some(shrunk) = tester::nemesis::shrink::save_beside(case, seed, &report, &options, &stem)
    {
        writeln!(log, "\n--- nemesis\n{}", shrunk?)?;
    }
    log.flush()?;
    trace_result?;
    Ok(note.map(|warning| format!("    {} seed {seed}: {warning}", case.name)))
}

/// The head of a failing run's log: what it is, how to replay it, where its trace is.
fn write_log_header(
    log: &mut File,
    test: &str,
    seed: u64,
    fingerprint: &str,
    shared: &Shared,
    trace_path: &Path,
) -> std::io::Result<()> {
    let implementation = shared.implementation;
    writeln!(
        log,
        "# {test} seed {seed} on {}: rerun with RUST_LOG={} after it failed\n# replay: {}",
        implementation.as_str(),
        std::env::var("RUST_LOG").unwrap_or_else(|_| logging::DEFAULT_FILTER.into()),
        implementation.replay_command(test, seed, shared.checks, Some(fingerprint)),
    )?;
    if let Some(cargo) = implementation.cargo_command(test, seed, shared.checks) {
        writeln!(log, "#         {cargo}")?;
    }
    writeln!(log, "# trace: {}\n\n--- debug log", trace_path.display())
}

/// The tail of a failing run's log: the test's output, the rerun's result and fingerprint.
/// Returns a warning if the rerun is not the run that failed (`fingerprint`).
fn write_log_result(
    log: &mut impl Write,
    report: &tester::RunReport,
    fingerprint: &str,
) -> std::io::Result<Option<String>> {
    writeln!(log, "\n--- test output")?;
    for line in &report.lines {
        writeln!(log, "{line}")?;
    }
    writeln!(log, "\n--- result")?;
    match &report.result {
        Ok(_) => writeln!(log, "passed on the rerun")?,
        Err(failure) => writeln!(log, "{failure}")?,
    }
    let rerun = format!("{:016x}", report.fingerprint);
    writeln!(
        log,
        "fingerprint {rerun}, {} events, {} virtual",
        report.events,
        labrpc::SimTime::from_millis(report.virtual_ms)
    )?;
    if rerun == fingerprint || fingerprint.is_empty() {
        return Ok(None);
    }
    let warning = format!(
        "warning: the rerun differs from the failing run (fingerprint {rerun}, was \
         {fingerprint}): the implementation is nondeterministic; try --check-determinism"
    );
    writeln!(log, "{warning}")?;
    Ok(Some(warning))
}

/// A hang found by the watchdog cannot be rerun safely (it would hang again): save a note.
fn save_hang_note<R: RaftNode>(
    shared: &Shared,
    test: usize,
    case: &TestCase<R>,
    seed: u64,
    record: &RunRecord,
) -> Option<PathBuf> {
    let path = artifact_path(shared, case.name, seed, "log");
    let text = format!(
        "# {} seed {seed} on {}: {}\n# Its thread was abandoned; no trace was taken, since a \
         rerun would hang again.\n# Replay it under a time limit, with the debug log, and \
         interrupt it when the log stops moving:\n#   timeout 120 {}\n",
        case.name,
        shared.implementation.as_str(),
        record.message.as_deref().unwrap_or(""),
        record.replay.as_deref().unwrap_or(""),
    );
    let result = std::fs::create_dir_all(&shared.out).and_then(|()| std::fs::write(&path, text));
    shared.saved[test].fetch_add(1, Ordering::SeqCst);
    match result {
        Ok(()) => {
            shared.wrote.store(true, Ordering::SeqCst);
            Some(path)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabyte_message_is_recorded_cut_to_its_first_bytes() {
        let report = tester::RunReport {
            test: "initial_election_2a",
            seed: 3,
            result: Err(tester::Failure {
                kind: FailureKind::Panic,
                message: "x".repeat(1 << 20),
                at: labrpc::SimTime::ZERO,
            }),
            virtual_ms: 0,
            fingerprint: 0,
            events: 0,
            lines: Vec::new(),
        };
        let (kind, message, _) = failure_of(&report, None);
        assert_eq!(kind.as_deref(), Some("panic"));
        let message = message.expect("a failure has a message");
        assert!(
            message.len() < tester::MESSAGE_BYTES + 200,
            "{}",
            message.len()
        );
        assert!(message.contains("more bytes cut; the run's log has the whole message"));
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400 + 3_661), "20000229-010101");
        assert_eq!(utc_stamp(1_774_519_200), "20260326-100000");
    }

    #[test]
    fn limited_writer_cuts_once() {
        let mut w = Limited {
            inner: Vec::new(),
            left: 5,
            cut: false,
        };
        w.write_all(b"abc").unwrap();
        w.write_all(b"def").unwrap();
        w.write_all(b"g").unwrap();
        let text = String::from_utf8(w.inner).unwrap();
        assert!(text.starts_with("abc\n... cut here"), "{text}");
        assert_eq!(text.matches("cut here").count(), 1);
    }
}
