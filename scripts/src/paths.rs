//! How printed commands name the tools, so that a command copied from a hunt's output works in
//! the directory the hunt ran in: the hunt can run from anywhere, not only the repository root.
//!
//! The `scripts/replay` wrapper is found where this crate was built from; it is printed
//! relative to the current directory when it lies below it (`scripts/replay` at the root,
//! `./replay` in `scripts/`), and as an absolute path otherwise. A binary copied away from its
//! checkout (a container image) prints `scripts/replay`: the wrapper of a checkout.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This crate's folder in the checkout it was built from.
const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The directory the process started in (read once, so every printed command agrees).
fn cwd() -> Option<&'static Path> {
    static CWD: OnceLock<Option<PathBuf>> = OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// `path` as typed at a shell in the current directory: relative if it lies below it (with a
/// `./` where it has a single component), else absolute; quoted if need be.
pub fn shown(path: &Path) -> String {
    let relative = cwd()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|rest| !rest.as_os_str().is_empty());
    match relative {
        Some(rest) if rest.components().count() == 1 => quote(&Path::new(".").join(rest)),
        Some(rest) => quote(rest),
        None => quote(path),
    }
}

/// `path` quoted for a POSIX shell if it holds anything but plain path characters.
pub fn quote(path: &Path) -> String {
    quote_word(&path.to_string_lossy())
}

/// `text` quoted for a POSIX shell if it holds anything but plain path characters.
pub fn quote_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `scripts/replay` wrapper, as the current directory reaches it.
pub fn replay_wrapper() -> String {
    let wrapper = Path::new(CRATE_DIR).join("replay");
    if wrapper.is_file() {
        shown(&wrapper)
    } else {
        "scripts/replay".to_owned()
    }
}

/// The workspace root, if the current directory is outside it (so `cargo test -p tester`
/// would not find the package there); `None` inside it, or if the checkout is gone.
pub fn workspace_root_if_outside() -> Option<PathBuf> {
    let root = Path::new(CRATE_DIR).parent()?;
    if !root.join("Cargo.toml").is_file() {
        return None;
    }
    match cwd() {
        Some(cwd) if cwd.starts_with(root) => None,
        _ => Some(root.to_owned()),
    }
}

/// How to run the `replay` binary of the crate whose hunt is running ([`crate::hunt_main`] in
/// a student's crate). Under `cargo run` (cargo then sets `CARGO_MANIFEST_DIR` for the
/// program): `cargo run --bin replay --` with the hunt's build settings (its profile and
/// features, and `RUSTFLAGS`-like variables: see [`crate::build`]), which rebuilds first, so
/// the replay runs the code the hunt ran. Otherwise: the `replay` binary beside this one.
pub fn own_replay() -> String {
    let env = crate::build::build_env();
    let exe = std::env::current_exe().ok();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) {
        let features = std::env::var(crate::build::FEATURES_ENV).ok();
        let options = match &exe {
            Some(exe) => crate::build::cargo_run_options(exe, features.as_deref()),
            None => vec!["--release".to_owned()],
        };
        let mut command = format!("{env}cargo run");
        for option in &options {
            command.push(' ');
            command.push_str(&quote_word(option));
        }
        if !cwd().is_some_and(|cwd| cwd.starts_with(&dir)) {
            command.push_str(&format!(
                " --manifest-path {}",
                quote(&dir.join("Cargo.toml"))
            ));
        }
        return command + " --bin replay --";
    }
    match exe {
        Some(exe) => format!("{env}{}", shown(&exe.with_file_name("replay"))),
        None => format!("{env}replay"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_current_directory_are_relative_and_others_absolute() {
        let cwd = cwd().unwrap();
        assert_eq!(shown(&cwd.join("scripts/replay")), "scripts/replay");
        assert_eq!(shown(&cwd.join("replay")), "./replay");
        assert_eq!(shown(Path::new("/elsewhere/replay")), "/elsewhere/replay");
        assert_eq!(shown(Path::new("/my dir/it's")), r"'/my dir/it'\''s'");
    }

    #[test]
    fn the_replay_wrapper_is_found_from_this_crate() {
        // `cargo test` runs in the crate's folder, where the wrapper is `./replay`.
        if cwd() == Some(Path::new(CRATE_DIR)) {
            assert_eq!(replay_wrapper(), "./replay");
            assert_eq!(workspace_root_if_outside(), None);
        }
    }
}
