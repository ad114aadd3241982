//! Wall time of full 3A+3B passes on the reference key/value service and Raft: one thread,
//! release build.
//!
//! `cargo bench -p raft-reference --bench lab3 -- [SEEDS] [FIRST_SEED] [NAME_FILTER...]`
//! (default 5 seeds from 1, every test). Prints per-test mean wall ms with the Go `Passed`
//! line's numbers of the first seed (virtual seconds, RPCs, operations), and the largest
//! history the linearizability checker saw is not shown here (see the `linearizability`
//! crate's benchmark); then the mean wall time of a whole pass.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use raft_reference::Reference;
use raft_reference::kv::{KvClerk, KvServer};
use tester::RunOptions;

type Lab = (Reference, KvServer, KvClerk);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let numbers: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let filters: Vec<&String> = args.iter().filter(|a| a.parse::<u64>().is_err()).collect();
    let seeds = numbers.first().copied().unwrap_or(5);
    let first = numbers.get(1).copied().unwrap_or(1);
    let names: Vec<&'static str> = tester::lab3::NAMES
        .into_iter()
        .filter(|name| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!(
        "{:<66} {:>9} {:>7} {:>6} {:>6}",
        "test", "wall ms", "virt s", "RPCs", "ops"
    );
    let mut pass_ms = 0.0;
    for name in names {
        let started = Instant::now();
        let mut first_stats = None;
        for seed in first..first + seeds {
            let report = tester::lab3::run::<Lab>(name, seed, RunOptions::default());
            match report.result {
                Ok(stats) => {
                    first_stats.get_or_insert(stats);
                }
                Err(failure) => panic!("{name} failed on seed {seed}: {failure}"),
            }
        }
        let mean_ms = started.elapsed().as_secs_f64() * 1000.0 / seeds as f64;
        pass_ms += mean_ms;
        let s = first_stats.expect("at least one seed");
        println!(
            "{:<66} {:>9.2} {:>7.1} {:>6} {:>6}",
            name,
            mean_ms,
            s.virtual_ms as f64 / 1000.0,
            s.rpcs,
            s.commands
        );
    }
    println!(
        "full 3A+3B pass: {pass_ms:.1} ms wall per seed (mean over {seeds} seeds, one thread)"
    );
}
