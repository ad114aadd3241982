//! Simulated RPC round trips per second on one core (release): node 0 calls node 1 with a
//! small labgob-encoded request, node 1 answers, node 0 calls again as soon as the outcome
//! arrives. Run with `cargo bench -p labrpc --bench rpc`; `RPC_BENCH_ROUND_TRIPS=N` changes
//! the count (default 1,000,000). Target: at least 1,000,000 round trips per second.
//!
//! Go's TestBenchmark does the same with 100,000 sequential RPCs (about 22 µs each in 2016,
//! with real goroutines and channels).

use labrpc::{CallId, EndId, Node, NodeIo, Sim, TimerId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Ping {
    seq: u64,
    term: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Pong {
    seq: u64,
    ok: bool,
}

struct BenchNode {
    /// The end to the peer (client only).
    peer: Option<EndId>,
    /// Round trips still to start.
    remaining: u64,
    succeeded: u64,
    failed: u64,
}

impl BenchNode {
    fn send(&mut self, io: &mut NodeIo<'_>) {
        if self.remaining == 0 {
            return;
        }
        self.remaining -= 1;
        let ping = Ping {
            seq: self.remaining,
            term: 7,
        };
        let peer = self.peer.expect("client has a peer");
        io.call(peer, labgob::encode(&ping).expect("encode"));
    }
}

impl Node for BenchNode {
    fn on_request(&mut self, _io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let ping: Ping = labgob::decode(args).ok()?;
        let pong = Pong {
            seq: ping.seq,
            ok: ping.term > 0,
        };
        labgob::encode(&pong).ok()
    }

    fn on_reply(&mut self, io: &mut NodeIo<'_>, _call: CallId, reply: Option<Vec<u8>>) {
        match reply {
            Some(bytes) => {
                let pong: Pong = labgob::decode(&bytes).expect("decode");
                assert!(pong.ok);
                self.succeeded += 1;
            }
            None => self.failed += 1,
        }
        self.send(io);
    }

    fn on_timer(&mut self, io: &mut NodeIo<'_>, _timer: TimerId) {
        self.send(io);
    }
}

struct Outcome {
    seconds: f64,
    succeeded: u64,
    failed: u64,
    virtual_ms: u64,
    events: u64,
}

fn run(round_trips: u64, reliable: bool) -> Outcome {
    let mut sim: Sim<BenchNode> = Sim::new(42);
    sim.set_reliable(reliable);
    let end = sim.make_end();
    sim.connect(end, 1);
    sim.enable(end, true);
    sim.add_server(1, |_io| BenchNode {
        peer: None,
        remaining: 0,
        succeeded: 0,
        failed: 0,
    });
    sim.add_server(0, |io| {
        io.set_timer(0);
        BenchNode {
            peer: Some(end),
            remaining: round_trips,
            succeeded: 0,
            failed: 0,
        }
    });
    #[allow(
        clippy::disallowed_types,
        clippy::disallowed_methods,
        reason = "a benchmark measures wall time, outside the simulation"
    )]
    let seconds = {
        let start = std::time::Instant::now();
        while sim.step().is_some() {}
        start.elapsed().as_secs_f64()
    };
    let client = sim.node(0).expect("client alive");
    assert_eq!(client.succeeded + client.failed, round_trips);
    assert_eq!(sim.total_rpcs(), round_trips);
    Outcome {
        seconds,
        succeeded: client.succeeded,
        failed: client.failed,
        virtual_ms: sim.now().as_millis(),
        events: sim.event_count(),
    }
}

fn report(name: &str, round_trips: u64, outcome: &Outcome) {
    let per_second = round_trips as f64 / outcome.seconds;
    let ns = outcome.seconds * 1e9 / round_trips as f64;
    println!(
        "{name:<10} {round_trips} round trips in {:.3} s: {per_second:.0} round trips/s, \
         {ns:.0} ns each ({} ok, {} failed, {} events, {} ms virtual)",
        outcome.seconds, outcome.succeeded, outcome.failed, outcome.events, outcome.virtual_ms
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special. Only
    // a real bench run does the full count, so `cargo test --all-targets` stays fast.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let round_trips = std::env::var("RPC_BENCH_ROUND_TRIPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 10_000 });
    // Warm up caches and the allocator.
    run(round_trips / 10 + 1, true);
    let reliable = run(round_trips, true);
    report("reliable", round_trips, &reliable);
    let unreliable = run(round_trips, false);
    report("unreliable", round_trips, &unreliable);
    if benching && round_trips as f64 / reliable.seconds < 1_000_000.0 {
        println!("below the target of 1,000,000 round trips/s on a reliable network");
    }
}
