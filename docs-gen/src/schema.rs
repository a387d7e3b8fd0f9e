//! The parts of `terraform providers schema -json` (one provider's entry) that the docs show.
//! Maps are `BTreeMap`s so names come out sorted whatever serde_json's features are.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::DocsError;

#[derive(Deserialize)]
pub(crate) struct ProviderSchemas {
    pub provider: Schema,
    #[serde(default)]
    pub resource_schemas: BTreeMap<String, Schema>,
    #[serde(default)]
    pub data_source_schemas: BTreeMap<String, Schema>,
}

impl ProviderSchemas {
    pub fn parse(json: &str) -> Result<ProviderSchemas, DocsError> {
        serde_json::from_str(json).map_err(|e| DocsError::new(format!("the schema JSON does not read as a provider schema: {e}")))
    }
}

#[derive(Deserialize)]
pub(crate) struct Schema {
    pub block: Block,
}

#[derive(Deserialize)]
pub(crate) struct Block {
    #[serde(default)]
    pub attributes: BTreeMap<String, Attribute>,
    #[serde(default)]
    pub block_types: BTreeMap<String, NestedBlock>,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
pub(crate) struct Attribute {
    #[serde(rename = "type")]
    pub value_type: Option<Value>,
    /// Protocol 6 nested attributes; this provider has none, so the docs refuse them rather
    /// than document them wrongly.
    pub nested_type: Option<Value>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub computed: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub deprecated: bool,
}

#[derive(Deserialize)]
pub(crate) struct NestedBlock {
    pub nesting_mode: NestingMode,
    pub block: Block,
    #[serde(default)]
    pub min_items: u64,
    #[serde(default)]
    pub max_items: u64,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NestingMode {
    Single,
    Group,
    List,
    Set,
    Map,
}

/// Which part of a schema section an attribute or block is listed in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Role {
    Required,
    Optional,
    ReadOnly,
}

pub(crate) const ROLES: [Role; 3] = [Role::Required, Role::Optional, Role::ReadOnly];

impl Role {
    pub fn title(self) -> &'static str {
        match self {
            Role::Required => "Required",
            Role::Optional => "Optional",
            Role::ReadOnly => "Read-Only",
        }
    }
}

impl Attribute {
    /// Optional and computed counts as optional: the user may set it.
    pub fn role(&self, name: &str) -> Result<Role, DocsError> {
        match (self.required, self.optional, self.computed) {
            (true, _, _) => Ok(Role::Required),
            (false, true, _) => Ok(Role::Optional),
            (false, false, true) => Ok(Role::ReadOnly),
            (false, false, false) => Err(DocsError::new(format!("attribute `{name}` is neither required, optional nor computed"))),
        }
    }

    pub fn forces_replacement(&self) -> bool {
        self.description.contains("forces a new resource")
    }
}

impl NestedBlock {
    /// Required when it must appear; read-only when nothing in it can be set; else optional.
    pub fn role(&self) -> Role {
        if self.min_items > 0 {
            Role::Required
        } else if self.block.is_read_only() {
            Role::ReadOnly
        } else {
            Role::Optional
        }
    }
}

impl Block {
    fn is_read_only(&self) -> bool {
        let has_members = !self.attributes.is_empty() || !self.block_types.is_empty();
        has_members
            && self.attributes.values().all(|a| a.computed && !a.optional && !a.required)
            && self.block_types.values().all(|b| b.min_items == 0 && b.block.is_read_only())
    }
}

/// How the docs spell a Terraform type: `String`, `List of String`, `Map of Number`.
pub(crate) fn type_name(value_type: &Value) -> Result<String, DocsError> {
    let unsupported = || DocsError::new(format!("cannot document the type {value_type}"));
    match value_type {
        Value::String(primitive) => match primitive.as_str() {
            "string" => Ok("String".into()),
            "number" => Ok("Number".into()),
            "bool" => Ok("Boolean".into()),
            "dynamic" => Ok("Dynamic".into()),
            _ => Err(unsupported()),
        },
        Value::Array(parts) => match parts.as_slice() {
            [Value::String(kind), element] => match kind.as_str() {
                "list" => Ok(format!("List of {}", type_name(element)?)),
                "set" => Ok(format!("Set of {}", type_name(element)?)),
                "map" => Ok(format!("Map of {}", type_name(element)?)),
                "object" => Ok("Object".into()),
                "tuple" => Ok("Tuple".into()),
                _ => Err(unsupported()),
            },
            _ => Err(unsupported()),
        },
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_read_as_the_registry_writes_them() {
        assert_eq!(type_name(&json!("string")).unwrap(), "String");
        assert_eq!(type_name(&json!("bool")).unwrap(), "Boolean");
        assert_eq!(type_name(&json!(["set", "string"])).unwrap(), "Set of String");
        assert_eq!(type_name(&json!(["map", ["list", "number"]])).unwrap(), "Map of List of Number");
        assert!(type_name(&json!(["weird", "string"])).is_err());
    }

    fn attribute(required: bool, optional: bool, computed: bool) -> Attribute {
        Attribute {
            value_type: Some(json!("string")),
            nested_type: None,
            description: String::new(),
            required,
            optional,
            computed,
            sensitive: false,
            deprecated: false,
        }
    }

    #[test]
    fn optional_and_computed_is_optional() {
        assert_eq!(attribute(true, false, false).role("a").unwrap(), Role::Required);
        assert_eq!(attribute(false, true, true).role("a").unwrap(), Role::Optional);
        assert_eq!(attribute(false, false, true).role("a").unwrap(), Role::ReadOnly);
        assert!(attribute(false, false, false).role("a").is_err());
    }
}
