//! The event model: what becomes an arrow, a band, a span, a tick.

use labrpc::{CallId, Caller, EndId, EventRecord, FailReason, SimTime, TimerId};
use raft::{LogTerms, RaftView};

use super::model::{Builder, Fate, Role, SpanKind, TickKind, Timeline};

fn debug_text(bytes: &[u8]) -> String {
    format!("AppendEntries({bytes:?})")
}

fn builder(servers: usize) -> Builder {
    Builder::new(servers, (Some(debug_text), Some(debug_text)))
}

fn ms(at: u64) -> SimTime {
    SimTime::from_millis(at)
}

fn node(server: usize, incarnation: u64) -> Caller {
    Caller::Node {
        server,
        incarnation,
    }
}

/// Boots `servers` servers the way the config does: each one's ends, connected to every
/// server, then the server, then its ends enabled.
fn boot_all(b: &mut Builder, servers: usize) {
    let mut end = 0;
    for i in 0..servers {
        for j in 0..servers {
            b.on_event(ms(0), &change("connect", end, j as u64));
            end += 1;
        }
        b.on_event(ms(0), &change("add_server", i as u64, 1));
    }
    for end in 0..(servers * servers) as u64 {
        b.on_event(ms(0), &change("enable", end, 1));
    }
}

fn change(what: &'static str, target: u64, value: u64) -> EventRecord<'static> {
    EventRecord::NetworkChange {
        what,
        target,
        value,
    }
}

fn view(term: u64, is_leader: bool, voted_for: Option<usize>, commit_index: u64) -> RaftView {
    RaftView {
        term,
        voted_for,
        is_leader,
        commit_index,
        log_terms: LogTerms::repeat(1, 5),
        ..RaftView::default()
    }
}

#[test]
fn a_call_is_a_request_arrow_and_a_reply_arrow_with_its_fate() {
    let mut b = builder(3);
    boot_all(&mut b, 3);
    // S0 calls S1 through end 1 (S0's second end), S1 handles, S0 gets the reply.
    let send = |call| EventRecord::Send {
        call: CallId(call),
        caller: node(0, 1),
        end: EndId(1),
        args: &[7],
    };
    b.on_event(ms(10), &send(1));
    b.on_event(
        ms(12),
        &EventRecord::Handle {
            call: CallId(1),
            server: 1,
        },
    );
    let ok = EventRecord::Outcome {
        call: CallId(1),
        caller: node(0, 1),
        reply: Ok(&[8]),
    };
    b.on_event(ms(14), &ok);
    // A second call is dropped; a third is delivered 300 ms late and its reply dropped.
    b.on_event(ms(20), &send(2));
    let dropped = Err(FailReason::RequestDropped);
    b.on_event(
        ms(25),
        &EventRecord::Outcome {
            call: CallId(2),
            caller: node(0, 1),
            reply: dropped,
        },
    );
    b.on_event(ms(30), &send(3));
    b.on_event(
        ms(330),
        &EventRecord::Handle {
            call: CallId(3),
            server: 1,
        },
    );
    let lost = Err(FailReason::ReplyDropped);
    b.on_event(
        ms(331),
        &EventRecord::Outcome {
            call: CallId(3),
            caller: node(0, 1),
            reply: lost,
        },
    );
    let t = b.finish();
    assert_eq!(t.messages.len(), 3);
    let first = &t.messages[0];
    assert_eq!((first.from, first.to), (Some(0), Some(1)));
    assert_eq!(t.text(first.kind), "AppendEntries");
    assert_eq!(t.text(first.request), "AppendEntries([7])");
    assert_eq!(t.text(first.reply), "AppendEntries([8])");
    assert_eq!(first.handled.map(|h| h.0), Some(12_000));
    assert_eq!(first.outcome.map(|o| o.0), Some(14_000));
    assert_eq!((first.fate, first.delayed), (Fate::Replied, false));
    let second = &t.messages[1];
    assert_eq!(
        (second.fate, second.handled, second.reply),
        (Fate::RequestDropped, None, 0)
    );
    let third = &t.messages[2];
    assert_eq!((third.fate, third.delayed), (Fate::ReplyDropped, true));
}

#[test]
fn a_reply_to_a_caller_that_restarted_is_marked_caller_gone() {
    let mut b = builder(2);
    boot_all(&mut b, 2);
    let send = EventRecord::Send {
        call: CallId(1),
        caller: node(0, 1),
        end: EndId(1),
        args: &[],
    };
    b.on_event(ms(1), &send);
    b.on_event(
        ms(2),
        &EventRecord::Handle {
            call: CallId(1),
            server: 1,
        },
    );
    b.on_event(ms(3), &change("delete_server", 0, 0));
    b.on_event(ms(4), &change("add_server", 0, 2));
    let outcome = EventRecord::Outcome {
        call: CallId(1),
        caller: node(0, 1),
        reply: Ok(&[]),
    };
    b.on_event(ms(5), &outcome);
    let t = b.finish();
    assert_eq!(t.messages[0].fate, Fate::CallerGone);
    let down: Vec<_> = t
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Down)
        .collect();
    assert_eq!(down.len(), 1);
    assert_eq!(
        (down[0].node, down[0].from_us, down[0].to_us),
        (Some(0), 3_000, 4_000)
    );
}

#[test]
fn views_become_role_and_term_bands_and_commit_ticks() {
    let mut b = builder(3);
    boot_all(&mut b, 3);
    b.on_view(ms(0), 1, &view(0, false, None, 0));
    b.on_event(
        ms(300),
        &EventRecord::Timer {
            server: 1,
            timer: TimerId(4),
        },
    );
    b.on_view(ms(300), 1, &view(1, false, Some(1), 0));
    b.on_view(ms(310), 1, &view(1, true, Some(1), 0));
    // An unchanged view adds nothing; a commit-index advance is a tick.
    b.on_view(ms(320), 1, &view(1, true, Some(1), 0));
    b.on_view(ms(330), 1, &view(1, true, Some(1), 3));
    b.on_event(ms(400), &change("delete_server", 1, 0));
    b.on_event(ms(500), &EventRecord::Wake { token: 1 });
    let t: Timeline = b.finish();
    let bands: Vec<_> = t
        .bands
        .iter()
        .filter(|b| b.node == 1)
        .map(|b| (b.from_us, b.to_us, b.role, b.term))
        .collect();
    assert_eq!(
        bands,
        [
            (0, 300_000, Role::Follower, 0),
            (300_000, 310_000, Role::Candidate, 1),
            (310_000, 400_000, Role::Leader, 1),
        ]
    );
    assert_eq!(t.views.len(), 4, "the unchanged view is not kept");
    let ticks: Vec<_> = t
        .ticks
        .iter()
        .map(|k| (k.kind, t.text(k.text).to_owned()))
        .collect();
    assert!(
        ticks.contains(&(TickKind::Timer, "timer 4 fired".to_owned())),
        "{ticks:?}"
    );
    assert!(
        ticks.contains(&(TickKind::Commit, "commit index 0 -> 3".to_owned())),
        "{ticks:?}"
    );
    assert!(
        t.spans
            .iter()
            .any(|s| s.kind == SpanKind::Down && s.node == Some(1) && s.from_us == 400_000)
    );
}

#[test]
fn disconnections_partitions_and_unreliable_periods_are_spans() {
    let mut b = builder(3);
    boot_all(&mut b, 3);
    b.on_event(ms(5), &change("reliable", 0, 0));
    // S2 loses its end to S0 (end 6): partial; then to S1 (end 7): disconnected.
    b.on_event(ms(10), &change("enable", 6, 0));
    b.on_event(ms(20), &change("enable", 7, 0));
    b.on_event(ms(30), &change("enable", 6, 1));
    b.on_event(ms(30), &change("enable", 7, 1));
    b.on_event(ms(40), &change("long_reordering", 0, 1));
    b.on_event(ms(50), &change("reliable", 0, 1));
    let t = b.finish();
    let spans: Vec<_> = t
        .spans
        .iter()
        .map(|s| (s.kind, s.node, s.from_us, s.to_us))
        .collect();
    assert_eq!(
        spans,
        [
            (SpanKind::Unreliable, None, 5_000, 50_000),
            (SpanKind::Partial, Some(2), 10_000, 20_000),
            (SpanKind::Disconnected, Some(2), 20_000, 30_000),
            (SpanKind::LongReordering, None, 40_000, 50_000),
        ]
    );
}

#[test]
fn applies_persists_and_tester_calls_are_ticks_and_logs_keep_their_event() {
    let mut b = builder(1);
    boot_all(&mut b, 1);
    b.on_event(
        ms(1),
        &EventRecord::External {
            server: 0,
            what: "start",
        },
    );
    b.on_log(ms(1), Some(0), 4, "election", "S0 <script>");
    b.on_event(
        ms(2),
        &EventRecord::Persist {
            server: 0,
            raft_state: &[0; 25],
            snapshot: None,
        },
    );
    let command = crate::command::int_command(101);
    b.on_event(
        ms(3),
        &EventRecord::Apply {
            server: 0,
            index: 1,
            snapshot_term: None,
            data: &command,
        },
    );
    b.on_event(
        ms(4),
        &EventRecord::External {
            server: 0,
            what: "snapshot",
        },
    );
    let t = b.finish();
    let ticks: Vec<_> = t
        .ticks
        .iter()
        .map(|k| (k.kind, t.text(k.text).to_owned()))
        .collect();
    assert_eq!(
        ticks,
        [
            (TickKind::Start, "tester: start".to_owned()),
            (TickKind::Persist, "persist: state 25 B".to_owned()),
            (TickKind::Apply, "apply index 1: 101".to_owned()),
            (TickKind::Snapshot, "tester: snapshot".to_owned()),
        ]
    );
    let log = t.logs[0];
    assert_eq!(
        (log.node, log.at_us, log.event, log.level),
        (Some(0), 1_000, t.ticks[0].event, 4)
    );
    assert_eq!(
        (t.text(log.target), t.text(log.message)),
        ("election", "S0 <script>")
    );
}

/// A view is numbered by the input it follows, and so is what the node did during that input:
/// the page shows a send's "before" and "after" as the state around the whole input.
#[test]
fn events_during_an_input_carry_the_inputs_number() {
    let mut b = builder(2);
    boot_all(&mut b, 2);
    b.on_event(
        ms(1),
        &EventRecord::Timer {
            server: 0,
            timer: TimerId(1),
        },
    );
    let send = EventRecord::Send {
        call: CallId(1),
        caller: node(0, 1),
        end: EndId(1),
        args: &[],
    };
    b.on_event(ms(1), &send);
    b.on_event(
        ms(1),
        &EventRecord::Persist {
            server: 0,
            raft_state: &[1],
            snapshot: None,
        },
    );
    b.on_view(ms(1), 0, &view(1, false, Some(0), 0));
    let t = b.finish();
    let timer = t
        .ticks
        .iter()
        .find(|k| k.kind == TickKind::Timer)
        .unwrap()
        .event;
    let persist = t
        .ticks
        .iter()
        .find(|k| k.kind == TickKind::Persist)
        .unwrap()
        .event;
    assert_eq!(t.messages[0].sent_input, timer);
    assert_eq!(t.messages[0].sent.1, timer + 1);
    assert_eq!(persist, timer);
    assert_eq!(t.views.last().unwrap().event, timer);
}
