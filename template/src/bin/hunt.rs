//! `cargo run --release --bin hunt -- 2a --seeds 1000`: many seeds of the lab tests on your
//! Raft, in parallel; every failure printed with its replay command.

fn main() -> std::process::ExitCode {
    scripts::hunt_main::<my_raft::MyRaft>()
}
