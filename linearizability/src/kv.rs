//! The Lab 3 key/value model (porcupine's `models/kv.go`, spec §4.2): Get, Put and Append
//! over string keys and values, partitioned by key, one key's value as the state.
//!
//! A key's value grows with every append (a few KB to tens of KB per iteration of a Lab 3
//! test), and the cache keeps one state per configuration, so values are [`Value`]s: shared
//! append-only strings with a cached length and hash (spec §4.7), not `String` copies.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use crate::model::{Model, Operation, Partition};

/// A request to the key/value service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvInput {
    /// Read a key (a missing key reads as `""`).
    Get {
        /// The key.
        key: String,
    },
    /// Replace a key's value.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value (a missing key counts as `""`).
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

impl KvInput {
    /// The key it reads or writes.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

/// A response: the value a Get read; ignored for Put and Append.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvOutput {
    /// What the Get returned.
    pub value: String,
}

/// One operation of a key/value history.
pub type KvOperation = Operation<KvInput, KvOutput>;

/// The key/value model: [`Model`] over one key's [`Value`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = Value;

    fn init(&self) -> Value {
        Value::default()
    }

    fn step(&self, state: &Value, input: &KvInput, output: &KvOutput) -> Option<Value> {
        match input {
            KvInput::Get { .. } => (*state == *output.value).then(|| state.clone()),
            KvInput::Put { value, .. } => Some(Value::from(value.as_str())),
            KvInput::Append { value, .. } => Some(state.append(value)),
        }
    }

    /// By key, in sorted key order, each keeping the history order.
    fn partition(&self, history: &[KvOperation]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, op) in history.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(index);
        }
        by_key
            .into_iter()
            .map(|(key, operations)| Partition {
                label: format!("key {key:?}"),
                operations,
            })
            .collect()
    }

    fn describe_operation(&self, input: &KvInput, output: &KvOutput) -> String {
        match input {
            KvInput::Get { key } => format!("get('{key}') -> '{}'", output.value),
            KvInput::Put { key, value } => format!("put('{key}', '{value}')"),
            KvInput::Append { key, value } => format!("append('{key}', '{value}')"),
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        state.to_string()
    }
}

/// An immutable string built by appends, sharing its prefix with the value it was appended
/// to. Equality is by content; length and a polynomial hash are cached, so unequal values
/// almost always differ in O(1).
#[derive(Clone, Default)]
pub struct Value(Option<Rc<Piece>>);

/// The last piece of a [`Value`] and everything before it.
struct Piece {
    before: Value,
    text: Box<str>,
    /// Bytes in the whole value. Invariant: `before.len() + text.len()`.
    len: usize,
    /// [`poly_hash`] of the whole value.
    hash: u64,
}

/// The polynomial hash's base: h(s + c) = h(s) * BASE + c.
const BASE: u64 = 0x100_0000_01b3;

/// `(h(text), BASE^len(text))`, so that h(a + b) = h(a) * BASE^len(b) + h(b).
fn poly_hash(text: &str) -> (u64, u64) {
    text.bytes().fold((0u64, 1u64), |(hash, power), byte| {
        (
            hash.wrapping_mul(BASE).wrapping_add(u64::from(byte)),
            power.wrapping_mul(BASE),
        )
    })
}

impl Value {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |piece| piece.len)
    }

    /// Whether it is `""`.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn hash_value(&self) -> u64 {
        self.0.as_ref().map_or(0, |piece| piece.hash)
    }

    /// This value followed by `text`, sharing all of this one but its last piece when that
    /// is short: a new piece joins them while it stays within [`PIECE_BYTES_MAX`], so a value
    /// of many small appends is a few hundred bytes per piece, compared piece by piece.
    pub fn append(&self, text: &str) -> Value {
        if text.is_empty() {
            return self.clone();
        }
        let (text_hash, power) = poly_hash(text);
        let hash = self
            .hash_value()
            .wrapping_mul(power)
            .wrapping_add(text_hash);
        let len = self.len() + text.len();
        let piece = match &self.0 {
            Some(last) if last.text.len() + text.len() <= PIECE_BYTES_MAX => Piece {
                before: last.before.clone(),
                text: [&*last.text, text].concat().into(),
                len,
                hash,
            },
            _ => Piece {
                before: self.clone(),
                text: text.into(),
                len,
                hash,
            },
        };
        Value(Some(Rc::new(piece)))
    }

    /// Its pieces, last first.
    fn pieces_reversed(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::successors(self.0.as_deref(), |piece| piece.before.0.as_deref())
            .map(|piece| &*piece.text)
    }
}

/// A piece grows by appends up to this many bytes before a new one starts: the memory a
/// cached state adds is at most this, and a comparison visits len / this pieces or more.
pub const PIECE_BYTES_MAX: usize = 256;

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::default().append(text)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if Rc::ptr_eq(a, b) => true,
            _ => {
                self.len() == other.len()
                    && self.hash_value() == other.hash_value()
                    && self.to_string() == other.to_string()
            }
        }
    }
}

impl Eq for Value {}

/// Compares piece by piece from the end, where the values a Get may see differ: the latest
/// appends.
impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let bytes = other.as_bytes();
        let mut end = bytes.len();
        self.pieces_reversed().all(|text| {
            let start = end - text.len();
            let same = bytes[start..end] == *text.as_bytes();
            end = start;
            same
        })
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        state.write_u64(self.hash_value());
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pieces: Vec<&str> = self.pieces_reversed().collect();
        pieces.reverse();
        pieces.into_iter().try_for_each(|text| f.write_str(text))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

/// Drops a long chain of pieces iteratively: the recursive drop would overflow the stack on
/// a value of many thousand appends.
impl Drop for Piece {
    fn drop(&mut self) {
        let mut before = self.before.0.take();
        while let Some(piece) = before {
            match Rc::try_unwrap(piece) {
                Ok(mut owned) => before = owned.before.0.take(),
                Err(_) => break, // still shared: its last owner drops it
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_content_whatever_their_pieces() {
        let built = Value::from("x 0 0 y").append("x 0 1 y").append("");
        let whole = Value::from("x 0 0 yx 0 1 y");
        assert_eq!(built, whole);
        assert_eq!(built.len(), 14);
        assert_eq!(built.to_string(), "x 0 0 yx 0 1 y");
        assert!(built == *"x 0 0 yx 0 1 y");
        assert!(built != *"x 0 0 y");
        assert_ne!(built, Value::from("x 0 1 yx 0 0 y"));
        let long = (0..100).fold(Value::default(), |value, i| {
            value.append(&format!("x 0 {i} y"))
        });
        let flat: String = (0..100).map(|i| format!("x 0 {i} y")).collect();
        assert!(long == *flat.as_str());
        assert_eq!(long, Value::from(flat.as_str()));
        assert!(long.pieces_reversed().count() > 1);
        assert!(
            long.pieces_reversed()
                .all(|text| text.len() <= PIECE_BYTES_MAX)
        );
        assert!(long != *flat.replace("x 0 5 y", "x 0 5 z").as_str());
        assert_eq!(Value::from(""), Value::default());
        assert!(Value::from("").is_empty());
    }

    #[test]
    fn equal_values_hash_alike() {
        use std::hash::DefaultHasher;
        let hash = |value: &Value| {
            let mut hasher = DefaultHasher::new();
            value.hash(&mut hasher);
            hasher.finish()
        };
        let a = Value::from("ab").append("cd").append("e");
        let b = Value::from("a").append("bcde");
        assert_eq!(hash(&a), hash(&b));
    }

    #[test]
    fn a_long_chain_drops_without_overflowing_the_stack() {
        let mut value = Value::default();
        for _ in 0..1_000_000 {
            value = value.append("x");
        }
        assert_eq!(value.len(), 1_000_000);
        drop(value);
    }

    #[test]
    fn steps_follow_the_spec() {
        let model = KvModel;
        let get = |key: &str| KvInput::Get { key: key.into() };
        let out = |value: &str| KvOutput {
            value: value.into(),
        };
        let start = model.init();
        assert_eq!(model.step(&start, &get("k"), &out("")), Some(start.clone()));
        assert_eq!(model.step(&start, &get("k"), &out("a")), None);
        let put = KvInput::Put {
            key: "k".into(),
            value: "a".into(),
        };
        let after_put = model.step(&start, &put, &out("ignored")).unwrap();
        let append = KvInput::Append {
            key: "k".into(),
            value: "b".into(),
        };
        let after_append = model.step(&after_put, &append, &out("")).unwrap();
        assert_eq!(after_append.to_string(), "ab");
        assert_eq!(
            model.describe_operation(&get("k"), &out("ab")),
            "get('k') -> 'ab'"
        );
        assert_eq!(model.describe_operation(&put, &out("")), "put('k', 'a')");
        assert_eq!(
            model.describe_operation(&append, &out("")),
            "append('k', 'b')"
        );
    }
}
