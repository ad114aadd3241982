//! Unit tests of the reference key/value service and clerk: the service on a scripted Raft
//! (`RecordingKvHost`), on a real one-node [`Reference`], and the clerk over an in-memory
//! cluster that loses replies.

use std::cell::RefCell;
use std::rc::Rc;

use kvraft::testing::{RecordingKvHost, block_on, seeded_rng};
use kvraft::{
    Clerk, ClerkEnds, Err, KvContext, KvHost, KvService, LocalFuture, ReplyTo, Transport,
};
use raft::testing::RecordingHost;
use raft::{ApplyMsg, RaftNode, TimerId};

use super::{KvClerk, KvOp, KvReply, KvRequest, KvServer, LEADERSHIP_POLL_MS, WAIT_LIMIT_MS};
use crate::{Reference, Request};

fn request(client_id: u64, seq: u64, op: KvOp) -> KvRequest {
    KvRequest { client_id, seq, op }
}

fn append(key: &str, value: &str) -> KvOp {
    KvOp::Append {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

fn ok(value: &str) -> KvReply {
    KvReply {
        err: Err::Ok,
        value: value.into(),
    }
}

/// A leading scripted host with a booted server.
fn leading(max_raft_state: Option<usize>) -> (RecordingKvHost<KvReply>, KvServer) {
    let mut host = RecordingKvHost::new(1);
    host.leader = true;
    let server = host.boot(0, 3, max_raft_state);
    (host, server)
}

/// Sends `request` with reply id `id`, then applies everything started.
fn round_trip(host: &mut RecordingKvHost<KvReply>, server: &mut KvServer, id: u64, req: KvRequest) {
    server.handle_request(&mut host.context(), req, ReplyTo::from_host(id));
    for (index, command) in std::mem::take(&mut host.started) {
        server.apply(&mut host.context(), ApplyMsg::Command { index, command });
    }
}

#[test]
fn replies_wait_for_the_apply_and_carry_its_result() {
    let (mut host, mut server) = leading(None);
    let put = KvOp::Put {
        key: "k".into(),
        value: "a".into(),
    };
    server.handle_request(
        &mut host.context(),
        request(7, 1, put),
        ReplyTo::from_host(1),
    );
    assert!(host.replies.is_empty(), "answered before agreement");
    assert_eq!(server.waiting(), 1);
    round_trip(&mut host, &mut server, 2, request(7, 2, append("k", "b")));
    round_trip(&mut host, &mut server, 3, request(7, 3, get("k")));
    round_trip(&mut host, &mut server, 4, request(7, 4, get("missing")));
    let missing = KvReply {
        err: Err::ErrNoKey,
        value: String::new(),
    };
    let replies = host.take_replies();
    assert_eq!(
        replies,
        vec![(1, ok("")), (2, ok("")), (3, ok("ab")), (4, missing)]
    );
    assert_eq!(server.waiting(), 0);
}

#[test]
fn a_follower_answers_wrong_leader_at_once() {
    let mut host = RecordingKvHost::new(2);
    let mut server: KvServer = host.boot(1, 3, None);
    server.handle_request(
        &mut host.context(),
        request(7, 1, get("k")),
        ReplyTo::from_host(9),
    );
    assert_eq!(host.take_replies(), vec![(9, KvReply::wrong_leader())]);
    assert!(host.started.is_empty());
}

#[test]
fn a_resent_append_executes_once() {
    let (mut host, mut server) = leading(None);
    round_trip(&mut host, &mut server, 1, request(7, 1, append("k", "x")));
    // The reply was lost; the clerk resends the same operation, which is logged again.
    round_trip(&mut host, &mut server, 2, request(7, 1, append("k", "x")));
    round_trip(&mut host, &mut server, 3, request(8, 1, append("k", "y")));
    assert_eq!(server.data().get("k").map(String::as_str), Some("xy"));
    assert_eq!(
        host.take_replies().len(),
        3,
        "the resend is answered Ok too"
    );
}

#[test]
fn another_command_at_my_index_means_leadership_was_lost() {
    let (mut host, mut server) = leading(None);
    server.handle_request(
        &mut host.context(),
        request(7, 1, get("k")),
        ReplyTo::from_host(1),
    );
    let (index, _) = host.started.pop().expect("started");
    // A new leader's entry overwrote ours at that index.
    let theirs = labgob::encode(&request(8, 1, append("k", "z"))).expect("encodes");
    server.apply(
        &mut host.context(),
        ApplyMsg::Command {
            index,
            command: theirs,
        },
    );
    assert_eq!(host.take_replies(), vec![(1, KvReply::wrong_leader())]);
    assert_eq!(server.data().get("k").map(String::as_str), Some("z"));
}

#[test]
fn the_poll_answers_requests_of_a_lost_term_and_those_waiting_too_long() {
    let (mut host, mut server) = leading(None);
    server.handle_request(
        &mut host.context(),
        request(7, 1, get("k")),
        ReplyTo::from_host(1),
    );
    let poll = fire_next_timer(&mut host, &mut server);
    assert_eq!(host.now_ms, LEADERSHIP_POLL_MS);
    assert!(
        host.replies.is_empty(),
        "still leading in its term at {poll:?}"
    );
    host.term = 2; // a new term: ours may never commit
    fire_next_timer(&mut host, &mut server);
    assert_eq!(host.take_replies(), vec![(1, KvReply::wrong_leader())]);
    assert!(host.timers.is_empty(), "no poll while nothing waits");

    server.handle_request(
        &mut host.context(),
        request(7, 2, get("k")),
        ReplyTo::from_host(2),
    );
    let started_ms = host.now_ms;
    while host.replies.is_empty() {
        fire_next_timer(&mut host, &mut server);
    }
    assert_eq!(host.now_ms - started_ms, WAIT_LIMIT_MS);
    assert_eq!(host.take_replies(), vec![(2, KvReply::wrong_leader())]);
}

fn fire_next_timer(host: &mut RecordingKvHost<KvReply>, server: &mut KvServer) -> TimerId {
    let (&timer, &at_ms) = host
        .timers
        .iter()
        .min_by_key(|&(_, &at)| at)
        .expect("a timer");
    host.timers.remove(&timer);
    host.now_ms = at_ms;
    server.handle_timer(&mut host.context(), timer);
    timer
}

#[test]
fn it_snapshots_near_maxraftstate_and_a_restart_restores_data_and_duplicates() {
    let (mut host, mut server) = leading(Some(300));
    for seq in 1..=100 {
        round_trip(
            &mut host,
            &mut server,
            seq,
            request(7, seq, append("k", "x")),
        );
    }
    assert!(!host.snapshots.is_empty(), "never snapshotted");
    let (index, _) = *host.snapshots.last().expect("one");
    assert!(index <= server.last_applied());
    // Crash after the snapshot: the new incarnation restores from it.
    let mut restarted: KvServer = host.boot(0, 3, Some(300));
    assert_eq!(restarted.last_applied(), index);
    let expected = "x".repeat(usize::try_from(index).expect("small"));
    assert_eq!(restarted.data().get("k"), Some(&expected));
    // A resend of an operation inside the snapshot is still a duplicate.
    round_trip(
        &mut host,
        &mut restarted,
        99,
        request(7, index, append("k", "x")),
    );
    assert_eq!(restarted.data().get("k"), Some(&expected));
}

#[test]
fn an_installed_snapshot_replaces_the_state_and_releases_covered_requests() {
    let (mut source_host, mut source) = leading(Some(0)); // snapshots after every apply
    round_trip(
        &mut source_host,
        &mut source,
        1,
        request(7, 1, append("k", "s")),
    );
    let (index, data) = source_host.snapshots.pop().expect("a snapshot");

    let (mut host, mut server) = leading(None);
    server.handle_request(
        &mut host.context(),
        request(8, 1, get("k")),
        ReplyTo::from_host(5),
    );
    server.apply(
        &mut host.context(),
        ApplyMsg::Snapshot {
            term: 1,
            index,
            data,
        },
    );
    assert_eq!(server.data().get("k").map(String::as_str), Some("s"));
    assert_eq!(host.take_replies(), vec![(5, KvReply::wrong_leader())]);
    assert_eq!(server.waiting(), 0);
}

// ----- on a real Raft: one Reference node and the service, in one hand-driven host -----

/// A one-server "cluster": the reference Raft (which leads alone) and the service, with the
/// host's duties done by hand: applies handed to the service after each Raft input, the
/// service's snapshots handed to Raft after each batch.
struct OneNode {
    raft_host: RecordingHost<Request>,
    raft: Reference,
    kv: Option<KvServer>,
    snapshots: Vec<(u64, Vec<u8>)>,
    replies: Vec<(u64, KvReply)>,
    next_kv_timer: u64,
    kv_rng: rand_chacha::ChaCha8Rng,
}

/// The service's view of [`OneNode`] while it handles one input.
struct KvSide<'a> {
    node: &'a mut OneNode,
}

impl KvHost<KvReply> for KvSide<'_> {
    fn now_ms(&self) -> u64 {
        self.node.raft_host.now_ms
    }
    fn rng(&mut self) -> &mut dyn rand_core::RngCore {
        &mut self.node.kv_rng
    }
    fn start(&mut self, command: Vec<u8>) -> Option<(u64, u64)> {
        let node = &mut *self.node;
        node.raft.start(&mut node.raft_host.context(), command)
    }
    fn raft_state(&self) -> (u64, bool) {
        self.node.raft.state()
    }
    fn raft_state_size(&self) -> usize {
        self.node.raft_host.raft_state.len()
    }
    fn snapshot(&mut self, index: u64, snapshot: Vec<u8>) {
        self.node.snapshots.push((index, snapshot));
    }
    fn reply(&mut self, reply_to: ReplyTo, reply: KvReply) {
        self.node.replies.push((reply_to.host_id(), reply));
    }
    fn set_timer(&mut self, _delay_ms: u64) -> TimerId {
        self.node.next_kv_timer += 1;
        TimerId(u64::MAX - self.node.next_kv_timer) // never fired here
    }
    fn cancel_timer(&mut self, _timer: TimerId) {}
}

impl OneNode {
    fn boot(raft_host: RecordingHost<Request>, max_raft_state: Option<usize>) -> OneNode {
        let mut raft_host = raft_host;
        let snapshot = raft_host.snapshot.clone();
        let raft: Reference = raft_host.boot(0, 1);
        let mut node = OneNode {
            raft_host,
            raft,
            kv: None,
            snapshots: Vec::new(),
            replies: Vec::new(),
            next_kv_timer: 0,
            kv_rng: seeded_rng(5),
        };
        let init = kvraft::KvInit {
            me: 0,
            peer_count: 1,
            max_raft_state,
            snapshot,
        };
        let kv = KvServer::new(&mut KvContext::new(&mut KvSide { node: &mut node }), init);
        node.kv = Some(kv);
        node
    }

    /// After a Raft input: hand every applied message to the service, then its snapshots to
    /// Raft, until nothing is left.
    fn drain(&mut self) {
        loop {
            let applied = self.raft_host.take_applied();
            let snapshots = std::mem::take(&mut self.snapshots);
            if applied.is_empty() && snapshots.is_empty() {
                return;
            }
            let mut kv = self.kv.take().expect("booted");
            for msg in applied {
                kv.apply(&mut KvContext::new(&mut KvSide { node: self }), msg);
            }
            self.kv = Some(kv);
            for (index, bytes) in std::mem::take(&mut self.snapshots) {
                self.raft
                    .snapshot(&mut self.raft_host.context(), index, bytes);
            }
        }
    }

    fn fire_raft_timers_until_leader(&mut self) {
        while !self.raft.state().1 {
            self.raft_host
                .fire_timer(&mut self.raft)
                .expect("an election timer");
            self.drain();
        }
    }

    fn request(&mut self, id: u64, request: KvRequest) {
        let mut kv = self.kv.take().expect("booted");
        let reply_to = ReplyTo::from_host(id);
        kv.handle_request(
            &mut KvContext::new(&mut KvSide { node: self }),
            request,
            reply_to,
        );
        self.kv = Some(kv);
        self.drain();
        // The reference replicates on a timer of 0 ms: fire what is due now.
        while self.raft_host.next_timer_ms() == Some(self.raft_host.now_ms) {
            self.raft_host.fire_timer(&mut self.raft);
            self.drain();
        }
    }
}

#[test]
fn on_the_reference_raft_ops_commit_snapshots_trim_and_a_restart_restores() {
    let mut node = OneNode::boot(RecordingHost::new(3), Some(400));
    node.fire_raft_timers_until_leader();
    for seq in 1..=40 {
        node.request(seq, request(7, seq, append("k", "ab")));
    }
    node.request(41, request(7, 41, get("k")));
    let expected = "ab".repeat(40);
    assert_eq!(node.replies.last(), Some(&(41, ok(&expected))));
    assert_eq!(node.replies.len(), 41);
    let raft_state = node.raft_host.raft_state.len();
    assert!(raft_state <= 400, "raft state not trimmed: {raft_state} B");
    assert!(!node.raft_host.snapshot.is_empty(), "no snapshot persisted");

    let mut crashed = node.raft_host;
    crashed.crash();
    let mut node = OneNode::boot(crashed, Some(400));
    node.fire_raft_timers_until_leader();
    node.request(1, request(7, 40, append("k", "ab"))); // a resend: not again
    node.request(2, request(7, 42, get("k")));
    assert_eq!(node.replies.last(), Some(&(2, ok(&expected))));
}

// ----- the clerk over an in-memory cluster -----

/// Servers that execute at once and lose every `lose_every`-th reply; one of them leads.
struct Cluster {
    host: RecordingKvHost<KvReply>,
    server: KvServer,
    leader_end: usize,
    calls: u64,
    lose_every: u64,
    sleeps_ms: u64,
}

struct ClusterEnds(Rc<RefCell<Cluster>>);

impl Transport for ClusterEnds {
    fn end_count(&self) -> usize {
        3
    }
    fn call(&self, end: usize, args: Vec<u8>) -> LocalFuture<'_, Option<Vec<u8>>> {
        let mut cluster = self.0.borrow_mut();
        let cluster = &mut *cluster;
        cluster.calls += 1;
        let reply = if end == cluster.leader_end {
            let request: KvRequest = labgob::decode(&args).expect("a request");
            round_trip(
                &mut cluster.host,
                &mut cluster.server,
                cluster.calls,
                request,
            );
            let (_, reply) = cluster.host.replies.pop().expect("answered");
            reply
        } else {
            KvReply::wrong_leader()
        };
        let lost = cluster.calls.is_multiple_of(cluster.lose_every);
        let bytes = (!lost).then(|| labgob::encode(&reply).expect("encodes"));
        Box::pin(std::future::ready(bytes))
    }
    fn sleep_ms(&self, delay_ms: u64) -> LocalFuture<'_, ()> {
        self.0.borrow_mut().sleeps_ms += delay_ms;
        Box::pin(std::future::ready(()))
    }
}

#[test]
fn the_clerk_finds_the_leader_resends_and_each_append_executes_once() {
    let (host, server) = leading(None);
    let cluster = Rc::new(RefCell::new(Cluster {
        host,
        server,
        leader_end: 2,
        calls: 0,
        lose_every: 4,
        sleeps_ms: 0,
    }));
    let ends = ClerkEnds::new(Box::new(ClusterEnds(Rc::clone(&cluster))));
    let mut clerk = KvClerk::new(ends, Box::new(seeded_rng(4)));
    assert!(clerk.client_id() < 1 << 62);
    let mut expected = String::new();
    for i in 0..10 {
        let value = format!("<{i}>");
        block_on(clerk.append("k", &value));
        expected.push_str(&value);
    }
    assert_eq!(block_on(clerk.get("k")), expected);
    assert_eq!(block_on(clerk.get("nothing")), "");
    let cluster = cluster.borrow();
    assert_eq!(cluster.server.data().get("k"), Some(&expected));
    // Lost replies make the clerk go round the others and pause before coming back.
    assert!(cluster.sleeps_ms > 0);
}
