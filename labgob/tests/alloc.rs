//! Peak-memory proof: hostile length prefixes cannot make `labgob::decode` allocate much.
//!
//! A counting `#[global_allocator]` needs `unsafe impl GlobalAlloc`, which the workspace's
//! `unsafe_code = "forbid"` rules out (and `forbid` cannot be lifted for one file). Instead the
//! decodes run in a child process (this binary again, running the ignored test
//! [`capped_decodes`]) that caps its own address space (the soft `RLIMIT_AS`, set with
//! util-linux `prlimit --pid`) at its current size plus [`HEADROOM`]. Any allocation past the
//! cap fails and Rust aborts the child with "memory allocation of N bytes failed".
//!
//! The child runs with `MALLOC_ARENA_MAX=1`: otherwise glibc gives the test thread its own
//! arena, whose 64 MiB address-space reservation is already counted in the size the cap is
//! based on, and allocations inside it would slip under the cap. And with `RUST_BACKTRACE=0`:
//! symbolizing a backtrace under the cap would itself run out of memory while holding the
//! backtrace lock, which deadlocks the out-of-memory report. The child first shows that the cap
//! is in force: reserving [`HEADROOM`] bytes must fail. Linux only (`/proc`, `prlimit`).

#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::process::Command;

use labgob::{DECODE_LIMIT_BYTES, decode, encode};
use serde::de::DeserializeOwned;

/// How far past its size before the decodes the process may grow. bincode may allocate one
/// claimed string of up to [`DECODE_LIMIT_BYTES`] (32 MiB), serde pre-allocates at most 1 MiB
/// per sequence being decoded. Measured: the test passes with 34 MiB and fails with 33 MiB
/// (on the 32 MiB - 9 byte string just under the limit), so twice that is a safe margin that
/// still catches any allocation sized by an unchecked claim.
const HEADROOM: u64 = 64 << 20;

/// This process's virtual size, from `/proc/self/status`.
fn vm_size_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmSize:"))
        .expect("VmSize line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmSize in kB");
    kib * 1024
}

fn prlimit(args: &[&str]) -> String {
    let out = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .args(args)
        .output()
        .expect("run prlimit (util-linux)");
    assert!(out.status.success(), "prlimit {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("prlimit output is text")
}

/// Restores the soft address-space limit it was made with when dropped.
struct AddressSpaceCap {
    soft_before: String,
}

impl AddressSpaceCap {
    fn new(bytes: u64) -> Self {
        let soft_before = prlimit(&["--as", "--output=SOFT", "--noheadings", "--raw"])
            .trim()
            .to_owned();
        prlimit(&[&format!("--as={bytes}:")]);
        AddressSpaceCap { soft_before }
    }
}

impl Drop for AddressSpaceCap {
    fn drop(&mut self) {
        prlimit(&[&format!("--as={}:", self.soft_before)]);
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), so the sweep needs no RNG crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

type Snapshot = (u64, Vec<Option<Vec<u8>>>);
type Nested = (Vec<Vec<u64>>, Vec<String>, BTreeMap<u64, Vec<u8>>);

fn must_fail<T: DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) {
    let result = decode::<T>(bytes);
    assert!(
        result.is_err(),
        "{} decoded {bytes:?}",
        std::any::type_name::<T>()
    );
}

fn any_result<T: DeserializeOwned>(bytes: &[u8]) {
    let _ = decode::<T>(bytes);
}

/// Runs [`capped_decodes`] in a child process with a precise cap (see the module doc).
#[test]
fn hostile_inputs_stay_within_64_mib() {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([
            "capped_decodes",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MALLOC_ARENA_MAX", "1")
        .env("RUST_BACKTRACE", "0")
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the capped child");
    let report = format!(
        "{:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "capped child failed: {report}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("test capped_decodes ... ok"),
        "the capped child ran no test: {report}"
    );
}

/// Set in the child's environment: the cap applies to the whole process, so it is only safe
/// in a process that runs this one test (`--include-ignored` would run it beside the parent).
const CHILD_ENV: &str = "LABGOB_ALLOC_CHILD";

/// The decodes under the cap, in the child started by [`hostile_inputs_stay_within_64_mib`];
/// anywhere else it does nothing.
#[test]
#[ignore = "run in a capped child process by hostile_inputs_stay_within_64_mib"]
fn capped_decodes() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!("capped_decodes: not in the child process, nothing to do");
        return;
    }
    let limit = DECODE_LIMIT_BYTES as u64;
    // Claimed lengths: every power of two from 1 MiB up, u64::MAX, and around the limit.
    let mut claims: Vec<u64> = (20..64).map(|k| 1u64 << k).collect();
    claims.extend([u64::MAX, limit - 9, limit - 8, limit - 7, limit + 1]);
    let tails: [&[u8]; 3] = [b"", b"abc", &[1; 16]];
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for &n in &claims {
        for tail in tails {
            let mut bytes = encode(&n).unwrap();
            bytes.extend_from_slice(tail);
            inputs.push(bytes);
        }
    }
    let mut rng = XorShift(0x6824_2a2b_2c2d);
    let random: Vec<Vec<u8>> = (0..3000)
        .map(|_| {
            let len = (rng.next() % 48) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        })
        .collect();

    let cap = AddressSpaceCap::new(vm_size_bytes() + HEADROOM);
    {
        let mut probe: Vec<u8> = Vec::new();
        assert!(
            probe.try_reserve(HEADROOM as usize).is_err(),
            "the address-space cap is not in force"
        );
        assert!(
            probe.try_reserve(HEADROOM as usize * 3 / 4).is_ok(),
            "no headroom left"
        );
    }

    for bytes in &inputs {
        must_fail::<Vec<u8>>(bytes);
        must_fail::<String>(bytes);
        must_fail::<Vec<u64>>(bytes);
        must_fail::<Vec<Vec<u64>>>(bytes);
        must_fail::<Vec<String>>(bytes);
        must_fail::<BTreeMap<u64, String>>(bytes);
        must_fail::<Nested>(bytes);
        // The same lie one field or one level down.
        let mut later = encode(&0u64).unwrap();
        later.extend_from_slice(bytes);
        must_fail::<Snapshot>(&later);
        let mut deeper = encode(&1u64).unwrap();
        deeper.extend_from_slice(bytes);
        must_fail::<Vec<Vec<u8>>>(&deeper);
        must_fail::<Vec<String>>(&deeper);
    }
    for bytes in &random {
        any_result::<Vec<u8>>(bytes);
        any_result::<String>(bytes);
        any_result::<Vec<Vec<u64>>>(bytes);
        any_result::<Vec<String>>(bytes);
        any_result::<Snapshot>(bytes);
        any_result::<Nested>(bytes);
    }
    drop(cap);
}
