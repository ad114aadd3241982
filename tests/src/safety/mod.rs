//! Safety checks after every input: the Raft paper's properties, checked on every node's
//! [`RaftView`] after each input it handles, so a broken Raft fails at its first bad step with
//! class [`FailureKind::Safety`], not at the end of a test (or never).
//!
//! The checker is an observer with read access to node state: the config driver calls
//! [`Safety::after_input`] after a node booted or handled a request, a reply, a timer,
//! `start` or `snapshot`, with the node's [`raft::RaftNode::inspect`] view, what the node did
//! ([`Effects`]) and the commands it applied. It only reads: it draws no randomness from any
//! stream the run uses and changes no event, so fingerprints are the same with it on or off.
//!
//! | property | checked | file |
//! |---|---|---|
//! | Election Safety | at most one leader per term, ever | here |
//! | Vote once | one candidate per (node, term), across restarts | here |
//! | Term monotonic | within an incarnation; across restarts, not below a term already sent or replied with | here |
//! | Leader Append-Only | a leader's log only grows while it leads a term | `log.rs` |
//! | Log Matching | equal (index, term) means equal terms below | `log.rs` |
//! | Leader Completeness | a new leader holds every entry known committed before its term | `log.rs` |
//! | No stale truncation | an entry of the node's current term is never removed but into a snapshot | `log.rs` |
//! | Commit index | monotonic within an incarnation, at most the last log index | here |
//! | Commit needs a majority | when a leader moves its commit index to N, a majority's latest views hold its entry at N | `majority.rs` |
//! | Apply order | `last_applied + 1`, once, at most the commit index; snapshots never go back | here |
//! | Persist before reply | replies and requests leave only with their state durable | `persist.rs` |
//!
//! State Machine Safety (no two nodes apply different commands at one index) stays Go's
//! `checkLogs`, in the config's appliers, with Go's message and class.

mod log;
mod majority;
mod persist;

use std::collections::BTreeMap;
use std::fmt;

use labrpc::{SimRng, SimTime};
use raft::{ApplyMsg, RaftView};

use self::log::{Committed, Staircase, TermStart};
use self::persist::{Durable, Requires};
use crate::failure::{Failure, FailureKind};

pub use self::persist::{SHADOW_ALWAYS_BYTES, SHADOW_TERM_VOTE_BYTES};

/// The environment variable that turns the checks off (`LAB_CHECKS=off`); on by default.
pub const CHECKS_ENV: &str = "LAB_CHECKS";

/// Whether the environment leaves the safety checks on (anything but `LAB_CHECKS=off`).
pub fn enabled_by_env() -> bool {
    std::env::var(CHECKS_ENV).map_or(true, |value| value.trim() != "off")
}

/// A safety property, in the paper's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Property {
    /// At most one leader per term (Figure 3).
    ElectionSafety,
    /// A node votes for at most one candidate per term (Figure 2, RequestVote).
    VoteOnce,
    /// A node's term never decreases.
    TermMonotonic,
    /// A leader never overwrites or deletes entries in its log (Figure 3).
    LeaderAppendOnly,
    /// Same index and term means identical logs up to there (Figure 3).
    LogMatching,
    /// A committed entry is in the log of every later leader (Figure 3).
    LeaderCompleteness,
    /// The commit index never decreases and never passes the log's end.
    CommitIndex,
    /// A leader commits an entry only once a majority stores it (§5.3, §5.4).
    CommitMajority,
    /// Commands are applied in order, once, only once committed.
    ApplyOrder,
    /// An entry of the node's current term is removed only into a snapshot.
    NoStaleTruncation,
    /// Persistent state is on stable storage before responding to RPCs (Figure 2).
    PersistBeforeReply,
}

impl Property {
    /// The property's name, as failures print it.
    pub fn name(self) -> &'static str {
        match self {
            Property::ElectionSafety => "Election Safety",
            Property::VoteOnce => "Vote once",
            Property::TermMonotonic => "Term monotonic",
            Property::LeaderAppendOnly => "Leader Append-Only",
            Property::LogMatching => "Log Matching",
            Property::LeaderCompleteness => "Leader Completeness",
            Property::CommitIndex => "Commit index",
            Property::CommitMajority => "Commit needs a majority",
            Property::ApplyOrder => "Apply order",
            Property::NoStaleTruncation => "No stale truncation",
            Property::PersistBeforeReply => "Persist before reply",
        }
    }

    /// Which property a safety failure's message names (it starts with the name).
    pub fn of_message(message: &str) -> Option<Property> {
        ALL.into_iter()
            .find(|property| message.starts_with(&format!("{}:", property.name())))
    }
}

/// Every property, in the order of the README's table.
pub const ALL: [Property; 11] = [
    Property::ElectionSafety,
    Property::VoteOnce,
    Property::TermMonotonic,
    Property::LeaderAppendOnly,
    Property::LogMatching,
    Property::LeaderCompleteness,
    Property::CommitIndex,
    Property::CommitMajority,
    Property::ApplyOrder,
    Property::NoStaleTruncation,
    Property::PersistBeforeReply,
];

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a node did during the inputs since the last check (usually one input; a `snapshot`
/// the appliers hand over counts with the input whose apply triggered it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// It returned a reply to a request.
    pub replied: bool,
    /// Requests it sent.
    pub calls: u64,
    /// It saved raft state (and maybe a snapshot).
    pub persisted: bool,
}

/// When a check runs: virtual time and the simulator's event count.
#[derive(Clone, Copy, Debug)]
pub struct Moment {
    /// Virtual time.
    pub at: SimTime,
    /// Events simulated so far.
    pub event: u64,
}

/// The shadow incarnation's view: boots the node from its persisted state with the given
/// random stream, discards its effects, and inspects it; `Err` with the panic's message if
/// booting panicked.
pub type Shadow<'a> = &'a mut dyn FnMut(&mut SimRng) -> Result<RaftView, String>;

/// One applied message, as the checker keeps it until the check after the input.
#[derive(Clone, Copy, Debug)]
enum Applied {
    Command { index: u64 },
    Snapshot { index: u64, term: u64 },
}

/// What the checker remembers of one server.
#[derive(Default)]
struct NodeTrack {
    /// The view after the last input of this incarnation (`None` before its first check).
    view: Option<RaftView>,
    /// The last view before a crash, kept until the next incarnation's first check (Commit
    /// needs a majority reads it as what the node persisted).
    crashed_view: Option<RaftView>,
    /// The highest term this server sent or replied with, in any incarnation.
    revealed_term: u64,
    /// The last index the service has from this incarnation (snapshot or command).
    applied: u64,
    /// Applied since the last check.
    pending: Vec<Applied>,
    durable: Durable,
}

/// The leader of a term, as first seen.
#[derive(Clone, Copy, Debug)]
struct Leadership {
    server: usize,
    since: SimTime,
}

/// The safety checker of one run. See the module documentation.
pub struct Safety {
    nodes: Vec<NodeTrack>,
    /// Election Safety: each term's leader.
    leaders: BTreeMap<u64, Leadership>,
    /// Vote once: `(server, term)` → the candidate and when.
    votes: BTreeMap<(usize, u64), (usize, SimTime)>,
    /// Log Matching: where each term's entries start.
    term_starts: BTreeMap<u64, TermStart>,
    /// Leader Completeness: what is known committed, and by when.
    committed: Staircase,
    /// The highest term any node has shown.
    max_term: u64,
    /// For shadow boots only, so that no stream of the run shifts.
    shadow_rng: SimRng,
}

/// A broken property and its evidence.
struct Violation {
    property: Property,
    detail: String,
}

fn violation<T>(property: Property, detail: String) -> Result<T, Violation> {
    Err(Violation { property, detail })
}

impl Safety {
    /// A checker for `servers` nodes of the run with root seed `seed`.
    pub fn new(servers: usize, seed: u64) -> Safety {
        Safety {
            nodes: (0..servers).map(|_| NodeTrack::default()).collect(),
            leaders: BTreeMap::new(),
            votes: BTreeMap::new(),
            term_starts: BTreeMap::new(),
            committed: Staircase::default(),
            max_term: 0,
            shadow_rng: SimRng::new(seed, "safety/shadow"),
        }
    }

    /// Server `server` is about to boot; the service resumes it after `applied` (the index of
    /// the snapshot the tester ingested, or 0).
    pub fn on_boot(&mut self, server: usize, applied: u64) {
        let track = &mut self.nodes[server];
        track.view = None;
        track.pending.clear();
        track.applied = applied;
        track.durable = Durable::booted();
    }

    /// Server `server` crashed.
    pub fn on_crash(&mut self, server: usize) {
        let track = &mut self.nodes[server];
        if let Some(view) = track.view.take() {
            track.crashed_view = Some(view);
        }
        track.pending.clear();
    }

    /// Server `server` applied `msg` (checked with the input's view, in [`Safety::after_input`]).
    pub fn on_apply(&mut self, server: usize, msg: &ApplyMsg) {
        let applied = match *msg {
            ApplyMsg::Command { index, .. } => Applied::Command { index },
            ApplyMsg::Snapshot { index, term, .. } => Applied::Snapshot { index, term },
        };
        self.nodes[server].pending.push(applied);
    }

    /// Checks every property after `server` handled input(s) and shows `view`. `raft_state_bytes`
    /// is the size of its persisted raft state; `shadow` boots a shadow from it when needed.
    pub fn after_input(
        &mut self,
        server: usize,
        effects: Effects,
        view: RaftView,
        moment: Moment,
        raft_state_bytes: usize,
        shadow: Shadow<'_>,
    ) -> Result<(), Failure> {
        if let Err(detail) = check_bounds(server, &view) {
            return Err(Failure {
                kind: FailureKind::Safety,
                message: format!("{detail} (event {})", moment.event),
                at: moment.at,
            });
        }
        self.max_term = self.max_term.max(view.term);
        let previous = self.nodes[server].view.take();
        let result = self
            .check_terms(server, previous.as_ref(), &view, moment.at)
            .and_then(|()| self.check_leader(server, previous.as_ref(), &view, moment.at))
            .and_then(|()| self.check_log(server, previous.as_ref(), &view, moment.at))
            .and_then(|()| self.check_majority(server, previous.as_ref(), &view))
            .and_then(|()| self.check_applies(server, &view, moment.at))
            .and_then(|()| self.check_persist(server, effects, &view, raft_state_bytes, shadow));
        self.nodes[server].view = Some(view);
        self.nodes[server].crashed_view = None;
        result.map_err(|broken| Failure {
            kind: FailureKind::Safety,
            message: format!(
                "{}: {} (event {})",
                broken.property, broken.detail, moment.event
            ),
            at: moment.at,
        })
    }

    /// Term monotonic and Vote once.
    fn check_terms(
        &mut self,
        server: usize,
        previous: Option<&RaftView>,
        view: &RaftView,
        at: SimTime,
    ) -> Result<(), Violation> {
        match previous {
            Some(previous) if view.term < previous.term => {
                return violation(
                    Property::TermMonotonic,
                    format!(
                        "S{server}'s term went from {} to {}",
                        previous.term, view.term
                    ),
                );
            }
            None if view.term < self.nodes[server].revealed_term => {
                return violation(
                    Property::TermMonotonic,
                    format!(
                        "S{server} restarted in term {}, but it had already sent or replied with \
                         term {}",
                        view.term, self.nodes[server].revealed_term
                    ),
                );
            }
            _ => {}
        }
        let Some(candidate) = view.voted_for else {
            return Ok(());
        };
        let unchanged = previous.is_some_and(|previous| {
            (previous.term, previous.voted_for) == (view.term, Some(candidate))
        });
        if unchanged {
            return Ok(());
        }
        let (first, when) = *self
            .votes
            .entry((server, view.term))
            .or_insert((candidate, at));
        if first != candidate {
            return violation(
                Property::VoteOnce,
                format!(
                    "S{server} voted for S{first} (at {when}) and then for S{candidate} in term {}",
                    view.term
                ),
            );
        }
        Ok(())
    }

    /// Election Safety, and Leader Completeness when a node becomes leader.
    fn check_leader(
        &mut self,
        server: usize,
        previous: Option<&RaftView>,
        view: &RaftView,
        at: SimTime,
    ) -> Result<(), Violation> {
        if !view.is_leader {
            return Ok(());
        }
        let leadership = *self
            .leaders
            .entry(view.term)
            .or_insert(Leadership { server, since: at });
        if leadership.server != server {
            return violation(
                Property::ElectionSafety,
                format!(
                    "S{} and S{server} both lead term {} (S{} since {}, S{server} at {at})",
                    leadership.server, view.term, leadership.server, leadership.since
                ),
            );
        }
        let already = previous.is_some_and(|p| p.is_leader && p.term == view.term);
        if already {
            return Ok(());
        }
        let Some(required) = self.committed.required_of(view.term) else {
            return Ok(());
        };
        let holds = view.snapshot_index >= required.index
            || view.term_at(required.index) == Some(required.term);
        if holds {
            return Ok(());
        }
        let has = view
            .term_at(required.index)
            .map_or_else(|| "no entry".to_owned(), |term| format!("term {term}"));
        violation(
            Property::LeaderCompleteness,
            format!(
                "S{server} became leader of term {} without the committed entry at index {} \
                 (term {}, applied by S{} at {}); it has {has} there",
                view.term, required.index, required.term, required.server, required.at
            ),
        )
    }

    /// Leader Append-Only, No stale truncation, Commit index, Log Matching.
    fn check_log(
        &mut self,
        server: usize,
        previous: Option<&RaftView>,
        view: &RaftView,
        at: SimTime,
    ) -> Result<(), Violation> {
        if let Some(previous) = previous {
            check_against_previous(server, previous, view)?;
        }
        if view.commit_index > view.last_log_index() {
            return violation(
                Property::CommitIndex,
                format!(
                    "S{server}'s commit index {} is beyond its last log index {}",
                    view.commit_index,
                    view.last_log_index()
                ),
            );
        }
        let changed_from = log::first_changed_run(previous, view);
        log::check_log_matching(&mut self.term_starts, server, view, changed_from, at)
            .or_else(|detail| violation(Property::LogMatching, detail))
    }

    /// Commit needs a majority, when a node that led its term before this input and still
    /// does moves its commit index (see `majority.rs` for why a correct Raft passes).
    fn check_majority(
        &self,
        server: usize,
        previous: Option<&RaftView>,
        view: &RaftView,
    ) -> Result<(), Violation> {
        let leading = previous.is_some_and(|previous| {
            previous.is_leader
                && view.is_leader
                && previous.term == view.term
                && view.commit_index > previous.commit_index
        });
        let index = view.commit_index;
        let Some(term) = view.term_at(index).filter(|_| leading) else {
            return Ok(());
        };
        let latest = |other: usize| {
            let track = &self.nodes[other];
            if other == server {
                Some(view)
            } else {
                track.view.as_ref().or(track.crashed_view.as_ref())
            }
        };
        let servers = self.nodes.len();
        let holders = (0..servers)
            .filter(|&other| latest(other).is_some_and(|seen| majority::holds(seen, index, term)))
            .count();
        if holders * 2 > servers {
            return Ok(());
        }
        let others: Vec<String> = (0..servers)
            .filter(|&other| other != server)
            .map(|other| match latest(other) {
                Some(seen) => format!("S{other} {}", majority::describe_entry(seen, index)),
                None => format!("S{other} never booted"),
            })
            .collect();
        violation(
            Property::CommitMajority,
            format!(
                "S{server}, leading term {}, moved its commit index from {} to {index} (term \
                 {term}), but only {holders} of {servers} servers hold that entry ({})",
                view.term,
                previous.map_or(0, |previous| previous.commit_index),
                others.join(", ")
            ),
        )
    }

    /// Apply order, and what the applies tell Leader Completeness.
    fn check_applies(
        &mut self,
        server: usize,
        view: &RaftView,
        at: SimTime,
    ) -> Result<(), Violation> {
        let pending = std::mem::take(&mut self.nodes[server].pending);
        for applied in pending {
            let track = &mut self.nodes[server];
            let (index, term) = match applied {
                Applied::Command { index } => {
                    let expected = track.applied.saturating_add(1);
                    if index != expected {
                        return violation(
                            Property::ApplyOrder,
                            format!(
                                "S{server} applied index {index}; the next to apply was {expected}"
                            ),
                        );
                    }
                    if index > view.commit_index {
                        return violation(
                            Property::ApplyOrder,
                            format!(
                                "S{server} applied index {index} beyond its commit index {}",
                                view.commit_index
                            ),
                        );
                    }
                    (index, view.term_at(index))
                }
                Applied::Snapshot { index, term } => {
                    if index < track.applied {
                        return violation(
                            Property::ApplyOrder,
                            format!(
                                "S{server} installed a snapshot through index {index}, below index \
                                 {} that it had already applied",
                                track.applied
                            ),
                        );
                    }
                    (index, Some(term))
                }
            };
            track.applied = index;
            if let Some(term) = term {
                self.committed.record(Committed {
                    bound_term: self.max_term,
                    index,
                    term,
                    server,
                    at,
                });
            }
        }
        Ok(())
    }

    /// Persist before reply (and before sending a request).
    fn check_persist(
        &mut self,
        server: usize,
        effects: Effects,
        view: &RaftView,
        raft_state_bytes: usize,
        shadow: Shadow<'_>,
    ) -> Result<(), Violation> {
        let track = &mut self.nodes[server];
        track.durable.dirty |= effects.persisted;
        let (requires, what) = if effects.replied {
            (Requires::Everything, "replied to a request")
        } else if effects.calls > 0 {
            (Requires::TermAndVote, "sent a request")
        } else {
            return Ok(());
        };
        track.revealed_term = track.revealed_term.max(view.term);
        if track.durable.needs_shadow(view, raft_state_bytes) {
            let durable_view = shadow(&mut self.shadow_rng).or_else(|panic| {
                violation(
                    Property::PersistBeforeReply,
                    format!(
                        "S{server} {what}, but its persisted state does not boot: `new` \
                         panicked with \"{panic}\""
                    ),
                )
            })?;
            track.durable.verified(&durable_view, raft_state_bytes);
        } else if track.durable.dirty {
            track.durable.assumed(view);
        }
        track.durable.check(view, requires).or_else(|missing| {
            violation(
                Property::PersistBeforeReply,
                format!("S{server} {what} before persisting {missing}"),
            )
        })
    }
}

/// Indices and terms no log can reach (the checks do arithmetic on them).
pub const MAX_INDEX: u64 = 1 << 62;

/// A view whose indices or terms no log can reach is the node's fault, named as such, before
/// any property is checked.
fn check_bounds(server: usize, view: &RaftView) -> Result<(), String> {
    let end = view.snapshot_index.checked_add(view.log_terms.len());
    let largest = [view.term, view.commit_index, end.unwrap_or(u64::MAX)];
    if largest.into_iter().any(|value| value >= MAX_INDEX) {
        return Err(format!(
            "RaftView: S{server}'s inspect() reports term {}, commit index {}, snapshot index {} \
             and {} log entries: no log reaches 2^62; is a subtraction wrapping?",
            view.term,
            view.commit_index,
            view.snapshot_index,
            view.log_terms.len()
        ));
    }
    Ok(())
}

/// The properties that compare a node's view with its previous one in the same incarnation.
fn check_against_previous(
    server: usize,
    previous: &RaftView,
    view: &RaftView,
) -> Result<(), Violation> {
    let from = view.snapshot_index + 1;
    let leading = previous.is_leader && view.is_leader && previous.term == view.term;
    let rewritten = leading
        .then(|| log::first_change(previous, view, from, u64::MAX, |_| true))
        .flatten();
    if let Some(change) = rewritten {
        return violation(
            Property::LeaderAppendOnly,
            format!(
                "S{server}, leading term {}, {}",
                view.term,
                describe_change(change)
            ),
        );
    }
    if previous.term == view.term {
        let own_term = |term| term == view.term;
        if let Some(change) = log::first_change(previous, view, from, u64::MAX, own_term) {
            return violation(
                Property::NoStaleTruncation,
                format!(
                    "S{server}, in term {}, {} (an entry of its own term)",
                    view.term,
                    describe_change(change)
                ),
            );
        }
    }
    if view.commit_index < previous.commit_index {
        return violation(
            Property::CommitIndex,
            format!(
                "S{server}'s commit index went from {} to {}",
                previous.commit_index, view.commit_index
            ),
        );
    }
    Ok(())
}

fn describe_change(change: log::Change) -> String {
    match change.new_term {
        Some(term) => format!(
            "changed its entry at index {} from term {} to term {term}",
            change.index, change.old_term
        ),
        None => format!(
            "removed its entry at index {} (term {})",
            change.index, change.old_term
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment() -> Moment {
        Moment {
            at: SimTime::ZERO,
            event: 7,
        }
    }

    #[test]
    fn a_view_past_any_log_is_the_nodes_fault_not_an_overflow() {
        let mut safety = Safety::new(3, 1);
        let view = RaftView {
            snapshot_index: u64::MAX - 1,
            log_terms: vec![1, 1, 1].into(),
            ..RaftView::default()
        };
        let mut shadow = |_: &mut SimRng| Ok(RaftView::default());
        let failure = safety
            .after_input(0, Effects::default(), view, moment(), 0, &mut shadow)
            .expect_err("out of bounds");
        assert_eq!(failure.kind, FailureKind::Safety);
        assert!(
            failure.message.starts_with("RaftView: S0's inspect()"),
            "{failure}"
        );
    }

    #[test]
    fn two_leaders_of_one_term_are_named_with_both_times() {
        let mut safety = Safety::new(3, 1);
        let leader = RaftView {
            term: 2,
            is_leader: true,
            ..RaftView::default()
        };
        let mut shadow = |_: &mut SimRng| Ok(RaftView::default());
        let (effects, first) = (Effects::default(), moment());
        safety
            .after_input(0, effects, leader.clone(), first, 0, &mut shadow)
            .expect("one leader");
        let failure = safety
            .after_input(2, effects, leader, first, 0, &mut shadow)
            .expect_err("two leaders");
        assert_eq!(
            failure.message,
            "Election Safety: S0 and S2 both lead term 2 (S0 since 0.000000s, S2 at 0.000000s) (event 7)"
        );
    }
}
