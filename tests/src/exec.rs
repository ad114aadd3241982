//! A tiny single-threaded executor for tester tasks, driven by the simulation's clock.
//!
//! Go's tests run goroutines (concurrent `one()` calls, churn clients) next to Raft. Here each
//! is an `async` task; the only things a task awaits are [`crate::Config::sleep_ms`] and
//! [`JoinHandle`]s. Tasks run one at a time, in a fixed order, and between their awaits
//! everything happens at one virtual instant: concurrency becomes a deterministic
//! interleaving. Wakers are not used (the executor knows why each task sleeps), so the waker
//! is a no-op.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Index of a task in the executor.
pub(crate) type TaskId = usize;

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Task bookkeeping. **Invariant:** a task is in `ready` at most because something it waits
/// for happened (its sleep came due, a task it joins finished); spurious polls are harmless.
#[derive(Default)]
pub(crate) struct Executor {
    tasks: Vec<Option<Task>>,
    done: Vec<bool>,
    ready: VecDeque<TaskId>,
    current: Option<TaskId>,
    join_waiters: BTreeMap<TaskId, Vec<TaskId>>,
}

impl Executor {
    pub(crate) fn spawn(&mut self, future: Task) -> TaskId {
        let id = self.tasks.len();
        self.tasks.push(Some(future));
        self.done.push(false);
        self.ready.push_back(id);
        id
    }

    /// Drops every task. Pending tasks hold `Config` handles, which hold this executor: a
    /// run that ends with tasks still pending must break that cycle or leak the whole run.
    pub(crate) fn clear(&mut self) {
        self.tasks.clear();
        self.ready.clear();
        self.join_waiters.clear();
    }

    pub(crate) fn current(&self) -> TaskId {
        self.current
            .expect("tester helpers that wait must be awaited inside a tester task")
    }

    pub(crate) fn wake(&mut self, task: TaskId) {
        if !self.done[task] {
            self.ready.push_back(task);
        }
    }

    pub(crate) fn is_done(&self, task: TaskId) -> bool {
        self.done[task]
    }

    fn wait_for(&mut self, task: TaskId, waiter: TaskId) {
        self.join_waiters.entry(task).or_default().push(waiter);
    }
}

/// Runs every ready task until none is ready. A finished task wakes its joiners.
pub(crate) fn run_ready(executor: &RefCell<Executor>) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let Some((id, mut task)) = next_ready(executor) else {
            return;
        };
        let poll = task.as_mut().poll(&mut cx);
        let mut exec = executor.borrow_mut();
        exec.current = None;
        match poll {
            Poll::Pending => exec.tasks[id] = Some(task),
            Poll::Ready(()) => {
                exec.done[id] = true;
                for waiter in exec.join_waiters.remove(&id).unwrap_or_default() {
                    exec.wake(waiter);
                }
            }
        }
    }
}

fn next_ready(executor: &RefCell<Executor>) -> Option<(TaskId, Task)> {
    let mut exec = executor.borrow_mut();
    while let Some(id) = exec.ready.pop_front() {
        if let Some(task) = exec.tasks[id].take() {
            exec.current = Some(id);
            return Some((id, task));
        }
    }
    None
}

/// The result of a spawned task, awaited by another (Go's `WaitGroup` or channel).
pub struct JoinHandle<T> {
    pub(crate) task: TaskId,
    pub(crate) slot: Rc<RefCell<Option<T>>>,
    pub(crate) executor: Rc<RefCell<Executor>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        if let Some(value) = self.slot.borrow_mut().take() {
            return Poll::Ready(value);
        }
        let mut exec = self.executor.borrow_mut();
        if exec.is_done(self.task) {
            // Done without a value: the task failed, and its stored failure ends the run
            // before this task is polled again.
            return Poll::Pending;
        }
        let me = exec.current();
        exec.wait_for(self.task, me);
        Poll::Pending
    }
}
