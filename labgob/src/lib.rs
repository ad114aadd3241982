//! labgob: the one codec every RPC, persisted state and snapshot goes through.
//!
//! Code map (this crate is one file on purpose: a codec swap touches only it):
//! - [`encode`] / [`decode`]: serde values to bytes and back, one fixed bincode configuration.
//! - [`check_round_trip`]: the Rust analog of the Go labgob's capitalization warning: a value
//!   must survive encode → decode unchanged, or a field is silently not travelling.
//! - [`encode_checked`]: what the network calls: [`encode`] plus the round-trip check while
//!   [`checks_enabled`] (debug builds, or `LABGOB_CHECK=1`).
//!
//! **Invariant:** decoding never panics, whatever the input bytes, and a lying length prefix
//! cannot make it allocate much: bincode checks a string's claimed length against
//! [`DECODE_LIMIT_BYTES`] before allocating it, and serde pre-allocates at most 1 MiB for a
//! sequence, which then fails when the input runs out. Measured peak for a hostile prefix: one
//! allocation of just under 32 MiB (`tests/alloc.rs`; the rest is property-tested in `tests/it`).
//! What a decode builds from bytes it really consumes is bounded by the input, not by the limit:
//! an element's memory can exceed its wire size (a one-byte `None` of an `Option<[u64; 8]>` takes
//! 72 bytes), and elements that encode to zero bytes (`()`, unit and empty structs) consume no
//! input at all, so a `Vec<()>` claiming 2^60 elements loops that long. Keep such sequences out
//! of messages.
//!
//! Deliberate difference from Go's labgob: there is no per-message type descriptor (gob sends
//! one with every message), so byte counts are smaller; the tester's byte thresholds are
//! recalibrated to this encoding (see README.md).

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Upper bound on the memory one [`decode`] may claim. Larger than any message the labs send
/// (the biggest are 2D snapshots of a few kilobytes), small enough that a corrupt length prefix
/// cannot exhaust memory.
pub const DECODE_LIMIT_BYTES: usize = 32 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    // Varint integers, little endian, with a decode limit. Changing this changes every byte
    // count in the tester: recalibrate the 2B byte test and the 2D MAXLOGSIZE check with it.
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

/// What can go wrong when encoding or decoding. A value, never a panic: callers decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The value could not be serialized (for example a map with non-string keys in a format
    /// that needs them; bincode accepts nearly everything).
    Encode {
        /// The Rust type being encoded.
        type_name: &'static str,
        /// The codec's message.
        reason: String,
    },
    /// The bytes are not a valid encoding of the requested type.
    Decode {
        /// The Rust type being decoded.
        type_name: &'static str,
        /// The codec's message.
        reason: String,
    },
    /// The bytes decoded, but not all of them were used: almost always the wrong type.
    TrailingBytes {
        /// The Rust type being decoded.
        type_name: &'static str,
        /// Bytes consumed by the decode.
        used: usize,
        /// Bytes given.
        total: usize,
    },
    /// A value did not survive a round trip: some field does not travel (`#[serde(skip)]`, a
    /// lossy custom impl). The Go labgob's "lower-case field" warning, for Rust.
    LostField {
        /// The Rust type whose value changed.
        type_name: &'static str,
        /// `{:?}` of the value before encoding.
        before: String,
        /// `{:?}` of the value after decoding.
        after: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Encode { type_name, reason } => {
                write!(f, "labgob: cannot encode {type_name}: {reason}")
            }
            Error::Decode { type_name, reason } => {
                write!(f, "labgob: cannot decode {type_name}: {reason}")
            }
            Error::TrailingBytes {
                type_name,
                used,
                total,
            } => write!(
                f,
                "labgob: decoding {type_name} used {used} of {total} bytes (wrong type?)"
            ),
            Error::LostField {
                type_name,
                before,
                after,
            } => write!(
                f,
                "labgob error: a value of {type_name} changed in an encode/decode round trip \
                 (a #[serde(skip)] field or a lossy Serialize impl?) and will break your Raft \
                 in RPC or persist/snapshot:\n  before: {before}\n  after:  {after}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Encodes `value` with the one fixed configuration.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| Error::Encode {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Decodes a `T` from exactly all of `bytes`. Never panics; memory claimed while decoding is
/// bounded by [`DECODE_LIMIT_BYTES`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let type_name = std::any::type_name::<T>();
    let (value, used) =
        bincode::serde::decode_from_slice::<T, _>(bytes, config()).map_err(|e| Error::Decode {
            type_name,
            reason: e.to_string(),
        })?;
    if used != bytes.len() {
        return Err(Error::TrailingBytes {
            type_name,
            used,
            total: bytes.len(),
        });
    }
    Ok(value)
}

/// Checks that `value` survives encode → decode unchanged.
pub fn check_round_trip<T>(value: &T) -> Result<(), Error>
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
{
    let bytes = encode(value)?;
    let back: T = decode(&bytes)?;
    if &back != value {
        return Err(Error::LostField {
            type_name: std::any::type_name::<T>(),
            before: format!("{value:?}"),
            after: format!("{back:?}"),
        });
    }
    Ok(())
}

/// Whether [`encode_checked`] runs the round-trip check: on in debug builds (how students run
/// `cargo test 2a`), off in release; `LABGOB_CHECK=1` or `=0` overrides either way.
pub fn checks_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| match std::env::var("LABGOB_CHECK").as_deref() {
        Ok("1") | Ok("true") => true,
        Ok("0") | Ok("false") => false,
        _ => cfg!(debug_assertions),
    })
}

/// [`encode`], plus [`check_round_trip`] on every value while [`checks_enabled`]. The network
/// encodes every request, reply, persisted state and snapshot through this.
///
/// Go's labgob checks each type once, statically. Ours is a dynamic check, and one value whose
/// skipped field happens to hold its default would pass, so it checks every value (debug only).
pub fn encode_checked<T>(value: &T) -> Result<Vec<u8>, Error>
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
{
    if checks_enabled() {
        check_round_trip(value)?;
    }
    encode(value)
}
