//! The checker on key/value histories of the sizes the Lab 3 suites produce (spec §3.5, §4.7):
//! checks per second, and the most search steps any partition took (the number the work
//! budget, `DEFAULT_STEPS_PER_PARTITION`, is compared with), and how many checks ran out of
//! budget (`Unknown`). A linearizable history found `Illegal`, or a stale one found `Ok`,
//! stops the benchmark.
//!
//! `cargo bench -p linearizability --bench check -- [SEEDS] [NAME]` (default 20 seeds, every
//! workload; NAME picks the workloads whose name contains it): for each workload,
//! SEEDS histories, each simulated like GenericTest (three iterations of clients looping
//! Append/Get, or Append/Put/Get on random keys, then the final Gets), with linearization
//! points drawn inside each operation, so every history is linearizable; the last rows inject
//! one stale read and also time the explanation (`visualize::explain` and the page).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time

use std::time::Instant;

use linearizability::visualize::{explain, html, visualization_path, write_html};
use linearizability::{
    DEFAULT_STEPS_PER_PARTITION, KvInput, KvModel, KvOperation, KvOutput, Operation, Verdict, check,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A GenericTest-like workload.
struct Workload {
    name: &'static str,
    clients: usize,
    /// `None`: each client its own key (the non-random tests); `Some(n)`: n random keys.
    random_keys: Option<usize>,
    /// Operations per client per iteration (three iterations).
    ops_per_client: usize,
    /// Each operation takes up to this long; one in `SLOW_ONE_IN` takes up to `SLOW_US`
    /// (a request stuck in a minority or retried on an unreliable network).
    latency_us: u64,
}

const SLOW_ONE_IN: u64 = 50;
const SLOW_US: u64 = 500_000;
const ITERATIONS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds = args
        .iter()
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(20u64);
    // `--bench` (cargo's) aside, a word that is not a number picks the workloads named by it.
    let filter = args
        .iter()
        .find(|arg| !arg.starts_with('-') && arg.parse::<u64>().is_err())
        .map_or("", String::as_str);
    println!(
        "{seeds} histories per workload; budget {DEFAULT_STEPS_PER_PARTITION} steps per partition"
    );
    let clock = if thread_cpu_ns().is_some() {
        "CPU time"
    } else {
        "wall time"
    };
    println!("rates in {clock} of the checking thread (the histories are made beforehand)");
    println!(
        "{:<44} {:>7} {:>10} {:>10} {:>12} {:>10} {:>8}",
        "workload", "ops", "checks/s", "ms/check", "max steps", "Mstep/s", "unknown"
    );
    let chosen = || workloads().into_iter().filter(|w| w.name.contains(filter));
    for workload in chosen() {
        row(&workload, seeds, false);
    }
    for workload in chosen().filter(|w| w.name.contains("ours")) {
        row(&workload, seeds, true);
    }
}

fn workloads() -> Vec<Workload> {
    let own = |name, clients, ops_per_client| Workload {
        name,
        clients,
        random_keys: None,
        ops_per_client,
        latency_us: 4_000,
    };
    let random = |name, clients, keys, ops_per_client| Workload {
        name,
        clients,
        random_keys: Some(keys),
        ops_per_client,
        latency_us: 4_000,
    };
    vec![
        own("5 clients, own keys (Go's 3A size)", 5, 70),
        own("20 clients, own keys (Go's 3B size)", 20, 110),
        own("5 clients, own keys (ours: 4 ms/op, 15 s)", 5, 1_250),
        random("15 clients, 15 random keys (Go's size)", 15, 15, 17),
        random("15 clients, 15 random keys (ours)", 15, 15, 400),
        random("5 clients, one key (OneKey3A size)", 5, 1, 10),
        random("5 clients, one key, 100 ops each (stress)", 5, 1, 100),
        random("5 clients, one key, 300 ops each (stress)", 5, 1, 300),
    ]
}

fn row(workload: &Workload, seeds: u64, stale: bool) {
    let histories: Vec<Vec<KvOperation>> = (1..=seeds)
        .map(|seed| {
            let mut history = simulate(workload, seed);
            if stale {
                inject_stale_read(&mut history);
            }
            history
        })
        .collect();
    let name = if stale {
        format!("{} + stale read", workload.name)
    } else {
        workload.name.to_owned()
    };
    let ops: usize = histories.iter().map(Vec::len).sum::<usize>() / histories.len();
    let started = Instant::now();
    let cpu_started_ns = thread_cpu_ns();
    let mut max_steps = 0;
    let mut unknown = 0;
    let mut example = None;
    let mut steps = 0;
    for history in &histories {
        let report = check(&KvModel, history, DEFAULT_STEPS_PER_PARTITION);
        let wrong = if stale { Verdict::Ok } else { Verdict::Illegal };
        assert_ne!(report.verdict, wrong, "{}", workload.name);
        unknown += usize::from(report.verdict == Verdict::Unknown);
        max_steps = max_steps.max(report.max_steps());
        steps += report.partitions.iter().map(|p| p.steps).sum::<u64>();
        if report.verdict == Verdict::Illegal {
            let page = explain(&KvModel, history, &report, workload.name);
            assert!(html(&page).len() > 1000);
            example.get_or_insert(page);
        }
    }
    let wall_secs = started.elapsed().as_secs_f64();
    if let Some(page) = example {
        let path = visualization_path(&format!("bench {name}"), 1);
        write_html(&page, &path).expect("the example page is written");
        println!("    example page: {}", path.display());
    }
    // CPU time when the OS tells it: the machine is shared, and wall time counts waiting.
    let secs = match (cpu_started_ns, thread_cpu_ns()) {
        (Some(before), Some(after)) => (after - before) as f64 / 1e9,
        _ => wall_secs,
    };
    println!(
        "{:<44} {:>7} {:>10.1} {:>10.2} {:>12} {:>10.1} {:>8}",
        name,
        ops,
        seeds as f64 / secs,
        secs * 1000.0 / seeds as f64,
        max_steps,
        steps as f64 / secs / 1e6,
        unknown
    );
}

/// This thread's CPU time so far, in ns (Linux: the first field of its schedstat).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// One history: per client a sequence of operations, each linearized at a point drawn
/// inside it; outputs are what a map gives applying them in linearization-point order.
fn simulate(workload: &Workload, seed: u64) -> Vec<KvOperation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut timed: Vec<(u64, KvOperation)> = Vec::new();
    let mut start_us = 0;
    for _ in 0..ITERATIONS {
        let mut end_us = start_us;
        for client in 0..workload.clients {
            end_us = end_us.max(client_run(workload, client, start_us, &mut rng, &mut timed));
        }
        // The final Gets, one after another, logged as client 0.
        for key in 0..workload.random_keys.unwrap_or(workload.clients) {
            let call_us = end_us + 1;
            end_us = call_us + 100;
            timed.push((
                call_us + 50,
                request(
                    0,
                    KvInput::Get {
                        key: key.to_string(),
                    },
                    call_us,
                    end_us,
                ),
            ));
        }
        start_us = end_us + 1;
    }
    apply_in_order(timed)
}

/// Appends one client's operations of one iteration; returns when its last one returned.
fn client_run(
    workload: &Workload,
    client: usize,
    start_us: u64,
    rng: &mut ChaCha8Rng,
    timed: &mut Vec<(u64, KvOperation)>,
) -> u64 {
    let mut clock_us = start_us;
    let draw = |rng: &mut ChaCha8Rng, below: u64| rng.next_u64() % below.max(1);
    for j in 0..=workload.ops_per_client {
        let key = match workload.random_keys {
            Some(keys) => draw(rng, keys as u64).to_string(),
            None => client.to_string(),
        };
        let value = format!("x {client} {j} y");
        let input = match (j, workload.random_keys, draw(rng, 1000)) {
            (0, None, _) => KvInput::Put {
                key,
                value: String::new(),
            },
            (_, _, 0..500) => KvInput::Append { key, value },
            (_, Some(_), 500..600) => KvInput::Put { key, value },
            _ => KvInput::Get { key },
        };
        let latency = if draw(rng, SLOW_ONE_IN) == 0 {
            SLOW_US
        } else {
            workload.latency_us
        };
        let call_us = clock_us + draw(rng, 200);
        let point_us = call_us + draw(rng, latency);
        let return_us = point_us + draw(rng, latency);
        timed.push((point_us, request(client, input, call_us, return_us)));
        clock_us = return_us + 1;
    }
    clock_us
}

fn request(client_id: usize, input: KvInput, call_us: u64, return_us: u64) -> KvOperation {
    Operation {
        client_id,
        input,
        call_us,
        output: KvOutput::default(),
        return_us,
    }
}

/// Fills in every Get's output by applying all operations in linearization-point order.
fn apply_in_order(mut timed: Vec<(u64, KvOperation)>) -> Vec<KvOperation> {
    let mut order: Vec<usize> = (0..timed.len()).collect();
    order.sort_by_key(|&i| (timed[i].0, i));
    let mut map = std::collections::BTreeMap::<String, String>::new();
    for i in order {
        let op = &mut timed[i].1;
        match &op.input {
            KvInput::Get { key } => op.output.value = map.get(key).cloned().unwrap_or_default(),
            KvInput::Put { key, value } => {
                map.insert(key.clone(), value.clone());
            }
            KvInput::Append { key, value } => map.entry(key.clone()).or_default().push_str(value),
        }
    }
    timed.into_iter().map(|(_, op)| op).collect()
}

/// Makes the last Get that read a non-empty value (a final Get, after every write completed)
/// read the value without its last appended piece: a stale read.
fn inject_stale_read(history: &mut [KvOperation]) {
    let get = history
        .iter_mut()
        .rev()
        .find(|op| matches!(op.input, KvInput::Get { .. }) && !op.output.value.is_empty())
        .expect("a Get that saw a write");
    let last_piece = get
        .output
        .value
        .rfind("x ")
        .expect("values are pieces \"x c j y\"");
    get.output.value.truncate(last_piece);
}
