//! Wall time of full 2A–2D passes on the reference Raft: one thread, release build.
//!
//! `cargo bench -p raft-reference --bench suite -- [SEEDS] [FIRST_SEED] [NAME_FILTER...]` (default 20
//! seeds from 1, every test).
//! Prints per-test mean wall ms with virtual seconds, RPCs, bytes and commands of the first
//! seed (the Go `Passed` line's numbers), then the mean wall time of a whole pass.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use raft_reference::Reference;
use tester::{RunOptions, registry, run_case};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let numbers: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let filters: Vec<&String> = args.iter().filter(|a| a.parse::<u64>().is_err()).collect();
    let seeds = numbers.first().copied().unwrap_or(20);
    let first = numbers.get(1).copied().unwrap_or(1);
    let mut cases = registry::all::<Reference>();
    cases.retain(|case| {
        filters.is_empty() || filters.iter().any(|f| case.name.contains(f.as_str()))
    });
    println!(
        "{:<32} {:>9} {:>8} {:>6} {:>9} {:>5}",
        "test", "wall ms", "virt s", "RPCs", "bytes", "cmds"
    );
    let mut pass_ms = 0.0;
    for case in &cases {
        let started = Instant::now();
        let mut first_stats = None;
        for seed in first..first + seeds {
            let report = run_case(case, seed, RunOptions::default());
            match report.result {
                Ok(stats) => {
                    first_stats.get_or_insert(stats);
                }
                Err(failure) => panic!("{} failed on seed {seed}: {failure}", case.name),
            }
        }
        let mean_ms = started.elapsed().as_secs_f64() * 1000.0 / seeds as f64;
        pass_ms += mean_ms;
        let s = first_stats.expect("at least one seed");
        println!(
            "{:<32} {:>9.2} {:>8.1} {:>6} {:>9} {:>5}",
            case.name,
            mean_ms,
            s.virtual_ms as f64 / 1000.0,
            s.rpcs,
            s.bytes,
            s.commands
        );
    }
    println!(
        "full 2A–2D pass: {pass_ms:.1} ms wall per seed (mean over {seeds} seeds, one thread)"
    );
}
