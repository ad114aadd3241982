//! The in-flight flaws bite when a late reply arrives, and only then: each test delivers a
//! reply after its sender moved on, to the reference and to the flawed node.

use super::*;
use crate::flaws::{self, Flawed};
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
