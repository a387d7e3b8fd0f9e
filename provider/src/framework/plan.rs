//! Schema-driven planning, as terraform-plugin-framework does it: blocks planned as the
//! configuration has them, defaults for unset optional attributes, "known after apply" for
//! computed attributes that may change, attribute plan modifiers, and the rule that apply never
//! contradicts a known planned value.
//!
//! One walker visits every attribute at every nesting (single, group, list, set, map) with the
//! configuration and prior values that line up with it; each planning step is a visitor.

use scaling_schema::plan_modifier::{AttributePlan, AttributePlanRequest};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, NestedBlock, Nesting, Value};

pub(crate) struct Planned {
    pub value: Value,
    pub requires_replace: Vec<AttributePath>,
}

/// Plans an update or create from Terraform's proposed new state. `prior` is null on create.
pub(crate) fn plan_change(block: &Block, prior: &Value, proposed: &Value, config: &Value, diags: &mut Diagnostics) -> Planned {
    let mut value = proposed.clone();
    walk(block, &AttributePath::root(), config, prior, &mut value, &mut ShapeAsConfigured);
    // Computed attributes the user leaves unset may change whenever anything changes (or
    // always, on create); plan modifiers may then restore values that are known to stay.
    let mut modify =
        Modify { changed: prior.is_null() || value != *prior, resource_exists: !prior.is_null(), requires_replace: Vec::new(), diags };
    walk(block, &AttributePath::root(), config, prior, &mut value, &mut modify);
    Planned { value, requires_replace: modify.requires_replace }
}

/// Optional attributes with defaults read back as their default when the API has no notion of
/// them (after import, for one), so an unchanged configuration plans no change.
pub(crate) fn fill_defaults(block: &Block, state: &mut Value) {
    let snapshot = state.clone();
    walk(block, &AttributePath::root(), &snapshot, &Value::Null, state, &mut FillDefaults);
}

/// The values that line up with one attribute or block: from the configuration, and from the
/// prior state (null when the enclosing object did not exist before).
struct Node<'a> {
    path: AttributePath,
    config: &'a Value,
    prior: &'a Value,
}

trait Visitor {
    /// Called with a nested block's planned value before the walk descends into it.
    fn nested_block(&mut self, _block: &NestedBlock, _config: &Value, _planned: &mut Value) {}
    fn attribute(&mut self, attribute: &Attribute, node: Node<'_>, planned: &mut Value);
}

static NULL: Value = Value::Null;

fn walk(block: &Block, path: &AttributePath, config: &Value, prior: &Value, planned: &mut Value, visitor: &mut impl Visitor) {
    let Value::Object(fields) = planned else { return };
    for a in &block.attributes {
        let slot = fields.entry(a.name.clone()).or_insert(Value::Null);
        visitor.attribute(a, Node { path: path.attr(&a.name), config: config.attr(&a.name), prior: prior.attr(&a.name) }, slot);
    }
    for nb in &block.blocks {
        let (config, prior, path) = (config.attr(&nb.name), prior.attr(&nb.name), path.attr(&nb.name));
        let slot = fields.entry(nb.name.clone()).or_insert(Value::Null);
        visitor.nested_block(nb, config, slot);
        match (nb.nesting, slot) {
            (Nesting::Single | Nesting::Group, object) => walk(&nb.block, &path, config, prior, object, visitor),
            // List elements line up with the configuration's blocks, and the prior's, by position.
            (Nesting::List, Value::List(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let (c, p) = (config.elements().get(i).unwrap_or(&NULL), prior.elements().get(i).unwrap_or(&NULL));
                    walk(&nb.block, &path.index(i), c, p, item, visitor);
                }
            }
            // Set elements have no position: they line up by the values the user sets.
            (Nesting::Set, Value::Set(items)) => {
                let mut config_left: Vec<&Value> = config.elements().iter().collect();
                let mut prior_left: Vec<&Value> = prior.elements().iter().collect();
                for (i, item) in items.iter_mut().enumerate() {
                    let key = user_set_part(&nb.block, item);
                    let c = take_matching(&mut config_left, |v| user_set_part(&nb.block, v) == key);
                    let p = take_matching(&mut prior_left, |v| user_set_part(&nb.block, v) == key);
                    walk(&nb.block, &path.index(i), c, p, item, visitor);
                }
            }
            (Nesting::Map, Value::Map(items)) => {
                for (k, item) in items.iter_mut() {
                    let (c, p) = (config.entries().and_then(|m| m.get(k)), prior.entries().and_then(|m| m.get(k)));
                    walk(&nb.block, &path.key(k), c.unwrap_or(&NULL), p.unwrap_or(&NULL), item, visitor);
                }
            }
            // Null or unknown collections have nothing inside to visit.
            _ => {}
        }
    }
}

fn take_matching<'a>(candidates: &mut Vec<&'a Value>, matches: impl Fn(&Value) -> bool) -> &'a Value {
    match candidates.iter().position(|v| matches(v)) {
        Some(i) => candidates.swap_remove(i),
        None => &NULL,
    }
}

/// What identifies a set element: the attributes only the user sets (neither computed nor
/// defaulted), at every depth.
fn user_set_part(block: &Block, v: &Value) -> Value {
    if !matches!(v, Value::Object(_)) {
        return v.clone();
    }
    let attrs = block.attributes.iter().filter(|a| !a.computed).map(|a| (a.name.clone(), v.attr(&a.name).clone()));
    let blocks = block.blocks.iter().map(|nb| {
        let inner = v.attr(&nb.name);
        let part = match inner {
            Value::List(items) => Value::List(items.iter().map(|i| user_set_part(&nb.block, i)).collect()),
            Value::Set(items) => Value::Set(items.iter().map(|i| user_set_part(&nb.block, i)).collect()),
            Value::Map(items) => Value::Map(items.iter().map(|(k, i)| (k.clone(), user_set_part(&nb.block, i))).collect()),
            other => user_set_part(&nb.block, other),
        };
        (nb.name.clone(), part)
    });
    Value::Object(attrs.chain(blocks).collect())
}

/// Blocks exist exactly where the configuration has them, and unset attributes take their
/// defaults. Terraform's proposed state keeps a single block that the configuration no longer
/// has (it proposes the prior value), but then rejects any plan that keeps it.
struct ShapeAsConfigured;

impl Visitor for ShapeAsConfigured {
    fn nested_block(&mut self, block: &NestedBlock, config: &Value, planned: &mut Value) {
        match block.nesting {
            // A group is never null: Terraform gives it every attribute, null where unset.
            Nesting::Group => {}
            _ if config.is_null() || config.is_unknown() => *planned = config.clone(),
            _ => {}
        }
    }

    fn attribute(&mut self, a: &Attribute, node: Node<'_>, planned: &mut Value) {
        if let Some(default) = &a.default {
            if node.config.is_null() {
                *planned = default.clone();
            }
        }
    }
}

struct FillDefaults;

impl Visitor for FillDefaults {
    fn attribute(&mut self, a: &Attribute, _: Node<'_>, planned: &mut Value) {
        if let (Some(default), true) = (&a.default, planned.is_null()) {
            *planned = default.clone();
        }
    }
}

/// Computed attributes become unknown when anything changes; then each attribute's plan
/// modifiers run, collecting the paths that force a replacement.
struct Modify<'d> {
    changed: bool,
    resource_exists: bool,
    requires_replace: Vec<AttributePath>,
    diags: &'d mut Diagnostics,
}

impl Visitor for Modify<'_> {
    fn attribute(&mut self, a: &Attribute, node: Node<'_>, planned: &mut Value) {
        if self.changed && a.computed && a.default.is_none() && node.config.is_null() {
            *planned = Value::Unknown;
        }
        if a.plan_modifiers.is_empty() {
            return;
        }
        let req = AttributePlanRequest { path: &node.path, config: node.config, prior: node.prior, resource_exists: self.resource_exists };
        let mut plan = AttributePlan { value: std::mem::take(planned), requires_replace: false };
        for m in &a.plan_modifiers {
            m.modify(&req, &mut plan, self.diags);
        }
        if plan.requires_replace {
            self.requires_replace.push(node.path);
        }
        *planned = plan.value;
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

    /// A block of every nesting, each holding a defaulted, a computed (kept across updates) and
    /// a replacing attribute.
    fn nested(nesting: Nesting) -> Block {
        Block::new("r").attribute(Attribute::required("name", Type::String)).block(NestedBlock::new(
            "b",
            nesting,
            Block::new("b")
                .attribute(Attribute::required("key", Type::String))
                .attribute(Attribute::optional_computed("mode", Type::String).default(Value::from("auto")))
                .attribute(Attribute::computed("made", Type::String).use_state_for_unknown())
                .attribute(Attribute::optional("zone", Type::String).requires_replace()),
        ))
    }

    fn item(key: &str, mode: Value, made: Value, zone: Value) -> Value {
        Value::object([("key", Value::from(key)), ("mode", mode), ("made", made), ("zone", zone)])
    }

    fn resource(name: &str, b: Value) -> Value {
        Value::object([("name", Value::from(name)), ("b", b)])
    }

    fn wrap(nesting: Nesting, items: Vec<Value>) -> Value {
        match nesting {
            Nesting::Single | Nesting::Group => items.into_iter().next().unwrap_or(Value::Null),
            Nesting::List => Value::List(items),
            Nesting::Set => Value::Set(items),
            Nesting::Map => Value::Map(items.into_iter().enumerate().map(|(i, v)| (format!("k{i}"), v)).collect()),
        }
    }

    fn path_into(nesting: Nesting, i: usize) -> AttributePath {
        match nesting {
            Nesting::Single | Nesting::Group => AttributePath::of("b"),
            Nesting::List | Nesting::Set => AttributePath::of("b").index(i),
            Nesting::Map => AttributePath::of("b").key(&format!("k{i}")),
        }
    }

    #[test]
    fn every_nesting_gets_defaults_unknowns_and_modifiers() {
        for nesting in [Nesting::Single, Nesting::Group, Nesting::List, Nesting::Set, Nesting::Map] {
            let block = nested(nesting);
            let config = resource("a", wrap(nesting, vec![item("x", Value::Null, Value::Null, "z1".into())]));
            let created = plan_change(&block, &Value::Null, &config, &config, &mut Diagnostics::new());
            let want = resource("a", wrap(nesting, vec![item("x", "auto".into(), Value::Unknown, "z1".into())]));
            assert_eq!(created.value, want, "{nesting:?}: create");

            // After apply: `made` is known. An unrelated change keeps it; a new zone replaces.
            let prior = resource("a", wrap(nesting, vec![item("x", "auto".into(), "m-1".into(), "z1".into())]));
            let config = resource("b", wrap(nesting, vec![item("x", Value::Null, Value::Null, "z1".into())]));
            let proposed = resource("b", wrap(nesting, vec![item("x", "auto".into(), "m-1".into(), "z1".into())]));
            let renamed = plan_change(&block, &prior, &proposed, &config, &mut Diagnostics::new());
            assert_eq!(renamed.value, proposed, "{nesting:?}: stable computed values stay known");
            assert!(renamed.requires_replace.is_empty(), "{nesting:?}");

            let config = resource("a", wrap(nesting, vec![item("x", Value::Null, Value::Null, "z2".into())]));
            let proposed = resource("a", wrap(nesting, vec![item("x", "auto".into(), Value::Null, "z2".into())]));
            let moved = plan_change(&block, &prior, &proposed, &config, &mut Diagnostics::new());
            assert_eq!(moved.requires_replace, vec![path_into(nesting, 0).attr("zone")], "{nesting:?}");
        }
    }

    #[test]
    fn a_block_removed_from_the_configuration_is_planned_absent() {
        // Terraform proposes the prior single block when the configuration drops it, then
        // refuses a plan that keeps it ("planned for existence but config wants absence").
        for nesting in [Nesting::Single, Nesting::List, Nesting::Set, Nesting::Map] {
            let block = nested(nesting);
            let prior = resource("a", wrap(nesting, vec![item("x", "auto".into(), "m-1".into(), Value::Null)]));
            let empty = match nesting {
                Nesting::Single => Value::Null,
                other => wrap(other, Vec::new()),
            };
            let config = resource("a", empty.clone());
            let proposed = if nesting == Nesting::Single { prior.clone() } else { config.clone() };
            let planned = plan_change(&block, &prior, &proposed, &config, &mut Diagnostics::new());
            assert_eq!(planned.value, resource("a", empty), "{nesting:?}");
        }
        // A group is never null: it plans its attributes as configured.
        let block = nested(Nesting::Group);
        let prior = resource("a", item("x", "manual".into(), "m-1".into(), Value::Null));
        let config = resource("a", item("x", Value::Null, Value::Null, Value::Null));
        let planned = plan_change(&block, &prior, &prior, &config, &mut Diagnostics::new());
        assert_eq!(planned.value.attr("b").attr("mode"), &Value::from("auto"));
    }

    #[test]
    fn set_elements_line_up_by_what_the_user_sets() {
        let block = nested(Nesting::Set);
        let prior = resource(
            "a",
            Value::Set(vec![item("x", "auto".into(), "m-x".into(), Value::Null), item("y", "auto".into(), "m-y".into(), Value::Null)]),
        );
        // Reordered, one element dropped and one added: the kept one keeps its computed value.
        let config = resource(
            "a",
            Value::Set(vec![item("z", Value::Null, Value::Null, Value::Null), item("y", Value::Null, Value::Null, Value::Null)]),
        );
        let proposed = resource(
            "a",
            Value::Set(vec![item("z", Value::Null, Value::Null, Value::Null), item("y", "auto".into(), "m-y".into(), Value::Null)]),
        );
        let planned = plan_change(&block, &prior, &proposed, &config, &mut Diagnostics::new());
        assert_eq!(
            planned.value,
            resource(
                "a",
                Value::Set(vec![
                    item("z", "auto".into(), Value::Unknown, Value::Null),
                    item("y", "auto".into(), "m-y".into(), Value::Null)
                ])
            )
        );
    }

    #[test]
    fn read_state_gets_nested_defaults() {
        let block = nested(Nesting::List);
        let mut state = resource("a", Value::List(vec![item("x", Value::Null, "m-1".into(), Value::Null)]));
        fill_defaults(&block, &mut state);
        assert_eq!(state, resource("a", Value::List(vec![item("x", "auto".into(), "m-1".into(), Value::Null)])));
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
