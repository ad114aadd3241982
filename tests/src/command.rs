//! The tester's commands. Raft sees opaque bytes; the tester puts ints and strings in them.

use serde::{Deserialize, Serialize};

/// What the Go tests pass to `Start`: an `int` or a `string`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TestCommand {
    Int(u64),
    Str(String),
}

/// The bytes of the int command `value`.
pub fn int_command(value: u64) -> Vec<u8> {
    labgob::encode(&TestCommand::Int(value)).expect("ints encode")
}

/// The bytes of the string command `value`.
pub fn str_command(value: &str) -> Vec<u8> {
    labgob::encode(&TestCommand::Str(value.to_owned())).expect("strings encode")
}

/// The int in a command, if it is an int command (Go's `v.(int)`).
pub fn command_int(bytes: &[u8]) -> Option<u64> {
    match labgob::decode(bytes) {
        Ok(TestCommand::Int(value)) => Some(value),
        _ => None,
    }
}

/// A command as Go's `%v` would print it: the int, a string (shortened), or raw bytes.
pub fn show_command(bytes: &[u8]) -> String {
    match labgob::decode(bytes) {
        Ok(TestCommand::Int(value)) => value.to_string(),
        Ok(TestCommand::Str(s)) if s.len() <= 40 => s,
        Ok(TestCommand::Str(s)) => {
            let head: String = s.chars().take(20).collect();
            format!("{head}…({} chars)", s.chars().count())
        }
        Err(_) => format!("<{} bytes>", bytes.len()),
    }
}

/// Shows an optional command (Go's `<nil>` for none).
pub fn show_option(command: Option<&[u8]>) -> String {
    command.map_or_else(|| "<nil>".to_owned(), show_command)
}
