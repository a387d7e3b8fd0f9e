//! Terraform (cty) types and their JSON type descriptions, as used in schemas and in
//! dynamically-typed values.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value as Json};

use crate::CodecError;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    /// `dynamic`: the concrete type travels with the value.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attributes.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The JSON type description Terraform uses (`"string"`, `["list","number"]`, ...).
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, Json> = attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                json!(["object", attrs])
            }
            Type::Tuple(elems) => json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serialising a serde_json::Value to a Vec cannot fail.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, CodecError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| CodecError::InvalidType(e.to_string()))?;
        Type::from_json(&json)
    }

    pub fn from_json(json: &Json) -> Result<Type, CodecError> {
        let bad = || CodecError::InvalidType(json.to_string());
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str().ok_or_else(bad)?;
                match (kind, &parts[1]) {
                    ("list", e) => Ok(Type::list(Type::from_json(e)?)),
                    ("set", e) => Ok(Type::set(Type::from_json(e)?)),
                    ("map", e) => Ok(Type::map(Type::from_json(e)?)),
                    ("object", Json::Object(attrs)) => {
                        attrs.iter().map(|(k, v)| Ok((k.clone(), Type::from_json(v)?))).collect::<Result<_, _>>().map(Type::Object)
                    }
                    ("tuple", Json::Array(elems)) => elems.iter().map(Type::from_json).collect::<Result<_, _>>().map(Type::Tuple),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(elems) => {
                f.write_str("tuple([")?;
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_description_round_trips() {
        let ty = Type::object([
            ("tags", Type::map(Type::String)),
            ("ports", Type::list(Type::Number)),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Dynamic])),
        ]);
        let bytes = ty.to_json_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"["object",{"pair":["tuple",["bool","dynamic"]],"ports":["list","number"],"tags":["map","string"]}]"#
        );
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), ty);
    }

    #[test]
    fn rejects_unknown_type_names() {
        assert!(Type::from_json_bytes(br#""int""#).is_err());
        assert!(Type::from_json_bytes(br#"["list"]"#).is_err());
        assert!(Type::from_json_bytes(b"{").is_err());
    }
}
