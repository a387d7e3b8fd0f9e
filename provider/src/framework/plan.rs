//! Schema-driven planning, as terraform-plugin-framework does it: defaults for unset optional
//! attributes, "known after apply" for computed attributes that may change, attribute plan
//! modifiers, and the rule that apply never contradicts a known planned value.

use scaling_schema::plan_modifier::{AttributePlan, AttributePlanRequest};
use scaling_schema::{AttributePath, Block, Diagnostics, Nesting, Value};

pub(crate) struct Planned {
    pub value: Value,
    pub requires_replace: Vec<AttributePath>,
}

/// Plans an update or create from Terraform's proposed new state. `prior` is null on create.
pub(crate) fn plan_change(block: &Block, prior: &Value, proposed: &Value, config: &Value, diags: &mut Diagnostics) -> Planned {
    let mut value = proposed.clone();
    apply_defaults(block, config, &mut value);
    // Computed attributes the user leaves unset may change whenever anything changes (or
    // always, on create); plan modifiers may then restore values that are known to stay.
    if prior.is_null() || value != *prior {
        mark_computed_unknown(block, config, &mut value);
    }
    let mut requires_replace = Vec::new();
    run_modifiers(block, &AttributePath::root(), config, prior, &mut value, !prior.is_null(), &mut requires_replace, diags);
    Planned { value, requires_replace }
}

fn apply_defaults(block: &Block, config: &Value, value: &mut Value) {
    for a in &block.attributes {
        if let Some(default) = &a.default {
            if config.attr(&a.name).is_null() {
                value.set_attr(&a.name, default.clone());
            }
        }
    }
    for b in &block.blocks {
        let inner_config = config.attr(&b.name);
        let mut inner = value.attr(&b.name).clone();
        match (b.nesting, &mut inner) {
            (Nesting::Single | Nesting::Group, Value::Object(_)) if !inner_config.is_null() => {
                apply_defaults(&b.block, inner_config, &mut inner);
            }
            // List elements line up with the configuration's blocks one for one.
            (Nesting::List, Value::List(items)) => {
                for (item, item_config) in items.iter_mut().zip(inner_config.elements()) {
                    if matches!(item, Value::Object(_)) {
                        apply_defaults(&b.block, item_config, item);
                    }
                }
            }
            _ => continue,
        }
        value.set_attr(&b.name, inner);
    }
}

fn mark_computed_unknown(block: &Block, config: &Value, value: &mut Value) {
    for a in &block.attributes {
        if a.computed && a.default.is_none() && config.attr(&a.name).is_null() {
            value.set_attr(&a.name, Value::Unknown);
        }
    }
    for b in &block.blocks {
        if matches!(b.nesting, Nesting::Single | Nesting::Group) && !config.attr(&b.name).is_null() {
            let mut inner = value.attr(&b.name).clone();
            if matches!(inner, Value::Object(_)) {
                mark_computed_unknown(&b.block, config.attr(&b.name), &mut inner);
                value.set_attr(&b.name, inner);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_modifiers(
    block: &Block,
    path: &AttributePath,
    config: &Value,
    prior: &Value,
    value: &mut Value,
    resource_exists: bool,
    requires_replace: &mut Vec<AttributePath>,
    diags: &mut Diagnostics,
) {
    for a in &block.attributes {
        if a.plan_modifiers.is_empty() {
            continue;
        }
        let attr_path = path.attr(&a.name);
        let req = AttributePlanRequest { path: &attr_path, config: config.attr(&a.name), prior: prior.attr(&a.name), resource_exists };
        let mut plan = AttributePlan { value: value.attr(&a.name).clone(), requires_replace: false };
        for m in &a.plan_modifiers {
            m.modify(&req, &mut plan, diags);
        }
        if plan.requires_replace {
            requires_replace.push(attr_path);
        }
        value.set_attr(&a.name, plan.value);
    }
    for b in &block.blocks {
        if matches!(b.nesting, Nesting::Single | Nesting::Group) {
            let mut inner = value.attr(&b.name).clone();
            if matches!(inner, Value::Object(_)) {
                let p = path.attr(&b.name);
                run_modifiers(
                    &b.block,
                    &p,
                    config.attr(&b.name),
                    prior.attr(&b.name),
                    &mut inner,
                    resource_exists,
                    requires_replace,
                    diags,
                );
                value.set_attr(&b.name, inner);
            }
        }
    }
}

/// The state to hand back after apply: every value the plan knew is kept exactly, and only
/// what the plan left unknown comes from the API. Terraform rejects any other answer as
/// "Provider produced inconsistent result"; a real difference shows at the next refresh.
pub fn reconcile_with_plan(planned: &Value, actual: &Value, path: &AttributePath) -> Value {
    match (planned, actual) {
        (Value::Unknown, actual) => strip_unknowns(actual),
        (Value::Object(p), Value::Object(a)) => Value::Object(
            p.iter().map(|(k, pv)| (k.clone(), reconcile_with_plan(pv, a.get(k).unwrap_or(&Value::Null), &path.attr(k)))).collect(),
        ),
        (planned, actual) if planned.is_wholly_known() => {
            if planned != actual {
                tracing::debug!(attribute = %path, "apply result differs from the plan; keeping the planned value until the next refresh");
            }
            planned.clone()
        }
        (Value::List(p), Value::List(a)) if p.len() == a.len() => {
            Value::List(p.iter().zip(a).enumerate().map(|(i, (pv, av))| reconcile_with_plan(pv, av, &path.index(i))).collect())
        }
        (Value::Map(p), Value::Map(a)) if p.keys().eq(a.keys()) => {
            Value::Map(p.iter().map(|(k, pv)| (k.clone(), reconcile_with_plan(pv, &a[k], &path.key(k)))).collect())
        }
        // Sets and reshaped collections with unknowns inside: the API's answer is the only
        // complete one.
        (_, actual) => strip_unknowns(actual),
    }
}

/// State may not hold unknowns; anything the resource failed to fill in is null.
pub(crate) fn strip_unknowns(v: &Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.iter().map(strip_unknowns).collect()),
        Value::Set(items) => Value::Set(items.iter().map(strip_unknowns).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(strip_unknowns).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), strip_unknowns(v))).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), strip_unknowns(v))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaling_schema::{Attribute, Type};

    fn block() -> Block {
        Block::new("t")
            .attribute(Attribute::required("name", Type::String).requires_replace())
            .attribute(Attribute::required("size", Type::String))
            .attribute(Attribute::optional_computed("flag", Type::Bool).default(Value::Bool(true)))
            .attribute(Attribute::computed("arn", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("status", Type::String))
    }

    fn obj(name: &str, size: &str, flag: Value, arn: Value, status: Value) -> Value {
        Value::object([("name", Value::from(name)), ("size", Value::from(size)), ("flag", flag), ("arn", arn), ("status", status)])
    }

    #[test]
    fn create_defaults_and_unknowns() {
        let config = obj("a", "s", Value::Null, Value::Null, Value::Null);
        let p = plan_change(&block(), &Value::Null, &config, &config, &mut Diagnostics::new());
        assert_eq!(p.value, obj("a", "s", Value::Bool(true), Value::Unknown, Value::Unknown));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn no_change_plans_the_prior_state() {
        let prior = obj("a", "s", Value::Bool(true), "arn:1".into(), "available".into());
        let config = obj("a", "s", Value::Null, Value::Null, Value::Null);
        let p = plan_change(&block(), &prior, &prior, &config, &mut Diagnostics::new());
        assert_eq!(p.value, prior);
    }

    #[test]
    fn update_keeps_stable_computed_values_and_marks_the_rest() {
        let prior = obj("a", "s", Value::Bool(true), "arn:1".into(), "available".into());
        let config = obj("a", "m", Value::Null, Value::Null, Value::Null);
        let proposed = obj("a", "m", Value::Bool(true), "arn:1".into(), "available".into());
        let p = plan_change(&block(), &prior, &proposed, &config, &mut Diagnostics::new());
        assert_eq!(p.value, obj("a", "m", Value::Bool(true), "arn:1".into(), Value::Unknown));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn replacement_is_flagged_at_the_path() {
        let prior = obj("a", "s", Value::Bool(true), "arn:1".into(), "available".into());
        let config = obj("b", "s", Value::Null, Value::Null, Value::Null);
        let proposed = obj("b", "s", Value::Bool(true), "arn:1".into(), "available".into());
        let p = plan_change(&block(), &prior, &proposed, &config, &mut Diagnostics::new());
        assert_eq!(p.requires_replace, vec![AttributePath::of("name")]);
    }

    #[test]
    fn reconcile_keeps_known_plan_values() {
        let planned = obj("a", "m", Value::Bool(true), "arn:1".into(), Value::Unknown);
        let actual = obj("a", "s", Value::Bool(true), "arn:1".into(), "modifying".into());
        let got = reconcile_with_plan(&planned, &actual, &AttributePath::root());
        assert_eq!(got, obj("a", "m", Value::Bool(true), "arn:1".into(), "modifying".into()));
        let missing =
            reconcile_with_plan(&planned, &obj("a", "m", Value::Bool(true), "arn:1".into(), Value::Unknown), &AttributePath::root());
        assert_eq!(missing.attr("status"), &Value::Null);
    }
}
