//! The log and trace of a failing run, saved by the worker that ran it: the seed is rerun
//! (cheap: the run is deterministic) with the debug log captured and a
//! [`tester::trace::Trace`] installed, into `<out>/<test>-<seed>.log` and `.trace`.
//!
//! **Bounds.** The files of one run share a byte budget: the smaller of
//! `--max-artifact-bytes-per-run` ([`DEFAULT_BYTES_PER_RUN`]) and what is left of
//! `--max-artifact-bytes` ([`DEFAULT_BYTES_PER_HUNT`]) for the whole hunt, which the parent
//! keeps. Past it a file ends with a note saying so. Repetition is summarised as it is
//! written: a run of identical lines (a handler logging the same line in a loop) keeps its
//! first line and `… N more identical lines`.
//!
//! A run that never returned, or took its worker down (`hang`, `crash`, `exit`), is not rerun:
//! the parent writes a note with its message and replay command ([`save_lost_note`]).

use std::cell::{Cell, RefCell};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use raft::RaftNode;
use tester::trace::Trace;
use tester::{RunOptions, TestCase, run_case};

use crate::logging::{self, Capture};
use crate::record::RunRecord;
use crate::{Checks, Implementation};

/// Default of `--max-artifact-bytes-per-run`: the log and trace of one failing run together.
pub const DEFAULT_BYTES_PER_RUN: u64 = 32 << 20;
/// Default of `--max-artifact-bytes`: every saved file of a hunt together.
pub const DEFAULT_BYTES_PER_HUNT: u64 = 1 << 30;
/// A line longer than this is written as it comes, not compared with the one before.
const LONGEST_COMPARED_LINE: usize = 64 << 10;

/// What a worker needs to save artifacts.
pub struct Shared {
    /// The checks the hunt runs with.
    pub checks: Checks,
    /// The implementation, for replay commands.
    pub implementation: Implementation,
    /// The output folder.
    pub out: PathBuf,
    /// Every file [`artifact_path`] named for the current save: their sizes are its cost.
    paths: RefCell<Vec<PathBuf>>,
}

impl Shared {
    /// A worker's context for saving into `out`.
    pub fn new(checks: Checks, implementation: Implementation, out: PathBuf) -> Shared {
        Shared {
            checks,
            implementation,
            out,
            paths: RefCell::new(Vec::new()),
        }
    }
}

/// `<out>/<test>-<seed>.<extension>`.
pub fn artifact_path(shared: &Shared, test: &str, seed: u64, extension: &str) -> PathBuf {
    let path = path_in(&shared.out, test, seed, extension);
    let mut paths = shared.paths.borrow_mut();
    if !paths.contains(&path) {
        paths.push(path.clone());
    }
    path
}

/// `<out>/<test>-<seed>.<extension>`, for the parent.
pub fn path_in(out: &Path, test: &str, seed: u64, extension: &str) -> PathBuf {
    out.join(format!("{test}-{seed}.{extension}"))
}

/// Reruns a failing seed with the debug log captured and a trace, into `<out>/<test>-<seed>.*`,
/// within `budget_bytes`. Returns the bytes written and a note if something is wrong.
pub fn save_artifacts<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    fingerprint: &str,
    shared: &Shared,
    budget_bytes: u64,
) -> (u64, Option<String>) {
    shared.paths.borrow_mut().clear();
    let budget = Budget::new(budget_bytes);
    let note = match try_save_artifacts(case, seed, fingerprint, shared, &budget) {
        Ok(note) => note,
        Err(e) => Some(format!(
            "    could not save the log and trace of {} seed {seed}: {e}",
            case.name
        )),
    };
    let bytes = shared
        .paths
        .borrow()
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum();
    (bytes, note)
}

fn try_save_artifacts<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    fingerprint: &str,
    shared: &Shared,
    budget: &Rc<Budget>,
) -> std::io::Result<Option<String>> {
    std::fs::create_dir_all(&shared.out)?;
    let log_path = artifact_path(shared, case.name, seed, "log");
    let trace_path = artifact_path(shared, case.name, seed, "trace");
    let mut log = File::create(&log_path)?;
    write_log_header(&mut log, case.name, seed, fingerprint, shared, &trace_path)?;
    let trace_file = limited(File::create(&trace_path)?, budget);
    let (trace, trace_handle) = Trace::to_writer(Box::new(trace_file));
    let mut report = {
        let _capture = Capture::start(Box::new(limited(log.try_clone()?, budget)));
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
    let html_path = artifact_path(shared, case.name, seed, "html");
    save_html_within(case, seed, shared, &html_path, budget)?;
    Ok(note.map(|warning| format!("    {} seed {seed}: {warning}", case.name)))
}

/// The run's timeline page (`.html`) beside its log, if it fits what is left of the run's
/// budget; a page that does not fit is removed (`scripts/replay … --html FILE` writes it).
fn save_html_within<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    shared: &Shared,
    path: &Path,
    budget: &Rc<Budget>,
) -> std::io::Result<()> {
    crate::timeline::save_html(case, seed, (shared.implementation, shared.checks), path)?;
    let bytes = std::fs::metadata(path)?.len();
    if !budget.take(bytes) {
        std::fs::remove_file(path)?;
    }
    Ok(())
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

/// A run that cannot be rerun safely (it would hang, crash or exit again): the parent saves a
/// note with its message and how to replay it. Returns the note's path and size.
pub fn save_lost_note(
    out: &Path,
    implementation: Implementation,
    record: &RunRecord,
) -> Option<(PathBuf, u64)> {
    let path = path_in(out, &record.test, record.seed, "log");
    let text = format!(
        "# {} seed {} on {}: {}\n# No trace was taken: a rerun would do the same again.\n# \
         Replay it (under a time limit for a hang) with the debug log on stderr, which shows \
         the run up to where it stops:\n#   timeout 120 {}\n",
        record.test,
        record.seed,
        implementation.as_str(),
        record.message.as_deref().unwrap_or(""),
        record.replay.as_deref().unwrap_or(""),
    );
    let result = std::fs::create_dir_all(out).and_then(|()| std::fs::write(&path, &text));
    result.ok().map(|()| (path, text.len() as u64))
}

/// Bytes the files of one save may still take, shared by their writers.
pub struct Budget {
    left: Cell<u64>,
    cap: u64,
    /// Whether a writer reached the end of the budget.
    spent: Cell<bool>,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Rc<Budget> {
        Rc::new(Budget {
            left: Cell::new(bytes),
            cap: bytes,
            spent: Cell::new(false),
        })
    }

    /// Takes `bytes` if that many are left.
    fn take(&self, bytes: u64) -> bool {
        let left = self.left.get();
        if bytes <= left && !self.spent.get() {
            self.left.set(left - bytes);
            true
        } else {
            self.spent.set(true);
            false
        }
    }
}

/// A writer within a [`Budget`] that collapses runs of identical lines, and past the budget
/// notes the cut once.
pub struct Limited<W: Write> {
    inner: W,
    budget: Rc<Budget>,
    cut: bool,
    /// The line being written, until its newline.
    line: Vec<u8>,
    /// The last line written.
    last: Vec<u8>,
    /// Lines identical to `last` not written.
    repeats: u64,
}

/// `file`, buffered, within `budget`.
pub fn limited(file: File, budget: &Rc<Budget>) -> Limited<BufWriter<File>> {
    Limited::new(BufWriter::new(file), budget)
}

impl<W: Write> Limited<W> {
    /// `inner` within `budget`.
    pub fn new(inner: W, budget: &Rc<Budget>) -> Limited<W> {
        Limited {
            inner,
            budget: Rc::clone(budget),
            cut: false,
            line: Vec::new(),
            last: Vec::new(),
            repeats: 0,
        }
    }

    /// The line in `self.line` is complete.
    fn end_line(&mut self) -> std::io::Result<()> {
        if self.line == self.last && self.line.len() <= LONGEST_COMPARED_LINE {
            self.repeats += 1;
            self.line.clear();
            return Ok(());
        }
        self.note_repeats()?;
        let line = std::mem::take(&mut self.line);
        self.emit(&line)?;
        self.last = line;
        Ok(())
    }

    /// Writes the note of lines collapsed, if any.
    fn note_repeats(&mut self) -> std::io::Result<()> {
        if self.repeats > 0 {
            let note = format!("… {} more identical lines\n", self.repeats);
            self.repeats = 0;
            self.emit(note.as_bytes())?;
        }
        Ok(())
    }

    /// Writes `bytes` if the budget allows, else notes the cut once.
    fn emit(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.budget.take(bytes.len() as u64) {
            return self.inner.write_all(bytes);
        }
        if !self.cut {
            self.cut = true;
            let note = format!(
                "\n... cut here: this run's saved files reached their cap of {} bytes \
                 (--max-artifact-bytes-per-run, --max-artifact-bytes); use scripts/replay\n",
                self.budget.cap
            );
            self.inner.write_all(note.as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for chunk in buf.split_inclusive(|&b| b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") || self.line.len() > LONGEST_COMPARED_LINE {
                self.end_line()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.note_repeats()?;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.emit(&line)?;
            self.last.clear();
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Limited<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Parses a byte count: a number, optionally with a suffix `K`, `M`, `G` (powers of 1024).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count (a number, or one with K, M or G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(budget: u64, parts: &[&str]) -> String {
        let budget = Budget::new(budget);
        let mut out = Vec::new();
        {
            let mut w = Limited::new(&mut out, &budget);
            for part in parts {
                w.write_all(part.as_bytes()).unwrap();
            }
            w.flush().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_budget_cuts_once_with_a_note() {
        let text = written(8, &["abc\n", "def\n", "ghi\n"]);
        assert!(text.starts_with("abc\ndef\n\n... cut here"), "{text}");
        assert_eq!(text.matches("cut here").count(), 1);
        assert!(text.contains("cap of 8 bytes"), "{text}");
    }

    #[test]
    fn identical_lines_collapse_into_a_count() {
        let text = written(
            1 << 20,
            &["a\n", "x\n", "x\n", "x", "\n", "x\n", "y\n", "y"],
        );
        assert_eq!(text, "a\nx\n… 3 more identical lines\ny\ny");
    }

    #[test]
    fn byte_counts_take_suffixes() {
        assert_eq!(parse_bytes("123"), Ok(123));
        assert_eq!(parse_bytes("64M"), Ok(64 << 20));
        assert_eq!(parse_bytes("2g"), Ok(2 << 30));
        assert!(parse_bytes("lots").is_err());
    }
}
