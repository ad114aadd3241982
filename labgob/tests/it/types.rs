//! Value types shared by the test modules, shaped like the Go labgob test types and the Raft
//! messages, with proptest strategies that keep values small (the truncation property is
//! quadratic in the encoded length).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// Go's `T1`: ints and strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct T1 {
    pub t1int0: i64,
    pub t1int1: u64,
    pub t1string0: String,
    pub t1string1: String,
}

/// Go's `T3`, carried inside `T2`'s `interface{}` field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct T3 {
    pub t3int999: i64,
}

/// Go's `interface{}` holding a registered type: in Rust, an enum over what it may hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Any {
    Nil,
    Int(i64),
    Text(String),
    T3(T3),
}

/// Go's `T2`: a slice of structs, a map of pointers and an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct T2 {
    pub t2slice: Vec<T1>,
    pub t2map: BTreeMap<u64, Box<T1>>,
    pub t2t3: Any,
}

/// The tester's command encoding (`tests/src/command.rs`): what Raft carries as opaque bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TestCommand {
    Int(u64),
    Str(String),
}

/// A log entry as a student's Raft would persist and send it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogEntry {
    pub term: u64,
    pub command: Vec<u8>,
}

/// Go's `RequestVoteArgs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RequestVoteArgs {
    pub term: u64,
    pub candidate_id: u64,
    pub last_log_index: u64,
    pub last_log_term: u64,
}

/// Go's `RequestVoteReply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RequestVoteReply {
    pub term: u64,
    pub vote_granted: bool,
}

/// Go's `AppendEntriesArgs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AppendEntriesArgs {
    pub term: u64,
    pub leader_id: u64,
    pub prev_log_index: u64,
    pub prev_log_term: u64,
    pub entries: Vec<LogEntry>,
    pub leader_commit: u64,
}

/// A student's RPC request enum: an enum holding structs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Rpc {
    RequestVote(RequestVoteArgs),
    AppendEntries(AppendEntriesArgs),
    Reply { term: u64, success: bool },
    Shutdown,
}

/// A persisted-state shape with nested vectors and options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Nested {
    pub grid: Vec<Vec<u64>>,
    pub names: Vec<String>,
    pub blobs: Vec<Option<Vec<u8>>>,
    pub voted_for: Option<u64>,
}

/// The tester's 2D snapshot: `(index, log)`, element 0 of the log is nil.
pub(crate) type TesterSnapshot = (u64, Vec<Option<Vec<u8>>>);

/// Short strings, including multi-byte characters.
pub(crate) fn arb_string() -> impl Strategy<Value = String> {
    "[a-zA-Zé→🦀 ]{0,12}"
}

/// Short byte vectors.
pub(crate) fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

pub(crate) fn arb_t1() -> impl Strategy<Value = T1> {
    (any::<i64>(), any::<u64>(), arb_string(), arb_string()).prop_map(|(a, b, c, d)| T1 {
        t1int0: a,
        t1int1: b,
        t1string0: c,
        t1string1: d,
    })
}

pub(crate) fn arb_any() -> impl Strategy<Value = Any> {
    prop_oneof![
        Just(Any::Nil),
        any::<i64>().prop_map(Any::Int),
        arb_string().prop_map(Any::Text),
        any::<i64>().prop_map(|v| Any::T3(T3 { t3int999: v })),
    ]
}

pub(crate) fn arb_t2() -> impl Strategy<Value = T2> {
    (
        prop::collection::vec(arb_t1(), 0..4),
        prop::collection::btree_map(any::<u64>(), arb_t1().prop_map(Box::new), 0..4),
        arb_any(),
    )
        .prop_map(|(t2slice, t2map, t2t3)| T2 {
            t2slice,
            t2map,
            t2t3,
        })
}

pub(crate) fn arb_rpc() -> impl Strategy<Value = Rpc> {
    let entry = (any::<u64>(), arb_bytes()).prop_map(|(term, command)| LogEntry { term, command });
    prop_oneof![
        any::<[u64; 4]>().prop_map(|[a, b, c, d]| Rpc::RequestVote(RequestVoteArgs {
            term: a,
            candidate_id: b,
            last_log_index: c,
            last_log_term: d,
        })),
        (any::<[u64; 5]>(), prop::collection::vec(entry, 0..4)).prop_map(
            |([a, b, c, d, e], entries)| {
                Rpc::AppendEntries(AppendEntriesArgs {
                    term: a,
                    leader_id: b,
                    prev_log_index: c,
                    prev_log_term: d,
                    entries,
                    leader_commit: e,
                })
            }
        ),
        (any::<u64>(), any::<bool>()).prop_map(|(term, success)| Rpc::Reply { term, success }),
        Just(Rpc::Shutdown),
    ]
}

pub(crate) fn arb_nested() -> impl Strategy<Value = Nested> {
    (
        prop::collection::vec(prop::collection::vec(any::<u64>(), 0..4), 0..4),
        prop::collection::vec(arb_string(), 0..4),
        prop::collection::vec(prop::option::of(arb_bytes()), 0..4),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(grid, names, blobs, voted_for)| Nested {
            grid,
            names,
            blobs,
            voted_for,
        })
}

pub(crate) fn arb_snapshot() -> impl Strategy<Value = TesterSnapshot> {
    (
        any::<u64>(),
        prop::collection::vec(prop::option::of(arb_bytes()), 0..6),
    )
}
