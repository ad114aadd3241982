//! The JUnit XML report (`--junit FILE`), for CI test reporters.
//!
//! Constant size in the number of passing runs: one `<testsuite>` per implementation, holding
//! one `<testcase>` per test for its passing seeds (with their count and total time), plus one
//! `<testcase>` with a `<failure>` per failing run, named `test seed N`, whose text is the
//! replay command (the first [`crate::record::LISTED_FAILURES_PER_TEST`] of each test).
//!
//! Times, in seconds, as JUnit readers take them: a `<testcase>`'s `time` is the time of its
//! own runs (for the passing seeds of a test, the sum of their run times); the `time` of
//! `<testsuites>`, and of a hunt's one `<testsuite>`, is the wall-clock time the hunt took,
//! which with several jobs is less than the sum of its cases. Merged result files do not
//! record wall-clock time, so there a suite's `time` is the sum of its runs' times.

use std::fmt::Write as _;

use crate::record::Summary;

/// One `<testsuite>`: the runs of one implementation.
pub struct Suite<'a> {
    /// `hunt (reference)`.
    pub name: String,
    /// Its runs.
    pub summary: &'a Summary,
}

/// The report: `<testsuites name="{name}">` with `suites`. `wall_s` is the wall-clock time the
/// hunt took, when known (see the module documentation).
pub fn render(name: &str, suites: &[Suite<'_>], wall_s: Option<f64>) -> String {
    let mut body = String::new();
    let (mut tests, mut failures, mut run_s) = (0, 0, 0.0);
    for suite in suites {
        let (t, f, s) = render_suite(&mut body, suite, wall_s.filter(|_| suites.len() == 1));
        tests += t;
        failures += f;
        run_s += s;
    }
    let time_s = wall_s.unwrap_or(run_s);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" time=\"{time_s:.3}\">",
        escape(name)
    );
    out.push_str(&body);
    out.push_str("</testsuites>\n");
    out
}

/// Writes one `<testsuite>`; returns its test cases, failures and the sum of its run times.
fn render_suite(out: &mut String, suite: &Suite<'_>, wall_s: Option<f64>) -> (usize, usize, f64) {
    let summary = suite.summary;
    let rows = summary.rows();
    let passing: Vec<_> = rows
        .iter()
        .filter(|(_, stats)| stats.runs > stats.failures)
        .collect();
    // Only the listed failures (the first few per test) get a testcase each.
    let tests = passing.len() + summary.failures.len();
    let failures = summary.failures.len();
    let run_s: f64 = rows
        .iter()
        .map(|(_, s)| s.wall_ms.mean() * s.runs as f64 / 1000.0)
        .sum();
    let time_s = wall_s.unwrap_or(run_s);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{0}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"0\" time=\"{time_s:.3}\">",
        escape(&suite.name)
    );
    for (test, stats) in passing {
        let passed = stats.runs - stats.failures;
        // The mean over all runs, failed ones included: failed runs are not kept.
        let time_s = stats.wall_ms.mean() * passed as f64 / 1000.0;
        let _ = writeln!(
            out,
            "    <testcase classname=\"lab{}\" name=\"{}\" time=\"{time_s:.3}\">\n      \
             <system-out>{passed} seed(s) passed</system-out>\n    </testcase>",
            escape(&stats.part),
            escape(test)
        );
    }
    for record in &summary.failures {
        let kind = record.kind.as_deref().unwrap_or("failed");
        let message = record.message.as_deref().unwrap_or("");
        let at = record.at().unwrap_or_else(|| "0s".to_owned());
        let mut text = format!("{kind} at {at}: {message}");
        if let Some(replay) = &record.replay {
            let _ = write!(text, "\nreplay: {replay}");
        }
        let _ = writeln!(
            out,
            "    <testcase classname=\"lab{}\" name=\"{} seed {}\" time=\"{:.3}\">\n      \
             <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
            escape(&record.part),
            escape(&record.test),
            record.seed,
            record.wall_ms / 1000.0,
            escape(kind),
            escape(message.lines().next().unwrap_or("")),
            escape(&text)
        );
    }
    out.push_str("  </testsuite>\n");
    (tests, failures, run_s)
}

/// XML text or attribute value: the five entities, and no characters XML 1.0 forbids.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RunRecord;

    #[test]
    fn passing_seeds_are_aggregated_and_failures_listed_with_their_replay() {
        let mut summary = Summary::new(vec!["a_2a".into()]);
        let pass = RunRecord {
            test: "a_2a".into(),
            part: "2a".into(),
            seed: 1,
            implementation: "reference".into(),
            passed: true,
            kind: None,
            message: None,
            at_ms: None,
            at_us: None,
            wall_ms: 500.0,
            virtual_ms: 1000,
            events: 1,
            fingerprint: "0".into(),
            warnings: 0,
            warning: None,
            replay: None,
        };
        summary.add(&pass);
        summary.add(&RunRecord {
            seed: 2,
            ..pass.clone()
        });
        summary.add(&RunRecord {
            seed: 3,
            passed: false,
            kind: Some("panic".into()),
            message: Some("index <out> of \"range\"".into()),
            at_ms: Some(5),
            at_us: Some(5_250),
            replay: Some("scripts/replay a_2a 3".into()),
            ..pass
        });
        let suite = Suite {
            name: "hunt (reference)".into(),
            summary: &summary,
        };
        let xml = render("hunt", &[suite], Some(0.25));
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        assert!(
            xml.contains("<testsuites name=\"hunt\" tests=\"2\" failures=\"1\" time=\"0.250\">"),
            "the wall-clock time of the hunt: {xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"hunt (reference)\" tests=\"2\" failures=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("name=\"a_2a\" time=\"1.000\""), "{xml}");
        assert!(
            xml.contains("<system-out>2 seed(s) passed</system-out>"),
            "{xml}"
        );
        assert!(xml.contains("name=\"a_2a seed 3\""), "{xml}");
        assert!(
            xml.contains("message=\"index &lt;out&gt; of &quot;range&quot;\""),
            "{xml}"
        );
        assert!(
            xml.contains(">panic at 0.005250s: index"),
            "the time to the microsecond: {xml}"
        );
        assert!(
            xml.contains("replay: scripts/replay a_2a 3</failure>"),
            "{xml}"
        );
    }
}
