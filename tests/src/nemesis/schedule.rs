//! A nemesis schedule: plain data (serde), printable one line per step, saved as a file that
//! `scripts/replay --schedule FILE` replays and that course staff can write by hand.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a campaign does to a cluster: its shape, its clients, and the faults of its safety
/// phase, in virtual time. Everything heals at `heal_ms`, and the liveness phase begins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Servers: 3, 5 or 7 in drawn schedules.
    pub servers: usize,
    /// Whether the 2D applier runs (the service snapshots every 10 applied commands, and
    /// [`Fault::Snapshot`] steps snapshot at random points).
    pub snapshots: bool,
    /// Mean virtual milliseconds between two client submissions; 0: no client.
    pub client_gap_ms: u64,
    /// End of the safety phase: every fault heals at this virtual time.
    pub heal_ms: u64,
    /// The faults, in time order.
    pub steps: Vec<Step>,
}

/// One fault, at a virtual time of the safety phase. (Unknown fields are refused by
/// [`Fault`], which gets every field but `at_ms`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When, in virtual milliseconds from the start of the run.
    pub at_ms: u64,
    /// What.
    #[serde(flatten)]
    pub fault: Fault,
}

/// A node a fault picks: a fixed one, or whichever leads when the step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// Server `i`.
    Node(usize),
    /// The node that says it leads in the highest term when the step runs (the step does
    /// nothing if none does).
    Leader,
}

/// The moment right after which [`Fault::CrashAfter`] crashes a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashOn {
    /// The next input of any node that persists.
    Persist,
    /// The next input of any node that replies to a request.
    Reply,
}

/// One kind of fault. Partitions replace each other (the latest one holds) and heal after
/// `hold_ms` (0: they hold until another partition or healing); network modes turn off after `hold_ms`; a crashed node restarts after `down_ms`
/// (0: it stays down until healing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The nodes of `side` on one side, the others on the other (a random split, a
    /// minority against a majority).
    Split {
        /// One side.
        side: Vec<usize>,
        /// How long the partition holds.
        hold_ms: u64,
    },
    /// One node cut off from everyone (`Leader`: isolate the leader).
    Isolate {
        /// The node.
        who: Who,
        /// How long.
        hold_ms: u64,
    },
    /// `left` and the rest cannot reach each other; `bridge` reaches both sides.
    Bridge {
        /// The node that sees both sides.
        bridge: usize,
        /// One side (the other is everyone else but the bridge).
        left: Vec<usize>,
        /// How long.
        hold_ms: u64,
    },
    /// Only `center`'s calls to `leaves` go through (with their replies); every other call
    /// fails: the leaves' own calls reach nobody, and the nodes left out are cut off. Only
    /// the centre can ask for votes, so it alone can lead, and the leaves cannot disrupt it
    /// (the scripted scenarios' way of choosing a leader whatever the timers draw).
    Star {
        /// The node every link goes through.
        center: usize,
        /// The nodes linked to it.
        leaves: Vec<usize>,
        /// How long; 0: until another partition or healing.
        hold_ms: u64,
    },
    /// `from` cannot reach `to`, while `to` still reaches `from` (its calls, and their
    /// replies): `from` hears `to`, `to` does not hear `from`.
    OneWay {
        /// The node whose calls to `to` fail.
        from: usize,
        /// The node it cannot reach.
        to: usize,
        /// How long.
        hold_ms: u64,
    },
    /// Crash a node (`Leader`: the leader), restart it after `down_ms`.
    Crash {
        /// The node.
        who: Who,
        /// Down time; 0: down until healing.
        down_ms: u64,
    },
    /// Crash the next node whose input persists (or replies), right after that input;
    /// restart it after `down_ms`.
    CrashAfter {
        /// The moment.
        on: CrashOn,
        /// Down time; 0: down until healing.
        down_ms: u64,
    },
    /// Crash every node, restart them all after `down_ms`.
    CrashAll {
        /// Down time; 0: down until healing.
        down_ms: u64,
    },
    /// Restart a crashed node now.
    Restart {
        /// The node.
        who: Who,
    },
    /// An unreliable network (Go's: short delays, 10% of requests and replies lost).
    Unreliable {
        /// How long.
        hold_ms: u64,
    },
    /// Go's long reordering: 2/3 of replies delayed 200..=2199 ms.
    LongReordering {
        /// How long.
        hold_ms: u64,
    },
    /// Duplicated, stale deliveries ([`labrpc::Duplicates`]): a copy of a handled request
    /// reaches its server again up to `max_delay_ms` later, its reply discarded.
    Duplicates {
        /// Chance per handled request, in thousandths.
        per_mille: u64,
        /// Latest arrival of a copy after the original.
        max_delay_ms: u64,
        /// How long copies are made.
        hold_ms: u64,
    },
    /// The service on a node snapshots now, at its last applied index (2D schedules).
    Snapshot {
        /// The node.
        who: Who,
    },
    /// Submit `count` fresh commands to a node at once (scripted scenarios: the entries a
    /// doomed leader takes).
    Submit {
        /// The node.
        who: Who,
        /// How many.
        count: u64,
    },
    /// Every link up again (the end of any partition), before healing.
    Reconnect,
}

impl Fault {
    /// The kind's name, as in the schedule file (`split`, `crash_after`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Split { .. } => "split",
            Fault::Isolate { .. } => "isolate",
            Fault::Bridge { .. } => "bridge",
            Fault::Star { .. } => "star",
            Fault::OneWay { .. } => "one_way",
            Fault::Crash { .. } => "crash",
            Fault::CrashAfter { .. } => "crash_after",
            Fault::CrashAll { .. } => "crash_all",
            Fault::Restart { .. } => "restart",
            Fault::Unreliable { .. } => "unreliable",
            Fault::LongReordering { .. } => "long_reordering",
            Fault::Duplicates { .. } => "duplicates",
            Fault::Snapshot { .. } => "snapshot",
            Fault::Submit { .. } => "submit",
            Fault::Reconnect => "reconnect",
        }
    }

    /// The fault's window (`hold_ms` or `down_ms`), if it has one, for shrinking.
    pub fn window_ms(&mut self) -> Option<&mut u64> {
        match self {
            Fault::Split { hold_ms, .. }
            | Fault::Isolate { hold_ms, .. }
            | Fault::Bridge { hold_ms, .. }
            | Fault::Star { hold_ms, .. }
            | Fault::OneWay { hold_ms, .. }
            | Fault::Unreliable { hold_ms }
            | Fault::LongReordering { hold_ms }
            | Fault::Duplicates { hold_ms, .. } => Some(hold_ms),
            Fault::Crash { down_ms, .. }
            | Fault::CrashAfter { down_ms, .. }
            | Fault::CrashAll { down_ms } => Some(down_ms),
            Fault::Restart { .. } | Fault::Snapshot { .. } | Fault::Submit { .. } => None,
            Fault::Reconnect => None,
        }
    }

    /// Every server the fault names.
    pub fn nodes(&self) -> Vec<usize> {
        let who = |who: &Who| match who {
            Who::Node(i) => vec![*i],
            Who::Leader => Vec::new(),
        };
        match self {
            Fault::Split { side, .. } => side.clone(),
            Fault::Bridge { bridge, left, .. } => {
                let mut nodes = left.clone();
                nodes.push(*bridge);
                nodes
            }
            Fault::OneWay { from, to, .. } => vec![*from, *to],
            Fault::Star { center, leaves, .. } => {
                let mut nodes = leaves.clone();
                nodes.push(*center);
                nodes
            }
            Fault::Isolate { who: w, .. }
            | Fault::Crash { who: w, .. }
            | Fault::Restart { who: w }
            | Fault::Snapshot { who: w }
            | Fault::Submit { who: w, .. } => who(w),
            _ => Vec::new(),
        }
    }
}

impl Schedule {
    /// The schedule as a file: JSON with one step a line, so that a diff or a hand edit
    /// reads as the printed schedule does.
    pub fn to_file_text(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|step| format!("    {}", serde_json::to_string(step).expect("steps encode")))
            .collect();
        format!(
            "{{\n  \"servers\": {},\n  \"snapshots\": {},\n  \"client_gap_ms\": {},\n  \
             \"heal_ms\": {},\n  \"steps\": [\n{}\n  ]\n}}\n",
            self.servers,
            self.snapshots,
            self.client_gap_ms,
            self.heal_ms,
            steps.join(",\n")
        )
    }

    /// Reads a schedule file (as [`Schedule::to_file_text`] writes it, or by hand), and
    /// checks it ([`Schedule::check`]).
    pub fn from_file_text(text: &str) -> Result<Schedule, String> {
        let schedule: Schedule =
            serde_json::from_str(text).map_err(|e| format!("not a schedule: {e}"))?;
        schedule.check()?;
        Ok(schedule)
    }

    /// Whether the schedule can run: 1 to 9 servers, every node it names exists, steps in
    /// time order, within the safety phase.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=9).contains(&self.servers) {
            return Err(format!("{} servers: use 1 to 9", self.servers));
        }
        let mut last_ms = 0;
        for (k, step) in self.steps.iter().enumerate() {
            if let Some(&i) = step.fault.nodes().iter().find(|&&i| i >= self.servers) {
                return Err(format!(
                    "step {k} ({}) names S{i}, but there are {} servers",
                    step.fault.kind(),
                    self.servers
                ));
            }
            if step.at_ms < last_ms {
                return Err(format!(
                    "step {k} at {} ms is before the step before it",
                    step.at_ms
                ));
            }
            if step.at_ms > self.heal_ms {
                return Err(format!("step {k} at {} ms is after healing", step.at_ms));
            }
            last_ms = step.at_ms;
        }
        Ok(())
    }
}

/// Milliseconds as seconds: `2.350s`.
fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn who(who: &Who) -> String {
    match who {
        Who::Node(i) => format!("S{i}"),
        Who::Leader => "the leader".to_owned(),
    }
}

fn nodes(nodes: &[usize]) -> String {
    let names: Vec<String> = nodes.iter().map(|i| format!("S{i}")).collect();
    names.join(" ")
}

/// A partition's window: `for 1.200s`, or `until replaced` for 0.
fn hold(hold_ms: u64) -> String {
    match hold_ms {
        0 => "until replaced".to_owned(),
        ms => format!("for {}", secs(ms)),
    }
}

fn down(down_ms: u64) -> String {
    match down_ms {
        0 => "until healing".to_owned(),
        ms => format!("for {}", secs(ms)),
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Split { side, hold_ms } => {
                write!(
                    f,
                    "split {{{}}} from the rest {}",
                    nodes(side),
                    hold(*hold_ms)
                )
            }
            Fault::Star {
                center,
                leaves,
                hold_ms,
            } => write!(
                f,
                "star: only S{center} calls {{{}}} {}",
                nodes(leaves),
                hold(*hold_ms)
            ),
            Fault::Isolate { who: w, hold_ms } => {
                write!(f, "isolate {} {}", who(w), hold(*hold_ms))
            }
            Fault::Bridge {
                bridge,
                left,
                hold_ms,
            } => write!(
                f,
                "bridge S{bridge} between {{{}}} and the rest {}",
                nodes(left),
                hold(*hold_ms)
            ),
            Fault::OneWay { from, to, hold_ms } => write!(
                f,
                "one way: S{from} cannot reach S{to} (S{to} still reaches S{from}) {}",
                hold(*hold_ms)
            ),
            Fault::Crash { who: w, down_ms } => write!(f, "crash {} {}", who(w), down(*down_ms)),
            Fault::CrashAfter { on, down_ms } => {
                let on = match on {
                    CrashOn::Persist => "persists",
                    CrashOn::Reply => "replies",
                };
                write!(f, "crash the next node that {on}, {}", down(*down_ms))
            }
            Fault::CrashAll { down_ms } => write!(f, "crash every node {}", down(*down_ms)),
            Fault::Restart { who: w } => write!(f, "restart {}", who(w)),
            Fault::Unreliable { hold_ms } => write!(f, "unreliable for {}", secs(*hold_ms)),
            Fault::LongReordering { hold_ms } => {
                write!(f, "long reordering for {}", secs(*hold_ms))
            }
            Fault::Duplicates {
                per_mille,
                max_delay_ms,
                hold_ms,
            } => write!(
                f,
                "duplicate {per_mille}‰ of requests, up to {} late, for {}",
                secs(*max_delay_ms),
                secs(*hold_ms)
            ),
            Fault::Snapshot { who: w } => write!(f, "snapshot on {}", who(w)),
            Fault::Submit { who: w, count } => write!(f, "submit {count} command(s) to {}", who(w)),
            Fault::Reconnect => f.write_str("reconnect every link"),
        }
    }
}

/// One line per step, with its virtual time, under a line for the cluster.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clients = match self.client_gap_ms {
            0 => "no client".to_owned(),
            gap => format!("a command every ~{gap} ms"),
        };
        writeln!(
            f,
            "{} servers{}, {clients}, heal at {}, {} step(s):",
            self.servers,
            if self.snapshots { ", snapshots" } else { "" },
            secs(self.heal_ms),
            self.steps.len()
        )?;
        for step in &self.steps {
            writeln!(f, "  {:>9}  {}", secs(step.at_ms), step.fault)?;
        }
        write!(
            f,
            "  {:>9}  heal everything; liveness phase",
            secs(self.heal_ms)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Schedule {
        Schedule {
            servers: 5,
            snapshots: true,
            client_gap_ms: 40,
            heal_ms: 9000,
            steps: vec![
                Step {
                    at_ms: 1000,
                    fault: Fault::Isolate {
                        who: Who::Leader,
                        hold_ms: 2000,
                    },
                },
                Step {
                    at_ms: 2500,
                    fault: Fault::Crash {
                        who: Who::Node(3),
                        down_ms: 0,
                    },
                },
                Step {
                    at_ms: 3000,
                    fault: Fault::Reconnect,
                },
            ],
        }
    }

    #[test]
    fn a_schedule_file_reads_back_as_the_same_schedule() {
        let schedule = example();
        let text = schedule.to_file_text();
        assert!(
            text.contains(r#"{"at_ms":1000,"fault":"isolate","who":"leader","hold_ms":2000}"#),
            "{text}"
        );
        assert_eq!(Schedule::from_file_text(&text), Ok(schedule));
    }

    #[test]
    fn a_hand_written_file_is_checked() {
        let text = r#"{"servers": 3, "snapshots": false, "client_gap_ms": 0, "heal_ms": 500,
            "steps": [{"at_ms": 10, "fault": "crash", "who": {"node": 4}, "down_ms": 0}]}"#;
        let refused = Schedule::from_file_text(text).expect_err("S4 of 3");
        assert!(
            refused.contains("names S4, but there are 3 servers"),
            "{refused}"
        );
        let typo = r#"{"servers": 3, "snapshots": false, "client_gap_ms": 0, "heal_ms": 500,
            "steps": [{"at_ms": 10, "fault": "crash", "who": "leader", "down": 0}]}"#;
        assert!(Schedule::from_file_text(typo).is_err());
    }

    #[test]
    fn a_schedule_prints_one_line_per_step_with_its_time() {
        let shown = example().to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 5, "{shown}");
        assert_eq!(lines[1], "     1.000s  isolate the leader for 2.000s");
        assert_eq!(lines[2], "     2.500s  crash S3 until healing");
        assert_eq!(lines[4], "     9.000s  heal everything; liveness phase");
    }
}
