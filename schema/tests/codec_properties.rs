//! Property tests: any value of any type survives both codecs, and no byte string makes a
//! decoder panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use scaling_schema::{json, msgpack, Number, Type, Value};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,8}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        (-1e300f64..1e300f64).prop_map(Number::from_f64),
        "[1-9][0-9]{20,30}".prop_map(Number::Big),
        // Decimals such as 0.1 that no f64 holds exactly, and integers beyond 2^53, as cty
        // sends them: text that must come back unchanged.
        "-?[0-9]{1,6}\\.[0-9]{1,6}".prop_map(|t| Number::parse(&t).expect("a decimal")),
        (1u64 << 53..u64::MAX).prop_map(|i| Number::parse(&i.to_string()).expect("an integer")),
    ]
}

/// A concrete (non-dynamic) type to wrap in a dynamic position.
fn arb_concrete_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::list(Type::String)),
        Just(Type::object([("n", Type::Number)])),
    ]
}

/// Values of `ty`, with null and (when `unknowns`) unknown possible at every level.
fn arb_value(ty: Type, unknowns: bool) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Dynamic => arb_concrete_type()
            .prop_flat_map(move |t| {
                arb_value(t.clone(), unknowns).prop_map(move |v| match v {
                    Value::Null | Value::Unknown => v,
                    known => Value::Dynamic(Box::new(t.clone()), Box::new(known)),
                })
            })
            .boxed(),
        Type::List(et) => prop::collection::vec(arb_value(*et, unknowns), 0..4).prop_map(Value::List).boxed(),
        Type::Set(et) => prop::collection::vec(arb_value(*et, unknowns), 0..4).prop_map(Value::Set).boxed(),
        Type::Map(et) => prop::collection::btree_map(any::<String>(), arb_value(*et, unknowns), 0..4).prop_map(Value::Map).boxed(),
        Type::Object(attrs) => {
            let names: Vec<String> = attrs.keys().cloned().collect();
            let strategies: Vec<BoxedStrategy<Value>> = attrs.into_values().map(|t| arb_value(t, unknowns)).collect();
            strategies.prop_map(move |vals| Value::Object(names.iter().cloned().zip(vals).collect::<BTreeMap<_, _>>())).boxed()
        }
        Type::Tuple(types) => {
            let strategies: Vec<BoxedStrategy<Value>> = types.into_iter().map(|t| arb_value(t, unknowns)).collect();
            strategies.prop_map(Value::Tuple).boxed()
        }
    };
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| (Just(t.clone()), arb_value(t, unknowns)))
}

proptest! {
    // 512 cases in the test run; PROPTEST_CASES=100000 runs longer (the README says so).
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)))]

    #[test]
    fn msgpack_round_trips((ty, value) in typed_value(true)) {
        let bytes = msgpack::encode(&value, &ty).unwrap();
        prop_assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), value);
    }

    #[test]
    fn json_round_trips((ty, value) in typed_value(false)) {
        let bytes = json::encode(&value, &ty).unwrap();
        prop_assert_eq!(json::decode(&bytes, &ty).unwrap(), value);
    }

    #[test]
    fn type_descriptions_round_trip(ty in arb_type()) {
        prop_assert_eq!(Type::from_json_bytes(&ty.to_json_bytes()).unwrap(), ty);
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in arb_type(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = msgpack::decode(&bytes, &ty);
        let _ = json::decode(&bytes, &ty);
        let _ = Type::from_json_bytes(&bytes);
    }

    #[test]
    fn truncated_encodings_are_errors((ty, value) in typed_value(true), cut in any::<prop::sample::Index>()) {
        let bytes = msgpack::encode(&value, &ty).unwrap();
        let at = cut.index(bytes.len());
        prop_assert!(msgpack::decode(&bytes[..at], &ty).is_err());
    }

    #[test]
    fn flipped_bytes_never_panic((ty, value) in typed_value(true), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = msgpack::encode(&value, &ty).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = msgpack::decode(&bytes, &ty);
    }
}

#[test]
fn deeply_nested_garbage_is_an_error() {
    // 100k nested one-element arrays: a decoder that recursed without bound would overflow.
    let bytes = vec![0x91u8; 100_000];
    assert!(msgpack::decode(&bytes, &Type::list(Type::Dynamic)).is_err());
    let json = "[".repeat(100_000);
    assert!(json::decode(json.as_bytes(), &Type::list(Type::Dynamic)).is_err());
}

/// Terraform 1.6+ sends unknowns with refinements: cty's extension type 12, whose payload is a
/// map of what is known (1: not null, 2: string prefix, ...). They read as plain unknowns,
/// wherever they sit.
#[test]
fn refined_unknowns_read_as_unknown() {
    // ext8, 3 bytes, type 12, payload {1: false}.
    let refined = [0xc7u8, 0x03, 0x0c, 0x81, 0x01, 0xc2];
    assert_eq!(msgpack::decode(&refined, &Type::String).unwrap(), Value::Unknown);
    let ty = Type::Object(BTreeMap::from([("name".to_string(), Type::String), ("size".to_string(), Type::Number)]));
    let mut object = vec![0x82u8, 0xa4];
    object.extend(b"name");
    object.extend(refined);
    object.push(0xa4);
    object.extend(b"size");
    object.push(0x07);
    let decoded = msgpack::decode(&object, &ty).unwrap();
    assert_eq!(decoded.attr("name"), &Value::Unknown);
    assert_eq!(decoded.attr("size").as_i64(), Some(7));
}

proptest! {
    /// Any extension type, with any payload, in place of a value of any type.
    #[test]
    fn any_extension_reads_as_unknown(ty in arb_type(), ext in any::<i8>(), payload in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = vec![0xc8u8];
        bytes.extend((payload.len() as u16).to_be_bytes());
        bytes.push(ext as u8);
        bytes.extend(&payload);
        prop_assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), Value::Unknown);
    }

    /// Numbers past i64 and f64 in JSON state: exact when they decode, an error otherwise,
    /// never a panic or a rounded value passed off as exact.
    #[test]
    fn huge_json_numbers_never_panic(digits in "[1-9][0-9]{15,400}", exponent in -400i32..400) {
        for text in [digits.clone(), format!("-{digits}"), format!("{digits}e{exponent}"), format!("0.{digits}")] {
            let _ = json::decode(text.as_bytes(), &Type::Number);
        }
    }
}

/// A message far larger than any state (64 MiB of one string) decodes or fails; it does not
/// crash.
#[test]
fn oversized_messages_are_handled() {
    let len = 64 * 1024 * 1024u32;
    let mut bytes = vec![0xdbu8];
    bytes.extend(len.to_be_bytes());
    bytes.extend(std::iter::repeat_n(b'a', len as usize));
    assert_eq!(msgpack::decode(&bytes, &Type::String).unwrap().as_str().map(str::len), Some(len as usize));
    // A length that claims more than there is.
    assert!(msgpack::decode(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], &Type::String).is_err());
}
