//! The in-flight flaws bite when a late message arrives, and only then: each test delivers a
//! reply (to a follower, a request) after its sender moved on, to the reference and to the
//! flawed node.

use super::*;
use crate::flaws::{self, Flawed};
use crate::messages::InstallSnapshotReply;
use crate::role::Role;

/// Node 0 of 3 stands in term 1, then again in term 2; returns its term-1 vote requests.
fn stand_twice<N: RaftNode<Request = Request, Reply = Reply>>(
    node: &mut N,
    host: &mut Host,
) -> Vec<Request> {
    while node.state().0 < 1 {
        host.fire_timer(node).expect("a timer");
    }
    let first_round: Vec<Request> = host.take_calls().into_iter().map(|(_, r)| r).collect();
    while node.state().0 < 2 {
        host.fire_timer(node).expect("a timer");
    }
    host.take_calls();
    first_round
}

/// Two votes granted in term 1 arrive while the node stands in term 2.
fn late_votes<N: RaftNode<Request = Request, Reply = Reply>>() -> (u64, bool) {
    let mut host = Host::new(1);
    let mut node: N = host.boot(0, 3);
    for (peer, request) in (1..).zip(stand_twice(&mut node, &mut host)) {
        let reply = Reply::RequestVote(RequestVoteReply {
            term: 1,
            vote_granted: true,
        });
        node.handle_reply(&mut host.context(), peer, request, Some(reply));
    }
    node.state()
}

#[test]
fn late_votes_of_an_earlier_round_elect_only_the_flawed_candidate() {
    assert_eq!(late_votes::<Reference>(), (2, false));
    assert_eq!(late_votes::<Flawed<flaws::CountsStaleVotes>>(), (2, true));
}

/// A leader of term 1 sends entry 1, is deposed, leads again in term 3, and then gets the
/// term-1 success: returns its match index for peer 1.
fn late_success<N: RaftNode<Request = Request, Reply = Reply>>(inspect: impl Fn(&N) -> u64) -> u64 {
    let mut host = Host::new(1);
    let mut node: N = host.boot(0, 3);
    let votes = |host: &mut Host, node: &mut N| {
        let requests = host.take_calls();
        for (peer, request) in requests.into_iter().take(2) {
            let term = request.term();
            let reply = Reply::RequestVote(RequestVoteReply {
                term,
                vote_granted: true,
            });
            node.handle_reply(&mut host.context(), peer, request, Some(reply));
        }
    };
    while node.state().0 < 1 {
        host.fire_timer(&mut node).expect("a timer");
    }
    votes(&mut host, &mut node);
    host.take_calls();
    node.start(&mut host.context(), vec![7]).expect("leads");
    let carries_entry = |request: &Request| match request {
        Request::AppendEntries(args) => !args.entries.is_empty(),
        _ => false,
    };
    while !host.calls.iter().any(|(_, request)| carries_entry(request)) {
        host.fire_timer(&mut node).expect("a timer");
    }
    let calls = host.take_calls();
    let (peer, stale) = calls
        .into_iter()
        .find(|(_, request)| carries_entry(request))
        .expect("an AppendEntries with entry 1");
    // Deposed by a term-2 heartbeat, then it stands and wins term 3.
    let deposing = AppendEntriesArgs {
        term: 2,
        leader_id: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: Vec::new(),
        leader_commit: 0,
    };
    node.handle_request(&mut host.context(), Request::AppendEntries(deposing));
    while node.state().0 < 3 {
        host.fire_timer(&mut node).expect("a timer");
    }
    votes(&mut host, &mut node);
    assert_eq!(node.state(), (3, true));
    let reply = Reply::AppendEntries(AppendEntriesReply {
        term: 1,
        success: true,
        conflict_term: None,
        conflict_index: 0,
    });
    node.handle_reply(&mut host.context(), peer, stale, Some(reply));
    inspect(&node)
}

#[test]
fn a_success_from_an_earlier_leadership_counts_only_for_the_flawed_leader() {
    let match_of = |role: &Role| match role {
        Role::Leader(leader) => leader.match_index[1],
        _ => panic!("not leading"),
    };
    assert_eq!(late_success::<Reference>(|n| match_of(&n.role)), 0);
    type Flawed2 = Flawed<flaws::TakesStaleAppendReplies>;
    assert_eq!(late_success::<Flawed2>(|n| match_of(&n.inner.role)), 1);
}

/// Node 0 of 3, led to leadership in term 1 by votes from peers 1 and 2.
fn generic_leader<N: RaftNode<Request = Request, Reply = Reply>>() -> (N, Host) {
    let mut host = Host::new(1);
    let mut node: N = host.boot(0, 3);
    while node.state().0 < 1 {
        host.fire_timer(&mut node).expect("a timer");
    }
    for (peer, request) in host.take_calls() {
        let reply = Reply::RequestVote(RequestVoteReply {
            term: 1,
            vote_granted: true,
        });
        node.handle_reply(&mut host.context(), peer, request, Some(reply));
    }
    assert_eq!(node.state(), (1, true));
    host.take_calls();
    (node, host)
}

/// The AppendEntries calls in `calls`, as `(peer, prev_log_index, entries)`.
fn appends(calls: Vec<(usize, Request)>) -> Vec<(usize, u64, usize)> {
    calls
        .into_iter()
        .filter_map(|(peer, request)| match request {
            Request::AppendEntries(args) => Some((peer, args.prev_log_index, args.entries.len())),
            _ => None,
        })
        .collect()
}

fn success() -> Option<Reply> {
    Some(Reply::AppendEntries(AppendEntriesReply {
        term: 1,
        success: true,
        conflict_term: None,
        conflict_index: 0,
    }))
}

/// A leader sends entry 1, `start`s entry 2 while it is in flight, then gets peer 1's
/// success for entry 1: returns its commit index and what it sends peer 1 next.
fn success_after_start<N: RaftNode<Request = Request, Reply = Reply>>()
-> (u64, Vec<(usize, u64, usize)>) {
    let (mut node, mut host) = generic_leader::<N>();
    node.start(&mut host.context(), vec![1]);
    host.fire_timer(&mut node).expect("replicate now");
    let (peer, request) = host.take_calls().remove(0);
    assert_eq!(peer, 1);
    node.start(&mut host.context(), vec![2]);
    host.fire_timer(&mut node)
        .expect("replicate now: both busy");
    assert!(host.calls.is_empty());
    node.handle_reply(&mut host.context(), peer, request, success());
    (node.inspect().commit_index, appends(host.take_calls()))
}

#[test]
fn a_success_counted_for_the_log_at_reply_time_commits_an_entry_the_follower_lacks() {
    assert_eq!(
        success_after_start::<Reference>(),
        (1, vec![(1, 1, 1)]),
        "entry 1 committed, entry 2 sent at once"
    );
    assert_eq!(
        success_after_start::<Flawed<flaws::MatchesOwnLog>>(),
        (2, vec![]),
        "entry 2 committed on the leader alone, and never sent"
    );
    assert_eq!(
        success_after_start::<Flawed<flaws::CommitsWholeLog>>(),
        (2, vec![(1, 1, 1)]),
        "entry 2 committed on the leader alone"
    );
}

/// A leader commits entries 1–3 with peer 2, snapshots through 2, sends peer 1 that snapshot,
/// snapshots through 3 while it is in flight, then gets peer 1's success: returns its match
/// index for peer 1.
fn install_reply_after_snapshot<N: RaftNode<Request = Request, Reply = Reply>>(
    match_of: impl Fn(&N) -> u64,
) -> u64 {
    let (mut node, mut host) = generic_leader::<N>();
    for value in 1..=3 {
        node.start(&mut host.context(), vec![value]);
    }
    host.fire_timer(&mut node).expect("replicate now");
    let mut calls = host.take_calls().into_iter();
    let to_peer_1 = calls.next().expect("entries to peer 1");
    let (peer, request) = calls.next().expect("entries to peer 2");
    node.handle_reply(&mut host.context(), peer, request, success());
    assert_eq!(node.inspect().commit_index, 3);
    node.snapshot(&mut host.context(), 2, vec![2]);
    let rejection = Reply::AppendEntries(AppendEntriesReply {
        term: 1,
        success: false,
        conflict_term: None,
        conflict_index: 1,
    });
    node.handle_reply(
        &mut host.context(),
        to_peer_1.0,
        to_peer_1.1,
        Some(rejection),
    );
    let (peer, install) = host.take_calls().remove(0);
    assert!(matches!(install, Request::InstallSnapshot(_)));
    node.snapshot(&mut host.context(), 3, vec![3]);
    let reply = Reply::InstallSnapshot(InstallSnapshotReply { term: 1 });
    node.handle_reply(&mut host.context(), peer, install, Some(reply));
    match_of(&node)
}

#[test]
fn a_snapshot_reply_counted_for_the_snapshot_at_reply_time_overstates_the_follower() {
    let match_of = |role: &Role| match role {
        Role::Leader(leader) => leader.match_index[1],
        _ => panic!("not leading"),
    };
    assert_eq!(
        install_reply_after_snapshot::<Reference>(|n| match_of(&n.role)),
        2
    );
    type Flawed2 = Flawed<flaws::SnapshotMatchesOwnSnapshot>;
    assert_eq!(
        install_reply_after_snapshot::<Flawed2>(|n| match_of(&n.inner.role)),
        3
    );
}

/// A follower gets entries 1–3 committed, then a heartbeat at `prevLogIndex` 1 with a later
/// `leaderCommit`, sent while those entries were in flight: returns its commit index.
fn late_heartbeat<N: RaftNode<Request = Request, Reply = Reply>>() -> u64 {
    let mut host = Host::new(2);
    let mut node: N = host.boot(1, 3);
    let append = |node: &mut N, host: &mut Host, prev_log_index, count, leader_commit| {
        let args = AppendEntriesArgs {
            term: 1,
            leader_id: 0,
            prev_log_index,
            prev_log_term: u64::from(prev_log_index > 0),
            entries: (0..count)
                .map(|k| Entry {
                    term: 1,
                    command: vec![k],
                })
                .collect(),
            leader_commit,
        };
        node.handle_request(&mut host.context(), Request::AppendEntries(args));
    };
    append(&mut node, &mut host, 0, 1, 0);
    append(&mut node, &mut host, 1, 2, 3);
    assert_eq!(node.inspect().commit_index, 3);
    append(&mut node, &mut host, 1, 0, 4);
    node.inspect().commit_index
}

#[test]
fn a_late_heartbeat_moves_only_the_flawed_commit_index_back() {
    assert_eq!(late_heartbeat::<Reference>(), 3);
    assert_eq!(late_heartbeat::<Flawed<flaws::CommitGoesBack>>(), 1);
}

/// A leader sends entry 1 and then a heartbeat (both at `prevLogIndex` 0) to peer 1; the
/// entry's success arrives first, the heartbeat's after it: returns its match index for peer 1.
fn success_then_stale_heartbeat<N: RaftNode<Request = Request, Reply = Reply>>(
    match_of: impl Fn(&N) -> u64,
) -> u64 {
    let (mut node, mut host) = generic_leader::<N>();
    node.start(&mut host.context(), vec![1]);
    host.fire_timer(&mut node).expect("replicate now");
    let (peer, entries) = host.take_calls().remove(0);
    host.fire_timer(&mut node).expect("heartbeat");
    let (_, heartbeat) = host.take_calls().remove(0);
    assert_eq!(appends(vec![(peer, heartbeat.clone())]), vec![(1, 0, 0)]);
    node.handle_reply(&mut host.context(), peer, entries, success());
    node.handle_reply(&mut host.context(), peer, heartbeat, success());
    match_of(&node)
}

#[test]
fn a_stale_success_moves_only_the_flawed_match_index_back() {
    let match_of = |role: &Role| match role {
        Role::Leader(leader) => leader.match_index[1],
        _ => panic!("not leading"),
    };
    assert_eq!(
        success_then_stale_heartbeat::<Reference>(|n| match_of(&n.role)),
        1
    );
    type Flawed3 = Flawed<flaws::StaleSuccessRewinds>;
    assert_eq!(
        success_then_stale_heartbeat::<Flawed3>(|n| match_of(&n.inner.role)),
        0
    );
}
