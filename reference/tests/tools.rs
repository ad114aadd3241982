//! The hunt and the determinism check against implementations that misbehave on purpose: one
//! that is nondeterministic, one whose handler never returns, one that panics, one whose
//! leader is fickle (the `hunt-misbehaving` binary hunts them: the hunt runs each run in a
//! worker process that re-executes its own binary). Then the built binaries as a user runs
//! them: hunts that select nothing, an interrupted hunt.

// A handler that never returns and a hunt interrupted mid-way need real sleeps: these tests
// drive the hunt from outside the simulation, as `scripts/` does.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::Duration;

use scripts::record::read_jsonl;
use tester::misbehaving::REPLY_PANIC;
use tester::{RunOptions, determinism};

/// The reference, nondeterministic: run 2 of a seed differs from run 1.
type Drifting = tester::controls::Drifts<raft_reference::Reference>;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scripts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A hunt by the `hunt-misbehaving` binary over the Raft `raft` (its `MISBEHAVING` names), in
/// `dir`, with `--plain` and `args`: (exit status, stdout, stderr).
fn hunt_over(raft: &str, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hunt-misbehaving"))
        .arg("--plain")
        .args(args)
        .env("MISBEHAVING", raft)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_reference_is_deterministic_and_drift_is_named_at_its_first_event() {
    let case = tester::registry::find::<raft_reference::Reference>("initial_election_2a").unwrap();
    let (report, mismatch) = determinism::run_twice(&case, 7, RunOptions::default());
    assert!(report.passed());
    assert_eq!(mismatch, None);

    let case = tester::registry::find::<Drifting>("initial_election_2a").unwrap();
    let (_, mismatch) = determinism::run_twice(&case, 7, RunOptions::default());
    let mismatch = mismatch.expect("the extra timer is seen");
    assert!(mismatch.index.is_some());
    let text = mismatch.to_string();
    assert!(text.contains("first differing event #"), "{text}");
    assert!(text.contains("timer    S0"), "{text}");
}

#[test]
fn a_hung_run_is_reported_with_its_seed_and_the_hunt_still_ends() {
    let dir = scratch("stuck");
    let jsonl = dir.join("r.jsonl");
    let (code, stdout, stderr) = hunt_over(
        "loops-forever",
        &dir,
        &[
            "initial_election_2a",
            "--seeds",
            "3",
            "--hang-timeout",
            "1",
            "--out",
            dir.to_str().unwrap(),
            "--jsonl",
            jsonl.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.ends_with("0 passed, 3 failed\n"), "{stdout}");
    let records = read_jsonl(&jsonl).unwrap();
    assert_eq!(records.len(), 3, "every run ran: a hang costs one run");
    for record in &records {
        assert_eq!(record.kind.as_deref(), Some("hang"), "{record:?}");
        let replay = record.replay.as_deref().unwrap();
        assert!(
            replay.contains(&format!("initial_election_2a {}", record.seed)),
            "{replay}"
        );
    }
    assert!(dir.join("initial_election_2a-1.log").exists());
}

#[test]
fn a_panic_is_one_failed_run_with_its_location_log_and_trace() {
    let dir = scratch("panic");
    let jsonl = dir.join("r.jsonl");
    let (code, stdout, _) = hunt_over(
        "panics-on-reply",
        &dir,
        &[
            "re_election",
            "--seeds",
            "3",
            "--out",
            dir.to_str().unwrap(),
            "--jsonl",
            jsonl.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    let records = read_jsonl(&jsonl).unwrap();
    assert_eq!(records.len(), 3);
    let record = &records[0];
    assert_eq!(record.kind.as_deref(), Some("panic"));
    let message = record.message.as_deref().unwrap();
    assert!(message.contains(REPLY_PANIC), "{message}");
    assert!(message.contains("misbehaving.rs:"), "{message}");
    let log = std::fs::read_to_string(dir.join(format!("re_election_2a-{}.log", record.seed)));
    let log = log.unwrap();
    assert!(log.contains(REPLY_PANIC), "{log}");
    assert!(
        log.contains("stack backtrace")
            || log.contains("disabled backtrace")
            || log.contains("0: "),
        "{log}"
    );
    let trace = std::fs::read_to_string(dir.join(format!("re_election_2a-{}.trace", record.seed)));
    assert!(trace.unwrap().contains("RequestVote"));
    let page = std::fs::read_to_string(dir.join(format!("re_election_2a-{}.html", record.seed)));
    let page = page.unwrap();
    assert!(page.contains(REPLY_PANIC) && page.contains("RequestVote"));
}

/// `hunt` (the reference) in `dir` with `--plain` and the words of `args`: its exit status.
fn hunt_reference(dir: &Path, args: &str) -> Option<i32> {
    tool(env!("CARGO_BIN_EXE_hunt"), dir, &format!("--plain {args}")).0
}

#[test]
fn a_short_hunt_passes_on_the_reference_and_resumes_without_rerunning() {
    let dir = scratch("resume");
    let jsonl = dir.join("r.jsonl");
    let path = jsonl.to_str().unwrap();
    assert_eq!(
        hunt_reference(&dir, &format!("2a --seeds 2 --jsonl {path}")),
        Some(0)
    );
    assert_eq!(read_jsonl(&jsonl).unwrap().len(), 6);
    let again = format!("--plain 2a --seeds 2 --jsonl {path}");
    let (code, _, stderr) = tool(env!("CARGO_BIN_EXE_hunt"), &dir, &again);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let more = format!("2a --seeds 3 --jsonl {path} --resume");
    assert_eq!(hunt_reference(&dir, &more), Some(0));
    let records = read_jsonl(&jsonl).unwrap();
    assert_eq!(records.len(), 9, "only seed 3 ran");
    assert_eq!(records.iter().filter(|r| r.seed == 3).count(), 3);
}

/// Cuts `path` in the middle of its last line, as a hunt killed mid-write leaves it.
fn cut_mid_line(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let last_start = text.trim_end().rfind('\n').map_or(0, |i| i + 1);
    std::fs::write(path, &text[..last_start + 20]).unwrap();
}

#[test]
fn two_successive_interrupted_resumes_and_a_merge_read_every_run_once() {
    let dir = scratch("requeue");
    let jsonl = dir.join("r.jsonl");
    let path = jsonl.to_str().unwrap();
    let hunt = |seeds: &str, resume: bool| {
        let resume = if resume { " --resume" } else { "" };
        let args = format!("initial_election_2a --seeds {seeds} --jsonl {path}{resume}");
        hunt_reference(&dir, &args)
    };
    assert_eq!(hunt("3", false), Some(0));
    // Killed while writing its third run; requeued, and killed again the same way.
    cut_mid_line(&jsonl);
    assert_eq!(hunt("4", true), Some(0));
    cut_mid_line(&jsonl);
    assert_eq!(hunt("5", true), Some(0));
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert!(text.ends_with('\n') && !text.contains("\n\n"), "{text}");
    let mut seeds: Vec<u64> = read_jsonl(&jsonl).unwrap().iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    assert_eq!(seeds, [1, 2, 3, 4, 5], "each run once, the cut ones rerun");
    assert_eq!(text.lines().count(), 5, "the cut lines are gone: {text}");
}

#[test]
fn the_hunt_reports_nondeterminism_as_a_failure() {
    let dir = scratch("drift");
    let jsonl = dir.join("r.jsonl");
    let (code, stdout, _) = hunt_over(
        "drifts",
        &dir,
        &[
            "initial_election_2a",
            "--seeds",
            "2",
            "--jobs",
            "1",
            "--check-determinism",
            "--out",
            dir.to_str().unwrap(),
            "--jsonl",
            jsonl.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    for record in read_jsonl(&jsonl).unwrap() {
        assert_eq!(
            record.kind.as_deref(),
            Some("nondeterministic"),
            "{record:?}"
        );
        let replay = record.replay.unwrap();
        assert!(replay.starts_with("LAB_CHECK_DETERMINISM=1 "), "{replay}");
        assert!(replay.contains("replay"), "{replay}");
    }
}

/// One of this package's binaries, run in `dir` with the words of `args`: (exit status,
/// stdout, stderr).
fn tool(exe: &str, dir: &std::path::Path, args: &str) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(exe)
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_hunt_that_selects_no_runs_is_a_usage_error_not_a_success() {
    let dir = scratch("empty");
    let hunt = env!("CARGO_BIN_EXE_hunt");
    let (code, _, stderr) = tool(hunt, &dir, "--seeds 0");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("at least 1 seed"), "{stderr}");
    let (code, stdout, stderr) = tool(hunt, &dir, "--seeds 2 --shard 2/3");
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("shard 2/3 has no seeds"), "{stderr}");
    assert!(!stdout.contains("passed"), "{stdout}");
}

#[test]
fn an_interrupted_hunt_says_so_right_above_its_totals() {
    let dir = scratch("interrupt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hunt"))
        .args("--plain --seeds 1000000 --jobs 1 initial_election".split(' '))
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first line is printed once the signal handler is in place.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("hunt: "), "{first}");
    std::thread::sleep(Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let stdout = first + &rest;
    assert_eq!(status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let [.., before_last, last] = lines.as_slice() else {
        panic!("{stdout}");
    };
    assert!(before_last.starts_with("interrupted: "), "{stdout}");
    assert!(before_last.contains("not started"), "{stdout}");
    assert!(last.ends_with(" passed, 0 failed"), "{stdout}");
}

#[test]
fn warnings_are_counted_shown_and_fail_strict_hunts() {
    let dir = scratch("warnings");
    let jsonl = dir.join("r.jsonl");
    let path = jsonl.to_str().unwrap();
    let lenient = ["initial_election_2a", "--seeds", "8", "--jsonl", path];
    let code = hunt_over("fickle", &dir, &lenient).0.unwrap();
    let records = read_jsonl(&jsonl).unwrap();
    let warned: Vec<_> = records.iter().filter(|r| r.warnings > 0).collect();
    assert!(!warned.is_empty(), "{records:#?}");
    for record in &warned {
        let warning = record.warning.as_deref().unwrap();
        assert_eq!(
            warning,
            "warning: term changed even though there were no failures"
        );
        let replay = record.replay.as_deref().unwrap();
        assert!(replay.contains("--fingerprint "), "{replay}");
    }
    let passed_with_warnings = warned.iter().filter(|r| r.passed).count();
    assert!(passed_with_warnings > 0, "{records:#?}");
    assert_eq!(code, i32::from(records.iter().any(|r| !r.passed)));

    let strict_jsonl = dir.join("strict.jsonl");
    let path = strict_jsonl.to_str().unwrap();
    let out = dir.join("out");
    let strict = [
        "initial_election_2a",
        "--seeds",
        "8",
        "--strict",
        "--jsonl",
        path,
        "--out",
        out.to_str().unwrap(),
    ];
    let strict_code = hunt_over("fickle", &dir, &strict).0;
    assert_eq!(strict_code, Some(1));
    let records = read_jsonl(&strict_jsonl).unwrap();
    let failed_on_warnings: Vec<_> = records
        .iter()
        .filter(|r| r.kind.as_deref() == Some("warning"))
        .collect();
    assert_eq!(
        failed_on_warnings.len(),
        passed_with_warnings,
        "{records:#?}"
    );
    for record in failed_on_warnings {
        assert!(!record.passed);
        assert!(record.replay.as_deref().unwrap().contains(" --strict "));
    }
}

#[test]
fn a_replay_whose_fingerprint_differs_from_the_hunts_warns_and_names_both() {
    let dir = scratch("fingerprint");
    let case = tester::registry::find::<raft_reference::Reference>("re_election_2a").unwrap();
    let fingerprint = tester::run_case(&case, 3, RunOptions::default()).fingerprint;
    let replay = env!("CARGO_BIN_EXE_replay");
    let right = format!("re_election_2a 3 --no-trace --fingerprint {fingerprint:016x}");
    let (code, stdout, _) = tool(replay, &dir, &right);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("fingerprint matches the hunt's"),
        "{stdout}"
    );
    assert!(!stdout.contains("WARNING"), "{stdout}");

    let wrong = "re_election_2a 3 --no-trace --fingerprint 00000000deadbeef";
    let (code, stdout, stderr) = tool(replay, &dir, wrong);
    assert_eq!(code, Some(0), "the run itself passed: {stdout}");
    let warning = format!(
        "WARNING: THIS IS NOT THE RUN THE HUNT RAN. Its fingerprint is {fingerprint:016x}; the \
         hunt recorded 00000000deadbeef."
    );
    assert!(stdout.contains(&warning), "{stdout}");
    // Also in the debug log's stream, when it is not the terminal.
    assert!(stderr.contains(&warning), "{stderr}");
}
