//! Lab 2A: leader election (Go's TestInitialElection2A, TestReElection2A,
//! TestManyElections2A).

use raft::RaftNode;

use crate::config::{Config, RAFT_ELECTION_TIMEOUT_MS};
use crate::failure::TestResult;

/// `Test (2A): initial election`: one leader, terms agree and stay put without failures.
pub async fn initial_election_2a<R: RaftNode>(cfg: Config<R>) -> TestResult {
    cfg.begin("Test (2A): initial election");

    // is a leader elected?
    cfg.check_one_leader().await?;

    // sleep a bit to avoid racing with followers learning of the election, then check that
    // all peers agree on the term.
    cfg.sleep_ms(50).await;
    let term1 = cfg.check_terms()?;
    if term1.is_none_or(|term| term < 1) {
        return Err(cfg.failure(format!(
            "term is {}, but should be at least 1",
            show_term(term1)
        )));
    }

    // does the leader+term stay the same if there is no network failure?
    cfg.sleep_ms(2 * RAFT_ELECTION_TIMEOUT_MS).await;
    let term2 = cfg.check_terms()?;
    if term1 != term2 {
        cfg.print("warning: term changed even though there were no failures");
    }

    // there should still be a leader.
    cfg.check_one_leader().await?;
    cfg.end()
}

/// `Test (2A): election after network failure`.
pub async fn re_election_2a<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n();
    cfg.begin("Test (2A): election after network failure");

    let leader1 = cfg.check_one_leader().await?;

    // if the leader disconnects, a new one should be elected.
    cfg.disconnect(leader1);
    cfg.check_one_leader().await?;

    // if the old leader rejoins, that shouldn't disturb the new leader.
    cfg.connect(leader1);
    let leader2 = cfg.check_one_leader().await?;

    // if there's no quorum, no new leader should be elected.
    cfg.disconnect(leader2);
    cfg.disconnect((leader2 + 1) % servers);
    cfg.sleep_ms(2 * RAFT_ELECTION_TIMEOUT_MS).await;

    // check that the one connected server does not think it is the leader.
    cfg.check_no_leader()?;

    // if a quorum arises, it should elect a leader.
    cfg.connect((leader2 + 1) % servers);
    cfg.check_one_leader().await?;

    // re-join of last node shouldn't prevent leader from existing.
    cfg.connect(leader2);
    cfg.check_one_leader().await?;
    cfg.end()
}

/// `Test (2A): multiple elections`: 7 servers, nine rounds of up to three disconnections.
pub async fn many_elections_2a<R: RaftNode>(cfg: Config<R>) -> TestResult {
    let servers = cfg.n() as u64;
    cfg.begin("Test (2A): multiple elections");

    cfg.check_one_leader().await?;

    for _ in 1..10 {
        // disconnect three nodes (they may coincide).
        let i1 = cfg.rand_below(servers) as usize;
        let i2 = cfg.rand_below(servers) as usize;
        let i3 = cfg.rand_below(servers) as usize;
        cfg.disconnect(i1);
        cfg.disconnect(i2);
        cfg.disconnect(i3);

        // either the current leader should still be alive, or the remaining four should
        // elect a new one.
        cfg.check_one_leader().await?;

        cfg.connect(i1);
        cfg.connect(i2);
        cfg.connect(i3);
    }

    cfg.check_one_leader().await?;
    cfg.end()
}

/// Go prints a missing term as -1.
fn show_term(term: Option<u64>) -> String {
    term.map_or_else(|| "-1".to_owned(), |t| t.to_string())
}
