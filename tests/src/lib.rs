//! tester: Go's `config.go` and `test_test.go` for Lab 2, in virtual time, from a seed.
//!
//! Code map:
//! - `config.rs`: [`Config`], every helper of `config.go` (`one`, `check_one_leader`,
//!   `crash1`, `start1`, the appliers, `begin`/`end`). Start here.
//! - `suites/`: the 2A–2D tests as `async` functions of a [`Config`], written against
//!   [`raft::RaftNode`] only.
//! - `registry.rs`: [`TestCase`], the list of every test ([`registry::all`]); a test may
//!   bring its own driver ([`OwnRun`], Lab 3) instead of a body on the Lab 2 [`Config`].
//! - `run.rs`: [`run_case`], the event loop that interleaves tester tasks with the simulation,
//!   catches panics and returns a [`RunReport`].
//! - `cargo_test.rs`: [`cargo_test`], what each `#[test]` calls (`LAB_SEED`, `LAB_SEEDS`;
//!   [`cargo_test_in`] for tests outside the registry),
//!   and [`lab_tests!`], one `#[test]` per lab test for any implementation; `isolate.rs`:
//!   each `#[test]`'s seeds run in a child process, so a stack overflow or an `exit` fails
//!   that test (`crash`, `exit`); `watchdog.rs`: its wall-clock limit per run.
//! - `latency.rs`: which [`labrpc::Latency`] the suites run on (`LAB_LATENCY`).
//! - `logging.rs`: `log` lines prefixed with virtual time and node (`RUST_LOG`).
//! - `exec.rs`: the single-threaded executor for tester tasks; `host.rs`: [`RaftHost`], a
//!   Raft node on the simulated network; `command.rs`: the tester's int and string commands.
//! - `safety/`: [`safety::Safety`], the Raft paper's safety properties checked on every node
//!   after every input it handles (class `safety`).
//! - `nemesis/`: randomized fault campaigns (the `nemesis` family of tests): a schedule drawn
//!   from the seed, a safety phase, healing, a liveness phase (class `liveness`).
//! - `failure.rs`: [`Failure`] and its classes.
//! - `controls.rs`: deliberately broken Rafts, one wrapper with a bug each: the negative
//!   controls (RPCs sent twice, 50 heartbeats a second, a log never trimmed) and the hunt's
//!   canary. `misbehaving.rs`: Rafts that misbehave towards the harness itself (panics, a
//!   peer that does not exist), which must fail as classified runs naming the node.
//! - `guard.rs`: every call into a node is guarded, so that its panic names the server and
//!   the call.
//! - `trace.rs`: [`trace::Trace`], an observer writing one line per event (replay, hunts).
//! - `timeline/`: [`timeline::record`], a run as a [`timeline::Timeline`] (messages, role
//!   bands, crashes and disconnections, ticks, log lines, views) for `scripts/replay --html`
//!   and `--columns`; `model.rs` is the event model, built from events, views and log lines.
//! - `determinism.rs`: [`determinism::run_twice`], the same seed twice, compared event by
//!   event (`LAB_CHECK_DETERMINISM=1`).
//! - `warnings.rs`: Go's `warning:` lines, counted, and failing runs under `LAB_STRICT=1`.
//! - `lab3/`: Lab 3, the key/value service on Raft: [`lab3::KvConfig`] (Go's kvraft
//!   `config.go`), the 23 tests of 3A and 3B ([`lab3::cases`]), the op log checked by the
//!   `linearizability` crate, and [`lab3::run`], their event loop.
//! - `fig16.rs`: [`fig16::run_trial`], the Raft paper's Figure 16 experiment (time without
//!   leader after a crash) on any Raft that implements [`fig16::SetTimeouts`].
//!
//! **Boundary:** the suites see a Raft only through [`raft::RaftNode`]; any implementation
//! runs them.

mod cargo_test;
pub mod command;
mod config;
pub mod controls;
pub mod determinism;
mod exec;
mod failure;
pub mod fig16;
mod guard;
mod host;
pub mod isolate;
pub mod lab3;
pub mod latency;
pub mod logging;
pub mod misbehaving;
pub mod nemesis;
pub mod registry;
mod run;
pub mod safety;
pub mod suites;
pub mod timeline;
pub mod trace;
pub mod warnings;
pub mod watchdog;

pub use cargo_test::{DEFAULT_SEED, cargo_test, cargo_test_in, env_u64};
pub use config::{
    Config, RAFT_ELECTION_TIMEOUT_MS, SNAPSHOT_INTERVAL, Sleep, Stats, TEST_TIME_LIMIT_MS,
};
pub use exec::{JoinHandle, MAX_TASK_STEPS, SleepUntil, VirtualClock};
pub use failure::{Failure, FailureKind, MESSAGE_BYTES, TestResult, shortened};
pub use host::{Outbox, RaftHost};
pub use registry::{OwnRun, Part, TestCase, own_run_case};
pub use run::{
    LIVELOCK_EVENTS, LIVELOCK_SAMPLE_EVENTS, MAX_PENDING_BYTES, MAX_PENDING_EVENTS, RunOptions,
    RunReport, VIRTUAL_TIME_LIMIT_MS, panic_message, replay_command, run_case,
};
