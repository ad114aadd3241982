//! `scripts/replay TEST SEED`: reruns one run of one test on the reference (or, with
//! `--canary`, on the canary) with debug logs and a trace; exits non-zero if the run fails.
//! The code is [`scripts::replay`].

use raft_reference::Reference;
use raft_reference::kv::{KvClerk, KvServer};
use scripts::Implementation;
use scripts::replay::{main_with, run, run_with};
use tester::controls::Canary;

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
