//! The event model behind the timeline page: what becomes an arrow (a message), a band (a
//! node's role and term), a span (a crash, a disconnection, an unreliable period), a tick (an
//! apply, a commit-index advance, a persist, a timer, the tester's `start` and `snapshot`) and
//! a log line. [`Builder`] turns the simulator's events, the nodes' views and their log lines,
//! in the order they happen, into a [`Timeline`].

use std::collections::BTreeMap;

use labrpc::{Caller, EventRecord, FailReason, SimTime};
use raft::RaftView;

use crate::command::show_command;

/// A message's `Debug` text is cut to this many bytes (a long `AppendEntries` can be kilobytes,
/// and a run sends tens of thousands).
pub const TEXT_BYTES: usize = 480;

/// A message that took longer than this from send to delivery is marked delayed (the
/// simulated latency is a few milliseconds; Go's long reordering and long delays are hundreds).
pub const DELAYED_US: u64 = 100_000;

/// Index into [`Timeline::strings`].
pub type Text = u32;

/// A node's role, as its view shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Neither leading nor voting for itself in its term.
    Follower = 0,
    /// Voted for itself in its term and does not lead: campaigning (or lost and waiting).
    Candidate = 1,
    /// Leads its term.
    Leader = 2,
}

impl Role {
    /// The role a view shows for server `me`.
    pub fn of(view: &RaftView, me: usize) -> Role {
        if view.is_leader {
            Role::Leader
        } else if view.voted_for == Some(me) {
            Role::Candidate
        } else {
            Role::Follower
        }
    }
}

/// What became of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// No outcome yet when the run ended.
    InFlight = 0,
    /// Replied, and the reply reached the caller.
    Replied = 1,
    /// The request was dropped by the unreliable network.
    RequestDropped = 2,
    /// The end was disabled or unconnected: the request went nowhere.
    Unreachable = 3,
    /// The server crashed before the request arrived.
    ServerGone = 4,
    /// The handler ran, but the server was disconnected meanwhile: the reply is discarded.
    ServerDead = 5,
    /// The server could not decode the request.
    Rejected = 6,
    /// The handler ran; the unreliable network dropped the reply.
    ReplyDropped = 7,
    /// The outcome arrived after its caller crashed or restarted: nobody took it.
    CallerGone = 8,
}

impl Fate {
    fn of(reason: FailReason) -> Fate {
        match reason {
            FailReason::Unreachable => Fate::Unreachable,
            FailReason::RequestDropped => Fate::RequestDropped,
            FailReason::ServerGone => Fate::ServerGone,
            FailReason::ServerDead => Fate::ServerDead,
            FailReason::Rejected => Fate::Rejected,
            FailReason::ReplyDropped => Fate::ReplyDropped,
        }
    }
}

/// One call: the request arrow (send to delivery) and the reply arrow (delivery to outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The caller's server (`None`: the tester).
    pub from: Option<usize>,
    /// The server the end leads to, if known.
    pub to: Option<usize>,
    /// The message's kind (`AppendEntries`), from its `Debug` text.
    pub kind: Text,
    /// When it was sent, and the event number.
    pub sent: (u64, u64),
    /// The number of the input during which the caller sent it (see [`Tick::event`]).
    pub sent_input: u64,
    /// When its handler ran, if it did.
    pub handled: Option<(u64, u64)>,
    /// When its outcome reached (or would have reached) the caller.
    pub outcome: Option<(u64, u64)>,
    /// What became of it.
    pub fate: Fate,
    /// Delivered more than [`DELAYED_US`] after it was sent.
    pub delayed: bool,
    /// The request's `Debug` text.
    pub request: Text,
    /// The reply's `Debug` text (0: none).
    pub reply: Text,
}

/// A node's role and term over a stretch of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// The node.
    pub node: usize,
    /// From (µs).
    pub from_us: u64,
    /// To (µs).
    pub to_us: u64,
    /// Its role.
    pub role: Role,
    /// Its term.
    pub term: u64,
}

/// What a span shades.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// The node is crashed.
    Down = 0,
    /// The node reaches no peer.
    Disconnected = 1,
    /// The node reaches some peers, not all.
    Partial = 2,
    /// The network drops and delays messages (whole run; `node` is `None`).
    Unreliable = 3,
    /// The network reorders messages by long delays (whole run; `node` is `None`).
    LongReordering = 4,
}

/// A shaded stretch of time, of one node or the whole network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// What it shades.
    pub kind: SpanKind,
    /// The node (`None`: the network).
    pub node: Option<usize>,
    /// From (µs).
    pub from_us: u64,
    /// To (µs).
    pub to_us: u64,
}

/// What a tick marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickKind {
    /// The node applied a command.
    Apply = 0,
    /// The node installed a snapshot through apply.
    ApplySnapshot = 1,
    /// The node's commit index advanced.
    Commit = 2,
    /// The node persisted its state.
    Persist = 3,
    /// A timer fired.
    Timer = 4,
    /// The tester called `start`.
    Start = 5,
    /// The tester called `snapshot`.
    Snapshot = 6,
    /// The node booted (or restarted).
    Boot = 7,
}

/// One instant on a node's lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    /// The node.
    pub node: usize,
    /// When (µs).
    pub at_us: u64,
    /// The number of the node's input (a request handled, an outcome, a timer, the tester's
    /// call) during which it happened: the tick's own event for a timer or a tester call.
    pub event: u64,
    /// What.
    pub kind: TickKind,
    /// Its description.
    pub text: Text,
}

/// One `log` line, at the instant it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The node whose handler wrote it (`None`: the tester).
    pub node: Option<usize>,
    /// When (µs).
    pub at_us: u64,
    /// The number of the input being handled (see [`Tick::event`]).
    pub event: u64,
    /// `log::Level` as a number (1 error … 5 trace).
    pub level: u8,
    /// The target (topic).
    pub target: Text,
    /// The message.
    pub message: Text,
}

/// A node's view after one of its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The node.
    pub node: usize,
    /// The number of the input it handled (the view is the state after it; see
    /// [`Tick::event`]).
    pub event: u64,
    /// When (µs).
    pub at_us: u64,
    /// `currentTerm`.
    pub term: u64,
    /// Its role.
    pub role: Role,
    /// `votedFor` in this term.
    pub voted_for: Option<usize>,
    /// `commitIndex`.
    pub commit_index: u64,
    /// The last log index.
    pub last_log_index: u64,
    /// The snapshot's last index.
    pub snapshot_index: u64,
}

/// Everything the page draws, in time order within each list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// How many servers.
    pub servers: usize,
    /// Virtual time of the last event (µs).
    pub end_us: u64,
    /// Events seen.
    pub events: u64,
    /// Interned strings; 0 is the empty string.
    pub strings: Vec<String>,
    /// Calls, in the order they were sent.
    pub messages: Vec<Message>,
    /// Role-and-term bands.
    pub bands: Vec<Band>,
    /// Shaded spans.
    pub spans: Vec<Span>,
    /// Ticks.
    pub ticks: Vec<Tick>,
    /// Log lines.
    pub logs: Vec<LogLine>,
    /// Views, kept only when they differ from the node's previous one.
    pub views: Vec<View>,
}

impl Timeline {
    /// The string `text` stands for.
    pub fn text(&self, text: Text) -> &str {
        &self.strings[text as usize]
    }
}

/// Decodes an encoded request or reply into its `Debug` text.
pub type Decoder = fn(&[u8]) -> String;

/// Builds a [`Timeline`] from a run's events, views and log lines, fed in the order they
/// happen.
pub struct Builder {
    timeline: Timeline,
    interned: BTreeMap<String, Text>,
    decoders: (Option<Decoder>, Option<Decoder>),
    now_us: u64,
    /// The number of the last input event (a node's handler or the tester's call into it).
    input: u64,
    network: Network,
    /// The message index of each call in flight.
    calls: BTreeMap<u64, usize>,
    nodes: Vec<NodeState>,
    /// Since when the network is unreliable, and since when it reorders long.
    unreliable_since: Option<u64>,
    reordering_since: Option<u64>,
}

/// What the builder follows of the network: where each end leads, whose it is, whether it is
/// enabled.
#[derive(Default)]
struct Network {
    to: BTreeMap<u32, usize>,
    owner: BTreeMap<u32, usize>,
    enabled: BTreeMap<u32, bool>,
    /// Ends connected since the last `add_server`: the config makes a booting server's ends
    /// just before adding it.
    unowned: Vec<u32>,
}

/// What the builder follows of one node.
#[derive(Default)]
struct NodeState {
    alive: bool,
    incarnation: u64,
    /// The band open now: since when, role, term.
    band: Option<(u64, Role, u64)>,
    /// Since when the node is down.
    down_since: Option<u64>,
    /// The connectivity span open now.
    cut: Option<(u64, SpanKind)>,
    view: Option<View>,
}

impl Builder {
    /// A builder for a run of `servers` servers; `decoders` print requests and replies.
    pub fn new(servers: usize, decoders: (Option<Decoder>, Option<Decoder>)) -> Builder {
        let mut builder = Builder {
            timeline: Timeline {
                servers,
                ..Timeline::default()
            },
            interned: BTreeMap::new(),
            decoders,
            now_us: 0,
            input: 0,
            network: Network::default(),
            calls: BTreeMap::new(),
            nodes: (0..servers).map(|_| NodeState::default()).collect(),
            unreliable_since: None,
            reordering_since: None,
        };
        builder.intern(String::new());
        builder
    }

    /// The index of `text` in the string table, adding it if it is new.
    pub fn intern(&mut self, text: String) -> Text {
        if let Some(&id) = self.interned.get(&text) {
            return id;
        }
        let id = Text::try_from(self.timeline.strings.len()).expect("under 2^32 strings");
        self.timeline.strings.push(text.clone());
        self.interned.insert(text, id);
        id
    }

    /// One simulated event.
    pub fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        self.now_us = at.as_micros();
        self.timeline.events += 1;
        if starts_input(event) {
            self.input = self.timeline.events;
        }
        let n = self.input;
        match *event {
            EventRecord::Send {
                call,
                caller,
                end,
                args,
            } => self.on_send(call.0, caller, end.0, args),
            EventRecord::Handle { call, server: _ } => self.on_handle(call.0),
            EventRecord::Outcome {
                call,
                caller,
                reply,
            } => self.on_outcome(call.0, caller, reply),
            EventRecord::Timer { server, timer } => {
                let text = format!("timer {} fired", timer.0);
                self.tick(server, n, TickKind::Timer, text);
            }
            EventRecord::Wake { .. } => {}
            EventRecord::External { server, what } => {
                let kind = match what {
                    "boot" => TickKind::Boot,
                    "snapshot" => TickKind::Snapshot,
                    _ => TickKind::Start,
                };
                self.tick(server, n, kind, format!("tester: {what}"));
            }
            EventRecord::Persist { server, .. } | EventRecord::Apply { server, .. } => {
                let (kind, text) = effect_tick(event);
                self.tick(server, n, kind, text);
            }
            EventRecord::NetworkChange {
                what,
                target,
                value,
            } => self.on_change(what, target, value),
        }
    }

    fn tick(&mut self, node: usize, event: u64, kind: TickKind, text: String) {
        let text = self.intern(text);
        let at_us = self.now_us;
        self.timeline.ticks.push(Tick {
            node,
            at_us,
            event,
            kind,
            text,
        });
    }

    fn on_send(&mut self, call: u64, caller: Caller, end: u32, args: &[u8]) {
        let from = match caller {
            Caller::Driver => None,
            Caller::Node { server, .. } => Some(server),
        };
        let request = match (self.decoders.0, from) {
            (Some(decode), Some(_)) => cut(decode(args)),
            _ => format!("{} B", args.len()),
        };
        let kind = self.intern(kind_of(&request));
        let request = self.intern(request);
        self.calls.insert(call, self.timeline.messages.len());
        self.timeline.messages.push(Message {
            from,
            to: self.network.to.get(&end).copied(),
            kind,
            sent: (self.now_us, self.timeline.events),
            sent_input: self.input,
            handled: None,
            outcome: None,
            fate: Fate::InFlight,
            delayed: false,
            request,
            reply: 0,
        });
    }

    fn on_handle(&mut self, call: u64) {
        let now = (self.now_us, self.timeline.events);
        if let Some(&i) = self.calls.get(&call) {
            let message = &mut self.timeline.messages[i];
            message.handled = Some(now);
            message.delayed = now.0.saturating_sub(message.sent.0) > DELAYED_US;
        }
    }

    fn on_outcome(&mut self, call: u64, caller: Caller, reply: Result<&[u8], FailReason>) {
        let Some(i) = self.calls.remove(&call) else {
            return;
        };
        let gone = match caller {
            Caller::Driver => false,
            Caller::Node {
                server,
                incarnation,
            } => self
                .nodes
                .get(server)
                .is_none_or(|node| !node.alive || node.incarnation != incarnation),
        };
        let (fate, reply) = match reply {
            Ok(bytes) => {
                let text = match (self.decoders.1, caller) {
                    (Some(decode), Caller::Node { .. }) => cut(decode(bytes)),
                    _ => format!("{} B", bytes.len()),
                };
                (Fate::Replied, self.intern(text))
            }
            Err(reason) => (Fate::of(reason), 0),
        };
        let message = &mut self.timeline.messages[i];
        message.outcome = Some((self.now_us, self.timeline.events));
        message.fate = if gone { Fate::CallerGone } else { fate };
        message.reply = reply;
    }
}

/// Whether `event` starts an input of a node: a request handled, an outcome reaching a node, a
/// timer, the tester calling into a node.
fn starts_input(event: &EventRecord<'_>) -> bool {
    matches!(
        event,
        EventRecord::Handle { .. }
            | EventRecord::Timer { .. }
            | EventRecord::External { .. }
            | EventRecord::Outcome {
                caller: Caller::Node { .. },
                ..
            }
    )
}

/// The tick of a persist or an apply, and its description.
fn effect_tick(event: &EventRecord<'_>) -> (TickKind, String) {
    match *event {
        EventRecord::Persist {
            raft_state,
            snapshot,
            ..
        } => {
            let mut text = format!("persist: state {} B", raft_state.len());
            if let Some(snapshot) = snapshot {
                text.push_str(&format!(", snapshot {} B", snapshot.len()));
            }
            (TickKind::Persist, text)
        }
        EventRecord::Apply {
            index,
            snapshot_term: Some(term),
            data,
            ..
        } => (
            TickKind::ApplySnapshot,
            format!(
                "apply snapshot up to index {index} (term {term}), {} B",
                data.len()
            ),
        ),
        EventRecord::Apply { index, data, .. } => (
            TickKind::Apply,
            format!("apply index {index}: {}", show_command(data)),
        ),
        _ => unreachable!("only persists and applies are effect ticks"),
    }
}

/// `text` cut to [`TEXT_BYTES`], on a character boundary, saying how much was cut.
fn cut(mut text: String) -> String {
    if text.len() <= TEXT_BYTES {
        return text;
    }
    let mut end = TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("… ({more} B more)"));
    text
}

/// The name a `Debug` text starts with (`AppendEntries`), or `call` when there is none.
fn kind_of(text: &str) -> String {
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
        "call".to_owned()
    } else {
        name
    }
}

impl Builder {
    fn on_change(&mut self, what: &str, target: u64, value: u64) {
        let now = self.now_us;
        let end = u32::try_from(target).unwrap_or(u32::MAX);
        let server = usize::try_from(target).unwrap_or(usize::MAX);
        match what {
            "connect" => {
                self.network.to.insert(end, value as usize);
                self.network.enabled.insert(end, false);
                self.network.unowned.push(end);
            }
            "enable" => {
                self.network.enabled.insert(end, value != 0);
                if self.network.owner.contains_key(&end) {
                    self.follow_cuts();
                }
            }
            "reliable" => {
                let since = &mut self.unreliable_since;
                toggle(
                    since,
                    value == 0,
                    now,
                    &mut self.timeline.spans,
                    SpanKind::Unreliable,
                );
            }
            "long_reordering" => {
                let since = &mut self.reordering_since;
                toggle(
                    since,
                    value != 0,
                    now,
                    &mut self.timeline.spans,
                    SpanKind::LongReordering,
                );
            }
            "add_server" if server < self.nodes.len() => self.on_add_server(server, value),
            "delete_server" if server < self.nodes.len() => self.on_delete_server(server),
            _ => {}
        }
    }

    fn on_add_server(&mut self, server: usize, incarnation: u64) {
        let now = self.now_us;
        for end in std::mem::take(&mut self.network.unowned) {
            self.network.owner.insert(end, server);
        }
        let node = &mut self.nodes[server];
        node.alive = true;
        node.incarnation = incarnation;
        node.view = None;
        if let Some(from_us) = node.down_since.take() {
            self.timeline.spans.push(Span {
                kind: SpanKind::Down,
                node: Some(server),
                from_us,
                to_us: now,
            });
        }
        self.follow_cuts();
    }

    fn on_delete_server(&mut self, server: usize) {
        let now = self.now_us;
        self.close_band(server);
        self.close_cut(server);
        let node = &mut self.nodes[server];
        node.alive = false;
        node.view = None;
        node.down_since.get_or_insert(now);
        self.follow_cuts();
    }

    /// Whether each live server reaches none of its peers (disconnected), or misses some
    /// peer that is itself connected (partly connected: a partition), as spans. A peer that
    /// is disconnected or down does not make the others partly connected.
    fn follow_cuts(&mut self) {
        let n = self.nodes.len();
        // reach[i][j]: i's end to j is enabled.
        let mut reach = vec![vec![false; n]; n];
        for (end, &owner) in &self.network.owner {
            if let (Some(&to), Some(true)) =
                (self.network.to.get(end), self.network.enabled.get(end))
                && to < n
            {
                reach[owner][to] = true;
            }
        }
        let isolated: Vec<bool> = (0..n)
            .map(|i| self.nodes[i].alive && (0..n).all(|j| j == i || !reach[i][j]))
            .collect();
        for i in 0..n {
            let misses =
                (0..n).any(|j| j != i && self.nodes[j].alive && !isolated[j] && !reach[i][j]);
            let kind = if isolated[i] && n > 1 {
                Some(SpanKind::Disconnected)
            } else if misses {
                Some(SpanKind::Partial)
            } else {
                None
            };
            let node = &self.nodes[i];
            if !node.alive || node.cut.map(|(_, k)| k) == kind {
                continue;
            }
            self.close_cut(i);
            if let Some(kind) = kind {
                self.nodes[i].cut = Some((self.now_us, kind));
            }
        }
    }

    fn close_cut(&mut self, server: usize) {
        if let Some((from_us, kind)) = self.nodes[server].cut.take()
            && from_us < self.now_us
        {
            self.timeline.spans.push(Span {
                kind,
                node: Some(server),
                from_us,
                to_us: self.now_us,
            });
        }
    }

    fn close_band(&mut self, server: usize) {
        if let Some((from_us, role, term)) = self.nodes[server].band.take() {
            self.timeline.bands.push(Band {
                node: server,
                from_us,
                to_us: self.now_us,
                role,
                term,
            });
        }
    }

    /// Server `server`'s view after an input, at `at`.
    pub fn on_view(&mut self, at: SimTime, server: usize, view: &RaftView) {
        self.now_us = self.now_us.max(at.as_micros());
        let Some(node) = self.nodes.get(server) else {
            return;
        };
        let role = Role::of(view, server);
        let row = View {
            node: server,
            event: self.input,
            at_us: self.now_us,
            term: view.term,
            role,
            voted_for: view.voted_for,
            commit_index: view.commit_index,
            last_log_index: view.last_log_index(),
            snapshot_index: view.snapshot_index,
        };
        let previous = node.view;
        if previous.is_some_and(|p| {
            View {
                event: row.event,
                at_us: row.at_us,
                ..p
            } == row
        }) {
            return;
        }
        if node
            .band
            .is_none_or(|(_, r, t)| (r, t) != (role, view.term))
        {
            self.close_band(server);
            self.nodes[server].band = Some((self.now_us, role, view.term));
        }
        let committed = previous.map_or(0, |p| p.commit_index);
        if view.commit_index > committed {
            let text = format!("commit index {committed} -> {}", view.commit_index);
            self.tick(server, row.event, TickKind::Commit, text);
        }
        self.nodes[server].view = Some(row);
        self.timeline.views.push(row);
    }

    /// A log line written at `at` by `node`'s handler (`None`: the tester).
    pub fn on_log(
        &mut self,
        at: SimTime,
        node: Option<usize>,
        level: u8,
        target: &str,
        message: &str,
    ) {
        let target = self.intern(target.to_owned());
        let message = self.intern(message.to_owned());
        self.timeline.logs.push(LogLine {
            node,
            at_us: at.as_micros(),
            event: self.input,
            level,
            target,
            message,
        });
    }

    /// The timeline, with every band and span still open closed at the last event.
    pub fn finish(mut self) -> Timeline {
        for server in 0..self.nodes.len() {
            self.close_band(server);
            self.close_cut(server);
            if let Some(from_us) = self.nodes[server].down_since.take()
                && from_us < self.now_us
            {
                let to_us = self.now_us;
                let node = Some(server);
                self.timeline.spans.push(Span {
                    kind: SpanKind::Down,
                    node,
                    from_us,
                    to_us,
                });
            }
        }
        let now = self.now_us;
        toggle(
            &mut self.unreliable_since,
            false,
            now,
            &mut self.timeline.spans,
            SpanKind::Unreliable,
        );
        toggle(
            &mut self.reordering_since,
            false,
            now,
            &mut self.timeline.spans,
            SpanKind::LongReordering,
        );
        self.timeline.bands.sort_by_key(|b| (b.from_us, b.node));
        self.timeline.spans.sort_by_key(|s| (s.from_us, s.node));
        self.timeline.end_us = now;
        self.timeline
    }
}

/// Opens a network-wide span of `kind` when `on` (if none is open), closes it otherwise.
fn toggle(since: &mut Option<u64>, on: bool, now: u64, spans: &mut Vec<Span>, kind: SpanKind) {
    match (on, *since) {
        (true, None) => *since = Some(now),
        (false, Some(from_us)) => {
            *since = None;
            spans.push(Span {
                kind,
                node: None,
                from_us,
                to_us: now,
            });
        }
        _ => {}
    }
}
