//! What the unit tests of this crate share: a Raft type to hang tests on that no test builds.

use raft::{Context, Init, RaftNode, RaftView, TimerId};

/// A Raft no test here builds: the tests run on stand-ins with their own driver
/// ([`tester::registry::own_run_stand_ins`]), which never make a node of `R`.
pub struct NoRaft;

impl RaftNode for NoRaft {
    type Request = ();
    type Reply = ();
    fn new(_: &mut Context<'_, ()>, _: Init) -> Self {
        unreachable!("a test with its own driver built a node of the Lab 2 Raft")
    }
    fn handle_request(&mut self, _: &mut Context<'_, ()>, _: ()) {}
    fn handle_reply(&mut self, _: &mut Context<'_, ()>, _: usize, _: (), _: Option<()>) {}
    fn handle_timer(&mut self, _: &mut Context<'_, ()>, _: TimerId) {}
    fn start(&mut self, _: &mut Context<'_, ()>, _: Vec<u8>) -> Option<(u64, u64)> {
        None
    }
    fn state(&self) -> (u64, bool) {
        (0, false)
    }
    fn inspect(&self) -> RaftView {
        RaftView::default()
    }
}
