//! Negative controls for the safety checks: one deliberately broken Raft per property, each
//! caught with class `safety` and that property on the first seeds (every test of seed 1,
//! then of seed 2, ...). The reference passing every test with the checks on is the lab
//! suites themselves (`tests/lab2.rs`), and over 10,000 seeds the hunt.
//!
//! `cargo bench -p tester --bench controls` measures how many runs each control takes to be
//! caught, with and without the checks.

use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::FailureKind;
use tester::controls::{StaleLeader, first_catch};
use tester::safety::Property;

/// Seeds of every test a control may take before it is caught.
const SEEDS: u64 = 3;

fn assert_caught<R: RaftNode>(property: Property) {
    let (report, runs) = first_catch::<R>(1, SEEDS, true)
        .unwrap_or_else(|| panic!("{property}: not caught in {SEEDS} seeds of every test"));
    let failure = report.result.expect_err("a caught run failed");
    println!(
        "{property}: caught after {runs} runs by {} seed {}: {failure}",
        report.test, report.seed
    );
    assert_eq!(failure.kind, FailureKind::Safety, "{failure}");
    assert_eq!(
        Property::of_message(&failure.message),
        Some(property),
        "{failure}"
    );
}

#[test]
fn a_deposed_leader_that_still_leads_breaks_election_safety() {
    assert_caught::<StaleLeader<Reference>>(Property::ElectionSafety);
}

#[test]
fn granting_every_vote_breaks_vote_once() {
    assert_caught::<Flawed<flaws::GrantsEveryVote>>(Property::VoteOnce);
}

#[test]
fn adopting_a_stale_term_breaks_term_monotonic() {
    assert_caught::<Flawed<flaws::AcceptsStaleTerms>>(Property::TermMonotonic);
}

#[test]
fn a_leader_overwriting_its_last_entry_breaks_leader_append_only() {
    assert_caught::<Flawed<flaws::LeaderOverwritesLast>>(Property::LeaderAppendOnly);
}

#[test]
fn skipping_the_prev_log_term_check_breaks_log_matching() {
    assert_caught::<Flawed<flaws::SkipsPrevLogTerm>>(Property::LogMatching);
}

#[test]
fn voting_for_stale_logs_breaks_leader_completeness() {
    assert_caught::<Flawed<flaws::VotesForStaleLogs>>(Property::LeaderCompleteness);
}

#[test]
fn committing_past_the_log_breaks_the_commit_index() {
    assert_caught::<Flawed<flaws::CommitsPastLog>>(Property::CommitIndex);
}

/// Committing the whole log on a majority's success commits entries only the leader holds.
#[test]
fn committing_the_whole_log_commits_without_a_majority() {
    assert_caught::<Flawed<flaws::CommitsWholeLog>>(Property::CommitMajority);
}

#[test]
fn applying_uncommitted_entries_breaks_apply_order() {
    assert_caught::<Flawed<flaws::AppliesUncommitted>>(Property::ApplyOrder);
}

#[test]
fn truncating_on_every_append_is_a_stale_truncation() {
    assert_caught::<Flawed<flaws::TruncatesOnEveryAppend>>(Property::NoStaleTruncation);
}

#[test]
fn persisting_before_voting_breaks_persist_before_reply() {
    assert_caught::<Flawed<flaws::PersistsBeforeVoting>>(Property::PersistBeforeReply);
}

/// The checks only read: every test's run is the same event for event (fingerprint) and prints
/// the same Go lines with the checks on and off.
#[test]
fn the_checks_change_no_event() {
    for case in tester::registry::all::<Reference>() {
        for seed in [1, 2] {
            let run = |safety_checks| {
                let options = tester::RunOptions {
                    safety_checks,
                    ..tester::RunOptions::default()
                };
                tester::run_case(&case, seed, options)
            };
            let (on, off) = (run(true), run(false));
            assert!(on.passed(), "{} seed {seed}: {:?}", case.name, on.result);
            assert_eq!(on.fingerprint, off.fingerprint, "{} seed {seed}", case.name);
            assert_eq!(on.events, off.events, "{} seed {seed}", case.name);
            assert_eq!(on.lines, off.lines, "{} seed {seed}", case.name);
        }
    }
}
