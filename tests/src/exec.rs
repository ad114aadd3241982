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

/// Tester steps (each use of the run's state: a `start`, an `n_committed`, a `get_state`, …)
/// a task may take in one poll, that is at one virtual instant without awaiting. Go's tests
/// take a few thousand at most between two sleeps; a task past this is in a loop that lets no
/// virtual time pass (Go's goroutine would be preempted; a task is not), and the run fails as
/// `hang`.
pub const MAX_TASK_STEPS: u64 = 1_000_000;

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
    /// Steps the current task took in this poll ([`MAX_TASK_STEPS`]).
    steps: u64,
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

    /// Counts one tester step; `true` once the task being polled took more than
    /// [`MAX_TASK_STEPS`] in this poll. Steps outside a task (the event loop's) are not counted.
    pub(crate) fn count_step(&mut self) -> bool {
        if self.current.is_none() {
            return false;
        }
        self.steps += 1;
        self.steps > MAX_TASK_STEPS
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
            exec.steps = 0;
            return Some((id, task));
        }
    }
    None
}

/// Stops the task being polled, which took more than [`MAX_TASK_STEPS`] at virtual time `at`:
/// unwinds to [`crate::run_case`], which reports a `hang`.
pub(crate) fn stop_spinning_task(at: labrpc::SimTime) -> ! {
    std::panic::resume_unwind(Box::new(crate::guard::NodeFault {
        kind: crate::failure::FailureKind::Hang,
        message: format!(
            "a tester task took more than {MAX_TASK_STEPS} steps (starts, state reads, checks) at \
             {at} without waiting: a loop that lets no virtual time pass. Does `start` return an \
             index that is already committed, or `state` an answer that never changes?"
        ),
    }))
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

/// Spawns `task` on `executor` (Go's `go func() {...}()`): its value goes to the handle; its
/// failure to `on_failure`, which ends the run (both configs' `spawn`).
pub(crate) fn spawn_task<T: 'static>(
    executor: &Rc<RefCell<Executor>>,
    task: impl Future<Output = crate::TestResult<T>> + 'static,
    on_failure: impl FnOnce(crate::Failure) + 'static,
) -> JoinHandle<T> {
    let slot = Rc::new(RefCell::new(None));
    let result_slot = Rc::clone(&slot);
    let wrapped = async move {
        match task.await {
            Ok(value) => *result_slot.borrow_mut() = Some(value),
            Err(failure) => on_failure(failure),
        }
    };
    let id = executor.borrow_mut().spawn(Box::pin(wrapped));
    JoinHandle {
        task: id,
        slot,
        executor: Rc::clone(executor),
    }
}

/// What a virtual sleep needs of its config: the time, and a wake-up for a task.
pub trait VirtualClock {
    /// The current virtual time.
    fn now(&self) -> labrpc::SimTime;
    /// Wakes the task being polled at `at`.
    fn wake_current_at(&self, at: labrpc::SimTime);
}

/// A sleep until a virtual deadline (Go's `time.Sleep`), on either config.
pub struct SleepUntil<C: VirtualClock> {
    pub(crate) clock: C,
    pub(crate) deadline: labrpc::SimTime,
    pub(crate) registered: bool,
}

impl<C: VirtualClock + Unpin> Future for SleepUntil<C> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.deadline {
            // Also when created earlier and first awaited after its deadline.
            return Poll::Ready(());
        }
        if !self.registered {
            self.registered = true;
            self.clock.wake_current_at(self.deadline);
        }
        Poll::Pending
    }
}

/// Borrows a run's `state` for one tester step, counting it against the task being polled: a
/// task past [`MAX_TASK_STEPS`] in one poll is stopped ([`stop_spinning_task`], at the time
/// `now` reads from the state). Both configs' `state()`.
pub(crate) fn counted_borrow<'a, S>(
    executor: &RefCell<Executor>,
    state: &'a RefCell<S>,
    now: impl FnOnce(&S) -> labrpc::SimTime,
) -> std::cell::RefMut<'a, S> {
    let spinning = executor
        .try_borrow_mut()
        .is_ok_and(|mut executor| executor.count_step());
    let state = state.borrow_mut();
    if spinning {
        let at = now(&state);
        drop(state);
        stop_spinning_task(at);
    }
    state
}
