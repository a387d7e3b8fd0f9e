//! `scaling_db_instance_class`: the instance class of an existing RDS instance (the runbook's
//! "Vertical Scaling (Instance Size)"), instead of `aws rds modify-db-instance
//! --db-instance-class ...` and `aws rds wait db-instance-available`. The instance itself is
//! made elsewhere; this resource adopts its class on create and, on destroy, leaves it or puts
//! back the class it had then.
//!
//! Import ID: the DB instance identifier, e.g. `skillancer-production`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use scaling_schema::validator::{one_of, string_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};

use super::Context;
use crate::aws::names::{identifier_problem, instance_class_problem};
use crate::aws::rds::{self, wait_available};
use crate::clients::Clients;
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};

pub struct DbInstanceClass;

const TYPE_NAME: &str = "scaling_db_instance_class";

/// The class the instance has, or will have once a change deferred to the maintenance window
/// lands: what the configuration is compared with, so a deferred change plans no diff again.
fn effective_class(i: &DbInstance) -> Option<&str> {
    i.pending_modified_values().and_then(|p| p.db_instance_class()).or(i.db_instance_class())
}

/// What bringing an instance to a class takes, from how RDS holds it now.
#[derive(Debug, PartialEq)]
enum ClassChange<'a> {
    /// It has the class, or will have it in the window as asked: nothing to send.
    Nothing,
    /// A ModifyDBInstance with the class, now or for the window (taking the place of another
    /// pending class, if any).
    Move { from: &'a str, now: bool },
    /// It runs the class, with another one pending: RDS takes a pending change back only with
    /// a modification applied immediately (User Guide, "Using the schedule modifications
    /// setting"); a deferred one would leave it for the window.
    CancelPending { pending: &'a str },
    /// The pending class, asked for now: sent again, immediately.
    PendingNow { from: &'a str },
}

impl ClassChange<'_> {
    fn of<'a>(i: &'a DbInstance, want: &str, now: bool) -> ClassChange<'a> {
        let actual = i.db_instance_class().unwrap_or("its current class");
        match i.pending_modified_values().and_then(|p| p.db_instance_class()) {
            Some(pending) if pending != want && actual == want => ClassChange::CancelPending { pending },
            Some(pending) if pending == want => {
                if now {
                    ClassChange::PendingNow { from: actual }
                } else {
                    ClassChange::Nothing
                }
            }
            None if actual == want => ClassChange::Nothing,
            _ => ClassChange::Move { from: actual, now },
        }
    }

    /// Whether it is sent with ApplyImmediately, which starts every other pending change too.
    fn immediate(&self) -> bool {
        matches!(self, ClassChange::Move { now: true, .. } | ClassChange::CancelPending { .. } | ClassChange::PendingNow { .. })
    }

    /// Whether the instance restarts for it now (pending-reboot parameters then take effect).
    fn restarts_now(&self) -> bool {
        matches!(self, ClassChange::Move { now: true, .. } | ClassChange::PendingNow { .. })
    }
}

/// What else a change applied immediately starts on `i`, for the plan: RDS applies every pending
/// modification with it, and a restart applies pending-reboot parameters.
fn started_with_it(i: &DbInstance, change: &ClassChange) -> Vec<String> {
    if !change.immediate() {
        return Vec::new();
    }
    let mut also = rds::pending_besides_class(i);
    if change.restarts_now() {
        also.extend(
            rds::parameter_groups_pending_reboot(i)
                .into_iter()
                .map(|g| format!("the pending-reboot parameters of {g} (the class change restarts the instance)")),
        );
    }
    also
}

/// The warning for what an immediate change starts besides the class, if anything.
fn also_started(id: &str, also: &[String]) -> Option<(&'static str, String)> {
    (!also.is_empty()).then(|| {
        (
            "This apply also starts changes pending for the maintenance window",
            format!(
                "{id} holds other modifications for its maintenance window: {}. A modification applied immediately makes RDS \
                 apply every pending one with it, whoever queued them, so they start during this apply (with any outage they \
                 need). Let them land in the window first, or apply them on their own, if that is not wanted.",
                also.join("; ")
            ),
        )
    })
}

/// How an instance stays up while its class changes, which decides what the change costs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Availability {
    SingleAz,
    /// A standby, so the change is a failover.
    MultiAz,
    /// An instance of an Aurora cluster, whose other instances are its readers.
    Aurora,
}

impl Availability {
    fn of(i: &DbInstance) -> Availability {
        if i.engine().is_some_and(|e| e.starts_with("aurora")) {
            Availability::Aurora
        } else if i.multi_az() == Some(true) {
            Availability::MultiAz
        } else {
            Availability::SingleAz
        }
    }
}

/// What a class change costs, in the words the plan shows: downtime or a failover, now or in
/// the maintenance window.
fn change_cost(id: &str, from: &str, to: &str, availability: Availability, now: bool, window: Option<&str>) -> (&'static str, String) {
    let multi_az = availability == Availability::MultiAz;
    let how = if availability == Availability::Aurora {
        // An Aurora instance reports MultiAZ false: the cluster's availability is its readers.
        format!(
            "{id} is an Aurora instance: it restarts on {to}, unavailable for several minutes. If it is its cluster's writer, \
             writes stop meanwhile unless you fail the cluster over to a reader first (aws rds failover-db-cluster) and \
             change this instance as a reader."
        )
    } else if multi_az {
        format!(
            "{id} is Multi-AZ: RDS changes the standby to {to} first, then fails over to it, so connections drop for about a \
             minute while the endpoint moves; the old primary is changed as the new standby."
        )
    } else {
        format!(
            "{id} is Single-AZ: it is unavailable while it moves from {from} to {to}, typically 5 to 10 minutes. Schedule it, \
             or enable Multi-AZ first so that the change is a failover."
        )
    };
    let when = if now {
        " It happens during this apply (apply_immediately = true).".to_string()
    } else {
        format!(
            " It happens in the next maintenance window ({} UTC), not during this apply; until then pending_instance_class shows \
             it. Set apply_immediately = true to change it now.",
            window.unwrap_or("the instance's")
        )
    };
    let summary = match (availability, now) {
        (Availability::MultiAz, true) => "Class change now: a Multi-AZ failover",
        (Availability::MultiAz, false) => "Class change in the maintenance window: a Multi-AZ failover",
        (Availability::Aurora, true) => "Class change now: the Aurora instance restarts",
        (Availability::Aurora, false) => "Class change in the maintenance window: the Aurora instance restarts",
        (Availability::SingleAz, true) => "Class change now: downtime",
        (Availability::SingleAz, false) => "Class change in the maintenance window: downtime",
    };
    (summary, how + &when)
}

impl DbInstanceClass {
    fn timeouts() -> Timeouts {
        // Single-AZ changes take 5 to 10 minutes, Multi-AZ ones longer; large instances more.
        Timeouts { create: Duration::from_secs(60 * 60), update: Duration::from_secs(60 * 60), delete: Duration::from_secs(60 * 60) }
    }

    /// State from what RDS reports; `original_instance_class` is the settings' (recorded at
    /// adoption), or the class the instance has now when there is none yet (adoption, import).
    fn state_from(instance: &DbInstance, settings: &Value) -> Value {
        let id = instance.db_instance_identifier().unwrap_or_default();
        let original = match settings.attr("original_instance_class") {
            v if v.is_known() && !v.is_null() => v.clone(),
            _ => Value::opt_string(instance.db_instance_class()),
        };
        let or_default = |name: &str, default: Value| match settings.attr(name) {
            v if v.is_known() && !v.is_null() => v.clone(),
            _ => default,
        };
        Value::object([
            ("id", Value::from(id)),
            ("db_instance_identifier", Value::from(id)),
            ("instance_class", Value::opt_string(effective_class(instance))),
            ("apply_immediately", or_default("apply_immediately", Value::Bool(false))),
            ("on_destroy", or_default("on_destroy", Value::from("retain"))),
            ("multi_az", Value::Bool(instance.multi_az().unwrap_or(false))),
            ("status", Value::opt_string(instance.db_instance_status())),
            ("pending_instance_class", Value::opt_string(instance.pending_modified_values().and_then(|p| p.db_instance_class()))),
            ("original_instance_class", original),
            ("maintenance_window", Value::opt_string(instance.preferred_maintenance_window())),
            ("timeouts", settings.attr("timeouts").clone()),
        ])
    }

    /// Brings the instance to `class` as `ClassChange` says: now (waiting until RDS reports it,
    /// with no class left pending), in the maintenance window (recorded as pending), or by taking
    /// a pending class back. A busy instance is waited for first, within `max_wait`.
    async fn change_class(ctx: &Context, instance: &DbInstance, class: &str, now: bool, max_wait: Duration) -> Result<DbInstance, String> {
        let id = instance.db_instance_identifier().unwrap_or_default();
        let change = ClassChange::of(instance, class, now);
        if change == ClassChange::Nothing {
            return Ok(instance.clone());
        }
        let immediately = change.immediate();
        let rds = ctx.clients.rds().await.map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + max_wait;
        rds::modify_when_usable(ctx, id, max_wait, || {
            rds.modify_db_instance().db_instance_identifier(id).db_instance_class(class).apply_immediately(immediately)
        })
        .await
        .map_err(|e| e.to_string())?;
        let landed = |i: &DbInstance| {
            if immediately {
                i.db_instance_class() == Some(class) && i.pending_modified_values().and_then(|p| p.db_instance_class()).is_none()
            } else {
                effective_class(i) == Some(class)
            }
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        wait_available(ctx, id, left, landed).await.map_err(|e| e.to_string())
    }

    /// The state to report after a failure part-way: what RDS says now, else `known`, the last
    /// state read (never the plan: RDS may not have taken it).
    async fn current_state(ctx: &Context, id: &str, settings: &Value, known: &Value) -> Value {
        match ctx.clients.rds_instance(id).await {
            Ok(Some(i)) => Self::state_from(&i, settings),
            Ok(None) => Value::Null,
            Err(e) => {
                tracing::warn!(identifier = id, error = %e, "could not read the instance after a failure; keeping the last known state");
                known.clone()
            }
        }
    }

    /// Brings the instance to the planned class and reports the state; on a failure the
    /// diagnostics say why and the state is what RDS reports then, else `known`.
    async fn converge(
        ctx: &Context,
        id: &str,
        planned: &Value,
        settings: &Value,
        known: &Value,
        max_wait: Duration,
        diags: &mut Diagnostics,
    ) -> Value {
        let now = planned.attr("apply_immediately").as_bool() == Some(true);
        let want = planned.str_attr("instance_class");
        let instance = match ctx.clients.rds_instance(id).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                diags.error("The DB instance is gone", format!("{id} no longer exists."));
                return Value::Null;
            }
            Err(e) => {
                diags.error("Could not read the DB instance", e.to_string());
                return known.clone();
            }
        };
        if ClassChange::of(&instance, want, now) == ClassChange::Nothing {
            return Self::state_from(&instance, settings);
        }
        match Self::change_class(ctx, &instance, want, now, max_wait).await {
            Ok(i) => Self::state_from(&i, settings),
            Err(why) => {
                diags.error_at(AttributePath::of("instance_class"), format!("Could not change {id} to {want}"), why);
                Self::current_state(ctx, id, settings, known).await
            }
        }
    }
}

#[async_trait]
impl Resource<Clients> for DbInstanceClass {
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
                "The instance class of an existing RDS instance (made elsewhere, e.g. by aws_db_instance): vertical scaling. \
                 The plan says what a change costs (downtime on a Single-AZ instance, a failover on a Multi-AZ one) and when \
                 it happens (now, or in the named maintenance window); a deferred change shows as `pending_instance_class` \
                 with no diff planned again, and setting the class back to the one the instance runs cancels it. A change \
                 applied immediately makes RDS start every other pending modification too; the plan names them. An \
                 aws_db_instance that manages the same instance needs `lifecycle { ignore_changes = [instance_class] }`, or \
                 each resource undoes the other's class. On destroy the class is left as it is, or put back as it was when this resource \
                 adopted the instance (`on_destroy = \"restore\"`). Import with the instance's identifier.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("The DB instance identifier.").use_state_for_unknown())
            .attribute(
                Attribute::required("db_instance_identifier", Type::String)
                    .describe("Identifier of the existing DB instance whose class this resource owns.")
                    .validate(string_check(
                        "1 to 63 lowercase letters, digits or hyphens, starting with a letter, without a trailing or double hyphen",
                        identifier_problem,
                    ))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("instance_class", Type::String)
                    .describe("Instance class, e.g. `db.r6g.2xlarge` (the runbook's table: large, xlarge, 2xlarge, 4xlarge, 8xlarge).")
                    .validate(string_check("an RDS instance class (db.FAMILY.SIZE)", instance_class_problem)),
            )
            .attribute(
                Attribute::optional_computed("apply_immediately", Type::Bool)
                    .describe(
                        "Change the class during apply. Off by default: the change waits for the instance's maintenance window \
                         (`maintenance_window`). Turning it on while a change is pending sends that change now, and with it \
                         every other modification pending for the window (RDS applies them together).",
                    )
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::optional_computed("on_destroy", Type::String)
                    .describe(
                        "`retain`: leave the instance at its class. `restore`: put back `original_instance_class` (now or in the \
                         maintenance window, as `apply_immediately` says).",
                    )
                    .default(Value::from("retain"))
                    .validate(one_of(&["retain", "restore"])),
            )
            .attribute(computed("multi_az", Type::Bool, "Whether the instance has a standby: a class change is then a failover."))
            .attribute(computed("status", Type::String, "RDS status of the instance, e.g. `available` or `modifying`."))
            .attribute(computed(
                "pending_instance_class",
                Type::String,
                "The class a deferred change will apply in the next maintenance window, if any.",
            ))
            .attribute(
                computed("original_instance_class", Type::String, "The class the instance had when this resource adopted it.")
                    .use_state_for_unknown(),
            )
            .attribute(computed(
                "maintenance_window",
                Type::String,
                "The instance's weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` in UTC, when deferred changes land.",
            ))
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
        let now = resp.planned.attr("apply_immediately").as_bool() == Some(true);
        // Asked for now while RDS holds a change for the window: sent again, so a change.
        let pending_now = now && !prior.is_null() && !prior.attr("pending_instance_class").is_null();
        if !prior.is_null() && resp.planned.attr("instance_class") == prior.attr("instance_class") && !pending_now {
            // Nothing moves: what RDS reports stays as it is.
            for attr in ["status", "pending_instance_class", "multi_az", "maintenance_window"] {
                resp.planned.set_attr(attr, prior.attr(attr).clone());
            }
            return;
        }
        let (Some(ctx), Some(id)) = (ctx, resp.planned.attr("db_instance_identifier").as_str()) else { return };
        // What the change costs depends on the instance as it is: its class now (a pending
        // change is not there yet), Multi-AZ, and its maintenance window.
        let instance = match ctx.clients.rds_instance(id).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                super::adopt::missing_at_plan(
                    &mut resp.diagnostics,
                    AttributePath::of("db_instance_identifier"),
                    "No such DB instance yet",
                    format!(
                        "DB instance {id} does not exist in {}. This resource changes the class of an existing instance \
                         (made by aws_db_instance, say); if the instance is gone for good, remove this resource from the \
                         configuration.",
                        ctx.clients.region_name().await
                    ),
                );
                return;
            }
            Err(e) => {
                resp.diagnostics.error("Could not read the DB instance", e.to_string());
                return;
            }
        };
        let Some(to) = resp.planned.attr("instance_class").as_str() else { return };
        let change = ClassChange::of(&instance, to, now);
        let class_path = AttributePath::of("instance_class");
        let cost =
            |from: &str, now: bool| change_cost(id, from, to, Availability::of(&instance), now, instance.preferred_maintenance_window());
        match change {
            ClassChange::Nothing => {}
            ClassChange::Move { from, now } => {
                let (summary, detail) = cost(from, now);
                resp.diagnostics.warning_at(class_path.clone(), summary, detail);
            }
            ClassChange::PendingNow { from } => {
                let (summary, detail) = cost(from, true);
                resp.diagnostics.warning_at(class_path.clone(), summary, detail);
            }
            ClassChange::CancelPending { pending } => resp.diagnostics.warning_at(
                class_path.clone(),
                format!("Cancels the pending change to {pending}"),
                format!(
                    "{id} runs {to}, and RDS holds a change to {pending} for its maintenance window: this apply takes that \
                     change back, so {id} stays {to}, with no restart for the class. RDS takes a pending change back only \
                     with a modification applied immediately, so this apply sends one whatever apply_immediately says."
                ),
            ),
        }
        if let Some((summary, detail)) = also_started(id, &started_with_it(&instance, &change)) {
            resp.diagnostics.warning_at(class_path, summary, detail);
        } else if matches!(change, ClassChange::Move { now: false, .. }) {
            // Deferred: nothing else starts now, but the window applies these with it.
            let others = rds::pending_besides_class(&instance);
            if !others.is_empty() {
                resp.diagnostics.warning_at(
                    class_path,
                    "Other changes are pending for the same maintenance window",
                    format!(
                        "{id} also holds, for its maintenance window, modifications this resource did not make: {}. They \
                         land in the same window as the class.",
                        others.join("; ")
                    ),
                );
            }
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        let id = req.planned.str_attr("db_instance_identifier").to_string();
        if super::aws_configured(ctx.clients.rds().await, &mut resp.diagnostics).is_none() {
            return;
        }
        // Adopt: record the instance as it is, its original class included, before any change.
        let adopted = match ctx.clients.rds_instance(&id).await {
            Ok(Some(i)) if i.db_instance_status() != Some("deleting") => Self::state_from(&i, req.planned),
            Ok(_) => {
                resp.diagnostics.error_at(
                    AttributePath::of("db_instance_identifier"),
                    "No such DB instance",
                    format!("DB instance {id} does not exist (or is being deleted); create it first."),
                );
                return;
            }
            Err(e) => {
                resp.diagnostics.error("Could not read the DB instance", e.to_string());
                return;
            }
        };
        resp.state = adopted.clone();
        let mut settings = req.planned.clone();
        settings.set_attr("original_instance_class", adopted.attr("original_instance_class").clone());
        let mut diags = Diagnostics::new();
        let now = Self::converge(ctx, &id, req.planned, &settings, &adopted, req.timeout, &mut diags).await;
        // Nothing moved: not recorded; moved or moving: recorded untainted (see adopt).
        const SHAPE: &[&str] = &["instance_class", "pending_instance_class", "status"];
        resp.state = super::adopt::failed_change_on_create(&adopted, now, SHAPE, diags, &mut resp.diagnostics);
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let id = req.state.str_attr("db_instance_identifier");
        match ctx.clients.rds_instance_in_refresh(id).await {
            Ok(Some(i)) if i.db_instance_status() == Some("deleting") => resp.state = Value::Null,
            Ok(Some(i)) => resp.state = Self::state_from(&i, req.state),
            Ok(None) => {
                tracing::info!(identifier = id, "DB instance no longer exists; removing its class from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the DB instance", e.to_string()),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        let id = req.prior.str_attr("db_instance_identifier").to_string();
        if super::aws_configured(ctx.clients.rds().await, &mut resp.diagnostics).is_none() {
            return;
        }
        let mut settings = req.planned.clone();
        settings.set_attr("original_instance_class", req.prior.attr("original_instance_class").clone());
        resp.state = Self::converge(ctx, &id, req.planned, &settings, req.prior, req.timeout, &mut resp.diagnostics).await;
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        let prior = req.prior;
        if prior.attr("on_destroy").as_str() != Some("restore") {
            return;
        }
        let id = prior.str_attr("db_instance_identifier");
        let Some(original) = prior.attr("original_instance_class").as_str() else { return };
        let instance = match ctx.clients.rds_instance(id).await {
            Ok(Some(i)) if i.db_instance_status() != Some("deleting") => i,
            Ok(_) => return,
            Err(e) => {
                resp.diagnostics.error("Could not read the DB instance", e.to_string());
                return;
            }
        };
        let now = prior.attr("apply_immediately").as_bool() == Some(true);
        // Destroy plans do not reach this provider on Terraform before 1.3's plan_destroy, so
        // what the restore starts besides the class can only be said here.
        if let Some((summary, detail)) = also_started(id, &started_with_it(&instance, &ClassChange::of(&instance, original, now))) {
            resp.diagnostics.warning(summary, detail);
        }
        if let Err(why) = Self::change_class(ctx, &instance, original, now, req.timeout).await {
            resp.diagnostics.error(format!("Could not restore {id} to {original}"), why);
        }
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if let Err(why) = identifier_problem(id) {
            diags.error(
                "Invalid import ID",
                format!("Import a scaling_db_instance_class by its DB instance identifier (e.g. skillancer-production); {id:?} {why}."),
            );
            return None;
        }
        Some(Value::object([("id", Value::from(id)), ("db_instance_identifier", Value::from(id))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_names_downtime_or_failover_and_when() {
        let (summary, detail) =
            change_cost("db", "db.r6g.xlarge", "db.r6g.2xlarge", Availability::SingleAz, false, Some("sun:05:00-sun:05:30"));
        assert_eq!(summary, "Class change in the maintenance window: downtime");
        assert!(detail.contains("5 to 10 minutes") && detail.contains("sun:05:00-sun:05:30 UTC"), "{detail}");
        let (summary, detail) = change_cost("db", "db.r6g.xlarge", "db.r6g.2xlarge", Availability::MultiAz, true, None);
        assert_eq!(summary, "Class change now: a Multi-AZ failover");
        assert!(detail.contains("fails over") && detail.contains("during this apply"), "{detail}");
        // Aurora reports MultiAZ false: no advice to turn Multi-AZ on.
        let (summary, detail) = change_cost("db", "db.r6g.xlarge", "db.r6g.2xlarge", Availability::Aurora, true, None);
        assert_eq!(summary, "Class change now: the Aurora instance restarts");
        assert!(detail.contains("reader") && !detail.contains("enable Multi-AZ"), "{detail}");
    }
}
