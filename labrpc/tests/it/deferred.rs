//! Deferred replies (`NodeIo::defer_reply`, spec §5.3): the answer takes the synchronous
//! path, and a caller waiting on a dead request fails at Go's next 100 ms poll.

use std::collections::BTreeMap;

use labrpc::{CallId, EndId, Node, NodeIo, Sim, SimTime, Stepped, TimerId};

/// Defers every request (its bytes: how long to hold it, in ms, as one byte) and answers it
/// with the same bytes when a timer fires.
#[derive(Default)]
struct Holder {
    holding: BTreeMap<TimerId, CallId>,
    /// What each late `reply` returned, in order.
    answered: Vec<bool>,
}

impl Node for Holder {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let call = io.defer_reply();
        let timer = io.set_timer(u64::from(args[0]));
        self.holding.insert(timer, call);
        None
    }
    fn on_reply(&mut self, _: &mut NodeIo<'_>, _: CallId, _: Option<Vec<u8>>) {}
    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: TimerId) {
        let call = self.holding.remove(&timer).expect("a held request");
        let delivered = io.reply(call, vec![7]);
        self.answered.push(delivered);
    }
}

/// Something the test does to the network at a given time.
type Action = Box<dyn FnOnce(&mut Sim<Holder>)>;

fn one_server(seed: u64) -> (Sim<Holder>, EndId) {
    let mut sim = Sim::new(seed);
    sim.add_server(0, |_| Holder::default());
    let end = sim.make_end();
    sim.connect(end, 0);
    sim.enable(end, true);
    (sim, end)
}

/// Steps until `call` is done, running `at_ms` actions when their time comes. Returns the
/// outcome and when it arrived.
fn await_call(
    sim: &mut Sim<Holder>,
    call: CallId,
    mut actions: Vec<(u64, Action)>,
) -> (Option<Vec<u8>>, SimTime) {
    for (token, (at_ms, _)) in actions.iter().enumerate() {
        sim.schedule_wake(*at_ms, token as u64);
    }
    let mut actions: Vec<_> = actions.drain(..).map(|(_, f)| Some(f)).collect();
    loop {
        match sim.step().expect("the call is still pending") {
            Stepped::CallDone { call: done, reply } if done == call => return (reply, sim.now()),
            Stepped::Wake(token) => {
                let action = actions[token as usize].take().expect("once");
                action(sim);
            }
            _ => {}
        }
    }
}

#[test]
fn a_deferred_reply_arrives_when_the_node_answers() {
    let (mut sim, end) = one_server(1);
    let call = sim.call(end, vec![40]);
    let (reply, at) = await_call(&mut sim, call, Vec::new());
    assert_eq!(reply, Some(vec![7]));
    assert_eq!(at, SimTime::from_millis(40));
    assert_eq!(sim.deferred_replies(), 0);
    assert_eq!(sim.node(0).expect("alive").answered, vec![true]);
}

#[test]
fn a_crash_fails_a_waiting_call_at_the_next_100_ms_poll() {
    let (mut sim, end) = one_server(2);
    let call = sim.call(end, vec![250]);
    let crash: Action = Box::new(|sim| sim.delete_server(0));
    let (reply, at) = await_call(&mut sim, call, vec![(130, crash)]);
    assert_eq!(reply, None);
    assert_eq!(
        at,
        SimTime::from_millis(200),
        "Go polls at start + 100·k ms"
    );
    assert_eq!(sim.deferred_replies(), 0);
}

#[test]
fn a_restart_fails_the_old_incarnations_waiting_calls() {
    let (mut sim, end) = one_server(3);
    let call = sim.call(end, vec![250]);
    let restart: Action = Box::new(|sim| sim.add_server(0, |_| Holder::default()));
    let (reply, at) = await_call(&mut sim, call, vec![(100, restart)]);
    assert_eq!(reply, None);
    assert_eq!(
        at,
        SimTime::from_millis(100),
        "a change on a boundary is seen there"
    );
}

#[test]
fn a_disconnect_that_heals_between_polls_goes_unnoticed() {
    let (mut sim, end) = one_server(4);
    let call = sim.call(end, vec![150]);
    let off: Action = Box::new(move |sim| sim.enable(end, false));
    let on: Action = Box::new(move |sim| sim.enable(end, true));
    let (reply, at) = await_call(&mut sim, call, vec![(20, off), (60, on)]);
    assert_eq!(reply, Some(vec![7]));
    assert_eq!(at, SimTime::from_millis(150));
}

#[test]
fn a_reply_to_a_call_already_failed_is_discarded() {
    let (mut sim, end) = one_server(5);
    let call = sim.call(end, vec![250]);
    let off: Action = Box::new(move |sim| sim.enable(end, false));
    let (reply, at) = await_call(&mut sim, call, vec![(50, off)]);
    assert_eq!((reply, at), (None, SimTime::from_millis(100)));
    while sim.step().is_some() {}
    assert_eq!(sim.node(0).expect("alive").answered, vec![false]);
}

#[test]
fn the_reply_drop_follows_the_flag_at_request_time() {
    let (mut sim, end) = one_server(6);
    let calls: Vec<CallId> = (0..60).map(|_| sim.call(end, vec![30])).collect();
    // Unreliable from now on: the requests above were sent reliable, so no reply is dropped.
    sim.set_reliable(false);
    let mut done = 0;
    while let Some(stepped) = sim.step() {
        if let Stepped::CallDone { call, reply } = stepped {
            assert!(calls.contains(&call));
            assert_eq!(reply, Some(vec![7]), "{call:?}");
            done += 1;
        }
    }
    assert_eq!(done, calls.len());
}
