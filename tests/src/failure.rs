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
    /// The implementation (or the harness) panicked.
    Panic,
    /// Virtual time stopped advancing (a livelock of zero-delay events), or the hunt's
    /// wall-clock watchdog fired.
    Hang,
    /// The test ran past its virtual-time limit.
    TimeLimit,
}

impl FailureKind {
    /// Short lowercase name, for tables and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::FailedCheck => "failed-check",
            FailureKind::Safety => "safety",
            FailureKind::Panic => "panic",
            FailureKind::Hang => "hang",
            FailureKind::TimeLimit => "time-limit",
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

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.kind, self.at, self.message)
    }
}

impl std::error::Error for Failure {}

/// What every tester helper returns: Go's `t.Fatal` becomes `Err`, and `?` ends the test.
pub type TestResult<T = ()> = Result<T, Failure>;
