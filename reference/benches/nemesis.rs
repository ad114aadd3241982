//! The nemesis family's numbers: for each control, the campaign seeds until it is caught,
//! beside the runs the Go suites alone need (`tester::controls::first_catch`, checks on and
//! off), and the size of its shrunk schedule; then the reference's time to a leader after
//! healing, over many seeds, from which the liveness bound is set.
//!
//! `cargo bench -p raft-reference --bench nemesis -- [SEEDS]` (default 200: the seeds of the
//! time-to-leader distribution).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::nemesis::shrink::{MAX_ATTEMPTS, shrink};
use tester::{RunOptions, run_case};

fn main() {
    let seeds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(200);
    println!(
        "{:<29} {:>13} {:<44} {:>16} {:>16}",
        "control", "nemesis seeds", "caught by", "shrunk steps", "Go suites runs"
    );
    row::<Flawed<flaws::TruncatesOnEveryAppend>>("TruncatesOnEveryAppend");
    row::<Flawed<flaws::PersistsBeforeVoting>>("PersistsBeforeVoting");
    row::<Flawed<flaws::CommitsOldTermByCount>>("CommitsOldTermByCount");
    row::<Flawed<flaws::InstallsStaleSnapshot>>("InstallsStaleSnapshot");
    row::<Flawed<flaws::ResetsTimerOnEveryRequestVote>>("ResetsTimerOnEveryRequestVote");
    row::<Flawed<flaws::ResetsTimerOnStaleAppend>>("ResetsTimerOnStaleAppend");
    row::<Flawed<flaws::KeepsTimerOnGrant>>("KeepsTimerOnGrant");
    time_to_leader(seeds);
}

/// The first campaign seed on which a family test fails `R`, with the report.
fn first_catch<R: RaftNode>(max_seeds: u64) -> Option<(u64, &'static str, tester::RunReport)> {
    let cases = tester::nemesis::cases::<R>();
    for seed in 1..=max_seeds {
        for case in &cases {
            let report = run_case(case, seed, RunOptions::default());
            if !report.passed() {
                return Some((seed, case.name, report));
            }
        }
    }
    None
}

fn row<R: RaftNode>(name: &str) {
    let started = Instant::now();
    let caught = first_catch::<R>(50);
    let (seeds, by, shrunk) = match &caught {
        None => ("> 50".to_owned(), "-".to_owned(), "-".to_owned()),
        Some((seed, test, report)) => {
            let failure = report.result.as_ref().expect_err("failed");
            let case = tester::nemesis::cases::<R>()
                .into_iter()
                .find(|case| case.name == *test)
                .expect("a family test");
            let schedule =
                tester::nemesis::schedule_for(case.name, case.part, *seed).expect("a schedule");
            let shrunk = shrink(
                &case,
                *seed,
                &schedule,
                failure,
                MAX_ATTEMPTS,
                &RunOptions::default,
            );
            let by = format!("{test} {}", tester::shortened(&failure.to_string()));
            (
                seed.to_string(),
                by.chars().take(44).collect(),
                format!(
                    "{} -> {} ({} runs)",
                    schedule.steps.len(),
                    shrunk.minimal.steps.len(),
                    shrunk.attempts
                ),
            )
        }
    };
    let go = tester::controls::first_catch::<R>(1, 20, true)
        .map_or("> 560".to_owned(), |(_, runs)| runs.to_string());
    println!(
        "{name:<29} {seeds:>13} {by:<44} {shrunk:>16} {go:>16}   ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// The reference's time from healing to a leader, over `seeds` seeds of every family test.
fn time_to_leader(seeds: u64) {
    let started = Instant::now();
    let mut times_ms: Vec<u64> = Vec::new();
    let mut runs = 0;
    for case in tester::nemesis::cases::<Reference>() {
        for seed in 1..=seeds {
            runs += 1;
            let report = run_case(&case, seed, RunOptions::default());
            assert!(
                report.passed(),
                "{} seed {seed}: {:?}",
                case.name,
                report.result
            );
            let ms = report.lines.iter().find_map(|line| {
                let rest = line.trim().strip_prefix("liveness: a leader ")?;
                rest.split(' ').next()?.parse::<u64>().ok()
            });
            times_ms.extend(ms);
        }
    }
    times_ms.sort_unstable();
    let at = |q: f64| times_ms[((times_ms.len() - 1) as f64 * q) as usize];
    println!(
        "\ntime to a leader after healing, {} runs ({runs} run, {:.1} s): median {} ms, p90 {} \
         ms, p99 {} ms, p99.9 {} ms, max {} ms",
        times_ms.len(),
        started.elapsed().as_secs_f64(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        times_ms.last().copied().unwrap_or(0)
    );
    // The heals that needed an election (no leader survived them).
    let elected: Vec<u64> = times_ms.iter().copied().filter(|&ms| ms > 0).collect();
    let at = |q: f64| elected[((elected.len() - 1) as f64 * q) as usize];
    println!(
        "  of which {} needed an election: median {} ms, p99 {} ms, max {} ms",
        elected.len(),
        at(0.5),
        at(0.99),
        elected.last().copied().unwrap_or(0)
    );
}
