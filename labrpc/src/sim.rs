//! The simulation: one event queue, virtual time, hosted nodes. Time advances only in
//! [`Sim::step`].

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

use crate::network::{End, Latency, Network, SendPlan, ServerEntry};
use crate::observe::{EventRecord, FailReason, Fingerprint, Observer};
use crate::{Persister, SimRng, SimTime};

mod deferred;
pub use deferred::DEAD_CHECK_INTERVAL_MS;

/// One call through the network. Unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// One timer set by a node. Unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// Go's `ClientEnd`: one direction of one link, named by a number instead of a random string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndId(pub u32);

/// Who made a call: the driver (a tester task or a labrpc test client) or a node incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// The driver; the outcome comes back from [`Sim::step`] as [`Stepped::CallDone`].
    Driver,
    /// A hosted node; the outcome goes to its [`Node::on_reply`] if that incarnation lives.
    Node {
        /// Server number.
        server: usize,
        /// Which incarnation of this server: its boot count, 1 for the first boot, 2 after
        /// the first restart (each [`Sim::add_server`] of the server adds one).
        incarnation: u64,
    },
}

/// A node hosted by the simulation: a sans-IO state machine. Each method runs to completion,
/// one at a time, never re-entrantly; effects (calls, timers, persistence) go through `io` and
/// take effect as later events.
pub trait Node {
    /// Handles a request and returns the encoded reply, or `None` if it cannot be handled (it
    /// did not decode): the caller then sees a failed call.
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>>;
    /// The outcome of a call this node made: the reply, or `None` for failure (Go's `false`).
    fn on_reply(&mut self, io: &mut NodeIo<'_>, call: CallId, reply: Option<Vec<u8>>);
    /// A timer this node set came due (cancelled timers never fire).
    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: TimerId);
}

/// What one [`Sim::step`] did, for the driver.
#[derive(Debug, PartialEq, Eq)]
pub enum Stepped {
    /// A driver wake-up came due.
    Wake(u64),
    /// A driver call finished.
    CallDone {
        /// The call.
        call: CallId,
        /// The reply, or `None` for failure.
        reply: Option<Vec<u8>>,
    },
    /// A node handled an event (it may have new output for the driver to collect).
    Node(usize),
    /// Nothing the driver needs to know (a call outcome for a crashed node, a stale timer).
    Quiet,
}

/// What a node may do while handling an event.
pub struct NodeIo<'a> {
    core: &'a mut Core,
    server: usize,
    incarnation: u64,
    rng: &'a mut SimRng,
    persister: &'a mut Persister,
}

impl NodeIo<'_> {
    /// This node's server number.
    pub fn me(&self) -> usize {
        self.server
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// Sends `args` through `end`. The outcome arrives later in [`Node::on_reply`].
    pub fn call(&mut self, end: EndId, args: Vec<u8>) -> CallId {
        let caller = Caller::Node {
            server: self.server,
            incarnation: self.incarnation,
        };
        self.core.send(caller, end, args)
    }

    /// Sets a timer that fires after `delay_ms` (0 = after the current event).
    pub fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        let at = self.core.now.plus_millis(delay_ms);
        self.core.set_timer(self.server, self.incarnation, at)
    }

    /// Sets a timer that fires after `delay_us` microseconds.
    pub fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        let at = self.core.now.plus_micros(delay_us);
        self.core.set_timer(self.server, self.incarnation, at)
    }

    /// Cancels a timer; cancelling a fired or unknown timer does nothing.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.core.live_timers.remove(&timer);
    }

    /// This node's own seeded random stream (new for each incarnation).
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// This server's stable storage, for reading (write through [`NodeIo::save_raft_state`]
    /// and [`NodeIo::save_state_and_snapshot`], which observers see).
    pub fn persister(&mut self) -> &mut Persister {
        self.persister
    }

    /// Bytes of raft state this server's persister holds now (Go's `RaftStateSize`), for
    /// reading while the persister is not borrowed mutably.
    pub fn raft_state_size(&self) -> usize {
        self.persister.raft_state_size()
    }

    /// Saves the raft state, keeping the snapshot (Go's `SaveRaftState`); an observed event.
    pub fn save_raft_state(&mut self, raft_state: Vec<u8>) {
        self.core.record(EventRecord::Persist {
            server: self.server,
            raft_state: &raft_state,
            snapshot: None,
        });
        self.core.write_to_disk();
        self.persister.save_raft_state(raft_state);
    }

    /// Saves raft state and snapshot atomically (Go's `SaveStateAndSnapshot`); an observed
    /// event.
    pub fn save_state_and_snapshot(&mut self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        self.core.record(EventRecord::Persist {
            server: self.server,
            raft_state: &raft_state,
            snapshot: Some(&snapshot),
        });
        self.core.write_to_disk();
        self.persister.save_state_and_snapshot(raft_state, snapshot);
    }

    /// Answers the request being handled later (a Lab 3 handler waiting for agreement):
    /// call this in [`Node::on_request`], return `None`, and answer with [`NodeIo::reply`].
    /// Until then the caller waits; it gets a failure if the request is found dead at a
    /// 100 ms check (module `deferred`, spec §5.3). Panics outside `on_request` or if called
    /// twice for one request.
    pub fn defer_reply(&mut self) -> CallId {
        self.core.defer_current()
    }

    /// Answers a request deferred with [`NodeIo::defer_reply`] by this incarnation. The reply
    /// takes the synchronous path: dead check, the reply drop of an unreliable network (as
    /// it was when the request was sent), a hop of latency. Returns `false`, and sends
    /// nothing, if the request no longer waits (already answered, or failed as dead).
    pub fn reply(&mut self, call: CallId, reply: Vec<u8>) -> bool {
        self.core
            .reply_deferred(self.server, self.incarnation, call, reply)
    }

    /// Records that this node handed `data` to its service at `index`: a command, or (with
    /// `snapshot_term`) a snapshot. The host delivers it; this is for observers (traces) and
    /// the fingerprint.
    pub fn record_apply(&mut self, index: u64, snapshot_term: Option<u64>, data: &[u8]) {
        self.core.record(EventRecord::Apply {
            server: self.server,
            index,
            snapshot_term,
            data,
        });
    }
}

#[derive(Debug)]
enum Event {
    /// A request reaches its server after the short delay.
    Request {
        call: CallId,
        caller: Caller,
        end: EndId,
        server: usize,
        incarnation: u64,
        args: Vec<u8>,
        reliable: bool,
        long_reordering: bool,
    },
    /// A call's outcome reaches its caller.
    Outcome {
        call: CallId,
        caller: Caller,
        reply: Result<Vec<u8>, FailReason>,
    },
    Timer {
        server: usize,
        incarnation: u64,
        timer: TimerId,
    },
    Wake {
        token: u64,
    },
    /// A deferred request's dead check (Go's 100 ms poll; `deferred.rs`).
    DeadCheck {
        call: CallId,
    },
    /// A copy of a request that was handled earlier reaches its server again
    /// ([`Duplicates`]); the reply is discarded.
    Duplicate {
        end: EndId,
        args: Vec<u8>,
    },
}

impl Event {
    /// Bytes of message payload this event holds while it is pending.
    fn payload_bytes(&self) -> u64 {
        match self {
            Event::Request { args, .. } | Event::Duplicate { args, .. } => args.len() as u64,
            Event::Outcome {
                reply: Ok(bytes), ..
            } => bytes.len() as u64,
            _ => 0,
        }
    }
}

/// Duplicated, stale deliveries: the real world's network, which Go's labrpc never produces.
/// With probability `per_mille`/1000, a request whose handler ran is delivered again to the
/// same end's server after 1..=`max_delay_ms` ms, if the end is then enabled and the server
/// alive; the handler runs and its reply is discarded. The caller still gets exactly one
/// outcome for its call. Off by default (the lab suites never turn it on); its draws come
/// from a stream of their own, `network/duplicate`, so the fault model's draws never shift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Duplicates {
    /// Chance per handled request, in thousandths.
    pub per_mille: u64,
    /// The copy arrives 1..=`max_delay_ms` ms after the original was handled.
    pub max_delay_ms: u64,
}

#[derive(Debug)]
struct Queued {
    at: SimTime,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed, so that `BinaryHeap` pops the earliest `(at, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Everything but the nodes, so a node can be borrowed while its `NodeIo` borrows this.
struct Core {
    root_seed: u64,
    now: SimTime,
    /// Invariant: strictly increasing; breaks ties between events at the same time.
    next_seq: u64,
    queue: BinaryHeap<Queued>,
    net: Network,
    net_rng: SimRng,
    /// Every hop's latency on top of the fault model's delays.
    latency: Latency,
    /// The latency's own stream, so the fault model's draws never shift with it.
    latency_rng: SimRng,
    /// How long a persist takes (default [`Latency::ZERO`]: persists are instant).
    disk: Latency,
    /// The disk's own stream (`network/disk`), for the same reason.
    disk_rng: SimRng,
    /// Disk time the running handler has spent so far: what it sends leaves this much later
    /// (it persisted first). Invariant: 0 outside handlers and whenever `disk` is ZERO.
    handler_disk_us: u64,
    /// How late a timer fires after it is due (default [`Latency::ZERO`]: on time).
    timer_jitter: Latency,
    /// The timers' own stream (`network/timers`), for the same reason as the disk's.
    timer_rng: SimRng,
    /// Duplicated deliveries (off unless set).
    duplicates: Duplicates,
    /// Their own stream, so that turning them on shifts no other draw.
    duplicate_rng: SimRng,
    next_call: u64,
    next_timer: u64,
    live_timers: BTreeSet<TimerId>,
    fingerprint: Fingerprint,
    observer: Option<Box<dyn Observer>>,
    events: u64,
    /// Invariant: the sum of [`Event::payload_bytes`] over `queue`.
    pending_bytes: u64,
    /// Requests being handled or answered later (`deferred.rs`).
    deferred: deferred::Deferred,
}

impl Core {
    fn push(&mut self, at: SimTime, event: Event) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending_bytes += event.payload_bytes();
        self.queue.push(Queued { at, seq, event });
    }

    /// A persist by the running handler: it holds everything the handler sends after it.
    fn write_to_disk(&mut self) {
        self.handler_disk_us += self.disk.draw_us(&mut self.disk_rng);
    }

    fn record(&mut self, event: EventRecord<'_>) {
        self.events += 1;
        self.fingerprint.record(self.now, &event);
        if let Some(observer) = self.observer.as_mut() {
            observer.on_event(self.now, &event);
        }
    }

    fn send(&mut self, caller: Caller, end: EndId, args: Vec<u8>) -> CallId {
        let call = CallId(self.next_call);
        self.next_call += 1;
        self.record(EventRecord::Send {
            call,
            caller,
            end,
            args: &args,
        });
        let (reliable, long_reordering) = (self.net.reliable, self.net.long_reordering);
        match self.net.plan_send(end, args.len(), &mut self.net_rng) {
            SendPlan::Deliver {
                server,
                incarnation,
                delay_ms,
            } => {
                let event = Event::Request {
                    call,
                    caller,
                    end,
                    server,
                    incarnation,
                    args,
                    reliable,
                    long_reordering,
                };
                let hop_us = self.latency.draw_us(&mut self.latency_rng);
                let at = self.now.plus_micros(self.handler_disk_us);
                self.push(at.plus_millis(delay_ms).plus_micros(hop_us), event);
            }
            SendPlan::DropRequest { delay_ms } => {
                let reply = Err(FailReason::RequestDropped);
                self.push(
                    self.now.plus_millis(delay_ms),
                    Event::Outcome {
                        call,
                        caller,
                        reply,
                    },
                );
            }
            SendPlan::Unreachable { delay_ms } => {
                let reply = Err(FailReason::Unreachable);
                self.push(
                    self.now.plus_millis(delay_ms),
                    Event::Outcome {
                        call,
                        caller,
                        reply,
                    },
                );
            }
        }
        call
    }

    fn set_timer(&mut self, server: usize, incarnation: u64, at: SimTime) -> TimerId {
        let at = at.plus_micros(self.timer_jitter.draw_us(&mut self.timer_rng));
        let timer = TimerId(self.next_timer);
        self.next_timer += 1;
        self.live_timers.insert(timer);
        self.push(
            at,
            Event::Timer {
                server,
                incarnation,
                timer,
            },
        );
        timer
    }

    fn is_live(&self, server: usize, incarnation: u64) -> bool {
        self.net
            .server(server)
            .is_some_and(|entry| entry.incarnation == incarnation)
    }

    fn change(&mut self, what: &'static str, target: u64, value: u64) {
        self.record(EventRecord::NetworkChange {
            what,
            target,
            value,
        });
    }
}

/// One server's slot: the node (absent while crashed), its random stream and its storage.
struct Slot<N> {
    node: Option<N>,
    rng: SimRng,
    persister: Persister,
    /// How many times a node was added here; names the node's random stream.
    boots: u64,
}

/// A deterministic simulation of nodes of type `N` on the 6.824 network.
///
/// Start here. The driver (a tester, a labrpc test) builds the network with [`Sim::make_end`],
/// [`Sim::connect`], [`Sim::enable`] and [`Sim::add_server`], then calls [`Sim::step`] until
/// it is done. **Invariant:** [`Sim::step`] is the only place virtual time advances; everything
/// random comes from streams of the one root seed.
pub struct Sim<N> {
    core: Core,
    slots: Vec<Slot<N>>,
}

impl<N: Node> Sim<N> {
    /// An empty simulation at time zero. Network defaults as in Go: reliable, no long delays,
    /// no long reordering.
    pub fn new(root_seed: u64) -> Sim<N> {
        let core = Core {
            root_seed,
            now: SimTime::ZERO,
            next_seq: 0,
            queue: BinaryHeap::new(),
            net: Network::new(),
            net_rng: SimRng::new(root_seed, "network"),
            latency: Latency::ZERO,
            latency_rng: SimRng::new(root_seed, "network/latency"),
            disk: Latency::ZERO,
            disk_rng: SimRng::new(root_seed, "network/disk"),
            handler_disk_us: 0,
            timer_jitter: Latency::ZERO,
            timer_rng: SimRng::new(root_seed, "network/timers"),
            duplicates: Duplicates::default(),
            duplicate_rng: SimRng::new(root_seed, "network/duplicate"),
            next_call: 0,
            next_timer: 0,
            live_timers: BTreeSet::new(),
            fingerprint: Fingerprint::default(),
            observer: None,
            events: 0,
            pending_bytes: 0,
            deferred: deferred::Deferred::default(),
        };
        // A run that ended in a node's panic left its node and time as the thread's current
        // ones; this run's first log lines are its own.
        crate::current::set(SimTime::ZERO, None);
        Sim {
            core,
            slots: Vec::new(),
        }
    }

    /// The seed every stream of this run derives from.
    pub fn root_seed(&self) -> u64 {
        self.core.root_seed
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// Installs the observer that sees every later event.
    pub fn set_observer(&mut self, observer: Box<dyn Observer>) {
        self.core.observer = Some(observer);
    }

    /// Removes and returns the observer.
    pub fn take_observer(&mut self) -> Option<Box<dyn Observer>> {
        self.core.observer.take()
    }

    /// The hash of every event so far: equal seeds give equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        self.core.fingerprint.value()
    }

    /// Events scheduled and not yet run (messages in flight, timers, wake-ups): what a run holds
    /// in memory besides its nodes.
    pub fn pending_events(&self) -> usize {
        self.core.queue.len()
    }

    /// Bytes of the messages in flight: requests not yet handled and replies not yet
    /// delivered (encoded, as they were sent).
    pub fn pending_bytes(&self) -> u64 {
        self.core.pending_bytes
    }

    /// Events processed so far.
    pub fn event_count(&self) -> u64 {
        self.core.events
    }

    // ----- the network, as Go's labrpc.Network -----

    /// A new end, disabled and unconnected (Go's `MakeEnd`).
    pub fn make_end(&mut self) -> EndId {
        let end = EndId(u32::try_from(self.core.net.ends.len()).expect("too many ends"));
        self.core.net.ends.push(End::default());
        end
    }

    /// Points `end` at `server` (Go's `Connect`).
    pub fn connect(&mut self, end: EndId, server: usize) {
        self.core.net.ends[end.0 as usize].server = Some(server);
        self.core.change("connect", u64::from(end.0), server as u64);
    }

    /// Turns `end` on or off (Go's `Enable`).
    pub fn enable(&mut self, end: EndId, enabled: bool) {
        let slot = &mut self.core.net.ends[end.0 as usize];
        if slot.enabled != enabled {
            slot.enabled = enabled;
            self.core
                .change("enable", u64::from(end.0), u64::from(enabled));
            if !enabled {
                self.core.schedule_dead_checks();
            }
        }
    }

    /// Whether `end` is enabled.
    pub fn is_enabled(&self, end: EndId) -> bool {
        self.core.net.end(end).enabled
    }

    /// Reliable (default) or unreliable: short delays and 10% request and reply drops.
    pub fn set_reliable(&mut self, reliable: bool) {
        self.core.net.reliable = reliable;
        self.core.change("reliable", 0, u64::from(reliable));
    }

    /// Whether calls that cannot reach a server fail after 0..7000 ms instead of 0..100 ms.
    pub fn set_long_delays(&mut self, long_delays: bool) {
        self.core.net.long_delays = long_delays;
        self.core.change("long_delays", 0, u64::from(long_delays));
    }

    /// Whether 2/3 of replies are delayed by 200..=2199 ms.
    pub fn set_long_reordering(&mut self, long_reordering: bool) {
        self.core.net.long_reordering = long_reordering;
        self.core
            .change("long_reordering", 0, u64::from(long_reordering));
    }

    /// Every hop's latency from now on (default [`Latency::ZERO`], Go's labrpc exactly): a
    /// request's hop is drawn when it is sent, a reply's when its handler returns.
    pub fn set_latency(&mut self, latency: Latency) {
        self.core.latency = latency;
        self.core
            .change("latency_us", latency.min_us, latency.spread_us);
    }

    /// Duplicated, stale deliveries from now on ([`Duplicates`]; default off).
    pub fn set_duplicates(&mut self, duplicates: Duplicates) {
        self.core.duplicates = duplicates;
        self.core
            .change("duplicates", duplicates.per_mille, duplicates.max_delay_ms);
    }

    /// The latency of every hop.
    pub fn latency(&self) -> Latency {
        self.core.latency
    }

    /// How long each persist takes from now on (default [`Latency::ZERO`], as in Go's
    /// persister). A handler's sends and its reply leave after the persists it made before
    /// them, as after an fsync; its timers and the order of events are unchanged. Draws come
    /// from a stream of their own (`network/disk`), and ZERO draws nothing, so runs that never
    /// set it are the same as before it existed. The lab suites leave it at ZERO; the
    /// Figure 16 experiment models a LAN server's disk with it.
    pub fn set_disk_latency(&mut self, disk: Latency) {
        self.core.disk = disk;
        self.core.change("disk_us", disk.min_us, disk.spread_us);
    }

    /// How late every timer set from now on fires after it is due (default
    /// [`Latency::ZERO`]: exactly on time): a real server's timer and scheduling jitter.
    /// Draws come from a stream of their own (`network/timers`), and ZERO draws nothing, so
    /// runs that never set it are the same as before it existed. The lab suites leave it at
    /// ZERO; the Figure 16 experiment can model jittery timers with it.
    pub fn set_timer_jitter(&mut self, jitter: Latency) {
        self.core.timer_jitter = jitter;
        self.core
            .change("timer_jitter_us", jitter.min_us, jitter.spread_us);
    }

    /// Every call that entered the network (Go's `GetTotalCount`).
    pub fn total_rpcs(&self) -> u64 {
        self.core.net.total_rpcs
    }

    /// Every request's bytes plus every delivered reply's (Go's `GetTotalBytes`).
    pub fn total_bytes(&self) -> u64 {
        self.core.net.total_bytes
    }

    /// Requests whose handler ran on the current server object (Go's `GetCount`); 0 if none.
    pub fn rpc_count(&self, server: usize) -> u64 {
        self.core
            .net
            .server(server)
            .map_or(0, |entry| entry.rpc_count)
    }

    /// A call from the driver (a labrpc test client). Its outcome comes back from
    /// [`Sim::step`] as [`Stepped::CallDone`].
    pub fn call(&mut self, end: EndId, args: Vec<u8>) -> CallId {
        self.core.send(Caller::Driver, end, args)
    }

    // ----- hosting -----

    /// Registers a new node as `server`, replacing (and dropping) any previous one: in-flight
    /// calls to or from the old one fail or vanish (Go's `AddServer` after `Make`). `build`
    /// constructs the node; it may already use `io` (timers, its random stream, the persister).
    pub fn add_server(&mut self, server: usize, build: impl FnOnce(&mut NodeIo<'_>) -> N) {
        while self.slots.len() <= server {
            let index = self.slots.len();
            let rng = SimRng::new(self.core.root_seed, &format!("node/{index}/boot/0"));
            self.slots.push(Slot {
                node: None,
                rng,
                persister: Persister::new(),
                boots: 0,
            });
        }
        let slot = &mut self.slots[server];
        slot.boots += 1;
        let incarnation = slot.boots;
        slot.rng = SimRng::new(
            self.core.root_seed,
            &format!("node/{server}/boot/{}", slot.boots),
        );
        slot.node = None;
        // The server object exists only once `build` returns, as in Go (registered after Make).
        self.core.net.set_server(server, None);
        self.core.record(EventRecord::External {
            server,
            what: "boot",
        });
        let mut io = NodeIo {
            core: &mut self.core,
            server,
            incarnation,
            rng: &mut slot.rng,
            persister: &mut slot.persister,
        };
        // The node being built is the current node: its constructor's log lines carry it.
        crate::current::set(io.core.now, Some(server));
        let node = build(&mut io);
        self.core.handler_disk_us = 0;
        crate::current::set(self.core.now, None);
        slot.node = Some(node);
        self.core.net.set_server(
            server,
            Some(ServerEntry {
                incarnation,
                rpc_count: 0,
            }),
        );
        self.core.change("add_server", server as u64, incarnation);
        // The previous incarnation's deferred requests are dead now.
        self.core.schedule_dead_checks();
    }

    /// Crashes `server`: the node is dropped with its timers and pending calls; its persister
    /// stays (Go's `DeleteServer` + `Kill`).
    pub fn delete_server(&mut self, server: usize) {
        if let Some(slot) = self.slots.get_mut(server) {
            slot.node = None;
        }
        if self.core.net.server(server).is_some() {
            self.core.net.set_server(server, None);
            self.core.change("delete_server", server as u64, 0);
            self.core.schedule_dead_checks();
        }
    }

    /// Requests deferred with [`NodeIo::defer_reply`] and neither answered nor failed yet.
    pub fn deferred_replies(&self) -> usize {
        self.core.deferred.waiting.len()
    }

    /// Whether a node is registered as `server`.
    pub fn is_alive(&self, server: usize) -> bool {
        self.core.net.server(server).is_some()
    }

    /// The node registered as `server`, for reading.
    pub fn node(&self, server: usize) -> Option<&N> {
        self.slots.get(server)?.node.as_ref()
    }

    /// The node registered as `server`, for the driver's bookkeeping on it (never an input:
    /// use [`Sim::with_node`] to call into it).
    pub fn node_mut(&mut self, server: usize) -> Option<&mut N> {
        self.slots.get_mut(server)?.node.as_mut()
    }

    /// Calls into a live node from the driver, outside any event (Go's tester calling `Start`
    /// or `Snapshot`). Returns `None` if the server is crashed.
    pub fn with_node<T>(
        &mut self,
        server: usize,
        what: &'static str,
        f: impl FnOnce(&mut N, &mut NodeIo<'_>) -> T,
    ) -> Option<T> {
        let incarnation = self.core.net.server(server)?.incarnation;
        self.core.record(EventRecord::External { server, what });
        Some(self.run_node(server, incarnation, f))
    }

    /// Runs `f` on the live node `server` with its [`NodeIo`], as the current node for loggers
    /// (and then none again: what the driver logs next is its own).
    fn run_node<T>(
        &mut self,
        server: usize,
        incarnation: u64,
        f: impl FnOnce(&mut N, &mut NodeIo<'_>) -> T,
    ) -> T {
        crate::current::set(self.core.now, Some(server));
        let slot = &mut self.slots[server];
        let node = slot.node.as_mut().expect("a live server has a node");
        let mut io = NodeIo {
            core: &mut self.core,
            server,
            incarnation,
            rng: &mut slot.rng,
            persister: &mut slot.persister,
        };
        let result = f(node, &mut io);
        self.core.handler_disk_us = 0;
        crate::current::set(self.core.now, None);
        result
    }

    /// The stable storage of `server` (it outlives crashes). Empty if never used.
    pub fn persister(&self, server: usize) -> Option<&Persister> {
        self.slots.get(server).map(|slot| &slot.persister)
    }

    /// Schedules a [`Stepped::Wake`] with `token` after `delay_ms`.
    pub fn schedule_wake(&mut self, delay_ms: u64, token: u64) {
        let at = self.core.now.plus_millis(delay_ms);
        self.core.push(at, Event::Wake { token });
    }

    /// Schedules a [`Stepped::Wake`] with `token` at `at` (now, if `at` is past).
    pub fn schedule_wake_at(&mut self, at: SimTime, token: u64) {
        let at = at.max(self.core.now);
        self.core.push(at, Event::Wake { token });
    }

    /// When the next event is due, if any.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.core.queue.peek().map(|queued| queued.at)
    }

    /// Processes the earliest event, advancing virtual time to it. `None` when nothing is
    /// scheduled.
    pub fn step(&mut self) -> Option<Stepped> {
        let Queued { at, event, .. } = self.core.queue.pop()?;
        debug_assert!(at >= self.core.now);
        self.core.pending_bytes -= event.payload_bytes();
        self.core.now = at;
        crate::current::set(at, None);
        Some(match event {
            Event::Request {
                call,
                caller,
                end,
                server,
                incarnation,
                args,
                reliable,
                long_reordering,
            } => self.deliver_request(
                call,
                caller,
                end,
                server,
                incarnation,
                &args,
                (reliable, long_reordering),
            ),
            Event::Outcome {
                call,
                caller,
                reply,
            } => self.deliver_outcome(call, caller, reply),
            Event::Timer {
                server,
                incarnation,
                timer,
            } => self.fire_timer(server, incarnation, timer),
            Event::Wake { token } => {
                self.core.record(EventRecord::Wake { token });
                Stepped::Wake(token)
            }
            Event::DeadCheck { call } => {
                self.core.dead_check(call);
                Stepped::Quiet
            }
            Event::Duplicate { end, args } => self.deliver_duplicate(end, &args),
        })
    }

    /// Maybe schedules a copy of a request just handled through `end` ([`Duplicates`]).
    fn maybe_duplicate(&mut self, end: EndId, args: &[u8]) {
        let Duplicates {
            per_mille,
            max_delay_ms,
        } = self.core.duplicates;
        if per_mille == 0 || self.core.duplicate_rng.below(1000) >= per_mille {
            return;
        }
        let delay_ms = 1 + self.core.duplicate_rng.below(max_delay_ms.max(1));
        let at = self.core.now.plus_millis(delay_ms);
        let args = args.to_vec();
        self.core.push(at, Event::Duplicate { end, args });
    }

    /// A copy of an earlier request reaches the server `end` points at now, if the end is
    /// enabled and the server alive: the handler runs, the reply is discarded.
    fn deliver_duplicate(&mut self, end: EndId, args: &[u8]) -> Stepped {
        let End { server, enabled } = self.core.net.end(end);
        let Some(server) = server.filter(|_| enabled) else {
            return Stepped::Quiet;
        };
        let Some(incarnation) = self.core.net.server(server).map(|e| e.incarnation) else {
            return Stepped::Quiet;
        };
        self.core.record(EventRecord::External {
            server,
            what: "duplicate request",
        });
        self.run_node(server, incarnation, |node, io| node.on_request(io, args));
        Stepped::Node(server)
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver_request(
        &mut self,
        call: CallId,
        caller: Caller,
        end: EndId,
        server: usize,
        incarnation: u64,
        args: &[u8],
        (reliable, long_reordering): (bool, bool),
    ) -> Stepped {
        if !self.core.is_live(server, incarnation) {
            // Go would run the handler on the killed object and drop its reply: the same,
            // as seen from outside, since that object's effects are invisible.
            let reply = Err(FailReason::ServerGone);
            self.core.push(
                self.core.now,
                Event::Outcome {
                    call,
                    caller,
                    reply,
                },
            );
            return Stepped::Quiet;
        }
        let entry = self.core.net.servers[server].as_mut().expect("live server");
        entry.rpc_count += 1;
        self.core.record(EventRecord::Handle { call, server });
        self.maybe_duplicate(end, args);
        self.core.deferred.current = Some(deferred::Waiting {
            call,
            caller,
            end,
            server,
            incarnation,
            reliable,
            long_reordering,
            started: self.core.now,
            check_at: None,
        });
        let (reply, disk_us) = self.run_node(server, incarnation, |node, io| {
            (node.on_request(io, args), io.core.handler_disk_us)
        });
        // Taken by `NodeIo::defer_reply`: the node answers later.
        let Some(request) = self.core.deferred.current.take() else {
            assert!(
                reply.is_none(),
                "S{server} deferred a reply and also returned one"
            );
            return Stepped::Node(server);
        };
        // The way back is a hop too, whatever the outcome (Go's reply channel).
        self.core.finish_request(&request, reply, disk_us);
        Stepped::Node(server)
    }

    fn deliver_outcome(
        &mut self,
        call: CallId,
        caller: Caller,
        reply: Result<Vec<u8>, FailReason>,
    ) -> Stepped {
        if let Ok(bytes) = &reply {
            // Go counts reply bytes when the reply is delivered (late, if long-reordered).
            self.core.net.total_bytes += bytes.len() as u64;
        }
        let borrowed = reply.as_deref().map_err(|reason| *reason);
        self.core.record(EventRecord::Outcome {
            call,
            caller,
            reply: borrowed,
        });
        match caller {
            Caller::Driver => Stepped::CallDone {
                call,
                reply: reply.ok(),
            },
            Caller::Node {
                server,
                incarnation,
            } => {
                if !self.core.is_live(server, incarnation) {
                    return Stepped::Quiet;
                }
                self.run_node(server, incarnation, |node, io| {
                    node.on_reply(io, call, reply.ok())
                });
                Stepped::Node(server)
            }
        }
    }

    fn fire_timer(&mut self, server: usize, incarnation: u64, timer: TimerId) -> Stepped {
        if !self.core.live_timers.remove(&timer) || !self.core.is_live(server, incarnation) {
            return Stepped::Quiet;
        }
        self.core.record(EventRecord::Timer { server, timer });
        self.run_node(server, incarnation, |node, io| node.on_timer(io, timer));
        Stepped::Node(server)
    }
}
