//! `scripts/hunt [FILTER...] --seeds N`: many seeds of the lab tests in parallel; every
//! failure reported with its replay. See `scripts/README.md` and `--help`; the code is
//! [`scripts::hunt`]. It hunts the reference, or with `--canary` the canary around it.

use raft_reference::Reference;
use raft_reference::kv::{KvClerk, KvServer};
use scripts::Implementation;
use scripts::hunt::{main_with, run, run_with};
use tester::controls::Canary;

/// The system allocator: on this machine a hunt of the Lab 2 suites runs 476 runs/s with it
/// against 355 with mimalloc (60 seeds, back to back), and Lab 3's, which copies a long log
/// into a fresh buffer on every persist, 2.3x as many (mimalloc hands out cold memory for
/// each copy).
/// The same binary serves as the hunt's worker processes (hidden `--worker-out`): it picks
/// the same Raft from the same arguments.
fn main() -> std::process::ExitCode {
    main_with(|args| {
        if args.canary {
            run::<Canary<Reference>>(args, Implementation::Canary)
        } else {
            // Lab 3's tests, with their own driver, beside the registry's (`3a`, `3b` and
            // `lab3` select them).
            let extra = tester::lab3::test_cases::<(Reference, KvServer, KvClerk)>();
            run_with::<Reference>(args, Implementation::Reference, extra)
        }
    })
}
