//! Negative controls for the 2D log-size check: it must still catch a Raft that never trims
//! its log, with our (more compact than gob) encoding and `MAX_LOG_SIZE_BYTES`.

use raft_reference::Reference;
use tester::controls::NeverTrims;
use tester::suites::lab2d::MAX_LOG_SIZE_BYTES;
use tester::{FailureKind, RunOptions, TestCase, registry, run_case};

const SEED: u64 = 1;

fn snapshots_basic<R: raft::RaftNode>() -> TestCase<R> {
    registry::find::<R>("snapshot_basic_2d").expect("snapshots basic is registered")
}

/// A Raft that ignores every `snapshot()` fails snapshots basic on the log-size check, while
/// the reference passes the same seed: the check, not the seed, makes the difference.
#[test]
fn never_trimming_fails_the_log_size_check() {
    let broken = run_case(
        &snapshots_basic::<NeverTrims<Reference>>(),
        SEED,
        RunOptions::default(),
    );
    let failure = broken.result.expect_err(&format!(
        "a Raft that never trims its log must outgrow {MAX_LOG_SIZE_BYTES} B in snapshots basic"
    ));
    assert_eq!(failure.kind, FailureKind::FailedCheck, "{failure}");
    assert_eq!(failure.message, "Log size too large", "{failure}");

    let reference = run_case(&snapshots_basic::<Reference>(), SEED, RunOptions::default());
    assert!(
        reference.passed(),
        "the reference must pass seed {SEED}: {:?}",
        reference.result
    );
}
