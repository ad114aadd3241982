//! Log lines in virtual time: every `log` line is prefixed with the virtual time and node of
//! the event being simulated, so a run's logs read like a timeline.
//!
//! ```text
//!     1.204s S2  DEBUG election: became candidate in term 2
//! ```
//!
//! `cargo test` turns it on when `RUST_LOG` is set (any implementation's `log::debug!` lines
//! then appear, with `-- --nocapture`); `scripts/replay` always does.

use std::cell::{Cell, RefCell};
use std::io::Write;

use labrpc::SimTime;
use log::{Level, Record};

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "debug";

/// `   1.204s S2  DEBUG election: message`: virtual time, node (`--` outside a node's
/// handler), level, the last segment of the module path, the message.
pub fn format_line(
    buf: &mut env_logger::fmt::Formatter,
    record: &Record<'_>,
) -> std::io::Result<()> {
    if MUTED.with(Cell::get) {
        return Ok(());
    }
    let (at, node) = labrpc::current();
    let node = node.map_or_else(|| "--".to_owned(), |n| format!("S{n}"));
    let target = record.target().rsplit("::").next().unwrap_or_default();
    tap_line(at, node_index(), record.level(), target, record);
    writeln!(
        buf,
        "{:>13} {node:<3} {:<5} {target}: {}",
        at.to_string(),
        record.level(),
        record.args()
    )
}

/// An `env_logger` builder filtered by `RUST_LOG` (default [`DEFAULT_FILTER`]) that formats
/// with [`format_line`].
pub fn builder() -> env_logger::Builder {
    let env = env_logger::Env::default().default_filter_or(DEFAULT_FILTER);
    let mut builder = env_logger::Builder::from_env(env);
    builder.format(format_line);
    builder
}

/// For `cargo test`: if `RUST_LOG` is set, logs through libtest's capture (shown for failing
/// tests, or with `-- --nocapture`). Does nothing if a logger is already installed.
pub fn init_for_cargo_test() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = builder().is_test(true).try_init();
    }
}

thread_local! {
    /// Whether log lines on this thread are dropped (a shadow boot of the safety checker).
    static MUTED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's log lines dropped: a node the safety checker boots only to
/// inspect must not log as if it were running.
pub fn muted<T>(f: impl FnOnce() -> T) -> T {
    struct Unmute(bool);
    impl Drop for Unmute {
        fn drop(&mut self) {
            MUTED.with(|muted| muted.set(self.0));
        }
    }
    let _unmute = Unmute(MUTED.with(|muted| muted.replace(true)));
    f()
}

/// A log line as a [`LogTap`] sees it: virtual time, node (`None`: the tester), level, topic
/// (the last segment of the target), message.
pub struct TappedLine<'a> {
    /// Virtual time of the event being simulated.
    pub at: SimTime,
    /// The node whose handler logged, if any.
    pub node: Option<usize>,
    /// The level.
    pub level: Level,
    /// The target's last `::` segment: the topic.
    pub target: &'a str,
    /// The formatted message.
    pub message: &'a str,
}

/// Receives the log lines of one thread, structured, as they are formatted (the timeline).
pub trait LogTap {
    /// One line.
    fn on_log(&mut self, line: &TappedLine<'_>);
}

thread_local! {
    /// Where this thread's log lines also go, structured.
    static TAP: RefCell<Option<Box<dyn LogTap>>> = const { RefCell::new(None) };
}

/// While alive, this thread's formatted log lines also go to a [`LogTap`]; dropping it removes
/// the tap. Only lines the installed logger formats reach it (`RUST_LOG`).
pub struct TapGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Taps this thread's log lines into `sink` until the guard is dropped.
pub fn tap(sink: Box<dyn LogTap>) -> TapGuard {
    TAP.with(|tap| *tap.borrow_mut() = Some(sink));
    TapGuard {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for TapGuard {
    fn drop(&mut self) {
        TAP.with(|tap| tap.borrow_mut().take());
    }
}

fn node_index() -> Option<usize> {
    labrpc::current().1
}

fn tap_line(at: SimTime, node: Option<usize>, level: Level, target: &str, record: &Record<'_>) {
    TAP.with(|tap| {
        if let Ok(mut tap) = tap.try_borrow_mut()
            && let Some(sink) = tap.as_mut()
        {
            let message = record.args().to_string();
            sink.on_log(&TappedLine {
                at,
                node,
                level,
                target,
                message: &message,
            });
        }
    });
}
