//! `cargo run --release --bin replay -- TEST SEED`: one run of one test on your Raft, with
//! your debug logs and a trace of every event.

fn main() -> std::process::ExitCode {
    scripts::replay_main::<my_raft::MyRaft>()
}
