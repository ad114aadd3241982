//! The Lab 3 negative controls: each deliberately broken key/value service
//! (`raft_reference::kv::flaws`) fails the Go test meant to catch it, with Go's message, on
//! every one of the first seeds, while the reference passes the same runs.

use raft_reference::Reference;
use raft_reference::kv::flaws::{
    ExecutesResends, FlawedKv, NeverSnapshots, ReadsLocally, SnapshotsHistory,
    SnapshotsWithoutResends,
};
use raft_reference::kv::{KvClerk, KvReply, KvRequest, KvServer};
use tester::RunOptions;

/// Seeds each control runs on.
const SEEDS: u64 = 3;

/// Runs `test` with service `K` on the first [`SEEDS`] seeds; returns each run's failure
/// message (`None` if it passed).
fn messages<K>(test: &'static str) -> Vec<Option<String>>
where
    K: kvraft::KvService<Request = KvRequest, Reply = KvReply>,
{
    (1..=SEEDS)
        .map(|seed| {
            let report =
                tester::lab3::run::<(Reference, K, KvClerk)>(test, seed, RunOptions::default());
            report.result.err().map(|failure| failure.message)
        })
        .collect()
}

/// `K` fails `test` on every seed with a message starting with one of `expected`, and the
/// reference passes it.
fn caught<K>(test: &'static str, expected: &[&str])
where
    K: kvraft::KvService<Request = KvRequest, Reply = KvReply>,
{
    for (seed, message) in (1..).zip(messages::<K>(test)) {
        let message = message.unwrap_or_else(|| panic!("{test} passed on seed {seed}"));
        assert!(
            expected.iter().any(|start| message.starts_with(start)),
            "{test} seed {seed}: {message}"
        );
    }
    for (seed, message) in (1..).zip(messages::<KvServer>(test)) {
        assert_eq!(message, None, "the reference on {test} seed {seed}");
    }
}

#[test]
fn executing_resends_fails_the_unreliable_tests() {
    let dup = ["duplicate element", "get wrong value"];
    caught::<FlawedKv<ExecutesResends>>("unreliable_one_key_3a", &dup);
    caught::<FlawedKv<ExecutesResends>>("unreliable_3a", &dup);
}

#[test]
fn reading_locally_fails_the_minority_and_linearizability_checks() {
    caught::<FlawedKv<ReadsLocally>>("one_partition_3a", &["Get in minority completed"]);
    caught::<FlawedKv<ReadsLocally>>(
        "persist_partition_unreliable_linearizable_3a",
        &["history is not linearizable"],
    );
}

#[test]
fn an_illegal_history_is_drawn_and_its_path_printed() {
    let test = "persist_partition_unreliable_linearizable_3a";
    let report = tester::lab3::run::<(Reference, FlawedKv<ReadsLocally>, KvClerk)>(
        test,
        1,
        RunOptions::default(),
    );
    let failure = report.result.expect_err("a local read is caught");
    assert_eq!(failure.message, "history is not linearizable");
    let path = linearizability::visualize::visualization_path(test, 1);
    let line = format!("info: wrote history visualization to {}", path.display());
    assert!(report.lines.contains(&line), "{:?}", report.lines);
    let page = std::fs::read_to_string(&path).expect("the page was written");
    assert!(page.contains("history is not linearizable"), "{path:?}");
}

#[test]
fn never_snapshotting_fails_snapshot_size() {
    caught::<FlawedKv<NeverSnapshots>>("snapshot_size_3b", &["logs were not trimmed ("]);
}

#[test]
fn a_snapshot_without_the_duplicate_table_fails_unreliable_recovery() {
    caught::<FlawedKv<SnapshotsWithoutResends>>(
        "snapshot_unreliable_recover_3b",
        &[
            "duplicate element",
            "get wrong value",
            "history is not linearizable",
        ],
    );
}

#[test]
fn a_snapshot_carrying_the_history_is_too_large() {
    caught::<FlawedKv<SnapshotsHistory>>("snapshot_size_3b", &["snapshot too large ("]);
}
