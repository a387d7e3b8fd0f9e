//! `scaling_read_replica`: an RDS read replica (the runbook's "Horizontal Scaling (Read
//! Replicas)"), created from a source instance, resized and re-tagged in place, optionally
//! promoted to a standalone instance, deleted without a final snapshot.
//!
//! Import ID: the replica's DB instance identifier, e.g. `skillancer-replica-2`; for a replica
//! already promoted to a standalone instance, `skillancer-replica-2:promoted` (an instance with
//! no source is refused otherwise: destroying the resource would delete a primary).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance, Tag};
use scaling_schema::validator::{each, int_between, one_of, string_check, string_map_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};

pub(crate) mod validate;

use super::Context;
use crate::aws::error::{AwsError, ClientError, Service};
use crate::aws::names::{identifier_problem, instance_class_problem};
use crate::aws::rds::{wait_available, wait_deleted};
use crate::clients::Clients;
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use validate::{
    availability_zone_problem, kms_key_arn_problem, parameter_group_problem, security_group_problem, source_problem, subnet_group_problem,
    tag_key_problem, tag_value_problem, MAX_TAGS, STORAGE_TYPES,
};

pub struct ReadReplica;

const TYPE_NAME: &str = "scaling_read_replica";

/// Whether two spellings of a source name one instance: equal, or an identifier and the ARN of
/// that identifier in the replica's own partition, region and account (read from the
/// replica's ARN). A same-named instance in another region is another instance.
fn same_source(a: &str, b: &str, replica_arn: &str) -> bool {
    if a == b {
        return true;
    }
    let (arn, identifier) = match (a.starts_with("arn:"), b.starts_with("arn:")) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => return false,
    };
    let (source, replica): (Vec<&str>, Vec<&str>) = (arn.split(':').collect(), replica_arn.split(':').collect());
    source.len() == 7 && replica.len() == 7 && source[..5] == replica[..5] && source[5] == "db" && source[6] == identifier
}

impl ReadReplica {
    fn timeouts() -> Timeouts {
        Timeouts { create: Duration::from_secs(40 * 60), update: Duration::from_secs(80 * 60), delete: Duration::from_secs(60 * 60) }
    }

    /// State from what RDS reports, keeping what only the configuration knows (apply
    /// timing, timeouts) and the source as the user wrote it.
    fn state_from(instance: &DbInstance, prior: &Value) -> Value {
        let id = instance.db_instance_identifier().unwrap_or_default();
        let reported_source = instance.read_replica_source_db_instance_identifier();
        let prior_source = prior.attr("source_db_instance_identifier");
        let arn = instance.db_instance_arn().unwrap_or_default();
        let source = match (reported_source, prior_source.as_str()) {
            // Same instance written two ways (identifier vs ARN): keep the user's spelling.
            (Some(r), Some(p)) if same_source(r, p, arn) => prior_source.clone(),
            (Some(r), _) => Value::from(r),
            // Promoted: RDS forgets the source; the state remembers where it came from.
            (None, _) => prior_source.clone(),
        };
        let pending = instance.pending_modified_values();
        let pending_class = pending.and_then(|p| p.db_instance_class());
        // A change waiting for the maintenance window is what the instance will be (so it plans
        // no diff again); pending_instance_class says the class is not there yet.
        let class = pending_class.or(instance.db_instance_class());
        let security_groups: Vec<Value> =
            instance.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).map(Value::from).collect();
        let tags: BTreeMap<String, String> =
            instance.tag_list().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect();
        let endpoint = instance.endpoint();
        Value::object([
            ("id", Value::from(id)),
            ("identifier", Value::from(id)),
            ("source_db_instance_identifier", source),
            ("instance_class", Value::opt_string(class)),
            ("availability_zone", Value::opt_string(instance.availability_zone())),
            ("apply_immediately", prior.attr("apply_immediately").clone()),
            // Promotion is one-way: once promoted in state it stays so, and an instance with no
            // source was promoted, whoever did it.
            ("promote", Value::Bool(prior.attr("promote").as_bool() == Some(true) || reported_source.is_none())),
            ("tags", Value::from_string_map(&tags)),
            ("arn", Value::opt_string(instance.db_instance_arn())),
            ("address", Value::opt_string(endpoint.and_then(|e| e.address()))),
            ("port", Value::opt_int(endpoint.and_then(|e| e.port()).map(i64::from))),
            ("status", Value::opt_string(instance.db_instance_status())),
            ("engine", Value::opt_string(instance.engine())),
            ("engine_version", Value::opt_string(instance.engine_version())),
            ("resource_id", Value::opt_string(instance.dbi_resource_id())),
            ("pending_instance_class", Value::opt_string(pending_class)),
            ("kms_key_id", Value::opt_string(instance.kms_key_id())),
            ("db_subnet_group_name", Value::opt_string(instance.db_subnet_group().and_then(|g| g.db_subnet_group_name()))),
            ("vpc_security_group_ids", Value::Set(security_groups)),
            ("multi_az", Value::Bool(pending.and_then(|p| p.multi_az()).or(instance.multi_az()).unwrap_or(false))),
            ("parameter_group_name", Value::opt_string(instance.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()))),
            ("deletion_protection", Value::Bool(instance.deletion_protection().unwrap_or(false))),
            ("storage_type", Value::opt_string(pending.and_then(|p| p.storage_type()).or(instance.storage_type()))),
            // RDS may report 0 where a storage type has no such setting: that is none.
            ("iops", Value::opt_int(pending.and_then(|p| p.iops()).or(instance.iops()).filter(|n| *n > 0).map(i64::from))),
            (
                "storage_throughput",
                Value::opt_int(
                    pending.and_then(|p| p.storage_throughput()).or(instance.storage_throughput()).filter(|n| *n > 0).map(i64::from),
                ),
            ),
            ("timeouts", prior.attr("timeouts").clone()),
            ("final_snapshot_identifier", prior.attr("final_snapshot_identifier").clone()),
            ("skip_final_snapshot", prior.attr("skip_final_snapshot").clone()),
        ])
    }

    /// The state to report after a failure part-way: what RDS says now, else what we had.
    async fn current_state(ctx: &Context, id: &str, fallback: &Value) -> Value {
        match ctx.clients.rds_instance(id).await {
            Ok(Some(i)) => Self::state_from(&i, fallback),
            Ok(None) => Value::Null,
            Err(e) => {
                tracing::warn!(identifier = id, error = %e, "could not read the instance after a failure; keeping the last known state");
                fallback.clone()
            }
        }
    }

    /// After a failed create the replica may not be listed yet; what the create call returned
    /// still says it exists, so it stays in state (tainted) rather than being orphaned.
    async fn state_after_failed_create(ctx: &Context, id: &str, created: &Value) -> Value {
        match Self::current_state(ctx, id, created).await {
            Value::Null => created.clone(),
            now => now,
        }
    }

    /// One ModifyDBInstance carrying every in-place change, as RDS wants storage changes
    /// together. More IOPS needs the allocated storage too (its current value).
    async fn modification(
        ctx: &Context,
        rds: &aws_sdk_rds::Client,
        id: &str,
        planned: &Value,
        changed: &[&str],
    ) -> Result<aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder, ClientError> {
        let mut call = rds.modify_db_instance().db_instance_identifier(id);
        for attr in changed {
            let v = planned.attr(attr);
            call = match *attr {
                "instance_class" => call.set_db_instance_class(v.as_str().map(str::to_string)),
                "multi_az" => call.set_multi_az(v.as_bool()),
                "vpc_security_group_ids" => call.set_vpc_security_group_ids(string_list(v)),
                "parameter_group_name" => call.set_db_parameter_group_name(v.as_str().map(str::to_string)),
                "deletion_protection" => call.set_deletion_protection(v.as_bool()),
                "storage_type" => call.set_storage_type(v.as_str().map(str::to_string)),
                "iops" => {
                    let current = ctx.clients.rds_instance(id).await?.and_then(|i| i.allocated_storage());
                    call.set_iops(int32(v)).set_allocated_storage(current)
                }
                "storage_throughput" => call.set_storage_throughput(int32(v)),
                _ => call,
            };
        }
        Ok(call)
    }

    /// The identifier is taken. By this replica itself: CreateDBInstanceReadReplica is not
    /// idempotent, and the SDK resends a request whose answer was lost; it is adopted
    /// (Some). By an instance being deleted: the wait for it to go frees the name (None). By
    /// anything else: an error, never a takeover.
    async fn claim_identifier(ctx: &Context, id: &str, planned: &Value, timeout: Duration) -> Result<Option<DbInstance>, String> {
        let existing = ctx.clients.rds_instance(id).await.map_err(|e| e.to_string())?;
        let Some(existing) = existing else { return Ok(None) };
        if existing.db_instance_status() == Some("deleting") {
            wait_deleted(ctx, id, timeout).await.map_err(|e| e.to_string())?;
            return Ok(None);
        }
        let wanted = planned.str_attr("source_db_instance_identifier");
        let arn = existing.db_instance_arn().unwrap_or_default();
        match existing.read_replica_source_db_instance_identifier() {
            Some(source) if same_source(source, wanted, arn) => {
                tracing::info!(identifier = id, "the replica already exists with this source (a resent create); adopting it");
                Ok(Some(existing))
            }
            other => Err(format!(
                "DB instance {id} already exists{}. Choose another identifier, or import it (terraform import <address> {id}).",
                other.map(|s| format!(" as a replica of {s}, not of {wanted}")).unwrap_or_else(|| " and is not a replica".into())
            )),
        }
    }

    /// Sets the parameter group of a replica that is up, then waits until RDS reports it.
    async fn set_parameter_group(
        ctx: &Context,
        rds: &aws_sdk_rds::Client,
        id: &str,
        group: &str,
        max_wait: Duration,
    ) -> Result<DbInstance, String> {
        rds.modify_db_instance()
            .db_instance_identifier(id)
            .db_parameter_group_name(group)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, "ModifyDBInstance", &e).to_string())?;
        wait_available(ctx, id, max_wait, |i| instance_parameter_group(i) == Some(group)).await.map_err(|e| e.to_string())
    }

    async fn promote(ctx: &Context, id: &str, max_wait: Duration) -> Result<DbInstance, String> {
        ctx.clients
            .rds()
            .await
            .map_err(|e| e.to_string())?
            .promote_read_replica()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, "PromoteReadReplica", &e).to_string())?;
        // RDS reports `available` with the source still set right after the call, then goes
        // through modifying and rebooting: done is available with no source any more.
        wait_available(ctx, id, max_wait, |i| i.read_replica_source_db_instance_identifier().is_none()).await.map_err(|e| e.to_string())
    }
}

/// Marks an import ID as naming a replica that was promoted to a standalone instance.
const PROMOTED_SUFFIX: &str = ":promoted";

/// An import's partial state: what the import ID said, before the first read. Every state
/// written after a read or create holds the source or the ARN.
fn is_import(state: &Value) -> bool {
    state.attr("arn").is_null() && state.attr("source_db_instance_identifier").is_null()
}

/// Why an imported instance does not match what the import ID claimed it is.
fn import_problem(instance: &DbInstance, imported: &Value) -> Option<(&'static str, String)> {
    let id = instance.db_instance_identifier().unwrap_or_default();
    match (instance.read_replica_source_db_instance_identifier(), imported.attr("promote").as_bool() == Some(true)) {
        (None, false) => Some((
            "Not a read replica",
            format!(
                "DB instance {id} replicates from no source: it is a primary, or a replica promoted earlier. Destroying a \
                 scaling_read_replica deletes its instance, so it is not imported as one. If {id} is a replica you promoted \
                 and want this resource to own, import it as {id}{PROMOTED_SUFFIX}."
            ),
        )),
        (Some(source), true) => Some((
            "Not promoted",
            format!("DB instance {id} still replicates from {source}. Import it as {id}, without {PROMOTED_SUFFIX}."),
        )),
        _ => None,
    }
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.attr("tags").string_map()
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    let items: Vec<String> = v.elements().iter().filter_map(|e| e.as_str().map(str::to_string)).collect();
    (!items.is_empty()).then_some(items)
}

fn int32(v: &Value) -> Option<i32> {
    v.as_i64().and_then(|n| i32::try_from(n).ok())
}

/// Whether RDS still holds any of the deferrable changes as pending (the state reads pending
/// values as current, so only this says an immediate change has not landed yet).
fn defers_any(p: &aws_sdk_rds::types::PendingModifiedValues) -> bool {
    p.db_instance_class().is_some()
        || p.multi_az().is_some()
        || p.storage_type().is_some()
        || p.iops().is_some()
        || p.storage_throughput().is_some()
}

fn instance_parameter_group(i: &DbInstance) -> Option<&str> {
    i.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name())
}

/// RDS applies a new parameter group's static parameters only at the next reboot, and never
/// reboots by itself for that: say so rather than reboot a serving replica unasked.
fn warn_pending_reboot(i: &DbInstance, diags: &mut Diagnostics) {
    let pending = i.db_parameter_groups().iter().find(|g| g.parameter_apply_status() == Some("pending-reboot"));
    if let Some(group) = pending {
        diags.warning_at(
            AttributePath::of("parameter_group_name"),
            "Reboot needed for static parameters",
            format!(
                "{} uses parameter group {}, whose static parameters take effect after a reboot: \
                 aws rds reboot-db-instance --db-instance-identifier {}",
                i.db_instance_identifier().unwrap_or_default(),
                group.db_parameter_group_name().unwrap_or_default(),
                i.db_instance_identifier().unwrap_or_default()
            ),
        );
    }
}

/// How a delete treats the data.
enum FinalSnapshot<'a> {
    /// A replica never promoted: its data lives on in the source; RDS takes no snapshot of it.
    NotPromoted,
    Take(&'a str),
    Skip,
}

/// A promoted instance is a standalone, writable database: deleting it takes a final snapshot
/// unless the configuration opted out explicitly.
fn final_snapshot(state: &Value) -> Result<FinalSnapshot<'_>, String> {
    if state.attr("promote").as_bool() != Some(true) {
        return Ok(FinalSnapshot::NotPromoted);
    }
    if let Some(snapshot) = state.attr("final_snapshot_identifier").as_str() {
        return Ok(FinalSnapshot::Take(snapshot));
    }
    if state.attr("skip_final_snapshot").as_bool() == Some(true) {
        return Ok(FinalSnapshot::Skip);
    }
    Err(format!(
        "{} was promoted to a standalone database, and deleting it would lose its data. Set final_snapshot_identifier \
         (a snapshot is taken first) or skip_final_snapshot = true, apply, then delete or replace it.",
        state.str_attr("identifier")
    ))
}

/// What ModifyDBInstance changes on the instance itself (everything but tags and promotion).
const MODIFIED_IN_PLACE: &[&str] = &[
    "instance_class",
    "multi_az",
    "vpc_security_group_ids",
    "parameter_group_name",
    "deletion_protection",
    "storage_type",
    "iops",
    "storage_throughput",
];

/// Changes that wait for the maintenance window unless applied immediately (the others are
/// applied at once whatever ApplyImmediately says).
const DEFERRABLE: &[&str] = &["instance_class", "multi_az", "storage_type", "iops", "storage_throughput"];

/// Storage combinations RDS refuses, for the values this configuration sets (on the storage
/// type it sets or the replica has): what RDS itself reports is never an error the
/// configuration could not clear. What depends on the allocated storage or engine, inherited
/// from the source, is left to RDS.
fn storage_problems(config: &Value, prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let Some(kind) = planned.attr("storage_type").as_str() else { return };
    let set = |v: &Value| v.is_known() && !v.is_null();
    if matches!(kind, "gp2" | "standard") && set(config.attr("iops")) {
        diags.error_at(
            AttributePath::of("iops"),
            "IOPS cannot be provisioned on this storage type",
            format!("storage_type {kind:?} has no provisioned IOPS; use gp3, io1 or io2, or remove iops."),
        );
    }
    let becomes = prior.attr("storage_type") != planned.attr("storage_type");
    if matches!(kind, "io1" | "io2") && becomes && config.attr("iops").is_null() {
        diags.error_at(
            AttributePath::of("iops"),
            "IOPS required",
            format!("storage_type {kind:?} needs provisioned IOPS: set iops = 1000 or more."),
        );
    }
    if kind != "gp3" && set(config.attr("storage_throughput")) {
        diags.error_at(
            AttributePath::of("storage_throughput"),
            "Throughput is for gp3 storage",
            format!("storage_throughput applies only to storage_type \"gp3\", not {kind:?}."),
        );
    }
}

#[async_trait]
impl Resource<Clients> for ReadReplica {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Self::timeouts()
    }

    fn schema(&self) -> Schema {
        let computed = |name: &str, ty: Type, text: &str| Attribute::computed(name, ty).describe(text).use_state_for_unknown();
        Schema {
            version: 0,
            block: Block::new(
                "An RDS read replica of an existing DB instance. Class and tags change in place; a new source or identifier \
                 creates a new replica. Setting `promote = true` turns the replica into a standalone instance (one-way). \
                 Deleting skips the final snapshot. Import with the replica's identifier.",
            )
            .attribute(computed("id", Type::String, "The replica's DB instance identifier."))
            .attribute(
                Attribute::required("identifier", Type::String)
                    .describe("DB instance identifier of the replica.")
                    .validate(string_check("1 to 63 lowercase letters, digits or hyphens, starting with a letter, without a trailing or double hyphen", identifier_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("source_db_instance_identifier", Type::String)
                    .describe("The instance to replicate: its identifier in the provider's region, or its ARN for a cross-region replica.")
                    .validate(string_check("a DB instance identifier or an RDS instance ARN", source_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("instance_class", Type::String)
                    .describe("Instance class of the replica, e.g. `db.r6g.xlarge`. Changing it resizes the replica in place (the replica restarts).")
                    .validate(string_check("an RDS instance class (db.FAMILY.SIZE)", instance_class_problem)),
            )
            .attribute(
                Attribute::optional_computed("availability_zone", Type::String)
                    .describe("Availability zone for the replica; RDS picks one when unset.")
                    .validate(string_check("an availability zone name", availability_zone_problem))
                    .use_state_for_unknown()
                    .requires_replace(),
            )
            .attribute(
                Attribute::optional_computed("apply_immediately", Type::Bool)
                    .describe(
                        "Apply class, Multi-AZ and storage changes now rather than in the next maintenance window (security \
                         groups, parameter group and deletion protection always change at once).",
                    )
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed("promote", Type::Bool)
                    .describe("Promote the replica to a standalone instance. Promotion cannot be undone: changing this from true to false is refused.")
                    .default(Value::Bool(false)),
            )
            .attribute(
                // Defaulted rather than null, so that `tags = {}` and no tags at all are one
                // configuration and switching between them plans nothing.
                Attribute::optional("tags", Type::map(Type::String))
                    .describe("Tags on the replica.")
                    .default(Value::Map(BTreeMap::new()))
                    .validate(string_map_check(
                        "at most 50 tags; keys of 1 to 128 and values of up to 256 letters, digits, spaces or _ . : / = + - @, neither starting with aws: or rds:",
                        MAX_TAGS,
                        tag_key_problem,
                        tag_value_problem,
                    )),
            )
            .attribute(
                Attribute::optional_computed("kms_key_id", Type::String)
                    .describe(
                        "ARN of the KMS key encrypting the replica. A cross-region replica of an encrypted source needs one (a key \
                         in the replica's region); in the source's region its key is used when unset. Changing it replaces the replica.",
                    )
                    .validate(string_check("a KMS key ARN", kms_key_arn_problem))
                    .keep_when_unconfigured()
                    .requires_replace(),
            )
            .attribute(
                Attribute::optional_computed("db_subnet_group_name", Type::String)
                    .describe(
                        "DB subnet group (and so VPC) of the replica; a cross-region replica in a VPC needs one. In the source's \
                         region the source's group is used when unset. Changing it replaces the replica: RDS cannot move an \
                         instance between subnet groups of one VPC.",
                    )
                    .validate(string_check("a DB subnet group name", subnet_group_problem))
                    .keep_when_unconfigured()
                    .requires_replace(),
            )
            .attribute(
                Attribute::optional_computed("vpc_security_group_ids", Type::set(Type::String))
                    .describe("VPC security groups of the replica (default: the VPC's default group). Changes apply in place, at once.")
                    .validate(each(1, string_check("a VPC security group ID", security_group_problem)))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("multi_az", Type::Bool)
                    .describe("Keep a standby in another availability zone. Not inherited from the source. Changes in place.")
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::optional_computed("parameter_group_name", Type::String)
                    .describe(
                        "DB parameter group of the replica (default: the source's in its region, else the engine default). \
                         Changes in place; static parameters take effect when the replica next reboots.",
                    )
                    .validate(string_check("a DB parameter group name", parameter_group_problem))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("deletion_protection", Type::Bool)
                    .describe("Refuse to delete the replica: destroy and replacement fail until this is set to false and applied.")
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::optional("final_snapshot_identifier", Type::String)
                    .describe(
                        "Snapshot to take when a promoted instance (a standalone database) is deleted, by destroy or replacement. \
                         A replica that was never promoted is deleted without one (RDS takes none of replicas).",
                    )
                    .validate(string_check("a DB snapshot identifier", identifier_problem)),
            )
            .attribute(
                Attribute::optional_computed("skip_final_snapshot", Type::Bool)
                    .describe(
                        "Delete a promoted instance without a final snapshot. Off by default: deleting a promoted instance \
                         then needs final_snapshot_identifier, so no standalone database is wiped by accident.",
                    )
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::optional_computed("storage_type", Type::String)
                    .describe("`gp2`, `gp3`, `io1`, `io2` or `standard` (magnetic, being retired); inherited from the source when unset.")
                    .validate(one_of(STORAGE_TYPES))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("iops", Type::Number)
                    .describe("Provisioned IOPS: required with io1/io2, optional with gp3 from 400 GiB (RDS checks the ratio to storage).")
                    .validate(int_between(1000, 256_000))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("storage_throughput", Type::Number)
                    .describe("Storage throughput in MiB/s, gp3 only (from 400 GiB).")
                    .validate(int_between(125, 4000))
                    .keep_when_unconfigured(),
            )
            .attribute(computed("arn", Type::String, "ARN of the replica."))
            .attribute(computed("address", Type::String, "DNS address of the replica's endpoint."))
            .attribute(computed("port", Type::Number, "Port of the replica's endpoint."))
            .attribute(Attribute::computed("status", Type::String).describe("RDS status of the instance, e.g. `available`."))
            .attribute(computed("engine", Type::String, "Database engine, inherited from the source."))
            .attribute(computed("engine_version", Type::String, "Engine version, inherited from the source."))
            .attribute(computed("resource_id", Type::String, "The region-unique, immutable resource ID (DbiResourceId)."))
            .attribute(
                Attribute::computed("pending_instance_class", Type::String)
                    .describe("The class a deferred modification will apply in the next maintenance window, if any."),
            )
            .block(Self::timeouts().block()),
        }
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        // AWS settings are needed only by AWS resources, so a missing region surfaces here, at
        // plan time, rather than for every configuration.
        if let Some(ctx) = ctx {
            if super::aws_configured(ctx.clients.aws().await, &mut resp.diagnostics).is_none() {
                return;
            }
        }
        // A new storage type brings its own IOPS and throughput unless they are configured: the
        // values kept from state belong to the old type.
        if !req.prior.is_null() && resp.planned.attr("storage_type") != req.prior.attr("storage_type") {
            for attr in ["iops", "storage_throughput"] {
                if req.config.attr(attr).is_null() {
                    resp.planned.set_attr(attr, Value::Unknown);
                }
            }
        }
        storage_problems(req.config, req.prior, &resp.planned, &mut resp.diagnostics);
        let prior = req.prior;
        if prior.is_null() {
            return;
        }
        // Only a modification or a promotion takes the instance through other statuses; tags,
        // timeouts, deletion protection and apply timing leave both as they are, so the plan
        // keeps them known.
        // Asking for a deferred change now (apply_immediately false -> true) sends it again.
        let pending_now = !prior.attr("pending_instance_class").is_null() && resp.planned.attr("apply_immediately").as_bool() == Some(true);
        let moves = pending_now
            || MODIFIED_IN_PLACE.iter().chain(&["promote"]).any(|a| *a != "deletion_protection" && resp.planned.attr(a) != prior.attr(a));
        if !moves && resp.requires_replace.is_empty() {
            for attr in ["status", "pending_instance_class"] {
                resp.planned.set_attr(attr, prior.attr(attr).clone());
            }
        }
        let planned = &resp.planned;
        if prior.attr("promote").as_bool() == Some(true) && planned.attr("promote").as_bool() == Some(false) {
            resp.diagnostics.error_at(
                AttributePath::of("promote"),
                "A promoted replica cannot be demoted",
                format!(
                    "{} is already a standalone instance (promote = true), and RDS cannot turn it back into a replica. \
                     Set promote = true, or replace the resource (terraform apply -replace=...) to create a new replica.",
                    prior.str_attr("identifier")
                ),
            );
        }
        let source = AttributePath::of("source_db_instance_identifier");
        if let (Some(old), Some(new)) =
            (prior.attr("source_db_instance_identifier").as_str(), resp.planned.attr("source_db_instance_identifier").as_str())
        {
            if same_source(old, new, prior.str_attr("arn")) {
                // The same source respelled (identifier <-> ARN): an in-place change of state only.
                resp.requires_replace.retain(|p| *p != source);
            }
        }
        if prior.attr("promote").as_bool() == Some(true) && prior.attr("source_db_instance_identifier").is_null() {
            // An imported standalone (promoted) instance: RDS no longer knows its source, so the
            // configured one is taken as it is rather than forcing a replacement.
            resp.requires_replace.retain(|p| *p != source);
        }
        if !resp.requires_replace.is_empty() {
            match final_snapshot(prior) {
                Err(why) => resp.diagnostics.error_at(
                    AttributePath::of("final_snapshot_identifier"),
                    "Replacement would delete a standalone database",
                    why,
                ),
                Ok(FinalSnapshot::Take(snapshot)) => resp.diagnostics.warning(
                    "Replacement deletes a standalone database",
                    format!("{} was promoted; it is deleted after a final snapshot {snapshot}.", prior.str_attr("identifier")),
                ),
                Ok(_) => {}
            }
        }
        if !resp.requires_replace.is_empty() && prior.attr("deletion_protection").as_bool() == Some(true) {
            resp.diagnostics.error_at(
                AttributePath::of("deletion_protection"),
                "Replacement blocked by deletion protection",
                format!(
                    "This change replaces {}, but it has deletion protection, so RDS would refuse to delete it after the new \
                     replica is made. First apply deletion_protection = false on its own, then this change.",
                    prior.str_attr("identifier")
                ),
            );
        }
        let deferred: Vec<&str> = DEFERRABLE
            .iter()
            .copied()
            .filter(|a| *a != "instance_class" && planned.attr(a).is_known() && planned.attr(a) != prior.attr(a))
            .collect();
        if !deferred.is_empty() && resp.requires_replace.is_empty() && planned.attr("apply_immediately").as_bool() == Some(false) {
            resp.diagnostics.warning_at(
                AttributePath::of(deferred[0]),
                "Changes deferred to the maintenance window",
                format!(
                    "apply_immediately = false: RDS will change {} of {} in its next maintenance window, not now. Until then \
                     the state shows the values they will have.",
                    deferred.join(", "),
                    prior.str_attr("identifier")
                ),
            );
        }
        if ["storage_type", "iops", "storage_throughput"].iter().any(|a| planned.attr(a).is_known() && planned.attr(a) != prior.attr(a)) {
            resp.diagnostics.warning(
                "Storage changes take hours",
                format!(
                    "{} goes through storage optimization after this change (it stays available); RDS refuses another storage \
                     change until that ends, and in the first 6 hours after a replica is created.",
                    prior.str_attr("identifier")
                ),
            );
        }
        let (old_class, new_class) = (prior.attr("instance_class"), planned.attr("instance_class"));
        if new_class.is_known() && old_class != new_class && resp.requires_replace.is_empty() {
            if planned.attr("apply_immediately").as_bool() == Some(false) {
                resp.diagnostics.warning_at(
                    AttributePath::of("instance_class"),
                    "Class change deferred to the maintenance window",
                    format!(
                        "apply_immediately = false: RDS will change {} from {} to {} in its next maintenance window, not now. \
                         Until then pending_instance_class shows the change.",
                        prior.str_attr("identifier"),
                        prior.str_attr("instance_class"),
                        new_class.as_str().unwrap_or("?")
                    ),
                );
            } else {
                resp.diagnostics.warning_at(
                    AttributePath::of("instance_class"),
                    "The replica restarts to change class",
                    format!(
                        "{} will be unavailable for reads for several minutes while it moves to {}. Route reads elsewhere first.",
                        prior.str_attr("identifier"),
                        new_class.as_str().unwrap_or("?")
                    ),
                );
            }
        }
        if prior.attr("promote").as_bool() == Some(false) && planned.attr("promote").as_bool() == Some(true) {
            resp.diagnostics.warning_at(
                AttributePath::of("promote"),
                "Promotion is permanent",
                format!(
                    "{} will stop replicating and become a standalone, writable instance; it restarts during promotion.",
                    prior.str_attr("identifier")
                ),
            );
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        let planned = req.planned;
        let id = planned.str_attr("identifier");
        let Some(rds) = super::aws_configured(ctx.clients.rds().await, &mut resp.diagnostics) else { return };
        let mut call = rds
            .create_db_instance_read_replica()
            .db_instance_identifier(id)
            .source_db_instance_identifier(planned.str_attr("source_db_instance_identifier"))
            .db_instance_class(planned.str_attr("instance_class"))
            .set_tags(Some(to_tags(&tags_of(planned))).filter(|t| !t.is_empty()));
        if let Some(az) = planned.attr("availability_zone").as_str() {
            call = call.availability_zone(az);
        }
        let source = planned.str_attr("source_db_instance_identifier");
        // RDS takes a parameter group at creation only for cross-region replicas (of most
        // engines); in the source's region it is set by a modification once the replica is up.
        let parameter_group = planned.attr("parameter_group_name").as_str();
        // A source ARN may name an instance in this same region.
        let region = ctx.clients.aws().await.ok().and_then(|aws| aws.region()).map(|r| r.as_ref().to_string());
        let cross_region = source.split(':').nth(3).is_some_and(|r| Some(r) != region.as_deref());
        call = call
            .set_kms_key_id(planned.attr("kms_key_id").as_str().map(str::to_string))
            .set_db_subnet_group_name(planned.attr("db_subnet_group_name").as_str().map(str::to_string))
            .set_vpc_security_group_ids(string_list(planned.attr("vpc_security_group_ids")))
            .set_db_parameter_group_name(parameter_group.filter(|_| cross_region).map(str::to_string))
            .set_storage_type(planned.attr("storage_type").as_str().map(str::to_string))
            .set_iops(int32(planned.attr("iops")))
            .set_storage_throughput(int32(planned.attr("storage_throughput")))
            // Always sent: RDS does not take either from the source, and the plan says false.
            .multi_az(planned.attr("multi_az").as_bool() == Some(true))
            .deletion_protection(planned.attr("deletion_protection").as_bool() == Some(true));
        let created = match call.clone().send().await {
            Ok(out) => out.db_instance,
            Err(e) => {
                let e = AwsError::from_sdk(Service::Rds, "CreateDBInstanceReadReplica", &e);
                if e.code.as_deref() != Some("DBInstanceAlreadyExists") {
                    resp.diagnostics.error("Could not create the read replica", e.to_string());
                    return;
                }
                match Self::claim_identifier(ctx, id, planned, req.timeout).await {
                    Ok(Some(adopted)) => Some(adopted),
                    Ok(None) => match call.send().await {
                        Ok(out) => out.db_instance,
                        Err(e) => {
                            let e = AwsError::from_sdk(Service::Rds, "CreateDBInstanceReadReplica", &e);
                            resp.diagnostics.error("Could not create the read replica", e.to_string());
                            return;
                        }
                    },
                    Err(why) => {
                        resp.diagnostics.error("Could not create the read replica", why);
                        return;
                    }
                }
            }
        };
        // From here the replica exists: every exit records it so nothing is orphaned.
        resp.state = match &created {
            Some(i) => Self::state_from(i, planned),
            None => planned.clone(),
        };
        let deadline = tokio::time::Instant::now() + req.timeout;
        let mut instance = match wait_available(ctx, id, req.timeout, |_| true).await {
            Ok(i) => i,
            Err(e) => {
                resp.diagnostics.error("The read replica did not become available", e.to_string());
                resp.state = Self::state_after_failed_create(ctx, id, &resp.state).await;
                return;
            }
        };
        if let Some(group) = parameter_group.filter(|g| !cross_region && instance_parameter_group(&instance) != Some(*g)) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match Self::set_parameter_group(ctx, rds, id, group, left).await {
                Ok(i) => instance = i,
                Err(e) => {
                    resp.diagnostics.error("The replica was created but its parameter group could not be set", e);
                    resp.state = Self::state_after_failed_create(ctx, id, &resp.state).await;
                    return;
                }
            }
        }
        warn_pending_reboot(&instance, &mut resp.diagnostics);
        if planned.attr("promote").as_bool() == Some(true) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match Self::promote(ctx, id, left).await {
                Ok(i) => instance = i,
                Err(e) => {
                    resp.diagnostics.error("The replica was created but could not be promoted", e);
                    resp.state = Self::state_after_failed_create(ctx, id, &resp.state).await;
                    return;
                }
            }
        }
        resp.state = Self::state_from(&instance, planned);
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let id = req.state.str_attr("identifier");
        match ctx.clients.rds_instance_in_refresh(id).await {
            // Going away (deleted out of band, or a destroy that was interrupted): it is not the
            // replica the configuration wants any more, so a plan creates it again (the create
            // waits for the identifier to be free).
            Ok(Some(i)) if i.db_instance_status() == Some("deleting") => {
                tracing::info!(identifier = id, "read replica is being deleted; removing it from state");
                resp.state = Value::Null;
            }
            Ok(Some(i)) if is_import(req.state) => match import_problem(&i, req.state) {
                Some((summary, detail)) => resp.diagnostics.error(summary, detail),
                None => resp.state = Self::state_from(&i, req.state),
            },
            Ok(Some(i)) => resp.state = Self::state_from(&i, req.state),
            Ok(None) => {
                tracing::info!(identifier = id, "read replica no longer exists; removing it from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the read replica", e.to_string()),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        let (prior, planned) = (req.prior, req.planned);
        let id = prior.str_attr("identifier").to_string();
        let Some(rds) = super::aws_configured(ctx.clients.rds().await, &mut resp.diagnostics) else { return };
        let deadline = tokio::time::Instant::now() + req.timeout;
        let left = || deadline.saturating_duration_since(tokio::time::Instant::now());

        let mut changed: Vec<&str> = MODIFIED_IN_PLACE
            .iter()
            .copied()
            .filter(|a| planned.attr(a).is_known() && !planned.attr(a).is_null() && planned.attr(a) != prior.attr(a))
            .collect();
        // The state reads a deferred value as what the instance will be, so asking for it now
        // (apply_immediately turned true) shows no difference there: what RDS still holds as
        // pending is sent again, immediately.
        if planned.attr("apply_immediately").as_bool() != Some(false) {
            match ctx.clients.rds_instance(&id).await {
                Ok(Some(i)) => {
                    if let Some(p) = i.pending_modified_values() {
                        let held = [
                            ("instance_class", p.db_instance_class().is_some()),
                            ("multi_az", p.multi_az().is_some()),
                            ("storage_type", p.storage_type().is_some()),
                            ("iops", p.iops().is_some()),
                            ("storage_throughput", p.storage_throughput().is_some()),
                        ];
                        for (attr, pending) in held {
                            if pending && !changed.contains(&attr) {
                                changed.push(attr);
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    resp.diagnostics.error("Could not read the replica before modifying it", e.to_string());
                    return;
                }
            }
        }
        if !changed.is_empty() {
            let now = planned.attr("apply_immediately").as_bool() != Some(false);
            let modify = match Self::modification(ctx, rds, &id, planned, &changed).await {
                Ok(call) => call.apply_immediately(now),
                Err(e) => {
                    resp.diagnostics.error("Could not read the replica before modifying it", e.to_string());
                    return;
                }
            };
            if let Err(e) = modify.send().await {
                resp.diagnostics.error(
                    format!("Could not modify the replica ({})", changed.join(", ")),
                    AwsError::from_sdk(Service::Rds, "ModifyDBInstance", &e).to_string(),
                );
                resp.state = Self::current_state(ctx, &id, prior).await;
                return;
            }
            // Deferred changes wait for the maintenance window (RDS records them as pending, which
            // the state reads as what they will be); the rest are waited for until RDS reports them.
            let applied_now: Vec<&str> = changed.iter().copied().filter(|a| now || !DEFERRABLE.contains(a)).collect();
            if !applied_now.is_empty() {
                let waited = wait_available(ctx, &id, left(), |i| {
                    let reported = Self::state_from(i, planned);
                    applied_now.iter().all(|a| reported.attr(a) == planned.attr(a))
                        && (!now || i.pending_modified_values().is_none_or(|p| !defers_any(p)))
                })
                .await;
                match waited {
                    Ok(i) => warn_pending_reboot(&i, &mut resp.diagnostics),
                    Err(e) => {
                        resp.diagnostics.error("The modification did not finish", e.to_string());
                        resp.state = Self::current_state(ctx, &id, prior).await;
                        return;
                    }
                }
            }
        }

        let (old_tags, new_tags) = (tags_of(prior), tags_of(planned));
        if old_tags != new_tags {
            let arn = prior.str_attr("arn");
            let removed: Vec<String> = old_tags.keys().filter(|k| !new_tags.contains_key(*k)).cloned().collect();
            let changed: BTreeMap<String, String> =
                new_tags.iter().filter(|(k, v)| old_tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
            if !removed.is_empty() {
                if let Err(e) = rds.remove_tags_from_resource().resource_name(arn).set_tag_keys(Some(removed)).send().await {
                    resp.diagnostics
                        .error("Could not remove tags", AwsError::from_sdk(Service::Rds, "RemoveTagsFromResource", &e).to_string());
                    resp.state = Self::current_state(ctx, &id, prior).await;
                    return;
                }
            }
            if !changed.is_empty() {
                if let Err(e) = rds.add_tags_to_resource().resource_name(arn).set_tags(Some(to_tags(&changed))).send().await {
                    resp.diagnostics.error("Could not add tags", AwsError::from_sdk(Service::Rds, "AddTagsToResource", &e).to_string());
                    resp.state = Self::current_state(ctx, &id, prior).await;
                    return;
                }
            }
        }

        if prior.attr("promote").as_bool() == Some(false) && planned.attr("promote").as_bool() == Some(true) {
            if let Err(e) = Self::promote(ctx, &id, left()).await {
                resp.diagnostics.error("Could not promote the replica", e);
                resp.state = Self::current_state(ctx, &id, prior).await;
                return;
            }
        }

        match ctx.clients.rds_instance(&id).await {
            Ok(Some(i)) => resp.state = Self::state_from(&i, planned),
            Ok(None) => {
                resp.diagnostics.error("The replica disappeared during the update", format!("{id} no longer exists."));
                resp.state = Value::Null;
            }
            Err(e) => {
                resp.diagnostics.error("Could not read the replica after updating it", e.to_string());
            }
        }
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        let id = req.prior.str_attr("identifier");
        let Some(rds) = super::aws_configured(ctx.clients.rds().await, &mut resp.diagnostics) else { return };
        let call = match final_snapshot(req.prior) {
            Ok(FinalSnapshot::NotPromoted) => rds.delete_db_instance().skip_final_snapshot(true).delete_automated_backups(true),
            // A promoted instance is a standalone database: its backups stay.
            Ok(FinalSnapshot::Take(snapshot)) => {
                rds.delete_db_instance().final_db_snapshot_identifier(snapshot).delete_automated_backups(false)
            }
            Ok(FinalSnapshot::Skip) => rds.delete_db_instance().skip_final_snapshot(true).delete_automated_backups(false),
            Err(why) => {
                resp.diagnostics.error("A promoted instance needs a final snapshot", why);
                return;
            }
        };
        let sent = call.db_instance_identifier(id).send().await;
        match sent {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => return,
            // A destroy interrupted or timed out before: the delete is under way; wait for it.
            Err(e) if AwsError::from_sdk(Service::Rds, "DeleteDBInstance", &e).to_string().contains("is already being deleted") => {}
            Err(e) => {
                let e = AwsError::from_sdk(Service::Rds, "DeleteDBInstance", &e);
                if req.prior.attr("deletion_protection").as_bool() == Some(true) && e.code.as_deref() == Some("InvalidParameterCombination")
                {
                    resp.diagnostics.error(
                        "The replica has deletion protection",
                        format!(
                            "{}. Set deletion_protection = false and apply, then destroy; it is never turned off unasked.",
                            crate::error_chain::clause(&e.to_string())
                        ),
                    );
                } else {
                    resp.diagnostics.error("Could not delete the read replica", e.to_string());
                }
                return;
            }
        }
        if let Err(e) = wait_deleted(ctx, id, req.timeout).await {
            resp.diagnostics.error("The read replica was not deleted in time", e.to_string());
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.attr("multi_az").as_bool() == Some(true) && config.attr("availability_zone").as_str().is_some() {
            diags.error_at(
                AttributePath::of("multi_az"),
                "Multi-AZ replicas choose their own zones",
                "RDS refuses an availability_zone together with multi_az = true: remove one of them.",
            );
        }
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let (identifier, promoted) = match id.strip_suffix(PROMOTED_SUFFIX) {
            Some(identifier) => (identifier, true),
            None => (id, false),
        };
        if let Err(why) = identifier_problem(identifier) {
            diags.error(
                "Invalid import ID",
                format!(
                    "Import a read replica by its DB instance identifier (e.g. skillancer-replica-2), or a promoted one as \
                     IDENTIFIER{PROMOTED_SUFFIX}; {identifier:?} {why}."
                ),
            );
            return None;
        }
        Some(Value::object([("id", Value::from(identifier)), ("identifier", Value::from(identifier)), ("promote", Value::Bool(promoted))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_spelled_two_ways() {
        let replica = "arn:aws:rds:us-east-1:123456789012:db:replica-1";
        let same = "arn:aws:rds:us-east-1:123456789012:db:prod";
        assert!(same_source("prod", same, replica) && same_source(same, "prod", replica));
        assert!(same_source("prod", "prod", replica));
        for other in [
            "arn:aws:rds:us-west-2:123456789012:db:prod",
            "arn:aws:rds:us-east-1:210987654321:db:prod",
            "arn:aws-cn:rds:us-east-1:123456789012:db:prod",
            "arn:aws:rds:us-east-1:123456789012:db:prod-2",
            "arn:aws:rds:us-east-1:123456789012:cluster:prod",
        ] {
            assert!(!same_source("prod", other, replica), "{other}");
        }
        assert!(!same_source("prod", same, ""), "without the replica's ARN nothing says where it is");
        assert!(!same_source("prod", "prod-2", replica));
    }
}
