//! Conversions between the framework's values, schemas and diagnostics and tfplugin6 messages.

use scaling_schema::{json, msgpack, AttributePath, Block, Diagnostic, Diagnostics, Nesting, PathStep, Schema, Severity, Type, Value};

use crate::proto::tfplugin6 as pb;
use pb::attribute_path::step::Selector;

pub fn schema(s: &Schema) -> pb::Schema {
    pb::Schema { version: s.version, block: Some(block(&s.block)) }
}

fn block(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b
            .attributes
            .iter()
            .map(|a| pb::schema::Attribute {
                name: a.name.clone(),
                r#type: a.ty.to_json_bytes(),
                nested_type: None,
                description: a.full_description(),
                required: a.required,
                optional: a.optional,
                computed: a.computed,
                sensitive: a.sensitive,
                description_kind: pb::StringKind::Markdown as i32,
                deprecated: a.deprecated,
            })
            .collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block(&nb.block)),
                nesting: nesting(nb.nesting) as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn nesting(n: Nesting) -> pb::schema::nested_block::NestingMode {
    use pb::schema::nested_block::NestingMode as M;
    match n {
        Nesting::Single => M::Single,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
        Nesting::Group => M::Group,
    }
}

pub fn diagnostics(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary,
        detail: d.detail,
        attribute: d.attribute.filter(|p| !p.is_root()).map(|p| attribute_path(&p)),
    }
}

pub fn attribute_path(p: &AttributePath) -> pb::AttributePath {
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// Decodes a DynamicValue (msgpack, or JSON when that is what was sent). An absent value is null.
pub fn decode(v: Option<&pb::DynamicValue>, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<Value> {
    let Some(v) = v else { return Some(Value::Null) };
    let result = if !v.msgpack.is_empty() {
        msgpack::decode(&v.msgpack, ty)
    } else if !v.json.is_empty() {
        json::decode(&v.json, ty)
    } else {
        Ok(Value::Null)
    };
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            diags.error(format!("Unreadable {what}"), format!("Terraform sent a {what} this provider cannot decode: {e}"));
            None
        }
    }
}

pub fn encode(v: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match msgpack::encode(v, ty) {
        Ok(bytes) => Some(pb::DynamicValue { msgpack: bytes, json: Vec::new() }),
        Err(e) => {
            diags.error("Provider produced an unencodable value", format!("{e}. This is a bug in the provider."));
            None
        }
    }
}
