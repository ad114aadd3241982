//! The determinism self-check: run a case twice on one seed and compare, event by event.
//!
//! One seed must give one run, bit for bit. An implementation that iterates a `HashMap`,
//! reads the wall clock, keeps state in a `static` across runs or uses unseeded randomness
//! breaks that, and then a failing seed cannot be replayed. [`run_twice`] records every event
//! of the first run (time, a compact copy without payloads, and a hash of the payloads),
//! compares the second run with it as it happens, and on a mismatch names the first event
//! that differs, with both descriptions.
//!
//! `LAB_CHECK_DETERMINISM=1` turns this on for `cargo test` ([`crate::cargo_test`]) and for
//! `scripts/hunt`; see [`enabled`].

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use labrpc::{EventRecord, Fingerprint, Observer, SimTime};
use raft::RaftNode;

use crate::registry::TestCase;
use crate::run::{RunOptions, RunReport, run_case};

/// The environment variable that turns the check on for every seed.
pub const ENV: &str = "LAB_CHECK_DETERMINISM";

/// Whether `LAB_CHECK_DETERMINISM` is set to `1` (or `true`/`yes`).
pub fn enabled() -> bool {
    matches!(
        std::env::var(ENV).as_deref().map(str::trim),
        Ok("1" | "true" | "yes")
    )
}

/// Two runs of one seed that differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Index (from 0) of the first event that differs; `None` if every event agreed but the
    /// outcomes differ (the tester itself is nondeterministic).
    pub index: Option<u64>,
    /// Virtual time of that event in the first and the second run (`None`: that run had
    /// already ended).
    pub at: (Option<SimTime>, Option<SimTime>),
    /// The event in the first run and in the second, described; `None`: the run had ended.
    pub first: Option<String>,
    /// See `first`.
    pub second: Option<String>,
    /// Fingerprints of the two runs.
    pub fingerprints: (u64, u64),
    /// Events of the two runs.
    pub events: (u64, u64),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "(run had ended)".into());
        write!(
            f,
            "two runs of one seed differ (fingerprints {:016x} vs {:016x}, {} vs {} events)",
            self.fingerprints.0, self.fingerprints.1, self.events.0, self.events.1
        )?;
        match self.index {
            Some(index) => write!(
                f,
                "; first differing event #{index}:\n  first run:  {}\n  second run: {}",
                show(&self.first),
                show(&self.second)
            ),
            None => write!(
                f,
                "; every event agreed but the outcomes differ:\n  first run:  {}\n  second run: {}",
                show(&self.first),
                show(&self.second)
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

/// Runs `case` on `seed` twice and compares the two runs event by event. Returns the first
/// run's report, and the first difference if any. `options` apply to the first run only (its
/// observer sees the first run; `echo` prints the first run's Go lines), except
/// `safety_checks`, which applies to both.
pub fn run_twice<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    options: RunOptions,
) -> (RunReport, Option<Mismatch>) {
    let recorded = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        events: Rc::clone(&recorded),
    };
    let observer: Box<dyn Observer> = match options.observer {
        Some(theirs) => Box::new(Tee(Box::new(recorder), theirs)),
        None => Box::new(recorder),
    };
    let first = run_case(
        case,
        seed,
        RunOptions {
            echo: options.echo,
            observer: Some(observer),
            safety_checks: options.safety_checks,
            latency: options.latency,
            views: options.views,
        },
    );
    let recorded = std::mem::take(&mut *recorded.borrow_mut());
    let comparison = Rc::new(RefCell::new(Comparison {
        first: recorded,
        next: 0,
        mismatch: None,
    }));
    let second = run_case(
        case,
        seed,
        RunOptions {
            echo: false,
            observer: Some(Box::new(Comparer(Rc::clone(&comparison)))),
            safety_checks: options.safety_checks,
            latency: options.latency,
            views: None,
        },
    );
    let comparison = std::mem::replace(
        &mut *comparison.borrow_mut(),
        Comparison {
            first: Vec::new(),
            next: 0,
            mismatch: None,
        },
    );
    let fingerprints = (first.fingerprint, second.fingerprint);
    let events = (first.events, second.events);
    let mismatch = if let Some((index, at, first_desc, second_desc)) = comparison.mismatch {
        Some((Some(index), at, first_desc, Some(second_desc)))
    } else if comparison.next < comparison.first.len() {
        // The second run ended early: the first run's next event is the first difference.
        let (at, line, _) = &comparison.first[comparison.next];
        Some((
            Some(comparison.next as u64),
            (Some(*at), None),
            Some(line.clone()),
            None,
        ))
    } else if first.fingerprint != second.fingerprint
        || format!("{:?}", first.result) != format!("{:?}", second.result)
        || first.lines != second.lines
    {
        Some((
            None,
            (None, None),
            Some(format!("{:?}", first.result)),
            Some(format!("{:?}", second.result)),
        ))
    } else {
        None
    };
    let mismatch = mismatch.map(|(index, at, first, second)| Mismatch {
        index,
        at,
        first,
        second,
        fingerprints,
        events,
    });
    (first, mismatch)
}

/// What is kept of each event of the first run: its time, its trace line (payloads shown
/// by size only, as `trace::describe` prints them) and its hash (payloads included).
type Recorded = (SimTime, String, u64);

/// The hash of one event, payloads included.
fn event_hash(at: SimTime, event: &EventRecord<'_>) -> u64 {
    let mut hash = Fingerprint::default();
    hash.record(at, event);
    hash.value()
}

/// Records the first run: `(time, compact event, hash)` per event.
struct Recorder {
    events: Rc<RefCell<Vec<Recorded>>>,
}

impl Observer for Recorder {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        self.events.borrow_mut().push((
            at,
            crate::trace::describe(at, event),
            event_hash(at, event),
        ));
    }
}

/// First difference: index, times, first run's description, second run's description.
type FirstDifference = (
    u64,
    (Option<SimTime>, Option<SimTime>),
    Option<String>,
    String,
);

struct Comparison {
    first: Vec<Recorded>,
    next: usize,
    mismatch: Option<FirstDifference>,
}

/// Compares the second run with the first as it happens.
struct Comparer(Rc<RefCell<Comparison>>);

impl Observer for Comparer {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        let mut comparison = self.0.borrow_mut();
        if comparison.mismatch.is_some() {
            return;
        }
        let index = comparison.next;
        comparison.next += 1;
        let hash = event_hash(at, event);
        let expected = comparison.first.get(index);
        if expected.is_some_and(|(_, _, first_hash)| *first_hash == hash) {
            return;
        }
        let second = describe_with_hash(crate::trace::describe(at, event), hash);
        let (first_at, first) = match expected {
            Some((first_at, line, first_hash)) => (
                Some(*first_at),
                Some(describe_with_hash(line.clone(), *first_hash)),
            ),
            None => (None, None),
        };
        comparison.mismatch = Some((index as u64, (first_at, Some(at)), first, second));
    }
}

fn describe_with_hash(line: String, hash: u64) -> String {
    format!("{} [event hash {hash:016x}]", line.trim_start())
}

/// Two observers, both seeing every event.
struct Tee(Box<dyn Observer>, Box<dyn Observer>);

impl Observer for Tee {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        self.0.on_event(at, event);
        self.1.on_event(at, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labrpc::{CallId, Caller, EndId};

    fn send(args: &[u8]) -> EventRecord<'_> {
        EventRecord::Send {
            call: CallId(3),
            caller: Caller::Node {
                server: 1,
                incarnation: 2,
            },
            end: EndId(4),
            args,
        }
    }

    #[test]
    fn the_first_differing_event_is_named_with_both_descriptions() {
        let at = SimTime::from_millis(250);
        let mut recorder = Recorder {
            events: Rc::default(),
        };
        recorder.on_event(at, &EventRecord::Wake { token: 1 });
        recorder.on_event(at, &send(&[1, 2]));
        let first = recorder.events.borrow().clone();
        let comparison = Rc::new(RefCell::new(Comparison {
            first,
            next: 0,
            mismatch: None,
        }));
        let mut comparer = Comparer(Rc::clone(&comparison));
        comparer.on_event(at, &EventRecord::Wake { token: 1 });
        comparer.on_event(at, &send(&[1, 3]));
        let (index, times, first, second) = comparison.borrow().mismatch.clone().unwrap();
        assert_eq!(index, 1);
        assert_eq!(times, (Some(at), Some(at)));
        assert!(
            first
                .unwrap()
                .starts_with("0.250000s send     call=3 S1#2 end=4 2B")
        );
        assert!(second.starts_with("0.250000s send     call=3 S1#2 end=4 2B"));
    }
}
