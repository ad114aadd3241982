//! `cargo test` entry point: one `#[test]` per lab test calls [`cargo_test`].

use std::ops::RangeInclusive;

use raft::RaftNode;

use crate::determinism;
use crate::isolate;
use crate::registry::{self, TestCase};
use crate::run::{RunOptions, cargo_replay_command, run_case};
use crate::warnings;

/// The seed a plain `cargo test` uses for every test, so that it is reproducible.
pub const DEFAULT_SEED: u64 = 1;

/// Reads a `u64` from the environment; panics with a clear message if it is not one.
pub fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a non-negative integer"),
    }
}

/// Runs the lab test `name` on implementation `R`: on seed `LAB_SEED` (default
/// [`DEFAULT_SEED`]), or on `LAB_SEEDS` consecutive seeds from it. Prints the Go lines; on a
/// failure prints the seed, the message and one command that reproduces it, then panics.
///
/// With `LAB_CHECK_DETERMINISM=1` every seed runs twice and the two runs are compared event by
/// event ([`determinism::run_twice`]); a difference fails the test and names the first event
/// that differs. Go's warnings (`warning: ...` lines) are printed with their seed; with
/// `LAB_STRICT=1` they fail the test ([`warnings`]).
pub fn cargo_test<R: RaftNode>(name: &str) {
    cargo_test_in(name, registry::every::<R>());
}

/// [`cargo_test`] for the test `name` of `cases` rather than of the tester's registry: a crate
/// whose tests the registry does not hold (Lab 3's, which bring their own driver,
/// [`crate::OwnRun`]) passes its list. Every `#[test]` of such a crate calls this with the same
/// list, so the child process that runs its seeds ([`isolate`]), which reruns the same
/// `#[test]`, finds the same test. Panics, naming every test of `cases`, if none is `name`.
pub fn cargo_test_in<R: RaftNode>(name: &str, cases: Vec<TestCase<R>>) {
    crate::logging::init_for_cargo_test();
    let Some(case) = cases.iter().find(|case| case.name == name).copied() else {
        let names: Vec<&str> = cases.iter().map(|case| case.name).collect();
        panic!(
            "no lab test is called {name:?}; the lab tests are: {}",
            names.join(", ")
        );
    };
    let first = env_u64("LAB_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_u64("LAB_SEEDS").unwrap_or(1);
    let seeds = seed_range(first, count).unwrap_or_else(|refusal| panic!("{refusal}"));
    let modes = Modes {
        determinism: determinism::enabled(),
        strict: warnings::strict_from_env(),
    };
    let test_path = running_test_path();
    let verdict = match test_path.filter(|_| !isolate::in_process()) {
        Some(path) => run_in_child(name, &path, &seeds, modes),
        None => {
            isolate::mark(&format!("{name} begin"));
            let failed = run_here(&case, seeds.clone(), count, modes);
            let list: Vec<String> = failed.iter().map(u64::to_string).collect();
            isolate::mark(&format!("{name} done {}", list.join(",")));
            if isolate::is_child() {
                return; // the parent reports
            }
            Verdict { failed, not_run: 0 }
        }
    };
    verdict.report(name, &seeds, modes);
}

/// The seeds of a `#[test]` that failed, and how many did not run (after a seed that took its
/// process down).
struct Verdict {
    failed: Vec<u64>,
    not_run: u64,
}

impl Verdict {
    /// Prints the summary of several seeds; panics if any failed.
    fn report(&self, name: &str, seeds: &RangeInclusive<u64>, modes: Modes) {
        let (first, last) = (*seeds.start(), *seeds.end());
        let count = last - first + 1;
        let failed = &self.failed;
        if count > 1 {
            let passed = count - failed.len() as u64 - self.not_run;
            let not_run = match self.not_run {
                0 => String::new(),
                n => format!(", {n} not run"),
            };
            println!(
                "{name}: seeds {first}..={last}: {passed} passed, {} failed{not_run}",
                failed.len()
            );
        }
        if let Some(&seed) = failed.first() {
            panic!(
                "{name} failed on {} of {count} seed(s) {failed:?}; reproduce the first with: {}",
                failed.len(),
                modes.command(name, seed)
            );
        }
    }
}

/// Runs `seeds` here; returns those that failed.
fn run_here<R: RaftNode>(
    case: &TestCase<R>,
    seeds: RangeInclusive<u64>,
    count: u64,
    modes: Modes,
) -> Vec<u64> {
    seeds
        .filter(|&seed| {
            isolate::mark(&format!("{} run {seed}", case.name));
            !run_seed(case, seed, count, modes)
        })
        .collect()
}

/// Runs the `#[test]` at `path` (which calls this with `name`) in a child process
/// ([`isolate`]): a seed that takes the child down fails as `crash` or `exit`, with its
/// reproduce line.
fn run_in_child(name: &str, path: &str, seeds: &RangeInclusive<u64>, modes: Modes) -> Verdict {
    let last = *seeds.end();
    match isolate::run_in_child(path, name) {
        isolate::Ended::Done(failed) => Verdict { failed, not_run: 0 },
        isolate::Ended::Reported(seed) => Verdict {
            failed: vec![seed],
            not_run: last - seed,
        },
        isolate::Ended::Lost(Some(seed), kind, how) => {
            println!("--- FAIL: {name} (seed {seed}): {kind}: {how}");
            println!("    reproduce: {}", modes.command(name, seed));
            Verdict {
                failed: vec![seed],
                not_run: last - seed,
            }
        }
        isolate::Ended::Lost(None, kind, how) => {
            panic!("{name}: the child test process ended before it ran a seed: {kind}: {how}")
        }
    }
}

/// The path of the `#[test]` running on this thread (libtest names each test's thread after
/// it), if there is one.
fn running_test_path() -> Option<String> {
    let thread = std::thread::current();
    thread
        .name()
        .filter(|name| *name != "main")
        .map(str::to_owned)
}

/// The seeds `LAB_SEED=first LAB_SEEDS=count` select: `first..=first + count - 1`, or why
/// there are none (a run of no seeds would look like a pass, as the hunt's `--seeds 0` would).
/// `u64::MAX` is a seed like any other.
pub fn seed_range(first: u64, count: u64) -> Result<RangeInclusive<u64>, String> {
    if count == 0 {
        return Err(
            "LAB_SEEDS=0 selects no seeds: a test of no seeds would run nothing and \
             look like a pass; use LAB_SEEDS=1 or more"
                .to_owned(),
        );
    }
    match first.checked_add(count - 1) {
        Some(last) => Ok(first..=last),
        None => Err(format!(
            "LAB_SEED={first} leaves no room for LAB_SEEDS={count} seeds below 2^64: the last \
             seed is {}",
            u64::MAX
        )),
    }
}

/// The checks a `cargo test` run makes besides the suite's: `LAB_CHECK_DETERMINISM`,
/// `LAB_STRICT`.
#[derive(Clone, Copy)]
struct Modes {
    determinism: bool,
    strict: bool,
}

impl Modes {
    /// The command that reruns this `#[test]` on `seed` with the same checks.
    fn command(self, name: &str, seed: u64) -> String {
        let mut env = String::new();
        if self.determinism {
            env.push_str(&format!("{}=1 ", determinism::ENV));
        }
        if self.strict {
            env.push_str(&format!("{}=1 ", warnings::STRICT_ENV));
        }
        env + &replay_command(name, seed)
    }
}

/// Runs `case` on `seed` (one of `count` seeds) and prints what a student needs: the Go lines
/// (of a single seed, or of a failing one), each warning and each failure with the command
/// that reproduces it. Returns whether the run passed.
fn run_seed<R: RaftNode>(case: &TestCase<R>, seed: u64, count: u64, modes: Modes) -> bool {
    let name = case.name;
    let options = RunOptions {
        echo: count == 1,
        ..RunOptions::default()
    };
    let mut report = if modes.determinism {
        let (report, mismatch) = determinism::run_twice(case, seed, options);
        if let Some(mismatch) = mismatch {
            println!("--- FAIL: {name} (seed {seed}): nondeterministic: {mismatch}");
            println!("    reproduce: {}", modes.command(name, seed));
            return false;
        }
        report
    } else {
        let reproduce = modes.command(name, seed);
        crate::watchdog::watched(name, seed, reproduce, || run_case(case, seed, options))
    };
    if modes.strict {
        report.fail_on_warnings();
    }
    match &report.result {
        Ok(_) => {
            if count > 1 {
                for warning in report.warnings() {
                    println!("{name} (seed {seed}): {warning}");
                    println!("    reproduce: {}", modes.command(name, seed));
                }
            }
            true
        }
        Err(failure) => {
            if count > 1 {
                for line in &report.lines {
                    println!("{line}");
                }
            }
            println!("--- FAIL: {name} (seed {seed}): {failure}");
            println!("    reproduce: {}", modes.command(name, seed));
            if let Some(shrunk) = shrink_nemesis(case, seed, &report) {
                println!("{shrunk}");
            }
            false
        }
    }
}

/// For a failing nemesis test: its schedule, shrunk, both written as schedule files under
/// the system's temporary directory (`nemesis/<test>-<seed>.*.json`), described for printing.
fn shrink_nemesis<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    report: &crate::RunReport,
) -> Option<String> {
    let schedule = crate::nemesis::schedule_for(case.name, case.part, seed)?;
    let dir = std::env::temp_dir().join("nemesis");
    let stem = dir.join(format!("{}-{seed}", case.name));
    let options = RunOptions::default;
    let saved = std::fs::create_dir_all(&dir).and_then(|()| {
        crate::nemesis::shrink::save_beside(case, seed, report, &options, &stem)
            .unwrap_or_else(|| Ok(String::new()))
    });
    Some(match saved {
        Ok(text) => format!("    the schedule:\n{schedule}\n    {text}"),
        Err(e) => format!("    the schedule:\n{schedule}\n    (could not write it: {e})"),
    })
}

/// The command that reruns this `#[test]` on `seed`: in the package whose tests are running
/// (cargo sets `CARGO_PKG_NAME` for test binaries, so a student's crate gets its own name), at
/// the test's full path (libtest names each test's thread after it).
fn replay_command(name: &str, seed: u64) -> String {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "tester".to_owned());
    let thread = std::thread::current();
    let test_path = thread
        .name()
        .filter(|path| path.ends_with(name))
        .unwrap_or(name);
    let command = cargo_replay_command(&package, test_path, seed);
    let latency = crate::latency::env_prefix(crate::latency::from_env());
    match crate::safety::enabled_by_env() {
        true => format!("{latency}{command}"),
        false => format!("{latency}{}=off {command}", crate::safety::CHECKS_ENV),
    }
}

/// Defines one `#[test]` per lab test (2A–2D, Go names: `initial_election_2a`, …, and the
/// nemesis family: `swarm_nemesis`, …, see [`crate::nemesis`]) running the suites on the given
/// [`raft::RaftNode`] implementation, plus a test that the list matches the tester's
/// registry. One line in a test file of your crate:
///
/// ```no_run
/// # mod my_raft {
/// #     use raft::{Context, Init, RaftNode, RaftView, TimerId};
/// #     pub struct MyRaft;
/// #     impl RaftNode for MyRaft {
/// #         type Request = ();
/// #         type Reply = ();
/// #         fn new(_: &mut Context<'_, ()>, _: Init) -> Self { MyRaft }
/// #         fn handle_request(&mut self, _: &mut Context<'_, ()>, _: ()) {}
/// #         fn handle_reply(&mut self, _: &mut Context<'_, ()>, _: usize, _: (), _: Option<()>) {}
/// #         fn handle_timer(&mut self, _: &mut Context<'_, ()>, _: TimerId) {}
/// #         fn start(&mut self, _: &mut Context<'_, ()>, _: Vec<u8>) -> Option<(u64, u64)> { None }
/// #         fn state(&self) -> (u64, bool) { (0, false) }
/// #         fn inspect(&self) -> RaftView { RaftView::default() }
/// #     }
/// # }
/// tester::lab_tests!(my_raft::MyRaft); // your type here
/// # fn main() {}
/// ```
///
/// Then `cargo test --release 2a` runs the 2A tests on your Raft, as in the Go labs.
#[macro_export]
macro_rules! lab_tests {
    ($raft:ty) => {
        $crate::lab_tests!(@each $raft;
            initial_election_2a, re_election_2a, many_elections_2a,
            basic_agree_2b, rpc_bytes_2b, follower_failure_2b, leader_failure_2b, fail_agree_2b,
            fail_no_agree_2b, concurrent_starts_2b, rejoin_2b, backup_2b, count_2b,
            persist1_2c, persist2_2c, persist3_2c, figure_8_2c, unreliable_agree_2c,
            figure_8_unreliable_2c, reliable_churn_2c, unreliable_churn_2c,
            snapshot_basic_2d, snapshot_install_2d, snapshot_install_unreliable_2d,
            snapshot_install_crash_2d, snapshot_install_uncrash_2d, snapshot_all_crash_2d,
            snapshot_init_2d,
            ;
            swarm_nemesis, partition_nemesis, crash_nemesis, stale_nemesis, snapshot_nemesis,
            figure_8_nemesis, figure_7_nemesis, figure_13_nemesis,
        );
    };
    (@each $raft:ty; $($name:ident),* $(,)? ; $($nemesis:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::cargo_test::<$raft>(stringify!($name));
            }
        )*
        $(
            #[test]
            fn $nemesis() {
                $crate::cargo_test::<$raft>(stringify!($nemesis));
            }
        )*

        /// Every test in the tester's registry has a `#[test]` here, and nothing else does.
        #[test]
        fn lab_tests_match_the_registry() {
            let listed = [$(stringify!($name)),*];
            let registered: Vec<&str> =
                $crate::registry::all::<$raft>().iter().map(|case| case.name).collect();
            assert_eq!(registered, listed);
            assert_eq!($crate::registry::NAMES, listed);
            let nemesis = [$(stringify!($nemesis)),*];
            assert_eq!($crate::nemesis::NAMES, nemesis);
        }
    };
}

/// One `#[test]` per Lab 3 test (3A and 3B) for a key/value service, its clerk and the Raft
/// under them: `tester::kv_lab_tests!(MyRaft, MyKvServer, MyClerk);` in a file under
/// `tests/`. `cargo test 3a` then runs the 3A tests, `LAB_SEED` and `LAB_SEEDS` pick seeds, and
/// a failure prints the seed and one command that reproduces it, as for Lab 2.
#[macro_export]
macro_rules! kv_lab_tests {
    ($raft:ty, $service:ty, $clerk:ty) => {
        $crate::kv_lab_tests!(@each ($raft, $service, $clerk);
            basic_3a, speed_3a, concurrent_3a, unreliable_3a, unreliable_one_key_3a,
            one_partition_3a, many_partitions_one_client_3a, many_partitions_many_clients_3a,
            persist_one_client_3a, persist_concurrent_3a, persist_concurrent_unreliable_3a,
            persist_partition_3a, persist_partition_unreliable_3a,
            persist_partition_unreliable_linearizable_3a,
            snapshot_rpc_3b, snapshot_size_3b, speed_3b, snapshot_recover_3b,
            snapshot_recover_many_clients_3b, snapshot_unreliable_3b,
            snapshot_unreliable_recover_3b, snapshot_unreliable_recover_concurrent_partition_3b,
            snapshot_unreliable_recover_concurrent_partition_linearizable_3b,
        );
    };
    (@each $lab:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::cargo_test_in::<<$lab as $crate::lab3::KvLab>::Raft>(
                    stringify!($name),
                    $crate::lab3::test_cases::<$lab>(),
                );
            }
        )*

        /// Every Lab 3 test has a `#[test]` here, and nothing else does.
        #[test]
        fn kv_lab_tests_match_the_registry() {
            let listed = [$(stringify!($name)),*];
            assert_eq!($crate::lab3::NAMES, listed);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{cargo_test_in, seed_range};
    use crate::registry::NoRaft;
    use crate::registry::own_run_stand_ins as fake_cases;

    /// Through the child process ([`crate::isolate`]): it reruns this `#[test]`, which finds
    /// the test in the same list.
    #[test]
    fn cargo_test_in_finds_a_test_outside_the_registry() {
        cargo_test_in::<NoRaft>("own_steady_3b", fake_cases());
    }

    #[test]
    #[should_panic(expected = "own_flaky_3a failed on 1 of 1 seed(s) [1]; reproduce")]
    fn cargo_test_in_fails_with_the_seed_its_driver_fails() {
        cargo_test_in::<NoRaft>("own_flaky_3a", fake_cases());
    }

    #[test]
    #[should_panic(expected = "the lab tests are: own_flaky_3a, own_steady_3b")]
    fn cargo_test_in_names_the_tests_of_its_list() {
        cargo_test_in::<NoRaft>("initial_election_2a", fake_cases());
    }

    #[test]
    fn the_seeds_reach_the_top_of_the_range_and_never_past_it() {
        assert_eq!(seed_range(1, 1), Ok(1..=1));
        assert_eq!(seed_range(5, 3), Ok(5..=7));
        assert_eq!(seed_range(u64::MAX, 1), Ok(u64::MAX..=u64::MAX));
        assert_eq!(seed_range(u64::MAX - 2, 3), Ok(u64::MAX - 2..=u64::MAX));
        assert_eq!(
            seed_range(u64::MAX - 2, 3).map(|seeds| seeds.count()),
            Ok(3)
        );
        let past = seed_range(u64::MAX - 2, 4).expect_err("one seed past 2^64 - 1");
        assert!(past.contains("leaves no room for LAB_SEEDS=4"), "{past}");
    }

    #[test]
    fn no_seeds_is_refused_not_run_as_one() {
        let refusal = seed_range(1, 0).expect_err("LAB_SEEDS=0");
        assert!(
            refusal.starts_with("LAB_SEEDS=0 selects no seeds"),
            "{refusal}"
        );
    }
}
