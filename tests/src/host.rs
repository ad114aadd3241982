//! Hosting a [`RaftNode`] on the simulated network: bytes in, typed inputs out, and back.
//!
//! [`RaftHost`] is a [`labrpc::Node`]. It decodes each request with labgob, hands it to the
//! Raft node with a [`Context`] whose [`raft::Host`] is [`IoHost`], and encodes the reply.
//! `IoHost` turns the node's effects into labrpc operations: calls through the node's ends,
//! timers, persister writes, and applied messages into the shared [`Outbox`].

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use labrpc::{CallId, EndId, Node, NodeIo, SimRng};
use raft::{ApplyMsg, Context, Host, Init, RaftNode, RaftView, TimerId};
use rand_core::RngCore;

use crate::guard::{MAX_EFFECTS_PER_INPUT, NodeCall, flood, node_call};
use crate::safety::Effects;

/// Bytes of an input's `Debug` text that `cargo test`'s watchdog keeps, to print if the
/// input never ends.
const INPUT_TEXT_BYTES: usize = 1024;

/// Applied messages from every node, in the order they were emitted: `(server, message)`.
/// The driver drains it after every event, like Go's applier goroutines reading `applyCh`.
pub type Outbox = Rc<RefCell<VecDeque<(usize, ApplyMsg)>>>;

/// One Raft node as the simulator hosts it.
pub struct RaftHost<R: RaftNode> {
    raft: R,
    me: usize,
    /// `peers[j]` is the end this node uses to reach server `j` (Go's `endnames[me][j]`).
    peers: Vec<EndId>,
    /// Calls in flight: the request is handed back with the outcome.
    pending: BTreeMap<CallId, (usize, R::Request)>,
    /// Timers this incarnation set that have neither fired nor been cancelled: the only ones
    /// it may cancel (timer ids are unique in a run, so another node's are reachable).
    timers: BTreeSet<TimerId>,
    outbox: Outbox,
    /// What the node did since the safety checker last looked.
    effects: Effects,
    /// While a livelock is being diagnosed: how many of each input the node handled
    /// ([`RaftHost::count_inputs`]).
    inputs: Option<BTreeMap<String, u64>>,
    /// A byte put before every request this node sends, when it shares its server with
    /// another service (Lab 3's key/value host tells its Raft's requests by it).
    wire_tag: Option<u8>,
}

impl<R: RaftNode> RaftHost<R> {
    /// Boots `R` from what `io`'s persister holds (Go's `Make`).
    pub fn boot(io: &mut NodeIo<'_>, peers: Vec<EndId>, outbox: Outbox) -> RaftHost<R> {
        RaftHost::boot_tagged(io, peers, outbox, None)
    }

    /// [`RaftHost::boot`], with `wire_tag` (if any) put before every request the node sends.
    pub fn boot_tagged(
        io: &mut NodeIo<'_>,
        peers: Vec<EndId>,
        outbox: Outbox,
        wire_tag: Option<u8>,
    ) -> RaftHost<R> {
        let me = io.me();
        let init = Init {
            me,
            peer_count: peers.len(),
            raft_state: io.persister().raft_state().to_vec(),
            snapshot: io.persister().snapshot().to_vec(),
        };
        let mut pending = BTreeMap::new();
        let mut timers = BTreeSet::new();
        let mut effects = Effects::default();
        let raft = {
            let mut host = IoHost {
                io,
                me,
                peers: &peers,
                pending: &mut pending,
                timers: &mut timers,
                outbox: &outbox,
                effects: &mut effects,
                asked: 0,
                wire_tag,
            };
            node_call(me, NodeCall::New, || {
                R::new(&mut Context::new(&mut host), init)
            })
        };
        RaftHost {
            raft,
            me,
            peers,
            pending,
            timers,
            outbox,
            effects,
            inputs: None,
            wire_tag,
        }
    }

    /// From now on (`on`), counts each input the node handles by kind
    /// (`handle_request(AppendEntries)`), for naming what loops in a livelock; or stops. Off by
    /// default: it formats each message's name.
    pub fn count_inputs(&mut self, on: bool) {
        self.inputs = on.then(BTreeMap::new);
    }

    /// The inputs counted since [`RaftHost::count_inputs`], by kind.
    pub fn counted_inputs(&self) -> Option<&BTreeMap<String, u64>> {
        self.inputs.as_ref()
    }

    /// Counts one input of kind `kind()`, if counting.
    fn count(&mut self, kind: impl FnOnce() -> String) {
        if let Some(inputs) = &mut self.inputs {
            *inputs.entry(kind()).or_default() += 1;
        }
    }

    /// What the node did since the last call (replies, calls, persists), for the safety
    /// checker.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// The hosted node, for reading. Call [`RaftHost::state`] and [`RaftHost::inspect`]
    /// rather than the node's own methods: they name the node if it panics.
    pub fn raft(&self) -> &R {
        &self.raft
    }

    /// The node's `state()` (Go's `GetState`).
    pub fn state(&self) -> (u64, bool) {
        node_call(self.me, NodeCall::State, || self.raft.state())
    }

    /// The node's `inspect()`, for the safety checks.
    pub fn inspect(&self) -> RaftView {
        node_call(self.me, NodeCall::Inspect, || self.raft.inspect())
    }

    /// Runs `f` on the node with a context, for inputs from the tester: `what` names the input
    /// (`start`, `snapshot`) if the node panics.
    pub fn input<T>(
        &mut self,
        io: &mut NodeIo<'_>,
        what: &'static str,
        f: impl FnOnce(&mut R, &mut Context<'_, R::Request>) -> T,
    ) -> T {
        let me = self.me;
        let (raft, mut host) = self.split(io);
        node_call(me, NodeCall::Tester(what), || {
            f(raft, &mut Context::new(&mut host))
        })
    }

    fn split<'a, 'b>(
        &'a mut self,
        io: &'a mut NodeIo<'b>,
    ) -> (&'a mut R, IoHost<'a, 'b, R::Request>) {
        let host = IoHost {
            io,
            me: self.me,
            peers: &self.peers,
            pending: &mut self.pending,
            timers: &mut self.timers,
            outbox: &self.outbox,
            effects: &mut self.effects,
            asked: 0,
            wire_tag: self.wire_tag,
        };
        (&mut self.raft, host)
    }
}

impl<R: RaftNode> Node for RaftHost<R> {
    fn on_request(&mut self, io: &mut NodeIo<'_>, args: &[u8]) -> Option<Vec<u8>> {
        let me = self.me;
        let counting = self.inputs.is_some();
        let (raft, mut host) = self.split(io);
        let (reply, kind) = node_call(me, NodeCall::Request, || {
            let request = labgob::decode::<R::Request>(args)
                .unwrap_or_else(|error| panic!("{}", undecodable("request", &error)));
            let kind = counting.then(|| format!("handle_request({})", message_kind(&request)));
            crate::watchdog::handling(|| debug_prefix(&request, INPUT_TEXT_BYTES));
            let reply = raft.handle_request(&mut Context::new(&mut host), request);
            // An encode error is the node's own type's: its fault too.
            (encode_or_panic(me, "a reply", &reply), kind)
        });
        if let Some(kind) = kind {
            self.count(|| kind);
        }
        self.effects.replied = true;
        Some(reply)
    }

    fn on_reply(&mut self, io: &mut NodeIo<'_>, call: CallId, reply: Option<Vec<u8>>) {
        let (peer, request) = self
            .pending
            .remove(&call)
            .expect("an outcome for an unknown call");
        let me = self.me;
        let counting = self.inputs.is_some();
        let (raft, mut host) = self.split(io);
        let kind = node_call(me, NodeCall::Reply(peer), || {
            let kind =
                counting.then(|| format!("handle_reply({} to S{peer})", message_kind(&request)));
            // The reply type is the node's own: a reply that its own decoder rejects is its
            // fault (Go's labrpc: `log.Fatalf("ClientEnd.Call(): decode reply")`).
            let reply = reply.map(|bytes| {
                labgob::decode::<R::Reply>(&bytes)
                    .unwrap_or_else(|error| panic!("{}", undecodable("reply", &error)))
            });
            crate::watchdog::handling(|| {
                let half = INPUT_TEXT_BYTES / 2;
                let outcome = reply.as_ref().map_or_else(
                    || "None (the call failed)".to_owned(),
                    |r| debug_prefix(r, half),
                );
                format!("{outcome}, the reply to {}", debug_prefix(&request, half))
            });
            raft.handle_reply(&mut Context::new(&mut host), peer, request, reply);
            kind
        });
        if let Some(kind) = kind {
            self.count(|| kind);
        }
    }

    fn on_timer(&mut self, io: &mut NodeIo<'_>, timer: labrpc::TimerId) {
        let timer = TimerId(timer.0);
        self.timers.remove(&timer);
        self.count(|| "handle_timer".to_owned());
        let me = self.me;
        let (raft, mut host) = self.split(io);
        node_call(me, NodeCall::Timer, || {
            crate::watchdog::handling(|| format!("{timer:?}"));
            raft.handle_timer(&mut Context::new(&mut host), timer);
        });
    }
}

/// The name a message's `Debug` text starts with (`AppendEntries` for an enum variant or a
/// struct of that name), formatting no more than its first 64 bytes.
pub fn message_kind(message: &impl std::fmt::Debug) -> String {
    let prefix = debug_prefix(message, 64);
    let name: String = prefix
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    if name.is_empty() {
        "a message".to_owned()
    } else {
        name
    }
}

/// The first `limit` bytes of a value's `Debug` text (cut at a character boundary, with `…`
/// when cut), formatting no more than that: a log of megabytes costs no more than a word.
pub fn debug_prefix(value: &impl std::fmt::Debug, limit: usize) -> String {
    /// Keeps the first `1` bytes written, then fails the formatting.
    struct Prefix(String, usize);
    impl std::fmt::Write for Prefix {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = self.1 - self.0.len();
            let cut = (0..=room.min(s.len()))
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            self.0.push_str(&s[..cut]);
            if cut < s.len() {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut prefix = Prefix(String::new(), limit);
    if std::fmt::Write::write_fmt(&mut prefix, format_args!("{value:?}")).is_err() {
        prefix.0.push('…');
    }
    prefix.0
}

/// Why a message did not decode. Both ends use the node's own message types, so bytes its
/// decoder rejects were written by its own encoder: its `Serialize` and `Deserialize` disagree
/// (Go's labrpc stops the test binary on a reply that does not decode).
fn undecodable(what: &str, error: &labgob::Error) -> String {
    format!(
        "a {what} does not decode as the node's own type, which encoded it (its Serialize and \
         Deserialize disagree; LABGOB_CHECK=1 checks every message as it is sent): {error}"
    )
}

/// Go's `labrpc` panics on an encode error (2021+); so do we, naming the type. A message
/// over labgob's [`labgob::DECODE_LIMIT_BYTES`] could reach no one: the node sending it
/// (`what`: `a request to S2`, `a reply`) is stopped there, rather than the message being lost
/// or failing the receiver. With [`labgob::checks_enabled`], every message is checked to
/// decode back to itself, as [`labgob::encode_checked`] does.
pub(crate) fn encode_or_panic<T: raft::Message>(me: usize, what: &str, value: &T) -> Vec<u8> {
    let bytes = labgob::encode(value).unwrap_or_else(|error| panic!("{error}"));
    if bytes.len() > labgob::DECODE_LIMIT_BYTES {
        panic!(
            "S{me} sent {what} of {} bytes, over labgob's decode limit of {} bytes (32 MiB): no \
             server could decode it. Send fewer log entries per message",
            bytes.len(),
            labgob::DECODE_LIMIT_BYTES
        );
    }
    if labgob::checks_enabled() {
        labgob::check_round_trip(value).unwrap_or_else(|error| panic!("{error}"));
    }
    bytes
}

/// The [`raft::Host`] of a node while it handles one input.
pub struct IoHost<'a, 'b, Request> {
    io: &'a mut NodeIo<'b>,
    me: usize,
    peers: &'a [EndId],
    pending: &'a mut BTreeMap<CallId, (usize, Request)>,
    timers: &'a mut BTreeSet<TimerId>,
    outbox: &'a Outbox,
    effects: &'a mut Effects,
    /// Effects asked for during this input; more than [`MAX_EFFECTS_PER_INPUT`] stops it.
    asked: u64,
    /// Put before every request sent ([`RaftHost::boot_tagged`]).
    wire_tag: Option<u8>,
}

impl<Request> IoHost<'_, '_, Request> {
    /// Counts one effect; stops a handler that asks for too many ([`flood`]).
    fn ask(&mut self) {
        self.asked += 1;
        if self.asked > MAX_EFFECTS_PER_INPUT {
            flood();
        }
    }
}

impl<Request: raft::Message> Host<Request> for IoHost<'_, '_, Request> {
    fn now_ms(&self) -> u64 {
        self.io.now().as_millis()
    }

    fn now_us(&self) -> u64 {
        self.io.now().as_micros()
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.io.rng()
    }

    fn call(&mut self, peer: usize, request: Request) {
        self.ask();
        let Some(&end) = self.peers.get(peer) else {
            panic!(
                "server {} called peer {peer}, but peers are 0..{}",
                self.me,
                self.peers.len()
            )
        };
        let what = format!("a request to S{peer}");
        let mut bytes = encode_or_panic(self.me, &what, &request);
        if let Some(tag) = self.wire_tag {
            bytes.insert(0, tag);
        }
        let call = self.io.call(end, bytes);
        self.pending.insert(call, (peer, request));
        self.effects.calls += 1;
    }

    fn set_timer(&mut self, delay_ms: u64) -> TimerId {
        self.ask();
        let timer = TimerId(self.io.set_timer(delay_ms).0);
        self.timers.insert(timer);
        timer
    }

    fn set_timer_us(&mut self, delay_us: u64) -> TimerId {
        self.ask();
        let timer = TimerId(self.io.set_timer_us(delay_us).0);
        self.timers.insert(timer);
        timer
    }

    /// Cancels `timer` only if this incarnation set it and it is still pending: another
    /// node's timer (a placeholder `TimerId(0)`, say) is none of its business.
    fn cancel_timer(&mut self, timer: TimerId) {
        if self.timers.remove(&timer) {
            self.io.cancel_timer(labrpc::TimerId(timer.0));
        }
    }

    fn persist(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        self.ask();
        self.effects.persisted = true;
        match snapshot {
            None => self.io.save_raft_state(raft_state),
            Some(snapshot) => self.io.save_state_and_snapshot(raft_state, snapshot),
        }
    }

    fn apply(&mut self, msg: ApplyMsg) {
        self.ask();
        match &msg {
            ApplyMsg::Command { index, command } => self.io.record_apply(*index, None, command),
            ApplyMsg::Snapshot { term, index, data } => {
                self.io.record_apply(*index, Some(*term), data)
            }
        }
        self.outbox.borrow_mut().push_back((self.me, msg));
    }
}

/// What a node would be if it rebooted now from `raft_state` and `snapshot`: a *shadow*
/// incarnation, built by `R::new` with effects discarded, randomness from `rng` (the safety
/// checker's own stream) and its log lines muted, then inspected. The persist-before-reply
/// check compares it with the live node.
///
/// A node that panics booting from its own persisted state would panic on its next restart
/// too: that is returned as `Err` with the panic's message, for the checker to report
/// against the node that persisted it.
pub fn shadow_view<R: RaftNode>(
    init: Init,
    now_ms: u64,
    rng: &mut SimRng,
) -> Result<RaftView, String> {
    let booted = catch_unwind(AssertUnwindSafe(|| {
        let mut host = DiscardHost { now_ms, rng };
        let node = crate::logging::muted(|| R::new(&mut Context::new(&mut host), init));
        node.inspect()
    }));
    booted.map_err(|payload| crate::run::panic_message(&*payload))
}

/// The [`raft::Host`] of a shadow boot: every effect is dropped.
struct DiscardHost<'a> {
    now_ms: u64,
    rng: &'a mut SimRng,
}

impl<Request> Host<Request> for DiscardHost<'_> {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn rng(&mut self) -> &mut dyn RngCore {
        self.rng
    }

    fn call(&mut self, _peer: usize, _request: Request) {}

    fn set_timer(&mut self, _delay_ms: u64) -> TimerId {
        TimerId(u64::MAX)
    }

    fn cancel_timer(&mut self, _timer: TimerId) {}

    fn persist(&mut self, _raft_state: Vec<u8>, _snapshot: Option<Vec<u8>>) {}

    fn apply(&mut self, _msg: ApplyMsg) {}
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use labrpc::Sim;

    use super::*;

    #[test]
    fn a_message_kind_is_the_start_of_its_debug_text_and_costs_64_bytes_at_most() {
        #[derive(Debug)]
        #[allow(dead_code)]
        enum Rpc {
            AppendEntries { entries: Vec<u64> },
            Vote(u64),
        }
        let huge = Rpc::AppendEntries {
            entries: vec![7; 1 << 20],
        };
        assert_eq!(message_kind(&huge), "AppendEntries");
        assert_eq!(message_kind(&Rpc::Vote(3)), "Vote");
        assert_eq!(message_kind(&42u64), "42");
        assert_eq!(message_kind(&"x"), "a message");
    }
    use crate::FailureKind;
    use crate::guard::NodeFault;

    /// Replies to a term with the same term; nothing else.
    struct Echo;

    impl RaftNode for Echo {
        type Request = u64;
        type Reply = u64;
        fn new(_ctx: &mut Context<'_, u64>, _init: Init) -> Self {
            Echo
        }
        fn handle_request(&mut self, _ctx: &mut Context<'_, u64>, term: u64) -> u64 {
            term
        }
        fn handle_reply(&mut self, _: &mut Context<'_, u64>, _: usize, _: u64, _: Option<u64>) {}
        fn handle_timer(&mut self, _ctx: &mut Context<'_, u64>, _timer: TimerId) {}
        fn start(&mut self, _ctx: &mut Context<'_, u64>, _c: Vec<u8>) -> Option<(u64, u64)> {
            None
        }
        fn state(&self) -> (u64, bool) {
            (0, false)
        }
        fn inspect(&self) -> RaftView {
            RaftView::default()
        }
    }

    /// Sends, at boot, a request of `BULK` bytes to itself when booted as server 0, and
    /// replies to any request with `BULK` bytes.
    struct Bulky;

    /// Just over labgob's decode limit.
    const BULK: usize = labgob::DECODE_LIMIT_BYTES + 1;

    impl RaftNode for Bulky {
        type Request = Vec<u8>;
        type Reply = Vec<u8>;
        fn new(ctx: &mut Context<'_, Vec<u8>>, init: Init) -> Self {
            if init.peer_count == 1 {
                ctx.call(0, vec![1; BULK]);
            }
            Bulky
        }
        fn handle_request(&mut self, _ctx: &mut Context<'_, Vec<u8>>, _: Vec<u8>) -> Vec<u8> {
            vec![2; BULK]
        }
        fn handle_reply(
            &mut self,
            _: &mut Context<'_, Vec<u8>>,
            _: usize,
            _: Vec<u8>,
            _: Option<Vec<u8>>,
        ) {
        }
        fn handle_timer(&mut self, _ctx: &mut Context<'_, Vec<u8>>, _timer: TimerId) {}
        fn start(&mut self, _ctx: &mut Context<'_, Vec<u8>>, _c: Vec<u8>) -> Option<(u64, u64)> {
            None
        }
        fn state(&self) -> (u64, bool) {
            (0, false)
        }
        fn inspect(&self) -> RaftView {
            RaftView::default()
        }
    }

    /// The node's fault that `run` unwinds with.
    fn fault_of(run: impl FnOnce()) -> NodeFault {
        let payload = catch_unwind(AssertUnwindSafe(run)).expect_err("the node is stopped");
        *payload.downcast::<NodeFault>().expect("a node's fault")
    }

    #[test]
    fn a_request_or_reply_over_the_decode_limit_is_refused_at_its_sender() {
        let encoded = labgob::encode(&vec![0u8; BULK]).expect("encodes").len();
        let limit = labgob::DECODE_LIMIT_BYTES;
        let over = format!("{encoded} bytes, over labgob's decode limit of {limit} bytes");
        // A request: server 0, given one peer (itself), calls it at boot.
        let mut sim: Sim<RaftHost<Bulky>> = Sim::new(1);
        let end = sim.make_end();
        let fault = fault_of(|| {
            sim.add_server(0, |io| RaftHost::boot(io, vec![end], Outbox::default()));
        });
        assert_eq!(fault.kind, FailureKind::Panic);
        let request = format!("S0 panicked in new: S0 sent a request to S0 of {over}");
        assert!(fault.message.starts_with(&request), "{}", fault.message);
        // A reply: server 0, with no peers, answers a small request.
        let mut sim: Sim<RaftHost<Bulky>> = Sim::new(1);
        sim.add_server(0, |io| RaftHost::boot(io, Vec::new(), Outbox::default()));
        let end = sim.make_end();
        sim.connect(end, 0);
        sim.enable(end, true);
        sim.call(end, labgob::encode(&vec![3u8]).expect("encodes"));
        let fault = fault_of(|| while sim.step().is_some() {});
        let reply = format!("S0 panicked in handle_request: S0 sent a reply of {over}");
        assert!(fault.message.starts_with(&reply), "{}", fault.message);
    }

    #[test]
    fn a_request_the_nodes_own_type_cannot_decode_is_its_fault_not_a_lost_rpc() {
        let mut sim: Sim<RaftHost<Echo>> = Sim::new(1);
        let outbox = Outbox::default();
        sim.add_server(0, |io| RaftHost::boot(io, Vec::new(), outbox));
        let end = sim.make_end();
        sim.connect(end, 0);
        sim.enable(end, true);
        assert!(labgob::decode::<u64>(&[0xFF]).is_err());
        sim.call(end, vec![0xFF]);
        let payload = catch_unwind(AssertUnwindSafe(|| while sim.step().is_some() {}))
            .expect_err("the node's handler fails");
        let fault = payload.downcast::<NodeFault>().expect("a node's fault");
        assert_eq!(fault.kind, FailureKind::Panic);
        assert!(
            fault.message.starts_with(
                "S0 panicked in handle_request: a request does not decode as the node's own type"
            ),
            "{}",
            fault.message
        );
    }
}
