//! `scaling_redis_shard_config`: the scaling shape of an existing ElastiCache replication group
//! (the runbook's "Add Redis Nodes (Cluster Mode)" and "Increase Redis Memory"): shard count,
//! replicas per shard and node type. The group itself (engine, subnets, auth) is made
//! elsewhere; this resource adopts it on create and, on destroy, leaves it or restores it.
//!
//! Changes run one step at a time, each waiting until the group and every member cluster are
//! `available`: shards, more replicas, node type, fewer replicas. Adding replicas before a node
//! type change and removing them after keeps the most copies of the data while nodes are
//! replaced. A scale-in to a larger node type grows the node type first, so the resharding runs
//! on the nodes with the memory it needs.
//!
//! Import ID: the replication group id.

pub(crate) mod validate;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticache::operation::decrease_replica_count::{DecreaseReplicaCountError, DecreaseReplicaCountOutput};
use aws_sdk_elasticache::operation::increase_replica_count::{IncreaseReplicaCountError, IncreaseReplicaCountOutput};
use aws_sdk_elasticache::types::{CacheCluster, ConfigureShard, ReplicationGroup};
use scaling_schema::validator::{int_between, one_of, string_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};
use tokio::time::Instant;

use super::Context;
use crate::aws::elasticache;
use crate::aws::error::ClientError;
use crate::aws::names::replication_group_id_problem;
use crate::clients::Clients;
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use validate::{is_larger, memory_warning, node_type_move_problem, node_type_problem};

pub struct RedisShardConfig;

const TYPE_NAME: &str = "scaling_redis_shard_config";

/// The shape this resource manages; None leaves that part as the group has it.
#[derive(Clone, Debug, PartialEq)]
struct Shape {
    shards: Option<usize>,
    replicas: Option<usize>,
    node_type: Option<String>,
    /// For a scale-in, the node groups the plan said stay: apply refuses to remove others.
    retained: Option<Vec<String>>,
}

impl Shape {
    fn of(v: &Value, prefix: &str) -> Shape {
        let count = |name: &str| v.attr(&format!("{prefix}{name}")).as_i64().and_then(|n| usize::try_from(n).ok());
        Shape {
            shards: count("node_group_count"),
            replicas: count("replicas_per_node_group"),
            node_type: v.attr(&format!("{prefix}node_type")).as_str().map(str::to_string),
            retained: None,
        }
    }
}

/// The group as ElastiCache reports it: its node groups (id, replica count) in id order.
struct Group {
    status: String,
    cluster_enabled: bool,
    node_groups: Vec<(String, usize)>,
    node_type: String,
    /// A node type the members hold for the maintenance window (the group reports none); known
    /// once the members were described, as a settled group's are.
    pending_node_type: Option<String>,
    members: Vec<String>,
    configuration_endpoint: Option<String>,
}

impl Group {
    fn of(rg: &ReplicationGroup) -> Group {
        let mut node_groups: Vec<(String, usize)> = rg
            .node_groups()
            .iter()
            .map(|g| (g.node_group_id().unwrap_or_default().to_string(), g.node_group_members().len().saturating_sub(1)))
            .collect();
        node_groups.sort();
        Group {
            status: rg.status().unwrap_or("unknown").to_string(),
            cluster_enabled: rg.cluster_enabled() == Some(true),
            node_groups,
            node_type: rg.cache_node_type().unwrap_or_default().to_string(),
            pending_node_type: None,
            members: rg.member_clusters().to_vec(),
            configuration_endpoint: rg
                .configuration_endpoint()
                .and_then(|e| Some(format!("{}:{}", e.address()?, e.port().unwrap_or(6379)))),
        }
    }

    /// The group as a settled wait leaves it: with the node type its members hold pending.
    fn settled(rg: &ReplicationGroup, members: &std::collections::HashMap<String, CacheCluster>) -> Group {
        let mut group = Group::of(rg);
        group.pending_node_type =
            members.values().find_map(|c| c.pending_modified_values().and_then(|p| p.cache_node_type())).map(str::to_string);
        group
    }

    /// The node type the group will have once the maintenance window passes.
    fn effective_node_type(&self) -> &str {
        self.pending_node_type.as_deref().unwrap_or(&self.node_type)
    }

    /// The fewest replicas any shard has: what every shard has once a change settles.
    fn replicas(&self) -> usize {
        self.node_groups.iter().map(|g| g.1).min().unwrap_or(0)
    }

    /// The replica count to report. Shards that differ (one changed by hand) report the count
    /// that differs from `configured`, so the plan shows the drift that apply evens out.
    fn reported_replicas(&self, configured: Option<i64>) -> usize {
        let (lo, hi) = (self.replicas(), self.node_groups.iter().map(|g| g.1).max().unwrap_or(0));
        match configured.and_then(|c| usize::try_from(c).ok()) {
            Some(c) if c == lo => hi,
            _ => lo,
        }
    }

    fn replicas_at_least(&self, want: usize) -> bool {
        self.node_groups.iter().all(|g| g.1 >= want)
    }

    fn replicas_at_most(&self, want: usize) -> bool {
        self.node_groups.iter().all(|g| g.1 <= want)
    }

    /// The node groups a scale-in to `count` removes: the highest-numbered ones, as AWS
    /// numbers them (0001, 0002, ...).
    fn removed_by(&self, count: usize) -> Vec<String> {
        self.node_groups.iter().skip(count).map(|g| g.0.clone()).collect()
    }
}

impl RedisShardConfig {
    fn timeouts() -> Timeouts {
        let hour = Duration::from_secs(60 * 60);
        Timeouts { create: hour, update: hour, delete: hour }
    }

    /// The group as ElastiCache reports it now, or None when it does not exist.
    async fn describe(ctx: &Context, id: &str) -> Result<Option<ReplicationGroup>, ClientError> {
        elasticache::describe_group(ctx.clients.elasticache().await?, id).await
    }

    /// State from the group as it is now, with its first member cluster described too.
    async fn state_now(ctx: &Context, rg: &ReplicationGroup, settings: &Value) -> Result<Value, ClientError> {
        let member = Self::first_member(ctx, rg).await?;
        Ok(Self::state_from(rg, member.as_ref(), settings))
    }

    /// The group's first member cluster as ElastiCache reports it now: what the group does not
    /// report (engine version, pending modifications) is read there.
    async fn first_member(ctx: &Context, rg: &ReplicationGroup) -> Result<Option<CacheCluster>, ClientError> {
        match rg.member_clusters().first() {
            Some(first) => elasticache::describe_cluster(ctx.clients.elasticache().await?, first).await,
            None => Ok(None),
        }
    }

    /// A group without cluster mode keeps at least one replica while Multi-AZ or automatic
    /// failover is on (DecreaseReplicaCount's minimum then is 1): refused at plan, before any
    /// step has run, rather than by the last step of the apply.
    fn plan_no_replicas(rg: &ReplicationGroup, diags: &mut Diagnostics) {
        use aws_sdk_elasticache::types::{AutomaticFailoverStatus, MultiAzStatus};
        let id = rg.replication_group_id().unwrap_or_default();
        let failover = matches!(rg.automatic_failover(), Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling));
        let multi_az = rg.multi_az() == Some(&MultiAzStatus::Enabled);
        if failover || multi_az {
            let what = if multi_az { "Multi-AZ" } else { "automatic failover" };
            diags.error_at(
                AttributePath::of("replicas_per_node_group"),
                "A replica is needed",
                format!(
                    "{id} runs without cluster mode and with {what}, so ElastiCache keeps at least one replica (DecreaseReplicaCount's \
                     minimum is 1 there). Set replicas_per_node_group = 1 or more, or turn {what} off on the group first."
                ),
            );
        }
    }

    /// What the plan says of a node type step, from the group as it is: the type it runs (not
    /// a pending one) for the memory warning, a pending type this step takes back, and what an
    /// immediate modification starts besides. Whether it starts other pending modifications.
    async fn plan_node_type(ctx: &Context, rg: &ReplicationGroup, to: &str, now: bool, diags: &mut Diagnostics) -> bool {
        let id = rg.replication_group_id().unwrap_or_default();
        let member = match Self::first_member(ctx, rg).await {
            Ok(member) => member,
            Err(e) => {
                diags.error("Could not read the replication group's member clusters", e.to_string());
                return false;
            }
        };
        let running = rg.cache_node_type().unwrap_or_default();
        let pending = member.as_ref().and_then(|m| m.pending_modified_values()).and_then(|p| p.cache_node_type());
        let sends = match pending {
            Some(pending) => pending != to || now,
            None => running != to,
        };
        if !sends {
            return false;
        }
        let path = AttributePath::of("node_type");
        if let Some(why) = node_type_move_problem(running, to) {
            diags.error_at(path, "ElastiCache cannot scale to this node type", format!("{id}: {why}"));
            return false;
        }
        match pending {
            Some(pending) if running == to => diags.warning_at(
                path.clone(),
                format!("Cancels the pending change to {pending}"),
                format!(
                    "{id} runs {to}, and its members hold a change to {pending} for the maintenance window: this apply replaces \
                     that change with {to}, so the nodes stay as they are."
                ),
            ),
            _ => {
                if let Some(why) = memory_warning(running, to) {
                    diags.warning_at(path.clone(), "Less memory", format!("{id}: {why}"));
                }
            }
        }
        let also = if now { member.as_ref().map(elasticache::pending_besides_node_type).unwrap_or_default() } else { Vec::new() };
        if also.is_empty() {
            return false;
        }
        diags.warning_at(
            path,
            "This apply also starts changes pending for the maintenance window",
            format!(
                "{id}'s members hold other modifications for the maintenance window: {}. ModifyReplicationGroup applied \
                 immediately (apply_immediately, true by default) makes ElastiCache apply every pending one with it, \
                 whoever queued them, so they start during this apply. Set apply_immediately = false to leave them all \
                 for the window.",
                also.join("; ")
            ),
        );
        true
    }

    /// The group and its first member cluster for a refresh, which shares listings of both
    /// when it reads many groups. None when the group does not exist.
    async fn read_in_refresh(ctx: &Context, id: &str) -> Result<Option<(ReplicationGroup, Option<CacheCluster>)>, ClientError> {
        let client = ctx.clients.elasticache().await?;
        let reads = ctx.clients.elasticache_in_refresh();
        let Some(rg) = reads.group(client, id).await? else { return Ok(None) };
        let member = match Group::of(&rg).members.first() {
            Some(first) => reads.cluster(client, first).await?,
            None => None,
        };
        Ok(Some((rg, member)))
    }

    /// State from the group and its first member cluster, which gives the engine version and
    /// any node type waiting for the maintenance window (the group reports neither; None when
    /// the member was removed since the group was read, as a scale-in settling does).
    /// `settings` gives what only the configuration knows and the originals recorded at
    /// adoption (current values when it has none, as after import).
    fn state_from(rg: &ReplicationGroup, member: Option<&CacheCluster>, settings: &Value) -> Value {
        let group = Group::of(rg);
        let engine_version = member.and_then(|c| c.engine_version()).map(str::to_string);
        let pending_type = member.and_then(|c| c.pending_modified_values()).and_then(|p| p.cache_node_type()).map(str::to_string);
        // A node type waiting for the maintenance window is what the group will be.
        let node_type = pending_type.unwrap_or(group.node_type.clone());
        let original = |name: &str, now: Value| match settings.attr(name) {
            Value::Null | Value::Unknown => now,
            kept => kept.clone(),
        };
        let id = rg.replication_group_id().unwrap_or_default();
        let ids: Vec<Value> = group.node_groups.iter().map(|g| Value::from(g.0.as_str())).collect();
        Value::object([
            ("id", Value::from(id)),
            ("replication_group_id", Value::from(id)),
            ("node_group_count", Value::int(group.node_groups.len() as i64)),
            ("replicas_per_node_group", Value::int(group.reported_replicas(settings.attr("replicas_per_node_group").as_i64()) as i64)),
            ("node_type", Value::from(node_type.as_str())),
            ("apply_immediately", settings.attr("apply_immediately").clone()),
            ("on_destroy", settings.attr("on_destroy").clone()),
            ("timeouts", settings.attr("timeouts").clone()),
            ("status", Value::from(group.status.as_str())),
            ("cluster_enabled", Value::Bool(group.cluster_enabled)),
            ("node_group_ids", Value::List(ids)),
            ("configuration_endpoint", Value::opt_string(group.configuration_endpoint.as_deref())),
            ("member_clusters", Value::List(group.members.iter().map(|m| Value::from(m.as_str())).collect())),
            ("engine_version", Value::opt_string(engine_version.as_deref())),
            ("original_node_group_count", original("original_node_group_count", Value::int(group.node_groups.len() as i64))),
            ("original_replicas_per_node_group", original("original_replicas_per_node_group", Value::int(group.replicas() as i64))),
            ("original_node_type", original("original_node_type", Value::from(group.node_type.as_str()))),
        ])
    }

    /// Waits until the group and every member cluster are `available` and the group shows
    /// what `done` checks (`elasticache::wait_settled`); the group as it then is.
    async fn settled(ctx: &Context, id: &str, deadline: Instant, done: impl Fn(&Group) -> bool) -> Result<Group, String> {
        let client = ctx.clients.elasticache().await.map_err(|e| e.to_string())?;
        let left = deadline.saturating_duration_since(Instant::now());
        let (rg, members) =
            elasticache::wait_settled(client, &ctx.stop, id, left, |rg, members| done(&Group::settled(rg, members))).await?;
        Ok(Group::settled(&rg, &members))
    }

    /// One step: `call` looks at the group as it is now and sends what is still needed (None:
    /// nothing is), then the wait for `done`. A busy group (another change, a backup) or a
    /// transient failure is retried with backoff, each time from a fresh look, so a call that
    /// landed although its answer was lost is never sent again. An answer that nothing needed
    /// changing is success. `last_seen` is the settled group the previous step left, used
    /// for the first look, and on success the group as this step leaves it.
    #[allow(clippy::too_many_arguments)]
    async fn step<T, E, F, Fut>(
        ctx: &Context,
        id: &str,
        operation: &'static str,
        deadline: Instant,
        last_seen: &mut Option<Group>,
        call: F,
        done: impl Fn(&Group) -> bool,
    ) -> Result<(), String>
    where
        F: Fn(&Group) -> Option<Fut>,
        Fut:
            Future<Output = Result<T, aws_sdk_elasticache::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>>,
        E: aws_sdk_elasticache::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        const BUSY: &[&str] = &["InvalidReplicationGroupState", "InvalidCacheClusterState"];
        let mut attempt = 0u32;
        loop {
            let group = match last_seen.take() {
                Some(group) => group,
                None => Self::settled(ctx, id, deadline, |_| true).await?,
            };
            let Some(sent) = call(&group) else {
                *last_seen = Some(group);
                return Ok(());
            };
            let why = match sent.await {
                Ok(_) => {
                    *last_seen = Some(Self::settled(ctx, id, deadline, &done).await?);
                    return Ok(());
                }
                Err(e) => {
                    let e = elasticache::error(operation, &e);
                    let message = e.to_string();
                    match e.code.as_deref() {
                        Some("NoOperationFault") => return Ok(()),
                        Some("InvalidParameterCombination") if message.contains("No modifications were requested") => return Ok(()),
                        Some(code) if BUSY.contains(&code) => message,
                        _ if e.is_transient() => message,
                        _ => return Err(message),
                    }
                }
            };
            // The group can look available while ElastiCache still refuses (a member
            // finishing a backup): back off rather than ask again at once.
            let pause = Duration::from_millis(250 << attempt.min(7));
            attempt += 1;
            if Instant::now() + pause >= deadline {
                return Err(why);
            }
            tracing::debug!(replication_group = id, operation, why, "group busy; trying the step again");
            tokio::select! {
                _ = ctx.stop.cancelled() => return Err(format!("stopped by Terraform while {operation} waited: {why}")),
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Brings the group to `target` (None: leave that part as it is), one ordered step at a time.
    async fn converge(ctx: &Context, id: &str, target: &Shape, apply_immediately: bool, deadline: Instant) -> Result<(), String> {
        let client = ctx.clients.elasticache().await.map_err(|e| e.to_string())?;
        // The group as the last look left it, settled, with nothing sent since: the next step
        // starts from it instead of describing the group and its members again.
        let mut last_seen = None;

        if let (Some(shards), Some(retained)) = (target.shards, &target.retained) {
            let group = Self::settled(ctx, id, deadline, |_| true).await?;
            let staying: Vec<String> = group.node_groups.iter().take(shards).map(|g| g.0.clone()).collect();
            if group.node_groups.len() > shards && &staying != retained {
                return Err(format!(
                    "{id} changed since the plan: it now has node groups {}, and removing the highest-numbered would keep {} \
                     rather than {} as planned. Plan again.",
                    group.node_groups.iter().map(|g| g.0.as_str()).collect::<Vec<_>>().join(", "),
                    staying.join(", "),
                    retained.join(", ")
                ));
            }
            last_seen = Some(group);
        }
        // A scale-in to a larger node type grows the nodes first: the retained shards take the
        // removed shards' data while resharding, and the ElastiCache guide asks for free memory
        // of 1.5 times what those use. Otherwise shards come first, so a smaller type is taken
        // after a scale-out spread the data.
        let type_first = match (target.shards, target.node_type.as_deref()) {
            (Some(shards), Some(node_type)) => {
                let group = match last_seen.take() {
                    Some(group) => group,
                    None => Self::settled(ctx, id, deadline, |_| true).await?,
                };
                let first = shards < group.node_groups.len() && is_larger(&group.node_type, node_type);
                last_seen = Some(group);
                first
            }
            _ => false,
        };
        if type_first {
            Self::node_type_step(ctx, id, target, apply_immediately, deadline, &mut last_seen).await?;
        }
        if let Some(shards) = target.shards {
            Self::step(
                ctx,
                id,
                "ModifyReplicationGroupShardConfiguration",
                deadline,
                &mut last_seen,
                |group| {
                    (group.node_groups.len() != shards).then(|| {
                        let mut call = client
                            .modify_replication_group_shard_configuration()
                            .replication_group_id(id)
                            .node_group_count(shards as i32)
                            .apply_immediately(true);
                        for node_group in group.removed_by(shards) {
                            call = call.node_groups_to_remove(node_group);
                        }
                        call.send()
                    })
                },
                |group| group.node_groups.len() == shards,
            )
            .await?;
        }

        if let Some(want) = target.replicas {
            Self::step(
                ctx,
                id,
                "IncreaseReplicaCount",
                deadline,
                &mut last_seen,
                |group| replica_call(client, id, group, want),
                |g| g.replicas_at_least(want),
            )
            .await?;
        }

        if !type_first {
            Self::node_type_step(ctx, id, target, apply_immediately, deadline, &mut last_seen).await?;
        }

        if let Some(want) = target.replicas {
            Self::step(
                ctx,
                id,
                "DecreaseReplicaCount",
                deadline,
                &mut last_seen,
                |group| replica_call_down(client, id, group, want),
                |g| g.replicas_at_most(want),
            )
            .await?;
        }
        Ok(())
    }

    /// The node type step of `converge`.
    async fn node_type_step(
        ctx: &Context,
        id: &str,
        target: &Shape,
        apply_immediately: bool,
        deadline: Instant,
        last_seen: &mut Option<Group>,
    ) -> Result<(), String> {
        let client = ctx.clients.elasticache().await.map_err(|e| e.to_string())?;
        if let Some(node_type) = target.node_type.as_deref() {
            Self::step(
                ctx,
                id,
                "ModifyReplicationGroup",
                deadline,
                last_seen,
                |group| {
                    // Sent when the type differs from what the group will be, when the type the
                    // members hold as pending is asked for now, and when the group's own type is
                    // asked back while another is pending: a newer modification replaces a
                    // pending one, so the group's own type takes it back.
                    let sends = match group.pending_node_type.as_deref() {
                        Some(pending) => pending != node_type || apply_immediately,
                        None => group.node_type != node_type,
                    };
                    sends.then(|| {
                        client
                            .modify_replication_group()
                            .replication_group_id(id)
                            .cache_node_type(node_type)
                            .apply_immediately(apply_immediately)
                            .send()
                    })
                },
                // Deferred to the maintenance window: recorded as pending is done.
                |group| {
                    if apply_immediately {
                        group.node_type == node_type && group.pending_node_type.is_none()
                    } else {
                        group.effective_node_type() == node_type
                    }
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Converges, then records what the group now is, whether or not every step succeeded;
    /// `known` is the last state known to be true, kept if the group cannot be read.
    async fn converge_and_read(
        ctx: &Context,
        id: &str,
        target: &Shape,
        settings: &Value,
        known: &Value,
        timeout: Duration,
        diags: &mut Diagnostics,
    ) -> Value {
        let apply_immediately = settings.attr("apply_immediately").as_bool() != Some(false);
        let converged = Self::converge(ctx, id, target, apply_immediately, Instant::now() + timeout).await;
        if let Err(e) = &converged {
            diags.error("Could not scale the replication group", e.clone());
        }
        match Self::describe(ctx, id).await {
            Ok(Some(rg)) => match Self::state_now(ctx, &rg, settings).await {
                Ok(state) => state,
                Err(e) => {
                    diags.error("Could not read the replication group after scaling it", e.to_string());
                    known.clone()
                }
            },
            Ok(None) => {
                diags.error("The replication group disappeared", format!("{id} no longer exists."));
                Value::Null
            }
            Err(e) => {
                diags.error("Could not read the replication group after scaling it", e.to_string());
                known.clone()
            }
        }
    }
}

type Client = aws_sdk_elasticache::Client;
type SdkResult<O, E> = Result<O, aws_sdk_elasticache::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>;

/// The shards that need `want` replicas, raising (`grow`) or lowering.
fn shards_to_change(group: &Group, want: usize, grow: bool) -> Option<Vec<ConfigureShard>> {
    let shards: Vec<ConfigureShard> = group
        .node_groups
        .iter()
        .filter(|(_, now)| if grow { *now < want } else { *now > want })
        .map(|(node_group, _)| ConfigureShard::builder().node_group_id(node_group).new_replica_count(want as i32).build())
        .collect();
    (!shards.is_empty()).then_some(shards)
}

/// More replicas where a shard has fewer than `want`. A group in cluster mode is configured
/// shard by shard (ReplicaConfiguration); one without has a single node group and takes the
/// count for the whole group (NewReplicaCount), as the API reference describes each.
fn replica_call<'a>(
    client: &'a Client,
    id: &'a str,
    group: &Group,
    want: usize,
) -> Option<impl Future<Output = SdkResult<IncreaseReplicaCountOutput, IncreaseReplicaCountError>> + 'a> {
    let shards = shards_to_change(group, want, true)?;
    let call = client.increase_replica_count().replication_group_id(id).apply_immediately(true);
    let call = if group.cluster_enabled { call.set_replica_configuration(Some(shards)) } else { call.new_replica_count(want as i32) };
    Some(call.send())
}

/// Fewer replicas where a shard has more than `want` (the highest-numbered go).
fn replica_call_down<'a>(
    client: &'a Client,
    id: &'a str,
    group: &Group,
    want: usize,
) -> Option<impl Future<Output = SdkResult<DecreaseReplicaCountOutput, DecreaseReplicaCountError>> + 'a> {
    let shards = shards_to_change(group, want, false)?;
    let call = client.decrease_replica_count().replication_group_id(id).apply_immediately(true);
    let call = if group.cluster_enabled { call.set_replica_configuration(Some(shards)) } else { call.new_replica_count(want as i32) };
    Some(call.send())
}

fn group_id_attribute() -> Attribute {
    Attribute::required("replication_group_id", Type::String)
        .describe("Id of the existing replication group to scale (cluster mode enabled for shard changes).")
        .validate(string_check("1 to 40 lowercase letters, digits or hyphens, starting with a letter", replication_group_id_problem))
        .requires_replace()
}

#[async_trait]
impl Resource<Clients> for RedisShardConfig {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Self::timeouts()
    }

    fn schema(&self) -> Schema {
        let computed = |name: &str, ty: Type, text: &str| Attribute::computed(name, ty).describe(text);
        let original = |name: &str, ty: Type, text: &str| Attribute::computed(name, ty).describe(text).use_state_for_unknown();
        Schema {
            version: 0,
            block: Block::new(
                "The scaling shape of an existing ElastiCache replication group: shard count, replicas per shard and node \
                 type. Changes run one step at a time (shards, more replicas, node type, fewer replicas; a scale-in to a \
                 larger node type grows the nodes first), each waiting until the group and all its member clusters are \
                 available. On destroy the group is left as it is, or restored to \
                 the shape it had when this resource adopted it (`on_destroy = \"restore\"`). An \
                 aws_elasticache_replication_group that manages the same group needs `lifecycle { ignore_changes = \
                 [num_node_groups, replicas_per_node_group, node_type] }`, or each resource undoes the other's shape. \
                 Import with the group's id.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("The replication group id.").use_state_for_unknown())
            .attribute(group_id_attribute())
            .attribute(
                Attribute::required("node_group_count", Type::Number)
                    .describe("Number of shards (node groups). Scale-in removes the highest-numbered ones; the plan names them.")
                    .validate(int_between(1, 500)),
            )
            .attribute(
                Attribute::optional_computed("replicas_per_node_group", Type::Number)
                    .describe("Replicas in every shard; left out, each shard keeps what it has.")
                    .validate(int_between(0, 5))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("node_type", Type::String)
                    .describe("Node type, e.g. `cache.r6g.xlarge`; left out, the group keeps its own.")
                    .validate(string_check("an ElastiCache node type (cache.FAMILY.SIZE)", node_type_problem))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("apply_immediately", Type::Bool)
                    .describe(
                        "Change the node type now rather than in the next maintenance window (shard and replica changes always \
                         apply at once: ElastiCache offers nothing else).",
                    )
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed("on_destroy", Type::String)
                    .describe(
                        "`retain`: forget the group and leave it as it is. `restore`: put back the shard count, replicas and node \
                         type it had when this resource adopted it (the `original_*` attributes).",
                    )
                    .default(Value::from("retain"))
                    .validate(one_of(&["retain", "restore"])),
            )
            .attribute(computed("status", Type::String, "Status of the group, e.g. `available`."))
            .attribute(original("cluster_enabled", Type::Bool, "Whether the group runs in cluster mode (needed to change shards)."))
            .attribute(computed(
                "node_group_ids",
                Type::list(Type::String),
                "Node group ids, in ElastiCache's numbering (0001, 0002, ...).",
            ))
            .attribute(original("configuration_endpoint", Type::String, "`address:port` of the cluster-mode configuration endpoint."))
            .attribute(computed("member_clusters", Type::list(Type::String), "Ids of the group's member cache clusters."))
            .attribute(original("engine_version", Type::String, "Engine version of the group's nodes."))
            .attribute(original("original_node_group_count", Type::Number, "Shard count when this resource adopted the group."))
            .attribute(original("original_replicas_per_node_group", Type::Number, "Replicas per shard when adopted."))
            .attribute(original("original_node_type", Type::String, "Node type when adopted."))
            .block(Self::timeouts().block()),
        }
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        if let Some(ctx) = ctx {
            if super::aws_configured(ctx.clients.aws().await, &mut resp.diagnostics).is_none() {
                return;
            }
        }
        let prior = req.prior;
        let scales = ["node_group_count", "replicas_per_node_group", "node_type"].iter().any(|a| resp.planned.attr(a) != prior.attr(a));
        if !prior.is_null() && !scales {
            // Nothing moves: what the group reports stays as it is.
            for attr in ["status", "node_group_ids", "member_clusters"] {
                resp.planned.set_attr(attr, prior.attr(attr).clone());
            }
        }
        // The shape the group has now: the state's, or on create the group's own (kept, so the
        // checks below describe it no second time).
        let mut described = None;
        let now = if !prior.is_null() {
            Some((
                prior.attr("cluster_enabled").as_bool() == Some(true),
                prior.attr("node_group_ids").elements().to_vec(),
                prior.attr("node_type").clone(),
            ))
        } else if let (Some(ctx), Some(id)) = (ctx, resp.planned.attr("replication_group_id").as_str()) {
            match Self::describe(ctx, id).await {
                Ok(Some(rg)) => {
                    let g = Group::of(&rg);
                    let ids = g.node_groups.iter().map(|n| Value::from(n.0.as_str())).collect();
                    described = Some(rg);
                    Some((g.cluster_enabled, ids, Value::from(g.node_type.as_str())))
                }
                Ok(None) => {
                    super::adopt::missing_at_plan(
                        &mut resp.diagnostics,
                        AttributePath::of("replication_group_id"),
                        "No such replication group yet",
                        format!(
                            "Replication group {id} does not exist in {}. This resource scales an existing group (made by \
                             aws_elasticache_replication_group, say).",
                            ctx.clients.region_name().await
                        ),
                    );
                    return;
                }
                Err(e) => {
                    resp.diagnostics.error("Could not read the replication group", e.to_string());
                    return;
                }
            }
        } else {
            None
        };
        let Some((cluster_enabled, ids, node_type)) = now else { return };
        let id = resp.planned.str_attr("replication_group_id").to_string();
        if let Some(count) = resp.planned.attr("node_group_count").as_i64().and_then(|n| usize::try_from(n).ok()) {
            if count != ids.len() {
                if !cluster_enabled {
                    resp.diagnostics.error_at(
                        AttributePath::of("node_group_count"),
                        "Shards need cluster mode",
                        format!(
                            "Replication group {id} does not run in cluster mode, so its shard count cannot change (it has {}). \
                             Replicas and node type can still change here; shards need a cluster-mode-enabled group.",
                            ids.len()
                        ),
                    );
                } else if count < ids.len() {
                    let removed: Vec<&str> = ids.iter().skip(count).filter_map(Value::as_str).collect();
                    // Planned known: apply keeps exactly these, or refuses.
                    resp.planned.set_attr("node_group_ids", Value::List(ids.iter().take(count).cloned().collect()));
                    resp.diagnostics.warning_at(
                        AttributePath::of("node_group_count"),
                        "Scale-in removes node groups",
                        format!(
                            "{id} goes from {} to {count} shards: node groups {} are removed and their slots move to the others, \
                             under load.",
                            ids.len(),
                            removed.join(", ")
                        ),
                    );
                } else {
                    resp.diagnostics.warning_at(
                        AttributePath::of("node_group_count"),
                        "Resharding moves slots under load",
                        format!(
                            "{id} goes from {} to {count} shards: ElastiCache moves hash slots to the new shards online, which adds \
                             load and latency until it finishes.",
                            ids.len()
                        ),
                    );
                }
            }
        }
        let (shards_to, type_to) = (resp.planned.attr("node_group_count").as_i64(), resp.planned.attr("node_type").as_str());
        if let (Some(count), Some(from), Some(to)) = (shards_to.and_then(|n| usize::try_from(n).ok()), node_type.as_str(), type_to) {
            if cluster_enabled && count != ids.len() && from != to {
                // The order the apply takes (converge): a larger type before a scale-in.
                let detail = if count < ids.len() && is_larger(from, to) {
                    format!(
                        "{id}: first the node type ({from} to {to}), then the scale-in to {count} shards, so the shards that \
                         stay have the memory for the data of those removed (the ElastiCache guide asks for free memory of 1.5 \
                         times what they use), then any replica change."
                    )
                } else {
                    format!(
                        "{id}: first the shards ({} to {count}), then any replica increase, the node type ({from} to {to}), \
                             then any replica decrease.",
                        ids.len()
                    )
                };
                resp.diagnostics.warning_at(AttributePath::of("node_type"), "The steps, in the order they run", detail);
            }
        }
        // Checks of the group as it is (its failover settings, its running and pending node
        // type), only when a replica count of 0 or a node type change is planned.
        let no_replicas = !cluster_enabled
            && resp.planned.attr("replicas_per_node_group").as_i64() == Some(0)
            && prior.attr("replicas_per_node_group").as_i64() != Some(0);
        let to =
            resp.planned.attr("node_type").as_str().filter(|to| prior.is_null() || node_type.as_str() != Some(*to)).map(str::to_string);
        let Some(ctx) = ctx else { return };
        if !no_replicas && to.is_none() {
            return;
        }
        let rg = match described {
            Some(rg) => rg,
            None => match Self::describe(ctx, &id).await {
                Ok(Some(rg)) => rg,
                Ok(None) => return,
                Err(e) => {
                    resp.diagnostics.error("Could not read the replication group", e.to_string());
                    return;
                }
            },
        };
        if no_replicas {
            Self::plan_no_replicas(&rg, &mut resp.diagnostics);
        }
        if let Some(to) = to {
            let now = resp.planned.attr("apply_immediately").as_bool() != Some(false);
            if Self::plan_node_type(ctx, &rg, &to, now, &mut resp.diagnostics).await {
                // A pending engine upgrade may start with it: known once applied.
                resp.planned.set_attr("engine_version", Value::Unknown);
            }
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        let id = req.planned.str_attr("replication_group_id").to_string();
        // Adopt: record the group as it is, originals included, before anything changes.
        let adopted = match Self::describe(ctx, &id).await {
            Ok(Some(rg)) => Self::state_now(ctx, &rg, req.planned).await,
            Ok(None) => {
                resp.diagnostics.error("No such replication group", format!("Replication group {id} does not exist; create it first."));
                return;
            }
            Err(e) => Err(e),
        };
        let adopted = match adopted {
            Ok(state) => state,
            Err(e) => {
                resp.diagnostics.error("Could not read the replication group", e.to_string());
                return;
            }
        };
        resp.state = adopted.clone();
        let mut settings = req.planned.clone();
        for name in ["original_node_group_count", "original_replicas_per_node_group", "original_node_type"] {
            settings.set_attr(name, adopted.attr(name).clone());
        }
        // What the configuration sets; a setting left out is left as the group has it.
        let target = Shape::of(req.config, "");
        let mut diags = Diagnostics::new();
        let now = Self::converge_and_read(ctx, &id, &target, &settings, &adopted, req.timeout, &mut diags).await;
        // Nothing moved: not recorded; resharded, resized or still changing: recorded untainted
        // (see adopt), so a replacement never restores the originals only to make the change again.
        const SHAPE: &[&str] = &["node_group_count", "replicas_per_node_group", "node_type", "status", "member_clusters"];
        resp.state = super::adopt::failed_change_on_create(&adopted, now, SHAPE, diags, &mut resp.diagnostics);
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let id = req.state.str_attr("replication_group_id");
        match Self::read_in_refresh(ctx, id).await {
            Ok(Some((rg, _))) if rg.status() == Some("deleting") => resp.state = Value::Null,
            Ok(Some((rg, member))) => resp.state = Self::state_from(&rg, member.as_ref(), req.state),
            Ok(None) => {
                tracing::info!(replication_group = id, "replication group no longer exists; removing it from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the replication group", e.to_string()),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        let id = req.prior.str_attr("replication_group_id").to_string();
        let mut settings = req.planned.clone();
        for name in ["original_node_group_count", "original_replicas_per_node_group", "original_node_type"] {
            settings.set_attr(name, req.prior.attr(name).clone());
        }
        let mut target = Shape::of(req.config, "");
        target.retained = Some(req.planned.attr("node_group_ids"))
            .filter(|ids| ids.is_known() && !ids.is_null())
            .map(|ids| ids.elements().iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
        resp.state = Self::converge_and_read(ctx, &id, &target, &settings, req.prior, req.timeout, &mut resp.diagnostics).await;
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        if req.prior.attr("on_destroy").as_str() != Some("restore") {
            return;
        }
        let id = req.prior.str_attr("replication_group_id").to_string();
        let rg = match Self::describe(ctx, &id).await {
            Ok(None) => return,
            Ok(Some(rg)) => rg,
            Err(e) => {
                resp.diagnostics.error("Could not read the replication group", e.to_string());
                return;
            }
        };
        let originals = Shape::of(req.prior, "original_");
        let apply_immediately = req.prior.attr("apply_immediately").as_bool() != Some(false);
        // Destroy plans do not reach this provider on Terraform before 1.3's plan_destroy, so
        // what restoring the node type starts besides can only be said here.
        if let Some(original) = originals.node_type.as_deref() {
            let mut said = Diagnostics::new();
            Self::plan_node_type(ctx, &rg, original, apply_immediately, &mut said).await;
            resp.diagnostics.extend(said.as_warnings());
        }
        if let Err(e) = Self::converge(ctx, &id, &originals, apply_immediately, Instant::now() + req.timeout).await {
            resp.diagnostics.error("Could not restore the replication group's original shape", e);
        }
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if let Err(why) = replication_group_id_problem(id) {
            diags.error("Invalid import ID", format!("Import a scaling_redis_shard_config by its replication group id; {id:?} {why}."));
            return None;
        }
        Some(Value::object([("id", Value::from(id)), ("replication_group_id", Value::from(id))]))
    }
}
