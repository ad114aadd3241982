//! One node driven by hand: each test feeds inputs and checks the recorded effects.

use super::*;
use crate::messages::InstallSnapshotReply;
use crate::role::Role;
use crate::{APPEND_RETRY_MS, ELECTION_TIMEOUT_MAX_MS, ELECTION_TIMEOUT_MIN_MS};
use raft::testing::Effect;
use raft::{ApplyMsg, RaftView};

fn sent_entries(calls: &[(usize, Request)]) -> Vec<(usize, u64, usize)> {
    calls
        .iter()
        .map(|(peer, request)| match request {
            Request::AppendEntries(args) => (*peer, args.prev_log_index, args.entries.len()),
            other => panic!("not AppendEntries: {other:?}"),
        })
        .collect()
}

fn success(term: u64) -> Option<Reply> {
    Some(Reply::AppendEntries(AppendEntriesReply {
        term,
        success: true,
        conflict_term: None,
        conflict_index: 0,
    }))
}

#[test]
fn election_timeout_requests_votes() {
    let (mut node, mut host) = boot(0, 3);
    let trace = host.take_trace();
    let Some(Effect::SetTimer(_, delay_ms)) = trace.last() else {
        panic!("boot arms the election timer: {trace:?}");
    };
    assert!((ELECTION_TIMEOUT_MIN_MS..=ELECTION_TIMEOUT_MAX_MS).contains(delay_ms));
    fire(&mut node, &mut host);
    assert_eq!(node.state(), (1, false));
    assert_eq!(node.inspect().voted_for, Some(0));
    let trace = host.take_trace();
    let persisted = trace.iter().position(|e| *e == Effect::Persist(false));
    let first_call = trace.iter().position(|e| matches!(e, Effect::Call(_)));
    assert!(
        persisted < first_call,
        "term and vote saved before asking: {trace:?}"
    );
    let calls = host.take_calls();
    assert_eq!(calls.len(), 2);
    for (peer, (to, request)) in [1, 2].into_iter().zip(calls) {
        assert_eq!(to, peer);
        let expected = RequestVoteArgs {
            term: 1,
            candidate_id: 0,
            last_log_index: 0,
            last_log_term: 0,
        };
        assert_eq!(request, Request::RequestVote(expected));
    }
}

#[test]
fn heartbeat_postpones_election_without_new_timer() {
    let (mut node, mut host) = boot(0, 3);
    let first_deadline = host.next_timer_ms().expect("armed");
    host.now_ms = first_deadline - 10;
    append(&mut node, &mut host, 1, (0, 0), &[], 0);
    assert_eq!(host.timers.len(), 1, "the heartbeat sets no timer");
    fire(&mut node, &mut host);
    assert_eq!(node.state(), (1, false), "no election: the deadline moved");
    let rearmed_ms = host.next_timer_ms().expect("re-armed");
    assert!(rearmed_ms >= first_deadline - 10 + ELECTION_TIMEOUT_MIN_MS);
    assert!(host.take_calls().is_empty());
}

#[test]
fn vote_granted_once_per_term() {
    let (mut node, mut host) = boot(0, 3);
    let ask = |candidate_id| RequestVoteArgs {
        term: 1,
        candidate_id,
        last_log_index: 0,
        last_log_term: 0,
    };
    assert!(request_vote(&mut node, &mut host, ask(1)).vote_granted);
    assert!(host.trace.contains(&Effect::Persist(false)), "vote saved");
    assert!(!request_vote(&mut node, &mut host, ask(2)).vote_granted);
    assert!(
        request_vote(&mut node, &mut host, ask(1)).vote_granted,
        "asked again"
    );
    let reply = request_vote(&mut node, &mut host, RequestVoteArgs { term: 0, ..ask(2) });
    assert_eq!((reply.term, reply.vote_granted), (1, false), "stale term");
}

#[test]
fn vote_denied_to_stale_log() {
    let (mut node, mut host) = boot(0, 3);
    append(&mut node, &mut host, 2, (0, 0), &[1, 2], 0);
    let ask = RequestVoteArgs {
        term: 3,
        candidate_id: 2,
        last_log_index: 5,
        last_log_term: 1,
    };
    let reply = request_vote(&mut node, &mut host, ask.clone());
    assert_eq!(
        (reply.term, reply.vote_granted),
        (3, false),
        "older last term"
    );
    let shorter = RequestVoteArgs {
        last_log_index: 1,
        last_log_term: 2,
        ..ask.clone()
    };
    assert!(
        !request_vote(&mut node, &mut host, shorter).vote_granted,
        "shorter log"
    );
    let equal = RequestVoteArgs {
        last_log_index: 2,
        last_log_term: 2,
        ..ask
    };
    assert!(request_vote(&mut node, &mut host, equal).vote_granted);
}

#[test]
fn candidate_with_majority_leads_and_sends_heartbeats() {
    let (mut node, mut host) = boot(0, 3);
    fire(&mut node, &mut host);
    let mut requests = host.take_calls().into_iter();
    let (peer, request) = requests.next().expect("a request");
    let reply = RequestVoteReply {
        term: 1,
        vote_granted: true,
    };
    node.handle_reply(
        &mut host.context(),
        peer,
        request,
        Some(Reply::RequestVote(reply)),
    );
    assert_eq!(node.state(), (1, true));
    assert_eq!(sent_entries(&host.take_calls()), vec![(1, 0, 0), (2, 0, 0)]);
    assert!(
        host.timers.values().any(|&at| at == host.now_ms + 100),
        "heartbeat timer"
    );
    let (peer, request) = requests.next().expect("the other request");
    let reply = RequestVoteReply {
        term: 1,
        vote_granted: false,
    };
    node.handle_reply(
        &mut host.context(),
        peer,
        request,
        Some(Reply::RequestVote(reply)),
    );
    assert_eq!(node.state(), (1, true), "a late refusal changes nothing");
}

#[test]
fn higher_term_reply_makes_leader_follower() {
    let (mut node, mut host) = leader();
    fire(&mut node, &mut host); // a heartbeat
    let (peer, request) = host.take_calls().remove(0);
    let reply = AppendEntriesReply {
        term: 5,
        success: false,
        conflict_term: None,
        conflict_index: 0,
    };
    node.handle_reply(
        &mut host.context(),
        peer,
        request,
        Some(Reply::AppendEntries(reply)),
    );
    assert_eq!(node.state(), (5, false));
    assert_eq!(node.inspect().voted_for, None);
    let election = node.timers.election.expect("election timer armed");
    assert!(host.timers.contains_key(&election));
    assert!(node.timers.heartbeat.is_none(), "heartbeat timer gone");
    assert_eq!(host.timers.len(), 1, "heartbeat timer cancelled");
}

#[test]
fn start_batches_entries_and_keeps_one_in_flight() {
    let (mut node, mut host) = leader();
    for value in 1..=3 {
        assert_eq!(
            node.start(&mut host.context(), vec![value]),
            Some((value.into(), 1))
        );
    }
    assert!(host.calls.is_empty(), "nothing sent from start");
    fire(&mut node, &mut host); // replicate now
    let calls = host.take_calls();
    assert_eq!(sent_entries(&calls), vec![(1, 0, 3), (2, 0, 3)]);
    node.start(&mut host.context(), vec![4]);
    node.start(&mut host.context(), vec![5]);
    fire(&mut node, &mut host); // replicate now: both followers busy
    assert!(host.calls.is_empty());
    fire(&mut node, &mut host); // heartbeat
    assert_eq!(sent_entries(&host.take_calls()), vec![(1, 0, 0), (2, 0, 0)]);
    let (peer, request) = calls.into_iter().next().expect("to peer 1");
    node.handle_reply(&mut host.context(), peer, request, success(1));
    assert_eq!(node.inspect().commit_index, 3);
    let applied: Vec<u64> = host.take_applied().iter().map(apply_index).collect();
    assert_eq!(applied, vec![1, 2, 3]);
    assert_eq!(
        sent_entries(&host.take_calls()),
        vec![(1, 3, 2)],
        "the rest at once"
    );
}

fn apply_index(msg: &ApplyMsg) -> u64 {
    match msg {
        ApplyMsg::Command { index, .. } | ApplyMsg::Snapshot { index, .. } => *index,
    }
}

#[test]
fn lost_append_entries_is_retried() {
    let (mut node, mut host) = leader();
    node.start(&mut host.context(), vec![1]);
    fire(&mut node, &mut host);
    let (peer, request) = host.take_calls().remove(0);
    node.handle_reply(&mut host.context(), peer, request, None);
    assert!(host.calls.is_empty(), "no retry before the heartbeat");
    fire(&mut node, &mut host); // heartbeat
    assert_eq!(sent_entries(&host.take_calls()), vec![(1, 0, 1), (2, 0, 0)]);
    let until_ms = host.now_ms + APPEND_RETRY_MS + 100;
    while host.now_ms < until_ms {
        fire(&mut node, &mut host);
    }
    let resent = sent_entries(&host.take_calls());
    assert!(
        resent.contains(&(2, 0, 1)),
        "presumed lost, resent: {resent:?}"
    );
}

#[test]
fn follower_rejects_with_conflict_term_and_index() {
    let (mut node, mut host) = boot(1, 3);
    append(&mut node, &mut host, 2, (0, 0), &[1, 1, 2, 2, 2], 0);
    let reply = append(&mut node, &mut host, 3, (5, 3), &[3], 0);
    assert!(!reply.success);
    assert_eq!((reply.conflict_term, reply.conflict_index), (Some(2), 3));
    let reply = append(&mut node, &mut host, 3, (8, 3), &[3], 0);
    assert_eq!(
        (reply.conflict_term, reply.conflict_index),
        (None, 6),
        "log too short"
    );
    assert_eq!(
        node.inspect().log_terms,
        vec![1, 1, 2, 2, 2],
        "a rejection changes no log"
    );
}

#[test]
fn follower_truncates_only_a_conflicting_suffix() {
    let (mut node, mut host) = boot(1, 3);
    append(&mut node, &mut host, 1, (0, 0), &[1, 1, 1], 0);
    let reply = append(&mut node, &mut host, 2, (1, 1), &[2], 0);
    assert!(reply.success);
    assert_eq!(node.inspect().log_terms, vec![1, 2]);
    let reply = append(&mut node, &mut host, 2, (0, 0), &[1], 2);
    assert!(reply.success);
    assert_eq!(
        node.inspect().log_terms,
        vec![1, 2],
        "a stale request erases nothing"
    );
    assert_eq!(
        node.inspect().commit_index,
        1,
        "commit only through the last new entry"
    );
}

/// Node 0 leads term 4 with log terms [1, 1, 1, 3, 3, 3], none committed.
fn leader_with_old_entries() -> (Reference, Host) {
    let (mut node, mut host) = boot(0, 3);
    append(&mut node, &mut host, 3, (0, 0), &[1, 1, 1, 3, 3, 3], 0);
    elect(&mut node, &mut host);
    assert_eq!(node.state(), (4, true));
    host.take_calls();
    (node, host)
}

#[test]
fn leader_backs_up_over_a_term_in_one_round_trip() {
    let (mut node, mut host) = leader_with_old_entries();
    fire(&mut node, &mut host);
    let (peer, request) = host.take_calls().remove(0);
    let reply = AppendEntriesReply {
        term: 4,
        success: false,
        conflict_term: Some(2),
        conflict_index: 4,
    };
    node.handle_reply(
        &mut host.context(),
        peer,
        request,
        Some(Reply::AppendEntries(reply)),
    );
    assert_eq!(
        sent_entries(&host.take_calls()),
        vec![(1, 3, 3)],
        "from index 4 at once"
    );
    let Role::Leader(leader) = &node.role else {
        panic!("leads")
    };
    assert_eq!(leader.next_index[1], 4);
}

#[test]
fn leader_uses_its_last_entry_of_the_conflict_term() {
    let (mut node, mut host) = leader_with_old_entries();
    fire(&mut node, &mut host);
    let (peer, request) = host.take_calls().remove(0);
    let reply = AppendEntriesReply {
        term: 4,
        success: false,
        conflict_term: Some(1),
        conflict_index: 2,
    };
    node.handle_reply(
        &mut host.context(),
        peer,
        request,
        Some(Reply::AppendEntries(reply)),
    );
    assert_eq!(
        sent_entries(&host.take_calls()),
        vec![(1, 3, 3)],
        "we share term 1 to 3"
    );
}

#[test]
fn leader_commits_only_current_term_entries_figure_8() {
    let (mut node, mut host) = leader_with_old_entries();
    fire(&mut node, &mut host); // heartbeat at prev 6
    let (peer, request) = host.take_calls().remove(0);
    node.handle_reply(&mut host.context(), peer, request, success(4));
    assert_eq!(
        node.inspect().commit_index,
        0,
        "term-3 entries on a majority: not committed"
    );
    node.start(&mut host.context(), vec![7]);
    fire(&mut node, &mut host); // replicate now
    let (peer, request) = host.take_calls().remove(0);
    node.handle_reply(&mut host.context(), peer, request, success(4));
    assert_eq!(node.inspect().commit_index, 7);
    let applied: Vec<u64> = host.take_applied().iter().map(apply_index).collect();
    assert_eq!(applied, (1..=7).collect::<Vec<_>>());
}

/// A follower of term 1 with five committed entries, all applied.
fn follower_with_five() -> (Reference, Host) {
    let (mut node, mut host) = boot(1, 3);
    append(&mut node, &mut host, 1, (0, 0), &[1, 1, 1, 1, 1], 5);
    assert_eq!(host.take_applied().len(), 5);
    (node, host)
}

#[test]
fn snapshot_trims_log_and_persists_atomically() {
    let (mut node, mut host) = follower_with_five();
    host.take_trace();
    node.snapshot(&mut host.context(), 3, b"three".to_vec());
    let view = node.inspect();
    assert_eq!((view.snapshot_index, view.snapshot_term), (3, 1));
    assert_eq!(view.log_terms, vec![1, 1]);
    assert_eq!(host.take_trace(), vec![Effect::Persist(true)]);
    assert_eq!(host.snapshot, b"three");
    node.snapshot(&mut host.context(), 2, b"two".to_vec());
    assert!(host.take_trace().is_empty(), "a stale snapshot is ignored");
    assert_eq!(host.snapshot, b"three");
}

#[test]
fn boot_restores_term_vote_log_and_snapshot() {
    let (mut node, mut host) = follower_with_five();
    node.snapshot(&mut host.context(), 3, b"three".to_vec());
    let ask = RequestVoteArgs {
        term: 4,
        candidate_id: 2,
        last_log_index: 9,
        last_log_term: 3,
    };
    assert!(request_vote(&mut node, &mut host, ask).vote_granted);
    let before = node.inspect();
    let mut node = reboot(&mut host, 1, 3);
    let expected = RaftView {
        commit_index: 3,
        ..before
    };
    assert_eq!(
        node.inspect(),
        expected,
        "commit index restarts at the snapshot"
    );
    assert!(
        host.take_applied().is_empty(),
        "the service restored the snapshot itself"
    );
    append(&mut node, &mut host, 4, (5, 1), &[], 5);
    let applied: Vec<u64> = host.take_applied().iter().map(apply_index).collect();
    assert_eq!(applied, vec![4, 5], "resumes after the snapshot");
}

fn snapshot_args(index: u64, term: u64) -> InstallSnapshotArgs {
    InstallSnapshotArgs {
        term: 2,
        leader_id: 0,
        last_included_index: index,
        last_included_term: term,
        data: vec![index as u8],
    }
}

#[test]
fn install_snapshot_keeps_a_matching_suffix() {
    let (mut node, mut host) = boot(1, 3);
    append(&mut node, &mut host, 1, (0, 0), &[1, 1, 1, 1, 1], 2);
    host.take_applied();
    host.take_trace();
    install(&mut node, &mut host, snapshot_args(3, 1));
    let view = node.inspect();
    assert_eq!((view.snapshot_index, view.commit_index), (3, 3));
    assert_eq!(view.log_terms, vec![1, 1], "entries 4 and 5 retained");
    let snapshot = ApplyMsg::Snapshot {
        term: 1,
        index: 3,
        data: vec![3],
    };
    assert_eq!(host.take_applied(), vec![snapshot]);
    let trace = host.take_trace();
    let saved = trace.iter().position(|e| *e == Effect::Persist(true));
    let applied = trace.iter().position(|e| *e == Effect::Apply(3));
    assert!(
        saved.is_some() && saved < applied,
        "saved, then applied: {trace:?}"
    );
    append(&mut node, &mut host, 2, (5, 1), &[], 5);
    let applied: Vec<u64> = host.take_applied().iter().map(apply_index).collect();
    assert_eq!(applied, vec![4, 5]);
}

#[test]
fn install_snapshot_discards_a_mismatched_log() {
    let (mut node, mut host) = boot(1, 3);
    append(&mut node, &mut host, 1, (0, 0), &[1, 1], 0);
    install(&mut node, &mut host, snapshot_args(5, 2));
    let view = node.inspect();
    assert_eq!((view.snapshot_index, view.snapshot_term), (5, 2));
    assert!(view.log_terms.is_empty());
    assert_eq!(view.commit_index, 5);
    let booted = reboot(&mut host, 1, 3);
    assert_eq!(booted.inspect(), view);
}

#[test]
fn stale_install_snapshot_is_ignored() {
    let (mut node, mut host) = follower_with_five();
    host.take_trace();
    install(&mut node, &mut host, snapshot_args(4, 1));
    assert_eq!(
        node.inspect().snapshot_index,
        0,
        "entries through 5 are committed already"
    );
    assert!(host.applied.is_empty());
    assert!(!host.trace.contains(&Effect::Persist(true)));
}

#[test]
fn leader_sends_install_snapshot_to_a_lagging_follower() {
    let (mut node, mut host) = leader();
    for value in 1..=4 {
        node.start(&mut host.context(), vec![value]);
    }
    fire(&mut node, &mut host); // replicate now
    let calls = host.take_calls();
    let (peer, request) = calls.into_iter().next().expect("to peer 1");
    node.handle_reply(&mut host.context(), peer, request, success(1));
    assert_eq!(host.take_applied().len(), 4);
    node.snapshot(&mut host.context(), 3, b"snap".to_vec());
    let until_ms = host.now_ms + APPEND_RETRY_MS + 100;
    while host.now_ms < until_ms {
        fire(&mut node, &mut host); // heartbeats until peer 2's entries are presumed lost
    }
    let to_peer_2: Vec<Request> = host
        .take_calls()
        .into_iter()
        .filter(|(peer, _)| *peer == 2)
        .map(|(_, request)| request)
        .collect();
    let snapshots: Vec<&InstallSnapshotArgs> = to_peer_2
        .iter()
        .filter_map(|request| match request {
            Request::InstallSnapshot(args) => Some(args),
            _ => None,
        })
        .collect();
    let [args] = snapshots[..] else {
        panic!("expected one InstallSnapshot, got {to_peer_2:?}");
    };
    assert_eq!(
        (args.last_included_index, args.data.as_slice()),
        (3, &b"snap"[..])
    );
    let request = Request::InstallSnapshot(args.clone());
    let reply = Reply::InstallSnapshot(InstallSnapshotReply { term: 1 });
    node.handle_reply(&mut host.context(), 2, request, Some(reply));
    assert_eq!(
        sent_entries(&host.take_calls()),
        vec![(2, 3, 1)],
        "then the entry after it"
    );
}

#[test]
fn persisted_state_is_small() {
    let (mut node, mut host) = leader();
    let empty = host.raft_state.len();
    for value in 0..10 {
        node.start(&mut host.context(), vec![value; 10]);
    }
    let per_entry = (host.raft_state.len() - empty) / 10;
    assert!(empty <= 8, "header {empty} bytes");
    assert_eq!(per_entry, 12, "term, length and 10 command bytes");
}
