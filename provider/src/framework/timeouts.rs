//! The `timeouts { create = "40m" ... }` block: user-settable limits on how long an
//! operation waits, with per-resource defaults.

use std::time::Duration;

use scaling_schema::validator::{go_duration, parse_duration};
use scaling_schema::{Attribute, Block, NestedBlock, Nesting, Type, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { create: Duration::from_secs(20 * 60), update: Duration::from_secs(20 * 60), delete: Duration::from_secs(20 * 60) }
    }
}

pub const BLOCK_NAME: &str = "timeouts";

impl Timeouts {
    /// The schema block, documenting this resource's defaults.
    pub fn block(&self) -> NestedBlock {
        let attr = |name: &str, d: Duration| {
            Attribute::optional(name, Type::String)
                .describe(&format!("How long to wait for {name} to finish (default {}).", human(d)))
                .validate(go_duration())
        };
        NestedBlock::new(
            BLOCK_NAME,
            Nesting::Single,
            Block::new("Limits on how long operations wait, as Go durations such as \"30s\", \"40m\" or \"2h\".")
                .attribute(attr("create", self.create))
                .attribute(attr("update", self.update))
                .attribute(attr("delete", self.delete)),
        )
    }

    /// The limits the user set in `resource_value`'s timeouts block, over these defaults.
    /// Validation already rejected malformed durations; any that slip through keep the default.
    pub fn resolve(&self, resource_value: &Value) -> Timeouts {
        let block = resource_value.attr(BLOCK_NAME);
        let get = |name: &str, default: Duration| block.attr(name).as_str().and_then(|s| parse_duration(s).ok()).unwrap_or(default);
        Timeouts { create: get("create", self.create), update: get("update", self.update), delete: get("delete", self.delete) }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_override_defaults() {
        let defaults = Timeouts { create: Duration::from_secs(2400), update: Duration::from_secs(4800), delete: Duration::from_secs(3600) };
        let v =
            Value::object([(BLOCK_NAME, Value::object([("create", Value::from("5m")), ("update", Value::Null), ("delete", Value::Null)]))]);
        let t = defaults.resolve(&v);
        assert_eq!(t.create, Duration::from_secs(300));
        assert_eq!(t.update, Duration::from_secs(4800));
        assert_eq!(defaults.resolve(&Value::Null), defaults);
        assert!(defaults.block().block.attributes[0].description.contains("40m"));
    }
}
