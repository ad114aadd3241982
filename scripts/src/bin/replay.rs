//! `scripts/replay TEST SEED`: reruns one run of one test with debug logs and a trace; exits
//! non-zero if the run fails. The code is [`scripts::replay`].

fn main() -> std::process::ExitCode {
    scripts::replay::reference_main()
}
