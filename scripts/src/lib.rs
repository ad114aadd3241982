//! scripts: the drivers around simulations — the flake hunt, replay and merge of shard results.
//!
//! Code map:
//! - `bin/hunt.rs`: `scripts/hunt`, many seeds of many tests on worker threads; [`hunt`] has
//!   the pool, the watchdog and the failure artifacts, [`plan`] the selection and sharding,
//!   [`display`] the progress bars or plain lines.
//! - `bin/replay.rs`: `scripts/replay TEST SEED`, one run with debug logs and a trace.
//! - `bin/merge.rs`: `scripts/merge FILES...`, shard result files into one table.
//! - [`record`]: one JSON Lines record per run, and the summary table every tool prints.
//! - [`junit`]: the JUnit XML report. [`logging`]: `RUST_LOG` lines prefixed with virtual
//!   time and node, captured per thread; the quiet panic hook. The deliberately broken Raft
//!   the hunt must catch, [`CanaryRaft`], is the tester's [`tester::controls::Canary`].
//!
//! Unlike the simulation crates, this crate reads the wall clock and spawns threads: each
//! worker thread runs one single-threaded, deterministic simulation at a time.

pub mod display;
pub mod hunt;
pub mod junit;
pub mod logging;
pub mod plan;
pub mod record;

/// Which Raft implementation a tool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// [`raft::Reference`], our Raft.
    Reference,
    /// [`tester::controls::Canary`] over the reference: deliberately broken.
    Canary,
}

impl Implementation {
    /// `"reference"` or `"canary"`, as in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Implementation::Reference => "reference",
            Implementation::Canary => "canary",
        }
    }

    /// The command that replays `test` on `seed` with debug logs and a trace.
    pub fn replay_command(self, test: &str, seed: u64, determinism: bool) -> String {
        let env = if determinism {
            "LAB_CHECK_DETERMINISM=1 "
        } else {
            ""
        };
        match self {
            Implementation::Reference => format!("{env}scripts/replay {test} {seed}"),
            Implementation::Canary => format!("{env}scripts/replay --canary {test} {seed}"),
        }
    }

    /// The `cargo test` line that reruns `test` on `seed`, where there is one (the canary
    /// has no `#[test]`s).
    pub fn cargo_command(self, test: &str, seed: u64, determinism: bool) -> Option<String> {
        match self {
            Implementation::Reference if determinism => Some(format!(
                "LAB_CHECK_DETERMINISM=1 {}",
                tester::replay_command(test, seed)
            )),
            Implementation::Reference => Some(tester::replay_command(test, seed)),
            Implementation::Canary => None,
        }
    }
}

/// The reference implementation under test.
pub type Reference = raft::Reference;
/// The canary: the reference with deliberate bugs.
pub type CanaryRaft = tester::controls::Canary<raft::Reference>;

/// Peak resident memory of this process so far (`VmHWM` in `/proc/self/status`), in bytes;
/// `None` where there is no such file.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `12.3 MB`.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
