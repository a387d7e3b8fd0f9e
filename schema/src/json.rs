//! The JSON encoding of values, used for raw state (`UpgradeResourceState`) and for
//! `DynamicValue.json`. State never holds unknowns, so they are an error here. A value in a
//! `dynamic` position is `{"value": ..., "type": ...}`, as Terraform writes it.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use crate::types::Type;
use crate::value::{Number, Value};
use crate::CodecError;

pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let json = to_json(value, ty, "")?;
    serde_json::to_vec(&json).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Decodes by the type, reading each number from its own text: serde_json (without
/// arbitrary precision, which would change it for every crate in the build) turns integers
/// beyond u64 and long decimals into the nearest f64, which is not what state said.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CodecError::Malformed(e.to_string()))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| CodecError::Malformed(e.to_string()))?;
    from_raw(raw, ty, "")
}

fn parse<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue, path: &str, ty: &Type) -> Result<T, CodecError> {
    serde_json::from_str(raw.get()).map_err(|_| mismatch(path, ty, &format!("{:.40}", raw.get())))
}

fn from_raw(raw: &RawValue, ty: &Type, path: &str) -> Result<Value, CodecError> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Value::Null);
    }
    Ok(match ty {
        Type::Number if !text.starts_with('"') => {
            Value::Number(Number::parse(text).ok_or_else(|| mismatch(path, ty, "a number it cannot read"))?)
        }
        Type::Object(types) => {
            let m: BTreeMap<String, &RawValue> = parse(raw, path, ty)?;
            let mut out = BTreeMap::new();
            for (name, t) in types {
                let v = match m.get(name) {
                    Some(v) => from_raw(v, t, &format!("{path}.{name}"))?,
                    None => Value::Null,
                };
                out.insert(name.clone(), v);
            }
            // Attributes the schema no longer has are dropped: that is what an upgrade means.
            Value::Object(out)
        }
        Type::Map(et) => {
            let m: BTreeMap<String, &RawValue> = parse(raw, path, ty)?;
            Value::Map(
                m.iter().map(|(k, v)| Ok((k.clone(), from_raw(v, et, &format!("{path}[{k:?}]"))?))).collect::<Result<_, CodecError>>()?,
            )
        }
        Type::List(et) | Type::Set(et) => {
            let items: Vec<&RawValue> = parse(raw, path, ty)?;
            let values = items.iter().enumerate().map(|(i, v)| from_raw(v, et, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?;
            if matches!(ty, Type::Set(_)) {
                Value::Set(values)
            } else {
                Value::List(values)
            }
        }
        Type::Tuple(types) => {
            let items: Vec<&RawValue> = parse(raw, path, ty)?;
            if items.len() != types.len() {
                return Err(mismatch(path, ty, &format!("{} elements", items.len())));
            }
            Value::Tuple(
                items.iter().zip(types).enumerate().map(|(i, (v, t))| from_raw(v, t, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?,
            )
        }
        Type::Dynamic => {
            let m: BTreeMap<String, &RawValue> = parse(raw, path, ty)?;
            let inner_ty =
                Type::from_json(&parse(m.get("type").ok_or_else(|| mismatch(path, ty, "an object without \"type\""))?, path, ty)?)?;
            match m.get("value") {
                Some(v) => match from_raw(v, &inner_ty, path)? {
                    Value::Null => Value::Null,
                    known => Value::Dynamic(Box::new(inner_ty), Box::new(known)),
                },
                None => Value::Null,
            }
        }
        // Strings, booleans, and numbers written as strings (which Terraform accepts in state,
        // as cty does) need no more than serde_json.
        _ => from_json(&parse(raw, path, ty)?, ty, path)?,
    })
}

fn mismatch(path: &str, expected: &Type, found: &str) -> CodecError {
    CodecError::Mismatch {
        path: if path.is_empty() { "(root)".into() } else { path.to_string() },
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

pub fn to_json(value: &Value, ty: &Type, path: &str) -> Result<Json, CodecError> {
    Ok(match (value, ty) {
        (Value::Null, _) => Json::Null,
        (Value::Unknown, _) => {
            return Err(CodecError::UnknownInState { path: if path.is_empty() { "(root)".into() } else { path.into() } })
        }
        (Value::Dynamic(inner_ty, inner), Type::Dynamic) => {
            let mut m = Map::new();
            m.insert("value".into(), to_json(inner, inner_ty, path)?);
            m.insert("type".into(), inner_ty.to_json());
            Json::Object(m)
        }
        (Value::Bool(b), Type::Bool) => Json::Bool(*b),
        (Value::Number(n), Type::Number) => match n {
            Number::Int(i) => Json::from(*i),
            Number::Float(f) => {
                let n = serde_json::Number::from_f64(*f).ok_or_else(|| mismatch(path, ty, "a non-finite float"))?;
                // JSON numbers are read as decimals, so a float whose shortest text is not its
                // exact value (6.2e298, say) is written out in full, as a string.
                if Number::parse(&n.to_string()) == Some(Number::Float(*f)) {
                    Json::Number(n)
                } else {
                    Json::String(Number::exact_text(*f))
                }
            }
            // serde_json without arbitrary precision cannot hold it as a number.
            Number::Big(s) => Json::String(s.clone()),
        },
        (Value::String(s), Type::String) => Json::String(s.clone()),
        (Value::List(items), Type::List(et)) | (Value::Set(items), Type::Set(et)) => {
            Json::Array(items.iter().enumerate().map(|(i, v)| to_json(v, et, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?)
        }
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => Json::Array(
            items.iter().zip(types).enumerate().map(|(i, (v, t))| to_json(v, t, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?,
        ),
        (Value::Map(entries), Type::Map(et)) => Json::Object(
            entries.iter().map(|(k, v)| Ok((k.clone(), to_json(v, et, &format!("{path}[{k:?}]"))?))).collect::<Result<_, CodecError>>()?,
        ),
        (Value::Object(attrs), Type::Object(types)) => {
            if let Some(extra) = attrs.keys().find(|k| !types.contains_key(*k)) {
                return Err(mismatch(path, ty, &format!("unexpected attribute {extra:?}")));
            }
            Json::Object(
                types
                    .iter()
                    .map(|(name, t)| {
                        let v = attrs.get(name).unwrap_or(&Value::Null);
                        Ok((name.clone(), to_json(v, t, &format!("{path}.{name}"))?))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        _ => return Err(mismatch(path, ty, "a value of another type")),
    })
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

pub fn from_json(json: &Json, ty: &Type, path: &str) -> Result<Value, CodecError> {
    Ok(match (json, ty) {
        (Json::Null, _) => Value::Null,
        (Json::Object(m), Type::Dynamic) => {
            let inner_ty = Type::from_json(m.get("type").ok_or_else(|| mismatch(path, ty, "an object without \"type\""))?)?;
            let inner = from_json(m.get("value").unwrap_or(&Json::Null), &inner_ty, path)?;
            match inner {
                Value::Null => Value::Null,
                known => Value::Dynamic(Box::new(inner_ty), Box::new(known)),
            }
        }
        (Json::Bool(b), Type::Bool) => Value::Bool(*b),
        (Json::Number(n), Type::Number) => Value::Number(if let Some(i) = n.as_i64() {
            Number::Int(i)
        } else if let Some(f) = n.as_f64().filter(|_| !n.is_u64()) {
            // Terraform writes state numbers in decimal: `0.1` in state is the decimal 0.1,
            // not the float nearest it, so its shortest text is what is kept.
            Number::parse(&n.to_string()).unwrap_or(Number::from_f64(f))
        } else {
            Number::Big(n.to_string())
        }),
        // Terraform accepts numbers written as strings in state, as cty does.
        (Json::String(s), Type::Number) => {
            Value::Number(Number::parse(s).ok_or_else(|| mismatch(path, ty, "a string that is not a number"))?)
        }
        (Json::String(s), Type::String) => Value::String(s.clone()),
        (Json::Array(items), Type::List(et)) => Value::List(elements(items, et, path)?),
        (Json::Array(items), Type::Set(et)) => Value::Set(elements(items, et, path)?),
        (Json::Array(items), Type::Tuple(types)) if items.len() == types.len() => Value::Tuple(
            items.iter().zip(types).enumerate().map(|(i, (v, t))| from_json(v, t, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?,
        ),
        (Json::Object(m), Type::Map(et)) => Value::Map(
            m.iter().map(|(k, v)| Ok((k.clone(), from_json(v, et, &format!("{path}[{k:?}]"))?))).collect::<Result<_, CodecError>>()?,
        ),
        (Json::Object(m), Type::Object(types)) => {
            let mut out = BTreeMap::new();
            for (name, t) in types {
                let v = m.get(name).unwrap_or(&Json::Null);
                out.insert(name.clone(), from_json(v, t, &format!("{path}.{name}"))?);
            }
            // Attributes the schema no longer has are dropped: that is what an upgrade means.
            Value::Object(out)
        }
        _ => return Err(mismatch(path, ty, json_kind(json))),
    })
}

fn elements(items: &[Json], et: &Type, path: &str) -> Result<Vec<Value>, CodecError> {
    items.iter().enumerate().map(|(i, v)| from_json(v, et, &format!("{path}[{i}]"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_cannot_be_state() {
        let ty = Type::object([("a", Type::String)]);
        let v = Value::object([("a", Value::Unknown)]);
        assert_eq!(encode(&v, &ty).unwrap_err(), CodecError::UnknownInState { path: ".a".into() });
    }

    #[test]
    fn state_decimals_stay_decimals() {
        // Terraform writes the decimal 0.1 as `0.1`; read as the float nearest it and sent
        // back, it would no longer equal the configuration's 0.1.
        let ty = Type::object([("n", Type::Number)]);
        let v = decode(br#"{"n":0.1}"#, &ty).unwrap();
        assert_eq!(v.attr("n"), &Value::Number(Number::Big("0.1".into())));
        let bytes = crate::msgpack::encode(&v, &ty).unwrap();
        assert!(bytes.windows(3).any(|w| w == b"0.1"), "sent to Terraform as the text 0.1");
    }

    #[test]
    fn dropped_attributes_are_ignored_on_decode() {
        let ty = Type::object([("a", Type::String)]);
        let v = decode(br#"{"a":"x","removed":1}"#, &ty).unwrap();
        assert_eq!(v, Value::object([("a", Value::from("x"))]));
    }

    #[test]
    fn state_numbers_beyond_f64_keep_their_text() {
        // Beyond u64, and more digits than an f64 holds: both used to come back rounded.
        let ty = Type::object([("big", Type::Number), ("long", Type::Number), ("list", Type::list(Type::Number))]);
        let v = decode(br#"{"big":18446744073709551617,"long":0.10000000000000000000001,"list":[123456789012345678901234567890]}"#, &ty)
            .unwrap();
        assert_eq!(v.attr("big"), &Value::Number(Number::Big("18446744073709551617".into())));
        assert_eq!(v.attr("long"), &Value::Number(Number::Big("0.10000000000000000000001".into())));
        assert_eq!(v.attr("list").elements()[0], Value::Number(Number::Big("123456789012345678901234567890".into())));
        let back: Json = serde_json::from_slice(&encode(&v, &ty).unwrap()).unwrap();
        assert_eq!(back["big"], Json::String("18446744073709551617".into()), "written as its exact text");
    }

    #[test]
    fn mismatched_state_names_the_path() {
        let ty = Type::object([("n", Type::Number), ("tags", Type::map(Type::String))]);
        let err = decode(br#"{"n":1,"tags":[1,2]}"#, &ty).unwrap_err();
        assert!(matches!(&err, CodecError::Mismatch { path, .. } if path == ".tags"), "{err:?}");
        assert!(decode(br#"{"n":"1.5","tags":null}"#, &ty).is_ok(), "numbers written as strings are accepted");
    }
}
