//! `scripts/merge` as a user runs it, on result files written by hand (this package runs no
//! Raft of its own): each implementation keeps its own table, and a file with no run is an
//! error.

use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scripts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One result line of `--jsonl`, as the hunt writes it.
fn record(implementation: &str, seed: u64, failed: bool) -> String {
    let failure = if failed {
        r#","kind":"failed-check","message":"term 2 has 2 (>1) leaders","at_ms":1547,"replay":"scripts/replay --canary re_election_2a 1""#
    } else {
        ""
    };
    format!(
        r#"{{"test":"re_election_2a","part":"2a","seed":{seed},"implementation":"{implementation}","passed":{}{failure},"wall_ms":1.5,"virtual_ms":5000,"events":900,"fingerprint":"5c7d17a373e00fcb"}}"#,
        !failed
    )
}

/// `merge` run in `dir` with the words of `args`: (exit status, stdout, stderr).
fn merge(dir: &Path, args: &str) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_merge"))
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
fn merge_keeps_each_implementation_in_its_own_table() {
    let dir = scratch("merge");
    let reference = [record("reference", 1, false), record("reference", 2, false)];
    std::fs::write(dir.join("ref.jsonl"), reference.join("\n") + "\n").unwrap();
    let canary = [record("canary", 1, true), record("canary", 2, true)];
    std::fs::write(dir.join("canary.jsonl"), canary.join("\n") + "\n").unwrap();
    let (code, stdout, _) = merge(&dir, "ref.jsonl canary.jsonl --junit all.xml");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("=== canary: 0 passed, 2 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("=== reference: 2 passed, 0 failed"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("re_election_2a "))
        .collect();
    assert_eq!(rows.len(), 2, "one row per implementation: {stdout}");
    assert!(stdout.ends_with("2 passed, 2 failed\n"), "{stdout}");
    let xml = std::fs::read_to_string(dir.join("all.xml")).unwrap();
    assert!(xml.contains("<testsuite name=\"hunt (canary)\""), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"hunt (reference)\""),
        "{xml}"
    );

    std::fs::write(dir.join("empty.jsonl"), "").unwrap();
    let (code, _, stderr) = merge(&dir, "empty.jsonl");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no runs"), "{stderr}");
}

#[test]
fn merge_skips_a_cut_off_line_wherever_it_is() {
    // An older hunt, killed mid-write and resumed, went on after the cut line.
    let dir = scratch("cut");
    let cut = record("reference", 2, false);
    let lines = [
        record("reference", 1, false),
        cut[..cut.len() / 2].to_owned(),
        record("reference", 2, false),
        record("reference", 3, false),
        cut[..10].to_owned(),
    ];
    std::fs::write(dir.join("r.jsonl"), lines.join("\n")).unwrap();
    let (code, stdout, stderr) = merge(&dir, "r.jsonl");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    assert!(
        stderr.contains("r.jsonl:2: skipping a cut-off line"),
        "{stderr}"
    );
    // A line that is whole but wrong is still an error.
    let bad = [
        record("reference", 1, false),
        "{\"test\":1}".to_owned(),
        record("reference", 2, false),
    ];
    std::fs::write(dir.join("bad.jsonl"), bad.join("\n") + "\n").unwrap();
    let (code, _, stderr) = merge(&dir, "bad.jsonl");
    assert_eq!(code, Some(2), "{stderr}");
}
