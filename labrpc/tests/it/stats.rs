//! The fault model's numbers (spec §1.3), measured over many seeds.
//!
//! Deterministic because seeded: each test either always passes or always fails. The
//! tolerances are still chosen as if the seeds were random, so that a correct model passes
//! for (almost) any seeds and a wrong constant (27 vs 26, 10 % vs 1 %, a missing `1 +`)
//! fails:
//! - a count of `n` Bernoulli(p) trials must be within 5 binomial standard deviations,
//!   `5·sqrt(n·p·(1-p))`, of `n·p` (two-sided p ≈ 6e-7);
//! - a sample mean within `5·σ/sqrt(n)` of the exact mean;
//! - the empirical CDF within the Kolmogorov–Smirnov bound `sqrt(ln(2/α)/(2n))` with
//!   α = 1e-6 of the exact CDF (conservative for discrete distributions).

use labrpc::{FailReason, Sim, SimRng};

use crate::support::{Log, Recorder, Req, TestNode, link};

const SEEDS: u64 = 20;
const SERVER: usize = 0;

/// How the one end of a sample run is wired.
#[derive(Clone, Copy)]
enum Wiring {
    /// Enabled and connected to a live server.
    Live,
    /// Connected but never enabled.
    Disabled,
    /// Enabled but never connected.
    Unconnected,
    /// Enabled, connected to a server that was deleted.
    Deleted,
    /// Enabled, connected to a server number that was never added.
    NeverAdded,
}

struct Flags {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
}

/// One run per seed: `per_seed` driver calls sent at time 0, run to quiescence. Returns each
/// run's log; also checks the invariants every run must satisfy.
fn sample(per_seed: u64, wiring: Wiring, flags: &Flags) -> Vec<Log> {
    (0..SEEDS)
        .map(|seed| {
            let mut sim: Sim<TestNode> = Sim::new(0x5eed_0000 + seed);
            sim.add_server(SERVER, TestNode::server());
            sim.set_reliable(flags.reliable);
            sim.set_long_delays(flags.long_delays);
            sim.set_long_reordering(flags.long_reordering);
            let log = Recorder::install(&mut sim);
            let end = match wiring {
                Wiring::Live => link(&mut sim, SERVER),
                Wiring::Disabled => {
                    let end = sim.make_end();
                    sim.connect(end, SERVER);
                    end
                }
                Wiring::Unconnected => {
                    let end = sim.make_end();
                    sim.enable(end, true);
                    end
                }
                Wiring::Deleted => {
                    let end = link(&mut sim, SERVER);
                    sim.delete_server(SERVER);
                    end
                }
                Wiring::NeverAdded => link(&mut sim, 7),
            };
            let request = Req::Echo(12345).encode();
            for _ in 0..per_seed {
                sim.call(end, request.clone());
            }
            while sim.step().is_some() {}

            let log = std::mem::take(&mut *log.borrow_mut());
            assert_eq!(log.calls.len() as u64, per_seed);
            assert_eq!(sim.total_rpcs(), per_seed, "every send counts");
            let handled = log.calls.iter().filter(|r| r.handled_at.is_some()).count() as u64;
            assert_eq!(
                sim.rpc_count(SERVER),
                handled,
                "server count = handler runs"
            );
            let reply_bytes: u64 = log
                .calls
                .iter()
                .filter_map(|r| r.outcome?.ok())
                .map(|len| len as u64)
                .sum();
            assert_eq!(
                sim.total_bytes(),
                per_seed * request.len() as u64 + reply_bytes,
                "every request's bytes, and delivered replies' only"
            );
            for record in &log.calls {
                let outcome = record.outcome.expect("every call has an outcome");
                let handled = record.handled_at.is_some();
                match outcome {
                    Ok(_) | Err(FailReason::ReplyDropped) => assert!(handled),
                    Err(FailReason::RequestDropped | FailReason::Unreachable) => {
                        assert!(!handled)
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            log
        })
        .collect()
}

fn assert_count(what: &str, observed: u64, n: u64, p: f64) {
    let expected = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let deviation = (observed as f64 - expected).abs();
    println!(
        "{what}: {observed} of {n} (expected {expected:.0} ± {:.0} = 5σ, off by {:.1}σ)",
        5.0 * sigma,
        deviation / sigma
    );
    assert!(
        deviation <= 5.0 * sigma,
        "{what}: {observed} of {n}, expected {expected:.1} ± 5·{sigma:.1}"
    );
}

fn assert_mean(what: &str, samples: &[u64], mean: f64, sd: f64) {
    let n = samples.len() as f64;
    let observed = samples.iter().sum::<u64>() as f64 / n;
    let tolerance = 5.0 * sd / n.sqrt();
    println!("{what}: mean {observed:.2}, exact {mean:.2} ± {tolerance:.2} (5σ), n = {n}");
    assert!(
        (observed - mean).abs() <= tolerance,
        "{what}: mean {observed:.3}, expected {mean:.3} ± {tolerance:.3}"
    );
}

/// Kolmogorov–Smirnov distance between `samples` and the exact `pmf` over `low..low+len`.
fn assert_ks(what: &str, samples: &[u64], low: u64, pmf: &[f64]) {
    let mut counts = vec![0u64; pmf.len()];
    for &s in samples {
        let index = s.checked_sub(low).expect("sample below the support") as usize;
        assert!(index < pmf.len(), "{what}: sample {s} above the support");
        counts[index] += 1;
    }
    let n = samples.len() as f64;
    let (mut empirical, mut exact, mut distance) = (0.0, 0.0, 0.0f64);
    for (count, p) in counts.iter().zip(pmf) {
        empirical += *count as f64 / n;
        exact += p;
        distance = distance.max((empirical - exact).abs());
    }
    let bound = ((2.0f64 / 1e-6).ln() / (2.0 * n)).sqrt();
    println!("{what}: KS distance {distance:.4}, bound {bound:.4}");
    assert!(distance <= bound, "{what}: KS {distance:.4} > {bound:.4}");
}

/// PMF of the uniform distribution over `0..n` (Go's `rand.Int() % n`).
fn uniform(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// Mean and standard deviation of the uniform distribution over `0..n`.
fn uniform_moments(n: u64) -> (f64, f64) {
    let n = n as f64;
    ((n - 1.0) / 2.0, ((n * n - 1.0) / 12.0).sqrt())
}

fn all<T: Copy>(logs: &[Log], f: impl Fn(&crate::support::CallRecord) -> Option<T>) -> Vec<T> {
    logs.iter()
        .flat_map(|log| log.calls.iter().filter_map(&f))
        .collect()
}

/// Spec §1.3 case A, unreliable: a request is dropped with p = 10 % (the handler never runs:
/// told apart by the observer's reason and by the server's count, checked in `sample`); a
/// handled request's reply is dropped with p = 10 %. 20 seeds × 5000 calls.
///
/// Measured with these seeds: 100,000 sends, about 10,000 request drops (5σ = ±474) and
/// about 9,000 reply drops of about 90,000 handled (5σ = ±450).
#[test]
fn unreliable_drop_rates() {
    let flags = Flags {
        reliable: false,
        long_delays: false,
        long_reordering: false,
    };
    let logs = sample(5000, Wiring::Live, &flags);
    let sends = SEEDS * 5000;
    let request_drops: u64 = logs
        .iter()
        .map(|l| l.count(FailReason::RequestDropped))
        .sum();
    let handled = all(&logs, |r| r.handled_at).len() as u64;
    let reply_drops: u64 = logs.iter().map(|l| l.count(FailReason::ReplyDropped)).sum();
    assert_eq!(handled, sends - request_drops);
    assert_count("request drops", request_drops, sends, 0.1);
    assert_count("reply drops among handled", reply_drops, handled, 0.1);
    // Drop ordering (§10.3): a request drop fails after the short delay, a reply drop fails at
    // once after the handler, a delivered reply arrives at once (no reordering here).
    for log in &logs {
        for r in &log.calls {
            let delay = r.outcome_at.unwrap() - r.sent_at;
            match (r.outcome.unwrap(), r.handled_at) {
                (Err(FailReason::RequestDropped), None) => assert!(delay < 27),
                (_, Some(handled)) => assert_eq!(r.outcome_at, Some(handled)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// Spec §1.3 case A, unreliable: the short delay before the request reaches the handler (or
/// is dropped) is uniform over 0..=26 ms. Every value from 0 to 26 occurs, the mean is 13
/// within 5σ (σ = sqrt((27²-1)/12) ≈ 7.79 ms per sample, so ±0.12 ms over 100,000 samples),
/// each of the 27 values occurs n/27 times within 5 binomial σ (about ±300 of 3,704), and the
/// KS distance is within its bound. On a reliable network the delay is exactly 0.
#[test]
fn short_delay_uniform() {
    let flags = Flags {
        reliable: false,
        long_delays: false,
        long_reordering: false,
    };
    let logs = sample(5000, Wiring::Live, &flags);
    let delays = all(&logs, |r| {
        let arrived = r.handled_at.or(r.outcome_at)?;
        Some(arrived - r.sent_at)
    });
    assert_eq!(delays.len() as u64, SEEDS * 5000);
    assert_eq!(delays.iter().min(), Some(&0));
    assert_eq!(delays.iter().max(), Some(&26));
    let (mean, sd) = uniform_moments(27);
    assert_mean("short delay", &delays, mean, sd);
    for value in 0..27 {
        let count = delays.iter().filter(|&&d| d == value).count() as u64;
        assert_count(
            &format!("short delay = {value}"),
            count,
            delays.len() as u64,
            1.0 / 27.0,
        );
    }
    assert_ks("short delay", &delays, 0, &uniform(27));

    let reliable = sample(
        200,
        Wiring::Live,
        &Flags {
            reliable: true,
            long_delays: false,
            long_reordering: false,
        },
    );
    let delays = all(&reliable, |r| Some(r.outcome_at? - r.sent_at));
    assert!(delays.iter().all(|&d| d == 0), "reliable: no delay at all");
}

/// Spec §1.3 case B: a call that cannot reach a server fails after 0..=6999 ms with long
/// delays (mean 3499.5, σ ≈ 2020.7 per sample: ±45 ms over 50,000 samples) or 0..=99 ms
/// without (mean 49.5, σ ≈ 28.9: ±0.65 ms), whatever the reason it cannot: disabled,
/// unconnected, deleted server, never-added server. The handler never runs.
#[test]
fn case_b_delays() {
    for wiring in [
        Wiring::Disabled,
        Wiring::Unconnected,
        Wiring::Deleted,
        Wiring::NeverAdded,
    ] {
        for (long_delays, below, per_seed) in [(true, 7000, 2500), (false, 100, 2500)] {
            // Case B does not care about reliability or reordering: leave both on.
            let flags = Flags {
                reliable: false,
                long_delays,
                long_reordering: true,
            };
            let logs = sample(per_seed, wiring, &flags);
            for log in &logs {
                assert_eq!(log.count(FailReason::Unreachable), per_seed);
            }
            let delays = all(&logs, |r| Some(r.outcome_at? - r.sent_at));
            let (min, max) = (*delays.iter().min().unwrap(), *delays.iter().max().unwrap());
            if below == 100 {
                // P(a value in 0..100 never occurs in 50,000 draws) < 100·0.99^50000 ≈ 1e-216.
                assert_eq!((min, max), (0, 99));
                for value in 0..100 {
                    let count = delays.iter().filter(|&&d| d == value).count() as u64;
                    assert_count(
                        &format!("case B delay = {value}"),
                        count,
                        delays.len() as u64,
                        0.01,
                    );
                }
            } else {
                // P(min > 4) = P(max < 6995) = (1 - 5/7000)^50000 ≈ e^-36.
                assert!(min <= 4 && (6995..=6999).contains(&max), "{min}..{max}");
            }
            let (mean, sd) = uniform_moments(below);
            assert_mean("case B delay", &delays, mean, sd);
            assert_ks("case B delay", &delays, 0, &uniform(below as usize));
        }
    }
}

/// The exact distribution of a long-reordering delay minus its 200 ms base: `X = r(1 + S)`
/// with `S = r(2000)`, where `r(n)` is uniform over `0..n`. `P(X = k) = Σ_{s=k}^{1999}
/// (1/2000)·1/(s+1) = (H_2000 - H_k)/2000`, with `H` the harmonic numbers.
fn reorder_pmf() -> Vec<f64> {
    let harmonic: Vec<f64> = (0..=2000)
        .scan(0.0, |h, k| {
            if k > 0 {
                *h += 1.0 / k as f64;
            }
            Some(*h)
        })
        .collect();
    (0..2000)
        .map(|k| (harmonic[2000] - harmonic[k]) / 2000.0)
        .collect()
}

/// Spec §1.3 step 6: with long reordering, 2/3 of replies (600 of 900) are delayed by
/// `200 + r(1 + r(2000))` ms, 200..=2199.
///
/// Mean: `E[X] = E[S]/2 = 999.5/2`, so 699.75 ms. Variance: `E[Var(X|S)] + Var(E[X|S])`
/// = `E[S² + 2S]/12 + Var(S)/4` ≈ 111,194 + 83,333, so σ ≈ 441 ms per sample: ±8.5 ms (5σ)
/// over about 66,700 delayed replies. Shape: skewed toward short delays, the exact median
/// (about 574 ms) is far below the mean; checked against the exact CDF with KS.
/// Delayed fraction: 2/3 of 100,000 within 5σ (±745).
#[test]
fn long_reordering() {
    let flags = Flags {
        reliable: true,
        long_delays: false,
        long_reordering: true,
    };
    let logs = sample(5000, Wiring::Live, &flags);
    let replies = all(&logs, |r| Some(r.outcome_at? - r.handled_at?));
    assert_eq!(
        replies.len() as u64,
        SEEDS * 5000,
        "reliable: every reply delivered"
    );
    let delayed: Vec<u64> = replies.iter().copied().filter(|&d| d > 0).collect();
    assert_count(
        "delayed replies",
        delayed.len() as u64,
        replies.len() as u64,
        2.0 / 3.0,
    );
    let (min, max) = (
        *delayed.iter().min().unwrap(),
        *delayed.iter().max().unwrap(),
    );
    println!("long reordering delays: {min}..={max}");
    // P(200) = H_2000/2000 ≈ 0.4 %; P(≥ 2100) ≈ 0.12 %: both occur dozens of times.
    assert_eq!(min, 200);
    assert!((2100..=2199).contains(&max), "max {max}");

    let pmf = reorder_pmf();
    let mean: f64 = pmf.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    let second: f64 = pmf
        .iter()
        .enumerate()
        .map(|(k, p)| (k * k) as f64 * p)
        .sum();
    assert!((mean - 499.75).abs() < 1e-6, "derived mean of X: {mean}");
    let sd = (second - mean * mean).sqrt();
    assert!((sd - 441.05).abs() < 0.1, "derived σ: {sd}");
    assert_mean("long reordering delay", &delayed, 200.0 + mean, sd);
    assert_ks("long reordering delay", &delayed, 200, &pmf);

    let exact_median = 200
        + pmf
            .iter()
            .scan(0.0, |cdf, p| {
                *cdf += p;
                Some(*cdf)
            })
            .position(|cdf| cdf >= 0.5)
            .unwrap() as u64;
    let mut sorted = delayed.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    println!(
        "long reordering median {median}, exact {exact_median}, mean {:.1}",
        200.0 + mean
    );
    // The sample median's σ is 1/(2·f(m)·sqrt(n)) ≈ 2.3 ms with density f(m) ≈ 0.00084.
    assert!(
        median.abs_diff(exact_median) <= 12,
        "median {median} vs {exact_median}"
    );
    assert!(
        (median as f64) < 200.0 + mean - 100.0,
        "skewed: median well below mean"
    );
}

/// Unreliable and long reordering together (the Figure 8 (unreliable) setting): drops are
/// decided first and never delayed; the 2/3 reorder chance applies to surviving replies only.
#[test]
fn unreliable_with_long_reordering() {
    let flags = Flags {
        reliable: false,
        long_delays: true,
        long_reordering: true,
    };
    let logs = sample(5000, Wiring::Live, &flags);
    let mut survived = 0;
    let mut delayed = 0;
    for log in &logs {
        for r in &log.calls {
            match (r.outcome.unwrap(), r.handled_at) {
                (Err(FailReason::ReplyDropped), Some(h)) => assert_eq!(r.outcome_at, Some(h)),
                (Ok(_), Some(h)) => {
                    survived += 1;
                    let delay = r.outcome_at.unwrap() - h;
                    if delay > 0 {
                        assert!((200..=2199).contains(&delay));
                        delayed += 1;
                    }
                }
                (Err(FailReason::RequestDropped), None) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_count(
        "delayed among surviving replies",
        delayed,
        survived,
        2.0 / 3.0,
    );
    // 0.9 · 0.9 of sends survive both drops.
    assert_count("surviving replies", survived, SEEDS * 5000, 0.81);
}

/// A reference model: replays the network's own seeded stream ("network") with the spec's
/// formulas, in the spec's draw order, and predicts every call's fate and timing exactly.
/// Statistics cannot see an off-by-one in a rare tail (`r(2 + s)` instead of `r(1 + s)`, a
/// 6990 ms bound instead of 7000); this can. Calls are made one at a time, so the draws of one
/// call (send: short delay, request drop; handler: reply drop, reorder chance, two reorder
/// draws; case B: one failure delay) are not interleaved with another's.
#[test]
fn reference_model_replays_the_network_stream() {
    use crate::support::Driver;

    for seed in 0..4u64 {
        let mut sim: Sim<TestNode> = Sim::new(seed);
        sim.add_server(SERVER, TestNode::server());
        sim.set_reliable(false);
        sim.set_long_reordering(true);
        sim.set_long_delays(seed % 2 == 0);
        let log = Recorder::install(&mut sim);
        let mut driver = Driver::default();
        let live = link(&mut sim, SERVER);
        let disabled = sim.make_end();
        sim.connect(disabled, SERVER);
        let mut model = SimRng::new(seed, "network");

        for i in 0..4000u64 {
            let reach = i % 5 != 0;
            let end = if reach { live } else { disabled };
            let call = sim.call(end, Req::Echo(i as i64).encode());
            driver.wait(&mut sim, call);
            let r = log.borrow().calls[call.0 as usize].clone();
            let (fail_delay, outcome) = if !reach {
                let below = if seed % 2 == 0 { 7000 } else { 100 };
                (model.below(below), Err(FailReason::Unreachable))
            } else {
                let short = model.below(27);
                if model.below(1000) < 100 {
                    (short, Err(FailReason::RequestDropped))
                } else {
                    assert_eq!(r.handled_at, Some(r.sent_at + short), "call {i}");
                    let reply = if model.below(1000) < 100 {
                        (0, Err(FailReason::ReplyDropped))
                    } else if model.below(900) < 600 {
                        let spread = model.below(2000);
                        (200 + model.below(1 + spread), Ok(()))
                    } else {
                        (0, Ok(()))
                    };
                    (short + reply.0, reply.1)
                }
            };
            assert_eq!(
                r.outcome_at,
                Some(r.sent_at + fail_delay),
                "call {i}: {r:?}"
            );
            assert_eq!(r.outcome.map(|o| o.map(|_| ())), Some(outcome), "call {i}");
        }
    }
}
