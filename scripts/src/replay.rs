//! `scripts/replay TEST SEED`: reruns one run of one test with debug logging (`RUST_LOG`,
//! default `debug`, every line prefixed with virtual time and node), prints the Go lines,
//! writes the trace and prints the fingerprint. `--html FILE` also writes the run's timeline as
//! one self-contained page, and `--columns` prints the debug log in one column per node
//! ([`crate::timeline`]).
//!
//! Entry points: [`replay_main`] replays any [`RaftNode`], from a binary in the crate that
//! implements it; [`main_with`] is `scripts/replay` (the reference, or `--canary`), whose
//! binary lives in the `raft-reference` package.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use raft::RaftNode;
use tester::timeline::Timeline;
use tester::trace::{Trace, TraceHandle};
use tester::{RunOptions, RunReport, TestCase, determinism, run_case};

use crate::timeline::{RunInfo, columns};
use crate::{Checks, Implementation};

/// Rerun one test on one seed, with debug logs and a trace of every event.
#[derive(Parser, Debug)]
#[command(
    name = "replay",
    after_help = "Examples:\n  \
        scripts/replay figure_8_unreliable_2c 4711\n  \
        RUST_LOG=info scripts/replay --trace /tmp/t.trace backup_2b 12 2>log.txt\n  \
        scripts/replay --canary re_election_2a 1\n  \
        scripts/replay --canary re_election_2a 1 --html /tmp/run.html\n  \
        scripts/replay backup_2b 12 --columns --topics role,tester\n  \
        scripts/replay --schedule hunt-out/X/stale_nemesis-7.shrunk.json stale_nemesis 7"
)]
pub struct ReplayArgs {
    /// The test (its full name, or a part of it that only one test has).
    pub test: String,
    /// The seed.
    pub seed: u64,
    /// Replay on the deliberately broken canary instead of the reference (scripts/replay only).
    #[arg(long)]
    pub canary: bool,
    /// Where to write the trace [default: replay-TEST-SEED.trace].
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write no trace.
    #[arg(long, conflicts_with = "trace")]
    pub no_trace: bool,
    /// Run the seed twice and compare event by event (also: LAB_CHECK_DETERMINISM=1).
    #[arg(long)]
    pub check_determinism: bool,
    /// Fail the run if it prints a Go warning (also: LAB_STRICT=1).
    #[arg(long)]
    pub strict: bool,
    /// Turn off the safety checks after every input (also: LAB_CHECKS=off).
    #[arg(long)]
    pub no_checks: bool,
    /// The fingerprint the hunt recorded for this run (hunts print it in the replay command):
    /// a replay whose fingerprint differs is not the run the hunt ran, and says so loudly.
    #[arg(long, value_name = "HEX")]
    pub fingerprint: Option<String>,
    /// Follow this nemesis schedule (a file a failing campaign wrote, or one written by hand)
    /// instead of the one the seed draws; TEST must be a nemesis test.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
    /// Write the run's timeline as one self-contained HTML page: every message, role, crash,
    /// apply and log line, drawn per node over virtual time.
    #[arg(long, value_name = "FILE", conflicts_with = "check_determinism")]
    pub html: Option<PathBuf>,
    /// Print the debug log in columns, one per node, after the run (instead of on stderr).
    #[arg(long, conflicts_with = "check_determinism")]
    pub columns: bool,
    /// With --columns: keep only these topics (log targets), comma-separated.
    #[arg(
        long,
        value_name = "TOPICS",
        value_delimiter = ',',
        requires = "columns"
    )]
    pub topics: Option<Vec<String>>,
    /// With --columns: the width in characters [default: COLUMNS, else the terminal's].
    #[arg(long, value_name = "N", requires = "columns")]
    pub width: Option<usize>,
}

impl ReplayArgs {
    /// Whether the run's timeline is wanted (`--html`, `--columns`).
    fn wants_timeline(&self) -> bool {
        self.html.is_some() || self.columns
    }
}

/// Installs the logger: to stderr, or, with `--columns`, nowhere (the lines still reach the
/// timeline, which prints them in columns after the run).
fn init_logging(args: &ReplayArgs) {
    if args.columns {
        crate::logging::init_silent();
    } else {
        crate::logging::init_stderr();
    }
}

/// `scripts/replay`: parses the arguments and runs `replay` on them (which picks the
/// reference, or the canary with `--canary`, and calls [`run`]). Exit status 0 if the run
/// passed, 1 if it failed, 2 after a usage error.
pub fn main_with(replay: impl FnOnce(&ReplayArgs) -> Result<u8, String>) -> ExitCode {
    let args = ReplayArgs::parse();
    init_logging(&args);
    exit_code(replay(&args))
}

/// Replay on your own Raft: the whole of a `src/bin/replay.rs` in the crate that implements
/// it, with the same options and output as `scripts/replay` (see `scripts/README.md`). The
/// replay commands that [`crate::hunt_main`] prints run it.
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
///     scripts::replay_main::<my_raft::MyRaft>() // your type here
/// }
/// ```
pub fn replay_main<R: RaftNode>() -> ExitCode {
    let args = ReplayArgs::parse();
    if args.canary {
        eprintln!(
            "replay: --canary replays this repository's canary (a broken reference), not your \
             Raft; run it with scripts/replay --canary"
        );
        return ExitCode::from(2);
    }
    init_logging(&args);
    let implementation = Implementation::Own(std::any::type_name::<R>());
    exit_code(run::<R>(&args, implementation))
}

fn exit_code(result: Result<u8, String>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("replay: {message}");
            ExitCode::from(2)
        }
    }
}

/// The test `name` (or the only one whose name contains it) of the registry and `extra`.
fn find<R: RaftNode>(name: &str, extra: Vec<TestCase<R>>) -> Result<TestCase<R>, String> {
    let mut all = tester::registry::every::<R>();
    all.extend(extra);
    if let Some(case) = all.iter().find(|case| case.name == name) {
        return Ok(*case);
    }
    let matching: Vec<&TestCase<R>> = all.iter().filter(|c| c.name.contains(name)).collect();
    match matching.as_slice() {
        [case] => Ok(**case),
        [] => Err(format!(
            "no test is called {name:?}; the tests are: {}",
            all.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        )),
        several => Err(format!(
            "{name:?} matches several tests: {}",
            several
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Replays `args.test` on `args.seed` over `R`, named `implementation` in the output. Returns
/// the exit status (0: the run passed), or a usage error.
pub fn run<R: RaftNode>(args: &ReplayArgs, implementation: Implementation) -> Result<u8, String> {
    run_with::<R>(args, implementation, Vec::new())
}

/// [`run`], where the test may also be one of `extra`, tests the tester's registry does not
/// hold: Lab 3's, which bring their own driver ([`tester::OwnRun`]).
pub fn run_with<R: RaftNode>(
    args: &ReplayArgs,
    implementation: Implementation,
    extra: Vec<TestCase<R>>,
) -> Result<u8, String> {
    let case = find::<R>(&args.test, extra)?;
    let trace_path = (!args.no_trace).then(|| {
        args.trace
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("replay-{}-{}.trace", case.name, args.seed)))
    });
    let (observer, trace_handle) = open_trace::<R>(trace_path.as_deref())?;
    let checks = Checks {
        determinism: args.check_determinism || determinism::enabled(),
        strict: args.strict || tester::warnings::strict_from_env(),
        safety_off: Checks::safety_off_from(args.no_checks),
    };
    let options = RunOptions {
        echo: true,
        observer,
        ..checks.run_options()
    };
    let (mut report, mismatch, timeline) =
        following_schedule(args, &case, || run_as_asked(args, &case, checks, options))?;
    if checks.strict {
        report.fail_on_warnings();
    }
    let trace_result = trace_handle.map(|handle| handle.finish());
    if let Some(timeline) = &timeline {
        show_timeline(
            args,
            timeline,
            &RunInfo::of(&report, implementation, checks),
        )?;
    }
    print_result(&report, implementation, checks, mismatch.as_ref());
    if let Some(path) = &trace_path {
        if let Some(Err(e)) = trace_result {
            return Err(format!("writing the trace {}: {e}", path.display()));
        }
        println!("trace: {}", path.display());
    }
    if let Some(path) = &args.html {
        println!("timeline: {}", path.display());
    }
    if let Some(cargo) = implementation.cargo_command(case.name, args.seed, checks) {
        println!("cargo: {cargo}");
    }
    if let Some(expected) = &args.fingerprint {
        check_fingerprint(expected, report.fingerprint);
    }
    Ok(u8::from(!report.passed() || mismatch.is_some()))
}

/// One run as the flags ask: recorded for the timeline (`--html`, `--columns`), twice for the
/// determinism check, or once.
fn run_as_asked<R: RaftNode>(
    args: &ReplayArgs,
    case: &TestCase<R>,
    checks: Checks,
    options: RunOptions,
) -> (RunReport, Option<determinism::Mismatch>, Option<Timeline>) {
    if args.wants_timeline() {
        let (report, timeline) = tester::timeline::record(case, args.seed, options);
        (report, None, Some(timeline))
    } else if checks.determinism {
        let (report, mismatch) = determinism::run_twice(case, args.seed, options);
        (report, mismatch, None)
    } else {
        (run_case(case, args.seed, options), None, None)
    }
}

/// A trace's observer and the handle that finishes it.
type TraceParts = (Option<Box<dyn labrpc::Observer>>, Option<TraceHandle>);

/// The trace observer writing to `path` (decoding `R`'s messages), and its handle.
fn open_trace<R: RaftNode>(path: Option<&Path>) -> Result<TraceParts, String> {
    let Some(path) = path else {
        return Ok((None, None));
    };
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (trace, handle) = Trace::to_writer(Box::new(BufWriter::new(file)));
    Ok((Some(Box::new(trace.decoding::<R>())), Some(handle)))
}

/// Writes the `--html` page and prints the `--columns` log.
fn show_timeline(args: &ReplayArgs, timeline: &Timeline, info: &RunInfo) -> Result<(), String> {
    if let Some(path) = &args.html {
        crate::timeline::write_html(path, timeline, info)
            .map_err(|e| format!("writing the timeline {}: {e}", path.display()))?;
    }
    if args.columns {
        let layout = columns::Layout {
            width: columns::width(args.width),
            topics: args.topics.clone(),
            color: columns::color_wanted(),
        };
        // Stops quietly when the reader goes away (`| head`).
        let mut out = std::io::stdout().lock();
        for line in std::iter::once(String::new()).chain(columns::render(timeline, &layout)) {
            if writeln!(out, "{line}").is_err() {
                break;
            }
        }
    }
    Ok(())
}

/// Runs `replay` following the schedule file of `--schedule FILE`, if given (printed first,
/// one line per step), else as the seed says.
fn following_schedule<R: RaftNode, T>(
    args: &ReplayArgs,
    case: &TestCase<R>,
    replay: impl FnOnce() -> T,
) -> Result<T, String> {
    let Some(path) = &args.schedule else {
        return Ok(replay());
    };
    if case.part != tester::Part::Nemesis {
        return Err(format!(
            "--schedule: {} is not a nemesis test (those are: {})",
            case.name,
            tester::nemesis::NAMES.join(", ")
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schedule = tester::nemesis::Schedule::from_file_text(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("schedule {}: {schedule}", path.display());
    Ok(tester::nemesis::with_schedule(schedule, replay))
}

/// The verdict, the fingerprint, and the determinism check's result.
fn print_result(
    report: &RunReport,
    implementation: Implementation,
    checks: Checks,
    mismatch: Option<&determinism::Mismatch>,
) {
    println!();
    let (name, seed, on) = (report.test, report.seed, implementation.as_str());
    match &report.result {
        Ok(_) => println!("PASS {name} seed {seed} on {on}"),
        Err(failure) => println!("FAIL {name} seed {seed} on {on}: {failure}"),
    }
    println!(
        "fingerprint {:016x}, {} events, {} virtual",
        report.fingerprint,
        report.events,
        labrpc::SimTime::from_millis(report.virtual_ms)
    );
    let warnings = report.warnings().len();
    if warnings > 0 && !checks.strict {
        println!("{warnings} warning(s) above; --strict (or LAB_STRICT=1) fails on them");
    }
    if checks.determinism {
        match mismatch {
            None => println!(
                "deterministic: a second run gave the same {} events",
                report.events
            ),
            Some(mismatch) => println!("{mismatch}"),
        }
    }
}

/// Warns loudly, on stdout and, if it is not the same terminal, on stderr (where a redirected
/// debug log goes), when this run is not the one the hunt recorded.
fn check_fingerprint(expected: &str, actual: u64) {
    let Some(warning) = fingerprint_warning(expected, actual) else {
        println!("fingerprint matches the hunt's: this is the run the hunt ran");
        return;
    };
    println!("\n{warning}");
    let stderr = std::io::stderr();
    if !(stderr.is_terminal() && std::io::stdout().is_terminal()) {
        eprintln!("\n{warning}");
    }
}

/// The warning for a replay whose fingerprint is not `expected` (hex), if it is not.
pub fn fingerprint_warning(expected: &str, actual: u64) -> Option<String> {
    let actual = format!("{actual:016x}");
    if expected.trim().eq_ignore_ascii_case(&actual) {
        return None;
    }
    Some(format!(
        "WARNING: THIS IS NOT THE RUN THE HUNT RAN. Its fingerprint is {actual}; the hunt \
         recorded {}.\n\
         WARNING: the code or its build settings (cargo features, profile, RUSTFLAGS) differ \
         from the hunt's, or the Raft is nondeterministic (try --check-determinism). A pass \
         here proves nothing about the hunt's failure.",
        expected.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay_stand_in(args: &[&str]) -> Result<u8, String> {
        let args = ReplayArgs::parse_from(std::iter::once("replay").chain(args.iter().copied()));
        let extra = tester::registry::own_run_stand_ins::<tester::registry::NoRaft>();
        run_with(&args, Implementation::Own("no-raft"), extra)
    }

    #[test]
    fn replay_runs_a_test_with_its_own_driver_found_by_part_of_its_name() {
        assert_eq!(replay_stand_in(&["flaky", "3", "--no-trace"]), Ok(1));
        assert_eq!(replay_stand_in(&["own_flaky_3a", "4", "--no-trace"]), Ok(0));
        let html = std::env::temp_dir().join(format!("replay-own-run-{}.html", std::process::id()));
        let page = [
            "steady_3b",
            "7",
            "--no-trace",
            "--html",
            html.to_str().unwrap(),
        ];
        assert_eq!(replay_stand_in(&page), Ok(0));
        assert!(std::fs::metadata(&html).unwrap().len() > 0);
        let _ = std::fs::remove_file(&html);
        let several = replay_stand_in(&["own_", "1", "--no-trace"]).unwrap_err();
        assert!(several.contains("own_flaky_3a, own_steady_3b"), "{several}");
        let args = ReplayArgs::parse_from(["replay", "own_flaky_3a", "1", "--no-trace"]);
        let unknown = run::<tester::registry::NoRaft>(&args, Implementation::Own("no-raft"));
        assert!(unknown.unwrap_err().starts_with("no test is called"));
    }

    #[test]
    fn a_different_fingerprint_warns_and_names_both() {
        assert_eq!(fingerprint_warning("00000000000000ff", 0xff), None);
        assert_eq!(fingerprint_warning("00000000000000FF", 0xff), None);
        let warning = fingerprint_warning("5c7d17a373e00fcb", 0xff).unwrap();
        assert!(warning.contains("NOT THE RUN THE HUNT RAN"), "{warning}");
        assert!(warning.contains("00000000000000ff"), "{warning}");
        assert!(warning.contains("5c7d17a373e00fcb"), "{warning}");
    }
}
