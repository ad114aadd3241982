//! Bad bytes: truncated, random, mutated and wrong-type inputs, and lying length prefixes.
//! `decode` must return `Ok` or `Err` for all of them: never panic, never hang, never allocate
//! by a claimed length it has not checked. (A panic inside a proptest body fails the property.)
//! The peak-memory side is measured in `tests/alloc.rs`.
//!
//! What bincode 2.0.1 does with a claimed length `n` (measured here, and pinned so that a codec
//! change is noticed):
//! - `String` (and bincode's own byte vectors) goes through bincode's `Decode`: it *claims*
//!   `n` bytes against [`DECODE_LIMIT_BYTES`] first (`LimitExceeded` if over), then allocates
//!   `n` zeroed bytes and reads into them (`UnexpectedEnd` if the input is shorter). So a 5-byte
//!   input can make one decode allocate up to 32 MiB, never more.
//! - `Vec<T>`, maps and other serde sequences (including `Vec<u8>`: serde's impl is the generic
//!   one) do *not* check `n` against the limit. serde's "cautious" size hint pre-allocates at
//!   most 1 MiB, then each element is read and claimed in turn, so a lying `n` fails with
//!   `UnexpectedEnd` when the input runs out.
//! - The limit counts decoded (in-memory) bytes of primitives, not wire bytes: a varint `u64`
//!   of one wire byte claims 8.

use std::collections::BTreeMap;
use std::fmt::Debug;

use labgob::{DECODE_LIMIT_BYTES, Error, check_round_trip, decode, encode};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::{
    Any, Nested, RequestVoteArgs, RequestVoteReply, Rpc, T1, T2, T3, TesterSnapshot, arb_nested,
    arb_rpc, arb_snapshot, arb_t1, arb_t2,
};

const LIMIT: u64 = DECODE_LIMIT_BYTES as u64;

/// Decodes `bytes` as a `T`; any result is fine, but what decodes must round-trip.
fn probe<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    if let Ok(value) = decode::<T>(bytes) {
        prop_assert_eq!(check_round_trip(&value), Ok(()));
    }
    Ok(())
}

/// [`probe`] as every type the tests know.
fn probe_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    probe::<Vec<u8>>(bytes)?;
    probe::<String>(bytes)?;
    probe::<Vec<Vec<u64>>>(bytes)?;
    probe::<Vec<String>>(bytes)?;
    probe::<BTreeMap<u64, String>>(bytes)?;
    probe::<Nested>(bytes)?;
    probe::<T1>(bytes)?;
    probe::<T2>(bytes)?;
    probe::<Any>(bytes)?;
    probe::<Rpc>(bytes)?;
    probe::<TesterSnapshot>(bytes)?;
    probe::<(bool, char, Option<u8>)>(bytes)?;
    probe::<(u64, i64, u128, i16)>(bytes)?;
    Ok(())
}

/// Every proper prefix of `value`'s encoding is a decode error (`UnexpectedEnd`), for `T`
/// itself and for every other type.
fn check_prefixes<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = encode(value).unwrap();
    for n in 0..bytes.len() {
        let result = decode::<T>(&bytes[..n]);
        prop_assert!(
            matches!(result, Err(Error::Decode { .. })),
            "prefix of {} of {} bytes gave {:?}",
            n,
            bytes.len(),
            result
        );
        probe_all(&bytes[..n])?;
    }
    Ok(())
}

/// A valid encoding followed by anything is `TrailingBytes` with the right counts.
fn check_trailing<T>(value: &T, tail: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut bytes = encode(value).unwrap();
    let used = bytes.len();
    bytes.extend_from_slice(tail);
    let result = decode::<T>(&bytes);
    prop_assert_eq!(
        result,
        Err(Error::TrailingBytes {
            type_name: std::any::type_name::<T>(),
            used,
            total: bytes.len(),
        })
    );
    Ok(())
}

/// Overwrites bytes of `bytes` at the given (index, value) pairs, indices taken modulo length.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    if !bytes.is_empty() {
        for &(i, b) in edits {
            let n = bytes.len();
            bytes[i % n] = b;
        }
    }
    bytes
}

/// `n` as a length prefix (a varint) followed by `tail`.
fn claim(n: u64, tail: &[u8]) -> Vec<u8> {
    let mut bytes = encode(&n).unwrap();
    bytes.extend_from_slice(tail);
    bytes
}

fn reason<T: Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Decode { reason, .. }) => reason,
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    // (a) Truncated encodings of valid values.
    #[test]
    fn prop_truncated_t2_is_an_error(value in arb_t2()) {
        check_prefixes(&value)?;
    }

    #[test]
    fn prop_truncated_rpc_is_an_error(value in arb_rpc()) {
        check_prefixes(&value)?;
    }

    #[test]
    fn prop_truncated_nested_is_an_error(value in arb_nested()) {
        check_prefixes(&value)?;
    }

    #[test]
    fn prop_truncated_snapshot_is_an_error(value in arb_snapshot()) {
        check_prefixes(&value)?;
    }

    #[test]
    fn prop_truncated_scalars_are_an_error(
        value in (any::<u64>(), any::<i128>(), any::<char>(), "[a-z🦀]{0,8}", any::<Option<bool>>())
    ) {
        check_prefixes(&value)?;
    }

    // (b) Valid encodings with a few bytes overwritten (random bytes, below, rarely get past
    // the first length prefix).
    #[test]
    fn prop_mutated_encodings_never_panic(
        t2 in arb_t2(),
        rpc in arb_rpc(),
        nested in arb_nested(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        probe_all(&mutate(encode(&t2).unwrap(), &edits))?;
        probe_all(&mutate(encode(&rpc).unwrap(), &edits))?;
        probe_all(&mutate(encode(&nested).unwrap(), &edits))?;
    }

    // (c) Wrong type: the encoding of one type decoded as all the others.
    #[test]
    fn prop_wrong_type_never_panics(
        t1 in arb_t1(),
        t2 in arb_t2(),
        rpc in arb_rpc(),
        nested in arb_nested(),
        snapshot in arb_snapshot(),
    ) {
        probe_all(&encode(&t1).unwrap())?;
        probe_all(&encode(&t2).unwrap())?;
        probe_all(&encode(&rpc).unwrap())?;
        probe_all(&encode(&nested).unwrap())?;
        probe_all(&encode(&snapshot).unwrap())?;
    }

    #[test]
    fn prop_trailing_bytes_are_reported(
        t2 in arb_t2(),
        rpc in arb_rpc(),
        tail in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        check_trailing(&t2, &tail)?;
        check_trailing(&rpc, &tail)?;
        check_trailing(&42u64, &tail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    // (b) Random bytes: cheap, so many cases.
    #[test]
    fn prop_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        probe_all(&bytes)?;
    }
}

#[test]
fn trailing_bytes_name_the_type_and_counts() {
    let err = decode::<u64>(&encode(&(7u64, 8u64)).unwrap()).unwrap_err();
    assert_eq!(
        err,
        Error::TrailingBytes {
            type_name: "u64",
            used: 1,
            total: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "labgob: decoding u64 used 1 of 2 bytes (wrong type?)"
    );
    // A Vec<u8> of 3 decoded as a u8: the length prefix is taken for the value.
    assert_eq!(
        decode::<u8>(&encode(&vec![1u8, 2, 3]).unwrap()),
        Err(Error::TrailingBytes {
            type_name: "u8",
            used: 1,
            total: 4
        })
    );
}

#[test]
fn wrong_type_examples() {
    let args = RequestVoteArgs {
        term: 5,
        candidate_id: 2,
        last_log_index: 100,
        last_log_term: 4,
    };
    let bytes = encode(&args).unwrap();
    // Same leading shape, too few fields used.
    assert!(matches!(
        decode::<(u64, u64)>(&bytes),
        Err(Error::TrailingBytes {
            used: 2,
            total: 4,
            ..
        })
    ));
    // `vote_granted` would be the byte 2: not a bool.
    assert!(matches!(
        decode::<RequestVoteReply>(&bytes),
        Err(Error::Decode { .. })
    ));
    // Variant index 5 of an enum with 4 variants.
    assert!(matches!(decode::<Rpc>(&bytes), Err(Error::Decode { .. })));
    // A wrong type can also decode into a value: no type descriptor on the wire.
    let t1 = T1 {
        t1int0: -2,
        t1int1: 0,
        t1string0: String::new(),
        t1string1: String::new(),
    };
    assert_eq!(
        decode::<(T3, u64, String, String)>(&encode(&t1).unwrap()),
        Ok((T3 { t3int999: -2 }, 0, String::new(), String::new()))
    );
}

/// (d) Lying length prefixes followed by a few bytes: an error, returned at once (the test
/// returning at all is the proof that nothing looped over the claimed count).
#[test]
fn oversized_length_prefixes_are_errors() {
    let claims = [
        1 << 60,
        u64::MAX,
        u64::MAX - 1,
        1 << 32,
        1 << 40,
        LIMIT - 8,
        LIMIT - 7,
        LIMIT,
        LIMIT + 1,
        1 << 20,
        1000,
    ];
    for n in claims {
        for tail in [&b""[..], b"abc", &[0xff; 8]] {
            let bytes = claim(n, tail);
            assert!(decode::<Vec<u8>>(&bytes).is_err(), "Vec<u8> claiming {n}");
            assert!(decode::<String>(&bytes).is_err(), "String claiming {n}");
            assert!(decode::<Vec<u64>>(&bytes).is_err(), "Vec<u64> claiming {n}");
            assert!(
                decode::<Vec<Vec<u64>>>(&bytes).is_err(),
                "Vec<Vec<u64>> {n}"
            );
            assert!(decode::<Vec<String>>(&bytes).is_err(), "Vec<String> {n}");
            assert!(decode::<BTreeMap<u64, u64>>(&bytes).is_err(), "map {n}");
            assert!(decode::<Vec<T1>>(&bytes).is_err(), "Vec<T1> {n}");
            assert!(decode::<Nested>(&bytes).is_err(), "Nested {n}");
            assert!(decode::<T2>(&bytes).is_err(), "T2 {n}");
            // A lying prefix in a later field: the snapshot's log after its index.
            assert!(decode::<TesterSnapshot>(&claim(0, &claim(n, tail))).is_err());
            // Nested one level down: a valid outer length, a lying inner one.
            let mut inner = claim(1, &claim(n, tail));
            assert!(decode::<Vec<Vec<u8>>>(&inner).is_err(), "inner {n}");
            inner.insert(0, 0); // Nested.grid = [], then names claims 1 string of n bytes.
            assert!(decode::<Nested>(&inner).is_err(), "Nested.names {n}");
        }
    }
}

/// Which error a lying prefix gives shows which path checked it (see the module doc).
#[test]
fn how_bincode_handles_claimed_lengths() {
    // Strings are claimed against the limit before allocating. The length prefix itself claims
    // 8 bytes (a usize), so the largest string is DECODE_LIMIT_BYTES - 8.
    for n in [LIMIT - 7, LIMIT, LIMIT + 1, 1 << 60, u64::MAX] {
        assert_eq!(reason(decode::<String>(&claim(n, b"abc"))), "LimitExceeded");
    }
    // Just under the limit: allowed, so bincode allocates the claimed 32 MiB - 8 (zeroed) and
    // only then finds the input short.
    assert_eq!(
        reason(decode::<String>(&claim(LIMIT - 8, b"abc"))),
        format!("UnexpectedEnd {{ additional: {} }}", LIMIT - 8 - 3)
    );
    // Serde sequences never check the claimed length: serde pre-allocates at most 1 MiB and the
    // decode fails when the elements run out.
    for n in [LIMIT - 8, LIMIT + 1, 1 << 60, u64::MAX] {
        assert_eq!(
            reason(decode::<Vec<u8>>(&claim(n, b"abc"))),
            "UnexpectedEnd { additional: 1 }"
        );
        assert_eq!(
            reason(decode::<Vec<u64>>(&claim(n, b"abc"))),
            "UnexpectedEnd { additional: 1 }"
        );
    }
}

/// With real data, the boundary is the same for `String` and `Vec<u8>`: DECODE_LIMIT_BYTES - 8
/// bytes decode, one more is `LimitExceeded`. (About 200 MB of short-lived buffers.)
#[test]
fn real_data_at_the_limit() {
    let fits = DECODE_LIMIT_BYTES - 8;
    let s = "x".repeat(fits);
    assert_eq!(decode::<String>(&encode(&s).unwrap()).unwrap().len(), fits);
    let s = "x".repeat(fits + 1);
    assert_eq!(
        reason(decode::<String>(&encode(&s).unwrap())),
        "LimitExceeded"
    );
    drop(s);

    let v = vec![7u8; fits];
    assert_eq!(decode::<Vec<u8>>(&encode(&v).unwrap()).unwrap().len(), fits);
    let v = vec![7u8; fits + 1];
    assert_eq!(
        reason(decode::<Vec<u8>>(&encode(&v).unwrap())),
        "LimitExceeded"
    );
}

/// The limit is in decoded bytes: a `u64` claims 8 whatever its varint width, so a 4 MiB
/// encoding of 4 Mi ones is over a 32 MiB limit.
#[test]
fn the_limit_counts_decoded_bytes_not_wire_bytes() {
    let fits = (DECODE_LIMIT_BYTES - 8) / 8;
    let v = vec![1u64; fits];
    let bytes = encode(&v).unwrap();
    assert_eq!(bytes.len(), fits + 5); // 5-byte length prefix, one byte per element
    assert_eq!(decode::<Vec<u64>>(&bytes).unwrap().len(), fits);
    let v = vec![1u64; fits + 1];
    assert_eq!(
        reason(decode::<Vec<u64>>(&encode(&v).unwrap())),
        "LimitExceeded"
    );
}

/// Known limits of the bound, pinned so that they stay known (see `labgob/src/lib.rs`):
/// what a decode builds is proportional to the input it consumes, times the element's
/// in-memory size, and elements that encode to zero bytes consume nothing.
#[test]
fn known_limits_of_the_bound() {
    // A `None` is one wire byte and claims one byte, but an `Option<[u64; 8]>` takes 72 bytes
    // of memory: 10 kB of input build 720 kB.
    let nones: Vec<Option<[u64; 8]>> = vec![None; 10_000];
    let bytes = encode(&nones).unwrap();
    assert_eq!(bytes.len(), 10_003);
    assert_eq!(
        decode::<Vec<Option<[u64; 8]>>>(&bytes).unwrap().len(),
        10_000
    );

    // `()` and empty structs encode to nothing and claim nothing: 3 bytes decode to 100 000
    // elements, and a claimed 2^60 would loop 2^60 times. No message type should hold a
    // sequence of zero-sized values.
    assert_eq!(
        decode::<Vec<()>>(&claim(100_000, b"")).unwrap().len(),
        100_000
    );
}
