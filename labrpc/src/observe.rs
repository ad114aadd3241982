//! What an observer sees: one record per simulated event, and the run's fingerprint.

use crate::SimTime;
use crate::sim::{CallId, Caller, EndId, TimerId};

/// Why a call failed (Go's `Call` returned false). Every failure reaches the caller as "no
/// reply"; the reason is for traces and tests only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// The end was disabled or unconnected, or no server was registered: spec §1.3 case B.
    Unreachable,
    /// Unreliable network dropped the request; the handler never ran.
    RequestDropped,
    /// The server crashed or was replaced before the request arrived; the handler never ran.
    ServerGone,
    /// The handler ran, but the end was disabled meanwhile: its reply is discarded.
    ServerDead,
    /// The node could not handle the request (it did not decode).
    Rejected,
    /// Unreliable network dropped the reply; the handler did run.
    ReplyDropped,
}

/// One simulated event, as observers see it. Bytes are borrowed: copy what you keep.
#[derive(Clone, Copy, Debug)]
pub enum EventRecord<'a> {
    /// A call entered the network (counted in `total_rpcs`).
    Send {
        /// The call.
        call: CallId,
        /// Who called.
        caller: Caller,
        /// Through which end.
        end: EndId,
        /// The encoded request.
        args: &'a [u8],
    },
    /// A request reached a live server and its handler ran.
    Handle {
        /// The call.
        call: CallId,
        /// The server that handled it.
        server: usize,
    },
    /// A call's outcome reached its caller (or was discarded because the caller is gone).
    Outcome {
        /// The call.
        call: CallId,
        /// Who called.
        caller: Caller,
        /// The reply, or why there is none.
        reply: Result<&'a [u8], FailReason>,
    },
    /// A node's timer fired.
    Timer {
        /// The node's server number.
        server: usize,
        /// The timer.
        timer: TimerId,
    },
    /// A driver wake-up (tester task) came due.
    Wake {
        /// The driver's token.
        token: u64,
    },
    /// The driver called into a node from outside an event (Start, Snapshot, a restart).
    External {
        /// The node's server number.
        server: usize,
        /// What the driver did, for traces.
        what: &'static str,
    },
    /// A node saved state to its persister (Go's `SaveRaftState`, `SaveStateAndSnapshot`).
    Persist {
        /// The node's server number.
        server: usize,
        /// The raft state saved.
        raft_state: &'a [u8],
        /// The snapshot saved with it, if any.
        snapshot: Option<&'a [u8]>,
    },
    /// A node handed a message to its service (Raft's apply): a command, or a snapshot.
    Apply {
        /// The node's server number.
        server: usize,
        /// The log index of the command, or the last index the snapshot covers.
        index: u64,
        /// For a snapshot: the term of its last entry; `None` for a command.
        snapshot_term: Option<u64>,
        /// The command, or the snapshot's bytes.
        data: &'a [u8],
    },
    /// The driver changed the network (connect, enable, add or delete a server, flags).
    NetworkChange {
        /// What changed, for traces.
        what: &'static str,
        /// The end or server concerned.
        target: u64,
        /// The new value (enabled, reliable, ...).
        value: u64,
    },
}

/// Sees every event of a simulation, in order, right after it happens.
///
/// Traces, checkers and the determinism self-check are observers. An observer must not
/// influence the run: it gets shared references only.
pub trait Observer {
    /// Called once per event.
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>);
}

/// A 64-bit hash over the whole event sequence of a run: same seed, same fingerprint.
///
/// Not cryptographic; fixed forever (no `std` hasher, whose algorithm may change), so a
/// fingerprint printed on one machine can be compared on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint(0x243f_6a88_85a3_08d3)
    }
}

impl Fingerprint {
    /// The hash so far.
    pub fn value(self) -> u64 {
        self.0
    }

    /// Folds one word in.
    pub fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    /// Folds a byte string in, eight bytes at a time, then its length.
    pub fn mix_bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("chunk of 8")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.mix(u64::from_le_bytes(tail));
        self.mix(bytes.len() as u64);
    }

    /// Folds one event in.
    pub fn record(&mut self, at: SimTime, event: &EventRecord<'_>) {
        self.mix(at.as_micros());
        match *event {
            EventRecord::Send {
                call,
                caller,
                end,
                args,
            } => {
                self.mix(1);
                self.mix(call.0);
                self.mix_caller(caller);
                self.mix(u64::from(end.0));
                self.mix_bytes(args);
            }
            EventRecord::Handle { call, server } => {
                self.mix(2);
                self.mix(call.0);
                self.mix(server as u64);
            }
            EventRecord::Outcome {
                call,
                caller,
                reply,
            } => {
                self.mix(3);
                self.mix(call.0);
                self.mix_caller(caller);
                match reply {
                    Ok(bytes) => self.mix_bytes(bytes),
                    Err(reason) => self.mix(100 + reason as u64),
                }
            }
            EventRecord::Timer { server, timer } => {
                self.mix(4);
                self.mix(server as u64);
                self.mix(timer.0);
            }
            EventRecord::Wake { token } => {
                self.mix(5);
                self.mix(token);
            }
            EventRecord::External { server, what } => {
                self.mix(6);
                self.mix(server as u64);
                self.mix_bytes(what.as_bytes());
            }
            EventRecord::Persist {
                server,
                raft_state,
                snapshot,
            } => {
                // Sizes only: a Raft that persists its whole state on every change would
                // otherwise pay for hashing it again; what it persisted shows in what it sends.
                self.mix(8);
                self.mix(server as u64);
                self.mix(raft_state.len() as u64);
                self.mix(snapshot.map_or(u64::MAX, |snapshot| snapshot.len() as u64));
            }
            EventRecord::Apply {
                server,
                index,
                snapshot_term,
                data,
            } => {
                self.mix(9);
                self.mix(server as u64);
                self.mix(index);
                match snapshot_term {
                    // A command is short; a snapshot can be large: its size only.
                    None => self.mix_bytes(data),
                    Some(term) => {
                        self.mix(term);
                        self.mix(data.len() as u64);
                    }
                }
            }
            EventRecord::NetworkChange {
                what,
                target,
                value,
            } => {
                self.mix(7);
                self.mix_bytes(what.as_bytes());
                self.mix(target);
                self.mix(value);
            }
        }
    }

    fn mix_caller(&mut self, caller: Caller) {
        match caller {
            Caller::Driver => self.mix(0),
            Caller::Node {
                server,
                incarnation,
            } => {
                self.mix(1 + server as u64);
                self.mix(incarnation);
            }
        }
    }
}
