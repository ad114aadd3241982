//! The hunt's worker processes (the nextest model): each run happens in a child process, so
//! that whatever a run does to its process (a handler that never returns, a stack overflow,
//! `std::process::exit`, even `exit(0)`) costs that run and nothing else.
//!
//! A worker is the hunt binary itself, re-executed ([`Command::current`]) with the hunt's own
//! arguments plus the hidden `--worker-out DIR`: the same binary, so the same Raft (the hunt is
//! generic over it) and the same selection of tests. The protocol is one JSON object a line:
//!
//! - parent → worker, on stdin: a [`Job`] (run a test on a seed, or rerun a failing one to save
//!   its log and trace);
//! - worker → parent, on stdout: [`Answer::Ready`] once, then one answer per job, each line
//!   starting with [`MARKER`] (a node that prints to stdout cannot forge or break one: the
//!   parent ignores every other line, and finds the marker anywhere in a line).
//!
//! The parent ([`Worker`]) reads each worker's stdout and stderr on threads of its own. At EOF
//! of stdout the worker is gone: [`Worker::death`] says how (killed by a signal: `crash`;
//! exited by itself, with any status: `exit`), with the last lines it wrote on stderr (a stack
//! overflow's `thread '…' has overflowed its stack`). A worker whose run passes the hang limit
//! is killed and replaced by the parent ([`Worker::kill`]).
//!
//! A worker ignores Ctrl-C and SIGTERM (a terminal sends them to the whole process group): the
//! parent decides when the hunt stops. When its stdin closes (the parent finished, or died),
//! the worker exits at once, even in the middle of a hung run.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};
use raft::RaftNode;
use serde::{Deserialize, Serialize};
use tester::{FailureKind, TestCase};

use crate::artifacts::{self, Shared};
use crate::hunt::run_one;
use crate::logging;
use crate::record::RunRecord;

/// What starts every protocol line a worker writes.
pub const MARKER: &str = "\u{1e}hunt-worker ";

/// Stack of the thread that runs a worker's jobs (a deep panic or a recursive implementation
/// needs room).
const JOB_STACK_BYTES: usize = 32 << 20;

/// Bytes of a worker's stderr kept, to show when it dies.
const STDERR_TAIL_BYTES: usize = 1024;

/// What the parent asks of a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    /// Run `test` on `seed`.
    Run {
        /// The test's name.
        test: String,
        /// The seed.
        seed: u64,
    },
    /// Rerun a failed run with its log captured and a trace, saving at most `budget_bytes`.
    Save {
        /// The test's name.
        test: String,
        /// The seed.
        seed: u64,
        /// The failed run's fingerprint, to check the rerun against.
        fingerprint: String,
        /// Bytes the saved files may hold together.
        budget_bytes: u64,
    },
}

impl Job {
    /// The test and seed the job is about.
    pub fn run(&self) -> (&str, u64) {
        match self {
            Job::Run { test, seed } | Job::Save { test, seed, .. } => (test, *seed),
        }
    }
}

/// What a worker answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    /// The worker started and waits for jobs.
    Ready,
    /// A [`Job::Run`] finished.
    Done(RunRecord),
    /// A [`Job::Save`] finished: bytes written, and a note if something is wrong.
    Saved {
        /// Bytes in the saved files.
        bytes: u64,
        /// A line to print (a rerun that differs, a write error).
        note: Option<String>,
    },
}

// ----- the worker's side -----

/// Makes this process ignore Ctrl-C and SIGTERM: the hunt's parent process decides.
pub fn ignore_interrupts() {
    let _ = ctrlc::set_handler(|| {});
}

/// Serves jobs on stdin until it closes (then exits the process): the whole life of a worker.
pub fn serve<R: RaftNode>(cases: Vec<TestCase<R>>, shared: Shared) -> Result<i32, String> {
    logging::init_capture();
    logging::install_quiet_panic_hook();
    let (tx, jobs) = unbounded::<Job>();
    std::thread::Builder::new()
        .name("hunt-worker-stdin".into())
        .spawn(move || read_jobs(&tx))
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    answer(&Answer::Ready);
    let runner = std::thread::Builder::new()
        .name("hunt-job".into())
        .stack_size(JOB_STACK_BYTES)
        .spawn(move || {
            logging::quiet_panics_on_this_thread();
            for job in jobs.iter() {
                answer(&do_job(&cases, &shared, job));
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let _ = runner.join();
    Ok(0)
}

/// Passes each job line on; exits the process when stdin closes.
fn read_jobs(tx: &Sender<Job>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Job>(&line) {
            Ok(job) => {
                if tx.send(job).is_err() {
                    break;
                }
            }
            Err(e) => eprintln!("hunt worker: not a job: {e}: {line}"),
        }
    }
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Writes one answer line.
fn answer(answer: &Answer) {
    let line = serde_json::to_string(answer).expect("an answer serializes");
    let mut out = std::io::stdout().lock();
    // A student's print without a newline must not swallow the marker.
    let _ = writeln!(out, "\n{MARKER}{line}").and_then(|()| out.flush());
}

fn do_job<R: RaftNode>(cases: &[TestCase<R>], shared: &Shared, job: Job) -> Answer {
    let (name, seed) = job.run();
    let case = cases
        .iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("the parent asked for a test this worker lacks: {name}"));
    match job {
        Job::Run { .. } => Answer::Done(run_one(case, seed, shared.implementation, shared.checks)),
        Job::Save {
            fingerprint,
            budget_bytes,
            ..
        } => {
            let (bytes, note) =
                artifacts::save_artifacts(case, seed, &fingerprint, shared, budget_bytes);
            Answer::Saved { bytes, note }
        }
    }
}

// ----- the parent's side -----

/// How to start a worker: this very binary, with the hunt's arguments and `--worker-out DIR`.
#[derive(Clone, Debug)]
pub struct Command {
    program: PathBuf,
    args: Vec<OsString>,
}

impl Command {
    /// The running binary (`/proc/self/exe` where there is one, which works even when cargo
    /// rebuilt the file since), with the arguments it was started with, saving artifacts in
    /// `out`.
    pub fn current(out: &Path) -> Result<Command, String> {
        let proc_exe = Path::new("/proc/self/exe");
        let program = if proc_exe.exists() {
            proc_exe.to_owned()
        } else {
            std::env::current_exe().map_err(|e| format!("cannot find the hunt binary: {e}"))?
        };
        let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
        args.push("--worker-out".into());
        args.push(out.as_os_str().to_owned());
        Ok(Command { program, args })
    }
}

/// What a worker's reader threads report to the parent.
pub enum Event {
    /// A protocol line from the worker of this generation.
    Answer(u64, Answer),
    /// The worker of this generation closed its stdout: it is gone.
    Gone(u64),
}

/// A worker process, from the parent's side.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Unique among the hunt's workers: events name their worker by it.
    pub generation: u64,
    /// Whether it said [`Answer::Ready`].
    pub ready: bool,
    /// The job it is doing, since when.
    pub busy: Option<(Job, Instant)>,
    stderr_tail: Arc<Mutex<VecDeque<u8>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts a worker; its answers and its end arrive on `events`.
    pub fn spawn(
        command: &Command,
        generation: u64,
        events: &Sender<Event>,
    ) -> Result<Worker, String> {
        let mut child = std::process::Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start a worker process: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let events = events.clone();
        std::thread::Builder::new()
            .name(format!("hunt-worker-{generation}-out"))
            .spawn(move || read_answers(stdout, generation, &events))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let stderr_reader = std::thread::Builder::new()
            .name(format!("hunt-worker-{generation}-err"))
            .spawn(move || keep_tail(stderr, &tail))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok(Worker {
            stdin: child.stdin.take(),
            child,
            generation,
            ready: false,
            busy: None,
            stderr_tail,
            stderr_reader: Some(stderr_reader),
        })
    }

    /// Hands the worker a job.
    pub fn send(&mut self, job: Job) {
        let line = serde_json::to_string(&job).expect("a job serializes");
        if let Some(stdin) = self.stdin.as_mut() {
            // A worker that died meanwhile is reported by its reader as gone.
            let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        }
        self.busy = Some((job, Instant::now()));
    }

    /// Kills the worker (a run past the hang limit) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Peak resident memory of the worker so far (`VmHWM`), if known.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        crate::peak_memory_of(&format!("/proc/{}/status", self.child.id()))
    }

    /// Closes its stdin (it exits when idle) and waits for it.
    pub fn close(mut self) {
        self.stdin = None;
        let _ = self.child.wait();
    }

    /// How a worker that closed its stdout ended: the class and the words of a run it took
    /// down with it.
    pub fn death(&mut self) -> (FailureKind, String) {
        let status = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = tail.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let last_words = last_lines(&text);
        let (kind, how) = match status {
            Ok(status) => describe(status),
            Err(e) => (FailureKind::Crash, format!("could not be waited for ({e})")),
        };
        let words = if last_words.is_empty() {
            "it wrote nothing on stderr".to_owned()
        } else {
            format!("its last words on stderr: {last_words}")
        };
        (
            kind,
            format!("the worker process running it {how}; {words}"),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.kill();
        }
    }
}

/// `crash` for a process killed by a signal, `exit` for one that exited by itself; how, in
/// words.
pub fn describe(status: ExitStatus) -> (FailureKind, String) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT: an abort; a stack overflow aborts)",
                9 => " (SIGKILL: killed from outside, or out of memory)",
                11 => " (SIGSEGV)",
                _ => "",
            };
            return (
                FailureKind::Crash,
                format!("was killed by signal {signal}{name}"),
            );
        }
    }
    match status.code() {
        Some(code) => (
            FailureKind::Exit,
            format!(
                "exited by itself with status {code} in the middle of the run \
                 (std::process::exit in the implementation? Go's log.Fatal is one)"
            ),
        ),
        None => (FailureKind::Crash, format!("ended with {status}")),
    }
}

/// The last few lines of `text`, joined with ` | `.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let from = lines.len().saturating_sub(4);
    lines[from..].join(" | ")
}

/// Passes the worker's protocol lines on as events; the end of its stdout as [`Event::Gone`].
fn read_answers(stdout: impl Read, generation: u64, events: &Sender<Event>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let Some(at) = text.find(MARKER) else {
            continue; // a node's own print
        };
        match serde_json::from_str::<Answer>(text[at + MARKER.len()..].trim_end()) {
            Ok(answer) => {
                let _ = events.send(Event::Answer(generation, answer));
            }
            Err(e) => eprintln!("hunt: a worker wrote a line that is not an answer: {e}"),
        }
    }
    let _ = events.send(Event::Gone(generation));
}

/// Keeps the last [`STDERR_TAIL_BYTES`] bytes the worker writes on stderr.
fn keep_tail(mut stderr: impl Read, tail: &Mutex<VecDeque<u8>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.extend(&buf[..n]);
        let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
        tail.drain(..excess);
    }
}

/// A receiver and sender for worker events.
pub fn channel() -> (Sender<Event>, Receiver<Event>) {
    unbounded()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_answers_round_trip_as_lines() {
        let job = Job::Save {
            test: "backup_2b".into(),
            seed: 7,
            fingerprint: "00ff".into(),
            budget_bytes: 9,
        };
        let line = serde_json::to_string(&job).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Job>(&line).unwrap(), job);
        assert_eq!(job.run(), ("backup_2b", 7));
        let answer = Answer::Saved {
            bytes: 3,
            note: None,
        };
        let line = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<Answer>(&line).unwrap(), answer);
    }

    /// A worker finds a test of the hunt's `extra` by name, runs it, and saves its failure's
    /// log and trace.
    #[test]
    fn a_worker_runs_and_saves_a_test_with_its_own_driver() {
        let filters = ["lab3".to_owned()];
        let extra = tester::registry::own_run_stand_ins::<tester::registry::NoRaft>();
        let cases = crate::plan::select(tester::registry::all(), extra, &filters).unwrap();
        let out = std::env::temp_dir().join(format!("worker-own-run-{}", std::process::id()));
        let implementation = crate::Implementation::Own("no-raft");
        let shared = Shared::new(crate::Checks::default(), implementation, out.clone());
        let run = |test: &str, seed| Job::Run {
            test: test.into(),
            seed,
        };
        let Answer::Done(failed) = do_job(&cases, &shared, run("own_flaky_3a", 5)) else {
            panic!("a run job answers Done");
        };
        assert_eq!((failed.seed, failed.passed), (5, false));
        let Answer::Done(passed) = do_job(&cases, &shared, run("own_steady_3b", 5)) else {
            panic!("a run job answers Done");
        };
        assert!(passed.passed, "{passed:?}");
        let save = Job::Save {
            test: "own_flaky_3a".into(),
            seed: 5,
            fingerprint: failed.fingerprint.clone(),
            budget_bytes: 1 << 20,
        };
        let Answer::Saved { bytes, note } = do_job(&cases, &shared, save) else {
            panic!("a save job answers Saved");
        };
        assert_eq!(note, None, "the rerun is the run");
        assert!(bytes > 0);
        let log = std::fs::read_to_string(out.join("own_flaky_3a-5.log")).unwrap();
        assert!(log.contains("odd seed 5"), "{log}");
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn last_words_are_the_last_lines() {
        let text =
            "a\n\nb\nc\nthread 'x' has overflowed its stack\nfatal runtime error: stack overflow\n";
        assert_eq!(
            last_lines(text),
            "b | c | thread 'x' has overflowed its stack | fatal runtime error: stack overflow"
        );
    }
}
