//! `hunt-misbehaving`: the hunt over a misbehaving Raft chosen by `MISBEHAVING=NAME`, for the
//! tests that prove a misbehaving Raft costs one failed run and nothing else
//! (`reference/tests/tools.rs`, `reference/tests/misbehaving_hunt.rs`). Not a tool: the hunt
//! is `scripts/hunt`. The names are [`RAFTS`]; each Raft is the reference with one fault.

use std::process::ExitCode;

use raft::{Context, Init, RaftNode};
use raft_reference::Reference;
use scripts::Implementation;
use scripts::hunt::{HuntArgs, main_with, run, run_with};
use tester::controls::{Broken, Bug, Drifts};
use tester::misbehaving::{
    ExitsOne, ExitsZero, FloodsBytes, FloodsItsLog, LoopsForever, OverflowsStack, PanicsOnReply,
    SpinsSometimes,
};
use tester::registry::own_run_stand_ins;

/// The Rafts, by name.
const RAFTS: &[&str] = &[
    "reference",
    "overflows-stack",
    "exits-zero",
    "exits-one",
    "spins-sometimes",
    "loops-forever",
    "panics-on-reply",
    "floods-bytes",
    "floods-its-log",
    "drifts",
    "fickle",
    "own-run",
];

fn main() -> ExitCode {
    let name = std::env::var("MISBEHAVING").unwrap_or_default();
    main_with(|args| hunt(&name, args))
}

fn hunt(name: &str, args: &HuntArgs) -> Result<i32, String> {
    let own = |name: &'static str| Implementation::Own(name);
    match name {
        "reference" => run::<Reference>(args, Implementation::Reference),
        "overflows-stack" => run::<OverflowsStack<Reference>>(args, own("overflows-stack")),
        "exits-zero" => run::<ExitsZero<Reference>>(args, own("exits-zero")),
        "exits-one" => run::<ExitsOne<Reference>>(args, own("exits-one")),
        "spins-sometimes" => run::<SpinsSometimes<Reference>>(args, own("spins-sometimes")),
        "loops-forever" => run::<LoopsForever<Reference>>(args, own("loops-forever")),
        "panics-on-reply" => run::<PanicsOnReply<Reference>>(args, own("panics-on-reply")),
        "floods-bytes" => run::<FloodsBytes<Reference>>(args, own("floods-bytes")),
        "floods-its-log" => run::<FloodsItsLog<Reference>>(args, own("floods-its-log")),
        "drifts" => run::<Drifts<Reference>>(args, own("drifts")),
        "fickle" => run::<Broken<Reference, Fickle>>(args, own("fickle")),
        // Not a Raft: the reference, plus stand-ins for tests with their own driver (Lab 3's),
        // one failing on odd seeds, which the hunt and its workers must find and report.
        "own-run" => run_with::<Reference>(args, own("own-run"), own_run_stand_ins()),
        other => Err(format!(
            "MISBEHAVING={other:?} names no Raft of this binary; it knows {}",
            RAFTS.join(", ")
        )),
    }
}

/// A leader that falls silent 300 ms into its term: its calls are dropped, so a follower
/// times out and the leader changes every few hundred milliseconds. Go's initial election
/// test passes it with `warning: term changed even though there were no failures`.
struct Fickle {
    leading: bool,
    /// When this node's current leadership began (its first call as leader).
    since_ms: Option<u64>,
}

impl<R: RaftNode> Bug<R> for Fickle {
    fn new(_init: &Init) -> Self {
        Fickle {
            leading: false,
            since_ms: None,
        }
    }

    fn call(&mut self, ctx: &mut Context<'_, R::Request>, peer: usize, request: R::Request) {
        if !self.leading {
            self.since_ms = None;
            ctx.call(peer, request);
            return;
        }
        let since_ms = *self.since_ms.get_or_insert(ctx.now_ms());
        if ctx.now_ms() - since_ms < 300 {
            ctx.call(peer, request);
        }
    }

    fn after_input(&mut self, inner: &R) {
        self.leading = inner.state().1;
    }
}
