//! Each flaw of [`super::flaws`] biting on a hand-driven script over a scripted Raft
//! (`RecordingKvHost`), and the same script passing with the plain [`KvServer`]. Each test runs
//! the flawed service first, so a flaw left switched on would show in the plain run.

use kvraft::testing::RecordingKvHost;
use kvraft::{Err, KvService, ReplyTo};
use raft::ApplyMsg;

use super::flaws::{
    self, ExecutesResends, FlawedKv, KvFlaw, KvFlawKind, NeverSnapshots, ReadsLocally,
    SnapshotsHistory, SnapshotsWithoutResends,
};
use super::{KvOp, KvReply, KvRequest, KvServer};

type Host = RecordingKvHost<KvReply>;

/// A service under test: the plain reference or a flawed one, with its data in view.
trait Kv: KvService<Request = KvRequest, Reply = KvReply> {
    fn server(&self) -> &KvServer;

    /// The value of `key` in the applied state (`""` if missing).
    fn value(&self, key: &str) -> String {
        self.server().data().get(key).cloned().unwrap_or_default()
    }
}

impl Kv for KvServer {
    fn server(&self) -> &KvServer {
        self
    }
}

impl<F: KvFlawKind> Kv for FlawedKv<F> {
    fn server(&self) -> &KvServer {
        self.inner()
    }
}

fn request(client_id: u64, seq: u64, op: KvOp) -> KvRequest {
    KvRequest { client_id, seq, op }
}

fn append(key: &str, value: &str) -> KvOp {
    KvOp::Append {
        key: key.into(),
        value: value.into(),
    }
}

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
    }
}

/// A leading scripted host with a booted service.
fn leading<S: Kv>(max_raft_state: Option<usize>) -> (Host, S) {
    let mut host = RecordingKvHost::new(1);
    host.leader = true;
    let server = host.boot(0, 3, max_raft_state);
    (host, server)
}

/// Sends `req` with reply id `id`, then applies everything started.
fn round_trip<S: Kv>(host: &mut Host, server: &mut S, id: u64, req: KvRequest) {
    server.handle_request(&mut host.context(), req, ReplyTo::from_host(id));
    for (index, command) in std::mem::take(&mut host.started) {
        server.apply(&mut host.context(), ApplyMsg::Command { index, command });
    }
}

/// An append whose reply was lost, resent with the same sequence number: the value after.
fn resent_append<S: Kv>() -> String {
    let (mut host, mut server) = leading::<S>(None);
    round_trip(&mut host, &mut server, 1, request(7, 1, append("k", "x")));
    round_trip(&mut host, &mut server, 2, request(7, 1, append("k", "x")));
    assert_eq!(host.take_replies().len(), 2, "both answered");
    server.value("k")
}

#[test]
fn executes_resends_appends_a_resend_twice() {
    // Go's checkClntAppends: `duplicate element x 0 0 y in Append result`.
    assert_eq!(resent_append::<FlawedKv<ExecutesResends>>(), "xx");
    assert_eq!(resent_append::<KvServer>(), "x");
}

/// A leader that applied `k = a`, then was cut off in a minority while the majority committed
/// `k = b`: it still believes it leads. A Get of `k` arrives. Returns the replies sent at once
/// and the commands started in Raft.
fn get_on_a_deposed_leader<S: Kv>() -> (Vec<(u64, KvReply)>, usize) {
    let (mut host, mut server) = leading::<S>(None);
    round_trip(&mut host, &mut server, 1, request(7, 1, put("k", "a")));
    host.take_replies();
    // The partition: nothing from the majority reaches this server; its Raft still leads.
    let get = request(8, 1, KvOp::Get { key: "k".into() });
    server.handle_request(&mut host.context(), get, ReplyTo::from_host(2));
    (host.take_replies(), host.started.len())
}

#[test]
fn reads_locally_answers_a_get_in_a_minority_without_agreement() {
    // TestOnePartition3A: `Get in minority completed`, with the stale value.
    let stale = KvReply {
        err: Err::Ok,
        value: "a".into(),
    };
    assert_eq!(
        get_on_a_deposed_leader::<FlawedKv<ReadsLocally>>(),
        (vec![(2, stale)], 0)
    );
    // The reference logs the Get and waits for agreement, which a minority never reaches.
    assert_eq!(get_on_a_deposed_leader::<KvServer>(), (vec![], 1));
}

#[test]
fn reads_locally_still_sends_a_follower_elsewhere() {
    let mut host = RecordingKvHost::new(2);
    let mut server: FlawedKv<ReadsLocally> = host.boot(1, 3, None);
    let get = request(8, 1, KvOp::Get { key: "k".into() });
    server.handle_request(&mut host.context(), get, ReplyTo::from_host(3));
    assert_eq!(host.take_replies(), vec![(3, KvReply::wrong_leader())]);
}

/// 200 appends of 10 bytes with `maxraftstate` 100: the snapshots asked for and the raft-state
/// size at the end.
fn appends_under_maxraftstate<S: Kv>() -> (usize, usize) {
    const MAX_RAFT_STATE: usize = 100;
    let (mut host, mut server) = leading::<S>(Some(MAX_RAFT_STATE));
    for seq in 1..=200 {
        let req = request(7, seq, append("k", "0123456789"));
        round_trip(&mut host, &mut server, seq, req);
    }
    assert_eq!(server.value("k").len(), 2000, "every append applied");
    (host.snapshots.len(), host.raft_state_size)
}

#[test]
fn never_snapshots_lets_the_raft_state_grow_past_8_times_maxraftstate() {
    // TestSnapshotSize3B: `logs were not trimmed (%v > 8*%v)`.
    let (snapshots, size) = appends_under_maxraftstate::<FlawedKv<NeverSnapshots>>();
    assert_eq!(snapshots, 0);
    assert!(size > 8 * 100, "{size} B");
    let (snapshots, size) = appends_under_maxraftstate::<KvServer>();
    assert!(snapshots > 0);
    assert!(size <= 100, "{size} B");
}

/// An append applied and snapshotted at once (`maxraftstate` 0), whose reply is lost in a
/// crash; the restarted server gets the clerk's resend. The value before and after it.
fn resend_after_a_restart<S: Kv>() -> (String, String) {
    let (mut host, mut server) = leading::<S>(Some(0));
    round_trip(&mut host, &mut server, 1, request(7, 1, append("k", "x")));
    assert_eq!(host.snapshots.len(), 1, "snapshotted after the apply");
    drop(server); // the crash; the reply never reaches the clerk
    let mut restarted: S = host.boot(0, 3, Some(0));
    let restored = restarted.value("k");
    round_trip(
        &mut host,
        &mut restarted,
        2,
        request(7, 1, append("k", "x")),
    );
    (restored, restarted.value("k"))
}

#[test]
fn snapshots_without_resends_executes_a_resend_twice_after_a_restart() {
    // The 3B restart tests: `duplicate element %v in Append result`.
    let flawed = resend_after_a_restart::<FlawedKv<SnapshotsWithoutResends>>();
    assert_eq!(flawed, ("x".into(), "xx".into()));
    assert_eq!(
        resend_after_a_restart::<KvServer>(),
        ("x".into(), "x".into())
    );
}

/// A lagging server installs a leader's snapshot that covers an append, then leads and gets
/// the clerk's resend of it: the value after.
fn resend_after_an_installed_snapshot<S: Kv>() -> String {
    let (mut source_host, mut source) = leading::<S>(Some(0));
    let req = request(7, 1, append("k", "x"));
    round_trip(&mut source_host, &mut source, 1, req.clone());
    let (index, data) = source_host.snapshots.pop().expect("a snapshot");
    let (mut host, mut lagging) = leading::<S>(None);
    host.last_index = index;
    let install = ApplyMsg::Snapshot {
        term: 1,
        index,
        data,
    };
    lagging.apply(&mut host.context(), install);
    round_trip(&mut host, &mut lagging, 2, req);
    lagging.value("k")
}

#[test]
fn snapshots_without_resends_executes_a_resend_twice_after_an_installed_snapshot() {
    type Flawed = FlawedKv<SnapshotsWithoutResends>;
    assert_eq!(resend_after_an_installed_snapshot::<Flawed>(), "xx");
    assert_eq!(resend_after_an_installed_snapshot::<KvServer>(), "x");
}

/// TestSnapshotSize3B's loop on one server, `maxraftstate` 1000: 100 rounds of `Put x 0`,
/// `Get x`, `Put x 1`, `Get x`. Returns the largest snapshot asked for, after checking that
/// both a restart and a lagging server restore the data from the last one.
fn largest_snapshot_of_the_size_test<S: Kv>() -> usize {
    let (mut host, mut server) = leading::<S>(Some(1000));
    let get = || KvOp::Get { key: "x".into() };
    let ops = [put("x", "0"), get(), put("x", "1"), get()];
    for (seq, op) in (1..).zip(ops.iter().cycle().take(400)) {
        round_trip(&mut host, &mut server, seq, request(7, seq, op.clone()));
    }
    let (index, data) = host.snapshots.last().cloned().expect("snapshots");
    let restarted: S = host.boot(0, 3, Some(1000));
    assert_eq!(restarted.value("x"), "1", "restored from the snapshot");
    let (mut lagging_host, mut lagging) = leading::<S>(Some(1000));
    let install = ApplyMsg::Snapshot {
        term: 1,
        index,
        data,
    };
    lagging.apply(&mut lagging_host.context(), install);
    assert_eq!(lagging.server().last_applied(), index);
    assert_eq!(lagging.value("x"), "1", "installed from the snapshot");
    host.snapshots
        .iter()
        .map(|(_, bytes)| bytes.len())
        .max()
        .expect("one")
}

#[test]
fn snapshots_history_grows_the_snapshot_past_500_bytes() {
    // TestSnapshotSize3B: `snapshot too large (%v > %v)`, the bound 500 B.
    let flawed = largest_snapshot_of_the_size_test::<FlawedKv<SnapshotsHistory>>();
    assert!(flawed > 500, "{flawed} B");
    let plain = largest_snapshot_of_the_size_test::<KvServer>();
    assert!(plain <= 50, "{plain} B");
}

#[test]
fn a_flaw_is_on_only_during_calls_into_its_service() {
    let (mut host, mut server) = leading::<FlawedKv<ExecutesResends>>(None);
    round_trip(&mut host, &mut server, 1, request(7, 1, append("k", "x")));
    assert!(!flaws::is(KvFlaw::ExecutesResends));
    assert_eq!(ExecutesResends::FLAW, KvFlaw::ExecutesResends);
}
