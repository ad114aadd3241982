//! Timer jitter (`Sim::set_timer_jitter`): a timer fires up to the jitter late, never early;
//! ZERO, the lab suites' setting, fires every timer exactly when due.

use labrpc::{CallId, Latency, Node, NodeIo, Sim, SimTime, TimerId};

/// Sets a 1 ms timer at boot and again each time one fires; records when each fired, µs.
#[derive(Default)]
struct Ticking {
    fired_us: Vec<u64>,
}

impl Node for Ticking {
    fn on_request(&mut self, _io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        Some(args.to_vec())
    }
    fn on_reply(&mut self, _io: &mut NodeIo<'_>, _call: CallId, _reply: Option<Vec<u8>>) {}
    fn on_timer(&mut self, io: &mut NodeIo<'_>, _timer: TimerId) {
        self.fired_us.push(io.now().micros_since(SimTime::ZERO));
        if self.fired_us.len() < 200 {
            io.set_timer_us(1000);
        }
    }
}

/// The gaps between successive firings, µs, with `jitter`.
fn gaps_us(jitter: Option<Latency>) -> Vec<u64> {
    let mut sim: Sim<Ticking> = Sim::new(9);
    if let Some(jitter) = jitter {
        sim.set_timer_jitter(jitter);
    }
    sim.add_server(0, |io| {
        io.set_timer_us(1000);
        Ticking::default()
    });
    while sim.step().is_some() {}
    let fired_us = &sim.node(0).expect("server 0 is up").fired_us;
    assert_eq!(fired_us.len(), 200);
    let mut previous_us = 0;
    fired_us
        .iter()
        .map(|&at_us| at_us - std::mem::replace(&mut previous_us, at_us))
        .collect()
}

#[test]
fn a_jittery_timer_fires_late_by_at_most_the_jitter() {
    let jitter = Latency {
        min_us: 0,
        spread_us: 500,
    };
    let gaps = gaps_us(Some(jitter));
    assert!(
        gaps.iter().all(|gap_us| (1000..=1500).contains(gap_us)),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().any(|&gap_us| gap_us > 1000),
        "no timer fired late"
    );
}

#[test]
fn zero_jitter_fires_every_timer_on_time() {
    assert!(gaps_us(None).iter().all(|&gap_us| gap_us == 1000));
    assert!(
        gaps_us(Some(Latency::ZERO))
            .iter()
            .all(|&gap_us| gap_us == 1000)
    );
}
