//! Lab 3: the fault-tolerant key/value service, Go's kvraft `config.go` and `test_test.go`,
//! on the same simulator, from a seed.
//!
//! Code map:
//! - `host.rs`: [`KvRaftHost`], a student's [`kvraft::KvService`] and Raft in one simulated
//!   server: requests tagged for Raft or the service, replies deferred, applies handed over
//!   between inputs.
//! - `config.rs`: [`KvConfig`], every helper of the kvraft `config.go` (servers, partitions,
//!   clerks, `Leader`, `LogSize`, begin/end) and the counting wrappers that record the op log;
//!   [`KvLab`], the three types of a solution.
//! - `suite.rs`: GenericTest and the speed test; `scripted.rs`: the four tests with their own
//!   script. All 23 are listed by [`cases`].
//! - `run.rs`: [`run`], the event loop of one Lab 3 test on one seed (clerk calls come back to
//!   their tasks here).
//!
//! **Boundary:** the tests see a solution only through [`kvraft::KvService`],
//! [`kvraft::Clerk`] and [`raft::RaftNode`]; they judge only what clerks observe, as Go's do.

mod config;
mod host;
mod run;
mod scripted;
mod suite;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

pub use config::{KV_HOP_LATENCY, KvConfig, KvLab, KvSleep, TestClerk};
pub use host::{KV_TAG, KvRaftHost, RAFT_TAG};
pub use run::{run, run_case};
pub use scripted::MAX_SNAPSHOT_STATE;
pub use suite::{ELECTION_TIMEOUT_MS, Generic, TIME_PER_OP_NS, go_duration};

use crate::failure::TestResult;
use crate::registry::{Part, TestCase, own_run_case};

/// Go's `maxraftstate` in the 3B tests.
pub const MAX_RAFT_STATE: usize = 1000;

/// A Lab 3 test body: an async function of the config.
pub type KvBody<L> = fn(KvConfig<L>) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// One Lab 3 test: Go's `TestX3A` / `TestX3B` with its `make_config` arguments.
pub struct KvCase<L: KvLab> {
    /// Snake-case Go name, ending in the part: `basic_3a`.
    pub name: &'static str,
    /// `"3a"` or `"3b"`.
    pub part: &'static str,
    /// Servers.
    pub servers: usize,
    /// Whether the network turns unreliable after boot.
    pub unreliable: bool,
    /// `maxraftstate`: `None` is Go's -1.
    pub max_raft_state: Option<usize>,
    /// The test.
    pub body: KvBody<L>,
}

macro_rules! generic {
    ($name:ident, $part:literal, $servers:literal, $clients:literal, unreliable $u:literal,
     crash $c:literal, partitions $p:literal, $mrs:expr, random $rk:literal) => {
        KvCase {
            name: stringify!($name),
            part: $part,
            servers: $servers,
            unreliable: $u,
            max_raft_state: $mrs,
            body: |cfg| {
                let generic = Generic {
                    part: if $part == "3a" { "3A" } else { "3B" },
                    clients: $clients,
                    unreliable: $u,
                    crash: $c,
                    partitions: $p,
                    random_keys: $rk,
                };
                Box::pin(suite::generic_test(cfg, generic))
            },
        }
    };
}

/// Every Lab 3 test, in Go's file order.
pub fn cases<L: KvLab>() -> Vec<KvCase<L>> {
    let m = Some(MAX_RAFT_STATE);
    vec![
        generic!(basic_3a, "3a", 5, 1, unreliable false, crash false, partitions false, None, random false),
        KvCase {
            name: "speed_3a",
            part: "3a",
            servers: 3,
            unreliable: false,
            max_raft_state: None,
            body: |cfg| Box::pin(suite::speed_test(cfg, "3A")),
        },
        generic!(concurrent_3a, "3a", 5, 5, unreliable false, crash false, partitions false, None, random false),
        generic!(unreliable_3a, "3a", 5, 5, unreliable true, crash false, partitions false, None, random false),
        KvCase {
            name: "unreliable_one_key_3a",
            part: "3a",
            servers: 3,
            unreliable: true,
            max_raft_state: None,
            body: |cfg| Box::pin(scripted::unreliable_one_key(cfg)),
        },
        KvCase {
            name: "one_partition_3a",
            part: "3a",
            servers: 5,
            unreliable: false,
            max_raft_state: None,
            body: |cfg| Box::pin(scripted::one_partition(cfg)),
        },
        generic!(many_partitions_one_client_3a, "3a", 5, 1, unreliable false, crash false, partitions true, None, random false),
        generic!(many_partitions_many_clients_3a, "3a", 5, 5, unreliable false, crash false, partitions true, None, random false),
        generic!(persist_one_client_3a, "3a", 5, 1, unreliable false, crash true, partitions false, None, random false),
        generic!(persist_concurrent_3a, "3a", 5, 5, unreliable false, crash true, partitions false, None, random false),
        generic!(persist_concurrent_unreliable_3a, "3a", 5, 5, unreliable true, crash true, partitions false, None, random false),
        generic!(persist_partition_3a, "3a", 5, 5, unreliable false, crash true, partitions true, None, random false),
        generic!(persist_partition_unreliable_3a, "3a", 5, 5, unreliable true, crash true, partitions true, None, random false),
        generic!(persist_partition_unreliable_linearizable_3a, "3a", 7, 15, unreliable true, crash true, partitions true, None, random true),
        KvCase {
            name: "snapshot_rpc_3b",
            part: "3b",
            servers: 3,
            unreliable: false,
            max_raft_state: m,
            body: |cfg| Box::pin(scripted::snapshot_rpc(cfg)),
        },
        KvCase {
            name: "snapshot_size_3b",
            part: "3b",
            servers: 3,
            unreliable: false,
            max_raft_state: m,
            body: |cfg| Box::pin(scripted::snapshot_size(cfg)),
        },
        KvCase {
            name: "speed_3b",
            part: "3b",
            servers: 3,
            unreliable: false,
            max_raft_state: m,
            body: |cfg| Box::pin(suite::speed_test(cfg, "3B")),
        },
        generic!(snapshot_recover_3b, "3b", 5, 1, unreliable false, crash true, partitions false, m, random false),
        generic!(snapshot_recover_many_clients_3b, "3b", 5, 20, unreliable false, crash true, partitions false, m, random false),
        generic!(snapshot_unreliable_3b, "3b", 5, 5, unreliable true, crash false, partitions false, m, random false),
        generic!(snapshot_unreliable_recover_3b, "3b", 5, 5, unreliable true, crash true, partitions false, m, random false),
        generic!(snapshot_unreliable_recover_concurrent_partition_3b, "3b", 5, 5, unreliable true, crash true, partitions true, m, random false),
        generic!(snapshot_unreliable_recover_concurrent_partition_linearizable_3b, "3b", 7, 15, unreliable true, crash true, partitions true, m, random true),
    ]
}

/// Every Lab 3 test as a [`TestCase`] of the solution's Raft, run by [`run`]: what `cargo
/// test` ([`crate::kv_lab_tests!`]), the hunt and replay take (`scripts::hunt::run_with`).
pub fn test_cases<L: KvLab>() -> Vec<TestCase<L::Raft>> {
    cases::<L>()
        .iter()
        .map(|case| {
            let part = if case.part == "3a" {
                Part::Lab3A
            } else {
                Part::Lab3B
            };
            let snapshots = case.max_raft_state.is_some();
            own_run_case(
                case.name,
                part,
                case.servers,
                case.unreliable,
                snapshots,
                run::<L>,
            )
        })
        .collect()
}

/// The name of every Lab 3 test, in order.
pub const NAMES: [&str; 23] = [
    "basic_3a",
    "speed_3a",
    "concurrent_3a",
    "unreliable_3a",
    "unreliable_one_key_3a",
    "one_partition_3a",
    "many_partitions_one_client_3a",
    "many_partitions_many_clients_3a",
    "persist_one_client_3a",
    "persist_concurrent_3a",
    "persist_concurrent_unreliable_3a",
    "persist_partition_3a",
    "persist_partition_unreliable_3a",
    "persist_partition_unreliable_linearizable_3a",
    "snapshot_rpc_3b",
    "snapshot_size_3b",
    "speed_3b",
    "snapshot_recover_3b",
    "snapshot_recover_many_clients_3b",
    "snapshot_unreliable_3b",
    "snapshot_unreliable_recover_3b",
    "snapshot_unreliable_recover_concurrent_partition_3b",
    "snapshot_unreliable_recover_concurrent_partition_linearizable_3b",
];
