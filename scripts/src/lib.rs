//! scripts: the drivers around simulations — the flake hunt, replay and merge of shard results.
//!
//! Code map:
//! - [`hunt`]: many seeds of many tests on worker processes: the plan handed out, the
//!   watchdog, results and reports; [`worker`] the worker processes and their protocol (a
//!   hang, a crash or an exit costs one run); [`artifacts`] the log and trace of a failing
//!   run, within byte caps; [`plan`] the selection and sharding, [`display`] the progress bars
//!   or plain lines.
//! - [`replay`]: one run with debug logs and a trace.
//! - [`timeline`]: a run as a self-contained HTML page ([`timeline::html`], `replay --html`,
//!   and the hunt's `.html` of each failing run) or as per-node log columns in the terminal
//!   ([`timeline::columns`], `replay --columns`); the event model is [`tester::timeline`].
//! - `bin/merge.rs`: `scripts/merge FILES...`, shard result files into one table per
//!   implementation.
//!
//! The `scripts/hunt` and `scripts/replay` binaries, which run our reference Raft (or the
//! canary around it), live in the `raft-reference` package (`reference/src/bin/`): this
//! library, which a student's crate depends on, does not depend on the reference.
//! - [`record`]: one JSON Lines record per run, and the summary table every tool prints.
//! - [`junit`]: the JUnit XML report. [`logging`]: `RUST_LOG` lines prefixed with virtual
//!   time and node, captured per thread; the quiet panic hook. [`paths`]: printed commands
//!   that work from the current directory; [`build`]: the cargo options and environment the
//!   hunt was built with, carried into them. The deliberately broken Raft the hunt must catch is
//!   the tester's [`tester::controls::Canary`] around the reference.
//!
//! **Your own Raft.** [`hunt_main`] and [`replay_main`] are the hunt and replay over any
//! [`raft::RaftNode`]: a crate that implements one gets both tools with two three-line
//! binaries (`src/bin/hunt.rs`, `src/bin/replay.rs`; see `scripts/README.md`).
//!
//! Unlike the simulation crates, this crate reads the wall clock, spawns threads and
//! processes: each worker process runs one single-threaded, deterministic simulation at a time.

pub mod artifacts;
pub mod build;
pub mod display;
pub mod hunt;
pub mod junit;
pub mod logging;
pub mod paths;
pub mod plan;
pub mod record;
pub mod replay;
pub mod timeline;
pub mod worker;

pub use hunt::hunt_main;
pub use replay::replay_main;

/// Which Raft implementation a tool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// Our reference Raft (`raft_reference::Reference`, in this repository's `reference/`).
    Reference,
    /// [`tester::controls::Canary`] over the reference: deliberately broken.
    Canary,
    /// Another crate's Raft, hunted or replayed through [`hunt_main`] and [`replay_main`] in
    /// that crate's own binaries: its type name (`my_raft::MyRaft`).
    Own(&'static str),
}

impl Implementation {
    /// `"reference"`, `"canary"` or the type name, as in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Implementation::Reference => "reference",
            Implementation::Canary => "canary",
            Implementation::Own(name) => name,
        }
    }

    /// The command that replays `test` on `seed` with debug logs and a trace, runnable from
    /// the current directory: this repository's `scripts/replay` wrapper (as a path relative
    /// to the current directory when it is below it, else absolute); for [`Own`](Self::Own),
    /// the `replay` binary of the crate that runs the hunt, built with the hunt's build
    /// settings ([`build`]). With the run's `fingerprint`, the replay checks that it runs the
    /// same run.
    pub fn replay_command(
        self,
        test: &str,
        seed: u64,
        checks: Checks,
        fingerprint: Option<&str>,
    ) -> String {
        let env = checks.env();
        let tool = match self {
            Implementation::Reference => paths::replay_wrapper(),
            Implementation::Canary => format!("{} --canary", paths::replay_wrapper()),
            Implementation::Own(_) => paths::own_replay(),
        };
        let mut command = format!("{env}{tool} {test} {seed}");
        if checks.strict {
            command.push_str(" --strict");
        }
        if let Some(fingerprint) = fingerprint.filter(|f| !f.is_empty()) {
            command.push_str(&format!(" --fingerprint {fingerprint}"));
        }
        command
    }

    /// The `cargo test` line that reruns `test` on `seed`, where there is one: only for the
    /// reference (the canary has no `#[test]`s, and where another crate's `#[test]`s live is
    /// that crate's business). Outside this workspace the line first changes into it.
    pub fn cargo_command(self, test: &str, seed: u64, checks: Checks) -> Option<String> {
        if self != Implementation::Reference {
            return None;
        }
        let mut command = checks.env();
        if checks.strict {
            command.push_str(&format!("{}=1 ", tester::warnings::STRICT_ENV));
        }
        command.push_str(&tester::replay_command(test, seed));
        Some(match paths::workspace_root_if_outside() {
            Some(root) => format!("(cd {} && {command})", paths::quote(&root)),
            None => command,
        })
    }
}

/// The checks a run makes besides the suite's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    /// Every seed runs twice, compared event by event (`--check-determinism`).
    pub determinism: bool,
    /// Go's warnings fail the run (`--strict`, `LAB_STRICT=1`).
    pub strict: bool,
    /// The safety checks after every input are off (`--no-checks`, `LAB_CHECKS=off`): for
    /// speed comparisons only.
    pub safety_off: bool,
}

impl Checks {
    /// The run options these checks ask for (the safety checks on unless `safety_off`).
    pub fn run_options(self) -> tester::RunOptions {
        tester::RunOptions {
            safety_checks: !self.safety_off,
            ..tester::RunOptions::default()
        }
    }

    /// Whether `--no-checks` or `LAB_CHECKS=off` turned the safety checks off.
    pub fn safety_off_from(flag: bool) -> bool {
        flag || !tester::safety::enabled_by_env()
    }

    /// The environment a printed command needs to rerun with these checks.
    fn env(self) -> String {
        let mut env = tester::latency::env_prefix(tester::latency::from_env());
        if self.safety_off {
            env.push_str(&format!("{}=off ", tester::safety::CHECKS_ENV));
        }
        if self.determinism {
            env.push_str("LAB_CHECK_DETERMINISM=1 ");
        }
        env
    }
}

/// Peak resident memory of this process so far (`VmHWM` in `/proc/self/status`), in bytes;
/// `None` where there is no such file.
pub fn peak_memory_bytes() -> Option<u64> {
    peak_memory_of("/proc/self/status")
}

/// Peak resident memory (`VmHWM`) in a `/proc/PID/status` file, in bytes.
pub fn peak_memory_of(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `12.3 MB`.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hunt without the safety checks prints replay and `cargo test` lines without them,
    /// so that the printed run is the run that ran.
    #[test]
    fn printed_commands_carry_the_checks_being_off() {
        let off = Checks {
            safety_off: true,
            ..Checks::default()
        };
        let replay = Implementation::Reference.replay_command("backup_2b", 7, off, None);
        assert!(replay.contains("LAB_CHECKS=off "), "{replay}");
        let cargo = Implementation::Reference
            .cargo_command("backup_2b", 7, off)
            .expect("the reference has cargo tests");
        assert!(cargo.contains("LAB_CHECKS=off LAB_SEED=7 "), "{cargo}");
        let on = Implementation::Reference.replay_command("backup_2b", 7, Checks::default(), None);
        assert!(!on.contains("LAB_CHECKS"), "{on}");
        assert!(!off.run_options().safety_checks);
        assert!(Checks::default().run_options().safety_checks || !tester::safety::enabled_by_env());
    }
}
