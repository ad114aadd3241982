//! The Raft paper's Figure 16 experiment on any [`RaftNode`] whose timeouts can be set: how
//! long a five-server cluster is without a leader after its leader crashes.
//!
//! One trial ([`run_trial`]) is one simulation from one seed, set up as the paper's worst case
//! (paper §9.3, thesis §9.4):
//! 1. five servers on a LAN ([`Lan`]: a hop's latency, and a disk write before anything a
//!    handler sends after persisting) elect a leader L with their default timeouts;
//! 2. L replicates one entry; servers C and D (two of its followers) keep their state from
//!    before it, so they "have shorter logs" and cannot win the next election, though they can
//!    still time out and disrupt it;
//! 3. every server gets the trial's [`Timeouts`] ([`SetTimeouts`]); heartbeat = half the
//!    shortest election timeout;
//! 4. at one of L's broadcasts to all four followers (its "synchronized heartbeat"), a crash
//!    time is drawn uniformly in the heartbeat interval; C and D restart from their earlier
//!    state the moment that heartbeat reaches them (so their timers start there, as the
//!    others' do); L crashes at the drawn time;
//! 5. the time without leader runs from the crash until every survivor but one has *received*
//!    a request that one survivor sent as leader of a later term (the thesis's "until the
//!    other servers receive the new leader's first heartbeat").
//!
//! Everything is observed from outside the node: who leads from [`RaftNode::state`], what it
//! sent and who received it from the simulator's events. Only the timeouts need the node's
//! help, through [`SetTimeouts`].

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use labrpc::{CallId, Caller, EndId, EventRecord, Latency, Observer, Sim, SimRng, SimTime};
use raft::{Context, RaftNode};

use crate::host::{Outbox, RaftHost};

/// Servers in the cluster, as in the paper.
pub const SERVERS: usize = 5;
/// A trial still without a leader after this long is cut off and reported as such: ten
/// minutes, longer than the paper's slowest trial (528 s, 150–150).
pub const DEFAULT_LIMIT_MS: u64 = 600_000;

/// An election timeout range and a heartbeat interval, in µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Shortest election timeout.
    pub election_min_us: u64,
    /// Longest election timeout (inclusive); timeouts are uniform in between.
    pub election_max_us: u64,
    /// The leader's heartbeat interval.
    pub heartbeat_us: u64,
    /// LogCabin's voter (the paper's cluster ran LogCabin): one that learns a newer term from
    /// a RequestVote writes the term to disk, then its vote, two writes before it replies
    /// (`handleRequestVote`: `stepDown`, then `updateLogMetadata`). A Raft that always
    /// persists once per input may ignore it: it is how the measured system behaved, not a
    /// rule of Raft.
    pub voter_persists_term_first: bool,
}

impl Timeouts {
    /// The paper's setting for a line `lo_ms`–`hi_ms`: heartbeat = half the shortest timeout.
    pub fn paper(lo_ms: u64, hi_ms: u64) -> Timeouts {
        Timeouts {
            election_min_us: lo_ms * 1000,
            election_max_us: hi_ms * 1000,
            heartbeat_us: lo_ms * 1000 / 2,
            voter_persists_term_first: false,
        }
    }
}

/// A Raft whose election timeouts and heartbeat interval can be set after it is built. The
/// experiment calls it once on every node after `new` (and again after a restart), outside any
/// other input, and then waits a few heartbeats before it measures anything. Implement it
/// with your node's own timer code: restart the election timer with a timeout drawn from the
/// new range (at microsecond resolution, with [`Context::now_us`] and
/// [`Context::set_timer_us`]: the paper's 150–151 line is one millisecond wide), and let a
/// leader heartbeat at the new interval. Optional: only this experiment needs it.
pub trait SetTimeouts: RaftNode {
    /// From now on, use `timeouts`.
    fn set_timeouts(&mut self, ctx: &mut Context<'_, Self::Request>, timeouts: Timeouts);
}

/// The network and disks of the paper's cluster, as delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lan {
    /// One hop, request or reply.
    pub hop: Latency,
    /// One write to stable storage; what a handler sends after it waits for it.
    pub disk: Latency,
    /// How late a timer fires after it is due (real timers and threads; ZERO in
    /// [`Lan::PAPER`]: the simulator's timers are exact).
    pub timer_jitter: Latency,
}

impl Lan {
    /// Our model of the paper's LAN (see the README's Figure 16 section for why these): a
    /// 1 Gb Ethernet hop of 250–274 µs, and an fsync to an SSD of 4.0–5.0 ms. An election
    /// after a timeout then costs two disk writes (candidate, voter) and three hops (request,
    /// vote, heartbeat), about 9.3 ms, what the paper's fastest trials show.
    pub const PAPER: Lan = Lan {
        hop: Latency::lan(250),
        disk: Latency {
            min_us: 4000,
            spread_us: 1000,
        },
        timer_jitter: Latency::ZERO,
    };
}

/// One trial's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The timeouts under test.
    pub timeouts: Timeouts,
    /// The network model.
    pub lan: Lan,
    /// Give up after this long without leader, ms.
    pub limit_ms: u64,
}

/// What one trial measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trial {
    /// The seed it ran from.
    pub seed: u64,
    /// Time without leader, µs; `None` if still none after [`Setup::limit_ms`].
    pub downtime_us: Option<u64>,
    /// Terms that began after the crash, including the winner's: elections held.
    pub elections: u64,
    /// RPCs sent from the crash until done.
    pub messages: u64,
}

/// What a server's persister held: raft state, snapshot.
type Stored = (Vec<u8>, Vec<u8>);

/// A call as the observer saw it.
#[derive(Clone, Copy, Debug)]
enum Seen {
    Sent { call: CallId, from: usize },
    Handled { call: CallId, server: usize },
}

/// Records sends by nodes and handled requests, for the driver to drain after each step.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Vec<Seen>>>);

impl Observer for Recorder {
    fn on_event(&mut self, _at: SimTime, event: &EventRecord<'_>) {
        let seen = match *event {
            EventRecord::Send {
                call,
                caller: Caller::Node { server, .. },
                ..
            } => Seen::Sent { call, from: server },
            EventRecord::Handle { call, server } => Seen::Handled { call, server },
            _ => return,
        };
        self.0.borrow_mut().push(seen);
    }
}

/// The simulation of one trial and what the driver tracks about it.
struct Cluster<R: SetTimeouts> {
    sim: Sim<RaftHost<R>>,
    ends: Vec<Vec<EndId>>,
    outbox: Outbox,
    seen: Recorder,
}

impl<R: SetTimeouts> Cluster<R> {
    fn new(seed: u64, lan: Lan) -> Cluster<R> {
        let mut sim = Sim::new(seed);
        sim.set_latency(lan.hop);
        sim.set_disk_latency(lan.disk);
        if lan.timer_jitter != Latency::ZERO {
            sim.set_timer_jitter(lan.timer_jitter);
        }
        let seen = Recorder::default();
        sim.set_observer(Box::new(seen.clone()));
        let mut ends = vec![Vec::new(); SERVERS];
        for row in &mut ends {
            for to in 0..SERVERS {
                let end = sim.make_end();
                sim.connect(end, to);
                sim.enable(end, true);
                row.push(end);
            }
        }
        let outbox = Outbox::default();
        let mut cluster = Cluster {
            sim,
            ends,
            outbox,
            seen,
        };
        for server in 0..SERVERS {
            cluster.boot(server, None);
        }
        cluster
    }

    /// Boots `server`, from `state` (raft state, snapshot) if given, else from its persister.
    fn boot(&mut self, server: usize, state: Option<&Stored>) {
        let peers = self.ends[server].clone();
        let outbox = self.outbox.clone();
        self.sim.add_server(server, |io| {
            if let Some((raft_state, snapshot)) = state {
                io.save_state_and_snapshot(raft_state.clone(), snapshot.clone());
            }
            RaftHost::boot(io, peers, outbox)
        });
    }

    fn set_timeouts(&mut self, server: usize, timeouts: Timeouts) {
        self.sim.with_node(server, "set_timeouts", |host, io| {
            host.input(io, "set_timeouts", |raft, ctx| {
                raft.set_timeouts(ctx, timeouts)
            })
        });
    }

    /// One event; what the observer saw during it.
    fn step(&mut self) -> Vec<Seen> {
        self.sim
            .step()
            .expect("a Raft cluster always has timers pending");
        self.outbox.borrow_mut().clear();
        std::mem::take(&mut *self.seen.0.borrow_mut())
    }

    /// Steps until virtual time `until`.
    fn run_until(&mut self, until: SimTime) {
        while self.sim.next_event_time().is_some_and(|at| at <= until) {
            self.step();
        }
    }

    /// `(term, is_leader)` of a live server.
    fn state(&self, server: usize) -> Option<(u64, bool)> {
        self.sim.node(server).map(RaftHost::state)
    }

    /// The leader of the highest term, if any.
    fn leader(&self) -> Option<(usize, u64)> {
        (0..SERVERS)
            .filter_map(|server| match self.state(server)? {
                (term, true) => Some((server, term)),
                _ => None,
            })
            .max_by_key(|&(_, term)| term)
    }

    fn last_log_index(&self, server: usize) -> u64 {
        self.sim
            .node(server)
            .map_or(0, |host| host.inspect().last_log_index())
    }
}

/// Runs one trial of `setup` from `seed`. Panics if the cluster cannot even be set up (no
/// leader within a minute of virtual time with the node's own timeouts): that Raft cannot
/// elect a leader on a reliable LAN.
pub fn run_trial<R: SetTimeouts>(setup: &Setup, seed: u64) -> Trial {
    let mut cluster = Cluster::<R>::new(seed, setup.lan);
    let leader = establish_leader(&mut cluster);
    let older_states = shorten_two_logs(&mut cluster, leader);
    for server in 0..SERVERS {
        cluster.set_timeouts(server, setup.timeouts);
    }
    let settle = cluster
        .sim
        .now()
        .plus_micros(4 * setup.timeouts.election_max_us);
    cluster.run_until(settle);
    let (leader, old_term) = cluster
        .leader()
        .unwrap_or_else(|| panic!("fig16 seed {seed}: the leader was lost while settling"));
    let mut rng = SimRng::new(seed, "fig16");
    let crashed_at = crash_after_broadcast(&mut cluster, leader, &older_states, setup, &mut rng);
    measure(&mut cluster, crashed_at, old_term, setup, seed)
}

/// Runs until a leader has led for a while (every follower has heard from it).
fn establish_leader<R: SetTimeouts>(cluster: &mut Cluster<R>) -> usize {
    let deadline = SimTime::ZERO.plus_millis(60_000);
    loop {
        let now = cluster.sim.now();
        assert!(now < deadline, "fig16: no stable leader within 60 s");
        cluster.run_until(now.plus_millis(1000));
        if let Some((leader, term)) = cluster.leader() {
            let agreed =
                (0..SERVERS).all(|server| cluster.state(server).map(|s| s.0) == Some(term));
            if agreed {
                return leader;
            }
        }
    }
}

/// The leader appends one entry; once it is everywhere, two followers' states from before it
/// are kept, to restart them with. Returns `(server, (raft state, snapshot))` for the two.
fn shorten_two_logs<R: SetTimeouts>(
    cluster: &mut Cluster<R>,
    leader: usize,
) -> Vec<(usize, Stored)> {
    let shorter = [(leader + 3) % SERVERS, (leader + 4) % SERVERS];
    let older: Vec<_> = shorter
        .iter()
        .map(|&server| {
            let persister = cluster.sim.persister(server).expect("booted");
            let state = (
                persister.raft_state().to_vec(),
                persister.snapshot().to_vec(),
            );
            (server, state)
        })
        .collect();
    let before = cluster.last_log_index(leader);
    cluster.sim.with_node(leader, "start", |host, io| {
        host.input(io, "start", |raft, ctx| raft.start(ctx, b"fig16".to_vec()))
    });
    let now = cluster.sim.now();
    cluster.run_until(now.plus_millis(2000));
    for server in 0..SERVERS {
        assert!(
            cluster.last_log_index(server) > before,
            "fig16: the entry did not reach server {server} within 2 s"
        );
    }
    older
}

/// Waits for one of `leader`'s broadcasts (one event in which it sends to every follower),
/// restarts the shortened servers from their older state as that broadcast reaches them, and
/// crashes `leader` at a uniform time within the heartbeat interval after it. Returns when.
fn crash_after_broadcast<R: SetTimeouts>(
    cluster: &mut Cluster<R>,
    leader: usize,
    older: &[(usize, Stored)],
    setup: &Setup,
    rng: &mut SimRng,
) -> SimTime {
    let broadcast = loop {
        let sent: BTreeSet<CallId> = cluster
            .step()
            .into_iter()
            .filter_map(|seen| match seen {
                Seen::Sent { call, from } if from == leader => Some(call),
                _ => None,
            })
            .collect();
        if sent.len() == SERVERS - 1 {
            break sent;
        }
    };
    let crash_at = cluster
        .sim
        .now()
        .plus_micros(rng.below(setup.timeouts.heartbeat_us));
    cluster.sim.schedule_wake_at(crash_at, 0);
    let mut to_restart: BTreeMap<usize, &Stored> = older
        .iter()
        .map(|(server, state)| (*server, state))
        .collect();
    while !to_restart.is_empty() || cluster.sim.is_alive(leader) {
        if cluster.sim.is_alive(leader) && cluster.sim.now() >= crash_at {
            cluster.sim.delete_server(leader);
            continue;
        }
        for seen in cluster.step() {
            let Seen::Handled { call, server } = seen else {
                continue;
            };
            if broadcast.contains(&call)
                && let Some(state) = to_restart.remove(&server)
            {
                cluster.sim.delete_server(server);
                cluster.boot(server, Some(state));
                cluster.set_timeouts(server, setup.timeouts);
            }
        }
    }
    crash_at
}

/// Steps from the crash until every survivor but the new leader has received a request the
/// new leader sent as leader of a term after `old_term`.
fn measure<R: SetTimeouts>(
    cluster: &mut Cluster<R>,
    crashed_at: SimTime,
    old_term: u64,
    setup: &Setup,
    seed: u64,
) -> Trial {
    let survivors: BTreeSet<usize> = (0..SERVERS).filter(|&s| cluster.sim.is_alive(s)).collect();
    let limit = crashed_at.plus_millis(setup.limit_ms);
    // Calls sent by a leader of a new term: call -> (leader, term).
    let mut from_leader: BTreeMap<CallId, (usize, u64)> = BTreeMap::new();
    let mut heard: BTreeMap<(usize, u64), BTreeSet<usize>> = BTreeMap::new();
    let mut messages = 0;
    let mut max_term = old_term;
    while cluster.sim.now() < limit {
        for seen in cluster.step() {
            match seen {
                Seen::Sent { call, from } => {
                    messages += 1;
                    if let Some((term, true)) = cluster.state(from)
                        && term > old_term
                    {
                        from_leader.insert(call, (from, term));
                    }
                }
                Seen::Handled { call, server } => {
                    let Some(&leader) = from_leader.get(&call) else {
                        continue;
                    };
                    let receivers = heard.entry(leader).or_default();
                    receivers.insert(server);
                    if receivers.len() == survivors.len() - 1 {
                        let downtime_us = cluster.sim.now().micros_since(crashed_at);
                        return Trial {
                            seed,
                            downtime_us: Some(downtime_us),
                            elections: leader.1 - old_term,
                            messages,
                        };
                    }
                }
            }
        }
        max_term = survivors
            .iter()
            .filter_map(|&s| cluster.state(s).map(|s| s.0))
            .fold(max_term, u64::max);
    }
    Trial {
        seed,
        downtime_us: None,
        elections: max_term - old_term,
        messages,
    }
}

/// Seeds of the trials of one line: `first_seed`, `first_seed + 1`, ...
pub fn seeds(first_seed: u64, trials: usize) -> impl Iterator<Item = u64> {
    (0..trials as u64).map(move |k| first_seed.wrapping_add(k))
}
