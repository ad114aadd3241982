//! `cargo test`'s wall-clock watchdog: a run whose node never returns (`loop {}` in a handler)
//! would hang the test binary for ever. A thread *outside* the simulation waits for each run
//! with a limit of real time; past it, it prints the test, the seed, the virtual time, the
//! node and the call it is in with the input it was handling (the request's, reply's or
//! timer's `Debug` text, its first 1 KiB), and the reproduce line, then exits the binary with
//! status 101 (the stuck thread cannot be stopped). The simulation only stores into a
//! [`Watch`]: its virtual time after each event, the node call it is in, and that input's
//! text (formatted only while a watchdog watches: `cargo test`, not the hunt).
//!
//! The stuck thread's backtrace is not printed: `std::backtrace::Backtrace` captures only the
//! calling thread's stack, and another thread's needs a debugger (`gdb -p PID`, `thread apply
//! all bt`). The node, the call and the input say where it is stuck; the reproduce line under
//! a debugger shows the rest.
//!
//! The limit is [`DEFAULT_LIMIT_SECS`], or `LAB_WATCHDOG_SECS` (`0` turns it off). The hunt
//! has its own watchdog (`--hang-timeout`).

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::guard::NodeCall;

/// Wall-clock seconds a run of `cargo test` may take before the watchdog stops the binary.
pub const DEFAULT_LIMIT_SECS: u64 = 120;

/// The environment variable that sets the limit in seconds (`0`: no watchdog).
pub const LIMIT_ENV: &str = "LAB_WATCHDOG_SECS";

/// What the watchdog can read of a run in progress.
#[derive(Default)]
pub struct Watch {
    now_ms: AtomicU64,
    call: Mutex<Option<(usize, NodeCall)>>,
    /// The `Debug` text of the input the node call is handling.
    input: Mutex<Option<String>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
}

/// Records on this thread's watched run (if any) that the node call `call` on `server` starts;
/// returns what to restore when it ends.
pub(crate) fn enter(server: usize, call: NodeCall) -> Option<(usize, NodeCall)> {
    CURRENT.with_borrow(|watch| {
        let watch = watch.as_ref()?;
        *watch.input.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let mut slot = watch.call.lock().unwrap_or_else(|e| e.into_inner());
        slot.replace((server, call))
    })
}

/// The node call that [`enter`] recorded ended; `previous` is what it returned.
pub(crate) fn leave(previous: Option<(usize, NodeCall)>) {
    CURRENT.with_borrow(|watch| {
        if let Some(watch) = watch {
            *watch.call.lock().unwrap_or_else(|e| e.into_inner()) = previous;
        }
    });
}

/// Records on this thread's watched run (if any) the input the current node call handles:
/// `describe` is called only then.
pub(crate) fn handling(describe: impl FnOnce() -> String) {
    CURRENT.with_borrow(|watch| {
        if let Some(watch) = watch {
            *watch.input.lock().unwrap_or_else(|e| e.into_inner()) = Some(describe());
        }
    });
}

/// Records the run's virtual time.
pub(crate) fn at(now_ms: u64) {
    CURRENT.with_borrow(|watch| {
        if let Some(watch) = watch {
            watch.now_ms.store(now_ms, Ordering::Relaxed);
        }
    });
}

/// The watchdog's limit: [`LIMIT_ENV`] or [`DEFAULT_LIMIT_SECS`]; `None` if turned off.
pub fn limit() -> Option<Duration> {
    let secs = crate::env_u64(LIMIT_ENV).unwrap_or(DEFAULT_LIMIT_SECS);
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Runs `run` (a run of `test` on `seed`, on this thread) under the watchdog; `reproduce` is
/// the command printed if it fires.
pub fn watched<T>(test: &str, seed: u64, reproduce: String, run: impl FnOnce() -> T) -> T {
    let Some(limit) = limit() else {
        return run();
    };
    let watch = Arc::new(Watch::default());
    let done = spawn_watchdog(
        Arc::clone(&watch),
        limit,
        format!("{test} (seed {seed})"),
        reproduce,
    );
    CURRENT.set(Some(watch));
    let out = run();
    CURRENT.set(None);
    let _ = done.send(());
    out
}

/// The watchdog thread: lives outside the simulation, reads only the [`Watch`].
#[allow(clippy::disallowed_methods)] // a thread beside the simulation, not in it
fn spawn_watchdog(
    watch: Arc<Watch>,
    limit: Duration,
    run: String,
    reproduce: String,
) -> Sender<()> {
    let (done, finished) = channel::<()>();
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
            // Written to the streams themselves: libtest's capture (which this thread
            // inherits) would be lost at the exit.
            let text = report(&watch, limit, &run, &reproduce);
            let _ = writeln!(std::io::stdout(), "{text}");
            let _ = writeln!(std::io::stderr(), "{text}");
            crate::isolate::mark("reported");
            std::process::exit(101);
        }
    });
    done
}

/// What the watchdog prints when it fires.
fn report(watch: &Watch, limit: Duration, run: &str, reproduce: &str) -> String {
    let now_ms = watch.now_ms.load(Ordering::Relaxed);
    let call = *watch.call.lock().unwrap_or_else(|e| e.into_inner());
    let input = watch
        .input
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let place = match (call, input) {
        (Some((server, call)), Some(input)) => {
            format!("S{server} is still in {call}, handling {input}")
        }
        (Some((server, call)), None) => format!("S{server} is still in {call}"),
        (None, _) => "no node call is running (a tester task or the harness)".to_owned(),
    };
    format!(
        "--- FAIL: {run}: hang: no result after {} s of wall-clock time ({LIMIT_ENV} sets the \
         limit); at virtual time {}.{:03}s {place}. The test binary stops here.\n    \
         reproduce: {reproduce}",
        limit.as_secs(),
        now_ms / 1000,
        now_ms % 1000
    )
}
