//! Go's warnings: lines a test prints that start with `warning:` (`warning: term changed even
//! though there were no failures`), and Lab 3's line for a linearizability check that ran
//! out of budget. Go prints them and passes; here they are counted (the
//! hunt's table and result file), shown, and with `LAB_STRICT=1` (the hunt's and replay's
//! `--strict`) they fail the run as [`FailureKind::Warning`].

use labrpc::SimTime;

use crate::failure::{Failure, FailureKind};
use crate::run::RunReport;

/// The environment variable that makes warnings fail runs: `LAB_STRICT=1`.
pub const STRICT_ENV: &str = "LAB_STRICT";

/// Whether `LAB_STRICT` asks warnings to fail runs (set, and neither empty nor `0`).
pub fn strict_from_env() -> bool {
    std::env::var(STRICT_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Go's line when the linearizability checker gives up (Lab 3): the history is assumed to be
/// fine and the test passes. Counted as a warning, so a hunt's table shows how often a check
/// proved nothing (spec §5.10, pitfall 8), and strict runs fail on it.
pub const LINEARIZABILITY_UNKNOWN: &str =
    "info: linearizability check timed out, assuming history is ok";

/// Whether a printed line is a Go warning (or Lab 3's [`LINEARIZABILITY_UNKNOWN`]).
pub fn is_warning(line: &str) -> bool {
    line.starts_with("warning:") || line == LINEARIZABILITY_UNKNOWN
}

impl RunReport {
    /// The warnings the test printed, in order.
    pub fn warnings(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(String::as_str)
            .filter(|line| is_warning(line))
            .collect()
    }

    /// For strict runs: a run that passed with warnings fails as [`FailureKind::Warning`],
    /// with the first warning as its message. A failed run keeps its own failure.
    pub fn fail_on_warnings(&mut self) {
        let warnings = self.warnings();
        let Some(first) = warnings.first() else {
            return;
        };
        if self.result.is_err() {
            return;
        }
        let more = match warnings.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let message = format!("{first}{more}; strict runs fail on warnings");
        self.result = Err(Failure {
            kind: FailureKind::Warning,
            message,
            at: SimTime::from_millis(self.virtual_ms),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Stats;

    fn report(lines: &[&str]) -> RunReport {
        RunReport {
            test: "initial_election_2a",
            seed: 1,
            result: Ok(Stats::default()),
            virtual_ms: 3100,
            fingerprint: 0,
            events: 0,
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
        }
    }

    #[test]
    fn warnings_are_counted_and_fail_strict_runs() {
        let warning = "warning: term changed even though there were no failures";
        let mut warned = report(&["Test (2A): initial election ...", warning, warning]);
        assert_eq!(warned.warnings(), [warning, warning]);
        warned.fail_on_warnings();
        let failure = warned.result.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Warning);
        assert_eq!(
            failure.to_string(),
            format!("warning at 3.100000s: {warning} (and 1 more); strict runs fail on warnings")
        );

        let mut clean = report(&["Test (2A): initial election ...", "  ... Passed --"]);
        assert!(clean.warnings().is_empty());
        clean.fail_on_warnings();
        assert!(clean.passed());
    }

    #[test]
    fn a_linearizability_check_that_gave_up_counts_as_a_warning() {
        let unknown = super::LINEARIZABILITY_UNKNOWN;
        let warned = report(&["Test: one client (3A) ...", unknown, "  ... Passed --"]);
        assert_eq!(warned.warnings(), [unknown]);
        assert!(!super::is_warning(
            "info: wrote history visualization to /tmp/x.html"
        ));
    }
}
