//! The Raft paper's counterexamples as fixed schedules that any Raft must survive. Each
//! forces who leads with a **star**: only the centre's calls go through, so only the centre
//! can gather a majority, whatever the timers draw. Read each as the figure reads; the
//! schedules print one line per step (`scripts/replay figure_8_nemesis 1`).

use super::schedule::{Fault, Schedule, Step, Who};

/// The schedule of the scripted test `name`, if it is one.
pub fn script(name: &str) -> Option<Schedule> {
    match name {
        "figure_8_nemesis" => Some(figure_8()),
        "figure_7_nemesis" => Some(figure_7()),
        "figure_13_nemesis" => Some(figure_13()),
        _ => None,
    }
}

fn step(at_ms: u64, fault: Fault) -> Step {
    Step { at_ms, fault }
}

fn star(center: usize, leaves: &[usize]) -> Fault {
    Fault::Star {
        center,
        leaves: leaves.to_vec(),
        hold_ms: 0,
    }
}

fn submit(node: usize, count: u64) -> Fault {
    Fault::Submit {
        who: Who::Node(node),
        count,
    }
}

fn crash(node: usize) -> Fault {
    Fault::Crash {
        who: Who::Node(node),
        down_ms: 0,
    }
}

fn restart(node: usize) -> Fault {
    Fault::Restart {
        who: Who::Node(node),
    }
}

/// Figure 8, on five servers (the paper's S1–S5 are S0–S4): (a) S0 leads and replicates an
/// entry to S1 only; (b) S0 crashes, S4 leads with the votes of S2 and S3 and takes a
/// different entry at that index, alone; (c) S4 crashes, S0 restarts and leads again with S1
/// and S2, and copies its old-term entry to S2: a majority holds it, but it is of an earlier
/// term, so it must **not** be committed by counting; (d) S0 crashes, S4 restarts and leads
/// with S1–S3, and overwrites that entry. A leader that committed it in (c) has lost a
/// committed entry in (d).
pub fn figure_8() -> Schedule {
    let steps = vec![
        step(0, star(0, &[1, 2, 3, 4])),
        step(2_500, star(0, &[1])),
        step(2_600, submit(0, 1)),
        step(2_800, crash(0)),
        step(2_900, star(4, &[2, 3])),
        step(4_400, star(4, &[])),
        step(4_500, submit(4, 1)),
        step(4_600, crash(4)),
        step(4_700, star(0, &[1, 2])),
        step(4_700, restart(0)),
        step(7_000, crash(0)),
        step(7_100, star(4, &[1, 2, 3])),
        step(7_100, restart(4)),
    ];
    Schedule {
        servers: 5,
        snapshots: false,
        client_gap_ms: 0,
        heal_ms: 9_500,
        steps,
    }
}

/// Figure 7's divergent followers, on five servers: S1 misses entries (cut off while S0
/// commits), S2 holds extra uncommitted entries of an old term (it alone received what S0
/// took after losing its majority), S0 crashes with them; S3 then leads with S1 and S4 and
/// commits entries of its own term at those indices. When every link is back, S3 must
/// bring S1 up to date and replace S2's conflicting suffix, and the restarted S0's at
/// healing.
pub fn figure_7() -> Schedule {
    let steps = vec![
        step(0, star(0, &[1, 2, 3, 4])),
        step(2_000, submit(0, 3)),
        step(
            2_500,
            Fault::Isolate {
                who: Who::Node(1),
                hold_ms: 0,
            },
        ),
        step(2_600, submit(0, 3)),
        step(3_000, star(0, &[2])),
        step(3_100, submit(0, 4)),
        step(3_400, crash(0)),
        step(3_500, star(3, &[1, 4])),
        step(5_500, submit(3, 2)),
        step(6_000, Fault::Reconnect),
        step(6_500, submit(3, 2)),
    ];
    Schedule {
        servers: 5,
        snapshots: false,
        client_gap_ms: 0,
        heal_ms: 9_000,
        steps,
    }
}

/// Figure 13's InstallSnapshot cases, on three servers with the 2D service snapshotting: S2
/// is cut off while S0 commits and compacts past it, so S0 must send it a snapshot; every
/// request is duplicated (a copy up to 2 s late) while it catches up and takes more
/// entries, so copies of the InstallSnapshot arrive stale: over a log that already goes
/// past them (the entries after the snapshot must be kept) and below what S2 committed
/// (they must change nothing).
pub fn figure_13() -> Schedule {
    let steps = vec![
        step(0, star(0, &[1, 2])),
        step(1_500, submit(0, 12)),
        step(
            2_000,
            Fault::Isolate {
                who: Who::Node(2),
                hold_ms: 0,
            },
        ),
        step(2_100, star(0, &[1])),
        step(2_200, submit(0, 25)),
        step(
            3_000,
            Fault::Duplicates {
                per_mille: 500,
                max_delay_ms: 2_000,
                hold_ms: 4_000,
            },
        ),
        step(3_000, star(0, &[1, 2])),
        step(3_300, submit(0, 5)),
        step(3_800, submit(0, 5)),
        step(4_500, Fault::Snapshot { who: Who::Node(2) }),
        step(5_000, submit(0, 5)),
    ];
    Schedule {
        servers: 3,
        snapshots: true,
        client_gap_ms: 0,
        heal_ms: 8_000,
        steps,
    }
}
