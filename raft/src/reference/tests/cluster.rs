//! A miniature deterministic cluster for end-to-end unit tests: nodes on [`RecordingHost`]s, a
//! network with the 6.824 fault model in brief, and the service side (apply checks, snapshots
//! every few entries). The real tester lives in the `tester` package; this one only needs to
//! be good enough to catch our own mistakes.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::reference::{Reference, Reply, Request};
use crate::testing::RecordingHost;
use crate::{ApplyMsg, RaftNode};

/// Fails an unreachable call after this many ms at most (Go's long delays).
const UNREACHABLE_FAIL_MS_BELOW: u64 = 7000;

enum Event {
    Request {
        from: usize,
        incarnation: u64,
        to: usize,
        request: Request,
    },
    Outcome {
        to: usize,
        incarnation: u64,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    },
}

/// The service on one server: what it has applied.
#[derive(Default)]
struct Service {
    last_applied: u64,
}

pub(super) struct Cluster {
    pub(super) now_ms: u64,
    nodes: Vec<Option<Reference>>,
    pub(super) hosts: Vec<RecordingHost<Request>>,
    incarnations: Vec<u64>,
    connected: Vec<bool>,
    pub(super) reliable: bool,
    net_rng: ChaCha8Rng,
    queue: BTreeMap<(u64, u64), Event>,
    sequence: u64,
    services: Vec<Service>,
    /// Every committed command by index, as first applied anywhere.
    committed: BTreeMap<u64, Vec<u8>>,
    /// The leader of each term seen so far.
    leaders: BTreeMap<u64, usize>,
    /// The service snapshots after every this many applied entries (0: never).
    pub(super) snapshot_every: u64,
    /// Requests delivered to a handler.
    pub(super) rpc_count: u64,
    /// Encoded bytes of every request sent.
    pub(super) request_bytes: u64,
    /// Largest persisted raft state seen.
    pub(super) max_raft_state_bytes: usize,
}

impl Cluster {
    pub(super) fn new(peer_count: usize, seed: u64) -> Cluster {
        let mut cluster = Cluster {
            now_ms: 0,
            nodes: (0..peer_count).map(|_| None).collect(),
            hosts: (0..peer_count)
                .map(|i| RecordingHost::new(seed * 1000 + i as u64))
                .collect(),
            incarnations: vec![0; peer_count],
            connected: vec![true; peer_count],
            reliable: true,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            queue: BTreeMap::new(),
            sequence: 0,
            services: (0..peer_count).map(|_| Service::default()).collect(),
            committed: BTreeMap::new(),
            leaders: BTreeMap::new(),
            snapshot_every: 0,
            rpc_count: 0,
            request_bytes: 0,
            max_raft_state_bytes: 0,
        };
        for server in 0..peer_count {
            cluster.restart(server);
        }
        cluster
    }

    fn peer_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn node(&self, server: usize) -> &Reference {
        self.nodes[server].as_ref().expect("server is up")
    }

    pub(super) fn is_up(&self, server: usize) -> bool {
        self.nodes[server].is_some()
    }

    pub(super) fn connect(&mut self, server: usize, connected: bool) {
        self.connected[server] = connected;
    }

    /// Go's `crash1`: the node goes; its storage stays; the service keeps its snapshot.
    pub(super) fn crash(&mut self, server: usize) {
        self.nodes[server] = None;
        self.hosts[server].crash();
        self.incarnations[server] += 1;
        let snapshot = &self.hosts[server].snapshot;
        self.services[server].last_applied = decode_snapshot(snapshot);
    }

    /// Go's `start1`: a new node from what was saved.
    pub(super) fn restart(&mut self, server: usize) {
        assert!(self.nodes[server].is_none());
        let peer_count = self.peer_count();
        let host = &mut self.hosts[server];
        host.now_ms = self.now_ms;
        let init = host.init(server, peer_count);
        self.nodes[server] = Some(Reference::new(&mut host.context(), init));
        self.after_input(server);
    }

    pub(super) fn start(&mut self, server: usize, command: Vec<u8>) -> Option<(u64, u64)> {
        let node = self.nodes[server].as_mut()?;
        let host = &mut self.hosts[server];
        host.now_ms = self.now_ms;
        let placed = node.start(&mut host.context(), command);
        self.after_input(server);
        placed
    }

    /// Runs the simulation for `ms` virtual milliseconds.
    pub(super) fn run_for(&mut self, ms: u64) {
        let until_ms = self.now_ms + ms;
        while self.step(until_ms) {}
        self.now_ms = until_ms;
    }

    /// Handles the next event due by `until_ms`; false if there is none.
    fn step(&mut self, until_ms: u64) -> bool {
        let next_event = self.queue.first_key_value().map(|(&(at, _), _)| at);
        let next_timer = (0..self.peer_count())
            .filter(|&server| self.is_up(server))
            .filter_map(|server| Some((self.hosts[server].next_timer_ms()?, server)))
            .min();
        match (next_event, next_timer) {
            (Some(at), timer) if at <= until_ms && timer.is_none_or(|(t, _)| at <= t) => {
                let (_, event) = self.queue.pop_first().expect("an event");
                self.now_ms = at;
                self.deliver(event);
            }
            (_, Some((at, server))) if at <= until_ms => {
                self.now_ms = at;
                let host = &mut self.hosts[server];
                let timer = host.pop_timer().expect("a timer");
                let node = self.nodes[server].as_mut().expect("up");
                node.handle_timer(&mut host.context(), timer);
                self.after_input(server);
            }
            _ => return false,
        }
        true
    }

    fn deliver(&mut self, event: Event) {
        match event {
            Event::Request {
                from,
                incarnation,
                to,
                request,
            } => self.deliver_request(from, incarnation, to, request),
            Event::Outcome {
                to,
                incarnation,
                peer,
                request,
                reply,
            } => {
                if self.incarnations[to] != incarnation || !self.is_up(to) {
                    return;
                }
                let host = &mut self.hosts[to];
                host.now_ms = self.now_ms;
                let node = self.nodes[to].as_mut().expect("up");
                node.handle_reply(&mut host.context(), peer, request, reply);
                self.after_input(to);
            }
        }
    }

    fn deliver_request(&mut self, from: usize, incarnation: u64, to: usize, request: Request) {
        if !self.is_up(to) || !self.connected[to] || !self.connected[from] {
            let delay_ms = self.net_rng.next_u64() % UNREACHABLE_FAIL_MS_BELOW;
            self.push_outcome(delay_ms, from, incarnation, to, request, None);
            return;
        }
        let host = &mut self.hosts[to];
        host.now_ms = self.now_ms;
        let node = self.nodes[to].as_mut().expect("up");
        let reply = node.handle_request(&mut host.context(), request.clone());
        self.rpc_count += 1;
        self.after_input(to);
        let dropped = !self.reliable && self.net_rng.next_u64().is_multiple_of(10);
        let reply = (!dropped).then_some(reply);
        self.push_outcome(0, from, incarnation, to, request, reply);
    }

    fn push_outcome(
        &mut self,
        delay_ms: u64,
        to: usize,
        incarnation: u64,
        peer: usize,
        request: Request,
        reply: Option<Reply>,
    ) {
        let event = Event::Outcome {
            to,
            incarnation,
            peer,
            request,
            reply,
        };
        self.push(delay_ms, event);
    }

    fn push(&mut self, delay_ms: u64, event: Event) {
        self.sequence += 1;
        self.queue
            .insert((self.now_ms + delay_ms, self.sequence), event);
    }

    /// What the tester does after every input: send the calls, consume the applies (and
    /// snapshot), check the leaders.
    fn after_input(&mut self, server: usize) {
        self.send_calls(server);
        self.consume_applied(server);
        self.check_leaders();
        let bytes = self.hosts[server].raft_state.len();
        self.max_raft_state_bytes = self.max_raft_state_bytes.max(bytes);
    }

    fn send_calls(&mut self, server: usize) {
        let incarnation = self.incarnations[server];
        for (to, request) in self.hosts[server].take_calls() {
            self.request_bytes += labgob::encode(&request).expect("encodes").len() as u64;
            let mut delay_ms = 0;
            if !self.reliable {
                delay_ms = self.net_rng.next_u64() % 27;
                if self.net_rng.next_u64().is_multiple_of(10) {
                    self.push_outcome(delay_ms, server, incarnation, to, request, None);
                    continue;
                }
            }
            let event = Event::Request {
                from: server,
                incarnation,
                to,
                request,
            };
            self.push(delay_ms, event);
        }
    }

    fn consume_applied(&mut self, server: usize) {
        for msg in self.hosts[server].take_applied() {
            let service = &mut self.services[server];
            match msg {
                ApplyMsg::Command { index, command } => {
                    assert_eq!(
                        index,
                        service.last_applied + 1,
                        "server {server} out of order"
                    );
                    service.last_applied = index;
                    let first = self.committed.entry(index).or_insert(command.clone());
                    assert_eq!(*first, command, "server {server} disagrees at {index}");
                }
                ApplyMsg::Snapshot { index, data, .. } => {
                    assert_eq!(decode_snapshot(&data), index, "snapshot data");
                    assert!(
                        index > service.last_applied,
                        "snapshot moves the service back"
                    );
                    service.last_applied = index;
                }
            }
        }
        let last_applied = self.services[server].last_applied;
        if self.snapshot_every > 0
            && last_applied.is_multiple_of(self.snapshot_every)
            && last_applied > 0
        {
            let host = &mut self.hosts[server];
            let node = self.nodes[server].as_mut().expect("up");
            let data = labgob::encode(&last_applied).expect("encodes");
            node.snapshot(&mut host.context(), last_applied, data);
            assert!(host.calls.is_empty() && host.applied.is_empty());
        }
    }

    /// Election Safety: at most one leader per term, across the whole run.
    fn check_leaders(&mut self) {
        for server in 0..self.peer_count() {
            let Some(node) = &self.nodes[server] else {
                continue;
            };
            let (term, is_leader) = node.state();
            if is_leader {
                let leader = *self.leaders.entry(term).or_insert(server);
                assert_eq!(leader, server, "two leaders in term {term}");
            }
        }
    }

    /// Go's `checkOneLeader`: the leader of the highest term among connected servers, within
    /// about 5 s.
    pub(super) fn check_one_leader(&mut self) -> usize {
        for _ in 0..10 {
            self.run_for(500);
            let mut by_term: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for server in 0..self.peer_count() {
                if self.is_up(server) && self.connected[server] {
                    let (term, is_leader) = self.node(server).state();
                    if is_leader {
                        by_term.entry(term).or_default().push(server);
                    }
                }
            }
            if let Some((term, leaders)) = by_term.last_key_value() {
                assert_eq!(leaders.len(), 1, "term {term} has leaders {leaders:?}");
                return leaders[0];
            }
        }
        panic!("expected one leader, got none");
    }

    pub(super) fn check_no_leader(&self) {
        for server in 0..self.peer_count() {
            if self.is_up(server) && self.connected[server] {
                assert!(
                    !self.node(server).state().1,
                    "{server} leads while it should not"
                );
            }
        }
    }

    /// Servers whose service has applied `index`, and the command there.
    pub(super) fn n_committed(&self, index: u64) -> (usize, Option<&Vec<u8>>) {
        let count = (0..self.peer_count())
            .filter(|&server| self.is_up(server) && self.services[server].last_applied >= index)
            .count();
        (count, self.committed.get(&index))
    }

    /// Go's `one`: submit `command` to leaders until `expected` servers apply it; its index.
    pub(super) fn one(&mut self, command: Vec<u8>, expected: usize) -> u64 {
        let give_up_ms = self.now_ms + 10_000;
        let mut server = 0;
        while self.now_ms < give_up_ms {
            let placed = (0..self.peer_count()).find_map(|_| {
                server = (server + 1) % self.peer_count();
                let reachable = self.is_up(server) && self.connected[server];
                reachable
                    .then(|| self.start(server, command.clone()))
                    .flatten()
            });
            let Some((index, _)) = placed else {
                self.run_for(50);
                continue;
            };
            for _ in 0..100 {
                self.run_for(20);
                let (count, found) = self.n_committed(index);
                if count >= expected && found == Some(&command) {
                    return index;
                }
            }
        }
        panic!("one({command:?}) failed to reach agreement");
    }

    /// The highest term among the servers that are up.
    pub(super) fn max_term(&self) -> u64 {
        (0..self.peer_count())
            .filter(|&server| self.is_up(server))
            .map(|server| self.node(server).state().0)
            .max()
            .unwrap_or(0)
    }
}

fn decode_snapshot(data: &[u8]) -> u64 {
    if data.is_empty() {
        return 0;
    }
    labgob::decode(data).expect("the service's snapshot")
}
