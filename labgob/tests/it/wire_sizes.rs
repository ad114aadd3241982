//! Wire sizes, pinned byte for byte: the tester's byte thresholds (TestRPCBytes2B, the 2D
//! `MAXLOGSIZE` check, the "Passed" line) are calibrated to this encoding, so any codec or
//! configuration change must fail here first and be recalibrated on purpose.
//!
//! Ours against the Go gob sizes measured in spec §2.6. Gob is much larger because labrpc
//! makes a new encoder per message, so every message carries its type descriptor with field
//! names; we send no descriptor, and integers are varints (one byte up to 250, then a marker
//! byte 251/252/253 and 2/4/8 little-endian bytes).
//!
//! | value                                   | gob        | ours   |
//! |-----------------------------------------|------------|--------|
//! | int 0                                   | 4 B        | 1 B    |
//! | int 111                                 | 5 B        | 1 B    |
//! | int 9099                                | 6 B        | 3 B    |
//! | 63-bit int (2^62)                       | 12 B       | 9 B    |
//! | 107-character string                    | 111 B      | 108 B  |
//! | 5000-character string                   | 5008 B     | 5003 B |
//! | 5000-byte `Vec<u8>`                     | (n/a)      | 5003 B |
//! | RequestVoteArgs{5, 2, 100, 4}           | 92–96 B    | 4 B    |
//! | RequestVoteReply{5, true}               | 60–64 B    | 2 B    |
//! | AppendEntriesArgs heartbeat             | 198–206 B  | 6 B    |
//! | same, one 63-bit int command            | 222–228 B  | 18 B   |
//! | tester 2D snapshot, N = 10 / 100 / 300  | 168 / 1610 / 4813 B | 123 / 1203 / 3607 B |

use labgob::encode;

use crate::types::{AppendEntriesArgs, LogEntry, RequestVoteArgs, RequestVoteReply, TestCommand};

fn bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    encode(value).expect("encode")
}

/// Go's `rand.Int()`-sized command value (63 bits), as the 2C/2D tests use.
const BIG: u64 = 1 << 62;

#[test]
fn ints() {
    assert_eq!(bytes(&0u64), [0]);
    assert_eq!(bytes(&111u64), [111]);
    assert_eq!(bytes(&250u64), [250]);
    assert_eq!(bytes(&251u64), [251, 251, 0]);
    assert_eq!(bytes(&9099u64), [251, 0x8b, 0x23]);
    assert_eq!(bytes(&BIG), [253, 0, 0, 0, 0, 0, 0, 0, 0x40]);
    // Signed ints are zigzag varints.
    assert_eq!(bytes(&-1i64), [1]);
    assert_eq!(bytes(&111i64), [222]);
}

#[test]
fn strings_and_bytes() {
    let s107 = "a".repeat(107);
    let b = bytes(&s107);
    assert_eq!(b.len(), 108);
    assert_eq!(b[0], 107);
    assert_eq!(&b[1..], s107.as_bytes());

    let b = bytes(&"b".repeat(5000));
    assert_eq!(b.len(), 5003);
    assert_eq!(&b[..3], [251, 0x88, 0x13]); // 5000 = 0x1388

    let b = bytes(&vec![0xabu8; 5000]);
    assert_eq!(b.len(), 5003);
    assert_eq!(&b[..3], [251, 0x88, 0x13]);
}

#[test]
fn raft_messages() {
    let args = RequestVoteArgs {
        term: 5,
        candidate_id: 2,
        last_log_index: 100,
        last_log_term: 4,
    };
    assert_eq!(bytes(&args), [5, 2, 100, 4]);
    let reply = RequestVoteReply {
        term: 5,
        vote_granted: true,
    };
    assert_eq!(bytes(&reply), [5, 1]);

    let mut heartbeat = AppendEntriesArgs {
        term: 5,
        leader_id: 2,
        prev_log_index: 100,
        prev_log_term: 4,
        entries: vec![],
        leader_commit: 99,
    };
    assert_eq!(bytes(&heartbeat), [5, 2, 100, 4, 0, 99]);

    // The tester's int command: variant 0, then the varint.
    let command = bytes(&TestCommand::Int(BIG));
    assert_eq!(command.len(), 10);
    assert_eq!(bytes(&TestCommand::Int(7)), [0, 7]);
    assert_eq!(
        bytes(&TestCommand::Str("hi".to_owned())),
        [1, 2, b'h', b'i']
    );
    heartbeat.entries.push(LogEntry { term: 5, command });
    // entries: count 1, term 1, command length 1 + 10 command bytes.
    assert_eq!(bytes(&heartbeat).len(), 6 + 1 + 1 + 10);
}

/// The tester's 2D snapshot: `(index, log)` with `log[0] = None` and `index` int commands of
/// 63 bits. Each entry is 12 bytes: Some tag, length, variant, 9-byte varint.
#[test]
fn tester_snapshots() {
    let snapshot = |n: u64| {
        let log: Vec<Option<Vec<u8>>> = (0..=n)
            .map(|j| (j > 0).then(|| bytes(&TestCommand::Int(BIG + j))))
            .collect();
        bytes(&(n, log)).len()
    };
    assert_eq!(snapshot(10), 1 + 1 + 1 + 10 * 12);
    assert_eq!(snapshot(10), 123);
    assert_eq!(snapshot(100), 1203);
    assert_eq!(snapshot(300), 3 + 3 + 1 + 300 * 12);
    assert_eq!(snapshot(300), 3607);
}
