//! The debug log in columns, as `dslogs` shows it: virtual time on the left, then one column
//! per node (and one for the tester), each line in the column of the node that wrote it, its
//! topic (the `log` target) coloured.
//!
//! ```text
//!         time  tester              S0                  S1                  S2
//!    0.478000s                      role became         
//!                                   candidate in term 1
//! ```

use std::fmt::Write as _;

use tester::timeline::Timeline;

/// How to lay the columns out.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The whole width, in characters.
    pub width: usize,
    /// Keep only lines of these topics (all if `None`).
    pub topics: Option<Vec<String>>,
    /// Colour topics with ANSI escapes.
    pub color: bool,
}

/// Width of the time column, with its separator: `   12.345678s `.
const TIME_WIDTH: usize = 14;
/// No column is narrower than this, however narrow the terminal.
pub const MIN_COLUMN: usize = 12;
/// The width when neither `--width`, `COLUMNS` nor the terminal gives one.
pub const DEFAULT_WIDTH: usize = 160;

/// ANSI colours for topics, picked by the topic's name.
const PALETTE: [&str; 6] = ["31", "32", "33", "34", "35", "36"];

/// The width to use: `flag`, else `COLUMNS`, else the terminal's, else [`DEFAULT_WIDTH`].
pub fn width(flag: Option<usize>) -> usize {
    flag.or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .or_else(|| {
            console::Term::stdout()
                .size_checked()
                .map(|(_, cols)| usize::from(cols))
        })
        .unwrap_or(DEFAULT_WIDTH)
}

/// Whether to colour: stdout is a terminal and `NO_COLOR` is not set (<https://no-color.org>).
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// The log lines of `timeline`, laid out in columns: a header, a rule, then the lines.
pub fn render(timeline: &Timeline, layout: &Layout) -> Vec<String> {
    let columns = timeline.servers + 1;
    let column = (layout.width.saturating_sub(TIME_WIDTH) / columns).max(MIN_COLUMN);
    let text_width = column - 1;
    let mut out = vec![
        header(timeline.servers, column),
        "-".repeat(TIME_WIDTH + column * columns),
    ];
    for log in &timeline.logs {
        let topic = timeline.text(log.target);
        if layout
            .topics
            .as_ref()
            .is_some_and(|keep| !keep.iter().any(|t| t == topic))
        {
            continue;
        }
        let level = match log.level {
            1 => "ERROR ",
            2 => "WARN ",
            _ => "",
        };
        let text = format!("{level}{topic} {}", timeline.text(log.message));
        let slot = log.node.map_or(0, |node| node + 1);
        for (k, chunk) in wrap(&text, text_width).into_iter().enumerate() {
            let time = if k == 0 {
                labrpc::SimTime::from_micros(log.at_us).to_string()
            } else {
                String::new()
            };
            let mut line = format!("{time:>width$} ", width = TIME_WIDTH - 1);
            line.push_str(&" ".repeat(column * slot));
            let shown = if k == 0 && layout.color {
                let start = level.len();
                let code = PALETTE[topic_hash(topic) % PALETTE.len()];
                let (before, rest) = chunk.split_at(start.min(chunk.len()));
                let cut = topic.len().min(rest.len());
                format!(
                    "{before}\x1b[{code}m{}\x1b[0m{}",
                    &rest[..cut],
                    &rest[cut..]
                )
            } else {
                chunk
            };
            line.push_str(&shown);
            out.push(line.trim_end().to_owned());
        }
    }
    out
}

fn header(servers: usize, column: usize) -> String {
    let mut line = format!("{:>width$} ", "time", width = TIME_WIDTH - 1);
    let _ = write!(line, "{:<column$}", "tester");
    for i in 0..servers {
        let _ = write!(line, "{:<column$}", format!("S{i}"));
    }
    line.trim_end().to_owned()
}

/// `text` in pieces of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        loop {
            let used = current.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.chars().count() <= width {
                if gap == 1 {
                    current.push(' ');
                }
                current.push_str(&word);
                break;
            }
            if used > 0 {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            // A word longer than the column: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            pieces.push(head);
        }
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// FNV-1a of a topic's name: the same topic gets the same colour in every run.
fn topic_hash(topic: &str) -> usize {
    let hash = topic.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (hash % 1_000_003) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use tester::timeline::model::Builder;

    fn timeline() -> Timeline {
        let mut b = Builder::new(2, (None, None));
        let at = labrpc::SimTime::from_millis;
        b.on_log(
            at(10),
            None,
            3,
            "tester",
            "start(101) on S0 -> index 1 term 1",
        );
        b.on_log(at(478), Some(1), 4, "role", "became candidate in term 1");
        b.on_log(at(480), Some(0), 2, "election", "voted");
        b.finish()
    }

    #[test]
    fn each_line_goes_in_its_nodes_column_wrapped_to_the_width() {
        let layout = Layout {
            width: 14 + 3 * 20,
            topics: None,
            color: false,
        };
        let lines = render(&timeline(), &layout);
        assert_eq!(
            lines[0],
            format!("{:>13} {:<20}{:<20}S1", "time", "tester", "S0")
        );
        assert_eq!(lines[1], "-".repeat(74));
        assert_eq!(lines[2], "    0.010000s tester start(101)");
        assert_eq!(lines[3], format!("{:14}on S0 -> index 1", ""));
        assert_eq!(lines[4], format!("{:14}term 1", ""));
        let s1 = " ".repeat(40);
        assert_eq!(lines[5], format!("    0.478000s {s1}role became"));
        assert_eq!(lines[6], format!("{:14}{s1}candidate in term 1", ""));
        assert_eq!(
            lines[7],
            format!("    0.480000s {:20}WARN election voted", "")
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 74), "{lines:#?}");
    }

    #[test]
    fn topics_filter_lines_and_colour_marks_only_the_topic() {
        let layout = Layout {
            width: 200,
            topics: Some(vec!["role".into()]),
            color: true,
        };
        let lines = render(&timeline(), &layout);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[2].contains("m\x1b[") || lines[2].contains("\x1b[3"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].ends_with("\x1b[0m became candidate in term 1"),
            "{}",
            lines[2]
        );
        let narrow = Layout {
            width: 10,
            topics: None,
            color: false,
        };
        let lines = render(&timeline(), &narrow);
        assert_eq!(
            lines[1].len(),
            TIME_WIDTH + 3 * MIN_COLUMN,
            "columns never narrower than {MIN_COLUMN}"
        );
    }
}
