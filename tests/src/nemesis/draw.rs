//! Drawing a schedule from a seed: the cluster, the clients, and a **swarm** of fault kinds.
//! Each seed enables a random subset of the family test's kinds, each at a random rate, so
//! some seeds hammer one kind and others mix them all (Groce et al., "Swarm testing").

use labrpc::SimRng;

use super::schedule::{CrashOn, Fault, Schedule, Step, Who};

/// The fault kinds a drawn schedule can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A random split, minority against majority.
    Split,
    /// Isolate the leader, or a random node.
    Isolate,
    /// A bridge node that sees both sides.
    Bridge,
    /// A one-way partition.
    OneWay,
    /// Crash a random node or the leader.
    Crash,
    /// Crash right after a persist or a reply.
    CrashAfter,
    /// Crash the whole cluster.
    CrashAll,
    /// Unreliable phases.
    Unreliable,
    /// Long-reordering phases.
    LongReordering,
    /// Duplicated, stale deliveries.
    Duplicates,
    /// Snapshots by the service at random points (2D schedules only).
    Snapshot,
}

/// Every kind.
pub const ALL_KINDS: [Kind; 11] = [
    Kind::Split,
    Kind::Isolate,
    Kind::Bridge,
    Kind::OneWay,
    Kind::Crash,
    Kind::CrashAfter,
    Kind::CrashAll,
    Kind::Unreliable,
    Kind::LongReordering,
    Kind::Duplicates,
    Kind::Snapshot,
];

/// What a family test draws from: its kinds (a seed's swarm is a subset of them), the kinds
/// every seed has, the cluster sizes, and whether the 2D applier runs.
#[derive(Clone, Copy, Debug)]
pub struct Emphasis {
    /// The kinds a seed may enable.
    pub kinds: &'static [Kind],
    /// The kinds every seed enables.
    pub always: &'static [Kind],
    /// Cluster sizes, one drawn per seed.
    pub sizes: &'static [usize],
    /// `Some(b)`: snapshots always on (or off); `None`: drawn.
    pub snapshots: Option<bool>,
}

/// Safety phases last 10 to 25 virtual seconds.
const SAFETY_MS_MIN: u64 = 10_000;
const SAFETY_MS_SPREAD: u64 = 15_000;
/// Mean gaps between two faults of one kind a seed can pick: a hammering, a busy and a calm
/// rate.
const KIND_GAPS_MS: [u64; 3] = [300, 1_200, 4_000];
/// Mean gaps between client submissions a seed can pick.
const CLIENT_GAPS_MS: [u64; 4] = [10, 40, 150, 500];

/// The schedule of `seed` for a test of emphasis `emphasis`, from the seed's own stream
/// (`nemesis/schedule`): no other draw of the run shifts it, nor it them.
pub fn draw(seed: u64, emphasis: &Emphasis) -> Schedule {
    let mut rng = SimRng::new(seed, "nemesis/schedule");
    let servers = pick(&mut rng, emphasis.sizes);
    let snapshots = emphasis.snapshots.unwrap_or_else(|| rng.below(2) == 0);
    let client_gap_ms = pick(&mut rng, &CLIENT_GAPS_MS);
    let heal_ms = SAFETY_MS_MIN + rng.below(SAFETY_MS_SPREAD);
    let swarm = swarm(&mut rng, emphasis, snapshots);
    let mut steps = Vec::new();
    for &(kind, gap_ms) in &swarm {
        let mut at_ms = rng.below(gap_ms);
        while at_ms < heal_ms {
            steps.push(Step {
                at_ms,
                fault: fault(&mut rng, kind, servers),
            });
            at_ms += 1 + rng.below(2 * gap_ms);
        }
    }
    // Stable: faults of one instant keep the swarm's order.
    steps.sort_by_key(|step| step.at_ms);
    Schedule {
        servers,
        snapshots,
        client_gap_ms,
        heal_ms,
        steps,
    }
}

/// The seed's swarm: each kind of the emphasis on with probability 1/2 (the `always` kinds
/// always; at least one kind), each with a rate.
fn swarm(rng: &mut SimRng, emphasis: &Emphasis, snapshots: bool) -> Vec<(Kind, u64)> {
    let usable: Vec<Kind> = emphasis
        .kinds
        .iter()
        .copied()
        .filter(|&kind| snapshots || kind != Kind::Snapshot)
        .collect();
    let mut on: Vec<Kind> = usable
        .iter()
        .copied()
        .filter(|kind| emphasis.always.contains(kind) || rng.below(2) == 0)
        .collect();
    if on.is_empty() && !usable.is_empty() {
        on.push(pick(rng, &usable));
    }
    on.into_iter()
        .map(|kind| (kind, pick(rng, &KIND_GAPS_MS)))
        .collect()
}

fn pick<T: Copy>(rng: &mut SimRng, from: &[T]) -> T {
    from[rng.below(from.len() as u64) as usize]
}

/// `lo..=hi` milliseconds.
fn ms(rng: &mut SimRng, lo: u64, hi: u64) -> u64 {
    lo + rng.below(hi - lo + 1)
}

/// A random non-empty proper subset of `nodes` (all of them if there is one).
fn subset(rng: &mut SimRng, nodes: &[usize]) -> Vec<usize> {
    if nodes.len() <= 1 {
        return nodes.to_vec();
    }
    let size = 1 + rng.below(nodes.len() as u64 - 1) as usize;
    let mut left = nodes.to_vec();
    // Partial Fisher-Yates: the first `size` are the subset.
    for k in 0..size {
        let j = k + rng.below((left.len() - k) as u64) as usize;
        left.swap(k, j);
    }
    let mut side = left[..size].to_vec();
    side.sort_unstable();
    side
}

fn down_ms(rng: &mut SimRng) -> u64 {
    // One crash in ten stays down until healing.
    if rng.below(10) == 0 {
        0
    } else {
        ms(rng, 50, 4_000)
    }
}

fn who(rng: &mut SimRng, servers: usize) -> Who {
    if rng.below(2) == 0 {
        Who::Leader
    } else {
        Who::Node(rng.below(servers as u64) as usize)
    }
}

/// One fault of `kind` on a cluster of `servers`.
fn fault(rng: &mut SimRng, kind: Kind, servers: usize) -> Fault {
    let all: Vec<usize> = (0..servers).collect();
    let hold_ms = ms(rng, 200, 5_000);
    match kind {
        Kind::Split => Fault::Split {
            side: subset(rng, &all),
            hold_ms,
        },
        Kind::Isolate => Fault::Isolate {
            who: who(rng, servers),
            hold_ms,
        },
        Kind::Bridge => {
            let bridge = rng.below(servers as u64) as usize;
            let rest: Vec<usize> = all.iter().copied().filter(|&i| i != bridge).collect();
            Fault::Bridge {
                bridge,
                left: subset(rng, &rest),
                hold_ms,
            }
        }
        Kind::OneWay => {
            let from = rng.below(servers as u64) as usize;
            let to = (from + 1 + rng.below(servers.max(2) as u64 - 1) as usize) % servers;
            Fault::OneWay { from, to, hold_ms }
        }
        Kind::Crash => Fault::Crash {
            who: who(rng, servers),
            down_ms: down_ms(rng),
        },
        Kind::CrashAfter => Fault::CrashAfter {
            on: if rng.below(2) == 0 {
                CrashOn::Persist
            } else {
                CrashOn::Reply
            },
            down_ms: down_ms(rng),
        },
        Kind::CrashAll => Fault::CrashAll {
            down_ms: ms(rng, 50, 3_000),
        },
        Kind::Unreliable => Fault::Unreliable { hold_ms },
        Kind::LongReordering => Fault::LongReordering { hold_ms },
        Kind::Duplicates => Fault::Duplicates {
            per_mille: ms(rng, 20, 500),
            max_delay_ms: ms(rng, 5, 3_000),
            hold_ms: ms(rng, 1_000, 10_000),
        },
        Kind::Snapshot => Fault::Snapshot {
            who: who(rng, servers),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERYTHING: Emphasis = Emphasis {
        kinds: &ALL_KINDS,
        always: &[],
        sizes: &[3, 5, 7],
        snapshots: None,
    };

    #[test]
    fn a_seed_draws_the_same_schedule_and_seeds_differ() {
        assert_eq!(draw(7, &EVERYTHING), draw(7, &EVERYTHING));
        assert_ne!(draw(7, &EVERYTHING), draw(8, &EVERYTHING));
    }

    #[test]
    fn drawn_schedules_are_valid_and_swarms_vary() {
        let mut kind_counts = std::collections::BTreeSet::new();
        for seed in 1..=200 {
            let schedule = draw(seed, &EVERYTHING);
            schedule.check().expect("a drawn schedule is valid");
            assert!([3, 5, 7].contains(&schedule.servers));
            let kinds: std::collections::BTreeSet<&str> =
                schedule.steps.iter().map(|s| s.fault.kind()).collect();
            kind_counts.insert(kinds.len());
            if !schedule.snapshots {
                assert!(!kinds.contains("snapshot"));
            }
        }
        // Some seeds hammer one kind, others mix many.
        assert!(kind_counts.contains(&1), "{kind_counts:?}");
        assert!(kind_counts.iter().any(|&k| k >= 7), "{kind_counts:?}");
    }
}
