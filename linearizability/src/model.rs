//! What the checker checks: a history of [`Operation`]s (or of [`Event`]s, converted by
//! [`operations_from_events`]) against a sequential specification, a [`Model`] (spec §4.1).

use std::fmt;
use std::hash::Hash;

/// One completed operation of a history: what a client asked, what it got back, and when.
///
/// Times are integers in one monotone unit: the harness records virtual microseconds (made
/// exact per spec §5.6 by a global sequence number); any unit works, only the order matters.
/// An operation whose call and return share a timestamp still has a duration of zero: it is
/// concurrent with everything that touches that instant (a call sorts before a return on ties).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// Which client issued it. Used only to draw the visualization's rows.
    pub client_id: usize,
    /// The request.
    pub input: I,
    /// When the client called (virtual microseconds).
    pub call_us: u64,
    /// The response the client received.
    pub output: O,
    /// When the call returned (virtual microseconds). Invariant: `call_us <= return_us`.
    pub return_us: u64,
}

/// One group of operations the checker searches on its own (spec §4.2: a history is
/// linearizable iff every per-key subhistory is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// A name for reports and the visualization, e.g. `key "3"`.
    pub label: String,
    /// Indices into the history, in history order.
    pub operations: Vec<usize>,
}

impl Partition {
    /// The whole history of `len` operations as one partition.
    pub fn whole(len: usize) -> Partition {
        Partition {
            label: "history".to_owned(),
            operations: (0..len).collect(),
        }
    }
}

/// A sequential specification: porcupine's `Model` (spec §4.1), as a trait.
///
/// The checker looks for an order of the operations, consistent with real time, in which
/// every [`Model::step`] from [`Model::init`] succeeds. States are compared with `Eq` and
/// hashed for memoization: make both cheap (the KV model's values are shared append-only
/// strings with a cached hash). `Hash` must agree with `Eq`; which hash values come out does
/// not change any verdict or step count (the cache compares exactly).
pub trait Model {
    /// A request, as recorded in [`Operation::input`].
    type Input;
    /// A response, as recorded in [`Operation::output`].
    type Output;
    /// The specification's state.
    type State: Clone + Eq + Hash;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies one operation to `state`: the state after it if `output` is a response the
    /// specification allows from `state`, or `None` if it is not. Must be a pure function.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// Splits a history into independently checkable partitions, in a fixed order. The
    /// default is one partition (porcupine's `fillDefault`).
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition::whole(history.len())]
    }

    /// One operation for people, e.g. `get('0') -> 'x 0 1 y'`.
    fn describe_operation(&self, input: &Self::Input, output: &Self::Output) -> String;

    /// One state for people.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// Half of an operation, in porcupine's alternative event-list input (spec §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<I, O> {
    /// Which client issued it (visualization only).
    pub client_id: usize,
    /// The call with its input, or the return with its output.
    pub kind: EventKind<I, O>,
    /// Pairs a call with its return; unique among the calls pending at any time.
    pub id: usize,
}

/// Whether an [`Event`] is a call or a return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind<I, O> {
    /// The operation starts, with its input.
    Call(I),
    /// The operation ends, with its output.
    Return(O),
}

/// Why a list of events is not a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventError {
    /// A call's id is already pending (`id`, and the position of the second call).
    DuplicateCall {
        /// The event id.
        id: usize,
        /// Its position in the list.
        position: usize,
    },
    /// A return with no pending call of that id.
    ReturnWithoutCall {
        /// The event id.
        id: usize,
        /// Its position in the list.
        position: usize,
    },
    /// A call that never returned.
    NeverReturned {
        /// The event id.
        id: usize,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::DuplicateCall { id, position } => {
                write!(f, "event {position}: call {id} is already pending")
            }
            EventError::ReturnWithoutCall { id, position } => {
                write!(f, "event {position}: return {id} has no pending call")
            }
            EventError::NeverReturned { id } => write!(f, "call {id} never returned"),
        }
    }
}

impl std::error::Error for EventError {}

/// An operation being assembled from events: client, input, call time, and the output with
/// the return time once it returned.
type Slot<I, O> = (usize, I, u64, Option<(O, u64)>);

/// Turns an event list into operations, in the order of their calls. An event's time is its
/// position in the list, so the list order is the real-time order.
pub fn operations_from_events<I, O>(
    events: Vec<Event<I, O>>,
) -> Result<Vec<Operation<I, O>>, EventError> {
    // Pending calls by id: (index into `slots`). A BTreeMap, not a HashMap: no hash order.
    let mut pending = std::collections::BTreeMap::new();
    let mut slots: Vec<Slot<I, O>> = Vec::new();
    for (position, event) in events.into_iter().enumerate() {
        let time = position as u64;
        match event.kind {
            EventKind::Call(input) => {
                if pending.insert(event.id, slots.len()).is_some() {
                    return Err(EventError::DuplicateCall {
                        id: event.id,
                        position,
                    });
                }
                slots.push((event.client_id, input, time, None));
            }
            EventKind::Return(output) => match pending.remove(&event.id) {
                Some(slot) => slots[slot].3 = Some((output, time)),
                None => {
                    return Err(EventError::ReturnWithoutCall {
                        id: event.id,
                        position,
                    });
                }
            },
        }
    }
    if let Some((&id, _)) = pending.iter().next() {
        return Err(EventError::NeverReturned { id });
    }
    Ok(slots
        .into_iter()
        .map(|(client_id, input, call_us, ret)| {
            let (output, return_us) = ret.expect("every call returned: checked above");
            Operation {
                client_id,
                input,
                call_us,
                output,
                return_us,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: usize, input: u8) -> Event<u8, u8> {
        Event {
            client_id: id,
            kind: EventKind::Call(input),
            id,
        }
    }

    fn ret(id: usize, output: u8) -> Event<u8, u8> {
        Event {
            client_id: id,
            kind: EventKind::Return(output),
            id,
        }
    }

    #[test]
    fn events_become_operations_timed_by_position() {
        let ops =
            operations_from_events(vec![call(1, 10), call(2, 20), ret(2, 21), ret(1, 11)]).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!((ops[0].input, ops[0].output), (10, 11));
        assert_eq!((ops[0].call_us, ops[0].return_us), (0, 3));
        assert_eq!((ops[1].call_us, ops[1].return_us), (1, 2));
    }

    #[test]
    fn malformed_event_lists_are_errors() {
        assert_eq!(
            operations_from_events(vec![call(1, 0), call(1, 0)]),
            Err(EventError::DuplicateCall { id: 1, position: 1 })
        );
        assert_eq!(
            operations_from_events(vec![ret(4, 0)]),
            Err(EventError::ReturnWithoutCall { id: 4, position: 0 })
        );
        assert_eq!(
            operations_from_events(vec![call(7, 0)]),
            Err(EventError::NeverReturned { id: 7 })
        );
    }
}
