//! Every lab test, by name and part, so that `cargo test`, the hunt and replay share one list.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use raft::RaftNode;

use crate::config::Config;
use crate::failure::TestResult;
use crate::run::{RunOptions, RunReport};
use crate::suites::{lab2a, lab2b, lab2c, lab2d};

/// A test body: an async function of the config.
pub type Body<R> = fn(Config<R>) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// A test that brings its own driver instead of a [`Body`] on the Lab 2 [`Config`]: runs test
/// `name` on `seed` with `options` and reports as [`crate::run_case`] does (never panics; a
/// panic is a failed report). Lab 3 tests are such runners, monomorphized over their Raft, KV
/// service and clerk, and handed to the generic machinery (`cargo test`, the hunt, replay) as
/// ordinary [`TestCase`]s ([`own_run_case`]).
pub type OwnRun = fn(name: &'static str, seed: u64, options: RunOptions) -> RunReport;

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
    /// 3A: the key/value service without snapshots (a test with its own driver, [`OwnRun`]).
    Lab3A,
    /// 3B: the key/value service with snapshots (a test with its own driver, [`OwnRun`]).
    Lab3B,
    /// The nemesis family: randomized fault campaigns ([`crate::nemesis`]), not a Go suite.
    Nemesis,
}

impl Part {
    /// `"2a"` … `"2d"`, `"3a"`, `"3b"`, `"nemesis"`, as in test names and `cargo test 2a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::A => "2a",
            Part::B => "2b",
            Part::C => "2c",
            Part::D => "2d",
            Part::Lab3A => "3a",
            Part::Lab3B => "3b",
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
    /// The test, on the Lab 2 [`Config`]; never called when [`own_run`](Self::own_run) is set.
    pub body: Body<R>,
    /// The test's own driver, if it has one: [`crate::run_case`] calls it instead of running
    /// [`body`](Self::body) on a [`Config`]. `None` for every Lab 2 and nemesis test.
    pub own_run: Option<OwnRun>,
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
            own_run: None,
        }
    };
}

/// A test that runs on its own driver `run` ([`OwnRun`]) rather than on a Lab 2 [`Config`]:
/// `servers`, `unreliable` and `snapshot` describe it for listings and reports only. Its
/// [`body`](TestCase::body) panics with an internal error if anything ever calls it.
pub fn own_run_case<R: RaftNode>(
    name: &'static str,
    part: Part,
    servers: usize,
    unreliable: bool,
    snapshot: bool,
    run: OwnRun,
) -> TestCase<R> {
    TestCase {
        name,
        part,
        servers,
        unreliable,
        snapshot,
        body: body_of_own_run::<R>,
        own_run: Some(run),
    }
}

/// What the body of a test with its own driver does if called: panics, since only a broken
/// harness calls it ([`crate::run_case`] calls the driver instead).
fn body_of_own_run<R: RaftNode>(_cfg: Config<R>) -> Pin<Box<dyn Future<Output = TestResult>>> {
    panic!(
        "internal error in the tester: the Lab 2 body of a test with its own driver \
         (TestCase::own_run) was called; such a test runs through tester::run_case"
    )
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

/// A stand-in for a driver of its own ([`OwnRun`]) that simulates nothing: passes on even
/// seeds, fails (`failed-check`, `odd seed N`) on odd ones, and prints one line naming the
/// test and seed. For the tests of the tools that run such tests (`cargo test`, the hunt and
/// its workers, replay) before a real one exists.
pub fn fails_on_odd_seeds(name: &'static str, seed: u64, _: RunOptions) -> RunReport {
    let result = match seed % 2 {
        0 => Ok(crate::Stats::default()),
        _ => Err(crate::Failure {
            kind: crate::FailureKind::FailedCheck,
            message: format!("odd seed {seed}"),
            at: labrpc::SimTime::from_millis(seed),
        }),
    };
    RunReport {
        test: name,
        seed,
        result,
        virtual_ms: seed,
        fingerprint: seed ^ 0x3a,
        events: 1,
        lines: vec![format!("own driver of {name} on seed {seed}")],
    }
}

/// Two stand-ins for Lab 3 tests, with [`fails_on_odd_seeds`] as their driver:
/// `own_flaky_3a` (part 3A) fails on odd seeds, `own_steady_3b` (part 3B) never (its driver
/// always runs seed 0). For the tests of the tools that run tests with their own driver.
pub fn own_run_stand_ins<R: RaftNode>() -> Vec<TestCase<R>> {
    vec![
        own_run_case(
            "own_flaky_3a",
            Part::Lab3A,
            5,
            false,
            false,
            fails_on_odd_seeds,
        ),
        own_run_case(
            "own_steady_3b",
            Part::Lab3B,
            5,
            true,
            true,
            |name, _, options| fails_on_odd_seeds(name, 0, options),
        ),
    ]
}

pub(crate) use case;

/// A Raft for [`own_run_stand_ins`] to name that no test builds: tests with their own driver
/// never make a node of the Lab 2 Raft, and its `new` says so if one ever does.
pub struct NoRaft;

impl RaftNode for NoRaft {
    type Request = ();
    type Reply = ();
    fn new(_: &mut raft::Context<'_, ()>, _: raft::Init) -> Self {
        unreachable!("a test with its own driver built a node of the Lab 2 Raft")
    }
    fn handle_request(&mut self, _: &mut raft::Context<'_, ()>, _: ()) {}
    fn handle_reply(&mut self, _: &mut raft::Context<'_, ()>, _: usize, _: (), _: Option<()>) {}
    fn handle_timer(&mut self, _: &mut raft::Context<'_, ()>, _: raft::TimerId) {}
    fn start(&mut self, _: &mut raft::Context<'_, ()>, _: Vec<u8>) -> Option<(u64, u64)> {
        None
    }
    fn state(&self) -> (u64, bool) {
        (0, false)
    }
    fn inspect(&self) -> raft::RaftView {
        raft::RaftView::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::run_case;

    #[test]
    fn run_case_runs_a_tests_own_driver() {
        let [flaky, steady] = own_run_stand_ins::<NoRaft>().try_into().ok().unwrap();
        let failed = run_case(&flaky, 7, RunOptions::default());
        assert_eq!((failed.test, failed.seed), ("own_flaky_3a", 7));
        let failure = failed.result.expect_err("odd seeds fail");
        assert_eq!(failure.message, "odd seed 7");
        assert_eq!(failed.lines, ["own driver of own_flaky_3a on seed 7"]);
        assert!(run_case(&flaky, 8, RunOptions::default()).passed());
        assert!(run_case(&steady, 9, RunOptions::default()).passed());
    }

    #[test]
    fn lab_3_parts_are_named_as_in_test_names() {
        assert_eq!(Part::Lab3A.as_str(), "3a");
        assert_eq!(Part::Lab3B.to_string(), "3b");
        let cases = own_run_stand_ins::<NoRaft>();
        assert!(cases.iter().all(|case| case.own_run.is_some()));
        assert!(every::<NoRaft>().iter().all(|case| case.own_run.is_none()));
    }
}
