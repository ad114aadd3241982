//! Duplicated, stale deliveries ([`Duplicates`]): a copy of a handled request reaches the
//! server again later, its reply is discarded, the caller gets exactly one outcome, the
//! copies draw only from `network/duplicate`, and off means no copy at all.

use std::rc::Rc;

use labrpc::{Duplicates, Sim};

use crate::support::{Driver, Log, Recorder, Req, SERVER, TestNode, link, sim_with_server};

/// Every handled request is copied, 1..=50 ms later.
const ALWAYS: Duplicates = Duplicates {
    per_mille: 1000,
    max_delay_ms: 50,
};

#[test]
fn a_copy_reaches_the_server_after_the_original_and_its_reply_is_discarded() {
    let mut sim = sim_with_server(7);
    let log = Recorder::install(&mut sim);
    sim.set_duplicates(ALWAYS);
    let end = link(&mut sim, SERVER);
    let mut driver = Driver::default();
    let (_, reply) = driver.call(&mut sim, end, &Req::Echo(5));
    assert_eq!(reply, Some(Req::Echo(5).answer()));
    let handled_at_ms = log.borrow().calls[0].handled_at.expect("handled");
    driver.run_idle(&mut sim);
    // The handler ran twice; the caller saw one call and one outcome (`Driver::step` and the
    // recorder assert no second outcome).
    let node = sim.node(SERVER).expect("alive");
    assert_eq!(node.handled, vec![Req::Echo(5), Req::Echo(5)]);
    assert_eq!(driver.done.len(), 1);
    let log = log.borrow();
    assert_eq!(log.calls.len(), 1);
    assert_eq!(log.externals, 1, "one duplicate delivered");
    assert!(log.calls[0].outcome.is_some());
    assert!(sim.now().as_millis() > handled_at_ms, "the copy came later");
    assert!(sim.now().as_millis() <= handled_at_ms + ALWAYS.max_delay_ms);
}

/// A client node's 60 calls, 4 at a time, on an unreliable network with long reordering, with
/// `duplicates` set (or never set): the recorder's log and what the server handled.
fn workload(seed: u64, duplicates: Option<Duplicates>) -> (Log, Vec<Req>) {
    let mut sim: Sim<TestNode> = sim_with_server(seed);
    sim.set_reliable(false);
    sim.set_long_reordering(true);
    if let Some(duplicates) = duplicates {
        sim.set_duplicates(duplicates);
    }
    let end = link(&mut sim, SERVER);
    let script = (0..60).map(|n| (end, Req::Echo(n))).collect();
    sim.add_server(1, TestNode::client(script, 4, 10));
    // From here on, the only external events are delivered copies.
    let log = Recorder::install(&mut sim);
    Driver::default().run_idle(&mut sim);
    let handled = sim.node(SERVER).expect("alive").handled.clone();
    drop(sim);
    let log = Rc::try_unwrap(log).expect("one owner").into_inner();
    (log, handled)
}

/// Each call's life as the caller and the network see it: sent, handled, outcome and when.
fn lives(log: &Log) -> Vec<String> {
    log.calls
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {:?}",
                r.sent_at, r.handled_at, r.outcome_at, r.outcome
            )
        })
        .collect()
}

#[test]
fn copies_draw_only_from_their_own_stream_and_each_call_has_one_outcome() {
    for seed in 1..=5 {
        let (off, off_handled) = workload(seed, None);
        let (on, on_handled) = workload(
            seed,
            Some(Duplicates {
                per_mille: 500,
                max_delay_ms: 300,
            }),
        );
        // The fault model's draws are the same: every call is sent, handled, lost or
        // answered exactly as without copies, with exactly one outcome each.
        assert_eq!(lives(&off), lives(&on), "seed {seed}");
        assert!(on.calls.iter().all(|r| r.outcome.is_some()), "seed {seed}");
        // The copies are extra handler runs, nothing else.
        assert!(on.externals > 0, "seed {seed}: some copies delivered");
        assert_eq!(
            on_handled.len() as u64,
            off_handled.len() as u64 + on.externals,
            "seed {seed}"
        );
        let mut originals = on_handled.iter();
        assert!(
            off_handled
                .iter()
                .all(|req| originals.any(|seen| seen == req)),
            "seed {seed}: the originals are handled in the same order"
        );
    }
}

#[test]
fn off_means_no_copy() {
    for duplicates in [None, Some(Duplicates::default())] {
        let (log, handled) = workload(3, duplicates);
        assert_eq!(log.externals, 0, "{duplicates:?}");
        let handled_calls = log.calls.iter().filter(|r| r.handled_at.is_some()).count();
        assert_eq!(handled.len(), handled_calls, "{duplicates:?}");
    }
}
