//! The in-flight controls (`raft_reference::flaws`: bugs that bite only when a reply arrives
//! after its sender moved on) are caught, each on a test and seed known to catch it, with
//! no latency and with the suites' latency; the reference passes the same runs. The
//! `in_flight` benchmark counts on how many seeds each is caught (README, "What the latency
//! buys").
//!
//! (No test name here contains a part name like the suites', so `cargo test 2b` runs only the
//! real suite.)

use labrpc::Latency;
use raft::RaftNode;
use raft_reference::Reference;
use raft_reference::flaws::{self, Flawed};
use tester::safety::Property;
use tester::{FailureKind, RunOptions, RunReport, registry, run_case};

/// The suites' latency, whatever `LAB_LATENCY` says: these runs are pinned.
const GO: Latency = tester::latency::DEFAULT;

fn run<R: RaftNode>(test: &str, seed: u64, latency: Latency) -> RunReport {
    let case = registry::find::<R>(test).unwrap_or_else(|| panic!("{test} is registered"));
    let options = RunOptions {
        latency,
        ..RunOptions::default()
    };
    run_case(&case, seed, options)
}

/// `R` fails `test` on `seed` with `kind` and a message containing `message`.
fn assert_caught<R: RaftNode>(
    test: &str,
    seed: u64,
    latency: Latency,
    kind: FailureKind,
    message: &str,
) {
    let report = run::<R>(test, seed, latency);
    let failure = report
        .result
        .expect_err("the flawed Raft must fail this run");
    println!("{test} seed {seed}, {latency:?}: {failure}");
    assert_eq!(failure.kind, kind, "{failure}");
    assert!(failure.message.contains(message), "{failure}");
}

fn assert_reference_passes(test: &str, seed: u64, latency: Latency) {
    let report = run::<Reference>(test, seed, latency);
    assert!(report.passed(), "{test} seed {seed}: {:?}", report.result);
}

/// A `start` while an AppendEntries is in flight makes the leader count the follower for the
/// new entry and never send it: the follower never catches up. Zero latency catches it too,
/// on the same seed: a tester wake-up of the same instant runs between a send and its reply
/// there, and the follower's endless rejections are a livelock of one instant; with latency
/// they take time, and Go's agreement check fails.
#[test]
fn a_match_index_taken_from_the_leaders_log_is_caught_with_and_without_latency() {
    type Flawed1 = Flawed<flaws::MatchesOwnLog>;
    let agreement = "failed to reach agreement";
    assert_caught::<Flawed1>("rejoin_2b", 1, GO, FailureKind::FailedCheck, agreement);
    let livelock = "livelock";
    assert_caught::<Flawed1>("rejoin_2b", 1, Latency::ZERO, FailureKind::Hang, livelock);
    assert_reference_passes("rejoin_2b", 1, GO);
    assert_reference_passes("rejoin_2b", 1, Latency::ZERO);
}

/// A snapshot the leader takes while an InstallSnapshot is in flight: on this seed only the
/// latency lets the reply arrive after it, and the follower is stuck behind for good.
#[test]
fn a_snapshot_reply_matched_to_the_leaders_snapshot_is_caught_on_this_seed_only_with_latency() {
    type Flawed2 = Flawed<flaws::SnapshotMatchesOwnSnapshot>;
    let test = "snapshot_install_2d";
    let agreement = "failed to reach agreement";
    assert_caught::<Flawed2>(test, 4, GO, FailureKind::FailedCheck, agreement);
    let zero = run::<Flawed2>(test, 4, Latency::ZERO);
    assert!(zero.passed(), "no latency: {:?}", zero.result);
    assert_reference_passes(test, 4, GO);
}

/// An AppendEntries overtaken by a later one moves the follower's commit index back.
#[test]
fn a_commit_index_moved_back_by_a_late_append_breaks_the_commit_index() {
    type Flawed3 = Flawed<flaws::CommitGoesBack>;
    let property = Property::CommitIndex.name();
    for latency in [GO, Latency::ZERO] {
        let test = "unreliable_agree_2c";
        assert_caught::<Flawed3>(test, 1, latency, FailureKind::Safety, property);
        assert_reference_passes(test, 1, latency);
    }
}

/// Entries `start`ed while the request was in flight are committed on the leader alone, caught
/// at that commit (before the majority check, by Leader Completeness later in the run).
#[test]
fn committing_the_whole_log_commits_without_a_majority() {
    type Flawed4 = Flawed<flaws::CommitsWholeLog>;
    let property = Property::CommitMajority.name();
    for latency in [GO, Latency::ZERO] {
        let test = "figure_8_unreliable_2c";
        assert_caught::<Flawed4>(test, 1, latency, FailureKind::Safety, property);
        assert_reference_passes(test, 1, latency);
    }
}
