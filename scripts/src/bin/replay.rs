//! `scripts/replay TEST SEED`: reruns one run of one test with debug logging (`RUST_LOG`,
//! default `debug`, every line prefixed with virtual time and node), prints the Go lines,
//! writes the trace and prints the fingerprint. Exits non-zero if the run fails.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use clap::Parser;
use raft::RaftNode;
use scripts::Implementation;
use tester::trace::Trace;
use tester::{RunOptions, TestCase, determinism, run_case};

/// Rerun one test on one seed, with debug logs and a trace of every event.
#[derive(Parser, Debug)]
#[command(
    name = "replay",
    after_help = "Examples:\n  \
        scripts/replay figure_8_unreliable_2c 4711\n  \
        RUST_LOG=info scripts/replay --trace /tmp/t.trace backup_2b 12 2>log.txt\n  \
        scripts/replay --canary re_election_2a 1"
)]
struct Args {
    /// The test (its full name, or a part of it that only one test has).
    test: String,
    /// The seed.
    seed: u64,
    /// Replay on the deliberately broken canary instead of the reference.
    #[arg(long)]
    canary: bool,
    /// Where to write the trace [default: replay-<test>-<seed>.trace].
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write no trace.
    #[arg(long, conflicts_with = "trace")]
    no_trace: bool,
    /// Run the seed twice and compare event by event (also: LAB_CHECK_DETERMINISM=1).
    #[arg(long)]
    check_determinism: bool,
}

fn main() {
    let args = Args::parse();
    scripts::logging::init_stderr();
    let result = if args.canary {
        replay::<scripts::CanaryRaft>(&args, Implementation::Canary)
    } else {
        replay::<scripts::Reference>(&args, Implementation::Reference)
    };
    std::process::exit(match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("replay: {message}");
            2
        }
    });
}

fn find<R: RaftNode>(name: &str) -> Result<TestCase<R>, String> {
    let all = tester::registry::all::<R>();
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

fn replay<R: RaftNode>(args: &Args, implementation: Implementation) -> Result<i32, String> {
    let case = find::<R>(&args.test)?;
    let trace_path = (!args.no_trace).then(|| {
        args.trace
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("replay-{}-{}.trace", case.name, args.seed)))
    });
    let (observer, trace_handle) = match &trace_path {
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let (trace, handle) = Trace::to_writer(Box::new(BufWriter::new(file)));
            let trace: Box<dyn labrpc::Observer> = Box::new(trace.decoding::<R>());
            (Some(trace), Some(handle))
        }
        None => (None, None),
    };
    let options = RunOptions {
        echo: true,
        observer,
    };
    let check = args.check_determinism || determinism::enabled();
    let (report, mismatch) = if check {
        determinism::run_twice(&case, args.seed, options)
    } else {
        (run_case(&case, args.seed, options), None)
    };
    let trace_result = trace_handle.map(|handle| handle.finish());
    println!();
    match &report.result {
        Ok(_) => println!(
            "PASS {} seed {} on {}",
            case.name,
            args.seed,
            implementation.as_str()
        ),
        Err(failure) => println!(
            "FAIL {} seed {} on {}: {failure}",
            case.name,
            args.seed,
            implementation.as_str()
        ),
    }
    println!(
        "fingerprint {:016x}, {} events, {} virtual",
        report.fingerprint,
        report.events,
        labrpc::SimTime::from_millis(report.virtual_ms)
    );
    if check {
        match &mismatch {
            None => println!(
                "deterministic: a second run gave the same {} events",
                report.events
            ),
            Some(mismatch) => println!("{mismatch}"),
        }
    }
    if let Some(path) = &trace_path {
        if let Some(Err(e)) = trace_result {
            return Err(format!("writing the trace {}: {e}", path.display()));
        }
        println!("trace: {}", path.display());
    }
    if let Some(cargo) = implementation.cargo_command(case.name, args.seed, check) {
        println!("cargo: {cargo}");
    }
    Ok(i32::from(!report.passed() || mismatch.is_some()))
}
