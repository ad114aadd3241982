//! The disk model (`Sim::set_disk_latency`): a persist holds back what its handler sends
//! after it, and nothing else; ZERO, the lab suites' setting, changes nothing.

use labrpc::{CallId, EndId, Latency, Node, NodeIo, Sim, SimTime, Stepped, TimerId};

/// Persists (through the observed `NodeIo::save_raft_state`) when asked by a request whose
/// first byte is 1; answers every request with its own bytes.
struct Persisting;

impl Node for Persisting {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        if args.first() == Some(&1) {
            io.save_raft_state(args.to_vec());
        }
        Some(args.to_vec())
    }
    fn on_reply(&mut self, _io: &mut NodeIo<'_>, _call: CallId, _reply: Option<Vec<u8>>) {}
    fn on_timer(&mut self, _io: &mut NodeIo<'_>, _timer: TimerId) {}
}

/// How long a driver call with `args` takes, µs, on a one-server network.
fn round_trip_us(disk: Latency, hop: Latency, args: &[u8]) -> u64 {
    let mut sim: Sim<Persisting> = Sim::new(5);
    sim.set_latency(hop);
    sim.set_disk_latency(disk);
    sim.add_server(0, |_io| Persisting);
    let end: EndId = sim.make_end();
    sim.connect(end, 0);
    sim.enable(end, true);
    let call = sim.call(end, args.to_vec());
    loop {
        if let Some(Stepped::CallDone { call: done, reply }) = sim.step() {
            assert_eq!((done, reply.as_deref()), (call, Some(args)));
            return sim.now().micros_since(SimTime::ZERO);
        }
    }
}

#[test]
fn a_persist_delays_the_reply_of_its_handler_only() {
    let disk = Latency {
        min_us: 4000,
        spread_us: 0,
    };
    let hop = Latency::lan(250);
    let persisting_us = round_trip_us(disk, hop, &[1]);
    let plain_us = round_trip_us(disk, hop, &[0]);
    let no_disk_us = round_trip_us(Latency::ZERO, hop, &[1]);
    assert_eq!(persisting_us, no_disk_us + 4000);
    assert!((500..550).contains(&plain_us), "{plain_us} µs");
    assert!((500..550).contains(&no_disk_us), "{no_disk_us} µs");
}

#[test]
fn a_zero_disk_changes_no_run() {
    let hop = Latency::go_local();
    assert_eq!(
        round_trip_us(Latency::ZERO, hop, &[1]),
        round_trip_us(Latency::ZERO, hop, &[0])
    );
    // The disk's draws come from a stream of their own, so a jittery disk leaves every hop's
    // draw alone: the call takes exactly the disk's 1000-1999 µs longer.
    let jittery = Latency {
        min_us: 1000,
        spread_us: 1000,
    };
    let with_disk_us = round_trip_us(jittery, hop, &[1]);
    let without_us = round_trip_us(Latency::ZERO, hop, &[1]);
    assert!((without_us + 1000..without_us + 2000).contains(&with_disk_us));
}
