//! Traces: one line per simulated event (virtual time, kind, ids, sizes), written to a file or
//! collected, for `scripts/replay` and for the hunt's failing runs.
//!
//! A [`Trace`] is an [`Observer`]; install it through [`crate::RunOptions::observer`] and
//! call [`TraceHandle::finish`] after the run. A run without one pays nothing.
//! [`Trace::decoding`] also decodes every request and reply of a Raft implementation and
//! prints it with `Debug`, so a trace reads like a message log:
//!
//! ```text
//!     1.204s send     call=17 S2#1 -> S0 end=7 48B RequestVote(RequestVoteArgs { term: 2, .. })
//!     1.219s handle   call=17 S0
//!     1.219s outcome  call=17 S2#1 <- S0 ok 12B RequestVote(RequestVoteReply { term: 2, .. })
//!     1.219s persist  S2 state=25B
//!     1.530s apply    S0 index=3 command=101
//! ```
//!
//! `S2#1` is server 2 in its first incarnation: `#k` counts the server's boots, so `S2#3` is
//! server 2 after its second restart. Calls name the server they go to (`-> S0`) and, on
//! their outcome, the server they went to (`<- S0`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;

use labrpc::{Caller, EventRecord, FailReason, Observer, SimTime};
use raft::RaftNode;

use crate::command::show_command;

/// Decodes an encoded request or reply into a printable form, for traces.
type Decoder = fn(&[u8]) -> String;

/// Where a trace's lines go.
enum Sink {
    Writer(Box<dyn Write>),
    Lines(Vec<String>),
    Closed,
}

/// The sink and the first write error, shared by a [`Trace`] and its [`TraceHandle`].
struct Shared {
    sink: Sink,
    error: Option<std::io::Error>,
}

/// An [`Observer`] that turns every event into one line of text.
pub struct Trace {
    shared: Rc<RefCell<Shared>>,
    requests: Option<Decoder>,
    replies: Option<Decoder>,
    routes: Routes,
    line: String,
}

/// Where calls go: what the network changes said about each end, and each call in flight.
#[derive(Default)]
struct Routes {
    /// The server each end is connected to.
    ends: BTreeMap<u32, usize>,
    /// The server each call in flight was sent to.
    calls: BTreeMap<u64, usize>,
}

impl Routes {
    /// Learns from `event`; returns the server `event` (a send, or an outcome) concerns.
    fn follow(&mut self, event: &EventRecord<'_>) -> Option<usize> {
        match *event {
            EventRecord::NetworkChange {
                what: "connect",
                target,
                value,
            } => {
                let (end, server) = (u32::try_from(target).ok()?, usize::try_from(value).ok()?);
                self.ends.insert(end, server);
                None
            }
            EventRecord::Send { call, end, .. } => {
                let server = *self.ends.get(&end.0)?;
                self.calls.insert(call.0, server);
                Some(server)
            }
            EventRecord::Outcome { call, .. } => self.calls.remove(&call.0),
            _ => None,
        }
    }
}

/// The caller's side of a [`Trace`]: after the run, [`TraceHandle::finish`] flushes and closes
/// the writer (do not rely on the observer being dropped), or [`TraceHandle::take_lines`]
/// takes the collected lines.
pub struct TraceHandle(Rc<RefCell<Shared>>);

impl Trace {
    /// A trace that writes each line to `writer` (wrap a file in a `BufWriter`); call
    /// [`TraceHandle::finish`] after the run.
    pub fn to_writer(writer: Box<dyn Write>) -> (Trace, TraceHandle) {
        Trace::new(Sink::Writer(writer))
    }

    /// A trace that collects its lines; [`TraceHandle::take_lines`] returns them.
    pub fn collect() -> (Trace, TraceHandle) {
        Trace::new(Sink::Lines(Vec::new()))
    }

    fn new(sink: Sink) -> (Trace, TraceHandle) {
        let shared = Rc::new(RefCell::new(Shared { sink, error: None }));
        let trace = Trace {
            shared: Rc::clone(&shared),
            requests: None,
            replies: None,
            routes: Routes::default(),
            line: String::new(),
        };
        (trace, TraceHandle(shared))
    }

    /// Also decodes requests and replies as `R`'s message types and prints them with `Debug`.
    pub fn decoding<R: RaftNode>(mut self) -> Trace {
        self.requests = Some(decode_debug::<R::Request>);
        self.replies = Some(decode_debug::<R::Reply>);
        self
    }
}

impl TraceHandle {
    /// Flushes and closes the writer; returns the first write error, if any. Later events
    /// are not traced.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut shared = self.0.borrow_mut();
        if let Sink::Writer(mut writer) = std::mem::replace(&mut shared.sink, Sink::Closed)
            && let Err(error) = writer.flush()
        {
            shared.error.get_or_insert(error);
        }
        shared.error.take().map_or(Ok(()), Err)
    }

    /// The lines collected so far (for [`Trace::collect`]); later events are not traced.
    pub fn take_lines(&self) -> Vec<String> {
        match std::mem::replace(&mut self.0.borrow_mut().sink, Sink::Closed) {
            Sink::Lines(lines) => lines,
            _ => Vec::new(),
        }
    }
}

pub(crate) fn decode_debug<T: raft::Message>(bytes: &[u8]) -> String {
    match labgob::decode::<T>(bytes) {
        Ok(value) => format!("{value:?}"),
        Err(error) => format!("<undecodable: {error}>"),
    }
}

impl Observer for Trace {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        let mut shared = self.shared.borrow_mut();
        let shared = &mut *shared;
        if matches!(shared.sink, Sink::Closed) || shared.error.is_some() {
            return;
        }
        self.line.clear();
        let peer = self.routes.follow(event);
        let decoders = (self.requests, self.replies);
        write_event(&mut self.line, at, event, decoders, peer);
        match &mut shared.sink {
            Sink::Lines(lines) => lines.push(self.line.clone()),
            Sink::Writer(writer) => {
                self.line.push('\n');
                if let Err(error) = writer.write_all(self.line.as_bytes()) {
                    shared.error = Some(error);
                }
            }
            Sink::Closed => {}
        }
    }
}

impl Drop for Trace {
    /// Flushes, in case the caller never calls [`TraceHandle::finish`].
    fn drop(&mut self) {
        if let Ok(mut shared) = self.shared.try_borrow_mut()
            && let Sink::Writer(writer) = &mut shared.sink
        {
            let _ = writer.flush();
        }
    }
}

/// One event as one line, without decoding messages or naming where calls go: what the
/// determinism check prints.
pub fn describe(at: SimTime, event: &EventRecord<'_>) -> String {
    let mut line = String::new();
    write_event(&mut line, at, event, (None, None), None);
    line
}

/// `S2#1` for a node's incarnation (server 2, first boot), `tester` for the driver.
fn caller_name(caller: Caller) -> String {
    match caller {
        Caller::Driver => "tester".to_owned(),
        Caller::Node {
            server,
            incarnation,
        } => format!("S{server}#{incarnation}"),
    }
}

fn reason_name(reason: FailReason) -> &'static str {
    match reason {
        FailReason::Unreachable => "unreachable",
        FailReason::RequestDropped => "request-dropped",
        FailReason::ServerGone => "server-gone",
        FailReason::ServerDead => "server-dead",
        FailReason::Rejected => "rejected",
        FailReason::ReplyDropped => "reply-dropped",
    }
}

/// Writes `event` as one line; `peer` is the server a send or an outcome concerns, if known.
fn write_event(
    out: &mut String,
    at: SimTime,
    event: &EventRecord<'_>,
    (requests, replies): (Option<Decoder>, Option<Decoder>),
    peer: Option<usize>,
) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{:>13} ", at.to_string());
    let _ = match *event {
        EventRecord::Send {
            call,
            caller,
            end,
            args,
        } => write_send(out, call.0, caller, (end.0, peer), args, requests),
        EventRecord::Handle { call, server } => write!(out, "handle   call={} S{server}", call.0),
        EventRecord::Outcome {
            call,
            caller,
            reply,
        } => write_outcome(out, call.0, caller, reply, replies, peer),
        EventRecord::Timer { server, timer } => {
            write!(out, "timer    S{server} timer={}", timer.0)
        }
        EventRecord::Wake { token } => write!(out, "wake     task={token}"),
        EventRecord::External { server, what } => write!(out, "external S{server} {what}"),
        EventRecord::Persist {
            server,
            raft_state,
            snapshot,
        } => {
            let _ = write!(out, "persist  S{server} state={}B", raft_state.len());
            snapshot.map_or(Ok(()), |snapshot| {
                write!(out, " snapshot={}B", snapshot.len())
            })
        }
        EventRecord::Apply {
            server,
            index,
            snapshot_term,
            data,
        } => {
            let _ = write!(out, "apply    S{server} ");
            match snapshot_term {
                None => write!(out, "index={index} command={}", show_command(data)),
                Some(term) => write!(out, "snapshot index={index} term={term} {}B", data.len()),
            }
        }
        EventRecord::NetworkChange {
            what,
            target,
            value,
        } => write!(out, "network  {}", describe_change(what, target, value)),
    };
}

/// `send     call=17 S2#1 -> S0 end=7 48B RequestVote(...)`: the destination `peer` if known
/// (`end` leads to it), and the request decoded if there is a decoder and a node sent it.
fn write_send(
    out: &mut String,
    call: u64,
    caller: Caller,
    (end, peer): (u32, Option<usize>),
    args: &[u8],
    requests: Option<Decoder>,
) -> std::fmt::Result {
    let to = peer.map_or_else(String::new, |server| format!("-> S{server} "));
    let caller = caller_name(caller);
    write!(
        out,
        "send     call={call} {caller} {to}end={end} {}B",
        args.len()
    )?;
    match requests {
        Some(decode) if caller != "tester" => write!(out, " {}", decode(args)),
        _ => Ok(()),
    }
}

/// `outcome  call=17 S2#1 <- S0 ok 12B RequestVote(...)`, or `... failed reply-dropped`.
fn write_outcome(
    out: &mut String,
    call: u64,
    caller: Caller,
    reply: Result<&[u8], FailReason>,
    replies: Option<Decoder>,
    peer: Option<usize>,
) -> std::fmt::Result {
    let from = peer.map_or_else(String::new, |server| format!("<- S{server} "));
    write!(out, "outcome  call={call} {} {from}", caller_name(caller))?;
    match (reply, replies, caller) {
        (Ok(bytes), Some(decode), Caller::Node { .. }) => {
            write!(out, "ok {}B {}", bytes.len(), decode(bytes))
        }
        (Ok(bytes), ..) => write!(out, "ok {}B", bytes.len()),
        (Err(reason), ..) => write!(out, "failed {}", reason_name(reason)),
    }
}

/// A network change in its own words: `connect end=3 -> S0`, `enable end=3 off`,
/// `reliable off`, `add_server S2#3`, `delete_server S2`.
fn describe_change(what: &str, target: u64, value: u64) -> String {
    let on_off = if value == 0 { "off" } else { "on" };
    match what {
        "connect" => format!("connect end={target} -> S{value}"),
        "enable" => format!("enable end={target} {on_off}"),
        "reliable" | "long_delays" | "long_reordering" => format!("{what} {on_off}"),
        "add_server" => format!("add_server S{target}#{value}"),
        "delete_server" => format!("delete_server S{target}"),
        _ => format!("{what} target={target} value={value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labrpc::{CallId, EndId};

    #[test]
    fn one_line_per_event_with_time_kind_ids_and_sizes() {
        let (mut trace, handle) = Trace::collect();
        let at = SimTime::from_millis(1204);
        trace.on_event(
            at,
            &EventRecord::Send {
                call: CallId(17),
                caller: Caller::Node {
                    server: 2,
                    incarnation: 1,
                },
                end: EndId(7),
                args: &[1, 2, 3],
            },
        );
        trace.on_event(
            at,
            &EventRecord::Outcome {
                call: CallId(17),
                caller: Caller::Driver,
                reply: Err(FailReason::ReplyDropped),
            },
        );
        let lines = handle.take_lines();
        assert_eq!(lines[0], "    1.204000s send     call=17 S2#1 end=7 3B");
        assert_eq!(
            lines[1],
            "    1.204000s outcome  call=17 tester failed reply-dropped"
        );
    }

    #[test]
    fn calls_name_their_server_and_persists_and_applies_are_traced() {
        let (mut trace, handle) = Trace::collect();
        let at = SimTime::from_millis(478);
        let caller = Caller::Node {
            server: 1,
            incarnation: 2,
        };
        let events = [
            EventRecord::NetworkChange {
                what: "connect",
                target: 3,
                value: 0,
            },
            EventRecord::Send {
                call: CallId(5),
                caller,
                end: EndId(3),
                args: &[9; 5],
            },
            EventRecord::Outcome {
                call: CallId(5),
                caller,
                reply: Ok(&[1, 1, 1]),
            },
            EventRecord::Persist {
                server: 1,
                raft_state: &[0; 25],
                snapshot: None,
            },
            EventRecord::Persist {
                server: 1,
                raft_state: &[0; 25],
                snapshot: Some(&[0; 300]),
            },
            EventRecord::Apply {
                server: 0,
                index: 3,
                snapshot_term: None,
                data: &crate::command::int_command(101),
            },
            EventRecord::Apply {
                server: 0,
                index: 10,
                snapshot_term: Some(2),
                data: &[0; 120],
            },
        ];
        for event in &events {
            trace.on_event(at, event);
        }
        let lines = handle.take_lines();
        let expected = [
            "    0.478000s network  connect end=3 -> S0",
            "    0.478000s send     call=5 S1#2 -> S0 end=3 5B",
            "    0.478000s outcome  call=5 S1#2 <- S0 ok 3B",
            "    0.478000s persist  S1 state=25B",
            "    0.478000s persist  S1 state=25B snapshot=300B",
            "    0.478000s apply    S0 index=3 command=101",
            "    0.478000s apply    S0 snapshot index=10 term=2 120B",
        ];
        assert_eq!(lines, expected);
    }
}
