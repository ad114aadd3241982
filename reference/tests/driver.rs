//! The config driver's own behaviour: tasks, sleeps and failures, on the reference Raft.

use std::future::Future;
use std::pin::Pin;

use raft_reference::Reference;
use tester::{Config, FailureKind, Part, RunOptions, TestCase, TestResult, run_case};

type Body = Pin<Box<dyn Future<Output = TestResult>>>;

fn case(body: fn(Config<Reference>) -> Body) -> TestCase<Reference> {
    TestCase {
        name: "driver",
        part: Part::A,
        servers: 3,
        unreliable: false,
        snapshot: false,
        body,
        own_run: None,
    }
}

#[test]
fn awaiting_a_failed_task_reports_its_failure() {
    let report = run_case(
        &case(|cfg| {
            Box::pin(async move {
                let client = cfg.clone();
                let handle = cfg.spawn(async move {
                    client.sleep_ms(10).await;
                    Err::<(), _>(client.failure("client failed on purpose"))
                });
                handle.await;
                Ok(())
            })
        }),
        1,
        RunOptions::default(),
    );
    let failure = report
        .result
        .expect_err("the client's failure fails the run");
    assert_eq!(failure.kind, FailureKind::FailedCheck);
    assert_eq!(failure.message, "client failed on purpose");
    assert_eq!(failure.at.as_millis(), 10);
}

#[test]
fn a_sleep_first_awaited_after_its_deadline_is_ready() {
    let report = run_case(
        &case(|cfg| {
            Box::pin(async move {
                let early = cfg.sleep_ms(5);
                cfg.sleep_ms(20).await;
                early.await;
                if cfg.now().as_millis() != 20 {
                    return Err(cfg.failure(format!("woke at {}", cfg.now())));
                }
                Ok(())
            })
        }),
        1,
        RunOptions::default(),
    );
    assert!(report.passed(), "{:?}", report.result);
}

#[test]
fn concurrent_tasks_join_with_their_values() {
    let report = run_case(
        &case(|cfg| {
            Box::pin(async move {
                let handles: Vec<_> = (0..3u64)
                    .map(|k| {
                        let task = cfg.clone();
                        cfg.spawn(async move {
                            task.sleep_ms(30 - 10 * k).await;
                            Ok(task.now().as_millis())
                        })
                    })
                    .collect();
                let mut woke = Vec::new();
                for handle in handles {
                    woke.push(handle.await);
                }
                if woke != [30, 20, 10] {
                    return Err(cfg.failure(format!("woke at {woke:?}")));
                }
                Ok(())
            })
        }),
        1,
        RunOptions::default(),
    );
    assert!(report.passed(), "{:?}", report.result);
}
