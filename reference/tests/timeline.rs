//! The timeline of real runs (`scripts/replay --html`, `--columns`): recording changes nothing
//! in the run, the model holds what the run did, and the column view of a fixed seed's log.

use std::sync::Once;

use raft_reference::Reference;
use scripts::timeline::columns::{Layout, render};
use scripts::timeline::{RunInfo, html};
use scripts::{Checks, Implementation};
use tester::controls::Canary;
use tester::timeline::Timeline;
use tester::timeline::model::{Fate, Role, SpanKind};
use tester::{RunOptions, RunReport, registry, run_case};

/// Log lines are formatted (and so reach the timeline) only through an installed logger: the
/// one `replay --columns` installs (`RUST_LOG`, default `debug`), which writes nowhere.
fn init_logger() {
    static ONCE: Once = Once::new();
    ONCE.call_once(scripts::logging::init_silent);
}

fn record<R: raft::RaftNode>(test: &str, seed: u64) -> (RunReport, Timeline) {
    init_logger();
    let case = registry::find::<R>(test).expect("a lab test");
    tester::timeline::record(&case, seed, RunOptions::default())
}

#[test]
fn recording_a_timeline_does_not_change_the_run() {
    let case = registry::find::<Reference>("figure_8_unreliable_2c").unwrap();
    let plain = run_case(&case, 3, RunOptions::default());
    let (recorded, timeline) = record::<Reference>("figure_8_unreliable_2c", 3);
    assert_eq!(plain.fingerprint, recorded.fingerprint);
    assert_eq!(plain.events, recorded.events);
    // The timeline also sees the servers deleted after the run (its numbers are the run's).
    assert_eq!(timeline.events, recorded.events + 5);
    assert!(
        timeline.messages.len() > 1000,
        "{}",
        timeline.messages.len()
    );
    assert!(
        timeline
            .spans
            .iter()
            .any(|s| s.kind == SpanKind::Unreliable)
    );
}

#[test]
fn a_reference_run_shows_leaders_arrows_crashes_and_its_log() {
    let (report, t) = record::<Reference>("re_election_2a", 1);
    assert!(report.passed());
    assert_eq!(t.servers, 3);
    // At most one leader band per term, and the first election's leader leads term 1.
    let mut leaders: Vec<u64> = t
        .bands
        .iter()
        .filter(|b| b.role == Role::Leader)
        .map(|b| b.term)
        .collect();
    leaders.dedup();
    assert!(leaders.contains(&1), "{leaders:?}");
    let kinds: Vec<&str> = t.messages.iter().map(|m| t.text(m.kind)).collect();
    assert!(
        kinds.contains(&"RequestVote") && kinds.contains(&"AppendEntries"),
        "{kinds:?}"
    );
    for m in &t.messages {
        if m.handled.is_some() {
            assert!(m.to.is_some() && m.from.is_some());
        }
        if m.fate == Fate::Replied {
            assert_ne!(m.reply, 0);
        }
    }
    // The test disconnects the leader: a disconnected span.
    assert!(
        t.spans.iter().any(|s| s.kind == SpanKind::Disconnected),
        "{:?}",
        t.spans
    );
    assert!(
        t.logs
            .iter()
            .any(|l| t.text(l.target) == "role" && l.node.is_some())
    );
    assert!(
        t.logs
            .iter()
            .any(|l| t.text(l.target) == "tester" && l.node.is_none())
    );
}

#[test]
fn the_canary_failure_is_on_the_page_with_its_event() {
    let (report, t) = record::<Canary<Reference>>("re_election_2a", 1);
    let failure = report.result.as_ref().expect_err("the canary fails");
    let info = RunInfo::of(&report, Implementation::Canary, Checks::default());
    let data = html::data(&t, &info);
    assert_eq!(data["run"]["failure"]["kind"], failure.kind.as_str());
    assert_eq!(data["run"]["failure"]["at"], failure.at.as_micros());
    assert!(
        data["run"]["failure"]["event"].as_u64().is_some(),
        "{}",
        data["run"]
    );
    assert!(
        data["run"]["replay"]
            .as_str()
            .unwrap()
            .contains("--canary re_election_2a 1")
    );
}

/// The column view of a fixed seed's captured log: a column per node, the width kept, and
/// `--topics` keeping only the topics named.
#[test]
fn the_columns_of_a_fixed_seed() {
    let (_, t) = record::<Reference>("re_election_2a", 1);
    let layout = Layout {
        width: 100,
        topics: None,
        color: false,
    };
    let all = render(&t, &layout);
    assert!(all[0].starts_with("         time tester"), "{}", all[0]);
    assert!(all[0].contains("S0") && all[0].contains("S2"), "{}", all[0]);
    assert!(
        all.iter().all(|line| line.chars().count() <= 100),
        "{all:#?}"
    );
    // Column 2 (S1) starts at 14 + 2 * 21: S1's first election, as the reference logs it.
    let s1 = all
        .iter()
        .find(|line| line.contains("stands for"))
        .expect("an election");
    assert_eq!(s1.find("role"), Some(14 + 2 * 21), "{s1}");
    let roles = render(
        &t,
        &Layout {
            topics: Some(vec!["role".into()]),
            ..layout
        },
    );
    assert!(roles.len() > 2 && roles.len() < all.len());
    assert!(
        roles[2..].iter().all(|l| !l.contains("tester ")),
        "{roles:#?}"
    );
}
