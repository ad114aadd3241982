//! The client side of Lab 3: an async [`Clerk`] the tester runs as one of its tasks.
//!
//! Go's clerk makes blocking RPCs from a goroutine. Here a clerk's methods are `async`: the
//! tester polls them on its single-threaded, deterministic executor, and every call or sleep
//! is a virtual-time event. Futures need not be `Send`.
//!
//! What the tester guarantees:
//! - **One call at a time per clerk** (Go's rule): `get` and `put_append` are never
//!   overlapped on one clerk.
//! - **`ends[i]` is not server `i`**: the tester shuffles a clerk's ends, as Go does.
//! - A call on an end the tester disabled, or to a crashed server, fails (`None`) after
//!   0–99 virtual ms; a call whose server crashes while the request waits fails at Go's
//!   next 100 ms check; a dropped request or reply fails too (unreliable tests).
//! - Every hop costs virtual time (1.8–2.2 ms in the Lab 3 tests, `tester::lab3::KV_HOP_LATENCY`),
//!   so a retry loop against a server that answers `ErrWrongLeader` at once still advances
//!   the clock.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use raft::Message;
use rand_core::RngCore;

use crate::PutAppendOp;

/// A boxed, non-`Send` future: what a [`Transport`] returns.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The tester's side of [`ClerkEnds`]: encoded calls through one clerk's ends, and sleeps,
/// in virtual time. Implemented by the tester (and by test doubles).
pub trait Transport {
    /// How many ends (one per server).
    fn end_count(&self) -> usize;
    /// Calls through end `end` with encoded `args`: the encoded reply, or `None` if the call
    /// failed (Go's `Call` returning false).
    fn call(&self, end: usize, args: Vec<u8>) -> LocalFuture<'_, Option<Vec<u8>>>;
    /// Sleeps `delay_ms` virtual milliseconds.
    fn sleep_ms(&self, delay_ms: u64) -> LocalFuture<'_, ()>;
}

/// A clerk's ends to the servers (Go's `[]*labrpc.ClientEnd`, shuffled), typed by the
/// service's RPC types.
pub struct ClerkEnds<Request, Reply> {
    transport: Box<dyn Transport>,
    _types: PhantomData<fn(Request) -> Reply>,
}

impl<Request: Message, Reply: Message> ClerkEnds<Request, Reply> {
    /// Wraps a transport. The tester does this; clerks receive ready ends.
    pub fn new(transport: Box<dyn Transport>) -> Self {
        ClerkEnds {
            transport,
            _types: PhantomData,
        }
    }

    /// How many ends (one per server, in shuffled order).
    pub fn len(&self) -> usize {
        self.transport.end_count()
    }

    /// Whether there are no ends (never, in the tests).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Go's `ends[end].Call(...)`: the reply, or `None` if the call failed or its reply did
    /// not decode as `Reply`. Panics if `end >= len()`.
    pub async fn call(&self, end: usize, request: &Request) -> Option<Reply> {
        assert!(end < self.len(), "end {end} of {}", self.len());
        let args = labgob::encode(request).expect("a request encodes");
        let reply = self.transport.call(end, args).await?;
        labgob::decode(&reply).ok()
    }

    /// Sleeps `delay_ms` virtual milliseconds (Go's `time.Sleep`).
    pub async fn sleep_ms(&self, delay_ms: u64) {
        self.transport.sleep_ms(delay_ms).await
    }
}

/// The trait a student implements for the client side of Lab 3 (Go's `Clerk`).
///
/// # Example
///
/// A clerk that tries each server in turn until one answers `Ok` (no duplicate detection,
/// which the lab asks for), driven over an in-memory transport by hand:
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::BTreeMap;
/// use kvraft::{Clerk, ClerkEnds, Err, LocalFuture, PutAppendOp, Transport};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// enum Op { Get(String), PutAppend(String, String, PutAppendOp) }
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Answer { err: Err, value: String }
///
/// struct Simple { ends: ClerkEnds<Op, Answer>, leader: usize }
///
/// impl Simple {
///     async fn call(&mut self, op: Op) -> String {
///         loop {
///             match self.ends.call(self.leader, &op).await {
///                 Some(Answer { err: Err::Ok | Err::ErrNoKey, value }) => return value,
///                 _ => self.leader = (self.leader + 1) % self.ends.len(),
///             }
///         }
///     }
/// }
///
/// impl Clerk for Simple {
///     type Request = Op;
///     type Reply = Answer;
///     fn new(ends: ClerkEnds<Op, Answer>, _rng: Box<dyn rand_core::RngCore>) -> Self {
///         Simple { ends, leader: 0 }
///     }
///     async fn get(&mut self, key: &str) -> String {
///         self.call(Op::Get(key.to_string())).await
///     }
///     async fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp) {
///         self.call(Op::PutAppend(key.to_string(), value.to_string(), op)).await;
///     }
/// }
///
/// /// One server that answers at once (the tester's transport runs on the simulation).
/// struct OneMap(RefCell<BTreeMap<String, String>>);
/// impl Transport for OneMap {
///     fn end_count(&self) -> usize { 1 }
///     fn call(&self, _end: usize, args: Vec<u8>) -> LocalFuture<'_, Option<Vec<u8>>> {
///         let mut data = self.0.borrow_mut();
///         let answer = match labgob::decode::<Op>(&args).expect("an op") {
///             Op::Get(key) => Answer { err: Err::Ok, value: data.get(&key).cloned().unwrap_or_default() },
///             Op::PutAppend(key, value, op) => {
///                 let slot = data.entry(key).or_default();
///                 if op == PutAppendOp::Put { slot.clear() }
///                 slot.push_str(&value);
///                 Answer { err: Err::Ok, value: String::new() }
///             }
///         };
///         Box::pin(std::future::ready(Some(labgob::encode(&answer).expect("encodes"))))
///     }
///     fn sleep_ms(&self, _: u64) -> LocalFuture<'_, ()> { Box::pin(std::future::ready(())) }
/// }
///
/// use kvraft::testing::block_on;
/// let rng = Box::new(kvraft::testing::seeded_rng(1));
/// let mut clerk = Simple::new(ClerkEnds::new(Box::new(OneMap(RefCell::default()))), rng);
/// block_on(clerk.put("k", "a"));
/// block_on(clerk.append("k", "b"));
/// assert_eq!(block_on(clerk.get("k")), "ab");
/// ```
// Clerks run on the tester's single-threaded executor: their futures need no `Send` bound,
// which is what this lint warns about.
#[allow(async_fn_in_trait)]
pub trait Clerk: Sized + 'static {
    /// The service's request type ([`KvService::Request`](crate::KvService::Request)).
    type Request: Message;
    /// The service's reply type ([`KvService::Reply`](crate::KvService::Reply)).
    type Reply: Message;

    /// Go's `MakeClerk`. `rng` is this clerk's own seeded stream: draw its client id from it
    /// ([`crate::nrand`]), never from a global source, so runs replay.
    fn new(ends: ClerkEnds<Self::Request, Self::Reply>, rng: Box<dyn RngCore>) -> Self;

    /// Go's `Get`: the current value of `key`, `""` if it has none; keeps trying otherwise.
    async fn get(&mut self, key: &str) -> String;

    /// Go's `PutAppend`: `Put` or `Append` exactly once; keeps trying until it succeeds.
    async fn put_append(&mut self, key: &str, value: &str, op: PutAppendOp);

    /// Go's `Put`.
    async fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutAppendOp::Put).await
    }

    /// Go's `Append`.
    async fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutAppendOp::Append).await
    }
}

#[cfg(test)]
mod tests {
    use super::{ClerkEnds, LocalFuture, Transport};
    use crate::testing::block_on;

    /// Answers every call with the same bytes, and counts sleeps.
    struct Fixed(Vec<u8>);
    impl Transport for Fixed {
        fn end_count(&self) -> usize {
            2
        }
        fn call(&self, _: usize, _: Vec<u8>) -> LocalFuture<'_, Option<Vec<u8>>> {
            Box::pin(std::future::ready(Some(self.0.clone())))
        }
        fn sleep_ms(&self, _: u64) -> LocalFuture<'_, ()> {
            Box::pin(std::future::ready(()))
        }
    }

    #[test]
    fn a_reply_that_does_not_decode_is_a_failed_call() {
        let bytes = labgob::encode(&"not a number").expect("encodes");
        let ends = ClerkEnds::<u8, u64>::new(Box::new(Fixed(bytes)));
        assert_eq!(block_on(ends.call(1, &5)), None);
        let ends = ClerkEnds::<u8, u64>::new(Box::new(Fixed(labgob::encode(&7u64).expect("u64"))));
        assert_eq!(block_on(ends.call(0, &5)), Some(7));
        assert_eq!(ends.len(), 2);
    }

    #[test]
    #[should_panic(expected = "end 2 of 2")]
    fn an_end_out_of_range_is_a_clerk_bug() {
        let ends = ClerkEnds::<u8, u64>::new(Box::new(Fixed(Vec::new())));
        block_on(ends.call(2, &5));
    }
}
