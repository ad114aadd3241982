//! Lab 2C: persistence (Go's TestPersist12C … TestUnreliableChurn2C): crashes and restarts
//! from persisted state, Figure 8, unreliable networks and churn.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;

use raft::RaftNode;

use crate::command::{command_int, int_command};
use crate::config::{Config, RAFT_ELECTION_TIMEOUT_MS};
use crate::failure::TestResult;
use crate::registry::{Part, TestCase, case};

/// `Test (2C): basic persistence`: agreement survives restarting every server, the leader,
/// and a follower.
pub async fn persist1_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): basic persistence");

    cfg.one(int_command(11), servers, true).await?;

    // crash and re-start all.
    for i in 0..servers {
        cfg.start1(i)?;
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }

    cfg.one(int_command(12), servers, true).await?;

    let leader1 = cfg.check_one_leader().await?;
    cfg.disconnect(leader1);
    cfg.start1(leader1)?;
    cfg.connect(leader1);

    cfg.one(int_command(13), servers, true).await?;

    let leader2 = cfg.check_one_leader().await?;
    cfg.disconnect(leader2);
    cfg.one(int_command(14), servers - 1, true).await?;
    cfg.start1(leader2)?;
    cfg.connect(leader2);

    // wait for leader2 to join before killing i3.
    cfg.wait(4, servers, None).await?;

    let i3 = (cfg.check_one_leader().await? + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(int_command(15), servers - 1, true).await?;
    cfg.start1(i3)?;
    cfg.connect(i3);

    cfg.one(int_command(16), servers, true).await?;
    cfg.end()
}

/// `Test (2C): more persistence`: 5 servers, five rounds of partitions and restarts in
/// which the servers that restart first must not lose what the majority committed.
pub async fn persist2_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): more persistence");

    let mut index = 1;
    for _ in 0..5 {
        cfg.one(int_command(10 + index), servers, true).await?;
        index += 1;

        let leader1 = cfg.check_one_leader().await?;

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(int_command(10 + index), servers - 2, true).await?;
        index += 1;

        cfg.disconnect(leader1 % servers);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start1((leader1 + 1) % servers)?;
        cfg.start1((leader1 + 2) % servers)?;
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        cfg.sleep_ms(RAFT_ELECTION_TIMEOUT_MS).await;

        cfg.start1((leader1 + 3) % servers)?;
        cfg.connect((leader1 + 3) % servers);

        cfg.one(int_command(10 + index), servers - 2, true).await?;
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1 % servers);
    }

    cfg.one(int_command(1000), servers, true).await?;
    cfg.end()
}

/// `Test (2C): partitioned leader and one follower crash, leader restarts`: the restarted
/// leader must not lose the entry only it and the crashed follower hold.
pub async fn persist3_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): partitioned leader and one follower crash, leader restarts");

    cfg.one(int_command(101), 3, true).await?;

    let leader = cfg.check_one_leader().await?;
    cfg.disconnect((leader + 2) % servers);

    cfg.one(int_command(102), 2, true).await?;

    cfg.crash1(leader % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1(leader % servers)?;
    cfg.connect(leader % servers);

    cfg.one(int_command(103), 2, true).await?;

    cfg.start1((leader + 1) % servers)?;
    cfg.connect((leader + 1) % servers);

    cfg.one(int_command(104), servers, true).await?;
    cfg.end()
}

/// Go's Figure 8 sleep: 10 % of the time up to half an election timeout (0–499 ms), else
/// 0–12 ms.
async fn figure_8_sleep<R: RaftNode>(cfg: &Config<R>) {
    let ms = if cfg.rand_below(1000) < 100 {
        cfg.rand_below(RAFT_ELECTION_TIMEOUT_MS / 2)
    } else {
        cfg.rand_below(13)
    };
    cfg.sleep_ms(ms).await;
}

/// `Test (2C): Figure 8`: 1000 rounds of crashing whoever leads right after it took a new
/// entry, so that logs diverge as in the paper's Figure 8; then everyone must agree.
pub async fn figure_8_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): Figure 8");

    cfg.one(int_command(cfg.rand_int()), 1, true).await?;

    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if cfg.is_alive(i) && cfg.start(i, int_command(cfg.rand_int())).is_some() {
                leader = Some(i);
            }
        }

        figure_8_sleep(&cfg).await;

        if let Some(leader) = leader {
            cfg.crash1(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = cfg.rand_below(servers as u64) as usize;
            if !cfg.is_alive(s) {
                cfg.start1(s)?;
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_alive(i) {
            cfg.start1(i)?;
            cfg.connect(i);
        }
    }

    cfg.one(int_command(cfg.rand_int()), servers, true).await?;
    cfg.end()
}

/// `Test (2C): unreliable agreement`: 5 servers on an unreliable network; 49 rounds of five
/// concurrent agreements.
pub async fn unreliable_agree_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): unreliable agreement");

    let mut clients = Vec::new();
    for iters in 1..50 {
        for j in 0..4 {
            let client = cfg.clone();
            clients.push(
                cfg.spawn(async move { client.one(int_command(100 * iters + j), 1, true).await }),
            );
        }
        cfg.one(int_command(iters), 1, true).await?;
    }

    cfg.set_unreliable(false);

    for client in clients {
        client.await;
    }

    cfg.one(int_command(100), servers, true).await?;
    cfg.end()
}

/// `Test (2C): Figure 8 (unreliable)`: Figure 8 with disconnections instead of crashes, on
/// an unreliable network with long reordering from round 200.
pub async fn figure_8_unreliable_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2C): Figure 8 (unreliable)");

    cfg.one(int_command(cfg.rand_below(10000)), 1, true).await?;

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            cfg.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let accepted = cfg.start(i, int_command(cfg.rand_below(10000))).is_some();
            if accepted && cfg.is_connected(i) {
                leader = Some(i);
            }
        }

        figure_8_sleep(&cfg).await;

        if let Some(leader) = leader
            && cfg.rand_below(1000) < RAFT_ELECTION_TIMEOUT_MS / 2
        {
            cfg.disconnect(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = cfg.rand_below(servers as u64) as usize;
            if !cfg.is_connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_connected(i) {
            cfg.connect(i);
        }
    }

    cfg.one(int_command(cfg.rand_below(10000)), servers, true)
        .await?;
    cfg.end()
}

/// One churn client (Go's `cfn`): until `stop`, offers a fresh random command to every live
/// server, and records it if it was committed at the index the last accepting server gave.
async fn churn_client<R: RaftNode>(
    cfg: Config<R>,
    me: u64,
    stop: Rc<Cell<bool>>,
) -> TestResult<Vec<u64>> {
    let servers = cfg.n();
    let mut values = Vec::new();
    // The index of the last round that found its index committed without sleeping.
    let mut unslept: Option<u64> = None;
    while !stop.get() {
        let x = cfg.rand_int();
        let mut index = None;
        for i in 0..servers {
            // a crashed server (Go's nil raft) accepts nothing.
            if let Some((index1, _)) = cfg.start(i, int_command(x)) {
                index = Some(index1);
            }
        }
        let Some(index) = index else {
            cfg.sleep_ms(79 + me * 17).await;
            unslept = None;
            continue;
        };
        if await_commit(&cfg, index, x, &mut values).await? {
            unslept = None;
        } else if unslept.is_some_and(|last| index <= last) {
            // `start` gave no newer index than last round, and it is committed already: a
            // correct Raft appends, so its indexes grow. Go's goroutine would spin until the
            // test sets `stop` (in real time); here no virtual time would ever pass, so wait as
            // Go's first wait does.
            cfg.sleep_ms(10).await;
            unslept = None;
        } else {
            unslept = Some(index);
        }
    }
    Ok(values)
}

/// One churn client's wait for its command `x` at `index` ("maybe leader will commit our
/// value, maybe not. but don't wait forever."): records `x` in `values` if it was committed
/// there. Returns whether it slept (`false`: `index` was committed already).
async fn await_commit<R: RaftNode>(
    cfg: &Config<R>,
    index: u64,
    x: u64,
    values: &mut Vec<u64>,
) -> TestResult<bool> {
    let mut slept = false;
    for to in [10, 20, 50, 100, 200] {
        let (nd, cmd) = cfg.n_committed(index)?;
        if nd > 0 {
            match cmd.as_deref().and_then(command_int) {
                Some(xx) => {
                    if xx == x {
                        values.push(x);
                    }
                }
                None => return Err(cfg.failure("wrong command type")),
            }
            break;
        }
        cfg.sleep_ms(to).await;
        slept = true;
    }
    Ok(slept)
}

/// Go's `internalChurn(t, unreliable)`: three clients submit commands while servers are
/// disconnected, crashed and restarted at random for 20 rounds; afterwards every server must
/// hold every index, and every value a client saw committed must be there.
pub async fn internal_churn<R: RaftNode>(cfg: Config<R>, unreliable: bool) -> TestResult {
    let servers = cfg.n();
    if unreliable {
        cfg.begin("Test (2C): unreliable churn");
    } else {
        cfg.begin("Test (2C): churn");
    }

    let stop = Rc::new(Cell::new(false));

    let ncli = 3;
    let mut clients = Vec::new();
    for me in 0..ncli {
        clients.push(cfg.spawn(churn_client(cfg.clone(), me, Rc::clone(&stop))));
    }

    for _ in 0..20 {
        if cfg.rand_below(1000) < 200 {
            let i = cfg.rand_below(servers as u64) as usize;
            cfg.disconnect(i);
        }

        if cfg.rand_below(1000) < 500 {
            let i = cfg.rand_below(servers as u64) as usize;
            if !cfg.is_alive(i) {
                cfg.start1(i)?;
            }
            cfg.connect(i);
        }

        if cfg.rand_below(1000) < 200 {
            let i = cfg.rand_below(servers as u64) as usize;
            if cfg.is_alive(i) {
                cfg.crash1(i);
            }
        }

        // Make crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next. Pick a
        // value smaller than the election timeout, but not hugely smaller.
        cfg.sleep_ms(RAFT_ELECTION_TIMEOUT_MS * 7 / 10).await;
    }

    cfg.sleep_ms(RAFT_ELECTION_TIMEOUT_MS).await;
    cfg.set_unreliable(false);
    for i in 0..servers {
        if !cfg.is_alive(i) {
            cfg.start1(i)?;
        }
        cfg.connect(i);
    }

    stop.set(true);

    // Go's "client failed" (a client that died returns nil) cannot happen here: a client's
    // failure ends the run at once, before it could be joined.
    let mut values = Vec::new();
    for client in clients {
        values.extend(client.await);
    }

    cfg.sleep_ms(RAFT_ELECTION_TIMEOUT_MS).await;

    let last_index = cfg.one(int_command(cfg.rand_int()), servers, true).await?;

    let mut really = BTreeSet::new();
    for index in 1..=last_index {
        let v = cfg.wait(index, servers, None).await?;
        match v.as_deref().and_then(command_int) {
            Some(vi) => {
                really.insert(vi);
            }
            None => return Err(cfg.failure("not an int")),
        }
    }

    for v1 in &values {
        if !really.contains(v1) {
            return Err(cfg.failure("didn't find a value"));
        }
    }
    cfg.end()
}

/// `Test (2C): churn`: [`internal_churn`] on a reliable network.
pub async fn reliable_churn_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    internal_churn(cfg, false).await
}

/// `Test (2C): unreliable churn`: [`internal_churn`] on an unreliable network.
pub async fn unreliable_churn_2c<R: RaftNode>(cfg: Config<R>) -> TestResult {
    internal_churn(cfg, true).await
}

/// The 2C tests, in the Go file's order: no snapshots; the unreliable ones start unreliable.
pub fn cases<R: RaftNode>() -> Vec<TestCase<R>> {
    vec![
        case!(self::persist1_2c, C, 3, false, false),
        case!(self::persist2_2c, C, 5, false, false),
        case!(self::persist3_2c, C, 3, false, false),
        case!(self::figure_8_2c, C, 5, false, false),
        case!(self::unreliable_agree_2c, C, 5, true, false),
        case!(self::figure_8_unreliable_2c, C, 5, true, false),
        case!(self::reliable_churn_2c, C, 5, false, false),
        case!(self::unreliable_churn_2c, C, 5, true, false),
    ]
}
