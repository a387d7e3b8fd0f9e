//! A block's attributes and nested blocks as the registry's "Schema" section: the top level
//! grouped under "### Required", "### Optional" and "### Read-Only", each nested block in a
//! "Nested Schema for `path`" section of its own with an anchor the parent's entry links to.

use crate::schema::{type_name, Attribute, Block, NestedBlock, NestingMode, Role, ROLES};
use crate::DocsError;

/// The "## Schema" section of `block` (a resource's, data source's or the provider's).
pub(crate) fn schema_section(block: &Block) -> Result<String, DocsError> {
    let mut out = String::from("## Schema\n\n");
    let replacing = replacing_attributes(block, "");
    if !replacing.is_empty() {
        out.push_str(&format!("Changing {} forces a new resource: the plan shows a replacement.\n\n", either_of(&replacing)));
    }
    write_members(&mut out, block, &[])?;
    Ok(out)
}

/// One attribute or nested block of a block, as listed.
enum Member<'a> {
    Attribute(&'a Attribute),
    Block(&'a NestedBlock),
}

/// Writes the members of the block at `path` (empty: the top level), then the sections of its
/// nested blocks, depth first.
fn write_members(out: &mut String, block: &Block, path: &[&str]) -> Result<(), DocsError> {
    let members = members_by_role(block)?;
    let mut nested = Vec::new();
    for role in ROLES {
        let listed: Vec<_> = members.iter().filter(|(r, _, _)| *r == role).collect();
        if listed.is_empty() {
            continue;
        }
        out.push_str(&role_heading(role, path.is_empty()));
        for (_, name, member) in listed {
            let member_path = [path, &[name.as_str()]].concat();
            match member {
                Member::Attribute(attribute) => out.push_str(&attribute_line(name, attribute)?),
                Member::Block(nested_block) => {
                    out.push_str(&block_line(name, nested_block, &anchor(&member_path)));
                    nested.push((member_path, *nested_block));
                }
            }
        }
        out.push('\n');
    }
    for (nested_path, nested_block) in nested {
        out.push_str(&format!("<a id=\"{}\"></a>\n### Nested Schema for `{}`\n\n", anchor(&nested_path), nested_path.join(".")));
        write_members(out, &nested_block.block, &nested_path)?;
    }
    Ok(())
}

/// Attributes and blocks together, by role, then by name (as the registry lists them).
fn members_by_role(block: &Block) -> Result<Vec<(Role, String, Member<'_>)>, DocsError> {
    let mut members = Vec::new();
    for (name, attribute) in &block.attributes {
        members.push((attribute.role(name)?, name.clone(), Member::Attribute(attribute)));
    }
    for (name, nested_block) in &block.block_types {
        members.push((nested_block.role(), name.clone(), Member::Block(nested_block)));
    }
    members.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(members)
}

fn role_heading(role: Role, top_level: bool) -> String {
    if top_level {
        format!("### {}\n\n", role.title())
    } else {
        format!("{}:\n\n", role.title())
    }
}

/// `- `name` (String, Sensitive) Description.`
fn attribute_line(name: &str, attribute: &Attribute) -> Result<String, DocsError> {
    if attribute.nested_type.is_some() {
        return Err(DocsError::new(format!("attribute `{name}` has nested attributes, which these docs cannot show yet")));
    }
    let value_type = attribute.value_type.as_ref().ok_or_else(|| DocsError::new(format!("attribute `{name}` has no type")))?;
    let mut traits = vec![type_name(value_type)?];
    if attribute.sensitive {
        traits.push("Sensitive".into());
    }
    if attribute.deprecated {
        traits.push("Deprecated".into());
    }
    Ok(list_item(name, &traits.join(", "), &attribute.description, None))
}

/// `- `timeouts` (Block List, Max: 10) Description. (see [nested schema](#anchor))`
fn block_line(name: &str, nested_block: &NestedBlock, anchor: &str) -> String {
    let mut traits = vec![String::from(match nested_block.nesting_mode {
        NestingMode::Single | NestingMode::Group => "Block",
        NestingMode::List => "Block List",
        NestingMode::Set => "Block Set",
        NestingMode::Map => "Block Map",
    })];
    // A single block appears at most once anyway; its minimum is what "Required" says.
    let repeatable = !matches!(nested_block.nesting_mode, NestingMode::Single | NestingMode::Group);
    if repeatable && nested_block.min_items > 0 {
        traits.push(format!("Min: {}", nested_block.min_items));
    }
    if repeatable && nested_block.max_items > 0 {
        traits.push(format!("Max: {}", nested_block.max_items));
    }
    list_item(name, &traits.join(", "), &nested_block.block.description, Some(anchor))
}

fn list_item(name: &str, traits: &str, description: &str, nested_anchor: Option<&str>) -> String {
    let mut line = format!("- `{name}` ({traits})");
    let description = description.trim();
    if !description.is_empty() {
        // Continuation lines indented, so a multi-line description stays in its list item.
        line.push(' ');
        line.push_str(&description.lines().map(str::trim_end).collect::<Vec<_>>().join("\n  "));
    }
    if let Some(anchor) = nested_anchor {
        line.push_str(&format!(" (see [nested schema](#{anchor}))"));
    }
    line.push('\n');
    line
}

/// `nestedblock--scale_down--policy`: the anchor form registry readers know from tfplugindocs.
fn anchor(path: &[&str]) -> String {
    format!("nestedblock--{}", path.join("--"))
}

/// Dotted paths of the attributes whose descriptions say changing them replaces the resource
/// (the schema model appends that sentence to every attribute with a replacing plan modifier).
fn replacing_attributes(block: &Block, prefix: &str) -> Vec<String> {
    let mut paths: Vec<String> =
        block.attributes.iter().filter(|(_, a)| a.forces_replacement()).map(|(name, _)| format!("{prefix}{name}")).collect();
    for (name, nested_block) in &block.block_types {
        paths.extend(replacing_attributes(&nested_block.block, &format!("{prefix}{name}.")));
    }
    paths
}

/// "`a`", "`a` or `b`", "any of `a`, `b` or `c`".
fn either_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [only] => only.clone(),
        [rest @ .., last] if rest.len() == 1 => format!("{} or {last}", rest[0]),
        [rest @ .., last] => format!("any of {} or {last}", rest.join(", ")),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn block(schema: serde_json::Value) -> Block {
        serde_json::from_value::<Schema>(json!({ "block": schema })).unwrap().block
    }

    #[test]
    fn groups_by_role_then_name_and_links_nested_blocks() {
        let rendered = schema_section(&block(json!({
            "attributes": {
                "zone": { "type": "string", "optional": true, "computed": true, "description": "Where." },
                "name": { "type": "string", "required": true, "description": "Its name. Changing it forces a new resource." },
                "id": { "type": "string", "computed": true, "description": "Id." },
                "tags": { "type": ["map", "string"], "optional": true },
                "secret": { "type": "string", "optional": true, "sensitive": true, "description": "Shh." }
            },
            "block_types": {
                "scale_down": {
                    "nesting_mode": "single",
                    "block": {
                        "description": "How fast.",
                        "attributes": { "window": { "type": "number", "optional": true, "description": "Seconds." } },
                        "block_types": {
                            "policy": {
                                "nesting_mode": "list", "max_items": 10,
                                "block": { "attributes": { "value": { "type": "number", "required": true, "description": "Pods." } } }
                            }
                        }
                    }
                },
                "target": {
                    "nesting_mode": "single", "min_items": 1, "max_items": 1,
                    "block": { "attributes": { "kind": { "type": "string", "required": true, "description": "Kind." } } }
                }
            }
        })))
        .unwrap();
        let expected = "## Schema\n\n\
            Changing `name` forces a new resource: the plan shows a replacement.\n\n\
            ### Required\n\n\
            - `name` (String) Its name. Changing it forces a new resource.\n\
            - `target` (Block) (see [nested schema](#nestedblock--target))\n\n\
            ### Optional\n\n\
            - `scale_down` (Block) How fast. (see [nested schema](#nestedblock--scale_down))\n\
            - `secret` (String, Sensitive) Shh.\n\
            - `tags` (Map of String)\n\
            - `zone` (String) Where.\n\n\
            ### Read-Only\n\n\
            - `id` (String) Id.\n\n\
            <a id=\"nestedblock--target\"></a>\n### Nested Schema for `target`\n\n\
            Required:\n\n- `kind` (String) Kind.\n\n\
            <a id=\"nestedblock--scale_down\"></a>\n### Nested Schema for `scale_down`\n\n\
            Optional:\n\n\
            - `policy` (Block List, Max: 10) (see [nested schema](#nestedblock--scale_down--policy))\n\
            - `window` (Number) Seconds.\n\n\
            <a id=\"nestedblock--scale_down--policy\"></a>\n### Nested Schema for `scale_down.policy`\n\n\
            Required:\n\n- `value` (Number) Pods.\n\n";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn a_block_of_computed_attributes_is_read_only() {
        let rendered = schema_section(&block(json!({
            "block_types": {
                "status": { "nesting_mode": "list", "block": { "attributes": { "phase": { "type": "string", "computed": true } } } }
            }
        })))
        .unwrap();
        assert!(rendered.contains("### Read-Only\n\n- `status` (Block List)"), "{rendered}");
        assert!(rendered.contains("Read-Only:\n\n- `phase` (String)\n"), "{rendered}");
    }

    #[test]
    fn names_every_replacing_attribute_including_nested_ones() {
        let rendered = schema_section(&block(json!({
            "attributes": {
                "a": { "type": "string", "required": true, "description": "A. Changing it forces a new resource." },
                "b": { "type": "string", "required": true, "description": "B. Changing it forces a new resource." }
            },
            "block_types": {
                "c": { "nesting_mode": "single", "block": { "attributes": {
                    "d": { "type": "string", "optional": true, "description": "D. Changing it forces a new resource." }
                } } }
            }
        })))
        .unwrap();
        assert!(rendered.contains("Changing any of `a`, `b` or `c.d` forces a new resource"), "{rendered}");
    }

    #[test]
    fn multi_line_descriptions_stay_in_their_list_item() {
        let rendered =
            schema_section(&block(json!({ "attributes": { "a": { "type": "string", "optional": true, "description": "One.\nTwo." } } })))
                .unwrap();
        assert!(rendered.contains("- `a` (String) One.\n  Two.\n"), "{rendered}");
    }

    #[test]
    fn refuses_what_it_cannot_document() {
        let nested = block(json!({ "attributes": { "n": { "nested_type": { "nesting_mode": "single" }, "optional": true } } }));
        assert!(schema_section(&nested).unwrap_err().to_string().contains("`n`"));
        let neither = block(json!({ "attributes": { "x": { "type": "string" } } }));
        assert!(schema_section(&neither).unwrap_err().to_string().contains("`x`"));
    }
}
