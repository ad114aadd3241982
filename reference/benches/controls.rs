//! Bug-finding power: how many runs each deliberately broken Raft survives, with the safety
//! checks on and with only the Go checks (`LAB_CHECKS=off`).
//!
//! `cargo bench -p raft-reference --bench controls -- [SEEDS] [NAME]` (default 20 seeds, every
//! control): every test of seed 1, then of seed 2, ..., until the first failure, at most SEEDS
//! seeds. Prints one row per control (or only NAME's): runs until caught, the failing test and
//! seed, the class and the start of the message.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::controls::{Canary, StaleLeader, first_catch};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds = args.iter().find_map(|arg| arg.parse().ok()).unwrap_or(20);
    let only = args
        .iter()
        .find(|arg| arg.parse::<u64>().is_err() && !arg.starts_with('-'));
    let row = |name: &str, row: fn(&str, u64)| {
        if only.is_none_or(|only| only == name) {
            row(name, seeds);
        }
    };
    println!(
        "{:<24} {:>10}  {:<48} {:>10}  caught by (Go only)",
        "control", "checks on", "caught by", "Go only"
    );
    row("StaleLeader", row_of::<StaleLeader<Reference>>);
    row("GrantsEveryVote", row_of::<Flawed<flaws::GrantsEveryVote>>);
    row(
        "AcceptsStaleTerms",
        row_of::<Flawed<flaws::AcceptsStaleTerms>>,
    );
    row(
        "LeaderOverwritesLast",
        row_of::<Flawed<flaws::LeaderOverwritesLast>>,
    );
    row(
        "SkipsPrevLogTerm",
        row_of::<Flawed<flaws::SkipsPrevLogTerm>>,
    );
    row(
        "VotesForStaleLogs",
        row_of::<Flawed<flaws::VotesForStaleLogs>>,
    );
    row("CommitsPastLog", row_of::<Flawed<flaws::CommitsPastLog>>);
    row(
        "AppliesUncommitted",
        row_of::<Flawed<flaws::AppliesUncommitted>>,
    );
    row(
        "TruncatesOnEveryAppend",
        row_of::<Flawed<flaws::TruncatesOnEveryAppend>>,
    );
    row("MatchesOwnLog", row_of::<Flawed<flaws::MatchesOwnLog>>);
    row("CommitsWholeLog", row_of::<Flawed<flaws::CommitsWholeLog>>);
    row(
        "PersistsBeforeVoting",
        row_of::<Flawed<flaws::PersistsBeforeVoting>>,
    );
    row("Canary", row_of::<Canary<Reference>>);
}

fn row_of<R: RaftNode>(name: &str, seeds: u64) {
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
