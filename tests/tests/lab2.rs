//! The Lab 2 suites on our reference Raft: `cargo test 2a` runs exactly the 2A tests.
//!
//! `LAB_SEED=n` picks the seed (default 1), `LAB_SEEDS=k` runs k consecutive seeds. To run
//! the suites on another implementation, call `tester::cargo_test::<YourRaft>(name)` the same
//! way.

use raft::Reference;

macro_rules! lab_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                tester::cargo_test::<Reference>(stringify!($name));
            }
        )*

        /// Every test in the registry has a `#[test]` here, and nothing else does.
        #[test]
        fn registry_and_test_list_agree() {
            let listed = [$(stringify!($name)),*];
            let registered: Vec<&str> =
                tester::registry::all::<Reference>().iter().map(|case| case.name).collect();
            assert_eq!(registered, listed);
        }
    };
}

lab_tests!(
    // 2A
    initial_election_2a,
    re_election_2a,
    many_elections_2a,
    // 2B
    basic_agree_2b,
    rpc_bytes_2b,
    follower_failure_2b,
    leader_failure_2b,
    fail_agree_2b,
    fail_no_agree_2b,
    concurrent_starts_2b,
    rejoin_2b,
    backup_2b,
    count_2b,
    // 2C
    persist1_2c,
    persist2_2c,
    persist3_2c,
    figure_8_2c,
    unreliable_agree_2c,
    figure_8_unreliable_2c,
    reliable_churn_2c,
    unreliable_churn_2c,
    // 2D
    snapshot_basic_2d,
    snapshot_install_2d,
    snapshot_install_unreliable_2d,
    snapshot_install_crash_2d,
    snapshot_install_uncrash_2d,
    snapshot_all_crash_2d,
    snapshot_init_2d,
);
