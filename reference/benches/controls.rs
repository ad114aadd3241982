//! Bug-finding power: how many runs each deliberately broken Raft survives, with the safety
//! checks on and with only the Go checks (`LAB_CHECKS=off`).
//!
//! `cargo bench -p tester --bench controls -- [SEEDS]` (default 20): every test of seed 1,
//! then of seed 2, ..., until the first failure, at most SEEDS seeds. Prints one row per
//! control: runs until caught, the failing test and seed, the class and the start of the
//! message.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::controls::{Canary, StaleLeader, first_catch};

fn main() {
    let seeds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(20);
    println!(
        "{:<24} {:>10}  {:<48} {:>10}  caught by (Go only)",
        "control", "checks on", "caught by", "Go only"
    );
    row::<StaleLeader<Reference>>("StaleLeader", seeds);
    row::<Flawed<flaws::GrantsEveryVote>>("GrantsEveryVote", seeds);
    row::<Flawed<flaws::AcceptsStaleTerms>>("AcceptsStaleTerms", seeds);
    row::<Flawed<flaws::LeaderOverwritesLast>>("LeaderOverwritesLast", seeds);
    row::<Flawed<flaws::SkipsPrevLogTerm>>("SkipsPrevLogTerm", seeds);
    row::<Flawed<flaws::VotesForStaleLogs>>("VotesForStaleLogs", seeds);
    row::<Flawed<flaws::CommitsPastLog>>("CommitsPastLog", seeds);
    row::<Flawed<flaws::AppliesUncommitted>>("AppliesUncommitted", seeds);
    row::<Flawed<flaws::TruncatesOnEveryAppend>>("TruncatesOnEveryAppend", seeds);
    row::<Flawed<flaws::PersistsBeforeVoting>>("PersistsBeforeVoting", seeds);
    row::<Canary<Reference>>("Canary", seeds);
}

fn row<R: RaftNode>(name: &str, seeds: u64) {
    let started = Instant::now();
    let on = describe(first_catch::<R>(1, seeds, true));
    let off = describe(first_catch::<R>(1, seeds, false));
    println!(
        "{name:<24} {:>10}  {:<48} {:>10}  {}   ({:.1} s)",
        on.0,
        on.1,
        off.0,
        off.1,
        started.elapsed().as_secs_f64()
    );
}

/// `(runs, "test seed N: class: message…")`, or a dash when nothing failed.
fn describe(caught: Option<(tester::RunReport, u64)>) -> (String, String) {
    let Some((report, runs)) = caught else {
        return ("-".to_owned(), "not caught".to_owned());
    };
    let failure = report.result.expect_err("caught runs fail");
    let message: String = failure.message.chars().take(24).collect();
    (
        runs.to_string(),
        format!(
            "{} s{} at {}: {}: {message}",
            report.test, report.seed, failure.at, failure.kind
        ),
    )
}
