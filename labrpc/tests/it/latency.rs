//! The latency model: every hop's delay on top of the fault model, from a stream of its own.

use labrpc::{Latency, SimTime};

use crate::support::{Driver, Rep, Req, SERVER, link, sim_with_server};

/// `calls` sequential calls from the driver: for each, the reply (`None` = failed) and how
/// long the call took, in µs.
fn sequential_calls(
    seed: u64,
    latency: Latency,
    reliable: bool,
    calls: i64,
) -> Vec<(Option<Rep>, u64)> {
    let mut sim = sim_with_server(seed);
    sim.set_latency(latency);
    sim.set_reliable(reliable);
    let end = link(&mut sim, SERVER);
    let mut driver = Driver::default();
    (0..calls)
        .map(|i| {
            let sent = sim.now();
            let call = sim.call(end, Req::Echo(i).encode());
            let (at, reply) = driver.wait(&mut sim, call);
            (reply, at.micros_since(sent))
        })
        .collect()
}

/// A reliable round trip is two hops of 10–209 µs, about 120 µs on average; with no latency
/// it completes at the instant it is sent.
#[test]
fn a_reliable_round_trip_takes_two_hops() {
    let with = sequential_calls(7, Latency::go_local(), true, 2000);
    assert!(with.iter().all(|(reply, _)| reply.is_some()));
    let (min_us, max_us) = (
        with.iter().map(|c| c.1).min(),
        with.iter().map(|c| c.1).max(),
    );
    assert!(
        min_us >= Some(20) && max_us <= Some(418),
        "{min_us:?}..{max_us:?}"
    );
    let mean_us = with.iter().map(|c| c.1).sum::<u64>() / with.len() as u64;
    assert!(
        (105..=135).contains(&mean_us),
        "mean round trip {mean_us} µs"
    );
    let without = sequential_calls(7, Latency::ZERO, true, 200);
    assert!(without.iter().all(|&(_, took_us)| took_us == 0));
}

/// The fault model's draws come from `network`, the latency's from `network/latency`: the
/// same seed drops the same calls with any latency, and each call takes at most two hops
/// longer.
#[test]
fn latency_leaves_the_fault_model_draws_alone() {
    let zero = sequential_calls(11, Latency::ZERO, false, 1000);
    let go = sequential_calls(11, Latency::go_local(), false, 1000);
    assert!(
        zero.iter().any(|(reply, _)| reply.is_none()),
        "some calls drop"
    );
    for (i, ((reply0, took0), (reply1, took1))) in zero.iter().zip(&go).enumerate() {
        assert_eq!(reply0, reply1, "call {i}");
        let extra_us = took1 - took0;
        assert!(extra_us <= 418, "call {i} took {extra_us} µs longer");
    }
}

/// Nodes keep millisecond timers; `set_timer_us` is finer, and `now` says microseconds.
#[test]
fn timers_fire_to_the_microsecond() {
    let mut sim = sim_with_server(3);
    sim.with_node(SERVER, "test", |_node, io| {
        io.set_timer_us(1_500);
        io.set_timer(2);
    });
    let mut fired = Vec::new();
    while sim.step().is_some() {
        fired.push(sim.now());
    }
    assert_eq!(
        fired,
        [SimTime::from_micros(1_500), SimTime::from_millis(2)]
    );
    assert_eq!(fired[0].to_string(), "0.001500s");
}
