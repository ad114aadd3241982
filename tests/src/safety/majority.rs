//! Commit needs a majority (§5.3, §5.4): when the leader of a term moves its commit index to
//! `N`, a majority of the cluster holds its entry at `N`, judged from each node's latest view.
//!
//! **Why a correct Raft always passes.** The leader counts a follower for `N` only after the
//! follower replied success to an AppendEntries (or InstallSnapshot) that left it holding the
//! leader's entry at `N`. The follower handled that request before the leader handled the
//! reply, and the checker stored the follower's view after that input; so the follower's
//! latest view held the entry then. Afterwards it can lose the entry only
//! - into a snapshot (counted: a snapshot through `N` or past it holds it, see [`holds`]);
//! - by a crash (its last view before the crash is kept until its next input, and a restarted
//!   node boots from what it persisted before replying, which Persist before reply checks);
//! - by a truncation from a later leader, which Leader Completeness rules out once a majority
//!   stored the entry in the leader's term (a voter that stored it rejects the old term).
//!
//! The leader counts itself with the view of the input that moved its commit index.

use raft::RaftView;

/// Whether `view` holds the entry at `index` of `term`. A snapshot through `index` holds it if
/// its last included term is `term`; a snapshot past `index` always counts, since a correct
/// node snapshots only committed entries, and comparing its last included term with the
/// leader's log there would blame a correct stale leader whose later entries a newer leader
/// replaced.
pub(super) fn holds(view: &RaftView, index: u64, term: u64) -> bool {
    if view.snapshot_index > index {
        return true;
    }
    view.term_at(index) == Some(term)
}

/// What `view` has at `index`, for the failure message.
pub(super) fn describe_entry(view: &RaftView, index: u64) -> String {
    match view.term_at(index) {
        Some(term) => format!("term {term}"),
        None => "no entry".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_through_or_past_the_index_count_if_consistent() {
        let view = RaftView {
            snapshot_index: 5,
            snapshot_term: 2,
            log_terms: vec![3, 3].into(),
            ..RaftView::default()
        };
        assert!(holds(&view, 4, 9), "a snapshot past the index counts");
        assert!(holds(&view, 5, 2));
        assert!(
            !holds(&view, 5, 3),
            "a snapshot through the index of another term"
        );
        assert!(holds(&view, 7, 3));
        assert!(!holds(&view, 7, 4));
        assert!(!holds(&view, 8, 3), "past the log");
        assert_eq!(describe_entry(&view, 8), "no entry");
        assert_eq!(describe_entry(&view, 6), "term 3");
    }
}
