//! Attribute validators: small composable checks that run at plan time (ValidateResourceConfig)
//! on known, non-null configuration values and report problems at the attribute's path.

use std::sync::Arc;
use std::time::Duration;

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::value::Value;

pub trait Validator: Send + Sync {
    /// Shown in documentation and in the schema's description.
    fn description(&self) -> String;
    /// Called only with known, non-null values.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

/// A string check given as a function returning why the value is wrong.
pub struct StringCheck {
    description: &'static str,
    check: fn(&str) -> Result<(), String>,
}

pub fn string_check(description: &'static str, check: fn(&str) -> Result<(), String>) -> Arc<dyn Validator> {
    Arc::new(StringCheck { description, check })
}

impl Validator for StringCheck {
    fn description(&self) -> String {
        self.description.to_string()
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if let Err(why) = (self.check)(s) {
                diags.error_at(path.clone(), format!("Invalid {}", last_name(path)), format!("{s:?} {why}."));
            }
        }
    }
}

/// Applies `inner` to every known element of a list or set (plugin-framework's
/// `ValueStringsAre`), and requires at least `min_items` elements. A set's elements have no
/// path of their own in Terraform's diagnostics, so they are reported at the set.
pub struct Each {
    min_items: usize,
    inner: Arc<dyn Validator>,
}

pub fn each(min_items: usize, inner: Arc<dyn Validator>) -> Arc<dyn Validator> {
    Arc::new(Each { min_items, inner })
}

impl Validator for Each {
    fn description(&self) -> String {
        format!("at least {} of: {}", self.min_items, self.inner.description())
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let elements = value.elements();
        if elements.len() < self.min_items {
            diags.error_at(
                path.clone(),
                format!("Too few {}", last_name(path)),
                format!("{} given; at least {} needed. Leave the attribute out instead of giving none.", elements.len(), self.min_items),
            );
        }
        for (i, element) in elements.iter().enumerate() {
            if element.is_known() && !element.is_null() {
                let at = if matches!(value, Value::List(_)) { path.index(i) } else { path.clone() };
                self.inner.validate(element, &at, diags);
            }
        }
    }
}

/// A map of strings: at most `max_entries` entries, each key and value checked by a function
/// returning why it is wrong; problems are reported at the entry's path.
pub struct StringMapCheck {
    description: &'static str,
    max_entries: usize,
    key: fn(&str) -> Result<(), String>,
    value: fn(&str) -> Result<(), String>,
}

pub fn string_map_check(
    description: &'static str,
    max_entries: usize,
    key: fn(&str) -> Result<(), String>,
    value: fn(&str) -> Result<(), String>,
) -> Arc<dyn Validator> {
    Arc::new(StringMapCheck { description, max_entries, key, value })
}

impl Validator for StringMapCheck {
    fn description(&self) -> String {
        self.description.to_string()
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let Some(entries) = value.entries() else { return };
        if entries.len() > self.max_entries {
            diags.error_at(
                path.clone(),
                format!("Too many {}", last_name(path)),
                format!("{} entries given; at most {} are allowed.", entries.len(), self.max_entries),
            );
        }
        for (k, v) in entries {
            if let Err(why) = (self.key)(k) {
                diags.error_at(path.key(k), format!("Invalid {} key", last_name(path)), format!("{k:?} {why}."));
            }
            if let Some(text) = v.as_str() {
                if let Err(why) = (self.value)(text) {
                    diags.error_at(path.key(k), format!("Invalid {} value", last_name(path)), format!("{text:?} {why}."));
                }
            }
        }
    }
}

/// Integer in an inclusive range.
pub struct IntBetween {
    min: i64,
    max: i64,
}

pub fn int_between(min: i64, max: i64) -> Arc<dyn Validator> {
    Arc::new(IntBetween { min, max })
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("between {} and {}", self.min, self.max)
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let Value::Number(n) = value else { return };
        match n.as_i64() {
            Some(i) if (self.min..=self.max).contains(&i) => {}
            Some(i) => diags.error_at(
                path.clone(),
                format!("Invalid {}", last_name(path)),
                format!("{i} is out of range: it must be between {} and {}.", self.min, self.max),
            ),
            None if n.is_whole() => diags.error_at(
                path.clone(),
                format!("Invalid {}", last_name(path)),
                format!("{n} is out of range: it must be between {} and {}.", self.min, self.max),
            ),
            None => diags.error_at(path.clone(), format!("Invalid {}", last_name(path)), format!("{n} is not a whole number.")),
        }
    }
}

/// One of a fixed set of strings.
pub struct OneOf(&'static [&'static str]);

pub fn one_of(choices: &'static [&'static str]) -> Arc<dyn Validator> {
    Arc::new(OneOf(choices))
}

impl Validator for OneOf {
    fn description(&self) -> String {
        format!("one of {}", self.0.join(", "))
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.0.contains(&s) {
                diags.error_at(path.clone(), format!("Invalid {}", last_name(path)), format!("{s:?} is not one of {}.", self.0.join(", ")));
            }
        }
    }
}

/// A duration in Go's notation (`"40m"`, `"1h30m"`, `"90s"`), as `timeouts` blocks use.
pub struct GoDuration;

pub fn go_duration() -> Arc<dyn Validator> {
    Arc::new(GoDuration)
}

impl Validator for GoDuration {
    fn description(&self) -> String {
        "a duration such as \"30s\", \"40m\" or \"1h30m\"".into()
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if let Err(why) = parse_duration(s) {
                diags.error_at(path.clone(), format!("Invalid {}", last_name(path)), format!("{s:?}: {why}."));
            }
        }
    }
}

/// Parses Go's duration syntax: a sequence of decimal numbers, each with a unit of
/// `ms`, `s`, `m` or `h`. Negative durations are refused: a timeout cannot be negative.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err("a duration cannot be empty".into());
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err("expected a number followed by a unit (ms, s, m or h)".into());
        }
        let amount: f64 = rest[..digits].parse().map_err(|_| format!("{:?} is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err("a unit is missing (ms, s, m or h)".into()),
            other => return Err(format!("unknown unit {other:?} (use ms, s, m or h)")),
        };
        rest = &rest[unit_len..];
        total += amount * seconds;
    }
    if total > 366.0 * 86400.0 {
        return Err("longer than a year".into());
    }
    Ok(Duration::from_secs_f64(total))
}

fn last_name(path: &AttributePath) -> String {
    path.steps()
        .iter()
        .rev()
        .find_map(|s| match s {
            crate::PathStep::Attribute(n) => Some(n.replace('_', " ")),
            _ => None,
        })
        .unwrap_or_else(|| "value".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("40m"), Ok(Duration::from_secs(2400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("40").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn range_errors_carry_the_path() {
        let mut d = Diagnostics::new();
        let path = AttributePath::of("cpu_utilization");
        int_between(1, 100).validate(&Value::int(150), &path, &mut d);
        let diag = d.iter().next().unwrap();
        assert_eq!(diag.attribute.as_ref(), Some(&path));
        assert!(diag.detail.contains("between 1 and 100"));
    }

    #[test]
    fn a_whole_number_beyond_i64_is_out_of_range_not_fractional() {
        let path = AttributePath::of("max_size");
        for text in ["18446744073709551617", "1e30", "-99999999999999999999"] {
            let mut d = Diagnostics::new();
            int_between(1, 1000).validate(&Value::Number(crate::value::Number::parse(text).unwrap()), &path, &mut d);
            let detail = &d.iter().next().unwrap().detail;
            assert!(detail.contains("is out of range") && detail.contains("between 1 and 1000"), "{text}: {detail}");
        }
        let mut d = Diagnostics::new();
        int_between(1, 1000).validate(&Value::Number(crate::value::Number::parse("2.5").unwrap()), &path, &mut d);
        assert!(d.iter().next().unwrap().detail.contains("not a whole number"));
    }
}
