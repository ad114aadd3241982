//! One JSON Lines record per run, and the summary every tool ends with: the per-test table and
//! the last line `N passed, M failed`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The class of a failed run, as written in result files: [`tester::FailureKind`]'s names,
/// plus `nondeterministic` (two runs of one seed differed).
pub const NONDETERMINISTIC: &str = "nondeterministic";

/// One run, as a line of a `--jsonl` result file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The test (`initial_election_2a`).
    pub test: String,
    /// Its lab part (`2a`).
    pub part: String,
    /// The seed.
    pub seed: u64,
    /// `reference` or `canary`.
    pub implementation: String,
    /// Whether the run passed.
    pub passed: bool,
    /// For a failure: `failed-check`, `safety`, `panic`, `not-implemented`, `hang`,
    /// `time-limit`, `resource-limit`, `warning` (with `--strict`) or `nondeterministic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For a failure: the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a failure: virtual milliseconds when it happened (rounded down; kept for readers
    /// of older files, [`RunRecord::at_us`] is exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// For a failure: virtual microseconds when it happened, the clock's own unit. Absent in
    /// files written before the clock counted microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_us: Option<u64>,
    /// Wall-clock milliseconds the run took (both runs with the determinism check).
    pub wall_ms: f64,
    /// Virtual milliseconds the run simulated.
    pub virtual_ms: u64,
    /// Events simulated.
    pub events: u64,
    /// The run's fingerprint, in hex: the same seed must always give the same one.
    pub fingerprint: String,
    /// Go warnings the test printed (`warning: ...` lines), whether or not the run passed.
    #[serde(default)]
    pub warnings: u64,
    /// The first of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// For a failure, or a run with warnings: the command that replays it with debug logs
    /// and a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

impl RunRecord {
    /// When the failure happened, as `12.345678s` (`12.345s` from a record with only
    /// `at_ms`).
    pub fn at(&self) -> Option<String> {
        match (self.at_us, self.at_ms) {
            (Some(us), _) => Some(format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)),
            (None, Some(ms)) => Some(format!("{}.{:03}s", ms / 1000, ms % 1000)),
            (None, None) => None,
        }
    }
}

/// Reads a JSON Lines result file. A line cut short (a hunt killed mid-write; older hunts
/// went on after it on a new line) is skipped with a warning, wherever it is; any other bad
/// line is an error.
pub fn read_jsonl(path: &Path) -> Result<Vec<RunRecord>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut records = Vec::with_capacity(lines.len());
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RunRecord>(line) {
            Ok(record) => records.push(record),
            Err(e) if e.is_eof() || number + 1 == lines.len() => {
                eprintln!(
                    "warning: {}:{}: skipping a cut-off line",
                    path.display(),
                    number + 1
                );
            }
            Err(e) => return Err(format!("{}:{}: {e}", path.display(), number + 1)),
        }
    }
    Ok(records)
}

/// Mean and standard deviation, one value at a time (Welford), in constant memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// Adds a value.
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// The mean (0 if empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The sample standard deviation (0 with fewer than two values).
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }
}

/// Per-test numbers for the table.
#[derive(Clone, Debug, Default)]
pub struct TestStats {
    /// The lab part (`2a`).
    pub part: String,
    /// Runs.
    pub runs: u64,
    /// Failed runs.
    pub failures: u64,
    /// Runs that printed a Go warning.
    pub warned: u64,
    /// Wall-clock milliseconds per run.
    pub wall_ms: Welford,
    /// Sum of virtual milliseconds.
    pub virtual_ms_total: u64,
}

/// Failed runs listed (and kept in memory) per test; the rest are counted.
pub const LISTED_FAILURES_PER_TEST: u64 = 25;
/// Runs with warnings listed (and kept in memory), over all tests; the rest are counted.
pub const LISTED_WARNINGS: usize = 5;

/// What a tool prints at the end: failures, the table and the totals. Constant memory: it
/// keeps numbers per test and the first [`LISTED_FAILURES_PER_TEST`] failures of each.
pub struct Summary {
    /// Tests in table order.
    order: Vec<String>,
    tests: BTreeMap<String, TestStats>,
    /// Failed runs listed at the end (the first few of each test).
    pub failures: Vec<RunRecord>,
    /// Failures by kind.
    pub kinds: BTreeMap<String, u64>,
    /// The first [`LISTED_WARNINGS`] runs that printed a warning.
    pub warned: Vec<RunRecord>,
}

impl Summary {
    /// An empty summary whose table lists `order` first (tests with no runs are omitted),
    /// then any other test in name order.
    pub fn new(order: Vec<String>) -> Summary {
        Summary {
            order,
            tests: BTreeMap::new(),
            failures: Vec::new(),
            kinds: BTreeMap::new(),
            warned: Vec::new(),
        }
    }

    /// Counts one run.
    pub fn add(&mut self, record: &RunRecord) {
        let stats = self.tests.entry(record.test.clone()).or_default();
        if stats.part.is_empty() {
            stats.part.clone_from(&record.part);
        }
        stats.runs += 1;
        stats.wall_ms.add(record.wall_ms);
        stats.virtual_ms_total += record.virtual_ms;
        if record.warnings > 0 {
            stats.warned += 1;
            if self.warned.len() < LISTED_WARNINGS {
                self.warned.push(record.clone());
            }
        }
        if !record.passed {
            stats.failures += 1;
            let kind = record.kind.clone().unwrap_or_else(|| "failed".into());
            *self.kinds.entry(kind).or_default() += 1;
            if stats.failures <= LISTED_FAILURES_PER_TEST {
                self.failures.push(record.clone());
            }
        }
    }

    /// Runs counted.
    pub fn runs(&self) -> u64 {
        self.tests.values().map(|s| s.runs).sum()
    }

    /// Failed runs counted.
    pub fn failed(&self) -> u64 {
        self.tests.values().map(|s| s.failures).sum()
    }

    /// Runs that printed a warning.
    pub fn warned_runs(&self) -> u64 {
        self.tests.values().map(|s| s.warned).sum()
    }

    /// The runs with warnings, if any: `warnings (2 runs):` or `warnings (first 5 of 900
    /// runs):`, then each with its first warning and its replay.
    pub fn warning_list(&self) -> Option<String> {
        let (listed, warned) = (self.warned.len() as u64, self.warned_runs());
        if warned == 0 {
            return None;
        }
        let mut out = if listed == warned {
            format!("warnings ({warned} run(s)):\n")
        } else {
            format!("warnings (first {listed} of {warned} runs):\n")
        };
        for record in &self.warned {
            let _ = writeln!(out, "{}", warning_block(record));
        }
        Some(out)
    }

    /// Per-test numbers, in table order.
    pub fn rows(&self) -> Vec<(&str, &TestStats)> {
        let mut rows: Vec<(&str, &TestStats)> = self
            .order
            .iter()
            .filter_map(|name| self.tests.get(name).map(|s| (name.as_str(), s)))
            .collect();
        for (name, stats) in &self.tests {
            if !self.order.contains(name) {
                rows.push((name.as_str(), stats));
            }
        }
        rows
    }

    /// The heading of [`failure_list`](Self::failure_list): `failures (6):`, or, when some
    /// are not listed, `failures (first 50 of 100, up to 25 per test):`.
    pub fn failure_header(&self) -> String {
        let (listed, failed) = (self.failures.len() as u64, self.failed());
        if listed == failed {
            format!("failures ({failed}):")
        } else {
            format!(
                "failures (first {listed} of {failed}, up to {LISTED_FAILURES_PER_TEST} per test):"
            )
        }
    }

    /// The failures, sorted by test (table order) and seed, one block each with its replay.
    pub fn failure_list(&self) -> String {
        let position = |test: &str| self.order.iter().position(|t| t == test);
        let mut failures: Vec<&RunRecord> = self.failures.iter().collect();
        failures.sort_by_key(|r| (position(&r.test).unwrap_or(usize::MAX), &r.test, r.seed));
        let mut out = String::new();
        for (i, record) in failures.iter().enumerate() {
            let _ = writeln!(out, "{}", failure_line(record));
            for line in record.message.iter().flat_map(|m| m.lines().skip(1)) {
                let _ = writeln!(out, "    {line}");
            }
            if let Some(replay) = &record.replay {
                let _ = writeln!(out, "    replay: {replay}");
            }
            let last_of_test = failures
                .get(i + 1)
                .is_none_or(|next| next.test != record.test);
            let failed = self.tests.get(&record.test).map_or(0, |s| s.failures);
            if last_of_test && failed > LISTED_FAILURES_PER_TEST {
                let more = failed - LISTED_FAILURES_PER_TEST;
                let _ = writeln!(
                    out,
                    "... and {more} more failure(s) of {} not listed",
                    record.test
                );
            }
        }
        out
    }

    /// The table: test, runs, failures, mean ± sd wall ms, mean virtual seconds.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let width = rows
            .iter()
            .map(|(name, _)| name.len())
            .chain(["test".len(), "total".len()])
            .max()
            .unwrap_or(4);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>8}  {:>8}  {:>19}  {:>10}",
            "test", "runs", "failed", "warned", "wall ms (mean ± sd)", "virtual s"
        );
        let mut total = TestStats::default();
        for (name, stats) in &rows {
            let _ = writeln!(out, "{}", table_row(name, stats, width));
            total.runs += stats.runs;
            total.failures += stats.failures;
            total.warned += stats.warned;
            total.virtual_ms_total += stats.virtual_ms_total;
        }
        if rows.len() > 1 {
            // Pooled wall time over every run.
            let mut pooled = Welford::default();
            let (mut n, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
            for (_, stats) in &rows {
                let k = stats.wall_ms.n as f64;
                n += k;
                sum += stats.wall_ms.mean * k;
                sum_sq += stats.wall_ms.m2 + k * stats.wall_ms.mean * stats.wall_ms.mean;
            }
            if n > 0.0 {
                pooled.n = n as u64;
                pooled.mean = sum / n;
                pooled.m2 = (sum_sq - n * pooled.mean * pooled.mean).max(0.0);
            }
            total.wall_ms = pooled;
            let _ = writeln!(out, "{}", table_row("total", &total, width));
        }
        out
    }

    /// The last line of every tool's output: `N passed, M failed`.
    pub fn last_line(&self) -> String {
        let failed = self.failed();
        format!("{} passed, {failed} failed", self.runs() - failed)
    }
}

fn table_row(name: &str, stats: &TestStats, width: usize) -> String {
    let wall = format!("{:.1} ± {:.1}", stats.wall_ms.mean(), stats.wall_ms.sd());
    let virtual_s = if stats.runs == 0 {
        0.0
    } else {
        stats.virtual_ms_total as f64 / stats.runs as f64 / 1000.0
    };
    let count = |n: u64| if n > 0 { n.to_string() } else { "-".into() };
    let (failed, warned) = (count(stats.failures), count(stats.warned));
    format!(
        "{name:<width$}  {:>8}  {failed:>8}  {warned:>8}  {wall:>19}  {virtual_s:>10.1}",
        stats.runs
    )
}

/// `WARN test seed N: warning: ... (and 2 more)`, then its replay command.
pub fn warning_block(record: &RunRecord) -> String {
    let first = record.warning.as_deref().unwrap_or("warning");
    let more = match record.warnings {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let mut block = format!("WARN {} seed {}: {first}{more}", record.test, record.seed);
    if let Some(replay) = &record.replay {
        block.push_str(&format!("\n    replay: {replay}"));
    }
    block
}

/// `FAIL test seed N [kind at 12.345678s]: message` (first line of the message only; the
/// time to the millisecond for a record that has only `at_ms`).
pub fn failure_line(record: &RunRecord) -> String {
    let kind = record.kind.as_deref().unwrap_or("failed");
    let at = record
        .at()
        .map(|at| format!(" at {at}"))
        .unwrap_or_default();
    let message = record.message.as_deref().unwrap_or("");
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("");
    let more = if lines.next().is_some() { " …" } else { "" };
    format!(
        "FAIL {} seed {} [{kind}{at}]: {first}{more}",
        record.test, record.seed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(test: &str, seed: u64, passed: bool, wall_ms: f64) -> RunRecord {
        RunRecord {
            test: test.into(),
            part: "2a".into(),
            seed,
            implementation: "reference".into(),
            passed,
            kind: (!passed).then(|| "failed-check".into()),
            message: (!passed).then(|| "term 3 has 2 (>1) leaders".into()),
            at_ms: (!passed).then_some(12_345),
            at_us: (!passed).then_some(12_345_678),
            wall_ms,
            virtual_ms: 2000,
            events: 10,
            fingerprint: "00ff".into(),
            warnings: 0,
            warning: None,
            replay: (!passed).then(|| format!("scripts/replay {test} {seed}")),
        }
    }

    #[test]
    fn warnings_are_counted_per_test_and_the_first_few_listed_with_their_replay() {
        let mut summary = Summary::new(vec!["a_2a".into()]);
        assert_eq!(summary.warning_list(), None);
        for seed in 1..=7 {
            let mut warned = record("a_2a", seed, true, 1.0);
            warned.warnings = 2;
            warned.warning =
                Some("warning: term changed even though there were no failures".into());
            warned.replay = Some(format!("scripts/replay a_2a {seed}"));
            summary.add(&warned);
        }
        summary.add(&record("a_2a", 8, true, 1.0));
        assert_eq!(summary.warned_runs(), 7);
        let table = summary.table();
        let row = table.lines().nth(1).unwrap();
        let columns: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(columns[..4], ["a_2a", "8", "-", "7"], "{table}");
        let list = summary.warning_list().unwrap();
        assert!(
            list.starts_with("warnings (first 5 of 7 runs):\n"),
            "{list}"
        );
        assert!(
            list.contains(
                "WARN a_2a seed 1: warning: term changed even though there were no failures \
                 (and 1 more)\n    replay: scripts/replay a_2a 1\n"
            ),
            "{list}"
        );
        assert_eq!(summary.last_line(), "8 passed, 0 failed");
    }

    #[test]
    fn welford_matches_the_two_pass_formula() {
        let mut w = Welford::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            w.add(x);
        }
        assert!((w.mean() - 5.0).abs() < 1e-12);
        assert!((w.sd() - 2.138_089_935).abs() < 1e-6);
    }

    #[test]
    fn summary_counts_lists_failures_and_ends_with_the_totals_line() {
        let mut summary = Summary::new(vec!["b_2a".into(), "a_2a".into()]);
        summary.add(&record("a_2a", 1, true, 10.0));
        summary.add(&record("b_2a", 1, true, 20.0));
        summary.add(&record("b_2a", 2, false, 30.0));
        assert_eq!(summary.last_line(), "2 passed, 1 failed");
        let table = summary.table();
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[1].starts_with("b_2a "), "{table}");
        assert!(rows[2].starts_with("a_2a "), "{table}");
        assert!(rows[3].starts_with("total "), "{table}");
        assert!(rows[3].contains("20.0 ± 10.0"), "{table}");
        assert_eq!(
            summary.failure_list(),
            "FAIL b_2a seed 2 [failed-check at 12.345678s]: term 3 has 2 (>1) leaders\n    \
             replay: scripts/replay b_2a 2\n"
        );
    }

    #[test]
    fn failure_times_are_written_in_microseconds_and_read_from_older_files_in_milliseconds() {
        let failed = record("a_2a", 1, false, 1.0);
        let line = serde_json::to_string(&failed).expect("a record encodes");
        assert!(
            line.contains(r#""at_ms":12345,"at_us":12345678,"#),
            "{line}"
        );
        let read: RunRecord = serde_json::from_str(&line).expect("and decodes");
        assert_eq!(read, failed);
        let older = line.replace(r#""at_us":12345678,"#, "");
        let read: RunRecord = serde_json::from_str(&older).expect("an older line decodes");
        assert_eq!((read.at_us, read.at()), (None, Some("12.345s".to_owned())));
        assert_eq!(failed.at(), Some("12.345678s".to_owned()));
    }

    #[test]
    fn the_failure_header_counts_every_failure_not_only_the_listed_ones() {
        let mut summary = Summary::new(vec!["a_2a".into(), "b_2a".into()]);
        summary.add(&record("a_2a", 1, false, 1.0));
        assert_eq!(summary.failure_header(), "failures (1):");
        for seed in 2..=40 {
            summary.add(&record("a_2a", seed, false, 1.0));
        }
        summary.add(&record("b_2a", 1, false, 1.0));
        assert_eq!(
            summary.failure_header(),
            "failures (first 26 of 41, up to 25 per test):"
        );
        assert!(
            summary
                .failure_list()
                .contains("... and 15 more failure(s) of a_2a not listed")
        );
    }

    #[test]
    fn records_round_trip_through_json_and_a_cut_off_last_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("scripts-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let a = record("a_2a", 1, true, 1.5);
        let b = record("a_2a", 2, false, 2.5);
        let text = format!(
            "{}\n{}\n{{\"test\":\"a_",
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        std::fs::write(&path, text).unwrap();
        assert_eq!(read_jsonl(&path).unwrap(), vec![a, b]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
