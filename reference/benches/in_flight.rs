//! The in-flight controls (`raft_reference::flaws`: bugs that bite only when a reply arrives
//! after its sender moved on): on how many seeds of the whole suite each is caught, with no
//! latency (every reliable RPC completes at the instant it is sent: this harness before
//! latency) and with the latency `LAB_LATENCY` names (default: the suites', `go`). The
//! reference comes first: a profile it fails on says nothing about the controls.
//!
//! `cargo bench -p raft-reference --bench in_flight -- [SEEDS]` (default 100): seeds 1..=SEEDS,
//! every test of a seed until one fails, the safety checks on. One row per control.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use labrpc::Latency;
use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::controls::seeds_caught;

fn main() {
    let seeds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100);
    println!("seeds 1..={seeds}: how many catch each control (safety checks on)");
    let latency = tester::latency::from_env();
    let name = tester::latency::env_prefix(latency);
    println!(
        "{:<24} {:>14} {:>14}  first caught with latency",
        "control", "zero latency", "latency"
    );
    println!("latency: {latency:?} {name}");
    row::<Reference>("Reference (no flaw)", seeds, latency);
    row::<Flawed<flaws::CountsStaleVotes>>("CountsStaleVotes", seeds, latency);
    row::<Flawed<flaws::TakesStaleAppendReplies>>("TakesStaleAppendReplies", seeds, latency);
    row::<Flawed<flaws::StaleSuccessRewinds>>("StaleSuccessRewinds", seeds, latency);
}

fn row<R: RaftNode>(name: &str, seeds: u64, latency: Latency) {
    let started = Instant::now();
    let (before, _) = seeds_caught::<R>(seeds, Latency::ZERO);
    let (after, first) = seeds_caught::<R>(seeds, latency);
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
        "{name:<24} {before:>14} {after:>14}  {first}   ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}
