//! The log with a snapshot offset: Figure 2's `log[]`, of which a prefix may have been replaced
//! by the service's snapshot (Figure 13's `lastIncludedIndex` / `lastIncludedTerm`).

use super::entries::Entries;
pub use super::entries::Entry;

/// Figure 2's `log[]`, indexed from 1, with every entry up to `snapshot_index` compacted away.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftLog {
    /// `entries[k]` is log index `snapshot_index + 1 + k`.
    /// Invariant: terms are non-decreasing, and none is below `snapshot_term`.
    entries: Entries,
    /// Index of the last entry the snapshot covers (0: no snapshot).
    /// Invariant: every index up to here is committed (it is in the service's snapshot).
    snapshot_index: u64,
    /// Term of the entry at `snapshot_index` (0: no snapshot).
    snapshot_term: u64,
}

impl RaftLog {
    /// A log as booted from stable storage: `entries` were just decoded from `raft_state`,
    /// which ends with their encodings.
    pub fn decoded(
        snapshot_index: u64,
        snapshot_term: u64,
        entries: Vec<Entry>,
        raft_state: &[u8],
    ) -> RaftLog {
        let log = RaftLog {
            entries: Entries::decoded(entries, raft_state),
            snapshot_index,
            snapshot_term,
        };
        log.assert_terms_ordered();
        log
    }

    /// A log with these entries after the snapshot (tests build logs with it).
    #[cfg(test)]
    pub fn restore(snapshot_index: u64, snapshot_term: u64, entries: Vec<Entry>) -> RaftLog {
        let log = RaftLog {
            entries: Entries::from(entries),
            snapshot_index,
            snapshot_term,
        };
        log.assert_terms_ordered();
        log
    }

    /// Index of the last entry the snapshot covers.
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    /// Term of the last entry the snapshot covers.
    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    /// The entries after the snapshot: `entries()[k]` has index `snapshot_index() + 1 + k`.
    pub fn entries(&self) -> &[Entry] {
        self.entries.as_slice()
    }

    /// The terms of [`RaftLog::entries`], as runs.
    pub fn terms(&self) -> &raft::LogTerms {
        self.entries.terms()
    }

    /// The labgob encoding of [`RaftLog::entries`], element after element (without the
    /// sequence's length), kept up to date so that persisting never re-encodes the log.
    pub fn encoded_entries(&self) -> &[u8] {
        self.entries.encoded()
    }

    /// Index of the last entry (the snapshot's if no entry follows it).
    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.as_slice().len() as u64
    }

    /// Term of the last entry (the snapshot's if no entry follows it).
    pub fn last_term(&self) -> u64 {
        self.entries
            .as_slice()
            .last()
            .map_or(self.snapshot_term, |entry| entry.term)
    }

    /// Term of the entry at `index`, if the log still knows it: `snapshot_index..=last_index`.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.position(index)
            .map(|k| self.entries.as_slice()[k].term)
    }

    /// The entry at `index`. Panics unless `snapshot_index < index <= last_index`.
    pub fn entry(&self, index: u64) -> &Entry {
        let k = self.position(index).unwrap_or_else(|| {
            panic!(
                "log entry {index} is outside ({}, {}]",
                self.snapshot_index,
                self.last_index()
            )
        });
        &self.entries.as_slice()[k]
    }

    /// The entries from `index` to the end. Panics unless `snapshot_index < index`, and
    /// `index <= last_index + 1`.
    pub fn entries_from(&self, index: u64) -> &[Entry] {
        assert!(
            index > self.snapshot_index,
            "entries from {index}: compacted"
        );
        assert!(
            index <= self.last_index() + 1,
            "entries from {index}: past the end"
        );
        &self.entries.as_slice()[self.offset(index)..]
    }

    /// Appends one entry, returning its index.
    pub fn append(&mut self, entry: Entry) -> u64 {
        assert!(
            entry.term >= self.last_term(),
            "appending a term older than the log's"
        );
        self.entries.push(entry);
        self.last_index()
    }

    /// AppendEntries receiver rules 3 and 4: `entries` follow `prev_log_index`, which the
    /// caller has matched. An existing entry that conflicts with a new one (same index,
    /// different term) is deleted with all that follow it; new entries not already in the log
    /// are appended. Entries the snapshot covers are skipped: they are committed, so they
    /// match. A matching prefix never truncates (a stale, shorter request must not erase
    /// newer entries). Returns whether the log changed.
    pub fn merge(&mut self, prev_log_index: u64, entries: Vec<Entry>) -> bool {
        let mut changed = false;
        for (index, entry) in (prev_log_index + 1..).zip(entries) {
            if index <= self.snapshot_index {
                continue;
            }
            match self.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => self.truncate_from(index),
                None => {}
            }
            self.append(entry);
            changed = true;
        }
        changed
    }

    /// Deletes the entry at `index` and every entry after it.
    fn truncate_from(&mut self, index: u64) {
        assert!(
            index > self.snapshot_index,
            "truncating committed entry {index}"
        );
        self.entries.truncate(self.offset(index));
    }

    /// **Flawed** (`TruncatesOnEveryAppend`): deletes every entry after `index`, matching or
    /// not. Returns whether the log changed.
    pub fn truncate_after(&mut self, index: u64) -> bool {
        let changed = index >= self.snapshot_index && index < self.last_index();
        if changed {
            self.truncate_from(index + 1);
        }
        changed
    }

    /// **Flawed** (`LeaderOverwritesLast`): drops the last entry if it is of a term older than
    /// `term` and the snapshot does not cover it.
    pub fn drop_last_if_older(&mut self, term: u64) {
        if self.last_index() > self.snapshot_index && self.last_term() < term {
            self.truncate_from(self.last_index());
        }
    }

    /// The service snapshotted every entry up to `index`: drop them. Panics unless the log has
    /// `index` (`snapshot_index < index <= last_index`).
    pub fn compact_to(&mut self, index: u64) {
        let term = self.entry(index).term;
        self.entries.remove_first(self.offset(index) + 1);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// Figure 13 receiver rules 6 and 7: a snapshot through `index` (of `term`) replaces the
    /// log. If the log has that entry, the entries after it are retained; otherwise the whole
    /// log is discarded. Returns whether a suffix was retained.
    pub fn install_snapshot(&mut self, index: u64, term: u64) -> bool {
        assert!(index > self.snapshot_index, "installing an older snapshot");
        let retained = self.term_at(index) == Some(term);
        if retained {
            self.entries.remove_first(self.offset(index) + 1);
        } else {
            self.entries.clear();
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
        let first_term = self
            .entries
            .as_slice()
            .first()
            .map_or(term, |entry| entry.term);
        assert!(
            first_term >= term,
            "retained entries older than the snapshot"
        );
        retained
    }

    /// The first index of the run of entries with the same term as the entry at `index`,
    /// stopping after the snapshot (a follower's conflict index). `index` must be in the log.
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let term = self.entry(index).term;
        let mut first = index;
        while first > self.snapshot_index + 1 && self.entry(first - 1).term == term {
            first -= 1;
        }
        first
    }

    /// The last index whose entry has `term`, if the log knows one (a leader backing up).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let entries = self.entries.as_slice();
        let after_snapshot = entries
            .iter()
            .rposition(|entry| entry.term <= term)
            .filter(|&k| entries[k].term == term)
            .map(|k| self.snapshot_index + 1 + k as u64);
        let at_snapshot =
            (self.snapshot_index > 0 && self.snapshot_term == term).then_some(self.snapshot_index);
        after_snapshot.or(at_snapshot)
    }

    /// The position in `entries` of log index `index`, if it is after the snapshot.
    fn position(&self, index: u64) -> Option<usize> {
        let k = index.checked_sub(self.snapshot_index + 1)?;
        let k = usize::try_from(k).ok()?;
        (k < self.entries.as_slice().len()).then_some(k)
    }

    /// The position `index` has or would have in `entries`. `index` must be after the snapshot.
    fn offset(&self, index: u64) -> usize {
        usize::try_from(index - self.snapshot_index - 1).expect("log offset fits in usize")
    }

    fn assert_terms_ordered(&self) {
        let mut previous = self.snapshot_term;
        for entry in self.entries.as_slice() {
            assert!(entry.term >= previous, "log terms decrease: {self:?}");
            previous = entry.term;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(terms: &[u64]) -> Vec<Entry> {
        terms
            .iter()
            .map(|&term| Entry {
                term,
                command: vec![term as u8],
            })
            .collect()
    }

    fn terms(log: &RaftLog) -> Vec<u64> {
        log.entries().iter().map(|entry| entry.term).collect()
    }

    #[test]
    fn indices_count_from_the_snapshot() {
        let log = RaftLog::restore(10, 2, entries(&[2, 3, 3]));
        assert_eq!((log.last_index(), log.last_term()), (13, 3));
        assert_eq!(log.term_at(10), Some(2));
        assert_eq!(log.term_at(11), Some(2));
        assert_eq!(log.term_at(9), None, "compacted");
        assert_eq!(log.term_at(14), None, "past the end");
        assert_eq!(log.entries_from(12).len(), 2);
        assert!(log.entries_from(14).is_empty());
    }

    #[test]
    fn merge_skips_entries_the_snapshot_covers() {
        let mut log = RaftLog::restore(3, 1, entries(&[1]));
        assert!(log.merge(1, entries(&[1, 1, 1, 2])));
        assert_eq!(terms(&log), vec![1, 2]);
        assert!(!log.merge(0, entries(&[1, 1])), "nothing new");
    }

    #[test]
    fn merge_truncates_at_the_first_conflict_only() {
        let mut log = RaftLog::restore(0, 0, entries(&[1, 1, 1, 1]));
        assert!(!log.merge(1, entries(&[1])));
        assert_eq!(terms(&log), vec![1, 1, 1, 1]);
        assert!(log.merge(2, entries(&[2])));
        assert_eq!(terms(&log), vec![1, 1, 2]);
    }

    #[test]
    fn conflict_search_stops_at_the_snapshot() {
        let log = RaftLog::restore(4, 2, entries(&[2, 2, 3]));
        assert_eq!(log.first_index_of_term_at(6), 5);
        assert_eq!(log.first_index_of_term_at(7), 7);
        assert_eq!(log.last_index_of_term(2), Some(6));
        assert_eq!(log.last_index_of_term(3), Some(7));
        assert_eq!(
            log.last_index_of_term(1),
            None,
            "older than the snapshot: unknown"
        );
        let bare = RaftLog::restore(4, 2, Vec::new());
        assert_eq!(
            bare.last_index_of_term(2),
            Some(4),
            "the snapshot's own term"
        );
    }

    #[test]
    fn compaction_and_install_keep_the_right_suffix() {
        let mut log = RaftLog::restore(0, 0, entries(&[1, 1, 2, 2]));
        log.compact_to(2);
        assert_eq!((log.snapshot_index(), log.snapshot_term()), (2, 1));
        assert_eq!(terms(&log), vec![2, 2]);
        assert!(log.install_snapshot(3, 2), "entry 3 has term 2: keep 4");
        assert_eq!(terms(&log), vec![2]);
        assert!(
            !log.install_snapshot(4, 3),
            "entry 4 has term 2, not 3: discard"
        );
        assert!(log.entries().is_empty());
        assert_eq!((log.last_index(), log.last_term()), (4, 3));
    }
}
