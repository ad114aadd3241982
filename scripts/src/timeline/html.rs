//! The timeline as one self-contained HTML page: the run's [`Timeline`] as columnar JSON inside
//! a `<script type="application/json">` element, and the page's own script and style inline
//! (`page.js`, `page.css`), so the file opens with no network access.
//!
//! Everything that comes from the implementation (its messages' `Debug` text, its log lines)
//! travels only inside that JSON, serialized by `serde_json` with every `<` written as
//! `\u003c`, so no string can close the script element; the page puts text on screen only
//! through `textContent` and the canvas, never as markup.

use std::io::Write;

use serde_json::{Value, json};
use tester::timeline::Timeline;
use tester::timeline::model::{Fate, Message, Span, TickKind};

/// What the page says about the run besides its events.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// The test's name.
    pub test: String,
    /// The seed.
    pub seed: u64,
    /// Which implementation ran (`reference`, `canary`, a type name).
    pub implementation: String,
    /// The failure: class, virtual time (µs), message; `None` if the run passed.
    pub failure: Option<(String, u64, String)>,
    /// The run's fingerprint, in hex.
    pub fingerprint: String,
    /// The command that replays the run.
    pub replay: String,
}

const PAGE_JS: &str = include_str!("page.js");
const PAGE_CSS: &str = include_str!("page.css");

/// Writes the page for `timeline` of the run `info` to `out`.
pub fn write_page(
    out: &mut impl Write,
    timeline: &Timeline,
    info: &RunInfo,
) -> std::io::Result<()> {
    let data = embeddable_json(&data(timeline, info));
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n\
         <title>timeline</title>\n<style>{PAGE_CSS}</style></head>\n<body>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>{PAGE_JS}</script>\n</body></html>\n"
    )
}

/// `value` as JSON that is safe inside a `<script>` element: every `<` escaped as `\u003c`
/// (it can only occur inside strings), so no `</script>` or `<!--` survives.
pub fn embeddable_json(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The run as columnar JSON: one array per field, times in µs, texts as indexes into
/// `strings`. About half the size of one object per event, and quick to parse.
pub fn data(t: &Timeline, info: &RunInfo) -> Value {
    let opt = |v: Option<usize>| v.map_or(-1, |v| v as i64);
    json!({
        "version": 1,
        "run": run_json(t, info),
        "strings": t.strings,
        "messages": messages_json(&t.messages),
        "bands": {
            "node": t.bands.iter().map(|b| b.node).collect::<Vec<_>>(),
            "from": t.bands.iter().map(|b| b.from_us).collect::<Vec<_>>(),
            "to": t.bands.iter().map(|b| b.to_us).collect::<Vec<_>>(),
            "role": t.bands.iter().map(|b| b.role as u8).collect::<Vec<_>>(),
            "term": t.bands.iter().map(|b| b.term).collect::<Vec<_>>(),
        },
        "spans": spans_json(&t.spans),
        "ticks": {
            "node": t.ticks.iter().map(|k| k.node).collect::<Vec<_>>(),
            "at": t.ticks.iter().map(|k| k.at_us).collect::<Vec<_>>(),
            "event": t.ticks.iter().map(|k| k.event).collect::<Vec<_>>(),
            "kind": t.ticks.iter().map(|k| k.kind as u8).collect::<Vec<_>>(),
            "text": t.ticks.iter().map(|k| k.text).collect::<Vec<_>>(),
        },
        "logs": {
            "node": t.logs.iter().map(|l| opt(l.node)).collect::<Vec<_>>(),
            "at": t.logs.iter().map(|l| l.at_us).collect::<Vec<_>>(),
            "event": t.logs.iter().map(|l| l.event).collect::<Vec<_>>(),
            "level": t.logs.iter().map(|l| l.level).collect::<Vec<_>>(),
            "target": t.logs.iter().map(|l| l.target).collect::<Vec<_>>(),
            "message": t.logs.iter().map(|l| l.message).collect::<Vec<_>>(),
        },
        "views": {
            "node": t.views.iter().map(|v| v.node).collect::<Vec<_>>(),
            "event": t.views.iter().map(|v| v.event).collect::<Vec<_>>(),
            "at": t.views.iter().map(|v| v.at_us).collect::<Vec<_>>(),
            "term": t.views.iter().map(|v| v.term).collect::<Vec<_>>(),
            "role": t.views.iter().map(|v| v.role as u8).collect::<Vec<_>>(),
            "voted_for": t.views.iter().map(|v| opt(v.voted_for)).collect::<Vec<_>>(),
            "commit_index": t.views.iter().map(|v| v.commit_index).collect::<Vec<_>>(),
            "last_log_index": t.views.iter().map(|v| v.last_log_index).collect::<Vec<_>>(),
            "snapshot_index": t.views.iter().map(|v| v.snapshot_index).collect::<Vec<_>>(),
        },
    })
}

/// The calls, one array per field; `-1` for a missing node, time or event.
fn messages_json(m: &[Message]) -> Value {
    let opt = |v: Option<usize>| v.map_or(-1, |v| v as i64);
    let at = |p: Option<(u64, u64)>, i: usize| {
        p.map_or(-1, |p| if i == 0 { p.0 as i64 } else { p.1 as i64 })
    };
    json!({
        "from": m.iter().map(|m| opt(m.from)).collect::<Vec<_>>(),
        "to": m.iter().map(|m| opt(m.to)).collect::<Vec<_>>(),
        "kind": m.iter().map(|m| m.kind).collect::<Vec<_>>(),
        "sent": m.iter().map(|m| m.sent.0).collect::<Vec<_>>(),
        "sent_event": m.iter().map(|m| m.sent.1).collect::<Vec<_>>(),
        "sent_input": m.iter().map(|m| m.sent_input).collect::<Vec<_>>(),
        "handled": m.iter().map(|m| at(m.handled, 0)).collect::<Vec<_>>(),
        "handled_event": m.iter().map(|m| at(m.handled, 1)).collect::<Vec<_>>(),
        "outcome": m.iter().map(|m| at(m.outcome, 0)).collect::<Vec<_>>(),
        "outcome_event": m.iter().map(|m| at(m.outcome, 1)).collect::<Vec<_>>(),
        "fate": m.iter().map(|m| m.fate as u8).collect::<Vec<_>>(),
        "delayed": m.iter().map(|m| u8::from(m.delayed)).collect::<Vec<_>>(),
        "request": m.iter().map(|m| m.request).collect::<Vec<_>>(),
        "reply": m.iter().map(|m| m.reply).collect::<Vec<_>>(),
    })
}

fn run_json(t: &Timeline, info: &RunInfo) -> Value {
    let failure = info.failure.as_ref().map(|(kind, at_us, message)| {
        json!({ "kind": kind, "at": at_us, "message": message, "event": event_named_in(message) })
    });
    json!({
        "test": info.test,
        "seed": info.seed,
        "implementation": info.implementation,
        "fingerprint": info.fingerprint,
        "replay": info.replay,
        "servers": t.servers,
        "end": t.end_us,
        "events": t.events,
        "failure": failure,
        "fates": FATES,
        "ticks": TICKS,
    })
}

/// The names of [`Fate`]s, by number.
const FATES: [&str; 9] = [
    "in flight",
    "replied",
    "request dropped",
    "unreachable",
    "server gone",
    "server dead",
    "rejected",
    "reply dropped",
    "caller gone",
];

/// The names of [`TickKind`]s, by number.
const TICKS: [&str; 8] = [
    "apply",
    "apply snapshot",
    "commit",
    "persist",
    "timer",
    "start",
    "snapshot",
    "boot",
];

const _: () = assert!(FATES.len() == Fate::CallerGone as usize + 1);
const _: () = assert!(TICKS.len() == TickKind::Boot as usize + 1);

fn spans_json(spans: &[Span]) -> Value {
    json!({
        "kind": spans.iter().map(|s| s.kind as u8).collect::<Vec<_>>(),
        "node": spans.iter().map(|s| s.node.map_or(-1, |n| n as i64)).collect::<Vec<_>>(),
        "from": spans.iter().map(|s| s.from_us).collect::<Vec<_>>(),
        "to": spans.iter().map(|s| s.to_us).collect::<Vec<_>>(),
    })
}

/// The event number a safety failure names at its end (`... (event 91)`), if any.
pub fn event_named_in(message: &str) -> Option<u64> {
    let rest = message.trim_end().strip_suffix(')')?;
    let start = rest.rfind("(event ")?;
    rest[start + "(event ".len()..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tester::timeline::model::Builder;

    /// A log line or `Debug` text holding `</script>` cannot end the data element early, and
    /// comes back intact when the page parses the JSON.
    #[test]
    fn implementation_text_cannot_break_out_of_the_page() {
        let mut b = Builder::new(1, (None, None));
        let evil = "</script><script>alert(1)</script><!-- &amp; \u{2028}";
        b.on_log(
            labrpc::SimTime::from_millis(1),
            Some(0),
            4,
            "x</SCRIPT>",
            evil,
        );
        let timeline = b.finish();
        let info = RunInfo {
            test: "t<b>".into(),
            failure: Some(("safety".into(), 1000, "S0 </script> (event 7)".into())),
            ..RunInfo::default()
        };
        let mut page = Vec::new();
        write_page(&mut page, &timeline, &info).unwrap();
        let page = String::from_utf8(page).unwrap();
        let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let json = &page[start..end];
        assert!(!json.contains('<'), "{json}");
        let value: Value = serde_json::from_str(json).unwrap();
        assert!(
            value["strings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == evil)
        );
        assert_eq!(value["run"]["failure"]["event"], 7);
        assert_eq!(value["run"]["test"], "t<b>");
        assert_eq!(
            page.matches("<script").count(),
            2,
            "the data and the page's script only"
        );
    }

    #[test]
    fn the_event_a_safety_failure_names_is_found() {
        assert_eq!(
            event_named_in("Election Safety: S2 and S1 (event 91)"),
            Some(91)
        );
        assert_eq!(event_named_in("term 2 has 2 (>1) leaders"), None);
        assert_eq!(event_named_in("(event x)"), None);
    }
}
