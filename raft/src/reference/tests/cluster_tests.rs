//! End-to-end scenarios on the miniature cluster, named after the 6.824 tests they imitate.

use super::cluster::Cluster;

fn command(value: u64) -> Vec<u8> {
    labgob::encode(&value).expect("encodes")
}

#[test]
fn initial_election_2a() {
    let mut cluster = Cluster::new(3, 1);
    cluster.check_one_leader();
    let term = cluster.max_term();
    assert!(term >= 1);
    cluster.run_for(2000);
    assert_eq!(cluster.max_term(), term, "term changed without failures");
    cluster.check_one_leader();
}

#[test]
fn re_election_2a() {
    let mut cluster = Cluster::new(3, 2);
    let leader = cluster.check_one_leader();
    cluster.connect(leader, false);
    let second = cluster.check_one_leader();
    assert_ne!(second, leader);
    cluster.connect(leader, true);
    let third = cluster.check_one_leader();
    cluster.connect(third, false);
    cluster.connect((third + 1) % 3, false);
    cluster.run_for(2000);
    cluster.check_no_leader();
    cluster.connect((third + 1) % 3, true);
    cluster.check_one_leader();
    cluster.connect(third, true);
    cluster.check_one_leader();
}

#[test]
fn count_2b() {
    let mut cluster = Cluster::new(3, 3);
    let leader = cluster.check_one_leader();
    let before = cluster.rpc_count;
    let (first, term) = cluster.start(leader, command(1)).expect("leader");
    for value in 2..=12 {
        let (index, same_term) = cluster.start(leader, command(value)).expect("leader");
        assert_eq!((index, same_term), (first + value - 1, term));
    }
    for _ in 0..50 {
        cluster.run_for(20);
        if cluster.n_committed(first + 11).0 == 3 {
            break;
        }
    }
    assert_eq!(cluster.n_committed(first + 11).0, 3);
    let used = cluster.rpc_count - before;
    assert!(used <= 42, "{used} RPCs for 12 commands");
    let idle_before = cluster.rpc_count;
    cluster.run_for(1000);
    let idle = cluster.rpc_count - idle_before;
    assert!(idle <= 60, "{idle} RPCs in 1 s of idleness");
}

#[test]
fn rpc_bytes_2b() {
    let mut cluster = Cluster::new(3, 4);
    cluster.one(command(99), 3);
    let before = cluster.request_bytes;
    let mut sent = 0;
    for value in 0..10u8 {
        let big = vec![value; 5000];
        sent += big.len() as u64;
        cluster.one(big, 3);
    }
    let used = cluster.request_bytes - before;
    assert!(
        used <= 2 * sent + 50_000,
        "{used} bytes for {sent} bytes of commands"
    );
}

#[test]
fn fail_agree_2b() {
    let mut cluster = Cluster::new(3, 5);
    cluster.one(command(101), 3);
    let leader = cluster.check_one_leader();
    cluster.connect((leader + 1) % 3, false);
    for value in 102..=105 {
        cluster.one(command(value), 2);
    }
    cluster.run_for(1000);
    cluster.connect((leader + 1) % 3, true);
    cluster.one(command(106), 3);
    cluster.one(command(107), 3);
}

/// TestBackup2B: leaders back up over 50 stale entries quickly.
#[test]
fn backup_2b() {
    let mut cluster = Cluster::new(5, 6);
    cluster.one(command(1), 5);
    let leader1 = cluster.check_one_leader();
    for offset in 2..=4 {
        cluster.connect((leader1 + offset) % 5, false);
    }
    for value in 0..50 {
        let _ = cluster.start(leader1, command(1000 + value));
    }
    cluster.run_for(250);
    cluster.connect(leader1, false);
    cluster.connect((leader1 + 1) % 5, false);
    for offset in 2..=4 {
        cluster.connect((leader1 + offset) % 5, true);
    }
    for value in 0..50 {
        cluster.one(command(2000 + value), 3);
    }
    let leader2 = cluster.check_one_leader();
    let other = (leader1 + 2..leader1 + 5)
        .map(|server| server % 5)
        .find(|&server| server != leader2)
        .expect("another");
    cluster.connect(other, false);
    for value in 0..50 {
        let _ = cluster.start(leader2, command(3000 + value));
    }
    cluster.run_for(250);
    for server in 0..5 {
        cluster.connect(server, false);
    }
    cluster.connect(leader1, true);
    cluster.connect((leader1 + 1) % 5, true);
    cluster.connect(other, true);
    for value in 0..50 {
        cluster.one(command(4000 + value), 3);
    }
    for server in 0..5 {
        cluster.connect(server, true);
    }
    cluster.one(command(5000), 5);
}

/// TestPersist2C in brief: everyone crashes and restarts; the log survives.
#[test]
fn persist_2c() {
    let mut cluster = Cluster::new(3, 7);
    cluster.one(command(11), 3);
    for server in 0..3 {
        cluster.crash(server);
    }
    for server in 0..3 {
        cluster.restart(server);
    }
    cluster.one(command(12), 3);
    let leader = cluster.check_one_leader();
    cluster.crash(leader);
    cluster.restart(leader);
    cluster.one(command(13), 3);
}

/// Figure 8 (unreliable) in brief: random crashes, partitions and lost messages; then healing
/// must bring agreement. Safety is checked after every event.
#[test]
fn figure_8_unreliable_2c() {
    for seed in 0..4 {
        figure_8_unreliable(seed, 0);
    }
}

/// The same with the service snapshotting every 10 entries (2D): logs stay short.
#[test]
fn snapshot_all_crash_unreliable_2d() {
    for seed in 10..14 {
        let cluster = figure_8_unreliable(seed, 10);
        let bytes = cluster.max_raft_state_bytes;
        assert!(bytes < 2000, "raft state grew to {bytes} bytes");
    }
}

fn figure_8_unreliable(seed: u64, snapshot_every: u64) -> Cluster {
    let mut cluster = Cluster::new(5, 100 + seed);
    cluster.snapshot_every = snapshot_every;
    cluster.reliable = false;
    let mut rng = seed * 7919 + 17;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        rng >> 33
    };
    let mut value = 0;
    for _ in 0..200 {
        for server in 0..5 {
            value += 1;
            let _ = cluster.start(server, command(value));
        }
        cluster.run_for(next() % 150);
        let server = (next() % 5) as usize;
        match next() % 4 {
            0 if cluster.is_up(server) => cluster.crash(server),
            1 if !cluster.is_up(server) => cluster.restart(server),
            2 => cluster.connect(server, false),
            _ => cluster.connect(server, true),
        }
        let up = (0..5).filter(|&s| cluster.is_up(s)).count();
        if up < 3 {
            let down = (0..5).find(|&s| !cluster.is_up(s)).expect("one down");
            cluster.restart(down);
        }
    }
    for server in 0..5 {
        if !cluster.is_up(server) {
            cluster.restart(server);
        }
        cluster.connect(server, true);
    }
    cluster.one(command(1_000_000), 5);
    cluster
}

/// TestSnapshotInstall2D in brief: a disconnected follower falls behind the leader's snapshot
/// and catches up by InstallSnapshot.
#[test]
fn snapshot_install_2d() {
    let mut cluster = Cluster::new(3, 8);
    cluster.snapshot_every = 10;
    cluster.one(command(1), 3);
    for round in 0..6u64 {
        let leader = cluster.check_one_leader();
        let victim = (leader + 1 + round as usize % 2) % 3;
        cluster.connect(victim, false);
        for value in 0..25 {
            cluster.one(command(round * 100 + value), 2);
        }
        if round % 3 == 2 {
            cluster.crash(victim);
            cluster.restart(victim);
        }
        cluster.connect(victim, true);
        cluster.one(command(round * 100 + 99), 3);
    }
    assert!(cluster.max_raft_state_bytes < 2000);
}
