//! Which runs a hunt makes: the tests its filters select, its seeds, its shard, minus the
//! runs a resumed result file already holds. Lazy: a plan of millions of runs takes no memory.

use std::fmt;
use std::str::FromStr;

use raft::RaftNode;
use tester::TestCase;

/// `--shard I/N`: this machine runs seed offsets `k` with `k % N == I` (I counts from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (index, count) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not I/N (for example 0/4)"))?;
        let index: u64 = index
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: shard index {index:?} is not a number"))?;
        let count: u64 = count
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: shard count {count:?} is not a number"))?;
        if count == 0 {
            return Err(format!("{s:?}: the shard count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: shards count from 0, so the index must be below {count} (0/{count} … {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The tests `filters` select, in registry order: a filter is a lab part (`2a` … `2d`, `3a`,
/// `3b`, any case, `lab3` for both of Lab 3, or `nemesis`) or a substring of a test name; no
/// filter selects every test of `all` (the Go Lab 2 suites). The nemesis family
/// ([`tester::nemesis`]) and then `extra` (tests the registry does not hold: Lab 3's, which
/// bring their own driver, [`tester::OwnRun`]) join `all` when there are filters, so `nemesis`
/// (or `stale_nemesis`, or `3a`) selects them while a plain hunt stays the Go suites'. A filter
/// that selects nothing is an error naming the tests there are.
pub fn select<R: RaftNode>(
    mut all: Vec<TestCase<R>>,
    extra: Vec<TestCase<R>>,
    filters: &[String],
) -> Result<Vec<TestCase<R>>, String> {
    if filters.is_empty() {
        return Ok(all);
    }
    for case in tester::nemesis::cases::<R>().into_iter().chain(extra) {
        if !all.iter().any(|listed| listed.name == case.name) {
            all.push(case);
        }
    }
    for filter in filters {
        if !all.iter().any(|case| matches(case, filter)) {
            let names: Vec<&str> = all.iter().map(|case| case.name).collect();
            return Err(format!(
                "no test matches {filter:?}: use a part (2a, 2b, 2c, 2d, 3a, 3b, lab3, nemesis) \
                 or part of a name: {}",
                names.join(", ")
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|case| filters.iter().any(|filter| matches(case, filter)))
        .collect())
}

/// Whether `filter` selects `case`: its part, `lab3` for either Lab 3 part, or a substring of
/// its name, in any case.
fn matches<R: RaftNode>(case: &TestCase<R>, filter: &str) -> bool {
    let filter = filter.to_ascii_lowercase();
    let lab3 = matches!(case.part, tester::Part::Lab3A | tester::Part::Lab3B);
    case.part.as_str() == filter || (filter == "lab3" && lab3) || case.name.contains(&filter)
}

/// The seeds of one shard, as [`shard_seeds`] gives them.
pub type Seeds = std::iter::StepBy<std::ops::Range<u64>>;

/// The seeds of one shard: `first..first + count`, every `shard.count`-th from `shard.index`.
pub fn shard_seeds(first: u64, count: u64, shard: Shard) -> Seeds {
    (first.saturating_add(shard.index)..first.saturating_add(count))
        .step_by(usize::try_from(shard.count).unwrap_or(usize::MAX))
}

/// `--seeds N`: at least 1, since a hunt of no seeds would run nothing and look like a
/// success.
pub fn parse_seeds(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("a hunt needs at least 1 seed: 0 seeds would run nothing".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a number of seeds: {e}")),
    }
}

/// Why a hunt of `count` seeds from `first` gives shard `shard` no seed at all, if it does.
/// Such a hunt would run nothing and look like a success, so the hunt refuses it.
pub fn no_seeds(first: u64, count: u64, shard: Shard) -> Option<String> {
    if shard_seeds(first, count, shard).next().is_some() {
        return None;
    }
    Some(if count == 0 {
        "--seeds 0 selects no runs".to_owned()
    } else if shard.index >= count {
        format!(
            "shard {shard} has no seeds: --seeds {count} gives a seed only to shards 0/{n} … \
             {}/{n}; use at most {count} shards, or --seeds {n} or more",
            count - 1,
            n = shard.count
        )
    } else {
        format!("--first-seed {first} leaves no room for {count} seed(s) below 2^64")
    })
}

/// Runs already done (from a resumed result file): one bit per (test, seed offset).
#[derive(Clone, Debug, Default)]
pub struct Done {
    first: u64,
    bits: Vec<Vec<u64>>,
    count: u64,
}

impl Done {
    /// Nothing done yet, for `tests` tests and seeds from `first`.
    pub fn new(tests: usize, first: u64) -> Done {
        Done {
            first,
            bits: vec![Vec::new(); tests],
            count: 0,
        }
    }

    /// Marks a run done; returns false if it already was (or is out of range).
    pub fn insert(&mut self, test: usize, seed: u64) -> bool {
        let Some(offset) = seed.checked_sub(self.first) else {
            return false;
        };
        let Some(words) = self.bits.get_mut(test) else {
            return false;
        };
        let (word, bit) = ((offset / 64) as usize, offset % 64);
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let fresh = words[word] & (1 << bit) == 0;
        words[word] |= 1 << bit;
        self.count += u64::from(fresh);
        fresh
    }

    /// Whether a run is done.
    pub fn contains(&self, test: usize, seed: u64) -> bool {
        let Some(offset) = seed.checked_sub(self.first) else {
            return false;
        };
        let (word, bit) = ((offset / 64) as usize, offset % 64);
        self.bits
            .get(test)
            .and_then(|words| words.get(word))
            .is_some_and(|w| w & (1 << bit) != 0)
    }

    /// How many runs are done.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Every run of a plan, seed by seed (all selected tests of a seed, then the next seed), so
/// that each test's progress advances together: `(test index, seed)`.
pub fn runs<'a>(
    tests: usize,
    seeds: impl Iterator<Item = u64> + 'a,
    done: &'a Done,
) -> impl Iterator<Item = (usize, u64)> + 'a {
    seeds
        .flat_map(move |seed| (0..tests).map(move |test| (test, seed)))
        .filter(|&(test, seed)| !done.contains(test, seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tester::registry::NoRaft;

    #[test]
    fn shards_partition_the_seeds() {
        let all: Vec<u64> = shard_seeds(5, 10, Shard::default()).collect();
        assert_eq!(all, (5..15).collect::<Vec<_>>());
        let mut union: Vec<u64> = (0..3)
            .flat_map(|index| shard_seeds(5, 10, Shard { index, count: 3 }))
            .collect();
        union.sort_unstable();
        assert_eq!(union, all);
        assert_eq!(
            shard_seeds(5, 10, "1/3".parse().unwrap()).collect::<Vec<_>>(),
            vec![6, 9, 12]
        );
    }

    #[test]
    fn shard_syntax_errors_are_clear() {
        assert!("3/3".parse::<Shard>().unwrap_err().contains("count from 0"));
        assert!("1".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }

    #[test]
    fn an_empty_shard_is_named() {
        assert_eq!(no_seeds(1, 2, "1/3".parse().unwrap()), None);
        let empty = no_seeds(1, 2, "2/3".parse().unwrap()).unwrap();
        assert!(empty.starts_with("shard 2/3 has no seeds"), "{empty}");
        assert!(empty.contains("at most 2 shards"), "{empty}");
        assert!(no_seeds(1, 0, Shard::default()).is_some());
        assert!(no_seeds(u64::MAX, 1, Shard::default()).is_some());
    }

    fn names(cases: &[TestCase<NoRaft>]) -> Vec<&'static str> {
        cases.iter().map(|case| case.name).collect()
    }

    fn select_with_stand_ins(filters: &[&str]) -> Result<Vec<TestCase<NoRaft>>, String> {
        let filters: Vec<String> = filters.iter().map(|f| (*f).to_owned()).collect();
        let extra = tester::registry::own_run_stand_ins::<NoRaft>();
        select(tester::registry::all(), extra, &filters)
    }

    #[test]
    fn extra_tests_are_selected_by_part_lab3_or_name_never_by_default() {
        let plain = select_with_stand_ins(&[]).unwrap();
        assert_eq!(names(&plain), tester::registry::NAMES);
        let a = select_with_stand_ins(&["3a"]).unwrap();
        assert_eq!(names(&a), ["own_flaky_3a"]);
        assert!(a[0].own_run.is_some());
        let b = select_with_stand_ins(&["3B"]).unwrap();
        assert_eq!(names(&b), ["own_steady_3b"]);
        let lab3 = select_with_stand_ins(&["lab3"]).unwrap();
        assert_eq!(names(&lab3), ["own_flaky_3a", "own_steady_3b"]);
        let by_name = select_with_stand_ins(&["flaky", "re_election"]).unwrap();
        assert_eq!(names(&by_name), ["re_election_2a", "own_flaky_3a"]);
        let nemesis = select_with_stand_ins(&["nemesis"]).unwrap();
        assert_eq!(names(&nemesis), tester::nemesis::NAMES);
    }

    #[test]
    fn a_filter_that_selects_nothing_names_the_extra_tests_too() {
        let none = select_with_stand_ins(&["4a"])
            .err()
            .expect("4a selects nothing");
        assert!(none.contains("3a, 3b, lab3, nemesis"), "{none}");
        assert!(none.contains("own_flaky_3a, own_steady_3b"), "{none}");
        let filters = ["lab3".to_owned()];
        let no_lab3 = select::<NoRaft>(tester::registry::all(), Vec::new(), &filters);
        let no_lab3 = no_lab3.err().expect("no Lab 3 tests were given");
        assert!(no_lab3.starts_with("no test matches \"lab3\""), "{no_lab3}");
    }

    #[test]
    fn done_runs_are_skipped() {
        let mut done = Done::new(2, 10);
        assert!(done.insert(1, 11));
        assert!(!done.insert(1, 11));
        assert!(!done.insert(0, 3), "before the first seed");
        assert_eq!(done.len(), 1);
        let left: Vec<(usize, u64)> = runs(2, 10..12, &done).collect();
        assert_eq!(left, vec![(0, 10), (1, 10), (0, 11)]);
    }
}
