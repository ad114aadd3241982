//! Go's kvraft `test_test.go`: GenericTest and its variants, the speed test, and the four
//! tests with their own script, as `async` functions of a [`KvConfig`].
//!
//! One deliberate difference in failure reporting: a client task's failure (`get wrong
//! value…`) ends the run at once with that message, where Go marks the test failed, lets the
//! main goroutine run on and adds `failure` from the spawner. The first message is the one
//! that matters, and it is the same.

use std::cell::Cell;
use std::rc::Rc;

use kvraft::Clerk;
use labrpc::SimRng;
use linearizability::{DEFAULT_STEPS_PER_PARTITION, KvModel, Verdict};

use super::config::{KvConfig, KvLab, TestClerk};
use crate::exec::JoinHandle;
use crate::failure::TestResult;

/// Go's `electionTimeout`: the tests' pause after a heal or a restart.
pub const ELECTION_TIMEOUT_MS: u64 = 1000;
/// GenericTest's clients run this long per iteration.
pub const CLIENTS_RUN_MS: u64 = 5000;
/// TestSpeed's bound: 3 operations per 100 ms heartbeat interval, in nanoseconds per op.
pub const TIME_PER_OP_NS: u64 = 100_000_000 / 3;

/// GenericTest's arguments (Go's `GenericTest(t, part, nclients, nservers, unreliable, crash,
/// partitions, maxraftstate, randomkeys)`; the servers and network are the case's).
#[derive(Clone, Copy, Debug)]
pub struct Generic {
    /// `"3A"` or `"3B"`.
    pub part: &'static str,
    /// Concurrent clients.
    pub clients: usize,
    /// Whether the network is unreliable (for the title).
    pub unreliable: bool,
    /// Whether every server restarts after each iteration.
    pub crash: bool,
    /// Whether a partitioner runs during each iteration.
    pub partitions: bool,
    /// Whether clients pick random keys (only the linearizability checker judges them).
    pub random_keys: bool,
}

impl Generic {
    /// Go's title: `Test: unreliable net, restarts, partitions, snapshots, random keys, many
    /// clients (3B)`.
    pub fn title(&self, snapshots: bool) -> String {
        let mut title = String::from("Test: ");
        for (on, what) in [
            (self.unreliable, "unreliable net, "),
            (self.crash, "restarts, "),
            (self.partitions, "partitions, "),
            (snapshots, "snapshots, "),
            (self.random_keys, "random keys, "),
        ] {
            if on {
                title.push_str(what);
            }
        }
        title.push_str(if self.clients > 1 {
            "many clients"
        } else {
            "one client"
        });
        title + &format!(" ({})", self.part)
    }
}

/// Go's `GenericTest`: three iterations of clients (and partitions, restarts), each checked
/// by its final reads, then the whole history by the linearizability checker.
pub async fn generic_test<L: KvLab>(cfg: KvConfig<L>, generic: Generic) -> TestResult {
    cfg.begin(&generic.title(cfg.max_raft_state().is_some()));
    let mut ck = cfg.make_client(&cfg.all());
    for iteration in 0..3 {
        iterate(&cfg, &mut ck, generic, iteration).await?;
        check_sizes(&cfg)?;
    }
    check_linearizable(&cfg)?;
    cfg.end()
}

/// One of GenericTest's three iterations.
async fn iterate<L: KvLab>(
    cfg: &KvConfig<L>,
    ck: &mut TestClerk<L>,
    generic: Generic,
    iteration: u64,
) -> TestResult {
    let done_clients = Rc::new(Cell::new(false));
    let done_partitioner = Rc::new(Cell::new(false));
    let clients: Vec<JoinHandle<u64>> = (0..generic.clients)
        .map(|cli| {
            let body = client(cfg.clone(), cli, iteration, generic, done_clients.clone());
            cfg.spawn(body)
        })
        .collect();
    let mut partitioner = None;
    if generic.partitions {
        cfg.sleep_ms(1000).await;
        partitioner = Some(cfg.spawn(partition_loop(cfg.clone(), done_partitioner.clone())));
    }
    cfg.sleep_ms(CLIENTS_RUN_MS).await;
    done_clients.set(true);
    done_partitioner.set(true);
    if let Some(partitioner) = partitioner {
        partitioner.await;
        cfg.connect_all();
        // A client may wait on a minority leader until it learns of a new term.
        cfg.sleep_ms(ELECTION_TIMEOUT_MS).await;
    }
    if generic.crash {
        for i in 0..cfg.n() {
            cfg.shutdown_server(i);
        }
        cfg.sleep_ms(ELECTION_TIMEOUT_MS).await;
        for i in 0..cfg.n() {
            cfg.start_server(i);
        }
        cfg.connect_all();
    }
    for (cli, handle) in clients.into_iter().enumerate() {
        let count = handle.await;
        let value = cfg.get(ck, &cli.to_string(), Some(0)).await;
        if !generic.random_keys {
            check_clnt_appends(cfg, cli, &value, count)?;
        }
    }
    Ok(())
}

/// One GenericTest client: appends, puts (random keys) and gets until told to stop; returns
/// how many writes it made. Its choices come from its own stream.
async fn client<L: KvLab>(
    cfg: KvConfig<L>,
    cli: usize,
    iteration: u64,
    generic: Generic,
    done: Rc<Cell<bool>>,
) -> TestResult<u64> {
    let mut rng = SimRng::new(cfg.seed(), &format!("client/{cli}/iter/{iteration}"));
    let mut ck = cfg.make_client(&cfg.all());
    let (mut count, mut last) = (0u64, String::new());
    if !generic.random_keys {
        cfg.put(&mut ck, &cli.to_string(), "", Some(cli)).await;
    }
    while !done.get() {
        let key = if generic.random_keys {
            rng.below(generic.clients as u64).to_string()
        } else {
            cli.to_string()
        };
        let value = format!("x {cli} {count} y");
        if rng.below(1000) < 500 {
            cfg.append(&mut ck, &key, &value, Some(cli)).await;
            if !generic.random_keys {
                last.push_str(&value);
            }
            count += 1;
        } else if generic.random_keys && rng.below(1000) < 100 {
            cfg.put(&mut ck, &key, &value, Some(cli)).await;
            count += 1;
        } else {
            let got = cfg.get(&mut ck, &key, Some(cli)).await;
            if !generic.random_keys && got != last {
                return Err(cfg.failure(format!(
                    "get wrong value, key {key}, wanted:\n{last}\n, got\n{got}\n"
                )));
            }
        }
    }
    Ok(count)
}

/// Go's `partitioner`: random two-way partitions every 1–1.2 s until told to stop.
async fn partition_loop<L: KvLab>(cfg: KvConfig<L>, done: Rc<Cell<bool>>) -> TestResult {
    while !done.get() {
        let (mut groups, n) = ([Vec::new(), Vec::new()], cfg.n());
        for i in 0..n {
            groups[cfg.rand_below(2) as usize].push(i);
        }
        cfg.partition(&groups[0], &groups[1]);
        let pause_ms = ELECTION_TIMEOUT_MS + cfg.rand_below(200);
        cfg.sleep_ms(pause_ms).await;
    }
    Ok(())
}

/// GenericTest's size checks after an iteration (spec §2.7).
fn check_sizes<L: KvLab>(cfg: &KvConfig<L>) -> TestResult {
    match cfg.max_raft_state() {
        Some(max) => check_log_trimmed(cfg, max),
        None => {
            let size = cfg.snapshot_size();
            if size > 0 {
                return Err(cfg.failure(format!(
                    "snapshot too large ({size}), should not be used when maxraftstate = -1"
                )));
            }
            Ok(())
        }
    }
}

/// `logs were not trimmed` if the largest raft state passed 8 × `maxraftstate`.
fn check_log_trimmed<L: KvLab>(cfg: &KvConfig<L>, max: usize) -> TestResult {
    let size = cfg.log_size();
    if size > 8 * max {
        return Err(cfg.failure(format!("logs were not trimmed ({size} > 8*{max})")));
    }
    Ok(())
}

/// Checks the op log with the porcupine algorithm; on `Illegal`, writes the visualization
/// and fails; on `Unknown` (budget spent), says so and passes, as Go does.
fn check_linearizable<L: KvLab>(cfg: &KvConfig<L>) -> TestResult {
    let history = std::mem::take(&mut cfg.state().history);
    let report = linearizability::check(&KvModel, &history, DEFAULT_STEPS_PER_PARTITION);
    match report.verdict {
        Verdict::Ok => Ok(()),
        Verdict::Unknown => {
            cfg.print(crate::warnings::LINEARIZABILITY_UNKNOWN);
            Ok(())
        }
        Verdict::Illegal => {
            let test = cfg.state().test;
            let seed = cfg.seed();
            match linearizability::visualize::write_for_test(
                &KvModel, &history, &report, test, seed,
            ) {
                Ok(path) => cfg.print(format!(
                    "info: wrote history visualization to {}",
                    path.display()
                )),
                Err(error) => cfg.print(format!(
                    "info: failed to write history visualization: {error}"
                )),
            }
            Err(cfg.failure("history is not linearizable"))
        }
    }
}

/// Go's `checkClntAppends`: each of client `cli`'s `count` appends once, in order. The same
/// verdicts and messages as Go's search for each element in turn, in one pass over `value`
/// (Go's is quadratic: thousands of elements in tens of kilobytes, for every client).
pub fn check_clnt_appends<L: KvLab>(
    cfg: &KvConfig<L>,
    cli: usize,
    value: &str,
    count: u64,
) -> TestResult {
    let found = element_offsets(value, cli, count);
    let mut last = None;
    for (j, offsets) in found.iter().enumerate() {
        let wanted = format!("x {cli} {j} y");
        let Some(&(first, latest)) = offsets.as_ref() else {
            return Err(cfg.failure(format!(
                "{cli} missing element {wanted} in Append result {value}"
            )));
        };
        if first != latest {
            return Err(cfg.failure(format!("duplicate element {wanted} in Append result")));
        }
        if last.is_some_and(|last| first <= last) {
            return Err(cfg.failure(format!("wrong order for element {wanted} in Append result")));
        }
        last = Some(first);
    }
    Ok(())
}

/// For each `j < count`: the first and last offsets of `x <cli> <j> y` in `value`, if any.
/// Every occurrence starts with the prefix `x <cli> ` followed by `j`'s digits and ` y`, so
/// finding each prefix and reading the number after it finds them all.
fn element_offsets(value: &str, cli: usize, count: u64) -> Vec<Option<(usize, usize)>> {
    let mut found = vec![None; usize::try_from(count).expect("a count in memory")];
    let prefix = format!("x {cli} ");
    for (at, _) in value.match_indices(&prefix) {
        let rest = &value[at + prefix.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[digits..].starts_with(" y") {
            continue;
        }
        // `j` as Go's `%v` prints it: no sign, no leading zeros (except `0` itself).
        let text = &rest[..digits];
        if text.len() > 1 && text.starts_with('0') {
            continue;
        }
        let Some(slot) = text.parse::<usize>().ok().and_then(|j| found.get_mut(j)) else {
            continue;
        };
        let (first, _) = slot.get_or_insert((at, at));
        *slot = Some((*first, at));
    }
    found
}

/// Go's `checkConcurrentAppends`: every client's appends once each, in its order.
pub fn check_concurrent_appends<L: KvLab>(
    cfg: &KvConfig<L>,
    value: &str,
    counts: &[u64],
) -> TestResult {
    for (cli, &count) in counts.iter().enumerate() {
        check_clnt_appends(cfg, cli, value, count)?;
    }
    Ok(())
}

/// Go's `GenericTestSpeed`: 1000 appends by one clerk, called directly (no op count, no log),
/// must take at most 33.3 virtual seconds.
pub async fn speed_test<L: KvLab>(cfg: KvConfig<L>, part: &str) -> TestResult {
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin(&format!("Test: ops complete fast enough ({part})"));
    // Waits for a leader and ready servers.
    ck.clerk.get("x").await;
    let start = cfg.now();
    for i in 0..1000 {
        ck.clerk.append("x", &format!("x 0 {i} y")).await;
    }
    let duration_us = cfg.now().micros_since(start);
    let value = ck.clerk.get("x").await;
    check_clnt_appends(&cfg, 0, &value, 1000)?;
    let per_op_ns = duration_us * 1000 / 1000;
    if per_op_ns > TIME_PER_OP_NS {
        return Err(cfg.failure(format!(
            "Operations completed too slowly {}/op > {}/op\n",
            go_duration(per_op_ns),
            go_duration(TIME_PER_OP_NS)
        )));
    }
    cfg.end()
}

/// A duration in Go's `Duration.String()` form for the spans the tests print: `33.333333ms`,
/// `100.000356ms`, `1.5s`, `250µs`.
pub fn go_duration(ns: u64) -> String {
    let (unit, scale) = match ns {
        0 => return "0s".to_owned(),
        n if n < 1_000 => ("ns", 1),
        n if n < 1_000_000 => ("µs", 1_000),
        n if n < 1_000_000_000 => ("ms", 1_000_000),
        _ => ("s", 1_000_000_000),
    };
    let whole = ns / scale;
    let fraction = ns % scale;
    if fraction == 0 {
        return format!("{whole}{unit}");
    }
    let digits = scale.ilog10() as usize;
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}{unit}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::{element_offsets, go_duration};

    /// The one-pass search finds what Go's per-element search finds.
    #[test]
    fn element_offsets_agree_with_a_search_for_each_element() {
        let values = [
            "x 1 0 yx 1 1 yx 1 2 y",
            "x 1 0 yx 1 2 yx 1 1 y",
            "x 1 0 yx 1 0 y",
            "x 1 10 yx 1 1 yx 11 1 yx 1 01 y",
            "",
            "x 1 0 yx 2 1 yx 1 1 yz",
        ];
        for value in values {
            let found = element_offsets(value, 1, 12);
            for (j, offsets) in found.iter().enumerate() {
                let wanted = format!("x 1 {j} y");
                let expected = value.find(&wanted).zip(value.rfind(&wanted));
                assert_eq!(*offsets, expected, "{value:?} element {j}");
            }
        }
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_duration(33_333_333), "33.333333ms");
        assert_eq!(go_duration(100_000_356), "100.000356ms");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(250_000), "250µs");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(4_000_000), "4ms");
    }
}
