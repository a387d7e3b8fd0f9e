//! Attribute plan modifiers: small values that adjust one attribute's planned value or mark
//! that changing it needs a new resource.

use std::sync::Arc;

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::value::Value;

pub struct AttributePlanRequest<'a> {
    pub path: &'a AttributePath,
    pub config: &'a Value,
    /// Null when the resource is being created.
    pub prior: &'a Value,
    /// False when the resource is being created: replacement and prior values mean nothing then.
    pub resource_exists: bool,
}

pub struct AttributePlan {
    pub value: Value,
    pub requires_replace: bool,
}

pub trait PlanModifier: Send + Sync {
    fn description(&self) -> String;
    /// Whether this modifier may force a new resource, so the documentation can say so.
    fn may_replace(&self) -> bool {
        false
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, plan: &mut AttributePlan, diags: &mut Diagnostics);
}

/// Changing the value destroys and recreates the resource: for fields the API cannot change.
pub struct RequiresReplace;

pub fn requires_replace() -> Arc<dyn PlanModifier> {
    Arc::new(RequiresReplace)
}

impl PlanModifier for RequiresReplace {
    fn description(&self) -> String {
        "changing this forces a new resource".into()
    }
    fn may_replace(&self) -> bool {
        true
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, plan: &mut AttributePlan, _: &mut Diagnostics) {
        if req.resource_exists && plan.value != *req.prior {
            plan.requires_replace = true;
        }
    }
}

/// Keeps the prior value of a computed attribute that does not change after creation, instead
/// of showing it as "known after apply" on every update.
pub struct UseStateForUnknown;

pub fn use_state_for_unknown() -> Arc<dyn PlanModifier> {
    Arc::new(UseStateForUnknown)
}

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "keeps its value across updates".into()
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, plan: &mut AttributePlan, _: &mut Diagnostics) {
        if req.resource_exists && plan.value.is_unknown() && !req.prior.is_null() && !req.config.is_unknown() {
            plan.value = req.prior.clone();
        }
    }
}

/// An optional setting the remote object has whatever it has when the configuration leaves it
/// out (inherited from elsewhere, or the service's default): unconfigured, it plans as the
/// state holds it, null included, so an unrelated change never plans it "known after apply"
/// (which, with RequiresReplace, would be a replacement). UseStateForUnknown keeps only
/// non-null values, as plugin-framework's does.
pub struct KeepWhenUnconfigured;

pub fn keep_when_unconfigured() -> Arc<dyn PlanModifier> {
    Arc::new(KeepWhenUnconfigured)
}

impl PlanModifier for KeepWhenUnconfigured {
    fn description(&self) -> String {
        "left out, keeps what the object has".into()
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, plan: &mut AttributePlan, _: &mut Diagnostics) {
        if req.resource_exists && plan.value.is_unknown() && req.config.is_null() {
            plan.value = req.prior.clone();
        }
    }
}

/// A computed value the provider knows before apply because apply always sets it so (say, an
/// empty list of things apply removes). Planning it, rather than "known after apply", lets the
/// plan show the change.
pub struct PlannedValue(pub Value);

pub fn planned_value(value: Value) -> Arc<dyn PlanModifier> {
    Arc::new(PlannedValue(value))
}

impl PlanModifier for PlannedValue {
    fn description(&self) -> String {
        "apply always makes it this value".into()
    }
    fn modify(&self, _: &AttributePlanRequest<'_>, plan: &mut AttributePlan, _: &mut Diagnostics) {
        plan.value = self.0.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(m: &dyn PlanModifier, config: Value, prior: Value, exists: bool) -> Value {
        let path = AttributePath::of("x");
        let req = AttributePlanRequest { path: &path, config: &config, prior: &prior, resource_exists: exists };
        let mut plan = AttributePlan { value: Value::Unknown, requires_replace: false };
        m.modify(&req, &mut plan, &mut Diagnostics::new());
        plan.value
    }

    #[test]
    fn unconfigured_settings_keep_even_a_null_state() {
        let keep = KeepWhenUnconfigured;
        assert_eq!(planned(&keep, Value::Null, Value::Null, true), Value::Null, "null stays null, not unknown");
        assert_eq!(planned(&keep, Value::Null, Value::from("gp3"), true), Value::from("gp3"));
        assert!(planned(&keep, Value::Null, Value::Null, false).is_unknown(), "on create RDS decides");
        assert!(planned(&keep, Value::Unknown, Value::from("gp3"), true).is_unknown(), "configured from an unknown");
        assert!(planned(&UseStateForUnknown, Value::Null, Value::Null, true).is_unknown(), "UseStateForUnknown keeps only values");
    }
}
