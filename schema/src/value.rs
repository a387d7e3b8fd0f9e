//! Terraform values: every type's values plus `null` and `unknown` at any depth.

use std::collections::BTreeMap;
use std::fmt;

use crate::path::{AttributePath, PathStep};
use crate::types::Type;

/// A Terraform number. Integers and floats cover what providers exchange; `Big` keeps the
/// decimal text of a number neither can hold exactly, so it survives a round trip untouched.
#[derive(Clone, Debug)]
pub enum Number {
    Int(i64),
    Float(f64),
    Big(String),
}

impl Number {
    /// Integral floats become `Int`, so `3` and `3.0` compare equal.
    pub fn from_f64(f: f64) -> Number {
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            Number::Int(f as i64)
        } else {
            Number::Float(f)
        }
    }

    /// Parses decimal text. A number whose value an f64 does not hold exactly (`0.1`, an
    /// integer beyond 2^53 and i64) keeps its text verbatim as `Big`, as cty keeps it: cty sends
    /// such numbers as strings precisely because a float would change them.
    pub fn parse(text: &str) -> Option<Number> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let f: f64 = text.parse().ok()?;
        if !f.is_finite() {
            // Beyond f64's range, yet a number cty can hold; "inf" and "NaN" are not numbers.
            return decimal_digits(text).map(|_| Number::Big(text.to_string()));
        }
        let exact = decimal_digits(text).is_some_and(|d| Some(d) == decimal_digits(&format!("{f:.800e}")));
        if exact {
            Some(Number::from_f64(f))
        } else {
            Some(Number::Big(text.to_string()))
        }
    }

    /// The exact decimal value of a float, e.g. `1.0000000000000000555e-1` for 0.1's float.
    pub fn exact_text(f: f64) -> String {
        let full = format!("{f:.800e}");
        match full.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", mantissa.trim_end_matches('0').trim_end_matches('.')),
            None => full,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(_) | Number::Big(_) => None,
        }
    }

    /// Whether the number is an integer, whether or not an i64 holds it (1e30 and
    /// 18446744073709551617 are; 0.5 is not).
    pub fn is_whole(&self) -> bool {
        match self {
            Number::Int(_) => true,
            Number::Float(f) => f.is_finite() && f.fract() == 0.0,
            Number::Big(text) => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                // Integer digits, or a magnitude far past any fraction a range check tells
                // apart (1e30).
                (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())) || text.parse::<f64>().is_ok_and(|f| f.abs() >= 9.3e18)
            }
        }
    }

    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }
}

/// A decimal number's value as (negative, significant digits, exponent), with no leading or
/// trailing zeros in the digits, so that two spellings of one value compare equal. `None` for
/// text that is not a plain decimal.
fn decimal_digits(text: &str) -> Option<(bool, String, i64)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() || !(int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let all = format!("{int_part}{frac_part}");
    let leading = all.bytes().take_while(|b| *b == b'0').count();
    let digits = all[leading..].trim_end_matches('0');
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    // The value is 0.DIGITS x 10^point.
    let point = int_part.len() as i64 - leading as i64 + exponent;
    Some((negative, digits.to_string(), point))
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Big(a), Number::Big(b)) => a == b || decimal_digits(a).is_some_and(|d| Some(d) == decimal_digits(b)),
            (Number::Big(_), _) | (_, Number::Big(_)) => false,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Element order carries no meaning: equality ignores it.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A known, non-null value in a `dynamic` position, with its concrete type.
    Dynamic(Box<Type>, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Set(a), Set(b)) => same_elements(a, b),
            (Dynamic(ta, va), Dynamic(tb, vb)) => ta == tb && va == vb,
            _ => false,
        }
    }
}

/// Multiset equality without requiring `Ord` or `Hash` on values.
fn same_elements(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = b.iter().enumerate().position(|(i, y)| !used[i] && x == y);
        match found {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// A string, or null when absent: the usual shape of an optional API field.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }
    pub fn opt_int(i: Option<i64>) -> Value {
        i.map_or(Value::Null, Value::int)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// True when no unknown appears anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, v) => v.as_str(),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, v) => v.as_bool(),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            Value::Dynamic(_, v) => v.as_i64(),
            _ => None,
        }
    }
    /// The elements of a list, set or tuple; empty for null.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v,
            _ => &[],
        }
    }
    /// The entries of a map or object; `None` for anything else.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An object's attribute. Missing attributes and non-objects read as null.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// A string attribute the schema requires, or "" while it is null or unknown.
    pub fn str_attr(&self, name: &str) -> &str {
        self.attr(name).as_str().unwrap_or_default()
    }

    /// Sets an attribute; a null value becomes an empty object first.
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if !matches!(self, Value::Object(_)) {
            *self = Value::Object(BTreeMap::new());
        }
        if let Value::Object(m) = self {
            m.insert(name.to_string(), value);
        }
    }

    /// The value at `path`, or `None` where the path leads through null, unknown or a missing key.
    pub fn at_path(&self, path: &AttributePath) -> Option<&Value> {
        let mut current = self;
        for step in path.steps() {
            current = match (step, current) {
                (PathStep::Attribute(name), Value::Object(m)) => m.get(name)?,
                (PathStep::Key(key), Value::Map(m)) => m.get(key)?,
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v) | Value::Set(v)) => v.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Replaces the value at `path` when the path exists.
    pub fn at_path_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        let mut current = self;
        for step in path.steps() {
            current = match (step, current) {
                (PathStep::Attribute(name), Value::Object(m)) => m.get_mut(name)?,
                (PathStep::Key(key), Value::Map(m)) => m.get_mut(key)?,
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v) | Value::Set(v)) => v.get_mut(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// A map of strings as Rust pairs; nulls and non-strings are skipped.
    pub fn string_map(&self) -> BTreeMap<String, String> {
        self.entries().map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()).unwrap_or_default()
    }

    pub fn from_string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec!["x".into(), "y".into(), "x".into()]);
        let b = Value::Set(vec!["x".into(), "x".into(), "y".into()]);
        let c = Value::Set(vec!["x".into(), "y".into(), "y".into()]);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn integral_floats_equal_ints() {
        assert_eq!(Number::from_f64(3.0), Number::Int(3));
        assert_eq!(Number::Float(2.5), Number::Float(2.5));
        // 2^64 is an f64 exactly; 2^64 + 1 is not.
        assert_eq!(Number::parse("18446744073709551616"), Some(Number::Float(18446744073709551616.0)));
        assert_eq!(Number::parse("18446744073709551617"), Some(Number::Big("18446744073709551617".into())));
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert_eq!(Number::parse("0.5"), Some(Number::Float(0.5)));
        assert_eq!(Number::parse("1.5e3"), Some(Number::Int(1500)));
        assert_eq!(Number::parse("-0.25"), Some(Number::Float(-0.25)));
    }

    #[test]
    fn decimals_a_float_cannot_hold_keep_their_text() {
        for text in ["0.1", "2.675", "9007199254740993.5", "1e400", "123456789012345678901234567890"] {
            assert_eq!(Number::parse(text), Some(Number::Big(text.into())), "{text}");
        }
        // 2^53 + 1 is no f64, but fits i64.
        assert_eq!(Number::parse("9007199254740993"), Some(Number::Int(9007199254740993)));
        assert_eq!(Number::parse("0.1").map(|n| n.to_string()), Some("0.1".into()));
        assert_eq!(Number::parse("0.10"), Number::parse("0.1"), "one value, two spellings");
        assert_eq!(Number::parse("inf"), None);
    }

    #[test]
    fn paths_reach_nested_values() {
        let v = Value::object([("timeouts", Value::object([("create", Value::from("5m"))]))]);
        let p = AttributePath::root().attr("timeouts").attr("create");
        assert_eq!(v.at_path(&p).and_then(Value::as_str), Some("5m"));
        assert!(v.at_path(&AttributePath::root().attr("nope")).is_none());
    }
}
