//! What a node shows the safety checks: [`RaftView`], and its log's terms as [`LogTerms`].
//!
//! The tester reads a node's view after **every** input the node handles (boot, request,
//! reply, timer, `start`, `snapshot`) and checks the Raft paper's safety properties on it (see
//! the tester's `safety` module and the README's "What is checked, and when"). So each field
//! has one exact meaning, stated below, and a correct Raft reports it exactly; a view that
//! lies makes the checks blame the node.

/// A read-only view of a node's Raft state, as [`crate::RaftNode::inspect`] reports it after an
/// input. Every field is read by a safety check, named in its documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftView {
    /// `currentTerm`. Checked: never decreases within an incarnation, and a restarted node is
    /// never below a term it already sent or replied with (**Term monotonic**).
    pub term: u64,
    /// `votedFor` **in the current term**: the candidate this node granted its vote to in
    /// `term` (itself, as a candidate), or `None` if it has not voted in `term`. Report `None`
    /// after moving to a new term even if you keep the old vote around. Checked: a node never
    /// votes for two candidates in one term, across restarts too (**Vote once**).
    pub voted_for: Option<usize>,
    /// Whether the node acts as the leader of `term` (the same as [`crate::RaftNode::state`]'s
    /// second value). Checked: at most one node leads a term, ever (**Election Safety**); while
    /// it leads it never removes or changes a log entry (**Leader Append-Only**); when it
    /// becomes leader its log holds every entry known committed before (**Leader
    /// Completeness**).
    pub is_leader: bool,
    /// `commitIndex`: the highest log index this node knows is committed. It may restart at 0
    /// or at the snapshot index after a reboot. Checked: never decreases within an
    /// incarnation, never exceeds [`RaftView::last_log_index`], and every command the node
    /// applies has an index at most this after the input that applied it (**Commit index**,
    /// **Apply order**); when a leader moves it to `N`, a majority of the servers hold the
    /// leader's entry at `N` in their latest views (**Commit needs a majority**).
    pub commit_index: u64,
    /// Index of the last entry covered by the node's snapshot (Figure 13's
    /// `lastIncludedIndex`; 0 if none). A snapshot covers only committed entries: **Commit
    /// needs a majority** counts a node whose snapshot reaches past an index as holding it.
    pub snapshot_index: u64,
    /// Term of that entry (`lastIncludedTerm`; 0 if none). **Commit needs a majority** counts
    /// a node whose snapshot ends at an index as holding the leader's entry there only if
    /// this is its term.
    pub snapshot_term: u64,
    /// Terms of the log entries after the snapshot, in order: entry `k` (from 0) is log index
    /// `snapshot_index + 1 + k`. Checked: **Log Matching**, **Leader Append-Only**, **No stale
    /// truncation** (an entry of the current term is never removed except into a snapshot),
    /// and, with the snapshot point, **Persist before reply** (a reply leaves only once the
    /// log, term and vote it reflects are persisted).
    pub log_terms: LogTerms,
}

impl RaftView {
    /// Index of the last log entry (the snapshot's if the log is empty).
    pub fn last_log_index(&self) -> u64 {
        self.snapshot_index.saturating_add(self.log_terms.len())
    }

    /// Term of the entry at `index`, if the view still has it (the snapshot's last entry
    /// included).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.log_terms
            .get(index.checked_sub(self.snapshot_index.checked_add(1)?)?)
    }
}

/// `count` consecutive log entries of one `term`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermRun {
    /// The entries' term.
    pub term: u64,
    /// How many entries in a row have it. Never 0.
    pub count: u64,
}

/// The terms of a sequence of log entries, stored as runs of equal terms.
///
/// A Raft log's terms come in long runs (every entry a leader appends has its term), so a log
/// of thousands of entries is a handful of runs, and the checks that read it after every input
/// cost little. Build one term at a time ([`LogTerms::push`]), by collecting an iterator of
/// terms (`log.iter().map(|entry| entry.term).collect()`), or keep one alongside your log and
/// update it as the log changes ([`LogTerms::truncate`], [`LogTerms::remove_first`]), which is
/// what our reference does.
///
/// **Invariant:** no run is empty and no two neighbouring runs share a term, so equal term
/// sequences are equal values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTerms {
    runs: Vec<TermRun>,
    len: u64,
}

impl LogTerms {
    /// No entries.
    pub fn new() -> LogTerms {
        LogTerms::default()
    }

    /// `count` entries, all of `term`.
    pub fn repeat(term: u64, count: u64) -> LogTerms {
        let mut terms = LogTerms::new();
        terms.push_run(term, count);
        terms
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The runs of equal terms, in order.
    pub fn runs(&self) -> &[TermRun] {
        &self.runs
    }

    /// Each entry's term, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.runs
            .iter()
            .flat_map(|run| std::iter::repeat_n(run.term, run.count as usize))
    }

    /// The term of entry `offset` (from 0), if there is one. Linear in the number of runs.
    pub fn get(&self, offset: u64) -> Option<u64> {
        let mut start = 0;
        for run in &self.runs {
            if offset < start + run.count {
                return Some(run.term);
            }
            start += run.count;
        }
        None
    }

    /// The last entry's term.
    pub fn last(&self) -> Option<u64> {
        self.runs.last().map(|run| run.term)
    }

    /// Appends one entry of `term`.
    pub fn push(&mut self, term: u64) {
        self.push_run(term, 1);
    }

    /// Appends `count` entries of `term`.
    pub fn push_run(&mut self, term: u64, count: u64) {
        if count == 0 {
            return;
        }
        self.len += count;
        match self.runs.last_mut() {
            Some(last) if last.term == term => last.count += count,
            _ => self.runs.push(TermRun { term, count }),
        }
    }

    /// Keeps the first `len` entries.
    pub fn truncate(&mut self, len: u64) {
        while self.len > len {
            let last = self.runs.last_mut().expect("len > 0 means a run");
            let excess = self.len - len;
            if last.count > excess {
                last.count -= excess;
                self.len = len;
            } else {
                self.len -= last.count;
                self.runs.pop();
            }
        }
    }

    /// Removes the first `count` entries (all of them if there are fewer).
    pub fn remove_first(&mut self, count: u64) {
        let mut left = count.min(self.len);
        self.len -= left;
        let mut whole = 0;
        for run in &mut self.runs {
            if left == 0 {
                break;
            }
            if run.count <= left {
                left -= run.count;
                whole += 1;
            } else {
                run.count -= left;
                left = 0;
            }
        }
        self.runs.drain(..whole);
    }
}

impl FromIterator<u64> for LogTerms {
    fn from_iter<I: IntoIterator<Item = u64>>(terms: I) -> LogTerms {
        let mut all = LogTerms::new();
        for term in terms {
            all.push(term);
        }
        all
    }
}

impl From<Vec<u64>> for LogTerms {
    fn from(terms: Vec<u64>) -> LogTerms {
        terms.into_iter().collect()
    }
}

impl From<&[u64]> for LogTerms {
    fn from(terms: &[u64]) -> LogTerms {
        terms.iter().copied().collect()
    }
}

impl PartialEq<Vec<u64>> for LogTerms {
    fn eq(&self, other: &Vec<u64>) -> bool {
        self.len == other.len() as u64 && self.iter().eq(other.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn runs_merge_equal_neighbours() {
        let terms: LogTerms = vec![1, 1, 2, 2, 2, 5].into();
        assert_eq!(
            terms.runs(),
            &[
                TermRun { term: 1, count: 2 },
                TermRun { term: 2, count: 3 },
                TermRun { term: 5, count: 1 }
            ]
        );
        assert_eq!(terms.len(), 6);
        assert_eq!(terms.get(4), Some(2));
        assert_eq!(terms.get(6), None);
        assert_eq!(terms.last(), Some(5));
        assert_eq!(terms, vec![1, 1, 2, 2, 2, 5]);
    }

    #[test]
    fn a_view_finds_terms_across_the_snapshot_point() {
        let view = RaftView {
            snapshot_index: 10,
            snapshot_term: 3,
            log_terms: vec![3, 4].into(),
            ..RaftView::default()
        };
        assert_eq!(view.last_log_index(), 12);
        assert_eq!(view.term_at(10), Some(3));
        assert_eq!(view.term_at(12), Some(4));
        assert_eq!(view.term_at(9), None);
        assert_eq!(view.term_at(13), None);
    }

    proptest! {
        /// Every edit keeps the runs equal to those built from scratch from the same terms.
        #[test]
        fn edits_match_a_plain_vector(
            terms in prop::collection::vec(0u64..4, 0..40),
            keep in 0u64..45,
            drop in 0u64..45,
            more in prop::collection::vec(0u64..4, 0..10),
        ) {
            let mut runs = LogTerms::from(terms.clone());
            let mut plain = terms;
            runs.truncate(keep);
            plain.truncate(keep as usize);
            runs.remove_first(drop);
            plain.drain(..(drop as usize).min(plain.len()));
            for &term in &more {
                runs.push(term);
                plain.push(term);
            }
            prop_assert_eq!(&runs, &LogTerms::from(plain.clone()));
            prop_assert_eq!(runs.iter().collect::<Vec<_>>(), plain);
        }
    }
}
