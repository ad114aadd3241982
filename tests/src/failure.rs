//! How a run fails: a classified value carrying the Go harness's message.

use std::fmt;

use labrpc::SimTime;

/// The class of a failure, so that a hunt can sort and count them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// A tester check failed (Go's `t.Fatal`/`t.Fatalf`, or an applier's `log.Fatalf`): a
    /// safety violation or a liveness timeout, with the Go message.
    FailedCheck,
    /// A safety property of the Raft paper broke (checked after every input; see
    /// [`crate::safety`]): the message starts with the property's name.
    Safety,
    /// After a nemesis campaign healed every fault (all links up, every node running, a
    /// reliable network), the cluster did not make progress within the stated bound: no
    /// single leader, or a fresh command not applied by every node. The message says what
    /// did not happen (`no leader 2.0 s after healing`).
    Liveness,
    /// The implementation (or the harness) panicked. A panic inside a node names the server
    /// and the call: `S2 panicked in handle_reply (a call to S0): ...`.
    Panic,
    /// Virtual time stopped advancing (a livelock of zero-delay events, or a tester task that
    /// never awaits), a node's handler asked for more effects in one input than any
    /// terminating one would, or the hunt's wall-clock watchdog fired.
    Hang,
    /// The test ran past its virtual-time limit.
    TimeLimit,
    /// The run held more pending events (messages in flight, timers) than
    /// [`crate::MAX_PENDING_EVENTS`], or more bytes of messages in flight than
    /// [`crate::MAX_PENDING_BYTES`]: a storm that would exhaust memory.
    ResourceLimit,
    /// The process running the run died during it: killed by a signal (a stack overflow
    /// aborts the process; so does a panic while panicking, or `std::process::abort`). Only a
    /// process that runs the run in a child can report it (the hunt's workers, `cargo test`'s
    /// run of each test).
    Crash,
    /// The process running the run exited during it, by itself (`std::process::exit`, with
    /// any status, 0 included: a Go student's `log.Fatal` or `os.Exit`).
    Exit,
    /// The implementation reached a `todo!()` or `unimplemented!()`: a part not written yet
    /// (the template's stub fails every test this way).
    NotImplemented,
    /// The run passed but the test printed a Go warning (`warning: term changed even though
    /// there were no failures`), and warnings fail runs (`--strict`, `LAB_STRICT=1`).
    Warning,
}

impl FailureKind {
    /// Short lowercase name, for tables and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::FailedCheck => "failed-check",
            FailureKind::Safety => "safety",
            FailureKind::Liveness => "liveness",
            FailureKind::Panic => "panic",
            FailureKind::Hang => "hang",
            FailureKind::TimeLimit => "time-limit",
            FailureKind::ResourceLimit => "resource-limit",
            FailureKind::Crash => "crash",
            FailureKind::Exit => "exit",
            FailureKind::NotImplemented => "not-implemented",
            FailureKind::Warning => "warning",
        }
    }

    /// The class of a run that panicked with `message`: [`FailureKind::NotImplemented`] for
    /// the messages of `todo!()` (`not yet implemented`) and `unimplemented!()` (`not
    /// implemented`), [`FailureKind::Panic`] for any other.
    pub fn of_panic(message: &str) -> FailureKind {
        if message.starts_with("not yet implemented") || message.starts_with("not implemented") {
            FailureKind::NotImplemented
        } else {
            FailureKind::Panic
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed run: what class, the message, and when (virtual time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The class.
    pub kind: FailureKind,
    /// The message, as the Go tester words it where there is a Go equivalent.
    pub message: String,
    /// Virtual time of the failure.
    pub at: SimTime,
}

impl Failure {
    /// A failed check (Go's `t.Fatalf`).
    pub fn check(at: SimTime, message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::FailedCheck,
            message: message.into(),
            at,
        }
    }
}

/// Displayed, a failure is `class at time: message`, its message [`shortened`]: a node's
/// panic message can be megabytes, and it is printed and recorded once per failure.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}: {}",
            self.kind,
            self.at,
            shortened(&self.message)
        )
    }
}

/// Bytes of a failure message that are printed and recorded (JSONL, JUnit, tables); the
/// whole message is in the run's log (the panic report, or `scripts/replay`).
pub const MESSAGE_BYTES: usize = 2048;

/// `message`, cut after [`MESSAGE_BYTES`] (at a character boundary) with a note of how much
/// was cut; unchanged if it is that short.
pub fn shortened(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MESSAGE_BYTES {
        return message.into();
    }
    let cut = (0..=MESSAGE_BYTES)
        .rev()
        .find(|&i| message.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "{} … [{} more bytes cut; the run's log has the whole message]",
        &message[..cut],
        message.len() - cut
    )
    .into()
}

impl std::error::Error for Failure {}

/// What every tester helper returns: Go's `t.Fatal` becomes `Err`, and `?` ends the test.
pub type TestResult<T = ()> = Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary_with_a_note() {
        assert_eq!(shortened("short"), "short");
        let long = "é".repeat(MESSAGE_BYTES); // 2 bytes each
        let cut = shortened(&long);
        assert!(cut.starts_with(&"é".repeat(MESSAGE_BYTES / 2)), "{cut}");
        assert!(
            cut.ends_with(&format!(
                " … [{} more bytes cut; the run's log has the whole message]",
                MESSAGE_BYTES
            )),
            "{cut}"
        );
        let failure = Failure::check(SimTime::ZERO, "x".repeat(1 << 20));
        assert!(failure.to_string().len() < MESSAGE_BYTES + 200);
    }

    #[test]
    #[allow(clippy::todo, clippy::unimplemented)] // the panics under test
    fn todo_and_unimplemented_panics_are_not_implemented_and_others_panics() {
        let todo = std::panic::catch_unwind(|| todo!("2A: elections")).unwrap_err();
        let todo = crate::panic_message(&*todo);
        assert_eq!(todo, "not yet implemented: 2A: elections");
        assert_eq!(FailureKind::of_panic(&todo), FailureKind::NotImplemented);
        let unimplemented = std::panic::catch_unwind(|| unimplemented!()).unwrap_err();
        let unimplemented = crate::panic_message(&*unimplemented);
        assert_eq!(
            FailureKind::of_panic(&unimplemented),
            FailureKind::NotImplemented
        );
        assert_eq!(
            FailureKind::of_panic("index out of bounds"),
            FailureKind::Panic
        );
        assert_eq!(FailureKind::NotImplemented.as_str(), "not-implemented");
    }
}
