//! Running a schedule: the safety phase (faults, clients, the safety checks after every
//! input as in every test), then healing and the liveness phase.

use std::cell::RefCell;
use std::rc::Rc;

use labrpc::{Duplicates, SimRng};
use raft::RaftNode;

use super::schedule::{Fault, Who};
use crate::command::{int_command, show_command};
use crate::config::Config;
use crate::failure::{Failure, FailureKind, TestResult};

/// After healing, a leader must be found within this bound: the longest time to a leader
/// the reference showed after a heal ([`LEADER_MEASURED_MAX_MS`]) with a margin of at least
/// 2× (2.1×), well inside Go's `checkOneLeader` horizon (ten polls of 450–550 ms, about 5 s).
pub const LEADER_BOUND_MS: u64 = 2_000;
/// The longest time from healing to a leader the reference showed, over 20,000 heals (2,500
/// seeds of every family test; `cargo bench -p raft-reference --bench nemesis -- 2500`:
/// median 0 ms, p90 400 ms, p99 580 ms, p99.9 810 ms; README, "Nemesis").
pub const LEADER_MEASURED_MAX_MS: u64 = 950;
/// After the leader is found, a fresh command must be applied by every node within this
/// bound: Go's `one()` allows 10 s.
pub const COMMAND_BOUND_MS: u64 = 10_000;
/// How often the liveness phase looks.
const POLL_MS: u64 = 10;
/// Client commands are ints from here; the liveness phase's from [`FRESH_COMMAND_BASE`].
const CLIENT_COMMAND_BASE: u64 = 1_000_000;
const FRESH_COMMAND_BASE: u64 = 7_000_000;

/// What the campaign changed, shared by its tasks.
struct Nemesis {
    n: usize,
    /// `links[i][j]`: whether `i` can reach `j` (the latest partition).
    links: Vec<Vec<bool>>,
    /// Bumped by every partition, so an old partition's end does not end a newer one.
    partition: u64,
    /// The same for the network modes: unreliable, long reordering, duplicates.
    modes: [u64; 3],
    /// Nodes the campaign crashed and has not restarted.
    down: Vec<bool>,
    /// Everything healed: faults still pending do nothing.
    healed: bool,
    clients: SimRng,
    next_command: u64,
}

type Shared = Rc<RefCell<Nemesis>>;

/// The body of every nemesis test: runs the config's schedule.
pub async fn campaign<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let schedule = cfg
        .state()
        .schedule
        .clone()
        .expect("a nemesis test runs with a schedule");
    let n = schedule.servers;
    cfg.begin("Test (nemesis): randomized faults, then healing");
    let shown = schedule.to_string();
    let summary = shown.lines().next().unwrap_or_default();
    cfg.print(format!(
        "  schedule: {summary} (the whole schedule prints on a failure)"
    ));
    let seed = cfg.state().seed;
    let shared = Rc::new(RefCell::new(Nemesis {
        n,
        links: vec![vec![true; n]; n],
        partition: 0,
        modes: [0; 3],
        down: vec![false; n],
        healed: false,
        clients: SimRng::new(seed, "nemesis/clients"),
        next_command: CLIENT_COMMAND_BASE,
    }));
    if schedule.client_gap_ms > 0 {
        cfg.spawn(client(
            cfg.clone(),
            Rc::clone(&shared),
            schedule.client_gap_ms,
        ));
    }
    for step in &schedule.steps {
        sleep_until(&cfg, step.at_ms).await;
        apply(&cfg, &shared, &step.fault)?;
    }
    sleep_until(&cfg, schedule.heal_ms).await;
    heal(&cfg, &shared)?;
    liveness(&cfg, &shared).await?;
    cfg.end()
}

async fn sleep_until<R: RaftNode>(cfg: &Config<R>, at_ms: u64) {
    let now_ms = cfg.now().as_millis();
    if at_ms > now_ms {
        cfg.sleep_ms(at_ms - now_ms).await;
    }
}

/// A client: submits a fresh command every ~`gap_ms` to the node it believes leads, and
/// moves on to the next node when that one refuses. Stops at healing.
async fn client<R: RaftNode>(cfg: Config<R>, shared: Shared, gap_ms: u64) -> TestResult {
    let mut believed = 0;
    loop {
        let gap = 1 + shared.borrow_mut().clients.below(2 * gap_ms);
        cfg.sleep_ms(gap).await;
        let command = {
            let mut nemesis = shared.borrow_mut();
            if nemesis.healed {
                return Ok(());
            }
            nemesis.next_command += 1;
            int_command(nemesis.next_command)
        };
        if cfg.start(believed, command).is_none() {
            believed = (believed + 1) % cfg.n();
        }
    }
}

/// The node `who` names now: a fixed one, or the leader of the highest term, if any.
fn resolve<R: RaftNode>(cfg: &Config<R>, who: Who) -> Option<usize> {
    match who {
        Who::Node(i) => Some(i),
        Who::Leader => leader(cfg).ok(),
    }
}

/// The single node that leads in the highest term any running node holds, or why there is
/// none.
fn leader<R: RaftNode>(cfg: &Config<R>) -> Result<usize, String> {
    let states: Vec<(usize, u64, bool)> = (0..cfg.n())
        .filter_map(|i| cfg.get_state(i).map(|(term, leads)| (i, term, leads)))
        .collect();
    let Some(top) = states.iter().map(|&(_, term, _)| term).max() else {
        return Err("no node is running".to_owned());
    };
    let leaders: Vec<usize> = states
        .iter()
        .filter(|&&(_, term, leads)| leads && term == top)
        .map(|&(i, ..)| i)
        .collect();
    match leaders.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no node leads term {top}, the highest")),
        many => Err(format!("{} nodes lead term {top}", many.len())),
    }
}

/// Runs one fault now.
fn apply<R: RaftNode>(cfg: &Config<R>, shared: &Shared, fault: &Fault) -> TestResult {
    log::info!(target: "tester", "nemesis: {fault}");
    let n = shared.borrow().n;
    match fault {
        Fault::Split { side, hold_ms } => {
            let links = matrix(n, |i, j| side.contains(&i) == side.contains(&j));
            partition(cfg, shared, links, *hold_ms);
        }
        Fault::Isolate { who, hold_ms } => {
            if let Some(alone) = resolve(cfg, *who) {
                let links = matrix(n, |i, j| (i == alone) == (j == alone));
                partition(cfg, shared, links, *hold_ms);
            }
        }
        Fault::Bridge {
            bridge,
            left,
            hold_ms,
        } => {
            let links = matrix(n, |i, j| {
                i == *bridge || j == *bridge || left.contains(&i) == left.contains(&j)
            });
            partition(cfg, shared, links, *hold_ms);
        }
        Fault::Star {
            center,
            leaves,
            hold_ms,
        } => {
            let links = matrix(n, |i, j| i == *center && leaves.contains(&j));
            partition(cfg, shared, links, *hold_ms);
        }
        Fault::OneWay { from, to, hold_ms } => {
            let links = matrix(n, |i, j| !(i == *from && j == *to));
            partition(cfg, shared, links, *hold_ms);
        }
        Fault::Reconnect => {
            let mut nemesis = shared.borrow_mut();
            nemesis.partition += 1;
            nemesis.links = matrix(n, |_, _| true);
            drop(nemesis);
            apply_links(cfg, shared);
        }
        Fault::Crash { who, down_ms } => {
            if let Some(i) = resolve(cfg, *who) {
                crash(cfg, shared, i, *down_ms);
            }
        }
        Fault::CrashAfter { on, down_ms } => crash_after(cfg, shared, *on, *down_ms),
        Fault::CrashAll { down_ms } => {
            for i in 0..n {
                crash(cfg, shared, i, 0);
            }
            restart_later(cfg, shared, (0..n).collect(), *down_ms);
        }
        Fault::Restart { who } => {
            if let Some(i) = resolve(cfg, *who) {
                restart(cfg, shared, i)?;
            }
        }
        Fault::Unreliable { hold_ms } => mode(cfg, shared, 0, *hold_ms),
        Fault::LongReordering { hold_ms } => mode(cfg, shared, 1, *hold_ms),
        Fault::Duplicates {
            per_mille,
            max_delay_ms,
            hold_ms,
        } => {
            cfg.set_duplicates(Duplicates {
                per_mille: *per_mille,
                max_delay_ms: *max_delay_ms,
            });
            mode(cfg, shared, 2, *hold_ms);
        }
        Fault::Snapshot { who } => {
            if let Some(i) = resolve(cfg, *who) {
                cfg.snapshot_now(i);
            }
        }
        Fault::Submit { who, count } => {
            if let Some(i) = resolve(cfg, *who) {
                for _ in 0..*count {
                    let command = {
                        let mut nemesis = shared.borrow_mut();
                        nemesis.next_command += 1;
                        int_command(nemesis.next_command)
                    };
                    cfg.start(i, command);
                }
            }
        }
    }
    Ok(())
}

fn matrix(n: usize, link: impl Fn(usize, usize) -> bool) -> Vec<Vec<bool>> {
    (0..n)
        .map(|i| (0..n).map(|j| link(i, j)).collect())
        .collect()
}

/// Sets every link of running nodes to the campaign's matrix.
fn apply_links<R: RaftNode>(cfg: &Config<R>, shared: &Shared) {
    let nemesis = shared.borrow();
    for i in 0..nemesis.n {
        for j in 0..nemesis.n {
            if i != j && cfg.is_connected(i) && cfg.is_connected(j) {
                cfg.set_link(i, j, nemesis.links[i][j]);
            }
        }
    }
}

/// Installs a partition, and ends it after `hold_ms` unless another replaced it first.
fn partition<R: RaftNode>(cfg: &Config<R>, shared: &Shared, links: Vec<Vec<bool>>, hold_ms: u64) {
    let generation = {
        let mut nemesis = shared.borrow_mut();
        nemesis.partition += 1;
        nemesis.links = links;
        nemesis.partition
    };
    apply_links(cfg, shared);
    if hold_ms == 0 {
        return;
    }
    let (cfg2, shared2) = (cfg.clone(), Rc::clone(shared));
    cfg.spawn(async move {
        cfg2.sleep_ms(hold_ms).await;
        let mut nemesis = shared2.borrow_mut();
        if nemesis.partition == generation && !nemesis.healed {
            log::info!(target: "tester", "nemesis: the partition ends");
            let n = nemesis.n;
            nemesis.links = matrix(n, |_, _| true);
            drop(nemesis);
            apply_links(&cfg2, &shared2);
        }
        Ok(())
    });
}

/// Turns network mode `which` on (0: unreliable, 1: long reordering, 2: duplicates, set by
/// the caller) and off after `hold_ms` unless a later step renewed it.
fn mode<R: RaftNode>(cfg: &Config<R>, shared: &Shared, which: usize, hold_ms: u64) {
    let generation = {
        let mut nemesis = shared.borrow_mut();
        nemesis.modes[which] += 1;
        nemesis.modes[which]
    };
    set_mode(cfg, which, true);
    let (cfg2, shared2) = (cfg.clone(), Rc::clone(shared));
    cfg.spawn(async move {
        cfg2.sleep_ms(hold_ms).await;
        let nemesis = shared2.borrow();
        if nemesis.modes[which] == generation && !nemesis.healed {
            drop(nemesis);
            set_mode(&cfg2, which, false);
        }
        Ok(())
    });
}

fn set_mode<R: RaftNode>(cfg: &Config<R>, which: usize, on: bool) {
    match which {
        0 => cfg.set_unreliable(on),
        1 => cfg.set_long_reordering(on),
        _ if !on => cfg.set_duplicates(Duplicates::default()),
        _ => {}
    }
}

/// Crashes `i` (if running), and restarts it after `down_ms` (0: at healing).
fn crash<R: RaftNode>(cfg: &Config<R>, shared: &Shared, i: usize, down_ms: u64) {
    if !cfg.is_alive(i) {
        return;
    }
    cfg.crash1(i);
    shared.borrow_mut().down[i] = true;
    restart_later(cfg, shared, vec![i], down_ms);
}

/// Arms a crash right after the next persist (or reply) of any node; the node it hits
/// restarts `down_ms` later.
fn crash_after<R: RaftNode>(cfg: &Config<R>, shared: &Shared, on: super::CrashOn, down_ms: u64) {
    cfg.state().crash_trigger = Some(on);
    let (cfg2, shared2) = (cfg.clone(), Rc::clone(shared));
    cfg.spawn(async move {
        loop {
            if shared2.borrow().healed {
                return Ok(());
            }
            let hit = cfg2.state().triggered.take();
            if let Some(i) = hit {
                shared2.borrow_mut().down[i] = true;
                if down_ms > 0 {
                    cfg2.sleep_ms(down_ms).await;
                    if !shared2.borrow().healed && shared2.borrow().down[i] {
                        restart(&cfg2, &shared2, i)?;
                    }
                }
                return Ok(());
            }
            cfg2.sleep_ms(POLL_MS).await;
        }
    });
}

fn restart_later<R: RaftNode>(cfg: &Config<R>, shared: &Shared, nodes: Vec<usize>, down_ms: u64) {
    if down_ms == 0 {
        return;
    }
    let (cfg2, shared2) = (cfg.clone(), Rc::clone(shared));
    cfg.spawn(async move {
        cfg2.sleep_ms(down_ms).await;
        for i in nodes {
            if !shared2.borrow().healed && shared2.borrow().down[i] {
                restart(&cfg2, &shared2, i)?;
            }
        }
        Ok(())
    });
}

/// Restarts `i` from its persister and connects it as the current partition allows.
fn restart<R: RaftNode>(cfg: &Config<R>, shared: &Shared, i: usize) -> TestResult {
    if cfg.is_alive(i) {
        return Ok(());
    }
    cfg.start1(i)?;
    cfg.connect(i);
    shared.borrow_mut().down[i] = false;
    apply_links(cfg, shared);
    Ok(())
}

/// The end of the safety phase: every link up, every node running, a reliable network with
/// no reordering and no duplicates.
fn heal<R: RaftNode>(cfg: &Config<R>, shared: &Shared) -> TestResult {
    log::info!(target: "tester", "nemesis: heal everything");
    let n = {
        let mut nemesis = shared.borrow_mut();
        nemesis.healed = true;
        let n = nemesis.n;
        nemesis.links = matrix(n, |_, _| true);
        n
    };
    {
        let mut state = cfg.state();
        state.crash_trigger = None;
        state.triggered = None;
    }
    cfg.set_unreliable(false);
    cfg.set_long_reordering(false);
    cfg.set_duplicates(Duplicates::default());
    for i in 0..n {
        restart(cfg, shared, i)?;
        cfg.connect(i);
    }
    apply_links(cfg, shared);
    Ok(())
}

fn liveness_failure<R: RaftNode>(cfg: &Config<R>, message: String) -> Failure {
    Failure {
        kind: FailureKind::Liveness,
        message,
        at: cfg.now(),
    }
}

/// The liveness phase: one leader within [`LEADER_BOUND_MS`] of healing, then a fresh
/// command applied by every node within [`COMMAND_BOUND_MS`] more.
async fn liveness<R: RaftNode>(cfg: &Config<R>, shared: &Shared) -> TestResult {
    let healed = cfg.now();
    let since = |cfg: &Config<R>| cfg.now().millis_since(healed);
    let mut why = leader(cfg);
    while why.is_err() && since(cfg) < LEADER_BOUND_MS {
        cfg.sleep_ms(POLL_MS).await;
        why = leader(cfg);
    }
    if let Err(why) = why {
        let message = format!(
            "no leader {:.1} s after healing ({why}; the bound is {:.1} s)",
            since(cfg) as f64 / 1000.0,
            LEADER_BOUND_MS as f64 / 1000.0
        );
        return Err(liveness_failure(cfg, message));
    }
    let found = cfg.now();
    let value = FRESH_COMMAND_BASE + shared.borrow().next_command - CLIENT_COMMAND_BASE;
    let command = int_command(value);
    let n = cfg.n();
    let (mut index, mut submitted) = (None, found);
    while cfg.now().millis_since(found) < COMMAND_BOUND_MS {
        let holders = index.map_or(0, |at| holding(cfg, at, &command).len());
        if holders == n {
            cfg.print(format!(
                "  liveness: a leader {} ms after healing, command {} applied by all {} ms \
                 after that",
                found.millis_since(healed),
                show_command(&command),
                cfg.now().millis_since(found)
            ));
            return Ok(());
        }
        // Not taken yet, overwritten at its index by a newer leader, or not applied by all
        // after Go's `one()` retry interval of 2 s: submit it again. (A leader that lost
        // office may leave its last entry committed at a few nodes only; a new leader
        // commits it only with an entry of its own term, and Raft adds none by itself.)
        let lost = index.is_some_and(|at| {
            (0..n).any(|i| cfg.applied(i, at).is_some_and(|other| other != command))
                || cfg.now().millis_since(submitted) >= 2_000
        });
        if index.is_none() || lost {
            let taken = leader(cfg)
                .ok()
                .and_then(|i| cfg.start(i, command.clone()))
                .map(|(at, _)| at);
            if taken.is_some() {
                (index, submitted) = (taken, cfg.now());
            }
        }
        cfg.sleep_ms(POLL_MS).await;
    }
    let message = match index {
        None => format!(
            "command {} not accepted by any leader {:.1} s after one was found",
            show_command(&command),
            COMMAND_BOUND_MS as f64 / 1000.0
        ),
        Some(at) => {
            let holders = holding(cfg, at, &command);
            let names: Vec<String> = holders.iter().map(|i| format!("S{i}")).collect();
            format!(
                "command {} applied by {} of {n} ({}) {:.1} s after the leader was found",
                show_command(&command),
                holders.len(),
                names.join(" "),
                COMMAND_BOUND_MS as f64 / 1000.0
            )
        }
    };
    Err(liveness_failure(cfg, message))
}

/// The nodes that applied `command` at `index`.
fn holding<R: RaftNode>(cfg: &Config<R>, index: u64, command: &[u8]) -> Vec<usize> {
    (0..cfg.n())
        .filter(|&i| cfg.applied(i, index).as_deref() == Some(command))
        .collect()
}
