//! A run as a timeline: every simulated event, each node's view after each of its inputs and
//! each `log` line, gathered into a [`Timeline`] (the model behind `scripts/replay --html` and
//! `--columns`; the `scripts` crate draws it).
//!
//! [`record`] runs one test on one seed and returns its report with the timeline. Underneath, a
//! [`Recorder`] feeds one [`model::Builder`] from three sides: an [`Observer`] (the events), a
//! [`ViewObserver`] (installed through [`crate::RunOptions::views`]; the config calls it after
//! every input a node handles, with the node's `inspect()` view) and a
//! [`crate::logging::LogTap`] (the log lines of this thread). Recording only reads: a run's
//! events and fingerprint are the same with it or without it.

pub mod model;

use std::cell::RefCell;
use std::rc::Rc;

use labrpc::{EventRecord, Observer, SimTime};
use raft::{RaftNode, RaftView};

pub use model::Timeline;
use model::{Builder, Decoder};

use crate::{RunOptions, RunReport, TestCase, run_case};

/// Sees each node's view after every input it handles (boot, request, reply, timer, `start`,
/// `snapshot`), at virtual time `at`. Must only read.
pub trait ViewObserver {
    /// Called once per input, after it.
    fn on_view(&mut self, at: SimTime, server: usize, view: &RaftView);
}

/// Several observers in one, called in order.
pub struct Tee(pub Vec<Box<dyn Observer>>);

impl Observer for Tee {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        for observer in &mut self.0 {
            observer.on_event(at, event);
        }
    }
}

/// Gathers a [`Timeline`] from the observer, the view observer and the log tap it hands out.
#[derive(Clone)]
pub struct Recorder(Rc<RefCell<Builder>>);

impl Recorder {
    /// A recorder for a run of `servers` servers whose messages decode as `R`'s.
    pub fn new<R: RaftNode>(servers: usize) -> Recorder {
        let decoders: (Option<Decoder>, Option<Decoder>) = (
            Some(crate::trace::decode_debug::<R::Request>),
            Some(crate::trace::decode_debug::<R::Reply>),
        );
        Recorder(Rc::new(RefCell::new(Builder::new(servers, decoders))))
    }

    /// The timeline so far, every open band and span closed at the last event.
    pub fn finish(self) -> Timeline {
        let builder = std::mem::replace(&mut *self.0.borrow_mut(), Builder::new(0, (None, None)));
        builder.finish()
    }
}

impl Observer for Recorder {
    fn on_event(&mut self, at: SimTime, event: &EventRecord<'_>) {
        self.0.borrow_mut().on_event(at, event);
    }
}

impl ViewObserver for Recorder {
    fn on_view(&mut self, at: SimTime, server: usize, view: &RaftView) {
        self.0.borrow_mut().on_view(at, server, view);
    }
}

impl crate::logging::LogTap for Recorder {
    fn on_log(&mut self, line: &crate::logging::TappedLine<'_>) {
        // A line logged while the builder is busy (it never logs) would be lost, not a panic.
        if let Ok(mut builder) = self.0.try_borrow_mut() {
            builder.on_log(
                line.at,
                line.node,
                line.level as u8,
                line.target,
                line.message,
            );
        }
    }
}

/// Runs `case` on `seed` with `options` (its observer, if any, still sees every event) and
/// records the run's timeline. The log lines in it are those the installed logger lets through
/// (`RUST_LOG`); with no logger, there are none.
pub fn record<R: RaftNode>(
    case: &TestCase<R>,
    seed: u64,
    mut options: RunOptions,
) -> (RunReport, Timeline) {
    let recorder = Recorder::new::<R>(case.servers);
    let mut observers: Vec<Box<dyn Observer>> = options.observer.take().into_iter().collect();
    observers.push(Box::new(recorder.clone()));
    options.observer = Some(Box::new(Tee(observers)));
    options.views = Some(Box::new(recorder.clone()));
    let report = {
        let _tap = crate::logging::tap(Box::new(recorder.clone()));
        run_case(case, seed, options)
    };
    (report, recorder.finish())
}

#[cfg(test)]
mod tests;
