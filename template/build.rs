//! Records the cargo features this crate is built with (`LAB_BUILD_FEATURES`, which cargo also
//! hands to `cargo run`), so that the replay command a hunt prints rebuilds with the same
//! features, and replays the run the hunt ran.

fn main() {
    let features = std::env::var("CARGO_CFG_FEATURE").unwrap_or_default();
    println!("cargo:rustc-env=LAB_BUILD_FEATURES={features}");
    println!("cargo:rerun-if-changed=build.rs");
}
