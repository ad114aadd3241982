//! The search (spec §4.3) and the per-partition verdicts (spec §4.4, §5.7).
//!
//! Wing & Gong's backtracking search over a linked list of call and return entries, with
//! Lowe's just-in-time linearization: only an operation called before the earliest remaining
//! return may go next, and a configuration (linearized set, model state) already explored is
//! not explored again. Work is counted in search steps (one per entry the loop visits), and
//! each partition gets the same budget, so a verdict never depends on the machine, on the
//! order of partitions, or on the other partitions.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::model::{Model, Operation, Partition};

/// The search steps one partition may take before its check gives up as
/// [`Verdict::Unknown`]: Go's 1 s wall-clock timeout made a count (spec §5.7). About half a
/// second of one core on the CI machine at the benchmark's 3–4 million steps per second, and
/// about 200 MB of memory at most (196 MB peak measured on partitions that used it all).
/// The Lab 3 suites' histories need far fewer: at most about 90,000 steps for 15 clients on
/// 15 random keys, about one per operation on the own-key workloads (README, benchmark).
pub const DEFAULT_STEPS_PER_PARTITION: u64 = 2_000_000;

/// The outcome of a check. Ordered `Ok < Unknown < Illegal`: a history's verdict is the
/// greatest of its partitions'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// A linearization exists.
    Ok,
    /// The budget ran out before the search ended: the history is assumed to be fine, as Go
    /// does on its timeout (`info: linearizability check timed out, assuming history is ok`).
    Unknown,
    /// No linearization exists: the history is not linearizable.
    Illegal,
}

/// One partition's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReport {
    /// The partition: its label and its operations (indices into the history).
    pub partition: Partition,
    /// Its verdict.
    pub verdict: Verdict,
    /// The search steps it took (at most the budget).
    pub steps: u64,
}

/// The outcome of [`check`]: the verdict and every partition's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// `Illegal` if any partition is, else `Unknown` if any ran out of budget, else `Ok`.
    pub verdict: Verdict,
    /// One per partition, in the model's partition order.
    pub partitions: Vec<PartitionReport>,
    /// The budget each partition had.
    pub steps_per_partition: u64,
}

impl CheckReport {
    /// The most steps any partition took.
    pub fn max_steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.steps).max().unwrap_or(0)
    }
}

/// Checks `history` against `model`: every partition in the model's order, each with
/// `steps_per_partition` search steps (use [`DEFAULT_STEPS_PER_PARTITION`]). Every partition
/// is checked, also after an illegal one, so the report is complete for the visualization.
///
/// # Panics
/// If an operation returns before it is called (`return_us < call_us`), or a partition names
/// an operation that is not in the history: the recorder is broken.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    steps_per_partition: u64,
) -> CheckReport {
    let partitions: Vec<PartitionReport> = model
        .partition(history)
        .into_iter()
        .map(|partition| {
            let mut search = Search::new(model, history, &partition.operations, None);
            let (verdict, steps) = search.run(steps_per_partition);
            PartitionReport {
                partition,
                verdict,
                steps,
            }
        })
        .collect();
    let verdict = partitions
        .iter()
        .map(|p| p.verdict)
        .max()
        .unwrap_or(Verdict::Ok);
    CheckReport {
        verdict,
        partitions,
        steps_per_partition,
    }
}

/// How many distinct longest linearizable prefixes [`longest_prefixes`] keeps.
pub const MAX_PREFIXES_KEPT: usize = 8;

/// Runs one partition's search again, deterministically the same, recording the longest
/// linearizable prefixes it reached (at most [`MAX_PREFIXES_KEPT`], each a list of positions
/// in `partition`, in linearization order). Worth it only for a partition [`check`] found
/// `Illegal`: for that verdict the search ends within the same steps.
pub fn longest_prefixes<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partition: &[usize],
    steps: u64,
) -> Vec<Vec<usize>> {
    let mut recorder = Recorder::default();
    let mut search = Search::new(model, history, partition, Some(&mut recorder));
    search.run(steps);
    let by_rank = search.position_by_rank;
    recorder
        .prefixes
        .into_iter()
        .map(|prefix| prefix.iter().map(|&rank| by_rank[rank as usize]).collect())
        .collect()
}

/// Where an entry sorts: by time, a call before a return at the same time (touching
/// operations are concurrent, as in porcupine since 2022), then by position in the partition
/// (porcupine leaves such ties unspecified; we fix them).
pub(crate) type EntryKey = (u64, u8, usize);

pub(crate) fn call_key<I, O>(op: &Operation<I, O>, position: usize) -> EntryKey {
    (op.call_us, 0, position)
}

pub(crate) fn return_key<I, O>(op: &Operation<I, O>, position: usize) -> EntryKey {
    (op.return_us, 1, position)
}

/// The positions in a partition, in the order of their returns: an operation's rank.
pub(crate) fn positions_by_return<I, O>(
    history: &[Operation<I, O>],
    partition: &[usize],
) -> Vec<usize> {
    let mut positions: Vec<usize> = (0..partition.len()).collect();
    positions.sort_by_key(|&position| return_key(&history[partition[position]], position));
    positions
}

/// The longest linearizable prefixes a search reached (explanation runs only).
#[derive(Default)]
struct Recorder {
    /// Ranks, in linearization order. Invariant: all the same length, distinct.
    prefixes: Vec<Vec<u32>>,
}

impl Recorder {
    fn record(&mut self, stack: &[u32]) {
        let best = self.prefixes.first().map_or(0, Vec::len);
        if stack.len() > best {
            self.prefixes = vec![stack.to_vec()];
        } else if stack.len() == best
            && best > 0
            && self.prefixes.len() < MAX_PREFIXES_KEPT
            && !self.prefixes.iter().any(|p| p == stack)
        {
            self.prefixes.push(stack.to_vec());
        }
    }
}

/// A node of the entry list: node `2 * rank` is the call of the operation of that rank (its
/// place in return order), node `2 * rank + 1` its return; the last node is the head.
type Node = u32;

/// One partition's search state (spec §4.3, items 2 and 3).
struct Search<'a, M: Model> {
    model: &'a M,
    /// Operation by rank.
    ops: Vec<&'a Operation<M::Input, M::Output>>,
    /// Position in the partition by rank.
    position_by_rank: Vec<usize>,
    /// The doubly linked list of entries, circular through `head`.
    next: Vec<Node>,
    prev: Vec<Node>,
    head: Node,
    linearized: Linearized,
    state: M::State,
    /// Ranks linearized so far, in order, and the state before each.
    stack: Vec<u32>,
    states_before: Vec<M::State>,
    cache: Cache<M::State>,
    recorder: Option<&'a mut Recorder>,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(
        model: &'a M,
        history: &'a [Operation<M::Input, M::Output>],
        partition: &[usize],
        recorder: Option<&'a mut Recorder>,
    ) -> Self {
        let n = partition.len();
        assert!(n < (u32::MAX / 2) as usize, "partition of {n} operations");
        let position_by_rank = positions_by_return(history, partition);
        let ops: Vec<_> = position_by_rank
            .iter()
            .map(|&position| &history[partition[position]])
            .collect();
        for op in &ops {
            assert!(
                op.call_us <= op.return_us,
                "operation returns at {} before its call at {}",
                op.return_us,
                op.call_us
            );
        }
        let (next, prev) = entry_list(&ops, &position_by_rank);
        Search {
            model,
            ops,
            position_by_rank,
            next,
            prev,
            head: (2 * n) as Node,
            linearized: Linearized::new(n),
            state: model.init(),
            stack: Vec::new(),
            states_before: Vec::new(),
            cache: Cache::default(),
            recorder,
        }
    }

    /// The loop of spec §4.3 item 4: the verdict and the steps taken.
    fn run(&mut self, budget: u64) -> (Verdict, u64) {
        let mut node = self.next[self.head as usize];
        let mut steps = 0;
        while self.next[self.head as usize] != self.head {
            if steps == budget {
                return (Verdict::Unknown, steps);
            }
            steps += 1;
            debug_assert_ne!(node, self.head, "the scan stops at the first return");
            if node.is_multiple_of(2) {
                node = self.try_linearize(node);
            } else {
                match self.backtrack() {
                    Some(after) => node = after,
                    None => return (Verdict::Illegal, steps),
                }
            }
        }
        (Verdict::Ok, steps)
    }

    /// Linearizes the operation of `call` next if the model allows it and the configuration
    /// it leads to is new; returns the entry to look at next.
    fn try_linearize(&mut self, call: Node) -> Node {
        let rank = call / 2;
        let op = self.ops[rank as usize];
        if let Some(state) = self.model.step(&self.state, &op.input, &op.output) {
            self.linearized.insert(rank);
            if self.cache.insert_if_new(&self.linearized, &state) {
                self.states_before
                    .push(std::mem::replace(&mut self.state, state));
                self.stack.push(rank);
                self.lift(rank);
                return self.next[self.head as usize];
            }
            self.linearized.remove(rank);
        }
        self.next[call as usize]
    }

    /// At a return every candidate before it has been tried: undo the last linearized
    /// operation and try the entry after its call. `None` if there is nothing to undo.
    fn backtrack(&mut self) -> Option<Node> {
        if let Some(recorder) = self.recorder.as_deref_mut() {
            recorder.record(&self.stack);
        }
        let rank = self.stack.pop()?;
        self.state = self
            .states_before
            .pop()
            .expect("one state per stacked rank");
        self.linearized.remove(rank);
        self.unlift(rank);
        Some(self.next[(2 * rank) as usize])
    }

    fn lift(&mut self, rank: u32) {
        self.unlink(2 * rank);
        self.unlink(2 * rank + 1);
    }

    /// Relinks in the reverse order of [`Search::lift`] (dancing links).
    fn unlift(&mut self, rank: u32) {
        self.relink(2 * rank + 1);
        self.relink(2 * rank);
    }

    fn unlink(&mut self, node: Node) {
        let (before, after) = (self.prev[node as usize], self.next[node as usize]);
        self.next[before as usize] = after;
        self.prev[after as usize] = before;
    }

    fn relink(&mut self, node: Node) {
        let (before, after) = (self.prev[node as usize], self.next[node as usize]);
        self.next[before as usize] = node;
        self.prev[after as usize] = node;
    }
}

/// The `(next, prev)` arrays of the circular entry list, in entry order.
fn entry_list<I, O>(
    ops: &[&Operation<I, O>],
    position_by_rank: &[usize],
) -> (Vec<Node>, Vec<Node>) {
    let n = ops.len();
    let mut entries: Vec<(EntryKey, Node)> = Vec::with_capacity(2 * n);
    for (rank, (op, &position)) in ops.iter().zip(position_by_rank).enumerate() {
        entries.push((call_key(op, position), (2 * rank) as Node));
        entries.push((return_key(op, position), (2 * rank + 1) as Node));
    }
    entries.sort_unstable_by_key(|&(key, _)| key); // keys are distinct
    let head = (2 * n) as Node;
    let order: Vec<Node> = std::iter::once(head)
        .chain(entries.iter().map(|&(_, node)| node))
        .collect();
    let mut next = vec![0; 2 * n + 1];
    let mut prev = vec![0; 2 * n + 1];
    for (i, &node) in order.iter().enumerate() {
        let after = order[(i + 1) % order.len()];
        next[node as usize] = after;
        prev[after as usize] = node;
    }
    (next, prev)
}

/// The set of linearized operations, by rank (return order).
///
/// Its canonical key (see [`Linearized::write_key`]) is small: every operation that returned
/// before the earliest unlinearized one must be linearized, so the set is a prefix of ranks
/// plus the few operations concurrent with that earliest one.
struct Linearized {
    words: Vec<u64>,
    /// How many ranks are in the set. Invariant: `count >= prefix`.
    count: usize,
    /// Ranks `0..prefix` are all in the set; rank `prefix` is not.
    prefix: usize,
}

impl Linearized {
    fn new(n: usize) -> Self {
        Linearized {
            words: vec![0; n.div_ceil(64) + 1],
            count: 0,
            prefix: 0,
        }
    }

    fn contains(&self, rank: usize) -> bool {
        self.words[rank / 64] & (1 << (rank % 64)) != 0
    }

    fn insert(&mut self, rank: u32) {
        let rank = rank as usize;
        debug_assert!(!self.contains(rank));
        self.words[rank / 64] |= 1 << (rank % 64);
        self.count += 1;
        if rank == self.prefix {
            while self.contains(self.prefix) {
                self.prefix += 1;
            }
        }
    }

    fn remove(&mut self, rank: u32) {
        let rank = rank as usize;
        debug_assert!(self.contains(rank));
        self.words[rank / 64] &= !(1 << (rank % 64));
        self.count -= 1;
        self.prefix = self.prefix.min(rank);
    }

    /// Writes the set as `[prefix, ranks above the prefix...]`: equal sets, equal keys.
    fn write_key(&self, key: &mut Vec<u32>) {
        key.clear();
        key.push(self.prefix as u32);
        let mut above = self.count - self.prefix;
        let mut word_index = self.prefix / 64;
        // Bits at or below the prefix in its word: the prefix bit is clear, the rest below set.
        let mut word = self.words[word_index] & !(2u64 << (self.prefix % 64)).wrapping_sub(1);
        while above > 0 {
            while word == 0 {
                word_index += 1;
                word = self.words[word_index];
            }
            let bit = word.trailing_zeros() as usize;
            key.push((word_index * 64 + bit) as u32);
            word &= word - 1;
            above -= 1;
        }
    }
}

/// The configurations already explored: (linearized set, state), compared exactly.
///
/// Entries live in flat arrays (one allocation per array, not per entry); entries with the
/// same hash are chained. The hash index is a `BTreeMap` rather than a `HashMap`
/// (clippy.toml), and only membership is ever asked, so hash values cannot reach a verdict or
/// a step count.
struct Cache<S> {
    /// The newest entry of each hash.
    newest_by_hash: BTreeMap<u64, u32>,
    entries: Vec<CacheEntry<S>>,
    /// Every entry's linearized-set key, back to back.
    keys: Vec<u32>,
    /// Scratch for the key being looked up.
    key: Vec<u32>,
}

struct CacheEntry<S> {
    /// Its key is `keys[key_start..key_end]`.
    key_start: usize,
    key_end: usize,
    state: S,
    /// The previous entry with the same hash, if any.
    older: Option<u32>,
}

impl<S> Default for Cache<S> {
    fn default() -> Self {
        Cache {
            newest_by_hash: BTreeMap::new(),
            entries: Vec::new(),
            keys: Vec::new(),
            key: Vec::new(),
        }
    }
}

impl<S: Clone + Eq + Hash> Cache<S> {
    /// Adds the configuration; `false` if it was already there.
    fn insert_if_new(&mut self, linearized: &Linearized, state: &S) -> bool {
        linearized.write_key(&mut self.key);
        let mut hasher = DefaultHasher::new();
        self.key.hash(&mut hasher);
        state.hash(&mut hasher);
        let hash = hasher.finish();
        let newest = self.newest_by_hash.get(&hash).copied();
        let mut candidate = newest;
        while let Some(index) = candidate {
            let entry = &self.entries[index as usize];
            if self.keys[entry.key_start..entry.key_end] == *self.key && entry.state == *state {
                return false;
            }
            candidate = entry.older;
        }
        let index = u32::try_from(self.entries.len()).expect("fewer than 2^32 configurations");
        let key_start = self.keys.len();
        self.keys.extend_from_slice(&self.key);
        self.entries.push(CacheEntry {
            key_start,
            key_end: self.keys.len(),
            state: state.clone(),
            older: newest,
        });
        self.newest_by_hash.insert(hash, index);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(ranks: &[u32], n: usize) -> Vec<u32> {
        let mut set = Linearized::new(n);
        for &rank in ranks {
            set.insert(rank);
        }
        let mut key = Vec::new();
        set.write_key(&mut key);
        key
    }

    #[test]
    fn linearized_key_is_the_prefix_and_the_ranks_above_it() {
        assert_eq!(keys_of(&[], 10), vec![0]);
        assert_eq!(keys_of(&[1, 0, 2], 10), vec![3]);
        assert_eq!(keys_of(&[0, 2, 5], 10), vec![1, 2, 5]);
        assert_eq!(keys_of(&[0, 1, 63, 64, 130], 200), vec![2, 63, 64, 130]);
        let all: Vec<u32> = (0..128).collect();
        assert_eq!(keys_of(&all, 128), vec![128]);
    }

    #[test]
    fn linearized_key_follows_removals() {
        let mut set = Linearized::new(100);
        for rank in [0, 1, 2, 70] {
            set.insert(rank);
        }
        set.remove(1);
        let mut key = Vec::new();
        set.write_key(&mut key);
        assert_eq!(key, vec![1, 2, 70]);
        set.insert(1);
        set.write_key(&mut key);
        assert_eq!(key, vec![3, 70]);
    }
}
