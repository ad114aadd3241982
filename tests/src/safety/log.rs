//! Reading logs as segments of equal terms, and the properties about logs: Log Matching,
//! Leader Append-Only, No stale truncation, and the staircase behind Leader Completeness.
//!
//! Everything here costs O(runs of equal terms), never O(entries): a view's log is a handful
//! of [`raft::TermRun`]s however long it is.

use std::collections::BTreeMap;

use labrpc::SimTime;
use raft::RaftView;

/// Entries `start..=end` (log indices), all of `term`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Segment {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) term: u64,
}

/// The view's log after its snapshot, as segments with absolute indices.
pub(super) fn segments(view: &RaftView) -> impl Iterator<Item = Segment> + '_ {
    let mut next = view.snapshot_index + 1;
    view.log_terms.runs().iter().map(move |run| {
        let segment = Segment {
            start: next,
            end: next + run.count - 1,
            term: run.term,
        };
        next += run.count;
        segment
    })
}

/// How an entry of an older view differs in a newer one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Change {
    /// The first index that differs.
    pub(super) index: u64,
    /// Its term in the old view.
    pub(super) old_term: u64,
    /// Its term in the new view, or `None` if the new log no longer has it.
    pub(super) new_term: Option<u64>,
}

/// The first entry of `old` in `from..=to`, among those `keep` selects by term, that `new` does
/// not hold with the same term. Indices at or below `new`'s snapshot point count as held (they
/// were compacted, not removed); callers start `from` above it.
pub(super) fn first_change(
    old: &RaftView,
    new: &RaftView,
    from: u64,
    to: u64,
    keep: impl Fn(u64) -> bool,
) -> Option<Change> {
    let mut news = segments(new).peekable();
    for segment in segments(old).filter(|segment| keep(segment.term)) {
        let (mut index, end) = (segment.start.max(from), segment.end.min(to));
        while index <= end {
            while news.peek().is_some_and(|seg| seg.end < index) {
                news.next();
            }
            let held = news.peek().filter(|seg| seg.start <= index);
            match held {
                Some(seg) if seg.term == segment.term => index = seg.end.min(end) + 1,
                Some(seg) => {
                    return Some(Change {
                        index,
                        old_term: segment.term,
                        new_term: Some(seg.term),
                    });
                }
                None => {
                    return Some(Change {
                        index,
                        old_term: segment.term,
                        new_term: None,
                    });
                }
            }
        }
    }
    None
}

/// Whether `new`'s log holds `old`'s entries above `new`'s snapshot point unchanged.
pub(super) fn extends(old: &RaftView, new: &RaftView) -> bool {
    new.last_log_index() >= old.last_log_index()
        && new.snapshot_index >= old.snapshot_index
        && first_change(old, new, new.snapshot_index + 1, u64::MAX, |_| true).is_none()
}

/// Where the entries of one term begin, as first seen: Log Matching's witness.
#[derive(Clone, Copy, Debug)]
pub(super) struct TermStart {
    /// Index of the term's first entry.
    pub(super) index: u64,
    /// Term of the entry before it (0 for index 1).
    pub(super) previous_term: u64,
    /// The node that showed it first, and when.
    pub(super) server: usize,
    pub(super) at: SimTime,
}

/// **Log Matching**, by induction on run starts: in a correct Raft every entry of term `t`
/// whose predecessor has another term sits at the one index where `t`'s leader began
/// appending, after the same predecessor term. So if every log's run starts agree with the
/// first one seen, any two logs holding the same (index, term) hold the same terms below it.
/// Only runs from `changed_from` (the first run that differs from this node's last view) are
/// checked; `starts` remembers every term's start for the whole run.
pub(super) fn check_log_matching(
    starts: &mut BTreeMap<u64, TermStart>,
    server: usize,
    view: &RaftView,
    changed_from: usize,
    at: SimTime,
) -> Result<(), String> {
    if view.snapshot_term > 0
        && let Some(start) = starts.get(&view.snapshot_term)
        && start.index > view.snapshot_index
    {
        return Err(format!(
            "S{server}'s snapshot ends at index {} in term {}, but S{} showed term {}'s entries \
             starting at index {} (at {})",
            view.snapshot_index,
            view.snapshot_term,
            start.server,
            view.snapshot_term,
            start.index,
            start.at
        ));
    }
    let mut previous_term = view.snapshot_term;
    for (k, segment) in segments(view).enumerate() {
        let run_previous = previous_term;
        previous_term = segment.term;
        if k < changed_from {
            continue;
        }
        if segment.term < run_previous {
            return Err(format!(
                "S{server}'s log has a term-{} entry at index {} after a term-{run_previous} \
                 entry: no leader's log has terms going down",
                segment.term, segment.start
            ));
        }
        if segment.term == run_previous {
            continue; // continues the snapshot's term: where it began is compacted away
        }
        let start = *starts.entry(segment.term).or_insert(TermStart {
            index: segment.start,
            previous_term: run_previous,
            server,
            at,
        });
        if (start.index, start.previous_term) != (segment.start, run_previous) {
            return Err(format!(
                "S{server}'s entries of term {} start at index {} after a term-{run_previous} \
                 entry, but S{}'s started at index {} after a term-{} entry (at {}): two logs \
                 share an (index, term) and differ below it",
                segment.term,
                segment.start,
                start.server,
                start.index,
                start.previous_term,
                start.at
            ));
        }
    }
    Ok(())
}

/// The index of the first run of `new` that differs (start or term) from `old`'s, or 0 if the
/// snapshot point moved. Runs before it were checked when `old` was.
pub(super) fn first_changed_run(old: Option<&RaftView>, new: &RaftView) -> usize {
    let Some(old) = old else { return 0 };
    if (old.snapshot_index, old.snapshot_term) != (new.snapshot_index, new.snapshot_term) {
        return 0;
    }
    segments(old)
        .zip(segments(new))
        .take_while(|(a, b)| (a.start, a.term) == (b.start, b.term))
        .count()
}

/// One step of the staircase of committed entries behind **Leader Completeness**.
#[derive(Clone, Copy, Debug)]
pub(super) struct Committed {
    /// Every term of a leader that could have committed it is at most this: the highest term
    /// any node had reached when the entry was first seen applied.
    pub(super) bound_term: u64,
    pub(super) index: u64,
    pub(super) term: u64,
    pub(super) server: usize,
    pub(super) at: SimTime,
}

/// Committed entries, highest index last; `bound_term` never decreases along it.
#[derive(Default)]
pub(super) struct Staircase {
    steps: Vec<Committed>,
}

impl Staircase {
    /// An entry seen applied (a command, or a snapshot's last entry).
    pub(super) fn record(&mut self, step: Committed) {
        match self.steps.last_mut() {
            Some(last) if last.index >= step.index => {}
            Some(last) if last.bound_term == step.bound_term => *last = step,
            _ => self.steps.push(step),
        }
    }

    /// The highest committed entry that every leader of `term` must hold.
    pub(super) fn required_of(&self, term: u64) -> Option<&Committed> {
        self.steps.iter().rev().find(|step| step.bound_term < term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(snapshot: (u64, u64), terms: Vec<u64>) -> RaftView {
        RaftView {
            snapshot_index: snapshot.0,
            snapshot_term: snapshot.1,
            log_terms: terms.into(),
            ..RaftView::default()
        }
    }

    #[test]
    fn segments_count_from_the_snapshot() {
        let v = view((4, 1), vec![1, 2, 2]);
        let all: Vec<Segment> = segments(&v).collect();
        assert_eq!(
            all,
            vec![
                Segment {
                    start: 5,
                    end: 5,
                    term: 1
                },
                Segment {
                    start: 6,
                    end: 7,
                    term: 2
                }
            ]
        );
    }

    #[test]
    fn first_change_finds_rewrites_and_removals() {
        let old = view((0, 0), vec![1, 1, 2, 2, 3]);
        let rewritten = view((0, 0), vec![1, 1, 2, 4, 4]);
        let change = first_change(&old, &rewritten, 1, u64::MAX, |_| true);
        assert_eq!(
            change,
            Some(Change {
                index: 4,
                old_term: 2,
                new_term: Some(4)
            })
        );
        let shorter = view((0, 0), vec![1, 1, 2]);
        let change = first_change(&old, &shorter, 1, u64::MAX, |_| true);
        assert_eq!(change.map(|c| (c.index, c.new_term)), Some((4, None)));
        let only_term_3 = first_change(&old, &rewritten, 1, u64::MAX, |term| term == 3);
        assert_eq!(only_term_3.map(|c| c.index), Some(5));
        let compacted = view((3, 2), vec![2, 3, 3]);
        assert!(extends(&old, &compacted));
        assert!(!extends(&old, &shorter));
    }

    #[test]
    fn log_matching_compares_run_starts() {
        let mut starts = BTreeMap::new();
        let at = SimTime::ZERO;
        let a = view((0, 0), vec![1, 1, 2, 2]);
        assert!(check_log_matching(&mut starts, 0, &a, 0, at).is_ok());
        let b = view((0, 0), vec![1, 1, 2]);
        assert!(check_log_matching(&mut starts, 1, &b, 0, at).is_ok());
        let c = view((0, 0), vec![1, 1, 1, 2]);
        let error = check_log_matching(&mut starts, 2, &c, 0, at).unwrap_err();
        assert!(error.contains("term 2 start at index 4"), "{error}");
        let down = view((0, 0), vec![1, 3, 2]);
        assert!(check_log_matching(&mut starts, 2, &down, 0, at).is_err());
        let compacted = view((3, 2), vec![2, 2]);
        assert!(check_log_matching(&mut starts, 1, &compacted, 0, at).is_ok());
    }

    #[test]
    fn the_staircase_requires_what_was_committed_before_a_term() {
        let mut stairs = Staircase::default();
        let step = |bound_term, index| Committed {
            bound_term,
            index,
            term: 1,
            server: 0,
            at: SimTime::ZERO,
        };
        stairs.record(step(2, 3));
        stairs.record(step(2, 5));
        stairs.record(step(4, 9));
        stairs.record(step(4, 8));
        assert_eq!(stairs.required_of(2).map(|s| s.index), None);
        assert_eq!(stairs.required_of(3).map(|s| s.index), Some(5));
        assert_eq!(stairs.required_of(5).map(|s| s.index), Some(9));
    }
}
