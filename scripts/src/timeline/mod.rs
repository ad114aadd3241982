//! What `scripts/replay --html` and `--columns` (and the hunt, for each failing run it keeps)
//! make of a run's [`Timeline`]: [`html`], one self-contained page that draws the run; and
//! [`columns`], the debug log split into one column per node for the terminal.
//!
//! The timeline itself (the event model) is the tester's [`tester::timeline`].

pub mod columns;
pub mod html;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use raft::RaftNode;
use tester::timeline::Timeline;
use tester::{RunOptions, RunReport, TestCase};

use crate::{Checks, Implementation};
pub use html::RunInfo;

impl RunInfo {
    /// What the page says about `report`, run on `implementation` with `checks`.
    pub fn of(report: &RunReport, implementation: Implementation, checks: Checks) -> RunInfo {
        let fingerprint = format!("{:016x}", report.fingerprint);
        RunInfo {
            test: report.test.to_owned(),
            seed: report.seed,
            implementation: implementation.as_str().to_owned(),
            failure: report.result.as_ref().err().map(|failure| {
                let message = tester::shortened(&failure.message).into_owned();
                (
                    failure.kind.as_str().to_owned(),
                    failure.at.as_micros(),
                    message,
                )
            }),
            replay: implementation.replay_command(
                report.test,
                report.seed,
                checks,
                Some(&fingerprint),
            ),
            fingerprint,
        }
    }
}

/// Writes the page of `timeline` to `path`.
pub fn write_html(path: &Path, timeline: &Timeline, info: &RunInfo) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    html::write_page(&mut out, timeline, info)?;
    out.flush()
}

/// For the hunt: runs `case` on `seed` once more (it is deterministic), recording its
/// timeline with the log lines `RUST_LOG` lets through, and writes the page to `path`.
pub fn save_html<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    (implementation, checks): (Implementation, Checks),
    path: &Path,
) -> std::io::Result<()> {
    let (mut report, timeline) = {
        // The hunt's logger formats (and so taps) lines only on a capturing thread.
        let _capture = crate::logging::Capture::start(Box::new(std::io::sink()));
        let options = RunOptions {
            echo: false,
            ..checks.run_options()
        };
        tester::timeline::record(case, seed, options)
    };
    // This rerun's panic, if any, is not the next run's.
    let _ = crate::logging::take_panic_location();
    if checks.strict {
        report.fail_on_warnings();
    }
    write_html(
        path,
        &timeline,
        &RunInfo::of(&report, implementation, checks),
    )
}
