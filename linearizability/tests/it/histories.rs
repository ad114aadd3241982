//! Hand-made histories with known verdicts: the checker against porcupine's semantics (spec
//! §4.3), including the concurrent edge cases, and the visualization of an illegal one.

use linearizability::visualize::{explain, html, write_html};
use linearizability::{
    DEFAULT_STEPS_PER_PARTITION, KvInput, KvModel, KvOperation, KvOutput, Model, Operation,
    Verdict, check,
};

fn get(client_id: usize, key: &str, value: &str, call_us: u64, return_us: u64) -> KvOperation {
    Operation {
        client_id,
        input: KvInput::Get { key: key.into() },
        call_us,
        output: KvOutput {
            value: value.into(),
        },
        return_us,
    }
}

fn put(client_id: usize, key: &str, value: &str, call_us: u64, return_us: u64) -> KvOperation {
    Operation {
        client_id,
        input: KvInput::Put {
            key: key.into(),
            value: value.into(),
        },
        call_us,
        output: KvOutput::default(),
        return_us,
    }
}

fn append(client_id: usize, key: &str, value: &str, call_us: u64, return_us: u64) -> KvOperation {
    Operation {
        client_id,
        input: KvInput::Append {
            key: key.into(),
            value: value.into(),
        },
        call_us,
        output: KvOutput::default(),
        return_us,
    }
}

fn verdict(history: &[KvOperation]) -> Verdict {
    check(&KvModel, history, DEFAULT_STEPS_PER_PARTITION).verdict
}

#[test]
fn empty_history_is_linearizable() {
    let report = check(&KvModel, &[], DEFAULT_STEPS_PER_PARTITION);
    assert_eq!(report.verdict, Verdict::Ok);
    assert!(report.partitions.is_empty());
}

#[test]
fn sequential_history_is_linearizable() {
    let history = [
        put(0, "k", "a", 0, 10),
        get(1, "k", "a", 20, 30),
        append(0, "k", "b", 40, 50),
        get(1, "k", "ab", 60, 70),
        get(1, "missing", "", 80, 90),
    ];
    assert_eq!(verdict(&history), Verdict::Ok);
}

#[test]
fn stale_read_after_a_completed_write_is_illegal() {
    let history = [
        put(0, "k", "a", 0, 10),
        put(0, "k", "b", 20, 30),
        get(1, "k", "a", 40, 50),
    ];
    assert_eq!(verdict(&history), Verdict::Illegal);
}

#[test]
fn read_of_a_value_never_written_is_illegal() {
    assert_eq!(verdict(&[get(0, "k", "ghost", 0, 10)]), Verdict::Illegal);
}

#[test]
fn read_concurrent_with_a_write_may_see_either_value() {
    for seen in ["", "a"] {
        let history = [put(0, "k", "a", 0, 100), get(1, "k", seen, 50, 60)];
        assert_eq!(verdict(&history), Verdict::Ok, "saw {seen:?}");
    }
}

#[test]
fn reads_may_not_see_a_concurrent_write_go_back() {
    // Once a read has seen the concurrent write, a later read may not see the old value.
    let history = [
        put(0, "k", "a", 0, 100),
        get(1, "k", "a", 10, 20),
        get(1, "k", "", 30, 40),
    ];
    assert_eq!(verdict(&history), Verdict::Illegal);
}

#[test]
fn overlapping_writes_may_take_effect_in_either_order() {
    for last in ["a", "b"] {
        let history = [
            put(0, "k", "a", 0, 50),
            put(1, "k", "b", 10, 60),
            get(2, "k", last, 70, 80),
        ];
        assert_eq!(verdict(&history), Verdict::Ok, "last {last:?}");
    }
}

#[test]
fn identical_timestamps_make_operations_concurrent() {
    // The put returns at the instant the get is called: they touch, so they are concurrent
    // (a call sorts before a return on ties), and the get may still see the old value.
    let history = [put(0, "k", "a", 0, 10), get(1, "k", "", 10, 20)];
    assert_eq!(verdict(&history), Verdict::Ok);
    // Zero-length operations at one instant: any order among them.
    let history = [
        put(0, "k", "a", 5, 5),
        get(1, "k", "a", 5, 5),
        put(2, "k", "b", 5, 5),
        get(3, "k", "b", 5, 5),
    ];
    assert_eq!(verdict(&history), Verdict::Ok);
}

#[test]
fn one_instant_later_is_not_concurrent() {
    let history = [put(0, "k", "a", 0, 10), get(1, "k", "", 11, 20)];
    assert_eq!(verdict(&history), Verdict::Illegal);
}

#[test]
fn appends_are_ordered_by_what_reads_see() {
    let concurrent = |first_read: &str, second_read: &str| {
        [
            append(0, "k", "x", 0, 100),
            append(1, "k", "y", 0, 100),
            get(2, "k", first_read, 110, 120),
            get(3, "k", second_read, 130, 140),
        ]
    };
    assert_eq!(verdict(&concurrent("xy", "xy")), Verdict::Ok);
    assert_eq!(verdict(&concurrent("yx", "yx")), Verdict::Ok);
    // Two readers seeing the concurrent appends in both orders (spec §5.7's control).
    assert_eq!(verdict(&concurrent("xy", "yx")), Verdict::Illegal);
    // A lost append and a duplicated one.
    assert_eq!(verdict(&concurrent("x", "x")), Verdict::Illegal);
    assert_eq!(verdict(&concurrent("xyx", "xyx")), Verdict::Illegal);
}

#[test]
fn appends_of_one_client_keep_their_order() {
    let history = [
        append(0, "k", "1", 0, 10),
        append(0, "k", "2", 20, 30),
        get(1, "k", "21", 40, 50),
    ];
    assert_eq!(verdict(&history), Verdict::Illegal);
}

#[test]
fn keys_are_checked_apart_and_an_illegal_key_decides() {
    let history = [
        put(0, "a", "1", 0, 10),
        put(1, "b", "2", 0, 10),
        get(2, "a", "1", 20, 30),
        get(2, "b", "1", 40, 50), // "1" was written to a, not b
    ];
    let report = check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
    assert_eq!(report.verdict, Verdict::Illegal);
    let verdicts: Vec<_> = report
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition.label.as_str(),
                p.verdict,
                p.partition.operations.clone(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("key \"a\"", Verdict::Ok, vec![0, 2]),
            ("key \"b\"", Verdict::Illegal, vec![1, 3]),
        ]
    );
}

/// Many concurrent reads and one write: exponential without the cache, since every order of
/// the reads is a new path.
fn many_concurrent_reads(readers: usize) -> Vec<KvOperation> {
    let mut history = vec![put(0, "k", "a", 0, 1000)];
    history
        .extend((0..readers).map(|i| get(i + 1, "k", if i % 2 == 0 { "" } else { "a" }, 1, 999)));
    history.push(get(0, "k", "b", 2000, 2001)); // never written: forces the full search
    history
}

#[test]
fn the_cache_keeps_many_concurrent_reads_tractable() {
    let report = check(
        &KvModel,
        &many_concurrent_reads(16),
        DEFAULT_STEPS_PER_PARTITION,
    );
    assert_eq!(report.verdict, Verdict::Illegal);
    // 2^16 subsets of reads at most, not 16! orders.
    assert!(
        report.max_steps() < 2_000_000,
        "{} steps",
        report.max_steps()
    );
}

#[test]
fn budget_exhausted_is_unknown_and_the_same_every_time() {
    let history = many_concurrent_reads(16);
    let first = check(&KvModel, &history, 1000);
    assert_eq!(first.verdict, Verdict::Unknown);
    assert_eq!(first.max_steps(), 1000);
    assert_eq!(first, check(&KvModel, &history, 1000));
    // Illegal wins over Unknown in another partition.
    let mut both = history.clone();
    both.push(get(5, "other", "ghost", 0, 1));
    assert_eq!(check(&KvModel, &both, 1000).verdict, Verdict::Illegal);
}

#[test]
fn step_counts_do_not_depend_on_other_partitions() {
    let alone = check(
        &KvModel,
        &many_concurrent_reads(6),
        DEFAULT_STEPS_PER_PARTITION,
    );
    let mut with_others = vec![put(9, "a", "1", 0, 1), get(9, "a", "1", 2, 3)];
    with_others.extend(many_concurrent_reads(6));
    let together = check(&KvModel, &with_others, DEFAULT_STEPS_PER_PARTITION);
    assert_eq!(together.partitions[1].steps, alone.partitions[0].steps);
}

#[test]
fn an_operation_returning_before_its_call_is_a_recorder_bug() {
    let outcome = std::panic::catch_unwind(|| {
        check(
            &KvModel,
            &[get(0, "k", "", 10, 5)],
            DEFAULT_STEPS_PER_PARTITION,
        )
    });
    let message = outcome.expect_err("a broken history panics");
    let message = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("returns at 5 before its call at 10"),
        "{message}"
    );
}

/// A generic model beside the KV one: a register of integers, with the default (single)
/// partition.
struct Register;

impl Model for Register {
    type Input = Option<u32>; // Some(write) or None (read)
    type Output = u32; // what a read saw
    type State = u32;

    fn init(&self) -> u32 {
        0
    }

    fn step(&self, state: &u32, input: &Option<u32>, output: &u32) -> Option<u32> {
        match input {
            Some(written) => Some(*written),
            None => (output == state).then_some(*state),
        }
    }

    fn describe_operation(&self, input: &Option<u32>, output: &u32) -> String {
        format!("{input:?} -> {output}")
    }

    fn describe_state(&self, state: &u32) -> String {
        state.to_string()
    }
}

#[test]
fn any_model_checks_with_one_partition_by_default() {
    let op = |input, output, call_us, return_us| Operation {
        client_id: 0,
        input,
        call_us,
        output,
        return_us,
    };
    let ok = [
        op(Some(1), 0, 0, 10),
        op(None, 1, 5, 6),
        op(None, 1, 20, 30),
    ];
    let report = check(&Register, &ok, 100);
    assert_eq!(report.verdict, Verdict::Ok);
    assert_eq!(report.partitions.len(), 1);
    let illegal = [op(Some(1), 0, 0, 10), op(None, 0, 20, 30)];
    assert_eq!(check(&Register, &illegal, 100).verdict, Verdict::Illegal);
}

#[test]
fn an_illegal_history_explains_itself_in_a_self_contained_page() {
    let history = [
        put(0, "k", "a", 0, 10),
        append(1, "k", "</script><b>", 20, 30),
        get(2, "k", "a", 40, 50), // stale: the append completed before
        get(3, "other", "", 0, 5),
    ];
    let report = check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
    assert_eq!(report.verdict, Verdict::Illegal);
    let page = explain(&KvModel, &history, &report, "stale <read> & friends");
    assert_eq!(page.partitions.len(), 1, "only the illegal key is drawn");
    let key = &page.partitions[0];
    assert_eq!(key.label, "key \"k\"");
    let prefix: Vec<usize> = key.prefixes[0].iter().map(|s| s.operation).collect();
    assert_eq!(prefix, vec![0, 1]);
    assert_eq!(key.prefixes[0][1].state_after, "a</script><b>");
    let stuck = key
        .stuck
        .as_ref()
        .expect("an illegal partition is stuck somewhere");
    assert_eq!(stuck.earliest_return, 2);
    assert_eq!(stuck.candidates.len(), 1);
    assert!(!stuck.candidates[0].legal);

    let text = html(&page);
    assert!(
        !text.contains("</script><b>"),
        "history strings cannot close the data block"
    );
    assert!(!text.contains("<read>"));
    assert!(text.contains("\\u003c/script\\u003e\\u003cb\\u003e"));
    for external in ["src=", "href=", "<link", "@import", "url("] {
        assert!(
            !text.contains(external),
            "no external resources: {external}"
        );
    }
    assert!(!text.contains("/*DATA*/"));
    let path = std::env::temp_dir()
        .join("linearizability-test")
        .join("page.html");
    write_html(&page, &path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn an_operation_illegal_from_the_start_has_an_empty_prefix() {
    let history = [get(0, "k", "ghost", 0, 10)];
    let report = check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
    let page = explain(&KvModel, &history, &report, "ghost");
    let key = &page.partitions[0];
    assert!(key.prefixes.is_empty());
    let stuck = key.stuck.as_ref().unwrap();
    assert_eq!((stuck.state.as_str(), stuck.earliest_return), ("", 0));
    assert_eq!(stuck.candidates.len(), 1);
    assert!(!stuck.candidates[0].legal);
}

#[test]
fn equally_long_prefixes_are_all_kept() {
    // Both orders of the concurrent appends linearize; the read fits neither.
    let history = [
        append(0, "k", "x", 0, 100),
        append(1, "k", "y", 0, 100),
        get(2, "k", "xyz", 110, 120),
    ];
    let report = check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
    assert_eq!(report.verdict, Verdict::Illegal);
    let page = explain(&KvModel, &history, &report, "two orders");
    let orders: Vec<Vec<usize>> = page.partitions[0]
        .prefixes
        .iter()
        .map(|prefix| prefix.iter().map(|step| step.operation).collect())
        .collect();
    assert_eq!(orders, vec![vec![0, 1], vec![1, 0]]);
    let states: Vec<&str> = page.partitions[0]
        .prefixes
        .iter()
        .map(|prefix| prefix[1].state_after.as_str())
        .collect();
    assert_eq!(states, ["xy", "yx"]);
}
