//! Unit tests of [`Reference`]: single nodes driven by hand on a [`RecordingHost`]
//! (`node.rs`). End to end, the reference runs the lab suites of the `tester` package; their
//! names end in the lab part (`cargo test 2a`), these do not.

mod in_flight;
mod node;

use super::log::Entry;
use super::messages::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, RequestVoteArgs, RequestVoteReply,
};
use super::{Reference, Reply, Request};
use raft::RaftNode;
use raft::testing::RecordingHost;

type Host = RecordingHost<Request>;

/// Boots node `me` of `peer_count` on a fresh host.
fn boot(me: usize, peer_count: usize) -> (Reference, Host) {
    let mut host = Host::new(me as u64 + 1);
    let node = host.boot(me, peer_count);
    (node, host)
}

/// Boots node `me` again from what `host` saved, as after a crash.
fn reboot(host: &mut Host, me: usize, peer_count: usize) -> Reference {
    host.crash();
    host.boot(me, peer_count)
}

/// Fires the next timer.
fn fire(node: &mut Reference, host: &mut Host) {
    host.fire_timer(node).expect("a timer");
}

/// Node 0 of `peer_count`, elected leader with votes from peers 1 and 2.
fn elect(node: &mut Reference, host: &mut Host) {
    while !matches!(node.role, super::role::Role::Candidate(_)) {
        fire(node, host);
    }
    let requests = host.take_calls();
    for (peer, request) in requests.into_iter().take(2) {
        let reply = Reply::RequestVote(RequestVoteReply {
            term: request.term(),
            vote_granted: true,
        });
        node.handle_reply(&mut host.context(), peer, request, Some(reply));
    }
    assert!(node.state().1, "elected");
}

/// A fresh leader: node 0 of 3, in term 1.
fn leader() -> (Reference, Host) {
    let (mut node, mut host) = boot(0, 3);
    elect(&mut node, &mut host);
    host.take_calls();
    (node, host)
}

fn entries(terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(k, &term)| Entry {
            term,
            command: vec![k as u8],
        })
        .collect()
}

/// Hands `node` an AppendEntries from leader 1.
fn append(
    node: &mut Reference,
    host: &mut Host,
    term: u64,
    prev: (u64, u64),
    entry_terms: &[u64],
    leader_commit: u64,
) -> AppendEntriesReply {
    let args = AppendEntriesArgs {
        term,
        leader_id: 1,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries: entries(entry_terms),
        leader_commit,
    };
    match node.handle_request(&mut host.context(), Request::AppendEntries(args)) {
        Reply::AppendEntries(reply) => reply,
        other => panic!("unexpected {other:?}"),
    }
}

fn request_vote(node: &mut Reference, host: &mut Host, args: RequestVoteArgs) -> RequestVoteReply {
    match node.handle_request(&mut host.context(), Request::RequestVote(args)) {
        Reply::RequestVote(reply) => reply,
        other => panic!("unexpected {other:?}"),
    }
}

fn install(node: &mut Reference, host: &mut Host, args: InstallSnapshotArgs) {
    let reply = node.handle_request(&mut host.context(), Request::InstallSnapshot(args));
    assert!(matches!(reply, Reply::InstallSnapshot(_)));
}
