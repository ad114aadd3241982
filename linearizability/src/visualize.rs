//! What a failing check shows (spec §4.6, our own page): per illegal partition, its operations
//! as bars over time, one row per client, and the longest linearizable prefixes the search
//! reached, with the operations that could have gone next and why they could not.
//!
//! [`explain`] builds the data ([`Visualization`]); [`write_html`] writes it as one
//! self-contained HTML file (inline CSS and JavaScript, no network). The data is embedded as
//! JSON in a `<script type="application/json">` block with every `<`, `>` and `&` written as a
//! `\u` escape, so no string from the history can end the block or open a tag; the page
//! puts strings into the document only as text nodes.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checker::{
    CheckReport, EntryKey, PartitionReport, Verdict, call_key, longest_prefixes,
    positions_by_return, return_key,
};
use crate::model::{Model, Operation};

/// Descriptions longer than this many characters are shortened in the page (a Lab 3 value
/// grows to tens of KB): the start, the length, and the end, where appends differ.
pub const DESCRIPTION_CHARS_MAX: usize = 200;

/// The data of the page: the illegal partitions of one check.
#[derive(Clone, Debug, Serialize)]
pub struct Visualization {
    /// A heading, e.g. the test and seed.
    pub title: String,
    /// The check's verdict, as text.
    pub verdict: String,
    /// The budget each partition had.
    pub steps_per_partition: u64,
    /// The illegal partitions, in the model's order.
    pub partitions: Vec<PartitionView>,
}

/// One illegal partition.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionView {
    /// The partition's label.
    pub label: String,
    /// The steps its search took.
    pub steps: u64,
    /// Its operations, by position in the partition.
    pub operations: Vec<OperationView>,
    /// The longest linearizable prefixes found (all the same length; at most
    /// [`crate::MAX_PREFIXES_KEPT`]), each in linearization order.
    pub prefixes: Vec<Vec<StepView>>,
    /// Why the first prefix cannot go on.
    pub stuck: Option<StuckView>,
}

/// One operation.
#[derive(Clone, Debug, Serialize)]
pub struct OperationView {
    /// Its index in the checked history.
    pub history_index: usize,
    /// Its client (the row it is drawn in).
    pub client_id: usize,
    /// Call time.
    pub call_us: u64,
    /// Return time.
    pub return_us: u64,
    /// [`Model::describe_operation`], shortened past [`DESCRIPTION_CHARS_MAX`].
    pub description: String,
}

/// One step of a linearizable prefix.
#[derive(Clone, Debug, Serialize)]
pub struct StepView {
    /// The operation (position in the partition).
    pub operation: usize,
    /// [`Model::describe_state`] after it, shortened past [`DESCRIPTION_CHARS_MAX`].
    pub state_after: String,
}

/// Where the first longest prefix is stuck.
#[derive(Clone, Debug, Serialize)]
pub struct StuckView {
    /// The state after the prefix.
    pub state: String,
    /// The unlinearized operation that returns first: one of the candidates must go before
    /// its return.
    pub earliest_return: usize,
    /// The operations that could go next (called before that return), and whether the model
    /// allows each from `state` (a legal one leads only to configurations already explored).
    pub candidates: Vec<CandidateView>,
}

/// An operation that could go next after a prefix.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateView {
    /// The operation (position in the partition).
    pub operation: usize,
    /// Whether [`Model::step`] accepts it from the prefix's state.
    pub legal: bool,
}

/// Builds the page's data for every illegal partition of `report` (a check of `history`
/// against `model`), searching each again to record its longest linearizable prefixes.
pub fn explain<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    report: &CheckReport,
    title: &str,
) -> Visualization {
    Visualization {
        title: title.to_owned(),
        verdict: format!("{:?}", report.verdict),
        steps_per_partition: report.steps_per_partition,
        partitions: report
            .partitions
            .iter()
            .filter(|p| p.verdict == Verdict::Illegal)
            .map(|p| explain_partition(model, history, p))
            .collect(),
    }
}

fn explain_partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    report: &PartitionReport,
) -> PartitionView {
    let positions = &report.partition.operations;
    let operations = positions
        .iter()
        .map(|&index| {
            let op = &history[index];
            OperationView {
                history_index: index,
                client_id: op.client_id,
                call_us: op.call_us,
                return_us: op.return_us,
                description: abbreviate(&model.describe_operation(&op.input, &op.output)),
            }
        })
        .collect();
    let prefixes = longest_prefixes(model, history, positions, report.steps);
    let steps: Vec<Vec<StepView>> = prefixes
        .iter()
        .map(|prefix| replay(model, history, positions, prefix).0)
        .collect();
    let first: &[usize] = prefixes.first().map_or(&[], Vec::as_slice);
    let stuck = stuck_view(model, history, positions, first);
    PartitionView {
        label: report.partition.label.clone(),
        steps: report.steps,
        operations,
        prefixes: steps,
        stuck,
    }
}

/// Steps the model through a prefix the search found linearizable: the steps, and the state
/// after them.
fn replay<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    positions: &[usize],
    prefix: &[usize],
) -> (Vec<StepView>, M::State) {
    let mut state = model.init();
    let mut steps = Vec::with_capacity(prefix.len());
    for &position in prefix {
        let op = &history[positions[position]];
        state = model
            .step(&state, &op.input, &op.output)
            .expect("a prefix the search linearized replays step by step");
        steps.push(StepView {
            operation: position,
            state_after: abbreviate(&model.describe_state(&state)),
        });
    }
    (steps, state)
}

fn stuck_view<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    positions: &[usize],
    prefix: &[usize],
) -> Option<StuckView> {
    let (_, state) = replay(model, history, positions, prefix);
    let mut done = vec![false; positions.len()];
    for &position in prefix {
        done[position] = true;
    }
    let op = |position: usize| &history[positions[position]];
    let earliest_return = positions_by_return(history, positions)
        .into_iter()
        .find(|&position| !done[position])?;
    let deadline: EntryKey = return_key(op(earliest_return), earliest_return);
    let candidates = (0..positions.len())
        .filter(|&position| !done[position] && call_key(op(position), position) < deadline)
        .map(|position| CandidateView {
            operation: position,
            legal: model
                .step(&state, &op(position).input, &op(position).output)
                .is_some(),
        })
        .collect();
    Some(StuckView {
        state: abbreviate(&model.describe_state(&state)),
        earliest_return,
        candidates,
    })
}

/// `text`, or its start and end around its length if it is longer than
/// [`DESCRIPTION_CHARS_MAX`] characters.
pub fn abbreviate(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= DESCRIPTION_CHARS_MAX {
        return text.to_owned();
    }
    let head: String = text.chars().take(40).collect();
    let tail: String = text.chars().skip(chars - 120).collect();
    format!("{head}…[{chars} chars]…{tail}")
}

/// The page: [`Visualization`] as JSON inside a fixed, self-contained HTML document.
pub fn html(visualization: &Visualization) -> String {
    let json = serde_json::to_string(visualization).expect("the page's data serializes");
    // Inside a JSON text, <, > and & occur only in strings, where \u escapes mean the same.
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    PAGE.replace("/*DATA*/", &json)
}

/// Writes [`html`] to `path`, creating its directory.
pub fn write_html(visualization: &Visualization, path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, html(visualization))
}

/// What the Lab 3 driver does on `Illegal`: explains `report` (a check of `history` against
/// `model`) and writes the page to [`visualization_path`]`(test, seed)`; returns the path, for
/// `info: wrote history visualization to <path>`.
pub fn write_for_test<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    report: &CheckReport,
    test: &str,
    seed: u64,
) -> io::Result<PathBuf> {
    let path = visualization_path(test, seed);
    let title = format!("{test} (seed {seed}): history is not linearizable");
    write_html(&explain(model, history, report, &title), &path)?;
    Ok(path)
}

/// Where the page for `test` at `seed` goes: `<temp dir>/raft-dst/<test>-seed<seed>.html`,
/// the same path on every replay, so a replay overwrites it.
pub fn visualization_path(test: &str, seed: u64) -> PathBuf {
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    std::env::temp_dir()
        .join("raft-dst")
        .join(format!("{name}-seed{seed}.html"))
}

/// The page. `/*DATA*/` becomes the escaped JSON.
const PAGE: &str = include_str!("visualize.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_descriptions_keep_their_ends() {
        let text = format!("start{}end", "x".repeat(1000));
        let short = abbreviate(&text);
        assert!(short.starts_with("startxx"));
        assert!(short.ends_with("xxend"));
        assert!(short.contains("[1008 chars]"));
        assert_eq!(abbreviate("short"), "short");
    }

    #[test]
    fn the_embedded_json_reads_back_as_the_data() {
        let visualization = Visualization {
            title: "</script><!-- & \u{2028} \"quoted\"".to_owned(),
            verdict: "Illegal".to_owned(),
            steps_per_partition: 7,
            partitions: Vec::new(),
        };
        let page = html(&visualization);
        let start = page.find(r#"id="data">"#).unwrap() + r#"id="data">"#.len();
        let end = start + page[start..].find("</script>").unwrap();
        let embedded: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(embedded, serde_json::to_value(&visualization).unwrap());
        assert!(!page[start..end].contains('<'));
    }

    #[test]
    fn paths_are_deterministic_and_tame() {
        let path = visualization_path("a/b c", 7);
        assert!(path.ends_with("raft-dst/a-b-c-seed7.html"));
        assert_eq!(path, visualization_path("a/b c", 7));
    }
}
