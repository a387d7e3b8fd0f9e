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
use scaling_schema::validator::{string_check, string_map_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};

mod validate;

use super::Context;
use crate::aws_error::{AwsError, ClientError};
use crate::clients::Clients;
use crate::framework::wait::{Acceptor, WaitError, Waiter};
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use validate::{
    availability_zone_problem, identifier_problem, instance_class_problem, source_problem, tag_key_problem, tag_value_problem, MAX_TAGS,
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

/// Statuses RDS cannot leave without someone's help: waiting on would only time out.
const FAILED_STATUSES: &[&str] = &[
    "failed",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "insufficient-capacity",
    "restore-error",
    "storage-full",
];

fn waiter(max_wait: Duration) -> Waiter {
    Waiter::new(max_wait).with_delays(Duration::from_secs(2), Duration::from_secs(30))
}

impl ReadReplica {
    fn timeouts() -> Timeouts {
        Timeouts { create: Duration::from_secs(40 * 60), update: Duration::from_secs(80 * 60), delete: Duration::from_secs(60 * 60) }
    }

    /// Waits until the instance is `available` and, when given, has become what `done` checks.
    async fn wait_available(
        ctx: &Context,
        id: &str,
        max_wait: Duration,
        done: impl Fn(&DbInstance) -> bool,
    ) -> Result<DbInstance, WaitError<ClientError>> {
        waiter(max_wait)
            .wait(&format!("DB instance {id} to become available"), &ctx.stop, || async {
                Ok(match Self::look_up_in_wait(ctx, id).await? {
                    Err(why) => Acceptor::Retry(why),
                    // Just after a create call the instance may not be listed yet.
                    Ok(None) => Acceptor::Retry("not listed yet".into()),
                    Ok(Some(i)) => {
                        let status = i.db_instance_status().unwrap_or("unknown").to_string();
                        if FAILED_STATUSES.contains(&status.as_str()) {
                            Acceptor::Failure(format!("status {status}"))
                        } else if status == "available" && done(&i) {
                            Acceptor::Success(i)
                        } else {
                            Acceptor::Retry(status)
                        }
                    }
                })
            })
            .await
    }

    async fn wait_deleted(ctx: &Context, id: &str, max_wait: Duration) -> Result<(), WaitError<ClientError>> {
        waiter(max_wait)
            .wait(&format!("DB instance {id} to be deleted"), &ctx.stop, || async {
                Ok(match Self::look_up_in_wait(ctx, id).await? {
                    Err(why) => Acceptor::Retry(why),
                    Ok(None) => Acceptor::Success(()),
                    Ok(Some(i)) => Acceptor::Retry(i.db_instance_status().unwrap_or("unknown").to_string()),
                })
            })
            .await
    }

    /// A look-up during a wait. Throttling or a dropped connection says nothing about the
    /// instance, so the wait goes on (Err inside: why this poll learned nothing) rather than
    /// failing a 40-minute create over one unlucky call.
    async fn look_up_in_wait(ctx: &Context, id: &str) -> Result<Result<Option<DbInstance>, String>, ClientError> {
        match ctx.clients.rds_instance(id).await {
            Err(e) if e.is_transient() => Ok(Err(e.to_string())),
            other => other.map(Ok),
        }
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
        let pending_class = instance.pending_modified_values().and_then(|p| p.db_instance_class());
        // A class change waiting for the maintenance window is what the instance will be; the
        // pending attribute says it is not there yet.
        let class = pending_class.or(instance.db_instance_class());
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
            ("timeouts", prior.attr("timeouts").clone()),
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

    async fn promote(ctx: &Context, id: &str, max_wait: Duration) -> Result<DbInstance, String> {
        ctx.clients
            .rds()
            .await
            .map_err(|e| e.to_string())?
            .promote_read_replica()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PromoteReadReplica", &e).to_string())?;
        // RDS restarts the instance and drops its source; status is what tells us it is done.
        Self::wait_available(ctx, id, max_wait, |_| true).await.map_err(|e| e.to_string())
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

/// The RDS client, or an error diagnostic saying why there is none (no region, for one).
async fn rds_client<'a>(ctx: &'a Context, diags: &mut Diagnostics) -> Option<&'a aws_sdk_rds::Client> {
    match ctx.clients.rds().await {
        Ok(rds) => Some(rds),
        Err(e) => {
            diags.error("AWS is not configured", e.to_string());
            None
        }
    }
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.attr("tags").string_map()
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
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
                    .describe("Apply class changes now rather than in the next maintenance window.")
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
            if let Err(e) = ctx.clients.aws().await {
                resp.diagnostics.error("AWS is not configured", e.to_string());
            }
        }
        let prior = req.prior;
        if prior.is_null() {
            return;
        }
        // Only a class change or a promotion takes the instance through other statuses; tags,
        // timeouts and apply timing leave both as they are, so the plan keeps them known.
        let moves = ["instance_class", "promote"].iter().any(|a| resp.planned.attr(a) != prior.attr(a));
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
        let Some(rds) = rds_client(ctx, &mut resp.diagnostics).await else { return };
        let mut call = rds
            .create_db_instance_read_replica()
            .db_instance_identifier(id)
            .source_db_instance_identifier(planned.str_attr("source_db_instance_identifier"))
            .db_instance_class(planned.str_attr("instance_class"))
            .set_tags(Some(to_tags(&tags_of(planned))).filter(|t| !t.is_empty()));
        if let Some(az) = planned.attr("availability_zone").as_str() {
            call = call.availability_zone(az);
        }
        let created = match call.send().await {
            Ok(out) => out.db_instance,
            Err(e) => {
                resp.diagnostics
                    .error("Could not create the read replica", AwsError::from_sdk("CreateDBInstanceReadReplica", &e).to_string());
                return;
            }
        };
        // From here the replica exists: every exit records it so nothing is orphaned.
        resp.state = match &created {
            Some(i) => Self::state_from(i, planned),
            None => planned.clone(),
        };
        let deadline = tokio::time::Instant::now() + req.timeout;
        let mut instance = match Self::wait_available(ctx, id, req.timeout, |_| true).await {
            Ok(i) => i,
            Err(e) => {
                resp.diagnostics.error("The read replica did not become available", e.to_string());
                resp.state = Self::state_after_failed_create(ctx, id, &resp.state).await;
                return;
            }
        };
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
        match ctx.clients.rds_instance(id).await {
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
        let Some(rds) = rds_client(ctx, &mut resp.diagnostics).await else { return };
        let deadline = tokio::time::Instant::now() + req.timeout;
        let left = || deadline.saturating_duration_since(tokio::time::Instant::now());

        let target_class = planned.str_attr("instance_class");
        if prior.attr("instance_class") != planned.attr("instance_class") {
            let now = planned.attr("apply_immediately").as_bool() != Some(false);
            if let Err(e) =
                rds.modify_db_instance().db_instance_identifier(&id).db_instance_class(target_class).apply_immediately(now).send().await
            {
                resp.diagnostics
                    .error("Could not change the replica's instance class", AwsError::from_sdk("ModifyDBInstance", &e).to_string());
                resp.state = Self::current_state(ctx, &id, prior).await;
                return;
            }
            if now {
                let waited = Self::wait_available(ctx, &id, left(), |i| {
                    i.db_instance_class() == Some(target_class) && i.pending_modified_values().and_then(|p| p.db_instance_class()).is_none()
                })
                .await;
                if let Err(e) = waited {
                    resp.diagnostics.error("The class change did not finish", e.to_string());
                    resp.state = Self::current_state(ctx, &id, prior).await;
                    return;
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
                    resp.diagnostics.error("Could not remove tags", AwsError::from_sdk("RemoveTagsFromResource", &e).to_string());
                    resp.state = Self::current_state(ctx, &id, prior).await;
                    return;
                }
            }
            if !changed.is_empty() {
                if let Err(e) = rds.add_tags_to_resource().resource_name(arn).set_tags(Some(to_tags(&changed))).send().await {
                    resp.diagnostics.error("Could not add tags", AwsError::from_sdk("AddTagsToResource", &e).to_string());
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
        let Some(rds) = rds_client(ctx, &mut resp.diagnostics).await else { return };
        let sent =
            rds.delete_db_instance().db_instance_identifier(id).skip_final_snapshot(true).delete_automated_backups(true).send().await;
        match sent {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => return,
            Err(e) => {
                resp.diagnostics.error("Could not delete the read replica", AwsError::from_sdk("DeleteDBInstance", &e).to_string());
                return;
            }
        }
        if let Err(e) = Self::wait_deleted(ctx, id, req.timeout).await {
            resp.diagnostics.error("The read replica was not deleted in time", e.to_string());
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
