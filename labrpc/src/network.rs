//! The network's state and the 6.824 fault model (spec §1.3), as pure decisions.
//!
//! Everything here is bookkeeping and dice; [`crate::Sim`] turns the decisions into events.

use crate::SimRng;
use crate::sim::EndId;

/// Short delay on an unreliable network: uniform 0..=26 ms (`rand % 27`).
pub const SHORT_DELAY_MS_BELOW: u64 = 27;
/// Request drop on an unreliable network: 100 in 1000.
pub const REQUEST_DROP_PER_MILLE: u64 = 100;
/// Reply drop on an unreliable network: 100 in 1000 (the handler did run).
pub const REPLY_DROP_PER_MILLE: u64 = 100;
/// Long reordering: 600 in 900 replies are delayed.
pub const REORDER_NUMERATOR: u64 = 600;
/// Long reordering: see [`REORDER_NUMERATOR`].
pub const REORDER_DENOMINATOR: u64 = 900;
/// A long-reordered reply waits `REORDER_BASE_MS + r(1 + r(REORDER_SPREAD_MS))`: 200..=2199 ms.
pub const REORDER_BASE_MS: u64 = 200;
/// See [`REORDER_BASE_MS`].
pub const REORDER_SPREAD_MS: u64 = 2000;
/// Case B with long delays (every Raft test): failure after 0..=6999 ms.
pub const LONG_DELAY_MS_BELOW: u64 = 7000;
/// Case B without long delays: failure after 0..=99 ms.
pub const SHORT_FAIL_DELAY_MS_BELOW: u64 = 100;

/// The lab suites' hop latency, least: 10 µs. Go's labrpc records about 22 µs per round trip
/// (`TestBenchmark`, one client, an idle 2016 laptop: spec §1.5), so a round trip here is never
/// faster than Go's fastest.
pub const GO_HOP_MIN_US: u64 = 10;
/// The lab suites' hop latency, spread: `r(1 + r(200))` µs on top of [`GO_HOP_MIN_US`], so a
/// hop takes 10–209 µs, about 60 µs on average and mostly short (the skewed shape of Go's
/// reordering delay): a round trip 20–418 µs, about 120 µs on average, the tens to hundreds of
/// microseconds goroutines, gob and the scheduler cost in the Go Raft tests.
pub const GO_HOP_SPREAD_US: u64 = 200;

/// How long a message takes to travel one hop (request to its server, or reply back to its
/// caller), **on top of** the fault model's delays, which stay exactly Go's. Data, so that a
/// campaign can pick another profile: [`Latency::ZERO`] (a reliable RPC completes at the
/// instant it is sent, as this harness did before), [`Latency::go_local`] (the lab suites'
/// default), [`Latency::lan`].
///
/// A hop takes `min_us + r(1 + r(spread_us))` µs, `r(n)` uniform in `0..n` (Go's `Intn`): at
/// least `min_us`, at most `min_us + spread_us - 1`, skewed toward short. Draws come from a
/// stream of their own (`network/latency`), so the fault model's draws from `network` are the
/// same whatever the latency; [`Latency::ZERO`] draws nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Every hop takes at least this long.
    pub min_us: u64,
    /// The skewed jitter on top of `min_us`; 0 for none.
    pub spread_us: u64,
}

impl Latency {
    /// No latency: a reliable RPC's request and reply arrive at the instant they are sent.
    pub const ZERO: Latency = Latency {
        min_us: 0,
        spread_us: 0,
    };

    /// What the Go harness sees in practice on one machine: 10–209 µs a hop (see
    /// [`GO_HOP_MIN_US`], [`GO_HOP_SPREAD_US`]). The lab suites' default.
    pub const fn go_local() -> Latency {
        Latency {
            min_us: GO_HOP_MIN_US,
            spread_us: GO_HOP_SPREAD_US,
        }
    }

    /// A LAN: `one_way_us` a hop, plus up to a tenth of it of skewed jitter.
    pub const fn lan(one_way_us: u64) -> Latency {
        Latency {
            min_us: one_way_us,
            spread_us: one_way_us / 10,
        }
    }

    /// One hop's delay, in µs.
    pub fn draw_us(self, rng: &mut SimRng) -> u64 {
        if self.spread_us == 0 {
            return self.min_us;
        }
        let spread_us = rng.below(self.spread_us);
        self.min_us.saturating_add(rng.below(1 + spread_us))
    }
}

/// Go's `ClientEnd` as the network sees it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct End {
    /// Invariant: a new end starts disabled and unconnected.
    pub(crate) enabled: bool,
    pub(crate) server: Option<usize>,
}

/// Go's `Server` object: one per [`crate::Sim::add_server`], replaced by the next one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerEntry {
    /// Unique across the whole run, so a reply to or from an old incarnation is recognised.
    pub(crate) incarnation: u64,
    /// Requests whose handler ran (Go's `Server.count`); restarts at 0 with a new server.
    pub(crate) rpc_count: u64,
}

/// The fate of a request, decided when it enters the network (spec §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendPlan {
    /// Case A: arrives after `delay_ms` at this incarnation of `server`.
    Deliver {
        server: usize,
        incarnation: u64,
        delay_ms: u64,
    },
    /// Case A on an unreliable network, dropped: fails after the short delay.
    DropRequest { delay_ms: u64 },
    /// Case B: disabled, unconnected or no server: fails after a (long) delay.
    Unreachable { delay_ms: u64 },
}

/// What happens to a reply once the handler has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyPlan {
    Deliver { delay_ms: u64 },
    Drop,
}

/// Go's `Network`: ends, servers, flags and counters.
#[derive(Debug)]
pub(crate) struct Network {
    pub(crate) ends: Vec<End>,
    /// Indexed by server number; `None` = deleted or never added.
    pub(crate) servers: Vec<Option<ServerEntry>>,
    pub(crate) reliable: bool,
    pub(crate) long_delays: bool,
    pub(crate) long_reordering: bool,
    /// Every call that entered the network, failed ones included (Go's `GetTotalCount`).
    pub(crate) total_rpcs: u64,
    /// Every request's bytes plus every delivered reply's (Go's `GetTotalBytes`).
    pub(crate) total_bytes: u64,
}

impl Network {
    pub(crate) fn new() -> Network {
        Network {
            ends: Vec::new(),
            servers: Vec::new(),
            reliable: true,
            long_delays: false,
            long_reordering: false,
            total_rpcs: 0,
            total_bytes: 0,
        }
    }

    pub(crate) fn server(&self, server: usize) -> Option<ServerEntry> {
        self.servers.get(server).copied().flatten()
    }

    pub(crate) fn set_server(&mut self, server: usize, entry: Option<ServerEntry>) {
        if self.servers.len() <= server {
            self.servers.resize(server + 1, None);
        }
        self.servers[server] = entry;
    }

    pub(crate) fn end(&self, end: EndId) -> End {
        self.ends[end.0 as usize]
    }

    /// Counts a request and decides its fate. Flags are read once, here (spec §10.5).
    pub(crate) fn plan_send(&mut self, end: EndId, args_len: usize, rng: &mut SimRng) -> SendPlan {
        self.total_rpcs += 1;
        self.total_bytes += args_len as u64;
        let end = self.end(end);
        let target = match (end.enabled, end.server) {
            (true, Some(server)) => self.server(server).map(|entry| (server, entry.incarnation)),
            _ => None,
        };
        let Some((server, incarnation)) = target else {
            let below = if self.long_delays {
                LONG_DELAY_MS_BELOW
            } else {
                SHORT_FAIL_DELAY_MS_BELOW
            };
            return SendPlan::Unreachable {
                delay_ms: rng.below(below),
            };
        };
        if self.reliable {
            return SendPlan::Deliver {
                server,
                incarnation,
                delay_ms: 0,
            };
        }
        let delay_ms = rng.below(SHORT_DELAY_MS_BELOW);
        if rng.chance(REQUEST_DROP_PER_MILLE, 1000) {
            return SendPlan::DropRequest { delay_ms };
        }
        SendPlan::Deliver {
            server,
            incarnation,
            delay_ms,
        }
    }

    /// Decides a reply's fate after its handler ran. `reliable` and `long_reordering` are the
    /// flags as they were when the request was sent.
    pub(crate) fn plan_reply(reliable: bool, long_reordering: bool, rng: &mut SimRng) -> ReplyPlan {
        if !reliable && rng.chance(REPLY_DROP_PER_MILLE, 1000) {
            return ReplyPlan::Drop;
        }
        if long_reordering && rng.chance(REORDER_NUMERATOR, REORDER_DENOMINATOR) {
            let spread = rng.below(REORDER_SPREAD_MS);
            return ReplyPlan::Deliver {
                delay_ms: REORDER_BASE_MS + rng.below(1 + spread),
            };
        }
        ReplyPlan::Deliver { delay_ms: 0 }
    }
}
