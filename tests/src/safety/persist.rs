//! **Persist before reply** (Figure 2: persistent state is "updated on stable storage before
//! responding to RPCs"): when a node replies, or sends a request, what it persisted must
//! already hold what it shows.
//!
//! The check is generic: the persisted bytes are the implementation's own format, so the
//! checker boots a *shadow* incarnation from them (its effects discarded, its randomness from a
//! stream of the checker's own) and compares the shadow's view with the live one. Booting
//! decodes the whole state, so it happens only when something was persisted since the last
//! check, and on long states only where it is likely to matter (see [`Durable::needs_shadow`]):
//! every check point while the state is small, term and vote changes while it is moderate, any
//! change to existing entries, and each doubling.

use raft::RaftView;

/// The persistent fields of a view (Figure 2's `currentTerm`, `votedFor`, `log[]`, and
/// Figure 13's snapshot point), as a view whose other fields are cleared.
fn persistent(view: &RaftView) -> RaftView {
    RaftView {
        term: view.term,
        voted_for: view.voted_for,
        snapshot_index: view.snapshot_index,
        snapshot_term: view.snapshot_term,
        log_terms: view.log_terms.clone(),
        ..RaftView::default()
    }
}

/// Raft states at most this large are verified by a shadow boot at every check point after
/// a persist (every test's first elections and agreements).
pub const SHADOW_ALWAYS_BYTES: usize = 512;
/// Raft states at most this large are verified whenever the term or vote changed.
pub const SHADOW_TERM_VOTE_BYTES: usize = 2048;

/// What the checker knows is on stable storage for one incarnation of a node.
#[derive(Default)]
pub(super) struct Durable {
    /// Something was persisted since the last check point.
    pub(super) dirty: bool,
    /// The persistent fields known (or, after a skipped shadow boot, taken) to be durable.
    known: Option<RaftView>,
    /// Size of the raft state when `known` was last verified by a shadow boot.
    verified_bytes: usize,
}

/// What a check point requires to be durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Requires {
    /// A request was sent: term and vote.
    TermAndVote,
    /// A reply left: term, vote, log and snapshot point.
    Everything,
}

impl Durable {
    /// A new incarnation: its first check point boots a shadow.
    pub(super) fn booted() -> Durable {
        Durable {
            dirty: true,
            ..Durable::default()
        }
    }

    /// Whether this check point must boot a shadow to learn what is durable. Only if something
    /// was persisted since the last check point; then if the state is at most
    /// [`SHADOW_ALWAYS_BYTES`], or the term or vote changed since the last verification and the
    /// state is at most [`SHADOW_TERM_VOTE_BYTES`], or the log changed other than by growing
    /// (or compacting), or the state doubled since the last verification. Otherwise the live
    /// state is taken as durable: a long log that only grows costs a logarithmic number of
    /// decodes, not one per append.
    pub(super) fn needs_shadow(&self, live: &RaftView, raft_state_bytes: usize) -> bool {
        if !self.dirty {
            return false;
        }
        let Some(known) = &self.known else {
            return true;
        };
        let vote_changed = (known.term, known.voted_for) != (live.term, live.voted_for);
        raft_state_bytes <= SHADOW_ALWAYS_BYTES
            || (vote_changed && raft_state_bytes <= SHADOW_TERM_VOTE_BYTES)
            || raft_state_bytes >= 2 * self.verified_bytes
            || !super::log::extends(known, live)
    }

    /// What the shadow booted from the persisted state showed.
    pub(super) fn verified(&mut self, shadow: &RaftView, raft_state_bytes: usize) {
        self.known = Some(persistent(shadow));
        self.verified_bytes = raft_state_bytes;
        self.dirty = false;
    }

    /// A long log that only grew was persisted: take the live fields as durable.
    pub(super) fn assumed(&mut self, live: &RaftView) {
        self.known = Some(persistent(live));
        self.dirty = false;
    }

    /// Compares the live view with what is durable; `Err` says what is missing.
    pub(super) fn check(&self, live: &RaftView, requires: Requires) -> Result<(), String> {
        let known = self.known.as_ref().expect("checked after a shadow boot");
        let mut missing = Vec::new();
        if known.term != live.term {
            missing.push(format!("term {} (persisted: {})", live.term, known.term));
        }
        if known.voted_for != live.voted_for {
            missing.push(format!(
                "vote {} (persisted: {})",
                show_vote(live.voted_for),
                show_vote(known.voted_for)
            ));
        }
        if requires == Requires::Everything {
            let snapshot = |view: &RaftView| (view.snapshot_index, view.snapshot_term);
            if snapshot(known) != snapshot(live) {
                missing.push(format!(
                    "snapshot through index {} term {} (persisted: index {} term {})",
                    live.snapshot_index,
                    live.snapshot_term,
                    known.snapshot_index,
                    known.snapshot_term
                ));
            }
            if known.log_terms != live.log_terms {
                missing.push(describe_log_difference(known, live));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join(", "))
        }
    }
}

fn show_vote(vote: Option<usize>) -> String {
    vote.map_or_else(|| "none".to_owned(), |server| format!("S{server}"))
}

fn describe_log_difference(durable: &RaftView, live: &RaftView) -> String {
    let live_last = live.last_log_index();
    let durable_last = durable.last_log_index();
    let from = live.snapshot_index.max(durable.snapshot_index) + 1;
    let differs = super::log::first_change(live, durable, from, u64::MAX, |_| true);
    match differs.and_then(|change| Some((change.index, change.old_term, change.new_term?))) {
        Some((index, live_term, durable_term)) => format!(
            "its log up to index {live_last} (the persisted log has term {durable_term} at index \
             {index}, the live one term {live_term})"
        ),
        None => format!(
            "its log up to index {live_last} (the persisted log ends at index {durable_last})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(term: u64, vote: Option<usize>, terms: Vec<u64>) -> RaftView {
        RaftView {
            term,
            voted_for: vote,
            log_terms: terms.into(),
            ..RaftView::default()
        }
    }

    #[test]
    fn a_vote_missing_from_storage_is_named() {
        let mut durable = Durable::booted();
        durable.verified(&live(3, None, vec![1]), 10);
        let error = durable
            .check(&live(3, Some(2), vec![1]), Requires::TermAndVote)
            .unwrap_err();
        assert_eq!(error, "vote S2 (persisted: none)");
    }

    #[test]
    fn sends_need_term_and_vote_replies_need_the_log_too() {
        let mut durable = Durable::booted();
        durable.verified(&live(3, None, vec![1, 3]), 10);
        let grown = live(3, None, vec![1, 3, 3]);
        assert!(durable.check(&grown, Requires::TermAndVote).is_ok());
        let error = durable.check(&grown, Requires::Everything).unwrap_err();
        assert!(error.contains("persisted log ends at index 2"), "{error}");
    }

    #[test]
    fn long_logs_that_only_grow_skip_most_shadow_boots() {
        let mut durable = Durable::booted();
        let big = SHADOW_ALWAYS_BYTES * 2;
        assert!(durable.needs_shadow(&live(3, None, vec![1]), big));
        durable.verified(&live(3, None, vec![1]), big);
        durable.dirty = true;
        assert!(!durable.needs_shadow(&live(3, None, vec![1, 3]), big + 10));
        assert!(durable.needs_shadow(&live(3, None, vec![1, 3]), 2 * big));
        assert!(durable.needs_shadow(&live(4, None, vec![1, 3]), big + 10));
        let huge = SHADOW_TERM_VOTE_BYTES + 1;
        durable.verified(&live(3, None, vec![1]), huge);
        durable.dirty = true;
        assert!(!durable.needs_shadow(&live(4, None, vec![1, 3]), huge + 10));
        assert!(durable.needs_shadow(&live(3, None, vec![2]), big + 10));
        durable.dirty = false;
        assert!(!durable.needs_shadow(&live(4, None, vec![2]), 1));
    }
}
