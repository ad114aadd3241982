//! Counters, flag snapshots and the dead-server rules (spec §1.3, §1.4, §10).

use labrpc::{Caller, FailReason, Sim, SimTime, Stepped};
use proptest::prelude::*;

use crate::support::{Driver, Recorder, Req, SERVER, TestNode, link, sim_with_server};

/// `total_rpcs` counts every call that entered the network: delivered, unreachable
/// (disabled, unconnected, deleted), dropped and rejected alike.
#[test]
fn total_rpcs_counts_failed_sends() {
    let mut sim = sim_with_server(20);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    let live = link(&mut sim, SERVER);
    let disabled = sim.make_end();
    sim.connect(disabled, SERVER);
    let unconnected = sim.make_end();
    sim.enable(unconnected, true);
    let nowhere = link(&mut sim, 5);

    let ok = Req::Echo(1);
    assert!(driver.call(&mut sim, live, &ok).1.is_some());
    assert!(driver.call(&mut sim, disabled, &ok).1.is_none());
    assert!(driver.call(&mut sim, unconnected, &ok).1.is_none());
    assert!(driver.call(&mut sim, nowhere, &ok).1.is_none());
    let garbage = sim.call(live, vec![0xff; 3]);
    assert!(driver.wait(&mut sim, garbage).1.is_none());
    sim.set_reliable(false);
    for _ in 0..100 {
        sim.call(live, ok.encode());
    }
    driver.run_idle(&mut sim);
    sim.delete_server(SERVER);
    assert!(driver.call(&mut sim, live, &ok).1.is_none());

    assert_eq!(sim.total_rpcs(), 106);
    let log = log.borrow();
    assert_eq!(log.count(FailReason::Unreachable), 4);
    assert_eq!(log.count(FailReason::Rejected), 1);
    assert!(log.count(FailReason::RequestDropped) > 0);
    assert!(log.count(FailReason::ReplyDropped) > 0);
}

/// A request that does not decode still reaches the handler and counts (Go counts at the top
/// of `Server.dispatch`, before the service lookup); the caller sees a failure and no reply
/// bytes are counted.
#[test]
fn rejected_request_counts_but_fails() {
    let mut sim = sim_with_server(21);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    let call = sim.call(end, vec![0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(driver.wait(&mut sim, call).1, None);
    assert_eq!(sim.rpc_count(SERVER), 1);
    assert_eq!(sim.total_bytes(), 5);
    assert_eq!(log.borrow().count(FailReason::Rejected), 1);
}

/// `total_bytes`: every request on entry; a reply only when delivered, and a long-reordered
/// reply at delivery time, not when the handler ran. Dropped and dead replies add nothing.
#[test]
fn total_bytes_counts_replies_at_delivery() {
    let mut sim = sim_with_server(22);
    let mut driver = Driver::default();
    sim.set_long_reordering(true);
    let end = link(&mut sim, SERVER);
    let req = Req::Repeat(50);
    let (req_len, rep_len) = (
        req.encode().len() as u64,
        req.answer().encode().len() as u64,
    );

    let mut delayed_seen = false;
    for i in 0..20u64 {
        let before = sim.total_bytes();
        let call = sim.call(end, req.encode());
        assert_eq!(
            sim.total_bytes(),
            before + req_len,
            "request counted on entry"
        );
        // The handler runs now (reliable: no short delay).
        assert_eq!(sim.step(), Some(Stepped::Node(SERVER)));
        assert_eq!(sim.total_bytes(), before + req_len, "reply not yet counted");
        let handled_at = sim.now();
        let (at, reply) = driver.wait(&mut sim, call);
        assert_eq!(reply, Some(req.answer()));
        assert_eq!(
            sim.total_bytes(),
            before + req_len + rep_len,
            "counted on delivery"
        );
        if at > handled_at {
            delayed_seen = true;
            assert!(
                (200..=2199).contains(&at.millis_since(handled_at)),
                "call {i}"
            );
        }
    }
    assert!(
        delayed_seen,
        "2/3 of replies are delayed: 20 in a row undelayed is 3e-10"
    );

    // A dead reply (end disabled while in flight) adds only the request.
    let before = sim.total_bytes();
    let call = sim.call(end, req.encode());
    sim.enable(end, false);
    assert_eq!(driver.wait(&mut sim, call).1, None);
    assert_eq!(sim.total_bytes(), before + req_len);
}

/// The per-server count belongs to the server object: a replacement (restart) starts at 0;
/// a deleted server reads 0 (Go would dereference nil here).
#[test]
fn rpc_count_restarts_with_a_new_server() {
    let mut sim = sim_with_server(23);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    for i in 0..5 {
        driver.call(&mut sim, end, &Req::Echo(i));
    }
    assert_eq!(sim.rpc_count(SERVER), 5);
    sim.add_server(SERVER, TestNode::server());
    assert_eq!(sim.rpc_count(SERVER), 0, "new server object, new count");
    for i in 0..3 {
        assert!(driver.call(&mut sim, end, &Req::Echo(i)).1.is_some());
    }
    assert_eq!(sim.rpc_count(SERVER), 3);
    assert_eq!(sim.total_rpcs(), 8, "the network total does not restart");
    sim.delete_server(SERVER);
    assert!(!sim.is_alive(SERVER));
    assert_eq!(sim.rpc_count(SERVER), 0);
    // The persister outlives both: the last handler wrote its count there.
    let persisted = sim.persister(SERVER).expect("slot").raft_state().to_vec();
    assert_eq!(persisted, 3u64.to_le_bytes());
}

/// Spec §1.3 step 4: the end is disabled while the request is in flight. The handler still
/// runs and its effects stand (the node recorded it, the count rose, it persisted), but the
/// reply is discarded (`ServerDead`). Re-enabled before arrival: delivered normally (Go's
/// dead check looks at the flag when the handler finishes).
#[test]
fn disabled_while_in_flight_handler_runs_reply_dropped() {
    let mut sim = sim_with_server(24);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);

    let call = sim.call(end, Req::Echo(5).encode());
    sim.enable(end, false);
    let (at, reply) = driver.wait(&mut sim, call);
    assert_eq!((at, reply), (SimTime::ZERO, None));
    assert_eq!(log.borrow().count(FailReason::ServerDead), 1);
    assert_eq!(sim.rpc_count(SERVER), 1);
    assert_eq!(sim.node(SERVER).unwrap().handled, vec![Req::Echo(5)]);
    assert_eq!(
        sim.persister(SERVER).unwrap().raft_state(),
        1u64.to_le_bytes()
    );

    // Unreliable: disable during the short delay, at 5 ms, then re-enable at 10 ms.
    sim.enable(end, true);
    sim.set_reliable(false);
    let calls: Vec<_> = (0..300)
        .map(|i| sim.call(end, Req::Echo(i).encode()))
        .collect();
    let start = sim.now().as_millis();
    sim.schedule_wake(5, 1);
    sim.schedule_wake(10, 2);
    while driver.wakes.len() < 2 {
        driver.step(&mut sim);
        match driver.wakes.len() {
            1 if sim.is_enabled(end) => sim.enable(end, false),
            2 if !sim.is_enabled(end) => sim.enable(end, true),
            _ => {}
        }
    }
    driver.run_idle(&mut sim);
    for call in calls {
        let record = log.borrow().calls[call.0 as usize].clone();
        let Some(handled) = record.handled_at else {
            continue;
        };
        let handled = handled - start;
        // Same-instant events run in scheduling order, and every request was queued before
        // both wakes: handlers at 5 ms ran before the disable (alive), those at 10 ms before
        // the re-enable (dead).
        let dead = (6..=10).contains(&handled);
        if dead {
            assert_eq!(
                record.outcome,
                Some(Err(FailReason::ServerDead)),
                "{record:?}"
            );
        } else {
            assert_ne!(
                record.outcome,
                Some(Err(FailReason::ServerDead)),
                "{record:?}"
            );
        }
    }
    let dead = log.borrow().count(FailReason::ServerDead);
    assert!(
        dead > 20,
        "about 300·0.9·4/27 ≈ 40 handled while disabled: {dead}"
    );
}

/// A request in flight to a server that is replaced (restarted) fails with `ServerGone`;
/// neither the old nor the new object runs the handler.
#[test]
fn replaced_while_in_flight_server_gone() {
    let mut sim = sim_with_server(25);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    let call = sim.call(end, Req::Echo(5).encode());
    sim.add_server(SERVER, TestNode::server());
    assert_eq!(driver.wait(&mut sim, call).1, None);
    assert_eq!(log.borrow().count(FailReason::ServerGone), 1);
    assert_eq!(sim.rpc_count(SERVER), 0);
    assert!(sim.node(SERVER).unwrap().handled.is_empty());
    // The end still points at the server number, so the new object answers new calls.
    assert!(driver.call(&mut sim, end, &Req::Echo(6)).1.is_some());
}

/// A reply to a node that crashed or restarted since it called goes nowhere: the new
/// incarnation's `on_reply` never sees it (the test node panics on unknown calls).
#[test]
fn reply_to_a_gone_caller_vanishes() {
    let mut sim = sim_with_server(26);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    sim.set_long_reordering(true);
    let end = link(&mut sim, SERVER);
    let script = (0..30).map(|i| (end, Req::Echo(i))).collect();
    sim.add_server(1, TestNode::client(script, 30, 0));
    driver.run_until(&mut sim, 100);
    let handled = sim.rpc_count(SERVER);
    assert_eq!(
        handled, 30,
        "all handled at once; ~2/3 of the replies still delayed"
    );
    let arrived = sim.node(1).unwrap().replies.len();
    assert!(arrived > 0 && arrived < 30, "{arrived}");
    sim.add_server(1, TestNode::server());
    driver.run_idle(&mut sim);
    let log = log.borrow();
    let late = log
        .calls
        .iter()
        .filter(|r| r.outcome_at.unwrap() > 100)
        .count();
    assert_eq!(late, 30 - arrived, "late replies still reach the network");
    assert!(
        sim.node(1).unwrap().replies.is_empty(),
        "but not the new node"
    );
    assert!(
        log.calls
            .iter()
            .all(|r| matches!(r.caller, Some(Caller::Node { server: 1, .. })))
    );
}

/// Spec §10.5: `reliable` and `long_reordering` are read once, when the call is sent.
#[test]
fn flags_are_read_at_send_time() {
    let mut sim = sim_with_server(27);
    let log = Recorder::install(&mut sim);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    let send = |sim: &mut Sim<TestNode>, n: i64| {
        (0..n)
            .map(|i| sim.call(end, Req::Echo(i).encode()))
            .collect::<Vec<_>>()
    };
    let outcomes = |log: &crate::support::Log, calls: &[labrpc::CallId]| {
        calls
            .iter()
            .map(|c| log.calls[c.0 as usize].clone())
            .collect::<Vec<_>>()
    };

    // Sent reliable, network made unreliable before anything arrives: all succeed at once.
    let calls = send(&mut sim, 1000);
    sim.set_reliable(false);
    driver.run_idle(&mut sim);
    for r in outcomes(&log.borrow(), &calls) {
        assert!(matches!(r.outcome, Some(Ok(_))), "no drop: {r:?}");
        assert_eq!(r.outcome_at, Some(r.sent_at), "no short delay");
    }

    // Sent unreliable, made reliable at once: requests and replies still dropped.
    let calls = send(&mut sim, 1000);
    sim.set_reliable(true);
    driver.run_idle(&mut sim);
    let records = outcomes(&log.borrow(), &calls);
    let count = |reason| {
        records
            .iter()
            .filter(|r| r.outcome == Some(Err(reason)))
            .count()
    };
    assert!(count(FailReason::RequestDropped) > 50);
    assert!(
        count(FailReason::ReplyDropped) > 50,
        "reply drop uses the send-time flag"
    );
    assert!(records.iter().any(|r| r.handled_at != Some(r.sent_at)));

    // Reordering on at send, off before delivery: about 2/3 still delayed.
    sim.set_long_reordering(true);
    let calls = send(&mut sim, 300);
    sim.set_long_reordering(false);
    driver.run_idle(&mut sim);
    let delayed = outcomes(&log.borrow(), &calls)
        .iter()
        .filter(|r| r.outcome_at != r.handled_at)
        .count();
    assert!((150..=250).contains(&delayed), "{delayed} of 300");

    // Off at send, on before delivery: none delayed.
    let calls = send(&mut sim, 300);
    sim.set_long_reordering(true);
    driver.run_idle(&mut sim);
    assert!(
        outcomes(&log.borrow(), &calls)
            .iter()
            .all(|r| r.outcome_at == r.handled_at)
    );

    // Long delays on at send (case B), off afterwards: failures still up to 7 s.
    sim.set_long_delays(true);
    let disabled = sim.make_end();
    let calls: Vec<_> = (0..100)
        .map(|i| sim.call(disabled, Req::Echo(i).encode()))
        .collect();
    sim.set_long_delays(false);
    driver.run_idle(&mut sim);
    let latest = outcomes(&log.borrow(), &calls)
        .iter()
        .map(|r| r.outcome_at.unwrap() - r.sent_at)
        .max()
        .unwrap();
    assert!(latest >= 100, "{latest}");
}

/// Timers: a cancelled timer never fires; a replaced incarnation's timers never fire; a
/// zero-delay timer fires at the same virtual instant, after the current event.
#[test]
fn timers_fire_only_when_live() {
    let mut sim: Sim<TestNode> = Sim::new(28);
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    sim.add_server(SERVER, TestNode::server());
    let mut cancelled = None;
    sim.add_server(1, |io| {
        io.set_timer(10);
        let doomed = io.set_timer(5);
        io.cancel_timer(doomed);
        cancelled = Some(doomed);
        TestNode::default()
    });
    let zero = sim
        .with_node(1, "test", |_node, io| io.set_timer(0))
        .expect("alive");
    assert_eq!(sim.next_event_time(), Some(SimTime::ZERO));
    driver.run_until(&mut sim, 0);
    assert_eq!(sim.node(1).unwrap().timers_fired, vec![zero]);
    driver.run_until(&mut sim, 20);
    let fired = sim.node(1).unwrap().timers_fired.clone();
    assert_eq!(fired.len(), 2);
    assert!(!fired.contains(&cancelled.unwrap()));

    // A timer set by an incarnation that is then replaced never fires.
    sim.with_node(1, "test", |_node, io| io.set_timer(10));
    sim.add_server(1, TestNode::client(vec![(end, Req::Echo(1))], 1, 30));
    driver.run_idle(&mut sim);
    let node = sim.node(1).unwrap();
    assert_eq!(
        node.timers_fired.len(),
        1,
        "only the new incarnation's own timer"
    );
    assert_eq!(node.replies.len(), 1);
}

/// A node may ask for any delay: `set_timer(u64::MAX)` ("never") is scheduled at the end of
/// time, not wrapped into the past, so virtual time never goes backwards.
#[test]
fn a_timer_at_the_end_of_time_stays_in_the_future() {
    let mut sim: Sim<TestNode> = Sim::new(29);
    let mut driver = Driver::default();
    sim.add_server(1, |io| {
        io.set_timer(7);
        TestNode::default()
    });
    driver.run_until(&mut sim, 7);
    assert_eq!(sim.now(), SimTime::from_millis(7));
    let never = sim.with_node(1, "test", |_node, io| io.set_timer(u64::MAX));
    assert!(never.is_some());
    assert_eq!(sim.next_event_time(), Some(SimTime::from_millis(u64::MAX)));
    assert_eq!(sim.step(), Some(Stepped::Node(1)));
    assert_eq!(sim.now(), SimTime::from_millis(u64::MAX));
}

#[derive(Debug, Clone)]
enum Op {
    Call(usize),
    NodeCall(usize),
    Enable(usize, bool),
    Connect(usize, usize),
    Restart(usize),
    Delete(usize),
    Reliable(bool),
    LongDelays(bool),
    LongReordering(bool),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize).prop_map(Op::Call),
        2 => (0..4usize).prop_map(Op::NodeCall),
        2 => (0..4usize, any::<bool>()).prop_map(|(e, b)| Op::Enable(e, b)),
        1 => (0..4usize, 0..4usize).prop_map(|(e, s)| Op::Connect(e, s)),
        1 => (0..3usize).prop_map(Op::Restart),
        1 => (0..3usize).prop_map(Op::Delete),
        1 => any::<bool>().prop_map(Op::Reliable),
        1 => any::<bool>().prop_map(Op::LongDelays),
        1 => any::<bool>().prop_map(Op::LongReordering),
        2 => (0..3000u64).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the driver does to the network: every call ends exactly once within the
    /// model's longest delay (6999 ms case B, or 26 + 2199 ms case A); the totals add up; the
    /// observer sees every event and computes the same fingerprint.
    #[test]
    fn every_call_ends_exactly_once(seed in any::<u64>(), ops in proptest::collection::vec(op(), 1..80)) {
        let mut sim: Sim<TestNode> = Sim::new(seed);
        let log = Recorder::install(&mut sim);
        let mut driver = Driver::default();
        for server in 0..3 {
            sim.add_server(server, TestNode::server());
        }
        let ends: Vec<_> = (0..4).map(|i| link(&mut sim, i % 3)).collect();
        let mut driver_calls = Vec::new();
        let mut node_calls = 0u64;
        let mut token = 0;
        for op in ops {
            match op {
                Op::Call(e) => driver_calls.push(sim.call(ends[e], Req::Echo(e as i64).encode())),
                Op::NodeCall(e) => {
                    let issued = sim.with_node(e % 3, "call", |node, io| {
                        let req = Req::Repeat(e as u64);
                        let call = io.call(ends[e], req.encode());
                        node.outstanding.insert(call, req);
                    });
                    node_calls += u64::from(issued.is_some());
                }
                Op::Enable(e, b) => sim.enable(ends[e], b),
                Op::Connect(e, s) => sim.connect(ends[e], s),
                Op::Restart(s) => sim.add_server(s, TestNode::server()),
                Op::Delete(s) => sim.delete_server(s),
                Op::Reliable(b) => sim.set_reliable(b),
                Op::LongDelays(b) => sim.set_long_delays(b),
                Op::LongReordering(b) => sim.set_long_reordering(b),
                Op::Advance(ms) => {
                    token += 1;
                    sim.schedule_wake(ms, token);
                    while driver.wakes.last().map(|w| w.1) != Some(token) {
                        prop_assert!(driver.step(&mut sim));
                    }
                }
            }
        }
        driver.run_idle(&mut sim);

        prop_assert_eq!(driver.done.len(), driver_calls.len());
        for call in &driver_calls {
            prop_assert!(driver.done.contains_key(call));
        }
        prop_assert_eq!(sim.total_rpcs(), driver_calls.len() as u64 + node_calls);
        let log = log.borrow();
        prop_assert_eq!(log.events, sim.event_count());
        prop_assert_eq!(log.fingerprint.value(), sim.fingerprint());
        let mut bytes = 0;
        for r in &log.calls {
            let at = r.outcome_at.expect("every call ends");
            prop_assert!(at - r.sent_at <= 7000 + 2226, "{:?}", r);
            if let Some(Ok(len)) = r.outcome {
                bytes += len as u64;
                prop_assert!(r.handled_at.is_some());
            }
            if matches!(r.outcome, Some(Err(FailReason::Unreachable | FailReason::RequestDropped | FailReason::ServerGone))) {
                prop_assert!(r.handled_at.is_none());
            }
        }
        let requests: u64 = log.calls.len() as u64; // every request here encodes to 2 bytes
        prop_assert_eq!(sim.total_bytes(), 2 * requests + bytes);
    }
}

/// A node's constructor runs as that node (its log lines carry it), and the driver runs as no
/// node after it, and after a call into a node.
#[test]
fn a_booting_node_is_the_current_node_and_the_driver_is_none() {
    let mut sim: Sim<TestNode> = Sim::new(1);
    let mut seen_at_boot = None;
    sim.add_server(2, |_io| {
        seen_at_boot = Some(labrpc::current().1);
        TestNode::default()
    });
    assert_eq!(seen_at_boot, Some(Some(2)));
    assert_eq!(labrpc::current().1, None, "after the boot");
    let mut seen_inside = None;
    sim.with_node(2, "start", |_node, _io| {
        seen_inside = Some(labrpc::current().1)
    });
    assert_eq!(seen_inside, Some(Some(2)));
    assert_eq!(labrpc::current().1, None, "after a call into the node");
}

/// A node that panics leaves its simulation as it was (the driver catches the panic and ends
/// the run); the next simulation on the thread starts at time zero with no current node, so
/// its first log lines are not stamped with the dead run's node and time.
#[test]
fn a_new_simulation_is_at_time_zero_with_no_node_after_a_node_panicked() {
    let mut sim: Sim<TestNode> = Sim::new(1);
    sim.add_server(2, TestNode::server());
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim.with_node(2, "start", |_node, io| {
            io.set_timer(5);
            panic!("a node's own panic");
        })
    }));
    sim.step();
    assert_eq!(labrpc::current(), (SimTime::from_millis(5), None));
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim.with_node(2, "start", |_node, _io| panic!("a node's own panic"))
    }));
    assert_eq!(labrpc::current(), (SimTime::from_millis(5), Some(2)));
    let _next: Sim<TestNode> = Sim::new(2);
    assert_eq!(labrpc::current(), (SimTime::ZERO, None));
}

/// Incarnations count each server's boots: `S1#2` is server 1 after its first restart,
/// whatever the other servers did.
#[test]
fn incarnations_count_boots_per_server() {
    let mut sim: Sim<TestNode> = Sim::new(1);
    let log = Recorder::install(&mut sim);
    for server in [0, 1, 0, 2, 1] {
        sim.add_server(server, TestNode::server());
    }
    let boots: Vec<(u64, u64)> = log
        .borrow()
        .changes_seen
        .iter()
        .filter(|(what, ..)| *what == "add_server")
        .map(|&(_, server, incarnation)| (server, incarnation))
        .collect();
    assert_eq!(boots, [(0, 1), (1, 1), (0, 2), (2, 1), (1, 2)]);
}

/// Saves through `NodeIo` reach the persister and observers; applies reach observers, and
/// both change the fingerprint.
#[test]
fn persists_and_applies_are_observed_events() {
    let mut sim: Sim<TestNode> = Sim::new(1);
    let log = Recorder::install(&mut sim);
    sim.add_server(0, |io| {
        io.save_raft_state(vec![1, 2]);
        io.save_state_and_snapshot(vec![3], vec![4, 5, 6]);
        io.record_apply(1, None, b"x");
        TestNode::default()
    });
    let persister = sim.persister(0).unwrap();
    assert_eq!(persister.raft_state(), [3]);
    assert_eq!(persister.snapshot(), [4, 5, 6]);
    let log = log.borrow();
    assert_eq!((log.persists, log.applies), (2, 1));
    assert_eq!(log.fingerprint.value(), sim.fingerprint());
    let mut quiet: Sim<TestNode> = Sim::new(1);
    quiet.add_server(0, TestNode::server());
    assert_ne!(quiet.fingerprint(), sim.fingerprint());
}

/// `pending_bytes` counts the payload of every request not yet handled and every reply not
/// yet delivered, and nothing once they are.
#[test]
fn pending_bytes_follow_messages_in_flight() {
    let mut sim = sim_with_server(21);
    sim.set_latency(labrpc::Latency::go_local());
    let mut driver = Driver::default();
    let end = link(&mut sim, SERVER);
    assert_eq!(sim.pending_bytes(), 0);
    let args = Req::Repeat(1000).encode();
    let sent = args.len() as u64;
    let call = sim.call(end, args);
    assert_eq!(sim.pending_bytes(), sent, "the request is in flight");
    assert!(driver.step(&mut sim), "the request is handled");
    let reply = sim.pending_bytes();
    assert!(reply > 1000, "the 1000-byte reply is in flight: {reply}");
    let (_, answer) = driver.wait(&mut sim, call);
    assert!(answer.is_some());
    assert_eq!(sim.pending_bytes(), 0);
}
