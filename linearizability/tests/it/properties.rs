//! Properties of the checker on generated key/value histories:
//! - a history recorded from a sequential execution is linearizable, also when each operation
//!   is stretched around its linearization point so that operations overlap or touch;
//! - a stale read injected into such a history is reported `Illegal`;
//! - checking per key gives the verdict of checking the whole history as one partition;
//! - the order of partitions changes no partition's verdict or step count, budget or not;
//! - on small histories the verdict is that of a brute-force search over all orders.

use std::collections::BTreeMap;

use linearizability::{
    DEFAULT_STEPS_PER_PARTITION, KvInput, KvModel, KvOperation, KvOutput, Model, Operation, Value,
    Verdict, check,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// Linearization points are this far apart: an operation reaching less than half of it to
/// each side overlaps no other.
const SPACING_US: u64 = 100;

/// The first linearization point: later than any operation reaches back.
const START_US: u64 = 10 * SPACING_US;

/// One planned operation: what, on which key, by whom, and how far its call and return lie
/// before and after its linearization point.
#[derive(Clone, Debug)]
struct Planned {
    kind: u8,
    key: u8,
    client_id: usize,
    before_us: u64,
    after_us: u64,
}

fn planned(reach_us: u64, max_len: usize) -> impl Strategy<Value = Vec<Planned>> {
    let one = (0..3u8, 0..3u8, 0..4usize, 0..=reach_us, 0..=reach_us).prop_map(
        |(kind, key, client_id, before_us, after_us)| Planned {
            kind,
            key,
            client_id,
            before_us,
            after_us,
        },
    );
    prop::collection::vec(one, 0..max_len)
}

/// The history of executing `plan` in order, operation `i` linearized at
/// `START_US + i * SPACING_US`.
/// Every Get reads what the execution had; `overrides` replaces a Get's output by index.
fn execute(plan: &[Planned], overrides: &BTreeMap<usize, String>) -> Vec<KvOperation> {
    execute_with_values(plan, overrides).0
}

/// [`execute`], and every key's value at the end.
fn execute_with_values(
    plan: &[Planned],
    overrides: &BTreeMap<usize, String>,
) -> (Vec<KvOperation>, BTreeMap<String, String>) {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let history = plan
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let key = format!("k{}", p.key);
            let (input, read) = match p.kind {
                0 => (
                    KvInput::Get { key: key.clone() },
                    map.get(&key).cloned().unwrap_or_default(),
                ),
                1 => {
                    let value = format!("p{i}");
                    map.insert(key.clone(), value.clone());
                    (KvInput::Put { key, value }, String::new())
                }
                _ => {
                    let value = format!("a{i};");
                    map.entry(key.clone()).or_default().push_str(&value);
                    (KvInput::Append { key, value }, String::new())
                }
            };
            let point_us = START_US + i as u64 * SPACING_US;
            Operation {
                client_id: p.client_id,
                input,
                call_us: point_us - p.before_us,
                output: KvOutput {
                    value: overrides.get(&i).cloned().unwrap_or(read),
                },
                return_us: point_us + p.after_us,
            }
        })
        .collect();
    (history, map)
}

fn verdict<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> Verdict {
    check(model, history, DEFAULT_STEPS_PER_PARTITION).verdict
}

/// The key/value model without partitions: the state is every key's value.
struct WholeKv;

impl Model for WholeKv {
    type Input = KvInput;
    type Output = KvOutput;
    /// Keys whose value is `""` are absent, so equal maps mean equal states.
    type State = BTreeMap<String, Value>;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(&self, state: &Self::State, input: &KvInput, output: &KvOutput) -> Option<Self::State> {
        let key = input.key();
        let value = state.get(key).cloned().unwrap_or_default();
        let after = KvModel.step(&value, input, output)?;
        let mut next = state.clone();
        if after.is_empty() {
            next.remove(key);
        } else {
            next.insert(key.to_owned(), after);
        }
        Some(next)
    }

    fn describe_operation(&self, input: &KvInput, output: &KvOutput) -> String {
        KvModel.describe_operation(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// The key/value model with its partitions in reverse key order.
struct ReversedKv;

impl Model for ReversedKv {
    type Input = KvInput;
    type Output = KvOutput;
    type State = Value;

    fn init(&self) -> Value {
        KvModel.init()
    }

    fn step(&self, state: &Value, input: &KvInput, output: &KvOutput) -> Option<Value> {
        KvModel.step(state, input, output)
    }

    fn partition(&self, history: &[KvOperation]) -> Vec<linearizability::Partition> {
        let mut partitions = KvModel.partition(history);
        partitions.reverse();
        partitions
    }

    fn describe_operation(&self, input: &KvInput, output: &KvOutput) -> String {
        KvModel.describe_operation(input, output)
    }

    fn describe_state(&self, state: &Value) -> String {
        KvModel.describe_state(state)
    }
}

/// Whether some order of `history` consistent with real time (an operation that returned
/// strictly before another was called goes first) passes `model` step by step.
fn brute_force<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> bool {
    fn extend<M: Model>(
        model: &M,
        history: &[Operation<M::Input, M::Output>],
        done: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        if done.iter().all(|&d| d) {
            return true;
        }
        (0..history.len()).any(|i| {
            let blocked = (0..history.len())
                .any(|j| !done[j] && j != i && history[j].return_us < history[i].call_us);
            if done[i] || blocked {
                return false;
            }
            let Some(next) = model.step(state, &history[i].input, &history[i].output) else {
                return false;
            };
            done[i] = true;
            let found = extend(model, history, done, &next);
            done[i] = false;
            found
        })
    }
    extend(
        model,
        history,
        &mut vec![false; history.len()],
        &model.init(),
    )
}

/// A Get's output chosen among values a small history can produce, or not.
fn small_output(i: usize, j: usize) -> String {
    match i % 4 {
        0 => String::new(),
        1 => format!("p{j}"),
        2 => format!("a{j};"),
        _ => format!("a{j};a{};", (j + 1) % 6),
    }
}

fn small_history() -> impl Strategy<Value = Vec<KvOperation>> {
    let one = (0..3u8, 0..2u8, 0..20u64, 0..10u64, 0..4usize, 0..6usize);
    prop::collection::vec(one, 0..7).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(i, (kind, key, call_us, duration_us, shape, j))| {
                let key = format!("k{key}");
                let input = match kind {
                    0 => KvInput::Get { key },
                    1 => KvInput::Put {
                        key,
                        value: format!("p{i}"),
                    },
                    _ => KvInput::Append {
                        key,
                        value: format!("a{i};"),
                    },
                };
                Operation {
                    client_id: i,
                    input,
                    call_us,
                    output: KvOutput {
                        value: small_output(shape, j),
                    },
                    return_us: call_us + duration_us,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn sequential_histories_are_linearizable(plan in planned(SPACING_US / 2, 60)) {
        // Reach up to half the spacing: neighbours may touch (same instant) but not overlap.
        let history = execute(&plan, &BTreeMap::new());
        prop_assert_eq!(verdict(&KvModel, &history), Verdict::Ok);
    }

    #[test]
    fn stretched_sequential_histories_are_linearizable(plan in planned(4 * SPACING_US, 60)) {
        let history = execute(&plan, &BTreeMap::new());
        prop_assert_eq!(verdict(&KvModel, &history), Verdict::Ok);
    }

    #[test]
    fn an_injected_stale_read_is_illegal(
        plan in planned(SPACING_US / 2 - 1, 40),
        at in any::<Index>(),
        key in 0..3u8,
        gap in 0..3usize,
    ) {
        // A Put of a fresh value, then (after `gap` operations on other keys) a Get that
        // reads the value from before the Put: no overlap anywhere, so it is stale.
        let mut plan = plan;
        let at = at.index(plan.len() + 1);
        let write = Planned { kind: 1, key, client_id: 0, before_us: 0, after_us: 0 };
        let read = Planned { kind: 0, ..write.clone() };
        let others: Vec<Planned> =
            (0..gap).map(|_| Planned { key: (key + 1) % 3, ..write.clone() }).collect();
        let tail: Vec<Planned> = plan.split_off(at);
        plan.push(write);
        plan.extend(others);
        plan.push(read);
        plan.extend(tail);
        let (_, values_before) = execute_with_values(&plan[..at], &BTreeMap::new());
        let before_put = values_before.get(&format!("k{key}")).cloned().unwrap_or_default();
        let stale = BTreeMap::from([(at + 1 + gap, before_put)]);
        let history = execute(&plan, &stale);
        prop_assert_eq!(verdict(&KvModel, &history), Verdict::Illegal);
    }

    #[test]
    fn partitioning_by_key_does_not_change_the_verdict(
        plan in planned(3 * SPACING_US, 30),
        corrupt in prop::option::of((any::<Index>(), any::<Index>())),
    ) {
        let honest = execute(&plan, &BTreeMap::new());
        // Optionally make one Get read what another operation wrote or read.
        let mut overrides = BTreeMap::new();
        if let Some((get, source)) = corrupt {
            let gets: Vec<usize> =
                (0..plan.len()).filter(|&i| plan[i].kind == 0).collect();
            if !gets.is_empty() {
                let source = &honest[source.index(honest.len())];
                let value = match &source.input {
                    KvInput::Get { .. } => source.output.value.clone(),
                    KvInput::Put { value, .. } | KvInput::Append { value, .. } => value.clone(),
                };
                overrides.insert(gets[get.index(gets.len())], value);
            }
        }
        let history = execute(&plan, &overrides);
        let by_key = verdict(&KvModel, &history);
        prop_assert_ne!(by_key, Verdict::Unknown);
        prop_assert_eq!(by_key, verdict(&WholeKv, &history));
    }

    #[test]
    fn partition_order_changes_no_verdict_and_no_step_count(
        plan in planned(3 * SPACING_US, 30),
        budget in 1..200u64,
    ) {
        // A small budget, so that some partitions run out: Unknown must not depend on order.
        let history = execute(&plan, &BTreeMap::new());
        let forward = check(&KvModel, &history, budget);
        let mut backward = check(&ReversedKv, &history, budget);
        backward.partitions.reverse();
        prop_assert_eq!(forward, backward);
    }

    #[test]
    fn small_histories_agree_with_brute_force(history in small_history()) {
        let expected = if brute_force(&WholeKv, &history) { Verdict::Ok } else { Verdict::Illegal };
        prop_assert_eq!(verdict(&KvModel, &history), expected);
        prop_assert_eq!(verdict(&WholeKv, &history), expected);
    }
}

/// The brute-force property has power only if both verdicts come up often.
#[test]
fn small_histories_are_often_linearizable_and_often_not() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = small_history();
    let (mut ok, mut illegal) = (0, 0);
    for _ in 0..500 {
        let history = strategy.new_tree(&mut runner).unwrap().current();
        match verdict(&KvModel, &history) {
            Verdict::Ok => ok += 1,
            _ => illegal += 1,
        }
    }
    assert!(
        ok >= 100 && illegal >= 100,
        "{ok} linearizable, {illegal} not"
    );
}
