//! Negative controls for the 2B traffic thresholds: the byte and RPC-count checks must still
//! fail an implementation that breaks them, with our (more compact than gob) encoding. Each
//! control also runs the reference on the same seed, so the check, not the seed, makes the
//! difference.
//!
//! (No test name here contains a part name like the suites', so `cargo test 2b` runs only the
//! real suite.)

use raft::RaftNode;
use raft_reference::Reference;
use tester::controls::{Chatty, SendTwice};
use tester::{FailureKind, RunOptions, TestCase, registry, run_case};

const SEEDS: [u64; 3] = [1, 2, 3];

fn case<R: RaftNode>(name: &str) -> TestCase<R> {
    registry::find::<R>(name).unwrap_or_else(|| panic!("{name} is registered"))
}

/// Runs `name` on `Broken` and on the reference for each seed: the first must fail a check
/// whose message contains one of `messages`, the second must pass.
fn assert_fails_where_reference_passes<Broken: RaftNode>(name: &str, messages: &[&str]) {
    for seed in SEEDS {
        let broken = run_case(&case::<Broken>(name), seed, RunOptions::default());
        let failure = broken
            .result
            .expect_err("the broken implementation must fail");
        println!("{name} on seed {seed}: {failure}");
        assert_eq!(
            failure.kind,
            FailureKind::FailedCheck,
            "seed {seed}: {failure}"
        );
        assert!(
            messages.iter().any(|m| failure.message.contains(m)),
            "seed {seed}: expected one of {messages:?}, got {failure}"
        );

        let reference = run_case(&case::<Reference>(name), seed, RunOptions::default());
        assert!(
            reference.passed(),
            "the reference must pass {name} on seed {seed}: {:?}",
            reference.result
        );
    }
}

/// A leader that sends every AppendEntries (and every other RPC) twice fails the RPC byte
/// count with Go's threshold: on the reference it sends 201 280 B where 200 000 are allowed
/// (the reference alone: about 100 700 B).
#[test]
fn send_twice_fails_the_byte_test() {
    assert_fails_where_reference_passes::<SendTwice<Reference>>(
        "rpc_bytes_2b",
        &["too many RPC bytes"],
    );
}

/// A leader that heartbeats 50 times a second fails the RPC count: usually on the second of
/// idleness (120 RPCs where 60 are allowed), on about one seed in ten already on the initial
/// election (more than 30 RPCs delivered by the first `check_one_leader`), which says
/// `too many or few RPCs`. Seeds 1–3 fail on idleness.
#[test]
fn chatty_heartbeats_fail_the_count_test() {
    assert_fails_where_reference_passes::<Chatty<Reference>>(
        "count_2b",
        &["too many RPCs", "too many or few RPCs"],
    );
}
