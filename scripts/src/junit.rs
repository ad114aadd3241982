//! The JUnit XML report (`--junit FILE`), for CI test reporters.
//!
//! Constant size in the number of passing runs: one `<testcase>` per test for its passing
//! seeds (with their count and total time), plus one `<testcase>` with a `<failure>` per
//! failing run, named `test seed N`, whose text is the replay command (the first
//! [`crate::record::LISTED_FAILURES_PER_TEST`] of each test).

use std::fmt::Write as _;

use crate::record::Summary;

/// The report of `summary`, a suite called `name`.
pub fn render(summary: &Summary, name: &str) -> String {
    let rows = summary.rows();
    let passing: Vec<_> = rows
        .iter()
        .filter(|(_, stats)| stats.runs > stats.failures)
        .collect();
    // Only the listed failures (the first few per test) get a testcase each.
    let tests = passing.len() + summary.failures.len();
    let failures = summary.failures.len();
    let total_s: f64 = rows
        .iter()
        .map(|(_, s)| s.wall_ms.mean() * s.runs as f64 / 1000.0)
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{0}\" tests=\"{tests}\" failures=\"{failures}\" time=\"{total_s:.3}\">",
        escape(name)
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{0}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"0\" time=\"{total_s:.3}\">",
        escape(name)
    );
    for (test, stats) in passing {
        let passed = stats.runs - stats.failures;
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
        let mut text = format!("{kind} at {} ms: {message}", record.at_ms.unwrap_or(0));
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
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
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
            wall_ms: 500.0,
            virtual_ms: 1000,
            events: 1,
            fingerprint: "0".into(),
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
            replay: Some("scripts/replay a_2a 3".into()),
            ..pass
        });
        let xml = render(&summary, "hunt");
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
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
            xml.contains("replay: scripts/replay a_2a 3</failure>"),
            "{xml}"
        );
    }
}
