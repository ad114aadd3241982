//! Debug logs (`RUST_LOG`, through `env_logger`) with every line prefixed by the virtual time
//! and node of the event being simulated, and a panic hook that keeps hunt workers quiet.
//!
//! ```text
//!     1.204s S2  DEBUG election: became candidate in term 2
//! ```
//!
//! `scripts/replay` logs to stderr ([`init_stderr`]). The hunt logs only while it reruns a
//! failing seed, into that run's log file: [`init_capture`] installs a logger that writes the
//! lines of a thread to the file of its [`Capture`], and logs nothing (not even formatting)
//! while no thread captures.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use log::{LevelFilter, Log, Metadata, Record};

pub use tester::logging::DEFAULT_FILTER;
use tester::logging::builder;

/// Logs to stderr, filtered by `RUST_LOG` (default `debug`). For `scripts/replay`.
pub fn init_stderr() {
    builder().init();
}

/// Formats the lines `RUST_LOG` lets through (so that a [`tester::logging::tap`] sees them)
/// but writes them nowhere. For `scripts/replay --columns`.
pub fn init_silent() {
    builder()
        .target(env_logger::Target::Pipe(Box::new(std::io::sink())))
        .init();
}

thread_local! {
    /// Where this thread's log lines go while it captures.
    static CAPTURE: RefCell<Option<Box<dyn Write>>> = const { RefCell::new(None) };
    /// Whether a panic on this thread is reported by its hunt worker instead of printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic on this thread happened.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Writes to the capture file of the calling thread, if any.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(file) = capture.borrow_mut().as_mut() {
                // A full disk loses log lines, not the hunt.
                let _ = file.write_all(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Passes records to `env_logger` only from a capturing thread.
struct Gate {
    inner: env_logger::Logger,
}

fn capturing() -> bool {
    CAPTURE.with(|capture| capture.borrow().is_some())
}

impl Log for Gate {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        capturing() && self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if capturing() {
            self.inner.log(record);
        }
    }

    fn flush(&self) {}
}

/// The `RUST_LOG` level while some thread captures; `None` until [`init_capture`].
static CAPTURE_LEVEL: OnceLock<LevelFilter> = OnceLock::new();
/// Threads capturing now.
static CAPTURING: Mutex<usize> = Mutex::new(0);

/// Installs the capturing logger (once per process; later calls do nothing). Until a thread
/// starts a [`Capture`], log macros cost one comparison.
pub fn init_capture() {
    CAPTURE_LEVEL.get_or_init(|| {
        let inner = builder()
            .write_style(env_logger::WriteStyle::Never)
            .target(env_logger::Target::Pipe(Box::new(ThreadSink)))
            .build();
        let level = inner.filter();
        if log::set_boxed_logger(Box::new(Gate { inner })).is_err() {
            return LevelFilter::Off;
        }
        log::set_max_level(LevelFilter::Off);
        level
    });
}

/// While alive, log lines of this thread (and the report of a panic, with its backtrace) go to
/// a writer. Dropping it flushes the writer.
pub struct Capture {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Capture {
    /// Starts capturing this thread's log lines into `sink` (buffer it).
    pub fn start(sink: Box<dyn Write>) -> Capture {
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(sink));
        let mut count = CAPTURING.lock().unwrap_or_else(|e| e.into_inner());
        *count += 1;
        log::set_max_level(CAPTURE_LEVEL.get().copied().unwrap_or(LevelFilter::Off));
        Capture {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let mut count = CAPTURING.lock().unwrap_or_else(|e| e.into_inner());
        *count -= 1;
        if *count == 0 {
            log::set_max_level(LevelFilter::Off);
        }
        drop(count);
        if let Some(mut file) = CAPTURE.with(|capture| capture.borrow_mut().take()) {
            let _ = file.flush();
        }
    }
}

/// Makes panics on hunt worker threads quiet: the worker reports them as failed runs (with
/// [`take_panic_location`]), and while a [`Capture`] is active the full report with a
/// backtrace goes to its file. Panics on other threads print as before.
/// Installs once per process; later calls do nothing.
pub fn install_quiet_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(install_hook);
}

fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.with(Cell::get) {
            previous(info);
            return;
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        LAST_PANIC.with(|last| *last.borrow_mut() = location);
        CAPTURE.with(|capture| {
            if let Some(file) = capture.borrow_mut().as_mut() {
                let (at, node) = labrpc::current();
                let node = node.map_or_else(|| "--".to_owned(), |n| format!("S{n}"));
                let backtrace = std::backtrace::Backtrace::force_capture();
                let _ = writeln!(file, "{:>13} {node:<3} {info}\n{backtrace}", at.to_string());
            }
        });
    }));
}

/// Marks the calling thread as a hunt worker whose panics are quiet.
pub fn quiet_panics_on_this_thread() {
    QUIET.with(|quiet| quiet.set(true));
}

/// Where the last quiet panic of this thread happened (`file:line:col`), once.
pub fn take_panic_location() -> Option<String> {
    LAST_PANIC.with(|last| last.borrow_mut().take())
}
