//! `scaling_node_group`: the scaling config of an existing EKS managed node group (the
//! runbook's "Add nodes if needed", `eksctl scale nodegroup`). The node group itself is made
//! elsewhere; this resource owns its minimum and maximum, and its desired size only when the
//! configuration sets one: unset, the cluster autoscaler keeps it and no plan fights it.
//!
//! Import ID: `CLUSTER/NODE_GROUP`, e.g. `skillancer/production-workers`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{Nodegroup, NodegroupScalingConfig};
use scaling_schema::validator::{int_between, string_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};

use super::Context;
use crate::aws::eks::{self, sizes_of};
use crate::aws::error::ClientError;
use crate::clients::Clients;
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};

pub struct NodeGroup;

const TYPE_NAME: &str = "scaling_node_group";

/// EKS names: a letter or digit, then letters, digits, hyphens and underscores, up to `max`.
fn name_problem(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() || name.len() > max {
        return Err(format!("must be 1 to {max} characters long"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        Some(c) => Err(format!("contains {c:?}: only letters, digits, hyphens and underscores are allowed")),
        None => Ok(()),
    }
}

fn cluster_name_problem(name: &str) -> Result<(), String> {
    name_problem(name, 100)
}

fn node_group_name_problem(name: &str) -> Result<(), String> {
    name_problem(name, 63)
}

/// The desired size to send: the configured one, or, when the autoscaler owns it, the current
/// one only if the new range leaves it outside (EKS refuses a desired size out of range), moved
/// to the nearest bound.
fn desired_to_send(configured: Option<i64>, current: i64, min: i64, max: i64) -> Option<i64> {
    configured.or_else(|| (current < min || current > max).then(|| current.clamp(min, max)))
}

impl NodeGroup {
    fn timeouts() -> Timeouts {
        // A scaling config update takes a minute or two; launching nodes for it longer.
        Timeouts { create: Duration::from_secs(30 * 60), update: Duration::from_secs(30 * 60), delete: Duration::from_secs(30 * 60) }
    }

    async fn describe(ctx: &Context, cluster: &str, name: &str) -> Result<Option<Nodegroup>, ClientError> {
        eks::find(ctx.clients.eks().await?, cluster, name).await
    }

    /// State from what EKS reports; the desired size is the reported one (the autoscaler's,
    /// when the configuration leaves it out: `keep_when_unconfigured` then plans no change).
    fn state_from(n: &Nodegroup, settings: &Value) -> Value {
        let (cluster, name) = (n.cluster_name().unwrap_or_default(), n.nodegroup_name().unwrap_or_default());
        let (min, max, desired) = sizes_of(n).map_or((None, None, None), |(a, b, c)| (Some(a), Some(b), Some(c)));
        Value::object([
            ("id", Value::from(format!("{cluster}/{name}").as_str())),
            ("cluster_name", Value::from(cluster)),
            ("node_group_name", Value::from(name)),
            ("min_size", Value::opt_int(min)),
            ("max_size", Value::opt_int(max)),
            ("desired_size", Value::opt_int(desired)),
            ("status", Value::opt_string(n.status().map(|s| s.as_str()))),
            ("arn", Value::opt_string(n.nodegroup_arn())),
            ("timeouts", settings.attr("timeouts").clone()),
        ])
    }

    /// Sends the configured scaling config (the desired size only as `desired_to_send` says)
    /// and waits for the update, waiting out another update first (`eks::update_scaling_config`).
    async fn apply_sizes(ctx: &Context, config: &Value, planned: &Value, max_wait: Duration) -> Result<(), String> {
        let (cluster, name) = (planned.str_attr("cluster_name"), planned.str_attr("node_group_name"));
        let eks = ctx.clients.eks().await.map_err(|e| e.to_string())?;
        let (min, max) = (planned.attr("min_size").as_i64().unwrap_or(0), planned.attr("max_size").as_i64().unwrap_or(1));
        eks::update_scaling_config(eks, &ctx.stop, cluster, name, max_wait, |current| {
            let current_desired = sizes_of(current).map_or(0, |s| s.2);
            let desired = desired_to_send(config.attr("desired_size").as_i64(), current_desired, min, max);
            NodegroupScalingConfig::builder().min_size(min as i32).max_size(max as i32).set_desired_size(desired.map(|d| d as i32)).build()
        })
        .await
    }

    /// Brings the node group to the planned sizes and reports its state; on failure the
    /// diagnostics say why, and the state is what EKS reports then.
    async fn converge(
        ctx: &Context,
        config: &Value,
        planned: &Value,
        fallback: &Value,
        max_wait: Duration,
        diags: &mut Diagnostics,
    ) -> Value {
        let (cluster, name) = (planned.str_attr("cluster_name"), planned.str_attr("node_group_name"));
        if let Err(why) = Self::apply_sizes(ctx, config, planned, max_wait).await {
            diags.error(format!("Could not scale node group {cluster}/{name}"), why);
        }
        match Self::describe(ctx, cluster, name).await {
            Ok(Some(n)) => {
                warn_degraded(&n, diags);
                Self::state_from(&n, planned)
            }
            Ok(None) => Value::Null,
            Err(e) => {
                tracing::warn!(cluster, node_group = name, error = %e, "could not read the node group after scaling it");
                fallback.clone()
            }
        }
    }
}

/// A node group that EKS reports DEGRADED took the scaling config but cannot run what it asks
/// (instances fail to launch): say so, with EKS's health issues, rather than report success
/// silently.
fn warn_degraded(n: &Nodegroup, diags: &mut Diagnostics) {
    if n.status().is_none_or(|s| s.as_str() != "DEGRADED") {
        return;
    }
    let issues: Vec<String> = n
        .health()
        .map(|h| h.issues())
        .unwrap_or_default()
        .iter()
        .map(|i| format!("{}: {}", i.code().map(|c| c.as_str()).unwrap_or("issue"), i.message().unwrap_or("no message")))
        .collect();
    diags.warning(
        "The node group is DEGRADED",
        format!(
            "{}/{} is DEGRADED: {}. Its sizes are set, but nodes may not arrive until this is resolved.",
            n.cluster_name().unwrap_or_default(),
            n.nodegroup_name().unwrap_or_default(),
            if issues.is_empty() { "EKS reports no health issue".to_string() } else { issues.join("; ") }
        ),
    );
}

/// The range rules EKS enforces, checked on known values: min <= max, and a configured desired
/// size within them.
fn range_problems(config: &Value, diags: &mut Diagnostics) {
    let (min, max, desired) = (config.attr("min_size").as_i64(), config.attr("max_size").as_i64(), config.attr("desired_size").as_i64());
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            diags.error_at(
                AttributePath::of("min_size"),
                "Minimum above maximum",
                format!("min_size {min} is greater than max_size {max}: EKS needs min_size <= desired_size <= max_size."),
            );
            return;
        }
    }
    if let Some(desired) = desired {
        if let Some(min) = min.filter(|min| desired < *min) {
            diags.error_at(
                AttributePath::of("desired_size"),
                "Desired size below the minimum",
                format!("desired_size {desired} is less than min_size {min}."),
            );
        }
        if let Some(max) = max.filter(|max| desired > *max) {
            diags.error_at(
                AttributePath::of("desired_size"),
                "Desired size above the maximum",
                format!("desired_size {desired} is greater than max_size {max}."),
            );
        }
    }
}

#[async_trait]
impl Resource<Clients> for NodeGroup {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Self::timeouts()
    }

    fn schema(&self) -> Schema {
        let computed = |name: &str, ty: Type, text: &str| Attribute::computed(name, ty).describe(text);
        Schema {
            version: 0,
            block: Block::new(
                "The scaling config of an existing EKS managed node group (made elsewhere, e.g. by aws_eks_node_group): \
                 `eksctl scale nodegroup` as configuration. Without `desired_size` the resource owns the minimum and maximum \
                 only, and the cluster autoscaler keeps the desired size (no plan fights it); with it, the desired size is \
                 enforced and drift in it shows. Updates wait until EKS reports them `Successful`, and a `Failed` one is an \
                 error with EKS's reasons. Destroy leaves the node group as it is. An aws_eks_node_group that manages the \
                 same node group needs `lifecycle { ignore_changes = [scaling_config] }`, or each resource undoes the \
                 other's sizes. Import with `CLUSTER/NODE_GROUP`.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("`CLUSTER/NODE_GROUP`.").use_state_for_unknown())
            .attribute(
                Attribute::required("cluster_name", Type::String)
                    .describe("Name of the EKS cluster.")
                    .validate(string_check("an EKS cluster name (1 to 100 letters, digits, hyphens or underscores)", cluster_name_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("node_group_name", Type::String)
                    .describe("Name of the managed node group, e.g. `production-workers`.")
                    .validate(string_check("a node group name (1 to 63 letters, digits, hyphens or underscores)", node_group_name_problem))
                    .requires_replace(),
            )
            .attribute(Attribute::required("min_size", Type::Number).describe("Fewest nodes.").validate(int_between(0, 100_000)))
            .attribute(Attribute::required("max_size", Type::Number).describe("Most nodes.").validate(int_between(1, 100_000)))
            .attribute(
                Attribute::optional_computed("desired_size", Type::Number)
                    .describe(
                        "Nodes to run now. Leave it out when the cluster autoscaler manages the node group: the resource then \
                         reports it and never changes it, except to bring it within a new minimum or maximum.",
                    )
                    .validate(int_between(0, 100_000))
                    .keep_when_unconfigured(),
            )
            .attribute(computed("status", Type::String, "Status of the node group, e.g. `ACTIVE` or `UPDATING`."))
            .attribute(computed("arn", Type::String, "ARN of the node group.").use_state_for_unknown())
            .block(Self::timeouts().block()),
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        range_problems(config, diags);
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        if let Some(ctx) = ctx {
            if super::aws_configured(ctx.clients.aws().await, &mut resp.diagnostics).is_none() {
                return;
            }
        }
        let prior = req.prior;
        let sizes = ["min_size", "max_size", "desired_size"];
        // The desired size is ours, yet the node group reports another one: someone else sets it
        // too (a cluster autoscaler, a hand edit), and the two will keep undoing each other.
        if let (Some(ours), Some(seen)) = (req.config.attr("desired_size").as_i64(), prior.attr("desired_size").as_i64()) {
            if ours != seen && ["cluster_name", "node_group_name"].iter().all(|a| resp.planned.attr(a) == prior.attr(a)) {
                resp.diagnostics.warning_at(
                    AttributePath::of("desired_size"),
                    "Another writer changed the desired size",
                    format!(
                        "The node group runs a desired size of {seen}, not the {ours} this configuration sets: something else \
                         sets it too (a cluster autoscaler, aws_eks_node_group without ignore_changes = [scaling_config], a \
                         hand edit). This apply sets it back to {ours}. If an autoscaler manages it, leave desired_size out."
                    ),
                );
            }
        }
        if !prior.is_null() && sizes.iter().all(|a| resp.planned.attr(a) == prior.attr(a)) {
            resp.planned.set_attr("status", prior.attr("status").clone());
            return;
        }
        // The desired size now: the state's, or on create (and on a replacement, which adopts
        // another node group) the node group's own.
        let same_group =
            ["cluster_name", "node_group_name"].iter().all(|a| resp.planned.attr(a).is_known() && resp.planned.attr(a) == prior.attr(a));
        let current = if !prior.is_null() && same_group {
            prior.attr("desired_size").as_i64()
        } else {
            let (Some(ctx), Some(cluster), Some(name)) =
                (ctx, resp.planned.attr("cluster_name").as_str(), resp.planned.attr("node_group_name").as_str())
            else {
                return;
            };
            match Self::describe(ctx, cluster, name).await {
                Ok(Some(n)) => sizes_of(&n).map(|s| s.2),
                Ok(None) => {
                    super::adopt::missing_at_plan(
                        &mut resp.diagnostics,
                        AttributePath::of("node_group_name"),
                        "No such node group yet",
                        format!(
                            "Node group {name} of cluster {cluster} does not exist in {}. This resource scales an existing \
                             managed node group (made by aws_eks_node_group, say).",
                            ctx.clients.region_name().await
                        ),
                    );
                    return;
                }
                Err(e) => {
                    resp.diagnostics.error("Could not read the node group", e.to_string());
                    return;
                }
            }
        };
        let (Some(min), Some(max), Some(current)) =
            (resp.planned.attr("min_size").as_i64(), resp.planned.attr("max_size").as_i64(), current)
        else {
            return;
        };
        if req.config.attr("desired_size").is_null() {
            // The autoscaler's, and it may move before apply: known only once applied.
            resp.planned.set_attr("desired_size", Value::Unknown);
            if let Some(moved) = desired_to_send(None, current, min, max) {
                resp.diagnostics.warning_at(
                    AttributePath::of("desired_size"),
                    "The desired size moves into the new range",
                    format!(
                        "The node group runs {current} nodes, outside {min}..{max}: EKS needs the desired size within the \
                         range, so it becomes {moved}. The cluster autoscaler keeps it from there."
                    ),
                );
            }
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        let (cluster, name) = (req.planned.str_attr("cluster_name"), req.planned.str_attr("node_group_name"));
        // Adopt: the node group as it is, before anything changes, so a failure below records it.
        match Self::describe(ctx, cluster, name).await {
            Ok(Some(n)) => resp.state = Self::state_from(&n, req.planned),
            Ok(None) => {
                resp.diagnostics.error_at(
                    AttributePath::of("node_group_name"),
                    "No such node group",
                    format!("Node group {name} of cluster {cluster} does not exist; create it first."),
                );
                return;
            }
            Err(e) => {
                resp.diagnostics.error("Could not read the node group", e.to_string());
                return;
            }
        }
        let adopted = resp.state.clone();
        resp.state = Self::converge(ctx, req.config, req.planned, &adopted, req.timeout, &mut resp.diagnostics).await;
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let (cluster, name) = (req.state.str_attr("cluster_name"), req.state.str_attr("node_group_name"));
        match Self::describe(ctx, cluster, name).await {
            Ok(Some(n)) if n.status().is_some_and(|s| s.as_str() == "DELETING") => resp.state = Value::Null,
            Ok(Some(n)) => resp.state = Self::state_from(&n, req.state),
            Ok(None) => {
                tracing::info!(cluster, node_group = name, "node group no longer exists; removing it from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the node group", e.to_string()),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        let sizes = ["min_size", "max_size", "desired_size"];
        if sizes.iter().all(|a| req.planned.attr(a) == req.prior.attr(a)) {
            // Only settings (timeouts) changed: nothing to send.
            let mut state = req.prior.clone();
            state.set_attr("timeouts", req.planned.attr("timeouts").clone());
            resp.state = state;
            return;
        }
        resp.state = Self::converge(ctx, req.config, req.planned, req.prior, req.timeout, &mut resp.diagnostics).await;
    }

    async fn delete(&self, _ctx: &Context, _req: DeleteRequest<'_>, _resp: &mut DeleteResponse) {
        // The node group belongs to whoever made it; its sizes stay as they are.
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let parsed = id.split_once('/').filter(|(c, n)| cluster_name_problem(c).is_ok() && node_group_name_problem(n).is_ok());
        let Some((cluster, name)) = parsed else {
            diags.error(
                "Invalid import ID",
                format!("Import a scaling_node_group as CLUSTER/NODE_GROUP (e.g. skillancer/production-workers), not {id:?}."),
            );
            return None;
        };
        Some(Value::object([("id", Value::from(id)), ("cluster_name", Value::from(cluster)), ("node_group_name", Value::from(name))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_autoscalers_desired_size_is_sent_only_when_the_range_leaves_it_outside() {
        assert_eq!(desired_to_send(None, 4, 2, 10), None);
        assert_eq!(desired_to_send(None, 1, 2, 10), Some(2));
        assert_eq!(desired_to_send(None, 12, 2, 10), Some(10));
        assert_eq!(desired_to_send(Some(5), 4, 2, 10), Some(5));
    }

    #[test]
    fn eks_names() {
        assert!(cluster_name_problem("skillancer").is_ok());
        assert!(node_group_name_problem("production-workers_2").is_ok());
        assert!(node_group_name_problem("-workers").is_err());
        assert!(node_group_name_problem("workers/2").is_err());
        assert!(node_group_name_problem(&"w".repeat(64)).is_err());
    }
}
