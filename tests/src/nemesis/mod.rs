//! Nemesis: randomized fault campaigns on any [`raft::RaftNode`], a safety phase then a
//! liveness phase, and a failing schedule shrunk to a minimal one.
//!
//! Code map:
//! - `schedule.rs`: [`Schedule`], plain data: the cluster, the clients, the faults with their
//!   virtual times; printed one line per step, saved and read as a file.
//! - `draw.rs`: a schedule from a seed, with a swarm of fault kinds ([`draw::Emphasis`]).
//! - `run.rs`: the campaign: the faults and clients of the safety phase (the safety checks
//!   run after every input, as in every test), healing, and the liveness phase (class
//!   `liveness`).
//! - `scripted.rs`: the paper's counterexamples (Figures 7, 8 and 13) as fixed schedules.
//! - `shrink.rs`: proptest's shrinking over a failing schedule, and the schedule files.
//!
//! A test of the family is an ordinary [`TestCase`] of part [`Part::Nemesis`]; `run_case`
//! asks [`schedule_for`] for its schedule, which is drawn from the seed, fixed (scripted), or
//! the one [`with_schedule`] installed (replay `--schedule FILE`, shrinking).

use std::cell::RefCell;

use raft::RaftNode;

use crate::registry::{Part, TestCase};

pub mod draw;
pub mod run;
pub mod schedule;
pub mod scripted;
pub mod shrink;

use draw::{Emphasis, Kind};
pub use schedule::{CrashOn, Fault, Schedule, Step, Who};

/// Every kind, every size, snapshots drawn: the whole swarm.
const SWARM: Emphasis = Emphasis {
    kinds: &draw::ALL_KINDS,
    always: &[],
    sizes: &[3, 5, 7],
    snapshots: None,
};

/// Partitions of every shape, with crashes of the leader.
const PARTITIONS: Emphasis = Emphasis {
    kinds: &[
        Kind::Split,
        Kind::Isolate,
        Kind::Bridge,
        Kind::OneWay,
        Kind::Crash,
    ],
    always: &[Kind::Split, Kind::Isolate],
    sizes: &[3, 5, 7],
    snapshots: Some(false),
};

/// Crashes of every kind, on a sometimes unreliable network.
const CRASHES: Emphasis = Emphasis {
    kinds: &[
        Kind::Crash,
        Kind::CrashAfter,
        Kind::CrashAll,
        Kind::Isolate,
        Kind::Unreliable,
    ],
    always: &[Kind::Crash, Kind::CrashAfter],
    sizes: &[3, 5],
    snapshots: None,
};

/// Stale and duplicated deliveries, reordering, with partitions and crashes to make the
/// stale messages matter.
const STALE: Emphasis = Emphasis {
    kinds: &[
        Kind::Duplicates,
        Kind::LongReordering,
        Kind::Unreliable,
        Kind::Split,
        Kind::Isolate,
        Kind::Crash,
    ],
    always: &[Kind::Duplicates, Kind::Isolate],
    sizes: &[3, 5],
    snapshots: Some(false),
};

/// Snapshots at random points with stale deliveries, crashes and partitions (2D).
const SNAPSHOTS: Emphasis = Emphasis {
    kinds: &[
        Kind::Snapshot,
        Kind::Duplicates,
        Kind::Crash,
        Kind::Isolate,
        Kind::Split,
        Kind::LongReordering,
    ],
    always: &[Kind::Snapshot, Kind::Duplicates],
    sizes: &[3, 5],
    snapshots: Some(true),
};

/// The drawn tests of the family, by name, with what each draws from.
const DRAWN: [(&str, Emphasis); 5] = [
    ("swarm_nemesis", SWARM),
    ("partition_nemesis", PARTITIONS),
    ("crash_nemesis", CRASHES),
    ("stale_nemesis", STALE),
    ("snapshot_nemesis", SNAPSHOTS),
];

/// The name of every test of the family, in order.
pub const NAMES: [&str; 8] = [
    "swarm_nemesis",
    "partition_nemesis",
    "crash_nemesis",
    "stale_nemesis",
    "snapshot_nemesis",
    "figure_8_nemesis",
    "figure_7_nemesis",
    "figure_13_nemesis",
];

/// The family's tests.
pub fn cases<R: RaftNode>() -> Vec<TestCase<R>> {
    NAMES
        .iter()
        .map(|&name| TestCase {
            name,
            part: Part::Nemesis,
            // Drawn from the seed (or fixed by the script): see `schedule_for`.
            servers: 0,
            unreliable: false,
            snapshot: false,
            body: |cfg| Box::pin(run::campaign(cfg)),
            own_run: None,
        })
        .collect()
}

thread_local! {
    /// A schedule that replaces the drawn one for the runs inside [`with_schedule`].
    static OVERRIDE: RefCell<Option<Schedule>> = const { RefCell::new(None) };
}

/// Runs `f` with `schedule` as every nemesis test's schedule on this thread (replay
/// `--schedule FILE`, shrinking, hand-written schedules in tests).
pub fn with_schedule<T>(schedule: Schedule, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Schedule>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            OVERRIDE.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = OVERRIDE.with(|slot| slot.borrow_mut().replace(schedule));
    let _restore = Restore(previous);
    f()
}

/// The schedule a run of `name` on `seed` follows: the one [`with_schedule`] installed, a
/// script's, or drawn from the seed. `None` for a test outside the family.
pub fn schedule_for(name: &str, part: Part, seed: u64) -> Option<Schedule> {
    if part != Part::Nemesis {
        return None;
    }
    if let Some(schedule) = OVERRIDE.with(|slot| slot.borrow().clone()) {
        return Some(schedule);
    }
    if let Some(schedule) = scripted::script(name) {
        return Some(schedule);
    }
    let (_, emphasis) = DRAWN
        .iter()
        .find(|(drawn, _)| *drawn == name)
        .unwrap_or_else(|| panic!("{name} is not a nemesis test"));
    Some(draw::draw(seed, emphasis))
}
