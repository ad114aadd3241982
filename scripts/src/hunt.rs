//! The flake hunt: many seeds of many tests, each run in a worker process.
//!
//! The main thread walks the [`plan`] and hands `(test, seed)` runs, one at a time, to a pool
//! of `--jobs` worker processes ([`crate::worker`]: the hunt binary re-executed); each makes a
//! run a single-threaded simulation with [`tester::run_case`] (or
//! [`tester::determinism::run_twice`]) and answers with its record. The main thread writes the
//! result file, draws the display and keeps the wall-clock watchdog. A run that panics is a
//! failed run ([`tester::run_case`] catches it). A run still going after `--hang-timeout`
//! seconds costs that run: its worker is killed (`hang`) and a new one takes its place. A
//! worker that dies in the middle of a run (a stack overflow, `std::process::exit`) costs that
//! run too, classed `crash` (killed by a signal) or `exit` (exited by itself, with any status).
//!
//! After a run fails, a worker reruns the seed (cheap: the run is deterministic) with the
//! debug log captured and a trace, into the output folder, within the byte caps
//! ([`crate::artifacts`]).
//!
//! Entry points: [`hunt_main`] hunts any [`RaftNode`], from a binary in the crate that
//! implements it; [`main_with`] is `scripts/hunt` (the reference, or `--canary`), whose binary
//! lives in the `raft-reference` package. Both serve as the worker too (hidden
//! `--worker-out DIR`).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use labrpc::MICROS_PER_MS;
use raft::RaftNode;
use tester::{FailureKind, TestCase, determinism, run_case};

use crate::artifacts::{self, DEFAULT_BYTES_PER_HUNT, DEFAULT_BYTES_PER_RUN};
use crate::display::{Display, human_duration};
use crate::plan::{self, Done, Shard};
use crate::record::{self, NONDETERMINISTIC, RunRecord, Summary};
use crate::worker::{self, Answer, Event, Job, Worker};
use crate::{Checks, Implementation, junit, logging, megabytes, peak_memory_bytes};

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
    /// Lab parts (2a, 2b, 2c, 2d, 3a, 3b, lab3, nemesis) or parts of test names; none selects
    /// every Lab 2 test.
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
    /// Report a run still going after this many wall-clock seconds as a hang (its worker
    /// process is killed and replaced).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub hang_timeout: u64,
    /// Save the log and trace of at most this many failing runs per test.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub keep: u64,
    /// Bytes the saved log and trace of one failing run may hold together (K, M, G suffixes:
    /// powers of 1024); past it they end with a note. Runs of identical lines are collapsed.
    #[arg(long, default_value_t = DEFAULT_BYTES_PER_RUN, value_name = "BYTES",
          value_parser = artifacts::parse_bytes)]
    pub max_artifact_bytes_per_run: u64,
    /// Bytes every file the hunt saves may hold together; past it no more are saved.
    #[arg(long, default_value_t = DEFAULT_BYTES_PER_HUNT, value_name = "BYTES",
          value_parser = artifacts::parse_bytes)]
    pub max_artifact_bytes: u64,
    /// Internal: serve as a worker process of a hunt saving artifacts in DIR.
    #[arg(long, hide = true, value_name = "DIR")]
    pub worker_out: Option<PathBuf>,
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
    if args.worker_out.is_some() {
        worker::ignore_interrupts();
        return exit_code(hunt(&args));
    }
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
    if args.worker_out.is_some() {
        worker::ignore_interrupts();
        return exit_code(run::<R>(&args, implementation));
    }
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

/// The hunt over implementation `R`, named `implementation` in reports and replay commands.
/// Returns the exit status (0: every run passed), or a usage error. With `--worker-out`, this
/// process is one of a hunt's workers ([`worker::serve`]).
pub fn run<R: RaftNode>(args: &HuntArgs, implementation: Implementation) -> Result<i32, String> {
    run_with::<R>(args, implementation, Vec::new())
}

/// [`run`], with `extra` tests besides the tester's registry: Lab 3's, which bring their own
/// driver ([`tester::OwnRun`]). Filters select them as they select the nemesis family
/// ([`plan::select`]: `3a`, `3b`, `lab3` or part of a name); a hunt without filters stays the
/// Go Lab 2 suites. The hunt's workers re-execute this binary, which must call this with the
/// same `extra`: they look tests up by name.
pub fn run_with<R: RaftNode>(
    args: &HuntArgs,
    implementation: Implementation,
    extra: Vec<TestCase<R>>,
) -> Result<i32, String> {
    let cases = plan::select(tester::registry::all::<R>(), extra, &args.filters)?;
    if let Some(out) = &args.worker_out {
        let shared = artifacts::Shared::new(checks_of(args), implementation, out.clone());
        return worker::serve(cases, shared);
    }
    if args.list {
        for case in &cases {
            println!("{}", case.name);
        }
        return Ok(0);
    }
    let setup = Setup::new(args, implementation, &cases)?;
    setup.announce(args, cases.len(), implementation);
    let pool = Pool::new(worker::Command::current(&setup.out)?, setup.jobs);
    let (mut progress, (seeds, done)) = Progress::new(args, setup, &cases, implementation);
    let mut runs = plan::runs(cases.len(), seeds, &done);
    let started = Instant::now();
    let mut pool = pool;
    progress.collect(args, &mut pool, &cases, &mut runs)?;
    progress.display.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let workers_peak = pool.close();
    Ok(progress.report(args, elapsed, workers_peak))
}

/// The checks `args` (and the environment) ask for.
fn checks_of(args: &HuntArgs) -> Checks {
    Checks {
        determinism: args.check_determinism || determinism::enabled(),
        strict: args.strict || tester::warnings::strict_from_env(),
        safety_off: Checks::safety_off_from(args.no_checks),
    }
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

/// The worker processes: started when there is work, killed when a run hangs.
struct Pool {
    command: worker::Command,
    size: usize,
    workers: Vec<Worker>,
    events: Receiver<Event>,
    sender: Sender<Event>,
    next_generation: u64,
    /// The largest peak memory of a worker that ended.
    peak_bytes: u64,
}

impl Pool {
    fn new(command: worker::Command, size: usize) -> Pool {
        let (sender, events) = worker::channel();
        Pool {
            command,
            size,
            workers: Vec::new(),
            events,
            sender,
            next_generation: 0,
            peak_bytes: 0,
        }
    }

    /// A worker ready for a job; `None` when every worker is busy or starting (workers are
    /// started, up to `--jobs`, the first time there is work and none is idle).
    fn idle(&mut self) -> Result<Option<&mut Worker>, String> {
        if let Some(at) = self
            .workers
            .iter()
            .position(|w| w.ready && w.busy.is_none())
        {
            return Ok(Some(&mut self.workers[at]));
        }
        while self.workers.len() < self.size {
            let worker = Worker::spawn(&self.command, self.next_generation, &self.sender)?;
            self.next_generation += 1;
            self.workers.push(worker);
        }
        Ok(None)
    }

    /// Whether any worker has a job, or is starting (and will take one).
    fn working(&self) -> bool {
        self.workers.iter().any(|w| w.busy.is_some() || !w.ready)
    }

    /// The worker of `generation`, if it is still in the pool.
    fn get(&mut self, generation: u64) -> Option<&mut Worker> {
        self.workers.iter_mut().find(|w| w.generation == generation)
    }

    /// Takes the worker of `generation` out of the pool.
    fn remove(&mut self, generation: u64) -> Option<Worker> {
        let at = self
            .workers
            .iter()
            .position(|w| w.generation == generation)?;
        let worker = self.workers.swap_remove(at);
        self.note_peak(&worker);
        Some(worker)
    }

    fn note_peak(&mut self, worker: &Worker) {
        let peak = worker.peak_memory_bytes().unwrap_or(0);
        self.peak_bytes = self.peak_bytes.max(peak);
    }

    /// Ends every worker; returns the largest peak memory of any.
    fn close(mut self) -> u64 {
        for worker in std::mem::take(&mut self.workers) {
            self.note_peak(&worker);
            worker.close();
        }
        self.peak_bytes
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
    /// Test names, in plan order: the jobs name tests, the summary counts by index.
    names: Vec<&'static str>,
    /// Runs in the plan, done or not.
    total: u64,
    ran: u64,
    resumed: u64,
    stop_reason: Option<String>,
    write_error: Option<String>,
    /// `--stop-on-failure`.
    stop_on_failure: bool,
    /// Jobs taken from the plan or asked for by a failure, not handed out yet.
    queued: VecDeque<Job>,
    artifacts: ArtifactBook,
}

/// What the hunt saved in its output folder, against its caps.
struct ArtifactBook {
    out: PathBuf,
    /// Failing runs of each test whose artifacts were taken (capped by `--keep`).
    saved: Vec<u64>,
    keep: u64,
    per_run_bytes: u64,
    /// `--max-artifact-bytes`.
    cap_bytes: u64,
    /// Bytes left of `--max-artifact-bytes`.
    left_bytes: u64,
    /// Whether anything was written to `out`.
    wrote: bool,
    /// Whether the hunt's cap stopped a save (said once).
    capped: bool,
}

impl ArtifactBook {
    /// Whether to save the artifacts of a failure of test `test`: counts it if so.
    fn take(&mut self, test: usize) -> bool {
        if self.saved[test] >= self.keep || self.left_bytes == 0 {
            return false;
        }
        self.saved[test] += 1;
        true
    }

    /// Sets aside the budget of one save: what is left of the hunt's, at most a run's.
    fn reserve(&mut self) -> u64 {
        let budget = self.per_run_bytes.min(self.left_bytes);
        self.left_bytes -= budget;
        budget
    }

    /// A save of `reserved` bytes wrote `bytes` (a little more than its budget, at most: the
    /// log's head and tail are not cut).
    fn spent(&mut self, bytes: u64, reserved: u64) {
        self.wrote = true;
        self.left_bytes = (self.left_bytes + reserved).saturating_sub(bytes);
    }
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
        let artifacts = ArtifactBook {
            out: setup.out.clone(),
            saved: vec![0; cases.len()],
            keep: args.keep,
            per_run_bytes: args.max_artifact_bytes_per_run,
            cap_bytes: args.max_artifact_bytes,
            left_bytes: args.max_artifact_bytes,
            wrote: false,
            capped: false,
        };
        let progress = Progress {
            display: Display::new(&rows, terminal),
            summary: setup.summary,
            jsonl: setup.jsonl,
            checks: setup.checks,
            implementation,
            jobs: setup.jobs,
            names: cases.iter().map(|case| case.name).collect(),
            total: setup.total,
            ran: 0,
            resumed: setup.resumed_per_test.iter().sum(),
            stop_reason: None,
            write_error: None,
            stop_on_failure: args.stop_on_failure,
            queued: VecDeque::new(),
            artifacts,
        };
        (progress, setup.feed)
    }

    /// Stops the hunt (runs in flight finish) for `reason`, unless it is stopping already.
    fn stop(&mut self, reason: &str) {
        if self.stop_reason.is_none() {
            self.stop_reason = Some(reason.to_owned());
            self.queued.retain(|job| matches!(job, Job::Save { .. }));
        }
    }

    /// Records a finished run: result file, display, summary. Returns whether it failed.
    fn finish_run(&mut self, test: usize, record: RunRecord, log: Option<String>) -> bool {
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
                block.push_str(&format!("\n    log:    {log} (and .trace, .html)"));
            }
            self.display.println(&block);
        } else if record.warnings > 0 && self.summary.warned.len() < record::LISTED_WARNINGS {
            self.display.println(&record::warning_block(&record));
        }
        self.summary.add(&record);
        if !record.passed && self.stop_on_failure {
            self.stop(STOPPED_AT_FIRST_FAILURE);
        }
        !record.passed
    }

    /// Hands out runs and takes answers, with the watchdog, until no worker has a job.
    fn collect<R: RaftNode>(
        &mut self,
        args: &HuntArgs,
        pool: &mut Pool,
        cases: &[TestCase<R>],
        runs: &mut dyn Iterator<Item = (usize, u64)>,
    ) -> Result<(), String> {
        let hang_after = Duration::from_secs(args.hang_timeout.max(1));
        loop {
            if INTERRUPTS.load(Ordering::SeqCst) > 0 && self.stop_reason.is_none() {
                self.stop("interrupted: by Ctrl-C or SIGTERM");
                self.queued.clear();
                self.display.println(
                    "interrupted: finishing the runs in flight (interrupt again to quit now)",
                );
            }
            self.hand_out(pool, cases, runs)?;
            if !pool.working() {
                return Ok(());
            }
            match pool.events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => self.take(event, pool, cases)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the pool holds a sender"),
            }
            self.watchdog(pool, cases, hang_after);
            self.display.tick();
        }
    }

    /// Gives every idle worker a job, starting workers while there is work for them.
    fn hand_out<R: RaftNode>(
        &mut self,
        pool: &mut Pool,
        cases: &[TestCase<R>],
        runs: &mut dyn Iterator<Item = (usize, u64)>,
    ) -> Result<(), String> {
        loop {
            if self.queued.is_empty() && self.stop_reason.is_none() {
                let Some((test, seed)) = runs.next() else {
                    return Ok(());
                };
                let test = cases[test].name.to_owned();
                self.queued.push_back(Job::Run { test, seed });
            }
            if self.queued.is_empty() {
                return Ok(());
            }
            let Some(worker) = pool.idle()? else {
                return Ok(());
            };
            let job = self.queued.pop_front().expect("a job");
            worker.send(job);
        }
    }

    /// One event from a worker.
    fn take<R: RaftNode>(
        &mut self,
        event: Event,
        pool: &mut Pool,
        cases: &[TestCase<R>],
    ) -> Result<(), String> {
        match event {
            Event::Answer(generation, answer) => {
                // A worker killed by the watchdog may have answered on its way out: ignored.
                let Some(worker) = pool.get(generation) else {
                    return Ok(());
                };
                let job = worker.busy.take();
                match (answer, job) {
                    (Answer::Ready, _) => worker.ready = true,
                    (Answer::Done(record), Some((job, _))) => self.done(&job, record),
                    (Answer::Saved { bytes, note }, job) => {
                        let reserved = match job {
                            Some((Job::Save { budget_bytes, .. }, _)) => budget_bytes,
                            _ => 0,
                        };
                        self.artifacts.spent(bytes, reserved);
                        if let Some(note) = note {
                            self.display.println(&note);
                        }
                    }
                    (Answer::Done(record), None) => {
                        return Err(format!(
                            "a worker answered a run it was not given: {record:?}"
                        ));
                    }
                }
            }
            Event::Gone(generation) => {
                if let Some(mut worker) = pool.remove(generation) {
                    self.gone(&mut worker, cases)?;
                }
            }
        }
        Ok(())
    }

    /// A run's record: counted, and its artifacts asked for if it failed.
    fn done(&mut self, job: &Job, record: RunRecord) {
        let (name, seed) = job.run();
        let test = self.test_index(name);
        let save = !record.passed && self.artifacts.take(test);
        let fingerprint = record.fingerprint.clone();
        let log = save.then(|| {
            let path = artifacts::path_in(&self.artifacts.out, name, seed, "log");
            path.display().to_string()
        });
        self.finish_run(test, record, log);
        if save && INTERRUPTS.load(Ordering::SeqCst) == 0 {
            self.queued.push_front(Job::Save {
                test: name.to_owned(),
                seed,
                fingerprint,
                budget_bytes: self.artifacts.reserve(),
            });
        }
        if !save && self.artifacts.left_bytes == 0 && !self.artifacts.capped {
            self.artifacts.capped = true;
            self.display.println(&format!(
                "    the hunt's saved files reached --max-artifact-bytes ({} bytes): no more \
                 logs and traces are saved",
                self.artifacts.cap_bytes
            ));
        }
    }

    fn test_index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|&n| n == name)
            .expect("a worker answered about a test of the plan")
    }

    /// A worker ended: if it was in the middle of a job, that job is lost with it.
    fn gone<R: RaftNode>(
        &mut self,
        worker: &mut Worker,
        cases: &[TestCase<R>],
    ) -> Result<(), String> {
        let (kind, how) = worker.death();
        match worker.busy.take() {
            Some((job @ Job::Run { .. }, since)) => {
                self.lose_run(&job, cases, kind, how, since.elapsed());
                Ok(())
            }
            Some((Job::Save { test, seed, .. }, _)) => {
                self.display.println(&format!(
                    "    the rerun of {test} seed {seed} that saves its log and trace died: {how}"
                ));
                Ok(())
            }
            None if !worker.ready => Err(format!(
                "a worker process ended before it was ready: {how}. Is this binary a hunt \
                 (scripts::hunt_main or scripts::hunt::main_with)?"
            )),
            None => {
                self.display
                    .println(&format!("    a worker process ended while idle: {how}"));
                Ok(())
            }
        }
    }

    /// Kills every worker whose job has run for `hang_after`; a run is lost as a hang.
    fn watchdog<R: RaftNode>(
        &mut self,
        pool: &mut Pool,
        cases: &[TestCase<R>],
        hang_after: Duration,
    ) {
        let hung: Vec<u64> = pool
            .workers
            .iter()
            .filter(|w| {
                w.busy
                    .as_ref()
                    .is_some_and(|(_, since)| since.elapsed() >= hang_after)
            })
            .map(|w| w.generation)
            .collect();
        for generation in hung {
            let Some(mut worker) = pool.remove(generation) else {
                continue;
            };
            worker.kill();
            let Some((job, since)) = worker.busy.take() else {
                continue;
            };
            let wall = since.elapsed();
            if let Job::Run { .. } = job {
                let how = format!(
                    "no result after {:.0} s of wall-clock time (--hang-timeout): something in the \
                     run never returns; its worker process was killed",
                    wall.as_secs_f64()
                );
                self.lose_run(&job, cases, FailureKind::Hang, how, wall);
            } else {
                let (test, seed) = job.run();
                self.display.println(&format!(
                    "    the rerun of {test} seed {seed} that saves its log and trace hung; its \
                     worker process was killed"
                ));
            }
        }
    }

    /// A run that took its worker down, or never returned: a failed run of class `kind`, with
    /// a note in place of its log.
    fn lose_run<R: RaftNode>(
        &mut self,
        job: &Job,
        cases: &[TestCase<R>],
        kind: FailureKind,
        how: String,
        wall: Duration,
    ) {
        let (name, seed) = job.run();
        let test = self.test_index(name);
        let record = lost_record(
            &cases[test],
            seed,
            wall,
            kind,
            how,
            self.implementation,
            self.checks,
        );
        let mut log = None;
        if self.artifacts.take(test)
            && let Some((path, bytes)) =
                artifacts::save_lost_note(&self.artifacts.out, self.implementation, &record)
        {
            self.artifacts.spent(bytes, 0);
            log = Some(path.display().to_string());
        }
        self.finish_run(test, record, log);
    }

    /// The end of the hunt: failures, warnings, the table, the totals. Returns the exit
    /// status.
    fn report(&mut self, args: &HuntArgs, elapsed: f64, workers_peak: u64) -> i32 {
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
        self.print_notes(elapsed, workers_peak);
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
    fn print_notes(&self, elapsed: f64, workers_peak: u64) {
        if !self.summary.kinds.is_empty() {
            let kinds: Vec<String> = self
                .summary
                .kinds
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            println!("failures by kind: {}", kinds.join(", "));
        }
        if self.artifacts.wrote {
            println!(
                "logs and traces of failing runs: {}",
                self.artifacts.out.display()
            );
        }
        println!(
            "{} run(s) in {} ({:.1} runs/s with {} job(s)); peak memory (VmHWM) {} in the \
             hunt, {} in its largest worker",
            self.ran,
            human_duration(elapsed),
            self.ran as f64 / elapsed.max(1e-9),
            self.jobs,
            peak_memory_bytes().map_or_else(|| "unknown".into(), megabytes),
            megabytes(workers_peak),
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
    let (kind, message, at_us) = failure_of(&report, mismatch.as_ref());
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
        at_ms: at_us.map(|us| us / MICROS_PER_MS),
        at_us,
        wall_ms,
        virtual_ms: report.virtual_ms,
        events: report.events,
        warnings: warnings.len() as u64,
        warning: warnings.first().map(|w| (*w).to_owned()),
        fingerprint,
        replay,
    }
}

/// The class, message and virtual time (µs) of a failed run, as result files write them.
fn failure_of(
    report: &tester::RunReport,
    mismatch: Option<&determinism::Mismatch>,
) -> (Option<String>, Option<String>, Option<u64>) {
    let panicked_at = logging::take_panic_location();
    match (mismatch, &report.result) {
        (Some(mismatch), _) => (
            Some(NONDETERMINISTIC.to_owned()),
            Some(mismatch.to_string()),
            mismatch.at.1.or(mismatch.at.0).map(|t| t.as_micros()),
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
                Some(failure.at.as_micros()),
            )
        }
        (None, Ok(_)) => (None, None, None),
    }
}

/// The record of a run lost with its worker (`crash`, `exit`) or killed as a `hang`.
fn lost_record<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    wall: Duration,
    kind: FailureKind,
    message: String,
    implementation: Implementation,
    checks: Checks,
) -> RunRecord {
    RunRecord {
        test: case.name.to_owned(),
        part: case.part.as_str().to_owned(),
        seed,
        implementation: implementation.as_str().to_owned(),
        passed: false,
        kind: Some(kind.as_str().to_owned()),
        message: Some(tester::shortened(&message).into_owned()),
        at_ms: None,
        at_us: None,
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

    /// In this process, as a worker runs each job: the stand-in's passes and failures, each
    /// failure with its seed, class and replay.
    #[test]
    fn a_test_with_its_own_driver_is_hunted_like_any() {
        let filters = ["3a".to_owned()];
        let extra = tester::registry::own_run_stand_ins::<tester::registry::NoRaft>();
        let cases = plan::select(tester::registry::all(), extra, &filters).unwrap();
        let implementation = Implementation::Own("no-raft");
        let records: Vec<RunRecord> = (1..=4)
            .map(|seed| run_one(&cases[0], seed, implementation, Checks::default()))
            .collect();
        let verdicts: Vec<(u64, bool)> = records.iter().map(|r| (r.seed, r.passed)).collect();
        assert_eq!(verdicts, [(1, false), (2, true), (3, false), (4, true)]);
        let failed = &records[2];
        assert_eq!(
            (failed.test.as_str(), failed.part.as_str()),
            ("own_flaky_3a", "3a")
        );
        assert_eq!(failed.kind.as_deref(), Some("failed-check"));
        assert_eq!(failed.message.as_deref(), Some("odd seed 3"));
        let replay = failed.replay.as_deref().expect("a failure has a replay");
        assert!(replay.contains("own_flaky_3a 3 --fingerprint"), "{replay}");
        assert!(records[1].replay.is_none());
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400 + 3_661), "20000229-010101");
        assert_eq!(utc_stamp(1_774_519_200), "20260326-100000");
    }
}
