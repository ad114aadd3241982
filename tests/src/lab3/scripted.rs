//! The four Lab 3 tests with a script of their own: TestUnreliableOneKey3A,
//! TestOnePartition3A, TestSnapshotRPC3B and TestSnapshotSize3B (spec §3.4).

use std::cell::Cell;
use std::rc::Rc;

use labrpc::SimTime;

use super::config::{KvConfig, KvLab};
use super::suite::{ELECTION_TIMEOUT_MS, check_concurrent_appends};
use crate::failure::TestResult;

/// TestUnreliableOneKey3A: 5 clients append 10 values each to one key; every value appears
/// once, in each client's order.
pub async fn unreliable_one_key<L: KvLab>(cfg: KvConfig<L>) -> TestResult {
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: concurrent append to same key, unreliable (3A)");
    cfg.put(&mut ck, "k", "", None).await;
    const CLIENTS: usize = 5;
    const APPENDS: u64 = 10;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let cfg = cfg.clone();
            cfg.clone().spawn(async move {
                let mut myck = cfg.make_client(&cfg.all());
                for n in 0..APPENDS {
                    cfg.append(&mut myck, "k", &format!("x {me} {n} y"), None)
                        .await;
                }
                Ok(())
            })
        })
        .collect();
    for client in clients {
        client.await;
    }
    let value = cfg.get(&mut ck, "k", None).await;
    check_concurrent_appends(&cfg, &value, &[APPENDS; CLIENTS])?;
    cfg.end()
}

/// TestOnePartition3A: progress in the majority, none in the minority (its old leader's
/// included), and the minority's waiting Put completes after the heal.
pub async fn one_partition<L: KvLab>(cfg: KvConfig<L>) -> TestResult {
    let mut ck = cfg.make_client(&cfg.all());
    cfg.put(&mut ck, "1", "13", None).await;

    cfg.begin("Test: progress in majority (3A)");
    let (p1, p2) = cfg.make_partition();
    cfg.partition(&p1, &p2);
    let mut ckp1 = cfg.make_client(&p1);
    let mut ckp2a = cfg.make_client(&p2);
    let mut ckp2b = cfg.make_client(&p2);
    let (id2a, id2b) = (ckp2a.id, ckp2b.id);
    cfg.put(&mut ckp1, "1", "14", None).await;
    cfg.check(&mut ckp1, "1", "14").await?;
    cfg.end()?;

    cfg.begin("Test: no progress in minority (3A)");
    let put_done: Rc<Cell<Option<SimTime>>> = Rc::default();
    let get_done: Rc<Cell<Option<SimTime>>> = Rc::default();
    let put = {
        let (cfg, done) = (cfg.clone(), put_done.clone());
        cfg.clone().spawn(async move {
            cfg.put(&mut ckp2a, "1", "15", None).await;
            done.set(Some(cfg.now()));
            Ok(())
        })
    };
    let get = {
        let (cfg, done) = (cfg.clone(), get_done.clone());
        cfg.clone().spawn(async move {
            cfg.get(&mut ckp2b, "1", None).await;
            done.set(Some(cfg.now()));
            Ok(())
        })
    };
    cfg.sleep_ms(1000).await;
    // Go's select: whichever completed first.
    match (put_done.get(), get_done.get()) {
        (Some(p), Some(g)) if g < p => return Err(cfg.failure("Get in minority completed")),
        (Some(_), _) => return Err(cfg.failure("Put in minority completed")),
        (None, Some(_)) => return Err(cfg.failure("Get in minority completed")),
        (None, None) => {}
    }
    cfg.check(&mut ckp1, "1", "14").await?;
    cfg.put(&mut ckp1, "1", "16", None).await;
    cfg.check(&mut ckp1, "1", "16").await?;
    cfg.end()?;

    cfg.begin("Test: completion after heal (3A)");
    cfg.connect_all();
    cfg.connect_client(id2a, &cfg.all());
    cfg.connect_client(id2b, &cfg.all());
    cfg.sleep_ms(ELECTION_TIMEOUT_MS).await;
    let mut waited = 0;
    while !cfg.is_finished(&put) {
        if waited == 30 {
            return Err(cfg.failure("Put did not complete"));
        }
        cfg.sleep_ms(100).await;
        waited += 1;
    }
    // Go checks the Get without waiting (a `select` with `default`): not finished is fine.
    let _ = cfg.is_finished(&get);
    cfg.check(&mut ck, "1", "15").await?;
    cfg.end()
}

/// TestSnapshotRPC3B: a lagging server catches up through InstallSnapshot, and a majority
/// trims its log without the minority.
pub async fn snapshot_rpc<L: KvLab>(cfg: KvConfig<L>) -> TestResult {
    let max = cfg.max_raft_state().unwrap_or(1000);
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: InstallSnapshot RPC (3B)");
    cfg.put(&mut ck, "a", "A", None).await;
    cfg.check(&mut ck, "a", "A").await?;

    // A bunch of puts into the majority partition.
    cfg.partition(&[0, 1], &[2]);
    {
        let mut ck1 = cfg.make_client(&[0, 1]);
        for i in 0..50 {
            cfg.put(&mut ck1, &i.to_string(), &i.to_string(), None)
                .await;
        }
        cfg.sleep_ms(ELECTION_TIMEOUT_MS).await;
        cfg.put(&mut ck1, "b", "B", None).await;
    }
    // Check that the majority partition has thrown away most of its log entries.
    let size = cfg.log_size();
    if size > 8 * max {
        return Err(cfg.failure(format!("logs were not trimmed ({size} > 8*{max})")));
    }

    // Now make a group that requires the lagging server to install a snapshot.
    cfg.partition(&[0, 2], &[1]);
    {
        let mut ck1 = cfg.make_client(&[0, 2]);
        cfg.put(&mut ck1, "c", "C", None).await;
        cfg.put(&mut ck1, "d", "D", None).await;
        for (key, value) in [("a", "A"), ("b", "B"), ("1", "1"), ("49", "49")] {
            cfg.check(&mut ck1, key, value).await?;
        }
    }

    // Now everybody.
    cfg.partition(&[0, 1, 2], &[]);
    cfg.put(&mut ck, "e", "E", None).await;
    for (key, value) in [("c", "C"), ("e", "E"), ("1", "1")] {
        cfg.check(&mut ck, key, value).await?;
    }
    cfg.end()
}

/// TestSnapshotSize3B's bound on the snapshot: generous for a key or two and the duplicate
/// table.
pub const MAX_SNAPSHOT_STATE: usize = 500;

/// TestSnapshotSize3B: 800 operations on one key; the log is trimmed and the snapshot small.
pub async fn snapshot_size<L: KvLab>(cfg: KvConfig<L>) -> TestResult {
    let max = cfg.max_raft_state().unwrap_or(1000);
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: snapshot size is reasonable (3B)");
    for _ in 0..200 {
        cfg.put(&mut ck, "x", "0", None).await;
        cfg.check(&mut ck, "x", "0").await?;
        cfg.put(&mut ck, "x", "1", None).await;
        cfg.check(&mut ck, "x", "1").await?;
    }
    // Check that the servers have thrown away most of their log entries.
    let size = cfg.log_size();
    if size > 8 * max {
        return Err(cfg.failure(format!("logs were not trimmed ({size} > 8*{max})")));
    }
    // Check that the snapshots are not unreasonably large.
    let size = cfg.snapshot_size();
    if size > MAX_SNAPSHOT_STATE {
        return Err(cfg.failure(format!(
            "snapshot too large ({size} > {MAX_SNAPSHOT_STATE})"
        )));
    }
    cfg.end()
}
