//! `cargo test` runs each lab test's seeds in a child process: the test binary itself,
//! re-executed for that one test (`TEST --exact --nocapture`) with `LAB_IN_PROCESS=child`.
//! What a node does to its process (a stack overflow aborts it; `std::process::exit`, even
//! `exit(0)`, ends it) then fails that test, with its seed and reproduce line, instead of taking
//! the test binary down or, worse, letting it exit 0 as if everything passed.
//!
//! The child prints what the test prints, plus marker lines ([`MARKER`]) the parent reads and
//! hides: `NAME begin`, `NAME run SEED` before each seed, `reported` after the watchdog's own
//! report, `NAME done FAILED-SEEDS` at the end. The lab test's name in each lets a `#[test]`
//! that runs several lab tests read each one's markers only. The parent forwards the rest (stdout and stderr) through its
//! own `print!`, so libtest shows it as it shows any test's output. A child that ends without
//! `done` took the seed of its last `run` with it: killed by a signal, class `crash`; exited
//! by itself, any status, class `exit`.
//!
//! `LAB_IN_PROCESS=1` runs the seeds in the test's own process, as before this module (for a
//! debugger): a stack overflow or an exit there is not contained.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};

/// The environment variable: `child` in a child this module started, `1` to run in-process.
pub const ENV: &str = "LAB_IN_PROCESS";

/// What starts each marker line.
pub const MARKER: &str = "\u{1e}lab-test ";

/// Whether this process runs the seeds itself (a child, or `LAB_IN_PROCESS=1`).
pub fn in_process() -> bool {
    std::env::var_os(ENV).is_some()
}

/// Whether this process is a child of [`run_in_child`], which reads its markers.
pub fn is_child() -> bool {
    std::env::var(ENV).is_ok_and(|value| value == "child")
}

/// Prints a marker line, in a child.
pub fn mark(what: &str) {
    if is_child() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "\n{MARKER}{what}").and_then(|()| out.flush());
    }
}

/// How a child ended.
pub enum Ended {
    /// It finished every seed: these failed.
    Done(Vec<u64>),
    /// The watchdog stopped it on this seed, and said so.
    Reported(u64),
    /// It ended in the middle of this seed (or before any, `None`): the class and how.
    Lost(Option<u64>, crate::FailureKind, String),
}

/// Runs the `#[test]` at `test_path` in a child process and forwards its output.
#[allow(clippy::disallowed_methods)] // threads beside the child, outside any simulation
pub fn run_in_child(test_path: &str, name: &str) -> Ended {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            test_path,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ENV, "child")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run the test in a child process ({ENV}=1 runs it here): {e}")
        });
    let stderr = child.stderr.take().expect("piped");
    // Spawned from the test's thread, it inherits libtest's capture of `eprint!`.
    let errors = std::thread::spawn(move || forward_stderr(stderr));
    let markers = forward_stdout(child.stdout.take().expect("piped"), name);
    let status = child.wait().expect("the child test process");
    let _ = errors.join();
    ended(&markers, status)
}

/// The markers a child printed, in order; its other lines are printed here (but the empty
/// line [`mark`] writes before each marker).
fn forward_stdout(stdout: impl Read, name: &str) -> Vec<String> {
    let mut reader = BufReader::new(stdout);
    let (mut markers, mut line) = (Vec::new(), Vec::new());
    let (mut begun, mut blank) = (false, false);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return markers,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let (text, marker) = match text.find(MARKER) {
            Some(at) => (
                &text[..at],
                Some(text[at + MARKER.len()..].trim_end().to_owned()),
            ),
            None => (&text[..], None),
        };
        // Before `begin` and after `done`: libtest's own lines in the child.
        let done = markers
            .last()
            .is_some_and(|m: &String| m.starts_with("done"));
        if begun && !done {
            if blank && marker.is_none() {
                println!();
            }
            blank = text == "\n" && marker.is_none();
            if !blank {
                print!("{text}");
            }
        }
        if let Some(ours) = marker.as_deref().and_then(|m| own_marker(m, name)) {
            begun |= ours == "begin";
            markers.push(ours);
        }
    }
}

/// A marker of lab test `name`, without the name (or the watchdog's `reported`).
fn own_marker(marker: &str, name: &str) -> Option<String> {
    if marker == "reported" {
        return Some(marker.to_owned());
    }
    let rest = marker.strip_prefix(name)?.strip_prefix(' ')?;
    Some(rest.to_owned())
}

fn forward_stderr(mut stderr: impl Read) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        eprint!("{}", String::from_utf8_lossy(&buf[..n]));
    }
}

/// How the child ended, from its markers and its exit status.
fn ended(markers: &[String], status: ExitStatus) -> Ended {
    let mut seed = None;
    for marker in markers {
        let mut words = marker.split(' ');
        match (words.next(), words.next()) {
            (Some("done"), failed) => {
                let failed = failed.unwrap_or("");
                let seeds = failed.split(',').filter_map(|s| s.parse().ok()).collect();
                return Ended::Done(seeds);
            }
            (Some("run"), Some(n)) => seed = n.parse().ok(),
            (Some("reported"), _) => {
                if let Some(seed) = seed {
                    return Ended::Reported(seed);
                }
            }
            _ => {}
        }
    }
    let (kind, how) = describe(status);
    Ended::Lost(seed, kind, how)
}

/// `crash` for a process killed by a signal, `exit` for one that exited by itself; how, in
/// words.
pub fn describe(status: ExitStatus) -> (crate::FailureKind, String) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT: an abort; a stack overflow aborts, see its message above)",
                9 => " (SIGKILL: killed from outside, or out of memory)",
                11 => " (SIGSEGV)",
                _ => "",
            };
            let how = format!("the test process was killed by signal {signal}{name}");
            return (crate::FailureKind::Crash, how);
        }
    }
    match status.code() {
        Some(code) => (
            crate::FailureKind::Exit,
            format!(
                "the test process exited by itself with status {code} in the middle of the run \
                 (std::process::exit in the implementation? Go's log.Fatal is one)"
            ),
        ),
        None => (
            crate::FailureKind::Crash,
            format!("the test process ended with {status}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::own_marker;

    #[test]
    fn markers_of_another_lab_test_are_not_ours() {
        let ours = |marker: &str, name: &str| own_marker(marker, name);
        assert_eq!(
            ours("persist1_2c run 3", "persist1_2c").as_deref(),
            Some("run 3")
        );
        assert_eq!(ours("persist1_2c run 3", "persist1"), None);
        assert_eq!(
            ours("backup_2b done 1,4", "backup_2b").as_deref(),
            Some("done 1,4")
        );
        assert_eq!(ours("reported", "backup_2b").as_deref(), Some("reported"));
    }
}
