//! `scripts/hunt [FILTER...] --seeds N`: many seeds of the lab tests in parallel; every
//! failure reported with its replay. See `scripts/README.md` and `--help`; the code is
//! [`scripts::hunt`]. It hunts the reference, or with `--canary` the canary around it.

use raft_reference::Reference;
use scripts::Implementation;
use scripts::hunt::{main_with, run, run_with};
use tester::controls::Canary;

/// Simulations spend about half their time allocating and freeing small buffers (encoded
/// messages, log copies); with mimalloc a hunt runs about 1.4x as many seeds per second as
/// with glibc's allocator, for a higher but flat peak memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The same binary serves as the hunt's worker processes (hidden `--worker-out`): it picks
/// the same Raft from the same arguments.
fn main() -> std::process::ExitCode {
    main_with(|args| {
        if args.canary {
            run::<Canary<Reference>>(args, Implementation::Canary)
        } else {
            // The tests beside the registry's (`3a`, `3b`, `lab3` select them): Lab 3's, with
            // their own driver, go here (`tester::lab3::cases::<Reference, KvServer, KvClerk>()`).
            let extra = Vec::new();
            run_with::<Reference>(args, Implementation::Reference, extra)
        }
    })
}
