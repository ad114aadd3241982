//! The lost-field check, the Go `TestCapital` analogue. Go's labgob warns about lower-case
//! (unexported) fields, which gob silently does not send. In Rust the silent drop is a
//! `#[serde(skip)]` field or a lossy `Serialize` impl, and the check is dynamic: a value must
//! survive encode → decode unchanged.
//!
//! (Go's `TestDefault`, decoding into a non-default target, has no analogue: `decode` always
//! builds a fresh value.)

use std::collections::BTreeMap;

use labgob::{Error, check_round_trip, checks_enabled, decode, encode, encode_checked};
use serde::{Deserialize, Serialize, Serializer};

/// Go's `T4` with its lower-case field: `voted_for` never travels.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct T4 {
    term: u64,
    #[serde(skip)]
    voted_for: Option<u64>,
}

/// A `Serialize` impl that sends only the first 4 characters of `name`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Truncating {
    name: String,
}

impl Serialize for Truncating {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Truncating", 1)?;
        s.serialize_field("name", &self.name.chars().take(4).collect::<String>())?;
        s.end()
    }
}

fn lost(value: &T4) -> Error {
    check_round_trip(value).expect_err("voted_for does not travel")
}

#[test]
fn a_skipped_field_holding_a_value_is_lost() {
    let value = T4 {
        term: 3,
        voted_for: Some(1),
    };
    let err = lost(&value);
    let Error::LostField {
        type_name,
        before,
        after,
    } = &err
    else {
        panic!("expected Error::LostField, got {err:?}");
    };
    assert!(type_name.ends_with("lost_field::T4"), "{type_name}");
    assert_eq!(before, "T4 { term: 3, voted_for: Some(1) }");
    assert_eq!(after, "T4 { term: 3, voted_for: None }");
    let shown = err.to_string();
    assert!(shown.contains(type_name), "{shown}");
    assert!(shown.contains("#[serde(skip)]"), "{shown}");
    assert!(shown.contains("voted_for: Some(1)"), "{shown}");
}

/// The check is per value: with the skipped field at its default nothing is lost, so the check
/// passes. That is why `encode_checked` checks every value (in debug builds), not each type
/// once as Go does: the first `T4` sent often has `voted_for: None`.
#[test]
fn a_skipped_field_at_its_default_passes() {
    assert_eq!(check_round_trip(&T4::default()), Ok(()));
    assert_eq!(
        check_round_trip(&T4 {
            term: 9,
            voted_for: None
        }),
        Ok(())
    );
}

/// Go's TestCapital encodes a `[]map[*T4]int`: the check must see through containers, and the
/// error names the outer type (which names `T4`).
#[test]
fn a_lost_field_deep_inside_containers_is_found() {
    let inner = T4 {
        term: 1,
        voted_for: Some(2),
    };
    let value: Vec<BTreeMap<Box<T4>, i32>> =
        vec![BTreeMap::new(), BTreeMap::from([(Box::new(inner), 7)])];
    let err = check_round_trip(&value).expect_err("voted_for does not travel");
    let Error::LostField { type_name, .. } = &err else {
        panic!("expected Error::LostField, got {err:?}");
    };
    assert!(type_name.starts_with("alloc::vec::Vec<"), "{type_name}");
    assert!(type_name.contains("T4"), "{type_name}");
    assert!(err.to_string().contains("T4"), "{err}");

    let fine: Vec<BTreeMap<Box<T4>, i32>> = vec![BTreeMap::from([(Box::default(), 7)])];
    assert_eq!(check_round_trip(&fine), Ok(()));
}

#[test]
fn a_lossy_serialize_impl_is_caught() {
    let short = Truncating {
        name: "Raft".to_owned(),
    };
    assert_eq!(check_round_trip(&short), Ok(()));
    let long = Truncating {
        name: "Raft leader".to_owned(),
    };
    let err = check_round_trip(&long).expect_err("name is truncated");
    assert!(matches!(err, Error::LostField { .. }), "{err:?}");
    assert!(err.to_string().contains("Truncating"), "{err}");
    // encode alone does not notice: the bytes are valid, they just say less.
    let bytes = encode(&long).unwrap();
    assert_eq!(decode::<Truncating>(&bytes).unwrap().name, "Raft");
}

/// `encode_checked` is what the network calls. `LABGOB_CHECK` is read once per process, and
/// debug assertions are off under `--release`, so the test accepts either setting but always
/// checks the behaviour that goes with it.
#[test]
fn encode_checked_reports_lost_fields_when_checks_are_on() {
    let value = T4 {
        term: 3,
        voted_for: Some(1),
    };
    let result = encode_checked(&value);
    if checks_enabled() {
        assert_eq!(result, Err(lost(&value)));
    } else {
        assert_eq!(result, Ok(encode(&value).unwrap()));
    }
    // The bare check fails either way.
    assert!(matches!(
        check_round_trip(&value),
        Err(Error::LostField { .. })
    ));
    // A value that travels whole encodes to the same bytes through both entry points.
    let fine = T4 {
        term: 3,
        voted_for: None,
    };
    assert_eq!(encode_checked(&fine), Ok(encode(&fine).unwrap()));
}

/// `checks_enabled` follows `LABGOB_CHECK` when set, the build profile otherwise.
#[test]
fn checks_enabled_matches_the_environment() {
    let expected = match std::env::var("LABGOB_CHECK").as_deref() {
        Ok("1") | Ok("true") => true,
        Ok("0") | Ok("false") => false,
        _ => cfg!(debug_assertions),
    };
    assert_eq!(checks_enabled(), expected);
}
