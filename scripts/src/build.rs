//! The build settings a hunt ran with, so that the `cargo run ... --bin replay` command it
//! prints builds the code the hunt ran:
//! - the profile: the folder cargo built this binary in (`release`: `--release`; `debug`:
//!   none; another: `--profile NAME`);
//! - the cargo features: `LAB_BUILD_FEATURES`, which a build script of the student's crate
//!   sets for `cargo run` (the template's `build.rs`: `cargo:rustc-env=LAB_BUILD_FEATURES=`
//!   from `CARGO_CFG_FEATURE`);
//! - the environment that changes builds: `RUSTFLAGS`, `CARGO_PROFILE_*`, `CARGO_BUILD_*`.
//!
//! A binary cannot ask cargo how it was built (`cargo run` replaces itself with the program,
//! so there is no parent command line to read either). What this misses (a crate without the
//! build script, a `.cargo/config.toml` changed since), the replay's fingerprint check
//! catches: the hunt passes each run's fingerprint to `replay --fingerprint`.

use std::path::Path;

/// The variable the student's build script sets to the enabled features, comma-separated.
pub const FEATURES_ENV: &str = "LAB_BUILD_FEATURES";

/// The `cargo run` options that rebuild the binary at `exe` as it was built, given its
/// enabled `features` if known.
pub fn cargo_run_options(exe: &Path, features: Option<&str>) -> Vec<String> {
    let mut options = profile_options(exe);
    options.extend(feature_options(features));
    options
}

/// `--release` for a binary in a `release` folder, nothing in `debug`, `--profile NAME` in
/// another (cargo names a custom profile's folder after it).
pub fn profile_options(exe: &Path) -> Vec<String> {
    let folder = exe.parent().and_then(Path::file_name);
    match folder.map(|name| name.to_string_lossy().into_owned()) {
        Some(name) if name == "release" => vec!["--release".to_owned()],
        Some(name) if name == "debug" || name == "deps" => Vec::new(),
        Some(name) => vec!["--profile".to_owned(), name],
        None => vec!["--release".to_owned()],
    }
}

/// The features options that enable exactly `features` (comma-separated, as
/// `CARGO_CFG_FEATURE` lists them): none if unknown or if only the defaults were on;
/// `--features` for more; `--no-default-features --features` when the defaults were off.
pub fn feature_options(features: Option<&str>) -> Vec<String> {
    let Some(features) = features else {
        return Vec::new();
    };
    let enabled: Vec<&str> = features.split(',').filter(|f| !f.is_empty()).collect();
    let with_defaults = enabled.contains(&"default");
    let extra: Vec<&str> = enabled.into_iter().filter(|&f| f != "default").collect();
    let mut options = Vec::new();
    if !with_defaults && !extra.is_empty() {
        options.push("--no-default-features".to_owned());
    }
    if !extra.is_empty() {
        options.push("--features".to_owned());
        options.push(extra.join(","));
    }
    options
}

/// Whether an environment variable changes what cargo builds.
pub fn changes_builds(name: &str) -> bool {
    matches!(name, "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS")
        || name.starts_with("CARGO_PROFILE_")
        || name.starts_with("CARGO_BUILD_")
}

/// `NAME=value ` for each variable of this process's environment that changes builds, quoted
/// for a shell, in name order.
pub fn build_env() -> String {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| changes_builds(name))
        .collect();
    vars.sort();
    vars.iter()
        .map(|(name, value)| format!("{name}={} ", crate::paths::quote_word(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_profile_comes_from_the_folder_cargo_built_the_binary_in() {
        let options = |path: &str| profile_options(Path::new(path)).join(" ");
        assert_eq!(options("/c/target/release/hunt"), "--release");
        assert_eq!(options("/c/target/debug/hunt"), "");
        assert_eq!(options("/c/target/profiling/hunt"), "--profile profiling");
    }

    #[test]
    fn features_are_enabled_exactly_as_they_were() {
        assert!(feature_options(None).is_empty());
        assert!(feature_options(Some("")).is_empty());
        assert!(feature_options(Some("default")).is_empty());
        assert_eq!(
            feature_options(Some("default,slow-apply")),
            words("--features slow-apply")
        );
        assert_eq!(
            feature_options(Some("slow-apply,trace")),
            words("--no-default-features --features slow-apply,trace")
        );
        let exe = Path::new("/c/target/release/hunt");
        assert_eq!(
            cargo_run_options(exe, Some("default,x")),
            words("--release --features x")
        );
    }

    #[test]
    fn build_changing_variables_are_recognized() {
        assert!(changes_builds("RUSTFLAGS"));
        assert!(changes_builds("CARGO_PROFILE_RELEASE_DEBUG"));
        assert!(!changes_builds("CARGO_MANIFEST_DIR"));
        assert!(!changes_builds("RUST_LOG"));
    }
}
