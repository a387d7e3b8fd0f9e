//! The msgpack encoding of `DynamicValue`, type-directed as cty does it: null is nil, unknown
//! is extension type 0, objects are maps keyed by attribute name, sets and tuples are arrays,
//! and a value in a `dynamic` position is the pair `[type JSON, value]`.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use crate::types::Type;
use crate::value::{Number, Value};
use crate::CodecError;

/// cty writes unknowns as a fixext1 of type 0; any extension reads back as unknown.
const UNKNOWN_EXT: i8 = 0;

pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mp = to_msgpack(value, ty, &mut String::new())?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| CodecError::Malformed(e.to_string()))?;
    Ok(out)
}

pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = bytes;
    let mp = rmpv::decode::read_value(&mut reader).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CodecError::Malformed(format!("{} trailing bytes", reader.len())));
    }
    from_msgpack(&mp, ty, &mut String::new())
}

fn mismatch(path: &str, expected: &Type, found: &str) -> CodecError {
    CodecError::Mismatch {
        path: if path.is_empty() { "(root)".into() } else { path.to_string() },
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// Runs `f` with `step` appended to `path`, so errors name where they happened.
fn nested<T>(path: &mut String, step: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    path.push_str(step);
    let out = f(path);
    path.truncate(len);
    out
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
        Value::Dynamic(..) => "dynamic value",
    }
}

fn to_msgpack(value: &Value, ty: &Type, path: &mut String) -> Result<Mp, CodecError> {
    match (value, ty) {
        (Value::Null, _) => Ok(Mp::Nil),
        (Value::Unknown, _) => Ok(Mp::Ext(UNKNOWN_EXT, vec![0])),
        (Value::Dynamic(inner_ty, inner), Type::Dynamic) => {
            Ok(Mp::Array(vec![Mp::Binary(inner_ty.to_json_bytes()), to_msgpack(inner, inner_ty, path)?]))
        }
        (Value::Bool(b), Type::Bool) => Ok(Mp::Boolean(*b)),
        (Value::Number(n), Type::Number) => Ok(match n {
            Number::Int(i) => Mp::from(*i),
            Number::Float(f) => Mp::F64(*f),
            Number::Big(s) => Mp::from(s.as_str()),
        }),
        (Value::String(s), Type::String) => Ok(Mp::from(s.as_str())),
        (Value::List(items), Type::List(et)) | (Value::Set(items), Type::Set(et)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| nested(path, &format!("[{i}]"), |p| to_msgpack(v, et, p)))
            .collect::<Result<_, _>>()
            .map(Mp::Array),
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (v, t))| nested(path, &format!("[{i}]"), |p| to_msgpack(v, t, p)))
            .collect::<Result<_, _>>()
            .map(Mp::Array),
        (Value::Map(entries), Type::Map(et)) => entries
            .iter()
            .map(|(k, v)| Ok((Mp::from(k.as_str()), nested(path, &format!("[{k:?}]"), |p| to_msgpack(v, et, p))?)))
            .collect::<Result<_, _>>()
            .map(Mp::Map),
        (Value::Object(attrs), Type::Object(types)) => {
            if let Some(extra) = attrs.keys().find(|k| !types.contains_key(*k)) {
                return Err(mismatch(path, ty, &format!("unexpected attribute {extra:?}")));
            }
            types
                .iter()
                .map(|(name, t)| {
                    let v = attrs.get(name).unwrap_or(&Value::Null);
                    Ok((Mp::from(name.as_str()), nested(path, &format!(".{name}"), |p| to_msgpack(v, t, p))?))
                })
                .collect::<Result<_, _>>()
                .map(Mp::Map)
        }
        _ => Err(mismatch(path, ty, value_kind(value))),
    }
}

fn mp_kind(mp: &Mp) -> &'static str {
    match mp {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "boolean",
        Mp::Integer(_) => "integer",
        Mp::F32(_) | Mp::F64(_) => "float",
        Mp::String(_) => "string",
        Mp::Binary(_) => "binary",
        Mp::Array(_) => "array",
        Mp::Map(_) => "map",
        Mp::Ext(..) => "extension",
    }
}

fn from_msgpack(mp: &Mp, ty: &Type, path: &mut String) -> Result<Value, CodecError> {
    match (mp, ty) {
        (Mp::Nil, _) => Ok(Value::Null),
        (Mp::Ext(..), _) => Ok(Value::Unknown),
        (Mp::Array(pair), Type::Dynamic) if pair.len() == 2 => {
            let type_json = match &pair[0] {
                Mp::Binary(b) => b.as_slice(),
                Mp::String(s) => s.as_bytes(),
                other => return Err(mismatch(path, ty, mp_kind(other))),
            };
            let inner_ty = Type::from_json_bytes(type_json)?;
            let inner = from_msgpack(&pair[1], &inner_ty, path)?;
            Ok(match inner {
                Value::Null | Value::Unknown => inner,
                known => Value::Dynamic(Box::new(inner_ty), Box::new(known)),
            })
        }
        (Mp::Boolean(b), Type::Bool) => Ok(Value::Bool(*b)),
        (Mp::Integer(i), Type::Number) => Ok(Value::Number(match i.as_i64() {
            Some(v) => Number::Int(v),
            None => Number::Big(i.to_string()),
        })),
        (Mp::F32(f), Type::Number) => float(f64::from(*f), path, ty),
        (Mp::F64(f), Type::Number) => float(*f, path, ty),
        (Mp::String(s), Type::Number) => {
            s.as_str().and_then(Number::parse).map(Value::Number).ok_or_else(|| mismatch(path, ty, "a string that is not a number"))
        }
        (Mp::String(s), Type::String) => s.as_str().map(Value::string).ok_or_else(|| mismatch(path, ty, "invalid UTF-8")),
        (Mp::Array(items), Type::List(et)) => elements(items, et, path).map(Value::List),
        (Mp::Array(items), Type::Set(et)) => elements(items, et, path).map(Value::Set),
        (Mp::Array(items), Type::Tuple(types)) if items.len() == types.len() => items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (v, t))| nested(path, &format!("[{i}]"), |p| from_msgpack(v, t, p)))
            .collect::<Result<_, _>>()
            .map(Value::Tuple),
        (Mp::Map(entries), Type::Map(et)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path, ty)?;
                let v = nested(path, &format!("[{key:?}]"), |p| from_msgpack(v, et, p))?;
                out.insert(key, v);
            }
            Ok(Value::Map(out))
        }
        (Mp::Map(entries), Type::Object(types)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path, ty)?;
                let Some(t) = types.get(&key) else {
                    return Err(mismatch(path, ty, &format!("unexpected attribute {key:?}")));
                };
                let v = nested(path, &format!(".{key}"), |p| from_msgpack(v, t, p))?;
                out.insert(key, v);
            }
            // Absent attributes are null, so every object carries its full set of attributes.
            for name in types.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        _ => Err(mismatch(path, ty, mp_kind(mp))),
    }
}

fn float(f: f64, path: &str, ty: &Type) -> Result<Value, CodecError> {
    if f.is_finite() {
        Ok(Value::Number(Number::from_f64(f)))
    } else {
        Err(mismatch(path, ty, "a non-finite float"))
    }
}

fn elements(items: &[Mp], et: &Type, path: &mut String) -> Result<Vec<Value>, CodecError> {
    items.iter().enumerate().map(|(i, v)| nested(path, &format!("[{i}]"), |p| from_msgpack(v, et, p))).collect()
}

fn map_key(k: &Mp, path: &str, ty: &Type) -> Result<String, CodecError> {
    match k {
        Mp::String(s) => s.as_str().map(str::to_string).ok_or_else(|| mismatch(path, ty, "a key that is not UTF-8")),
        other => Err(mismatch(path, ty, &format!("a {} key", mp_kind(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_extension_zero() {
        let bytes = encode(&Value::Unknown, &Type::String).unwrap();
        assert_eq!(bytes, vec![0xd4, 0x00, 0x00]);
        assert_eq!(decode(&bytes, &Type::String).unwrap(), Value::Unknown);
    }

    #[test]
    fn dynamic_carries_its_type() {
        let v = Value::Dynamic(Box::new(Type::String), Box::new(Value::from("hi")));
        let bytes = encode(&v, &Type::Dynamic).unwrap();
        assert_eq!(decode(&bytes, &Type::Dynamic).unwrap(), v);
    }

    #[test]
    fn object_missing_attributes_read_as_null() {
        let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::Map(vec![(Mp::from("a"), Mp::from("x"))])).unwrap();
        let v = decode(&buf, &ty).unwrap();
        assert_eq!(v, Value::object([("a", Value::from("x")), ("b", Value::Null)]));
    }

    #[test]
    fn type_mismatch_names_the_path() {
        let ty = Type::object([("tags", Type::map(Type::String))]);
        let mut buf = Vec::new();
        let inner = Mp::Map(vec![(Mp::from("team"), Mp::from(5))]);
        rmpv::encode::write_value(&mut buf, &Mp::Map(vec![(Mp::from("tags"), inner)])).unwrap();
        let err = decode(&buf, &ty).unwrap_err();
        assert!(err.to_string().contains(r#".tags["team"]"#), "{err}");
    }
}
