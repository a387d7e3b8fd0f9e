//! The schema model: attributes and nested blocks with their types, flags, descriptions,
//! validators, plan modifiers and defaults. The protocol adapter turns it into tfplugin6
//! schema messages; the framework uses it to validate and plan.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::plan_modifier::{self, PlanModifier};
use crate::types::Type;
use crate::validator::Validator;
use crate::value::Value;

#[derive(Clone)]
pub struct Schema {
    /// Bumped when stored state needs upgrading.
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Default)]
pub struct Block {
    pub description: String,
    pub deprecated: bool,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    /// Planned when the configuration leaves the attribute null (the attribute is then
    /// optional and computed, as Terraform requires of provider-set values).
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

#[derive(Clone)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }
    pub fn required(name: &str, ty: Type) -> Attribute {
        Attribute { required: true, ..Attribute::new(name, ty) }
    }
    pub fn optional(name: &str, ty: Type) -> Attribute {
        Attribute { optional: true, ..Attribute::new(name, ty) }
    }
    /// Set by the provider only.
    pub fn computed(name: &str, ty: Type) -> Attribute {
        Attribute { computed: true, ..Attribute::new(name, ty) }
    }
    /// Set by the user, or by the provider when the user leaves it out.
    pub fn optional_computed(name: &str, ty: Type) -> Attribute {
        Attribute { optional: true, computed: true, ..Attribute::new(name, ty) }
    }
    pub fn describe(mut self, text: &str) -> Attribute {
        self.description = text.to_string();
        self
    }
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    pub fn default(mut self, value: Value) -> Attribute {
        self.optional = true;
        self.computed = true;
        self.required = false;
        self.default = Some(value);
        self
    }
    pub fn validate(mut self, v: Arc<dyn Validator>) -> Attribute {
        self.validators.push(v);
        self
    }
    pub fn plan_modifier(mut self, m: Arc<dyn PlanModifier>) -> Attribute {
        self.plan_modifiers.push(m);
        self
    }
    pub fn requires_replace(self) -> Attribute {
        self.plan_modifier(plan_modifier::requires_replace())
    }
    pub fn use_state_for_unknown(self) -> Attribute {
        self.plan_modifier(plan_modifier::use_state_for_unknown())
    }
    pub fn keep_when_unconfigured(self) -> Attribute {
        self.plan_modifier(plan_modifier::keep_when_unconfigured())
    }

    /// The description with the constraints of its validators and its default spelled out,
    /// so the published schema documents them.
    pub fn full_description(&self) -> String {
        let mut text = self.description.clone();
        let rules: Vec<String> = self.validators.iter().map(|v| v.description()).collect();
        if !rules.is_empty() {
            text.push_str(&format!(" Must be {}.", rules.join("; ")));
        }
        if let Some(d) = &self.default {
            text.push_str(&format!(" Defaults to `{}`.", display_value(d)));
        }
        if self.plan_modifiers.iter().any(|m| m.may_replace()) {
            text.push_str(" Changing it forces a new resource.");
        }
        text.trim().to_string()
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Map(m) | Value::Object(m) if m.is_empty() => "{}".into(),
        Value::List(v) | Value::Set(v) if v.is_empty() => "[]".into(),
        _ => "…".into(),
    }
}

impl Block {
    pub fn new(description: &str) -> Block {
        Block { description: description.to_string(), ..Block::default() }
    }
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self.attributes.iter().map(|a| (a.name.clone(), a.ty.clone())).collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
                Nesting::Map => Type::map(inner),
            };
            attrs.insert(b.name.clone(), ty);
        }
        Type::Object(attrs)
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Runs every validator on the known, non-null parts of `config`, reporting at each
    /// attribute's path.
    pub fn validate(&self, config: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        for a in &self.attributes {
            let value = config.attr(&a.name);
            if value.is_null() || value.is_unknown() {
                continue;
            }
            let p = path.attr(&a.name);
            for v in &a.validators {
                v.validate(value, &p, diags);
            }
        }
        for b in &self.blocks {
            let value = config.attr(&b.name);
            let p = path.attr(&b.name);
            match (b.nesting, value) {
                (_, Value::Unknown) => {}
                (Nesting::Single | Nesting::Group, Value::Null) => {}
                (Nesting::Single | Nesting::Group, v) => b.block.validate(v, &p, diags),
                (Nesting::List | Nesting::Set, v) => {
                    for (i, item) in v.elements().iter().enumerate() {
                        b.block.validate(item, &p.index(i), diags);
                    }
                }
                (Nesting::Map, v) => {
                    for (k, item) in v.entries().into_iter().flatten() {
                        b.block.validate(item, &p.key(k), diags);
                    }
                }
            }
        }
    }
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> NestedBlock {
        NestedBlock { name: name.to_string(), nesting, block, min_items: 0, max_items: 0 }
    }
    pub fn items(mut self, min: i64, max: i64) -> NestedBlock {
        self.min_items = min;
        self.max_items = max;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::int_between;

    #[test]
    fn validates_nested_blocks_at_their_paths() {
        let block = Block::new("r").block(NestedBlock::new(
            "policy",
            Nesting::List,
            Block::new("p").attribute(Attribute::required("value", Type::Number).validate(int_between(1, 10))),
        ));
        let config = Value::object([(
            "policy",
            Value::List(vec![Value::object([("value", Value::int(5))]), Value::object([("value", Value::int(50))])]),
        )]);
        let mut d = Diagnostics::new();
        block.validate(&config, &AttributePath::root(), &mut d);
        let errors: Vec<_> = d.iter().map(|d| d.attribute.as_ref().unwrap().to_string()).collect();
        assert_eq!(errors, vec!["policy[1].value"]);
    }

    #[test]
    fn replacement_is_documented_by_what_a_modifier_does_not_by_its_words() {
        struct Wordy;
        impl PlanModifier for Wordy {
            fn description(&self) -> String {
                "never forces anything".into()
            }
            fn modify(&self, _: &plan_modifier::AttributePlanRequest<'_>, _: &mut plan_modifier::AttributePlan, _: &mut Diagnostics) {}
        }
        let wordy = Attribute::optional("a", Type::String).plan_modifier(Arc::new(Wordy));
        assert!(!wordy.full_description().contains("forces a new resource"), "{}", wordy.full_description());
        let replacing = Attribute::optional("a", Type::String).requires_replace();
        assert!(replacing.full_description().ends_with("Changing it forces a new resource."), "{}", replacing.full_description());
    }

    #[test]
    fn block_type_includes_nested_blocks() {
        let block = Block::new("r").attribute(Attribute::required("name", Type::String)).block(NestedBlock::new(
            "timeouts",
            Nesting::Single,
            Block::new("t").attribute(Attribute::optional("create", Type::String)),
        ));
        assert_eq!(block.value_type(), Type::object([("name", Type::String), ("timeouts", Type::object([("create", Type::String)]))]));
    }
}
