//! Log entries, stored together with their labgob encoding.
//!
//! Persisting writes the whole log every time (the persister saves one blob). Re-encoding
//! thousands of entries per `start` dominated long runs, so the encoding is kept alongside the
//! entries and updated with them; a persist is then one copy.

use serde::{Deserialize, Serialize};

use raft::LogTerms;

/// One log entry: a command for the state machine and the term when the leader received it.
/// Its index is its position (see `RaftLog`), so it is not stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Term in which the leader received the command.
    pub term: u64,
    /// The command, as given to `start`.
    #[serde(with = "as_bytes")]
    pub command: Vec<u8>,
}

/// A sequence of entries and its encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Entries {
    entries: Vec<Entry>,
    /// The labgob encodings of `entries`, concatenated.
    /// Invariant: `encoded[ends[k - 1]..ends[k]]` (from 0 for k = 0) encodes `entries[k]`.
    encoded: Vec<u8>,
    /// Where each entry's encoding ends in `encoded`. Invariant: as long as `entries`.
    ends: Vec<usize>,
    /// The entries' terms as runs, for `inspect` after every input.
    /// Invariant: `terms` lists `entries`' terms.
    terms: LogTerms,
}

impl Entries {
    /// Entries just decoded from `persisted`, which ends with their concatenated encodings:
    /// the encoding is taken as it is instead of being rebuilt entry by entry, so booting
    /// costs one decode.
    pub(super) fn decoded(entries: Vec<Entry>, persisted: &[u8]) -> Entries {
        let mut ends = Vec::with_capacity(entries.len());
        let mut end = 0;
        let mut terms = LogTerms::new();
        for entry in &entries {
            end += varint_len(entry.term) + varint_len(entry.command.len() as u64);
            end += entry.command.len();
            ends.push(end);
            terms.push(entry.term);
        }
        let encoded = persisted
            .len()
            .checked_sub(end)
            .map(|start| &persisted[start..])
            .expect("the persisted state ends with the entries' encodings");
        let all = Entries {
            entries,
            encoded: encoded.to_vec(),
            ends,
            terms,
        };
        debug_assert_eq!(all, Entries::from(all.entries.clone()));
        all
    }
}

/// Bytes of labgob's (bincode's varint) encoding of an unsigned integer.
fn varint_len(value: u64) -> usize {
    match value {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

impl From<Vec<Entry>> for Entries {
    fn from(entries: Vec<Entry>) -> Entries {
        let mut all = Entries::default();
        for entry in entries {
            all.push(entry);
        }
        all
    }
}

impl Entries {
    /// The entries.
    pub(super) fn as_slice(&self) -> &[Entry] {
        &self.entries
    }

    /// Their terms, as runs.
    pub(super) fn terms(&self) -> &LogTerms {
        &self.terms
    }

    /// Their encodings, one after another.
    pub(super) fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    pub(super) fn push(&mut self, entry: Entry) {
        let bytes = labgob::encode(&entry).unwrap_or_else(|error| panic!("{error}"));
        self.encoded.extend_from_slice(&bytes);
        self.ends.push(self.encoded.len());
        self.terms.push(entry.term);
        self.entries.push(entry);
    }

    /// Keeps the first `len` entries.
    pub(super) fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
        self.ends.truncate(len);
        self.terms.truncate(len as u64);
        self.encoded
            .truncate(self.ends.last().copied().unwrap_or(0));
    }

    /// Removes the first `count` entries.
    pub(super) fn remove_first(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        let removed_bytes = self.ends[count - 1];
        self.entries.drain(..count);
        self.ends.drain(..count);
        self.terms.remove_first(count as u64);
        self.encoded.drain(..removed_bytes);
        for end in &mut self.ends {
            *end -= removed_bytes;
        }
    }

    pub(super) fn clear(&mut self) {
        self.truncate(0);
    }
}

/// Serde for `Vec<u8>` as one byte string rather than a sequence of `u8`s: the same bytes in
/// labgob's encoding (length, then the bytes), written with one copy instead of one call per
/// byte.
mod as_bytes {
    use std::fmt;

    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64, len: usize) -> Entry {
        Entry {
            term,
            command: vec![term as u8; len],
        }
    }

    fn assert_encoding_matches(entries: &Entries) {
        let mut expected = Vec::new();
        for entry in entries.as_slice() {
            expected.extend(labgob::encode(entry).expect("encodes"));
        }
        assert_eq!(entries.encoded(), expected);
        assert_eq!(entries.ends.len(), entries.entries.len());
        let terms: LogTerms = entries.as_slice().iter().map(|entry| entry.term).collect();
        assert_eq!(entries.terms(), &terms);
    }

    #[test]
    fn encoding_follows_every_change() {
        let mut entries = Entries::from(vec![entry(1, 3), entry(1, 300), entry(2, 0)]);
        assert_encoding_matches(&entries);
        entries.truncate(2);
        assert_encoding_matches(&entries);
        entries.push(entry(3, 7));
        entries.push(entry(300, 1));
        assert_encoding_matches(&entries);
        entries.remove_first(2);
        assert_encoding_matches(&entries);
        assert_eq!(entries.as_slice(), &[entry(3, 7), entry(300, 1)]);
        entries.remove_first(0);
        entries.clear();
        assert_encoding_matches(&entries);
        assert!(entries.encoded().is_empty());
    }

    #[test]
    fn decoded_entries_keep_their_encoding() {
        let entries = vec![
            entry(1, 3),
            entry(300, 300),
            entry(70_000, 0),
            entry(1 << 40, 1),
        ];
        let built = Entries::from(entries.clone());
        let mut persisted = b"header".to_vec();
        persisted.extend_from_slice(built.encoded());
        assert_eq!(Entries::decoded(entries, &persisted), built);
    }

    #[test]
    fn command_bytes_encode_like_a_vec_of_u8() {
        #[derive(Serialize)]
        struct Plain {
            term: u64,
            command: Vec<u8>,
        }
        let entry = entry(7, 10);
        let plain = Plain {
            term: 7,
            command: entry.command.clone(),
        };
        let bytes = labgob::encode(&entry).expect("encodes");
        assert_eq!(bytes, labgob::encode(&plain).expect("encodes"));
        assert_eq!(bytes.len(), 12, "term, length, ten bytes");
        assert_eq!(labgob::decode::<Entry>(&bytes), Ok(entry));
    }
}
