//! `scripts/hunt [FILTER...] --seeds N`: many seeds of the lab tests in parallel; every
//! failure reported with its replay. See `scripts/README.md` and `--help`; the code is
//! [`scripts::hunt`]. It hunts the reference, or with `--canary` the canary around it.

use raft_reference::Reference;
use scripts::Implementation;
use scripts::hunt::{main_with, run};
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
            run::<Reference>(args, Implementation::Reference)
        }
    })
}
