//! `scripts/replay TEST SEED`: reruns one run of one test on the reference (or, with
//! `--canary`, on the canary) with debug logs and a trace; exits non-zero if the run fails.
//! The code is [`scripts::replay`].

use raft_reference::Reference;
use scripts::Implementation;
use scripts::replay::{main_with, run, run_with};
use tester::controls::Canary;

fn main() -> std::process::ExitCode {
    main_with(|args| {
        if args.canary {
            run::<Canary<Reference>>(args, Implementation::Canary)
        } else {
            // The tests beside the registry's: Lab 3's, with their own driver, go here
            // (`tester::lab3::cases::<Reference, KvServer, KvClerk>()`).
            let extra = Vec::new();
            run_with::<Reference>(args, Implementation::Reference, extra)
        }
    })
}
