//! `cargo test` entry point: one `#[test]` per lab test calls [`cargo_test`].

use raft::RaftNode;

use crate::determinism;
use crate::registry::find;
use crate::run::{RunOptions, replay_command, run_case};

/// The seed a plain `cargo test` uses for every test, so that it is reproducible.
pub const DEFAULT_SEED: u64 = 1;

/// Reads a `u64` from the environment; panics with a clear message if it is not one.
pub fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a non-negative integer"),
    }
}

/// Runs the lab test `name` on implementation `R`: on seed `LAB_SEED` (default
/// [`DEFAULT_SEED`]), or on `LAB_SEEDS` consecutive seeds from it. Prints the Go lines; on a
/// failure prints the seed, the message and one command that reproduces it, then panics.
///
/// With `LAB_CHECK_DETERMINISM=1` every seed runs twice and the two runs are compared event by
/// event ([`determinism::run_twice`]); a difference fails the test and names the first event
/// that differs.
pub fn cargo_test<R: RaftNode>(name: &str) {
    let case = find::<R>(name).unwrap_or_else(|| panic!("no lab test is called {name:?}"));
    let first = env_u64("LAB_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_u64("LAB_SEEDS").unwrap_or(1).max(1);
    let check_determinism = determinism::enabled();
    let mut failed = Vec::new();
    for seed in first..first.saturating_add(count) {
        let options = RunOptions {
            echo: count == 1,
            ..RunOptions::default()
        };
        let report = if check_determinism {
            let (report, mismatch) = determinism::run_twice(&case, seed, options);
            if let Some(mismatch) = mismatch {
                println!("--- FAIL: {name} (seed {seed}): nondeterministic: {mismatch}");
                println!("    reproduce: {}", determinism_command(name, seed));
                failed.push(seed);
                continue;
            }
            report
        } else {
            run_case(&case, seed, options)
        };
        if let Err(failure) = &report.result {
            if count > 1 {
                for line in &report.lines {
                    println!("{line}");
                }
            }
            println!("--- FAIL: {name} (seed {seed}): {failure}");
            println!("    reproduce: {}", replay_command(name, seed));
            failed.push(seed);
        }
    }
    if count > 1 {
        let passed = count - failed.len() as u64;
        println!(
            "{name}: seeds {first}..={}: {passed} passed, {} failed",
            first + count - 1,
            failed.len()
        );
    }
    if let Some(&seed) = failed.first() {
        panic!(
            "{name} failed on {} of {count} seed(s) {failed:?}; reproduce the first with: {}",
            failed.len(),
            if check_determinism {
                determinism_command(name, seed)
            } else {
                replay_command(name, seed)
            }
        );
    }
}

/// [`replay_command`] with the determinism check on.
fn determinism_command(name: &str, seed: u64) -> String {
    format!("{}=1 {}", determinism::ENV, replay_command(name, seed))
}
