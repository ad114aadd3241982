//! Traces: one line per simulated event (virtual time, kind, ids, sizes), written to a file or
//! collected, for `scripts/replay` and for the hunt's failing runs.
//!
//! A [`Trace`] is an [`Observer`]; install it through [`crate::RunOptions::observer`] and
//! call [`TraceHandle::finish`] after the run. A run without one pays nothing. [`Trace::decoding`] also decodes every request and reply of a
//! Raft implementation and prints it with `Debug`, so a trace reads like a message log:
//!
//! ```text
//!     1.204s send     call=17 S2#1 end=7 48B RequestVote(RequestVoteArgs { term: 2, .. })
//!     1.219s handle   call=17 S0
//!     1.219s outcome  call=17 S2#1 ok 12B RequestVote(RequestVoteReply { term: 2, .. })
//! ```

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;

use labrpc::{Caller, EventRecord, FailReason, Observer, SimTime};
use raft::RaftNode;

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
    line: String,
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

fn decode_debug<T: raft::Message>(bytes: &[u8]) -> String {
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
        write_event(&mut self.line, at, event, self.requests, self.replies);
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

/// One event as one line, without decoding messages: what the determinism check prints.
pub fn describe(at: SimTime, event: &EventRecord<'_>) -> String {
    let mut line = String::new();
    write_event(&mut line, at, event, None, None);
    line
}

/// `S2#1` for a node's incarnation, `tester` for the driver.
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

fn write_event(
    out: &mut String,
    at: SimTime,
    event: &EventRecord<'_>,
    requests: Option<Decoder>,
    replies: Option<Decoder>,
) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{:>10} ", at.to_string());
    let _ = match *event {
        EventRecord::Send {
            call,
            caller,
            end,
            args,
        } => {
            let _ = write!(
                out,
                "send     call={} {} end={} {}B",
                call.0,
                caller_name(caller),
                end.0,
                args.len()
            );
            match (requests, caller) {
                (Some(decode), Caller::Node { .. }) => write!(out, " {}", decode(args)),
                _ => Ok(()),
            }
        }
        EventRecord::Handle { call, server } => write!(out, "handle   call={} S{server}", call.0),
        EventRecord::Outcome {
            call,
            caller,
            reply,
        } => {
            let _ = write!(out, "outcome  call={} {} ", call.0, caller_name(caller));
            match (reply, replies, caller) {
                (Ok(bytes), Some(decode), Caller::Node { .. }) => {
                    write!(out, "ok {}B {}", bytes.len(), decode(bytes))
                }
                (Ok(bytes), ..) => write!(out, "ok {}B", bytes.len()),
                (Err(reason), ..) => write!(out, "failed {}", reason_name(reason)),
            }
        }
        EventRecord::Timer { server, timer } => {
            write!(out, "timer    S{server} timer={}", timer.0)
        }
        EventRecord::Wake { token } => write!(out, "wake     task={token}"),
        EventRecord::External { server, what } => write!(out, "external S{server} {what}"),
        EventRecord::NetworkChange {
            what,
            target,
            value,
        } => write!(out, "network  {}", describe_change(what, target, value)),
    };
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
        assert_eq!(lines[0], "    1.204s send     call=17 S2#1 end=7 3B");
        assert_eq!(
            lines[1],
            "    1.204s outcome  call=17 tester failed reply-dropped"
        );
    }
}
