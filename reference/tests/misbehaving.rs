//! Rafts that misbehave towards the harness (`tester::misbehaving`), over the reference: each
//! ends its run as a classified failure naming the node and the call, or passes where what it
//! does is allowed. None may make the harness fail or blame itself.

use raft::RaftNode;
use raft_reference::Reference;
use tester::misbehaving::{
    AppliesSnapshotAtMax, ArmsTimersForever, CallsNoSuchPeer, CancelsTimerZero, DROP_PANIC,
    FloodsBytes, LOOP_FROM_MS, LoopsForever, PanicsOnDrop, PanicsOnReply, PilesUpTimers,
    REPLY_PANIC, RearmsAtOnce, RejectsItsOwnState, STATE_PANIC, StartsAtOne, TimesOutNever,
};
use tester::{
    Config, Failure, FailureKind, Part, RunOptions, RunReport, TestCase, TestResult, registry,
    run_case,
};

fn run<R: RaftNode>(test: &str, seed: u64, safety_checks: bool) -> RunReport {
    let case = registry::find::<R>(test).expect("a lab test");
    let options = RunOptions {
        safety_checks,
        ..RunOptions::default()
    };
    run_case(&case, seed, options)
}

fn failure_of<R: RaftNode>(test: &str) -> Failure {
    let report = run::<R>(test, 1, true);
    report.result.expect_err("a misbehaving Raft fails")
}

/// `S<digit> panicked in <call>`, and the rest of the message.
fn panicked_in<'m>(message: &'m str, call: &str) -> &'m str {
    let rest = message
        .strip_prefix('S')
        .and_then(|rest| rest.get(1..))
        .and_then(|rest| rest.strip_prefix(" panicked in "))
        .and_then(|rest| rest.strip_prefix(call));
    rest.unwrap_or_else(|| panic!("not 'S<n> panicked in {call}': {message}"))
}

#[test]
fn a_panic_in_a_handler_names_the_server_the_handler_and_the_peer() {
    let failure = failure_of::<PanicsOnReply<Reference>>("initial_election_2a");
    assert_eq!(failure.kind, FailureKind::Panic, "{failure}");
    let rest = panicked_in(&failure.message, "handle_reply (a call to S");
    assert!(rest.ends_with(&format!("): {REPLY_PANIC}")), "{failure}");
    assert!(
        failure.at.as_millis() > 0,
        "the time of the panic: {failure}"
    );
}

#[test]
fn a_call_to_a_peer_that_does_not_exist_is_the_nodes_panic() {
    let failure = failure_of::<CallsNoSuchPeer<Reference>>("initial_election_2a");
    assert_eq!(failure.kind, FailureKind::Panic, "{failure}");
    let rest = panicked_in(&failure.message, "handle_timer: server ");
    assert!(
        rest.ends_with(" called peer 3, but peers are 0..3"),
        "{failure}"
    );
}

#[test]
fn a_node_that_cannot_boot_from_its_state_is_named_in_a_shadow_boot_or_a_restart() {
    // 2A never restarts a node: the persist-before-reply check's shadow boot finds it, and
    // names it against the node that saved the state.
    let failure = failure_of::<RejectsItsOwnState<Reference>>("initial_election_2a");
    assert_eq!(failure.kind, FailureKind::Safety, "{failure}");
    assert!(
        failure.message.starts_with("Persist before reply: S")
            && failure
                .message
                .contains("but its persisted state does not boot: `new` panicked")
            && failure.message.contains(STATE_PANIC),
        "{failure}"
    );
    // Without the checks, the first restart of 2C does.
    let report = run::<RejectsItsOwnState<Reference>>("initial_election_2a", 1, false);
    assert!(report.passed(), "{:?}", report.result);
    let report = run::<RejectsItsOwnState<Reference>>("persist1_2c", 1, false);
    let failure = report.result.expect_err("a restart panics");
    assert_eq!(failure.kind, FailureKind::Panic, "{failure}");
    let rest = panicked_in(&failure.message, "new: ");
    assert_eq!(rest, STATE_PANIC, "{failure}");
}

#[test]
fn a_timer_that_never_fires_and_the_widest_random_range_are_allowed() {
    for test in ["initial_election_2a", "persist1_2c"] {
        let report = run::<TimesOutNever<Reference>>(test, 1, true);
        assert!(report.passed(), "{test}: {:?}", report.result);
        assert!(report.virtual_ms < 60_000, "{test}: {}", report.virtual_ms);
    }
}

#[test]
fn cancelling_a_timer_another_node_set_does_nothing() {
    // Server 0's first election timer is the run's timer 0; every other server cancels it at
    // boot (a student's `TimerId(0)` placeholder). The run must be the reference's own.
    let reference = run::<Reference>("initial_election_2a", 1, true);
    let strangers = run::<CancelsTimerZero<Reference>>("initial_election_2a", 1, true);
    assert!(strangers.passed(), "{:?}", strangers.result);
    assert_eq!(strangers.fingerprint, reference.fingerprint);
    assert_eq!(strangers.events, reference.events);
}

#[test]
fn a_handler_that_loops_asking_for_effects_is_stopped_as_a_hang() {
    let failure = failure_of::<ArmsTimersForever<Reference>>("initial_election_2a");
    assert_eq!(failure.kind, FailureKind::Hang, "{failure}");
    let rest = asked_for(&failure.message);
    assert!(
        rest.starts_with("more than 100000 effects (calls, timers, persists, applies) in one handle_timer: a loop that never ends?"),
        "{failure}"
    );
    assert!(failure.at.as_millis() >= LOOP_FROM_MS, "{failure}");
}

/// What follows `S<digit> asked for `.
fn asked_for(message: &str) -> &str {
    let rest = message
        .strip_prefix('S')
        .and_then(|rest| rest.get(1..))
        .and_then(|rest| rest.strip_prefix(" asked for "));
    rest.unwrap_or_else(|| panic!("not 'S<n> asked for': {message}"))
}

#[test]
fn a_snapshot_applied_at_index_u64_max_is_refused_not_wrapped() {
    // 2D ingests snapshots; 2A's applier ignores them, but the safety checks read them too.
    for test in ["snapshot_basic_2d", "initial_election_2a"] {
        for safety_checks in [true, false] {
            let report = run::<AppliesSnapshotAtMax<Reference>>(test, 1, safety_checks);
            let failure = report.result.expect_err("an index of u64::MAX is refused");
            assert_eq!(failure.kind, FailureKind::FailedCheck, "{test}: {failure}");
            assert_eq!(
                failure.message,
                "apply error: server 0 applied index 18446744073709551615 (u64::MAX): no log \
                 reaches that index",
                "{test}"
            );
            assert!(failure.at.as_millis() >= LOOP_FROM_MS, "{test}: {failure}");
        }
    }
}

#[test]
fn start_answering_a_committed_index_fails_the_churn_test_instead_of_spinning() {
    for test in ["reliable_churn_2c", "unreliable_churn_2c"] {
        let report = run::<StartsAtOne<Reference>>(test, 1, true);
        let failure = report.result.expect_err("no command is ever agreed");
        assert_eq!(failure.kind, FailureKind::FailedCheck, "{test}: {failure}");
        assert!(
            failure.message.contains("failed to reach agreement"),
            "{test}: {failure}"
        );
        // The churn (20 rounds of 0.7 s) ran, in virtual time.
        assert!(report.virtual_ms > 14_000, "{test}: {}", report.virtual_ms);
    }
}

/// A test body that asks for a server's state in a loop that never awaits.
fn spins(cfg: Config<Reference>) -> std::pin::Pin<Box<dyn Future<Output = TestResult>>> {
    Box::pin(async move {
        loop {
            std::hint::black_box(cfg.get_state(0));
        }
    })
}

#[test]
fn a_tester_task_that_never_awaits_is_a_hang_with_its_time() {
    let case = TestCase {
        name: "spins_2a",
        part: Part::A,
        servers: 3,
        unreliable: false,
        snapshot: false,
        body: spins,
        own_run: None,
    };
    let report = run_case(&case, 7, RunOptions::default());
    let failure = report
        .result
        .expect_err("a task that never awaits is stopped");
    assert_eq!(failure.kind, FailureKind::Hang, "{failure}");
    assert!(
        failure.message.starts_with(&format!(
            "a tester task took more than {} steps",
            tester::MAX_TASK_STEPS
        )),
        "{failure}"
    );
    assert_eq!(report.seed, 7);
    assert_eq!(failure.at.as_millis(), 0, "{failure}");
}

#[test]
fn a_livelock_is_stopped_after_ten_thousand_events_naming_what_loops() {
    let report = run::<RearmsAtOnce<Reference>>("initial_election_2a", 1, true);
    let failure = report.result.expect_err("virtual time stops");
    assert_eq!(failure.kind, FailureKind::Hang, "{failure}");
    assert_eq!(
        failure.message,
        format!(
            "virtual time stopped advancing (livelock): {} events at one instant; the last {} \
             were S0 handle_timer ×{}",
            tester::LIVELOCK_EVENTS + tester::LIVELOCK_SAMPLE_EVENTS,
            tester::LIVELOCK_SAMPLE_EVENTS,
            tester::LIVELOCK_SAMPLE_EVENTS,
        )
    );
    assert!(failure.at.as_millis() >= LOOP_FROM_MS, "{failure}");
    assert!(
        report.events < 20_000,
        "stopped early: {} events",
        report.events
    );
}

#[test]
fn a_panic_in_a_nodes_drop_fails_its_run_naming_it() {
    // 2A never crashes a node: it is dropped when the run ends, after the test passed.
    let failure = failure_of::<PanicsOnDrop<Reference>>("initial_election_2a");
    assert_eq!(failure.kind, FailureKind::Panic, "{failure}");
    assert_eq!(
        failure.message,
        format!("S0 panicked in drop: {DROP_PANIC}")
    );
    assert!(failure.at.as_millis() > 0, "the end of the run: {failure}");
    // 2C crashes nodes: the first crash of S0 fails the run there.
    let failure = failure_of::<PanicsOnDrop<Reference>>("persist1_2c");
    assert_eq!(
        failure.message,
        format!("S0 panicked in drop: {DROP_PANIC}")
    );
    // The next run, on this thread, is not affected.
    assert!(run::<Reference>("initial_election_2a", 1, true).passed());
}

#[test]
fn cargo_tests_watchdog_stops_a_handler_that_never_returns_naming_it() {
    // The child: this same test, in a copy of this binary, on the looping Raft.
    if std::env::var_os("MISBEHAVING_WATCHDOG_CHILD").is_some() {
        tester::cargo_test::<LoopsForever<Reference>>("initial_election_2a");
        unreachable!("the watchdog exits the process");
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cargo_tests_watchdog_stops_a_handler_that_never_returns_naming_it",
        ])
        .env("MISBEHAVING_WATCHDOG_CHILD", "1")
        .env("LAB_WATCHDOG_SECS", "1")
        .env("LAB_SEED", "3")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(
        stdout.contains(
            "--- FAIL: initial_election_2a (seed 3): hang: no result after 1 s of wall-clock time"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(" S0 is still in handle_timer, handling TimerId("),
        "{stdout}"
    );
    assert!(
        stdout.contains("reproduce: LAB_SEED=3 cargo test --release -p raft-reference"),
        "{stdout}"
    );
}

#[test]
fn a_run_that_piles_up_pending_events_is_stopped_at_the_bound() {
    let report = run::<PilesUpTimers<Reference>>("initial_election_2a", 1, true);
    let failure = report.result.expect_err("the storm is stopped");
    assert_eq!(failure.kind, FailureKind::ResourceLimit, "{failure}");
    assert_eq!(failure.kind.as_str(), "resource-limit");
    let bound = tester::MAX_PENDING_EVENTS;
    assert!(
        failure.message.contains(&format!(
            "events pending at once (messages in flight, timers), more than {bound}"
        )),
        "{failure}"
    );
    // Up to 1,000 more every millisecond: stopped within the second after the storm starts.
    assert!(failure.at.as_millis() < LOOP_FROM_MS + 1000, "{failure}");
}

#[test]
fn a_storm_of_large_messages_is_stopped_at_the_bytes_in_flight_bound() {
    let report = run::<FloodsBytes<Reference>>("rpc_bytes_2b", 1, true);
    let failure = report.result.expect_err("the storm is stopped");
    assert_eq!(failure.kind, FailureKind::ResourceLimit, "{failure}");
    let bound = tester::MAX_PENDING_BYTES;
    assert!(
        failure.message.contains(&format!(
            "bytes of messages in flight at once, more than {bound} (128 MiB)"
        )),
        "{failure}"
    );
    // Long before the pending-events bound: each copy is a 5,000-byte command.
    assert!(report.events < 100_000, "{}", report.events);
}
