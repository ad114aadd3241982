//! Figure 16 in small, on the reference: the shape of the paper's result, not its numbers
//! (those are `scripts/fig16`'s, in the README). Every CDF is monotone and reaches 1 within
//! the cut-off, randomness makes elections fast, and identical timeouts (150–150) are an
//! order of magnitude slower than any randomized line: split votes that repeat.

use fig16::stats::{Summary, cdf_is_monotone};
use fig16::{Line, LineResult, run_lines};
use labrpc::Latency;
use raft_reference::Reference;
use tester::fig16::{Lan, run_trial};

fn line(lo_ms: u64, hi_ms: u64, trials: usize, limit_ms: u64) -> Line {
    Line {
        lo_ms,
        hi_ms,
        trials,
        limit_ms,
        lan: Lan::PAPER,
        voter_persists_term_first: false,
    }
}

fn median_ms(result: &LineResult) -> f64 {
    Summary::of(&result.times_ms()).median
}

#[test]
fn randomness_makes_elections_an_order_of_magnitude_faster() {
    let lines = [
        line(150, 150, 6, 30_000),
        line(150, 300, 100, 60_000),
        line(12, 24, 100, 60_000),
        line(100, 200, 100, 60_000),
    ];
    let results = run_lines::<Reference>(&lines, 1, 2, &|_, _| {});
    for result in &results {
        let times = result.times_ms();
        assert!(
            cdf_is_monotone(&times),
            "{}: CDF not monotone",
            result.line.label()
        );
    }
    for result in &results[1..] {
        let summary = Summary::of(&result.times_ms());
        let label = result.line.label();
        assert_eq!(
            summary.unfinished, 0,
            "{label}: trials without leader after 60 s"
        );
        // Never faster than the crash at the end of the heartbeat interval (lo/2) allows.
        assert!(
            summary.min >= result.line.lo_ms as f64 / 2.0,
            "{label}: {summary:?}"
        );
        assert!(
            summary.median < 2.0 * result.line.hi_ms as f64,
            "{label}: {summary:?}"
        );
    }
    for trial in &results[0].trials {
        assert!(
            trial.elections >= 10,
            "150-150 seed {}: {} elections, not runaway split votes",
            trial.seed,
            trial.elections
        );
    }
    let slowest_randomized = results[1..].iter().map(median_ms).fold(0.0, f64::max);
    let no_randomness = median_ms(&results[0]);
    assert!(
        no_randomness >= 10.0 * slowest_randomized,
        "150-150 median {no_randomness} ms, not 10x the randomized lines' {slowest_randomized} ms"
    );
}

#[test]
fn a_trial_is_a_function_of_its_seed() {
    let setup = line(150, 155, 1, 60_000).setup();
    for seed in [1, 2, 3] {
        assert_eq!(
            run_trial::<Reference>(&setup, seed),
            run_trial::<Reference>(&setup, seed)
        );
    }
    assert_ne!(
        run_trial::<Reference>(&setup, 1),
        run_trial::<Reference>(&setup, 2)
    );
}

/// LogCabin's voter (`voter_persists_term_first`) writes the new term before its vote: in an
/// election won at the first try, the winner's votes come back one disk write later, so the
/// trial from the same seed lasts one write longer (4.0-5.0 ms on [`Lan::PAPER`]; the disk's
/// draws interleave differently, so allow some of their spread either way).
#[test]
fn logcabin_voters_cost_an_election_one_more_disk_write() {
    let one_write = line(150, 300, 1, 60_000).setup();
    let mut two_writes = one_write;
    two_writes.timeouts.voter_persists_term_first = true;
    let disk = Lan::PAPER.disk;
    let mut compared = 0;
    for seed in 1..=30 {
        let (once, twice) = (
            run_trial::<Reference>(&one_write, seed),
            run_trial::<Reference>(&two_writes, seed),
        );
        if once.elections != 1 || twice.elections != 1 {
            continue;
        }
        let (once_us, twice_us) = (once.downtime_us.unwrap(), twice.downtime_us.unwrap());
        let extra_us = twice_us.checked_sub(once_us);
        assert!(
            extra_us.is_some_and(|us| (disk.min_us - disk.spread_us
                ..=disk.min_us + 2 * disk.spread_us)
                .contains(&us)),
            "seed {seed}: {once_us} µs with one write per vote, {twice_us} µs with two"
        );
        compared += 1;
    }
    assert!(
        compared >= 15,
        "only {compared} of 30 seeds elected at the first try"
    );
}

/// With exact timers 150-150 livelocks (every survivor times out together, for ever); timers
/// that fire up to 1 ms late, as a real server's do, let it escape, still an order of magnitude
/// slower than randomized timeouts (the paper's median is 41 s).
#[test]
fn jittery_timers_let_150_150_escape_slowly() {
    let mut jittery = line(150, 150, 6, 600_000);
    jittery.lan.timer_jitter = Latency {
        min_us: 0,
        spread_us: 1000,
    };
    let results = run_lines::<Reference>(&[jittery], 1, 2, &|_, _| {});
    let summary = Summary::of(&results[0].times_ms());
    assert_eq!(summary.unfinished, 0, "150-150 with jitter: {summary:?}");
    assert!(summary.median >= 3000.0, "150-150 with jitter: {summary:?}");
}
