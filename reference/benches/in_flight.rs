//! The in-flight controls (`raft_reference::flaws`: bugs that bite only when a reply arrives
//! after its sender moved on): on how many seeds each is caught, with no latency (every
//! reliable RPC completes at the instant it is sent: this harness before latency) and with
//! the latency `LAB_LATENCY` names (default: the suites', `go`); by the whole suite, and by
//! its reliable tests alone (the unreliable ones delay messages by milliseconds with or without
//! latency). The reference comes first: a profile it fails on says nothing about the controls.
//!
//! `cargo bench -p raft-reference --bench in_flight -- [SEEDS] [NAME]` (default 100 seeds, every
//! control): seeds 1..=SEEDS, every test of a seed until one fails, the safety checks on. One
//! row per control whose name contains NAME.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use labrpc::Latency;
use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::controls::seeds_caught_by;
use tester::registry::TestCase;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seeds = args.iter().find_map(|arg| arg.parse().ok()).unwrap_or(100);
    let only = args.iter().find(|arg| arg.parse::<u64>().is_err());
    let latency = tester::latency::from_env();
    let name = tester::latency::env_prefix(latency);
    let row = |name: &str, row: fn(&str, u64, Latency)| {
        if only.is_none_or(|only| name.contains(only.as_str())) {
            row(name, seeds, latency);
        }
    };
    println!("seeds 1..={seeds}: how many catch each control (safety checks on)");
    println!("latency: {latency:?} {name}");
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}  first caught by a reliable test with latency",
        "control", "all zero", "all lat", "rel zero", "rel lat"
    );
    row("Reference (no flaw)", row_of::<Reference>);
    row(
        "CountsStaleVotes",
        row_of::<Flawed<flaws::CountsStaleVotes>>,
    );
    row(
        "TakesStaleAppendReplies",
        row_of::<Flawed<flaws::TakesStaleAppendReplies>>,
    );
    row(
        "StaleSuccessRewinds",
        row_of::<Flawed<flaws::StaleSuccessRewinds>>,
    );
    row("MatchesOwnLog", row_of::<Flawed<flaws::MatchesOwnLog>>);
    row(
        "SnapshotMatchesOwnSnapshot",
        row_of::<Flawed<flaws::SnapshotMatchesOwnSnapshot>>,
    );
    row("CommitsWholeLog", row_of::<Flawed<flaws::CommitsWholeLog>>);
    row("CommitGoesBack", row_of::<Flawed<flaws::CommitGoesBack>>);
}

fn reliable<R: RaftNode>(case: &TestCase<R>) -> bool {
    !case.unreliable
}

fn row_of<R: RaftNode>(name: &str, seeds: u64, latency: Latency) {
    let started = Instant::now();
    let (all_zero, _) = seeds_caught_by::<R>(seeds, Latency::ZERO, |_| true);
    let (all_latency, _) = seeds_caught_by::<R>(seeds, latency, |_| true);
    let (reliable_zero, _) = seeds_caught_by::<R>(seeds, Latency::ZERO, reliable);
    let (reliable_latency, first) = seeds_caught_by::<R>(seeds, latency, reliable);
    let first = first.map_or_else(
        || "-".to_owned(),
        |report| {
            let failure = report.result.expect_err("caught runs fail");
            let message: String = failure.message.chars().take(40).collect();
            format!(
                "{} s{}: {}: {message}",
                report.test, report.seed, failure.kind
            )
        },
    );
    println!(
        "{name:<28} {all_zero:>9} {all_latency:>9} {reliable_zero:>9} {reliable_latency:>9}  {first}   ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}
