//! The proof of issue 10: each misbehaving Raft (`tester::misbehaving`) costs one failed run
//! with its class, its seed and a replay, and nothing else, both under the real hunt binary
//! (`hunt-misbehaving`, a hunt whose Raft `MISBEHAVING` names) and under `cargo test`. The
//! hunt must complete every other run and end with its table and `N passed, M failed`;
//! `cargo test` must fail the test with the seed and a reproduce line, even when the Raft calls
//! `exit(0)`.
//!
//! Several Rafts misbehave on about half the seeds (a coin server 0 draws at boot), so a hunt
//! of six seeds has runs that pass beside the ones that fail.

// The tests drive binaries from outside, as a user does.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use raft_reference::Reference;
use scripts::record::{RunRecord, read_jsonl};
use tester::misbehaving::{ExitsOne, ExitsZero, OverflowsStack, SpinsSometimes};

/// Output a hunt of a few seeds may print, misbehaving or not: bounded.
const MAX_OUTPUT_BYTES: usize = 64 << 10;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("misbehaving-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a hunt over a misbehaving Raft printed and recorded.
struct Hunt {
    dir: PathBuf,
    stdout: String,
    records: Vec<RunRecord>,
}

/// Hunts `test` on seeds `1..=seeds` over the Raft `raft` (a hang after 1 s unless `extra`
/// sets `--hang-timeout`); checks what every hunt must do:
/// exit 1, one record per run, failures of class `class` only, each with its seed and replay,
/// bounded output, and the totals line. Returns the hunt.
fn hunt(raft: &str, test: &str, seeds: u64, class: &str, extra: &[&str]) -> Hunt {
    let dir = scratch(raft);
    let jsonl = dir.join("r.jsonl");
    let seeds_text = seeds.to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hunt-misbehaving"))
        .args(["--plain", test, "--seeds", &seeds_text])
        .args(["--out", dir.join("out").to_str().unwrap()])
        .args(["--jsonl", jsonl.to_str().unwrap()])
        .args(extra)
        .args(if extra.contains(&"--hang-timeout") {
            &[][..]
        } else {
            &["--hang-timeout", "1"][..]
        })
        .env("MISBEHAVING", raft)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{raft}: {stdout}{stderr}");
    assert!(
        stdout.len() + stderr.len() < MAX_OUTPUT_BYTES,
        "{raft}: {stdout}"
    );
    let records = read_jsonl(&jsonl).unwrap();
    assert_eq!(
        records.len() as u64,
        seeds,
        "{raft}: every run ran: {stdout}"
    );
    let failed: Vec<&RunRecord> = records.iter().filter(|r| !r.passed).collect();
    assert!(!failed.is_empty(), "{raft}: {stdout}");
    for record in &failed {
        assert_eq!(record.kind.as_deref(), Some(class), "{raft}: {record:?}");
        let replay = record.replay.as_deref().unwrap();
        assert!(
            replay.contains(&format!("{test} {}", record.seed)),
            "{raft}: {replay}"
        );
        let line = format!("FAIL {test} seed {} [{class}", record.seed);
        assert!(stdout.contains(&line), "{raft}: {line} in {stdout}");
    }
    let passed = seeds - failed.len() as u64;
    let totals = format!("{passed} passed, {} failed\n", failed.len());
    assert!(stdout.ends_with(&totals), "{raft}: {stdout}");
    assert!(stdout.contains("\ntest "), "the table: {stdout}");
    Hunt {
        dir,
        stdout,
        records,
    }
}

impl Hunt {
    /// A seed that failed, and checks that another passed (the hunt went on).
    fn failed_seed_beside_a_pass(&self) -> u64 {
        assert!(
            self.records.iter().any(|r| r.passed),
            "no run passed: {}",
            self.stdout
        );
        self.records.iter().find(|r| !r.passed).unwrap().seed
    }
}

/// Whether this process is the child of [`cargo_test_fails`].
fn cargo_test_child() -> bool {
    std::env::var_os("MISBEHAVING_CARGO_TEST").is_some()
}

/// Runs the `#[test]` `test_fn` of this binary as its own child, which runs `cargo_test` over
/// a misbehaving Raft on `seed`: the child must fail, with the seed, the class and the
/// reproduce line.
fn cargo_test_fails(test_fn: &str, seed: u64, class: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_fn])
        .env("MISBEHAVING_CARGO_TEST", "1")
        .env("LAB_SEED", seed.to_string())
        .env("LAB_WATCHDOG_SECS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(stdout.len() < MAX_OUTPUT_BYTES, "{stdout}");
    let fail = format!("--- FAIL: initial_election_2a (seed {seed}): {class}");
    assert!(stdout.contains(&fail), "{fail} in {stdout}");
    let reproduce = format!("reproduce: LAB_SEED={seed} cargo test --release -p raft-reference");
    assert!(stdout.contains(&reproduce), "{stdout}");
    stdout
}

#[test]
fn a_stack_overflow_costs_one_run() {
    if cargo_test_child() {
        return tester::cargo_test::<OverflowsStack<Reference>>("initial_election_2a");
    }
    let hunt = hunt("overflows-stack", "initial_election_2a", 6, "crash", &[]);
    assert!(
        hunt.stdout.contains("was killed by signal 6"),
        "{}",
        hunt.stdout
    );
    assert!(
        hunt.stdout.contains("has overflowed its stack"),
        "{}",
        hunt.stdout
    );
    let seed = hunt.failed_seed_beside_a_pass();
    let stdout = cargo_test_fails("a_stack_overflow_costs_one_run", seed, "crash");
    assert!(stdout.contains("killed by signal 6"), "{stdout}");
}

#[test]
fn an_exit_0_costs_one_run_and_never_passes() {
    if cargo_test_child() {
        return tester::cargo_test::<ExitsZero<Reference>>("initial_election_2a");
    }
    let hunt = hunt("exits-zero", "initial_election_2a", 6, "exit", &[]);
    assert!(
        hunt.stdout.contains("exited by itself with status 0"),
        "{}",
        hunt.stdout
    );
    let seed = hunt.failed_seed_beside_a_pass();
    let stdout = cargo_test_fails("an_exit_0_costs_one_run_and_never_passes", seed, "exit");
    assert!(stdout.contains("with status 0"), "{stdout}");
}

#[test]
fn an_exit_1_costs_one_run() {
    if cargo_test_child() {
        return tester::cargo_test::<ExitsOne<Reference>>("initial_election_2a");
    }
    let hunt = hunt("exits-one", "initial_election_2a", 6, "exit", &[]);
    assert!(
        hunt.stdout.contains("exited by itself with status 1"),
        "{}",
        hunt.stdout
    );
    let seed = hunt.failed_seed_beside_a_pass();
    cargo_test_fails("an_exit_1_costs_one_run", seed, "exit");
}

#[test]
fn a_hang_in_a_handler_costs_one_run() {
    if cargo_test_child() {
        return tester::cargo_test::<SpinsSometimes<Reference>>("initial_election_2a");
    }
    let hunt = hunt("spins-sometimes", "initial_election_2a", 6, "hang", &[]);
    assert!(
        hunt.stdout.contains("its worker process was killed"),
        "{}",
        hunt.stdout
    );
    let seed = hunt.failed_seed_beside_a_pass();
    let stdout = cargo_test_fails("a_hang_in_a_handler_costs_one_run", seed, "hang");
    assert!(
        stdout.contains("S0 is still in handle_timer, handling TimerId("),
        "{stdout}"
    );
}

#[test]
fn a_storm_of_bytes_in_flight_costs_one_run() {
    // Encoding the storm takes a while on a busy machine: no 1 s hang limit here.
    let extra = ["-j", "1", "--hang-timeout", "60"];
    let hunt = hunt("floods-bytes", "rpc_bytes_2b", 1, "resource-limit", &extra);
    assert!(
        hunt.stdout.contains("bytes of messages in flight"),
        "{}",
        hunt.stdout
    );
}

#[test]
fn a_flood_of_log_lines_is_saved_within_its_cap_with_repeats_collapsed() {
    let cap = 200_000u64;
    let cap_text = cap.to_string();
    let extra = [
        "--max-artifact-bytes-per-run",
        cap_text.as_str(),
        "--keep",
        "1",
    ];
    let hunt = hunt("floods-its-log", "initial_election_2a", 2, "panic", &extra);
    let out = hunt.dir.join("out");
    let saved: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    // --keep 1: one log, one trace and, when it fits what is left of the cap, the timeline page.
    let kinds: Vec<&str> = ["log", "trace", "html"]
        .into_iter()
        .filter(|kind| saved.iter().any(|p| has_extension(p, kind)))
        .collect();
    assert!(
        kinds.starts_with(&["log", "trace"]) && saved.len() == kinds.len(),
        "--keep 1: one log, one trace, at most one page: {saved:?}"
    );
    let total: u64 = saved
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    // The cap, plus the log's head and tail and the note of the cut.
    assert!(total < cap + 8_192, "{total} bytes in {saved:?}");
    let log = saved.iter().find(|p| has_extension(p, "log")).unwrap();
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("… 63 more identical lines"), "{log}");
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e == extension)
}

#[test]
fn the_hunts_byte_cap_stops_saving_and_says_so() {
    let extra = ["--max-artifact-bytes", "1000", "--keep", "5"];
    let hunt = hunt("floods-its-log", "initial_election_2a", 3, "panic", &extra);
    assert!(
        hunt.stdout
            .contains("the hunt's saved files reached --max-artifact-bytes (1000 bytes)"),
        "{}",
        hunt.stdout
    );
}

/// Tests with their own driver (Lab 3's) passed to the hunt as extra tests: its workers, which
/// re-execute the binary, find them by name; each failure is reported with its seed and
/// replay, and its log saved.
#[test]
fn a_test_with_its_own_driver_is_hunted_in_worker_processes() {
    let hunt = hunt("own-run", "own_flaky_3a", 4, "failed-check", &["-j", "2"]);
    let mut failed: Vec<u64> = hunt
        .records
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.seed)
        .collect();
    // Two workers finish in either order: the records come as they finish.
    failed.sort_unstable();
    assert_eq!(failed, [1, 3], "{}", hunt.stdout);
    assert!(hunt.records.iter().all(|r| r.part == "3a"));
    let log = std::fs::read_to_string(hunt.dir.join("out/own_flaky_3a-3.log")).unwrap();
    assert!(log.contains("odd seed 3"), "{log}");
    let list = |filters: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hunt-misbehaving"))
            .arg("--list")
            .args(filters)
            .env("MISBEHAVING", "own-run")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(list(&["lab3"]), "own_flaky_3a\nown_steady_3b\n");
    assert!(
        !list(&[]).contains("own_"),
        "a plain hunt stays the Go suites"
    );
}
