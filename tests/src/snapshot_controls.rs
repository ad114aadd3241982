//! Deliberately broken Raft implementations for the 2D negative controls: they show that a 2D
//! check still catches the bug it exists for, whatever our encoding's sizes.
//!
//! Never use these as a Raft: each one breaks the contract on purpose.

use raft::{Context, Init, RaftNode, RaftView, TimerId};

/// **Deliberately broken**: `R` with every `snapshot()` call from the service ignored, so its
/// log is never trimmed and its persisted raft state grows with every command. The 2D
/// `Log size too large` check (`MAX_LOG_SIZE_BYTES`) must fail it; everything else is `R`'s.
pub struct NeverTrims<R: RaftNode>(R);

impl<R: RaftNode> RaftNode for NeverTrims<R> {
    type Request = R::Request;
    type Reply = R::Reply;

    fn new(ctx: &mut Context<'_, Self::Request>, init: Init) -> Self {
        NeverTrims(R::new(ctx, init))
    }

    fn handle_request(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        request: Self::Request,
    ) -> Self::Reply {
        self.0.handle_request(ctx, request)
    }

    fn handle_reply(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        peer: usize,
        request: Self::Request,
        reply: Option<Self::Reply>,
    ) {
        self.0.handle_reply(ctx, peer, request, reply);
    }

    fn handle_timer(&mut self, ctx: &mut Context<'_, Self::Request>, timer: TimerId) {
        self.0.handle_timer(ctx, timer);
    }

    fn start(
        &mut self,
        ctx: &mut Context<'_, Self::Request>,
        command: Vec<u8>,
    ) -> Option<(u64, u64)> {
        self.0.start(ctx, command)
    }

    fn state(&self) -> (u64, bool) {
        self.0.state()
    }

    /// The bug: the service's snapshot is dropped and the log kept whole.
    fn snapshot(&mut self, _ctx: &mut Context<'_, Self::Request>, _index: u64, _snapshot: Vec<u8>) {
    }

    fn inspect(&self) -> RaftView {
        self.0.inspect()
    }
}
