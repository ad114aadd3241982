//! Round trips, the Go `TestGOB` analogue: every value the labs send comes back equal, and
//! failures are `Result` values, never panics.

use std::collections::BTreeMap;
use std::fmt::Debug;

use labgob::{Error, check_round_trip, decode, encode, encode_checked};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::types::{
    Any, AppendEntriesArgs, LogEntry, Nested, RequestVoteArgs, Rpc, T1, T2, T3, TesterSnapshot,
    arb_nested, arb_rpc, arb_snapshot, arb_t2,
};

/// Asserts `decode(encode(x)) == x` through every entry point.
fn round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = encode(value).expect("encode");
    let back: T = decode(&bytes).expect("decode");
    assert_eq!(&back, value);
    check_round_trip(value).expect("check_round_trip");
    assert_eq!(encode_checked(value).expect("encode_checked"), bytes);
}

fn t1(i: i64) -> T1 {
    T1 {
        t1int0: i,
        t1int1: 1 + i.unsigned_abs(),
        t1string0: format!("6.824-{i}"),
        t1string1: String::new(),
    }
}

#[test]
fn ints() {
    for v in [
        0u64,
        1,
        111,
        250,
        251,
        9099,
        65_535,
        65_536,
        1 << 62,
        u64::MAX,
    ] {
        round_trip(&v);
    }
    for v in [0i64, -1, 1, -9099, i64::MIN, i64::MAX] {
        round_trip(&v);
    }
    round_trip(&(
        u8::MAX,
        i8::MIN,
        u16::MAX,
        i32::MIN,
        u32::MAX,
        usize::MAX,
        isize::MIN,
    ));
    round_trip(&(u128::MAX, i128::MIN, true, false, 'λ'));
}

#[test]
fn strings() {
    for s in ["", "x", "hello, raft", "ünïcödé → 🦀", &"y".repeat(5000)] {
        round_trip(&s.to_owned());
    }
    round_trip(&vec!["a".to_owned(), String::new(), "b".repeat(300)]);
}

#[test]
fn a_struct() {
    round_trip(&t1(0));
    round_trip(&t1(-7));
    round_trip(&RequestVoteArgs {
        term: 5,
        candidate_id: 2,
        last_log_index: 100,
        last_log_term: 4,
    });
}

#[test]
fn a_struct_with_a_vec() {
    round_trip(&AppendEntriesArgs {
        term: 3,
        leader_id: 1,
        prev_log_index: 10,
        prev_log_term: 2,
        entries: (0..5)
            .map(|i| LogEntry {
                term: 3,
                command: vec![i; usize::from(i)],
            })
            .collect(),
        leader_commit: 9,
    });
    round_trip(&Nested {
        grid: vec![vec![], vec![1, 2, u64::MAX]],
        names: vec!["s0".to_owned()],
        blobs: vec![None, Some(vec![]), Some(vec![0, 255])],
        voted_for: None,
    });
}

#[test]
fn a_btreemap_of_boxed_values() {
    let map: BTreeMap<u64, Box<T1>> = (0..4).map(|i| (i * 1000, Box::new(t1(i as i64)))).collect();
    round_trip(&map);
    round_trip(&BTreeMap::<String, Box<Option<u64>>>::new());
}

#[test]
fn an_enum_holding_a_struct() {
    round_trip(&Any::T3(T3 { t3int999: 999 }));
    round_trip(&Any::Nil);
    round_trip(&Rpc::Reply {
        term: 1,
        success: true,
    });
    round_trip(&Rpc::Shutdown);
    round_trip(&Some(Rpc::RequestVote(RequestVoteArgs {
        term: 1,
        candidate_id: 0,
        last_log_index: 0,
        last_log_term: 0,
    })));
}

/// Go's TestGOB encodes several values and a `T2` with all its parts filled in.
#[test]
fn go_test_gob() {
    let t2 = T2 {
        t2slice: vec![t1(0), t1(1)],
        t2map: BTreeMap::from([(99, Box::new(t1(99))), (100, Box::new(t1(100)))]),
        t2t3: Any::T3(T3 { t3int999: 999 }),
    };
    let values = (99u64, 100i64, t2, "hello".to_owned());
    round_trip(&values);
}

/// A value whose Serialize impl asks for a sequence of unknown length, which bincode refuses.
struct UnknownLength;

impl Serialize for UnknownLength {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        serializer.serialize_seq(None)?.end()
    }
}

#[test]
fn errors_are_values() {
    // Decode: empty input for a struct type.
    let err = decode::<T2>(&[]).expect_err("nothing to decode");
    let Error::Decode { type_name, reason } = &err else {
        panic!("expected Error::Decode, got {err:?}");
    };
    assert!(type_name.ends_with("T2"), "{type_name}");
    assert!(!reason.is_empty());
    assert!(
        err.to_string().starts_with("labgob: cannot decode "),
        "{err}"
    );

    // Encode: the codec's refusal comes back as Error::Encode.
    let err = encode(&UnknownLength).expect_err("bincode needs sequence lengths");
    let Error::Encode { type_name, .. } = &err else {
        panic!("expected Error::Encode, got {err:?}");
    };
    assert!(type_name.ends_with("UnknownLength"), "{type_name}");
    assert!(
        err.to_string().starts_with("labgob: cannot encode "),
        "{err}"
    );

    // It is an ordinary error value: boxable, comparable, cloneable.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err.clone());
    assert_eq!(boxed.to_string(), err.to_string());
    assert_eq!(err.clone(), err);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_t2_round_trips(value in arb_t2()) {
        prop_assert_eq!(decode::<T2>(&encode(&value).unwrap()).unwrap(), value.clone());
        prop_assert!(check_round_trip(&value).is_ok());
    }

    #[test]
    fn prop_rpc_round_trips(value in arb_rpc()) {
        prop_assert_eq!(decode::<Rpc>(&encode(&value).unwrap()).unwrap(), value.clone());
    }

    #[test]
    fn prop_nested_round_trips(value in arb_nested()) {
        prop_assert_eq!(decode::<Nested>(&encode(&value).unwrap()).unwrap(), value.clone());
    }

    #[test]
    fn prop_snapshot_round_trips(value in arb_snapshot()) {
        prop_assert_eq!(decode::<TesterSnapshot>(&encode(&value).unwrap()).unwrap(), value.clone());
    }

    #[test]
    fn prop_scalars_round_trip(
        value in (any::<u64>(), any::<i64>(), any::<u128>(), any::<char>(), ".{0,20}", any::<Option<u32>>())
    ) {
        prop_assert_eq!(decode::<(u64, i64, u128, char, String, Option<u32>)>(&encode(&value).unwrap()).unwrap(), value.clone());
    }
}
