//! Every lab test, by name and part, so that `cargo test`, the hunt and replay share one list.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use raft::RaftNode;

use crate::config::Config;
use crate::failure::TestResult;
use crate::suites::{lab2a, lab2b, lab2c, lab2d};

/// A test body: an async function of the config.
pub type Body<R> = fn(Config<R>) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// A lab part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// 2A: leader election.
    A,
    /// 2B: log replication.
    B,
    /// 2C: persistence.
    C,
    /// 2D: log compaction.
    D,
    /// The nemesis family: randomized fault campaigns ([`crate::nemesis`]), not a Go suite.
    Nemesis,
}

impl Part {
    /// `"2a"` … `"2d"`, as in test names and `cargo test 2a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::A => "2a",
            Part::B => "2b",
            Part::C => "2c",
            Part::D => "2d",
            Part::Nemesis => "nemesis",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lab test: Go's `TestX` with its `make_config` arguments.
pub struct TestCase<R: RaftNode> {
    /// Snake-case Go name, ending in the part: `initial_election_2a`.
    pub name: &'static str,
    /// The lab part.
    pub part: Part,
    /// Servers (`make_config`'s `n`); 0 for the nemesis family, whose schedule says.
    pub servers: usize,
    /// Whether the network starts unreliable.
    pub unreliable: bool,
    /// Whether the 2D applier (snapshots) is used.
    pub snapshot: bool,
    /// The test.
    pub body: Body<R>,
}

impl<R: RaftNode> Clone for TestCase<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: RaftNode> Copy for TestCase<R> {}

macro_rules! case {
    ($module:ident :: $name:ident, $part:ident, $servers:expr, $unreliable:expr, $snapshot:expr) => {
        TestCase {
            name: stringify!($name),
            part: Part::$part,
            servers: $servers,
            unreliable: $unreliable,
            snapshot: $snapshot,
            body: |cfg| Box::pin($module::$name(cfg)),
        }
    };
}

/// The name of every test in [`all`], in order, for tools that need no implementation
/// (`scripts/merge`). [`lab_tests!`](crate::lab_tests) checks that the two agree.
pub const NAMES: [&str; 28] = [
    "initial_election_2a",
    "re_election_2a",
    "many_elections_2a",
    "basic_agree_2b",
    "rpc_bytes_2b",
    "follower_failure_2b",
    "leader_failure_2b",
    "fail_agree_2b",
    "fail_no_agree_2b",
    "concurrent_starts_2b",
    "rejoin_2b",
    "backup_2b",
    "count_2b",
    "persist1_2c",
    "persist2_2c",
    "persist3_2c",
    "figure_8_2c",
    "unreliable_agree_2c",
    "figure_8_unreliable_2c",
    "reliable_churn_2c",
    "unreliable_churn_2c",
    "snapshot_basic_2d",
    "snapshot_install_2d",
    "snapshot_install_unreliable_2d",
    "snapshot_install_crash_2d",
    "snapshot_install_uncrash_2d",
    "snapshot_all_crash_2d",
    "snapshot_init_2d",
];

/// Every test of the Go suites, in the Go file's order (the nemesis family is
/// [`crate::nemesis::cases`]; [`every`] has both).
pub fn all<R: RaftNode>() -> Vec<TestCase<R>> {
    let mut cases = vec![
        case!(lab2a::initial_election_2a, A, 3, false, false),
        case!(lab2a::re_election_2a, A, 3, false, false),
        case!(lab2a::many_elections_2a, A, 7, false, false),
    ];
    cases.extend(lab2b::cases());
    cases.extend(lab2c::cases());
    cases.extend(lab2d::cases());
    cases
}

/// Every test: the Go suites' ([`all`]), then the nemesis family's.
pub fn every<R: RaftNode>() -> Vec<TestCase<R>> {
    let mut cases = all();
    cases.extend(crate::nemesis::cases());
    cases
}

/// The test called `name`, of the Go suites or the nemesis family.
pub fn find<R: RaftNode>(name: &str) -> Option<TestCase<R>> {
    every().into_iter().find(|case| case.name == name)
}

pub(crate) use case;
