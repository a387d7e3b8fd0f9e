//! `scaling_connection_pool`: the runbook's "Connection Pool Scaling" (PgBouncer), instead of
//! `kubectl edit configmap pgbouncer-config` and `kubectl rollout restart deployment/pgbouncer`.
//! It owns chosen settings of the `[pgbouncer]` section in one key of an existing ConfigMap,
//! rewriting only their lines (`ini.rs`) with server-side apply, then restarts the consumer as
//! `kubectl rollout restart` does and, optionally, waits for the rollout as `kubectl rollout
//! status` does.
//!
//! Import ID: `namespace/config_map`, or `namespace/config_map/deployment` naming the Deployment
//! it restarts (the key `pgbouncer.ini`; its integer settings become owned).

mod ini;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use scaling_schema::validator::string_check;
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};
use serde_json::Value as Json;

use super::Context;
use crate::clients::Clients;
use crate::error_chain::clause;
use crate::framework::wait::{Acceptor, Waiter};
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use crate::kube::apply::{apply, ownership, FIELD_MANAGER};
use crate::kube::error as kube_error;
use crate::kube::names::{dns_label_problem, dns_subdomain_problem};

pub struct ConnectionPool;

const TYPE_NAME: &str = "scaling_connection_pool";
const DEFAULT_KEY: &str = "pgbouncer.ini";
/// What `kubectl rollout restart` sets on the pod template; a new value rolls the pods.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// The PgBouncer settings this resource can own: integers, with the range each takes (PgBouncer's
/// configuration reference: 0 means "no limit" where a limit may be 0).
const SETTINGS: &[(&str, i64, i64, &str)] = &[
    ("max_client_conn", 1, 1_000_000, "client connections allowed (bounded by the process's file descriptors)"),
    ("default_pool_size", 1, 10_000, "server connections per user/database pair"),
    ("min_pool_size", 0, 10_000, "server connections kept open when idle"),
    ("reserve_pool_size", 0, 10_000, "extra connections allowed when a pool waits too long"),
    ("max_db_connections", 0, 100_000, "server connections per database (0: no limit)"),
    ("max_user_connections", 0, 100_000, "server connections per user (0: no limit)"),
    ("max_prepared_statements", 0, 100_000, "prepared statements tracked per server connection (0: off)"),
];

fn setting_range(name: &str) -> Option<(i64, i64)> {
    SETTINGS.iter().find(|(n, ..)| *n == name).map(|(_, low, high, _)| (*low, *high))
}

/// The owned settings as the file writes them.
fn wanted(settings: &Value) -> BTreeMap<String, String> {
    settings.entries().into_iter().flatten().filter_map(|(name, v)| Some((name.clone(), v.as_i64()?.to_string()))).collect()
}

/// The settings of `owned` that the file holds, as numbers; one that is missing or not an
/// integer is left out, so the plan shows it being set again.
fn owned_settings(text: &str, owned: impl Iterator<Item = String>) -> Value {
    let found = ini::settings(text).unwrap_or_default();
    let map = owned.filter_map(|name| Some((name.clone(), Value::int(found.get(&name)?.parse::<i64>().ok()?)))).collect();
    Value::Map(map)
}

/// The settings PgBouncer serves after this apply: `settings` over what it served before. A
/// dropped setting's line stays in the file as it was, so the pods still serve it: kept here, a
/// setting re-added with that value owes no restart.
fn served(restarted_before: &Value, settings: &Value) -> Value {
    let mut served = restarted_before.entries().cloned().unwrap_or_default();
    served.extend(settings.entries().into_iter().flatten().map(|(name, value)| (name.clone(), value.clone())));
    Value::Map(served)
}

/// Whether a restart is owed: some setting has a value PgBouncer was not restarted with (a
/// restart that failed or was interrupted). Dropping a setting owes none.
fn restart_owed(settings: &Value, restarted_with: &Value) -> bool {
    let restarted = restarted_with.entries();
    settings.entries().into_iter().flatten().any(|(name, value)| restarted.and_then(|r| r.get(name)) != Some(value))
}

fn paused_problem(namespace: &str, deployment: &str) -> String {
    format!(
        "Deployment {namespace}/{deployment} is paused (spec.paused), and a paused Deployment does not roll out: kubectl \
         rollout restart refuses it too (\"can't restart paused deployment\"). Resume it (kubectl rollout resume \
         deployment/{deployment} -n {namespace}) or leave restart_deployment out"
    )
}

/// The longest field manager the API server takes.
const MAX_FIELD_MANAGER: usize = 128;

/// The field manager a resource made before managers were its own wrote `key` with, shared by
/// every workspace writing that key (so two of them never saw each other): kept for those
/// resources, whose state has no `field_manager`, and for imports.
fn shared_manager(key: &str) -> String {
    manager_name(key, "")
}

/// A field manager for a new resource writing `key`: one per key, since server-side apply
/// drops the fields a manager applied before and leaves out now (another pool's key in the
/// same ConfigMap), and one per resource, so that another workspace's resource on the same key
/// is another manager, whose key apply refuses to take unless forced.
fn new_manager(key: &str) -> String {
    use ring::rand::SecureRandom;
    let mut tag = [0u8; 4];
    // The system's randomness failing leaves zeros: still a manager of its own per key.
    let _ = ring::rand::SystemRandom::new().fill(&mut tag);
    manager_name(key, &format!("/{}", tag.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// The manager this resource writes with: its recorded one, else the shared one of old.
fn manager_of(resource: &Value) -> String {
    match resource.attr("field_manager").as_str() {
        Some(manager) => manager.to_string(),
        None => shared_manager(resource.str_attr("key")),
    }
}

/// `terraform-provider-scaling/KEY` and `suffix`, within the API server's 128 characters for a
/// manager: a key may run to 253, and a long one keeps its start and ends in a digest of the
/// whole key, so the name stays one per key.
fn manager_name(key: &str, suffix: &str) -> String {
    let whole = format!("{FIELD_MANAGER}/{key}{suffix}");
    if whole.len() <= MAX_FIELD_MANAGER {
        return whole;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let tag: String = digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    // Keys are ASCII ([-._a-zA-Z0-9]), so any byte length is a character boundary.
    let room = MAX_FIELD_MANAGER - FIELD_MANAGER.len() - 1 - 1 - tag.len() - suffix.len();
    format!("{FIELD_MANAGER}/{}~{tag}{suffix}", &key[..room.min(key.len())])
}

fn config_maps(client: &kube::Client, namespace: &str) -> Api<ConfigMap> {
    Api::namespaced(client.clone(), namespace)
}

fn deployments(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "deployments"))
}

impl ConnectionPool {
    fn timeouts() -> Timeouts {
        // Writing the file is quick; a rollout of PgBouncer pods takes as long as their readiness.
        Timeouts { create: Duration::from_secs(10 * 60), update: Duration::from_secs(10 * 60), delete: Duration::from_secs(5 * 60) }
    }

    /// The ConfigMap's text under `key`, with the ConfigMap's resource version; None when the
    /// ConfigMap is gone. A key that is missing is an error saying which keys there are.
    async fn text(ctx: &Context, namespace: &str, name: &str, key: &str) -> Result<Option<(String, Option<String>)>, String> {
        let (client, apis) = ctx.clients.kube().await?;
        let found = config_maps(client, namespace)
            .get_opt(name)
            .await
            .map_err(|e| kube_error::describe(&format!("reading ConfigMap {namespace}/{name}"), &e, &apis.server))?;
        let Some(cm) = found else { return Ok(None) };
        let data = cm.data.unwrap_or_default();
        match data.get(key) {
            Some(text) => Ok(Some((text.clone(), cm.metadata.resource_version))),
            None => Err(format!(
                "ConfigMap {namespace}/{name} has no key {key:?} (it has: {}). Set key to the one holding the PgBouncer ini file.",
                if data.is_empty() { "none".to_string() } else { data.keys().cloned().collect::<Vec<_>>().join(", ") }
            )),
        }
    }

    /// State from the file's text: the owned settings (those `resource` names) as it holds them,
    /// and the last restart (`restarted_at`, `restarted_settings`) as `restart` says.
    fn state_from(text: &str, resource: &Value, restart: &Value) -> Value {
        let owned = resource.attr("settings").entries().into_iter().flatten().map(|(name, _)| name.clone());
        let mut state = Self::with_restart(resource, restart);
        state.set_attr("id", Value::from(format!("{}/{}", resource.str_attr("namespace"), resource.str_attr("config_map")).as_str()));
        state.set_attr("settings", owned_settings(text, owned));
        state
    }

    fn with_restart(resource: &Value, restart: &Value) -> Value {
        let mut state = resource.clone();
        for attr in ["restarted_at", "restarted_settings"] {
            state.set_attr(attr, restart.attr(attr).clone());
        }
        state
    }

    /// The manifest that writes `text` as `key` of the ConfigMap, conditional on `version`.
    fn manifest(planned: &Value, text: &str, version: Option<&str>) -> serde_json::Value {
        let (namespace, name, key) = (planned.str_attr("namespace"), planned.str_attr("config_map"), planned.str_attr("key"));
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": version},
            "data": {key: text},
        })
    }

    /// Names in the plan another field manager's ownership of the key (Helm, Argo CD, a
    /// client-side `kubectl apply`), found by a dry-run apply of the write, so the plan says
    /// what apply will refuse, or take with force_conflicts. A warning, not an error: a
    /// `terraform destroy` plans the configuration first (Terraform 1.0), and nothing must
    /// block it.
    async fn plan_takeover(ctx: &Context, planned: &Value, text: &str, version: Option<&str>, diags: &mut Diagnostics) {
        let (namespace, name, key) = (planned.str_attr("namespace"), planned.str_attr("config_map"), planned.str_attr("key"));
        let Ok((client, _)) = ctx.clients.kube().await else { return };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ApiResource::erase::<ConfigMap>(&()));
        // A resource being created has no manager yet: any name of its own meets another
        // resource's ownership the same way.
        let manager = if planned.attr("field_manager").is_known() { manager_of(planned) } else { manager_name(key, "/plan") };
        let dry_run = PatchParams::apply(&manager).dry_run();
        let found = match api.patch(name, &dry_run, &Patch::Apply(&Self::manifest(planned, text, version))).await {
            Ok(_) => return,
            Err(e) => match ownership::conflicts(&e, &manager) {
                Some(found) => found,
                None => {
                    tracing::debug!(error = %e, "dry-run apply at plan time failed; apply reports it");
                    return;
                }
            },
        };
        let declared: Vec<_> = found.into_iter().filter(|c| c.declarative).collect();
        if declared.is_empty() {
            // Only hand edits (kubectl edit): apply takes them back, as the plan's diff shows.
            return;
        }
        let object = format!("key {key:?} of ConfigMap {namespace}/{name}");
        if planned.attr("force_conflicts").as_bool() == Some(true) {
            diags.warning_at(
                AttributePath::of("force_conflicts"),
                "Apply takes over a key another manager declares",
                format!(
                    "{object}: {}. force_conflicts = true, so apply takes it; unless that tool stops setting it, it will set \
                     it back, and PgBouncer restarts each time the two overwrite each other.",
                    ownership::describe(&declared)
                ),
            );
        } else {
            diags.warning_at(
                AttributePath::of("force_conflicts"),
                "Apply will refuse: the key is owned by another field manager",
                format!(
                    "{object}: {}. Another tool writes this key; apply stops without writing. Stop managing it in one place, \
                     or set force_conflicts = true to take it over.",
                    ownership::describe(&declared)
                ),
            );
        }
    }

    /// Writes the owned settings into the file when they differ from it; true when it was
    /// written. A concurrent writer (the resource version moved) makes it start again from a
    /// fresh read.
    async fn write_settings(ctx: &Context, planned: &Value) -> Result<bool, String> {
        let (namespace, name, key) = (planned.str_attr("namespace"), planned.str_attr("config_map"), planned.str_attr("key"));
        let force = planned.attr("force_conflicts").as_bool() == Some(true);
        let (client, apis) = ctx.clients.kube().await?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ApiResource::erase::<ConfigMap>(&()));
        for _ in 0..5 {
            let (text, version) =
                Self::text(ctx, namespace, name, key).await?.ok_or_else(|| format!("ConfigMap {namespace}/{name} does not exist"))?;
            let new_text = ini::rewrite(&text, &wanted(planned.attr("settings")))
                .map_err(|e| format!("the {key:?} of ConfigMap {namespace}/{name} is not a PgBouncer config: {e}"))?;
            if new_text == text {
                return Ok(false);
            }
            // The resource version makes the write conditional on the text it was made from.
            let manifest = Self::manifest(planned, &new_text, version.as_deref());
            let action = format!("writing {key} of ConfigMap {namespace}/{name}");
            match apply(&manager_of(planned), &api, name, &manifest, force, &action, &apis.server).await {
                Ok(_) => return Ok(true),
                Err(e) if e.contains("(HTTP 409)") && e.contains("the object has been modified") => {
                    tracing::info!(namespace, config_map = name, "the ConfigMap changed under us; reading it again");
                }
                Err(e) => return Err(e),
            }
        }
        Err(format!("ConfigMap {namespace}/{name} kept changing while it was being written; try again"))
    }

    /// Whether Deployment `deployment` is paused (`spec.paused`); None when it does not exist.
    async fn paused(ctx: &Context, namespace: &str, deployment: &str) -> Result<Option<bool>, String> {
        let (client, apis) = ctx.clients.kube().await?;
        let found = deployments(client, namespace)
            .get_opt(deployment)
            .await
            .map_err(|e| kube_error::describe(&format!("reading Deployment {namespace}/{deployment}"), &e, &apis.server))?;
        Ok(found.map(|d| d.data["spec"]["paused"].as_bool() == Some(true)))
    }

    /// `kubectl rollout restart`: a new restartedAt on the Deployment's pod template. Returns
    /// the value set.
    async fn restart(ctx: &Context, namespace: &str, deployment: &str) -> Result<String, String> {
        // As `kubectl rollout restart` refuses: a paused Deployment's pods would never roll, so
        // a wait for the rollout would only time out.
        if Self::paused(ctx, namespace, deployment).await? == Some(true) {
            return Err(paused_problem(namespace, deployment));
        }
        let (client, apis) = ctx.clients.kube().await?;
        let now = jiff::Timestamp::now().round(jiff::Unit::Second).map_err(|e| e.to_string())?.to_string();
        let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
        deployments(client, namespace)
            .patch(deployment, &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| kube_error::describe(&format!("restarting Deployment {namespace}/{deployment}"), &e, &apis.server))?;
        Ok(now)
    }

    /// `kubectl rollout status`: until the controller has seen the change and every replica is
    /// updated and available, with no old ones left; a rollout past its progress deadline fails.
    async fn wait_for_rollout(ctx: &Context, namespace: &str, deployment: &str, max_wait: Duration) -> Result<(), String> {
        let (client, apis) = ctx.clients.kube().await?;
        let api = deployments(client, namespace);
        Waiter::new(max_wait)
            .with_delays(Duration::from_millis(500), Duration::from_secs(10))
            .wait(&format!("the rollout of Deployment {namespace}/{deployment}"), &ctx.stop, || async {
                let found = api
                    .get_opt(deployment)
                    .await
                    .map_err(|e| kube_error::describe(&format!("reading Deployment {namespace}/{deployment}"), &e, &apis.server))?;
                let Some(d) = found else { return Ok::<_, String>(Acceptor::Failure("the Deployment no longer exists".into())) };
                Ok(rollout_progress(&serde_json::to_value(d).unwrap_or_default()))
            })
            .await
            .map_err(|e| e.to_string())
    }

    /// Writes, restarts and waits as planned; the state reports what the file holds then. A
    /// restart owed from before (it failed or was interrupted) is made even when the file is
    /// already as wanted.
    async fn converge(ctx: &Context, planned: &Value, prior: &Value, timeout: Duration, diags: &mut Diagnostics) -> Value {
        let mut planned = planned.clone();
        if !planned.attr("field_manager").is_known() {
            planned.set_attr("field_manager", Value::from(new_manager(planned.str_attr("key")).as_str()));
        }
        let planned = &planned;
        let (namespace, name, key) = (planned.str_attr("namespace"), planned.str_attr("config_map"), planned.str_attr("key"));
        let settings = planned.attr("settings");
        let mut restart = Value::object([
            ("restarted_at", prior.attr("restarted_at").clone()),
            ("restarted_settings", prior.attr("restarted_settings").clone()),
        ]);
        let written = match Self::write_settings(ctx, planned).await {
            Ok(written) => written,
            Err(e) => {
                diags.error_at(AttributePath::of("settings"), "Could not write the PgBouncer settings", e);
                return prior.clone();
            }
        };
        let owed = !prior.is_null() && restart_owed(settings, prior.attr("restarted_settings"));
        match planned.attr("restart_deployment").as_str() {
            Some(deployment) if written || owed => match Self::restart(ctx, namespace, deployment).await {
                Ok(at) => {
                    restart.set_attr("restarted_at", Value::from(at.as_str()));
                    restart.set_attr("restarted_settings", served(prior.attr("restarted_settings"), settings));
                    if planned.attr("wait_for_rollout").as_bool() == Some(true) {
                        if let Err(e) = Self::wait_for_rollout(ctx, namespace, deployment, timeout).await {
                            diags.error_at(AttributePath::of("wait_for_rollout"), "The rollout did not finish", e);
                        }
                    }
                }
                // On create an error would taint the resource, and its replacement would find the
                // file as wanted and owe nothing: a warning keeps the restart owed instead.
                Err(e) if prior.is_null() => diags.warning_at(
                    AttributePath::of("restart_deployment"),
                    "The settings were written but PgBouncer was not restarted",
                    format!(
                        "{}. The next plan shows the restart as owed; until then the new settings wait for its pods to restart.",
                        clause(&e)
                    ),
                ),
                Err(e) => diags.error_at(
                    AttributePath::of("restart_deployment"),
                    "The settings were written but PgBouncer was not restarted",
                    format!("{}. The next apply restarts it; until then the new settings wait for its pods to restart.", clause(&e)),
                ),
            },
            // Nothing to roll out (the file already held these), or nothing to restart.
            _ => restart.set_attr("restarted_settings", served(prior.attr("restarted_settings"), settings)),
        }
        match Self::text(ctx, namespace, name, key).await {
            Ok(Some((text, _))) => Self::state_from(&text, planned, &restart),
            Ok(None) => {
                diags.error("The ConfigMap is gone", format!("ConfigMap {namespace}/{name} was deleted during the apply."));
                Value::Null
            }
            // Not read back (stopped by Terraform, say): what was written is what was planned.
            Err(e) => {
                diags.error("Could not read the ConfigMap back", e);
                Self::with_restart(planned, &restart)
            }
        }
    }
}

/// Where a rollout is, read as `kubectl rollout status` reads a Deployment (as JSON, the same
/// under every apps/v1 the cluster may serve).
fn rollout_progress(d: &Json) -> Acceptor<()> {
    let (status, int) = (&d["status"], |v: &Json| v.as_i64().unwrap_or(0));
    if int(&d["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Acceptor::Retry("waiting for the Deployment's change to be observed".into());
    }
    let conditions = status["conditions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if conditions.iter().any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded") {
        return Acceptor::Failure("the rollout exceeded its progress deadline".into());
    }
    let wanted = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (updated, replicas, available) = (int(&status["updatedReplicas"]), int(&status["replicas"]), int(&status["availableReplicas"]));
    if updated < wanted {
        Acceptor::Retry(format!("{updated} of {wanted} new replicas updated"))
    } else if replicas > updated {
        Acceptor::Retry(format!("{} old replicas pending termination", replicas - updated))
    } else if available < updated {
        Acceptor::Retry(format!("{available} of {updated} updated replicas available"))
    } else {
        Acceptor::Success(())
    }
}

#[async_trait]
impl Resource<Clients> for ConnectionPool {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Self::timeouts()
    }

    fn schema(&self) -> Schema {
        let listed: Vec<String> = SETTINGS.iter().map(|(name, low, high, what)| format!("`{name}` ({low} to {high}): {what}")).collect();
        Schema {
            version: 0,
            block: Block::new(
                "Chosen PgBouncer settings in one key of an existing ConfigMap (the runbook's \"Connection Pool Scaling\"): \
                 only their lines of the `[pgbouncer]` section are rewritten, every other line and comment is kept, and the \
                 ConfigMap is written with server-side apply. When the file changes, the consumer is restarted as `kubectl \
                 rollout restart` does, and the apply waits for the rollout as `kubectl rollout status` does. Removing a \
                 setting from `settings`, or destroying the resource, leaves its line as it is. Import with \
                 `namespace/config_map`, or `namespace/config_map/deployment` to name the Deployment it restarts.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("`namespace/config_map`.").use_state_for_unknown())
            .attribute(
                Attribute::required("namespace", Type::String)
                    .describe("Namespace of the ConfigMap (and of the Deployment to restart).")
                    .validate(string_check("a DNS-1123 label", dns_label_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("config_map", Type::String)
                    .describe("Name of the existing ConfigMap, e.g. `pgbouncer-config`.")
                    .validate(string_check("a DNS-1123 subdomain", dns_subdomain_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::optional_computed("key", Type::String)
                    .describe("The ConfigMap key holding the PgBouncer ini file.")
                    .default(Value::from(DEFAULT_KEY))
                    .validate(string_check("a ConfigMap key", config_map_key_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("settings", Type::map(Type::Number))
                    .describe(&format!("The `[pgbouncer]` settings this resource owns, by name: {}.", listed.join("; "))),
            )
            .attribute(
                Attribute::optional("restart_deployment", Type::String)
                    .describe("Deployment (same namespace) to restart when the file changes, e.g. `pgbouncer`.")
                    .validate(string_check("a DNS-1123 subdomain", dns_subdomain_problem)),
            )
            .attribute(
                Attribute::optional_computed("wait_for_rollout", Type::Bool)
                    .describe("After a restart, wait until every replica is updated and available (`kubectl rollout status`).")
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed("force_conflicts", Type::Bool)
                    .describe(
                        "Take over the key when another tool manages it (Helm, Argo CD, another workspace). Off by default: \
                         a hand edit (`kubectl edit`) is taken back, another tool's ownership is an error.",
                    )
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::computed("restarted_at", Type::String)
                    .describe("The `kubectl.kubernetes.io/restartedAt` this resource last set on the Deployment's pods.")
                    .use_state_for_unknown(),
            )
            .attribute(
                Attribute::computed("field_manager", Type::String)
                    .describe(
                        "The server-side apply field manager this resource writes its key with, its own: another workspace's \
                         resource on the same key is another manager, and apply refuses to take the key from it unless \
                         `force_conflicts`. Resources made before it was recorded, and imports, write as \
                         `terraform-provider-scaling/KEY`.",
                    )
                    .use_state_for_unknown(),
            )
            .attribute(Attribute::computed("restarted_settings", Type::map(Type::Number)).describe(
                "The settings PgBouncer runs with since the last restart (or that it read at start, when none was needed). A \
                 restart that failed or was interrupted leaves them behind `settings`, and the next apply restarts again.",
            ))
            .block(Self::timeouts().block()),
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Some(settings) = config.attr("settings").entries() else { return };
        for (name, value) in settings {
            let path = AttributePath::of("settings").key(name);
            let Some((low, high)) = setting_range(name) else {
                let known: Vec<&str> = SETTINGS.iter().map(|(n, ..)| *n).collect();
                diags.error_at(path, "Unknown PgBouncer setting", format!("{name:?} is not one of {}.", known.join(", ")));
                continue;
            };
            if !value.is_known() {
                continue;
            }
            match value.as_i64() {
                Some(n) if (low..=high).contains(&n) => {}
                _ => diags.error_at(path, "Invalid PgBouncer setting", format!("{name} must be an integer between {low} and {high}.")),
            }
        }
        let size = |name: &str| settings.get(name).and_then(Value::as_i64);
        if let (Some(min), Some(pool)) = (size("min_pool_size"), size("default_pool_size")) {
            if min > pool {
                diags.error_at(
                    AttributePath::of("settings").key("min_pool_size"),
                    "Minimum pool above the pool size",
                    format!("min_pool_size {min} is greater than default_pool_size {pool}."),
                );
            }
        }
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        let prior = req.prior;
        let planned = resp.planned.clone();
        let owed = !prior.is_null()
            && !planned.attr("restart_deployment").is_null()
            && restart_owed(planned.attr("settings"), prior.attr("restarted_settings"));
        if !prior.is_null() && planned.attr("settings") == prior.attr("settings") && !owed {
            for attr in ["restarted_at", "restarted_settings"] {
                resp.planned.set_attr(attr, prior.attr(attr).clone());
            }
            return;
        }
        let (Some(namespace), Some(name), Some(key)) =
            (planned.attr("namespace").as_str(), planned.attr("config_map").as_str(), planned.attr("key").as_str())
        else {
            return;
        };
        // What the file holds now decides whether anything is written (and restarted).
        let Some(ctx) = ctx else { return };
        let (text, version) = match Self::text(ctx, namespace, name, key).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let object = format!("ConfigMap {name}");
                if super::namespace_missing_at_plan(ctx, namespace, &object, &mut resp.diagnostics).await {
                    return;
                }
                super::adopt::missing_at_plan(
                    &mut resp.diagnostics,
                    AttributePath::of("config_map"),
                    "No such ConfigMap yet",
                    format!(
                        "ConfigMap {namespace}/{name} does not exist. This resource edits the PgBouncer settings of an existing \
                         ConfigMap (made with the rest of PgBouncer's manifests)."
                    ),
                );
                return;
            }
            Err(e) => {
                resp.diagnostics.error_at(AttributePath::of("key"), "Cannot read the PgBouncer config", e);
                return;
            }
        };
        let rewritten = match ini::rewrite(&text, &wanted(planned.attr("settings"))) {
            Ok(rewritten) => rewritten,
            Err(e) => {
                resp.diagnostics.error_at(
                    AttributePath::of("key"),
                    "Not a PgBouncer config",
                    format!("The {key:?} of ConfigMap {namespace}/{name} is not a PgBouncer config: {}.", clause(&e.to_string())),
                );
                return;
            }
        };
        let writes = rewritten != text;
        if writes {
            Self::plan_takeover(ctx, &planned, &rewritten, version.as_deref(), &mut resp.diagnostics).await;
        }
        resp.planned.set_attr("restarted_settings", Value::Unknown);
        match planned.attr("restart_deployment").as_str() {
            Some(deployment) if writes || owed => {
                match Self::paused(ctx, namespace, deployment).await {
                    Ok(Some(true)) => {
                        resp.diagnostics.error_at(
                            AttributePath::of("restart_deployment"),
                            "The Deployment is paused",
                            format!("{}.", paused_problem(namespace, deployment)),
                        );
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        resp.diagnostics.error_at(AttributePath::of("restart_deployment"), "Cannot read the Deployment", e);
                        return;
                    }
                }
                resp.planned.set_attr("restarted_at", Value::Unknown);
                let why = if writes { "The new settings take effect" } else { "A restart owed from an earlier apply is made:" };
                resp.diagnostics.warning_at(
                    AttributePath::of("settings"),
                    "PgBouncer restarts",
                    format!(
                        "{why} through a rolling restart of Deployment {namespace}/{deployment}: each PgBouncer pod drops its \
                         client connections when it stops."
                    ),
                );
            }
            None if writes => resp.diagnostics.warning_at(
                AttributePath::of("restart_deployment"),
                "No restart: the settings wait",
                "PgBouncer reads its ini file when it starts (or on RELOAD): without restart_deployment the new settings take \
                 effect only when its pods next restart.",
            ),
            _ => resp.planned.set_attr("restarted_at", prior.attr("restarted_at").clone()),
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        resp.state = Self::converge(ctx, req.planned, &Value::Null, req.timeout, &mut resp.diagnostics).await;
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let state = req.state;
        let (namespace, name, key) = (state.str_attr("namespace"), state.str_attr("config_map"), state.str_attr("key"));
        let key = if key.is_empty() { DEFAULT_KEY } else { key };
        match Self::text(ctx, namespace, name, key).await {
            Ok(Some((text, _))) => {
                let mut settings = state.clone();
                settings.set_attr("key", Value::from(key));
                if settings.attr("settings").is_null() {
                    // An import: the integer settings the file holds, each of them owned from now on.
                    let found = ini::settings(&text).unwrap_or_default();
                    let owned = found.into_keys().filter(|n| setting_range(n).is_some()).map(|n| (n, Value::int(0))).collect();
                    settings.set_attr("settings", Value::Map(owned));
                    for (attr, default) in [("wait_for_rollout", Value::Bool(true)), ("force_conflicts", Value::Bool(false))] {
                        if settings.attr(attr).is_null() {
                            settings.set_attr(attr, default);
                        }
                    }
                }
                let mut restart = state.clone();
                if state.attr("settings").is_null() {
                    // Imported: the pods are taken to run what the file holds.
                    let owned = settings.attr("settings").entries().into_iter().flatten().map(|(n, _)| n.clone());
                    restart.set_attr("restarted_settings", owned_settings(&text, owned));
                }
                resp.state = Self::state_from(&text, &settings, &restart);
            }
            Ok(None) => {
                tracing::info!(namespace, config_map = name, "ConfigMap no longer exists; removing the connection pool from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the PgBouncer config", e),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        resp.state = Self::converge(ctx, req.planned, req.prior, req.timeout, &mut resp.diagnostics).await;
    }

    async fn delete(&self, _ctx: &Context, _req: DeleteRequest<'_>, _resp: &mut DeleteResponse) {
        // The lines stay as they are: PgBouncer keeps running with them.
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let parts: Vec<&str> = id.split('/').collect();
        let valid = matches!(parts.len(), 2 | 3)
            && dns_label_problem(parts[0]).is_ok()
            && parts[1..].iter().all(|p| dns_subdomain_problem(p).is_ok());
        if !valid {
            diags.error(
                "Invalid import ID",
                format!(
                    "Import a scaling_connection_pool as NAMESPACE/CONFIG_MAP, or NAMESPACE/CONFIG_MAP/DEPLOYMENT with the \
                     Deployment it restarts (e.g. production/pgbouncer-config/pgbouncer), not {id:?}."
                ),
            );
            return None;
        }
        Some(Value::object([
            ("id", Value::from(format!("{}/{}", parts[0], parts[1]).as_str())),
            ("namespace", Value::from(parts[0])),
            ("config_map", Value::from(parts[1])),
            ("key", Value::from(DEFAULT_KEY)),
            ("restart_deployment", Value::opt_string(parts.get(2).copied())),
        ]))
    }
}

/// ConfigMap keys: 1 to 253 letters, digits, `-`, `_` or `.`.
fn config_map_key_problem(key: &str) -> Result<(), String> {
    let ok = !key.is_empty() && key.len() <= 253 && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 253 letters, digits, '-', '_' or '.'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_managers_stay_within_the_api_servers_limit_and_unique_per_key() {
        assert_eq!(shared_manager("pgbouncer.ini"), "terraform-provider-scaling/pgbouncer.ini");
        let (a, b) = ("k".repeat(250) + "a", "k".repeat(250) + "b");
        let (ma, mb) = (shared_manager(&a), shared_manager(&b));
        assert!(ma.len() <= 128 && mb.len() <= 128, "{} {}", ma.len(), mb.len());
        assert_ne!(ma, mb, "keys that share their first 100 characters still get managers of their own");
        assert_eq!(ma, shared_manager(&a), "the same key, the same manager");
        let (one, other) = (new_manager(&a), new_manager(&a));
        assert!(one.len() <= 128 && one.starts_with("terraform-provider-scaling/kkk"), "{one}");
        assert_ne!(one, other, "each resource a manager of its own");
        assert!(new_manager("pgbouncer.ini").starts_with("terraform-provider-scaling/pgbouncer.ini/"));
    }

    fn deployment(generation: i64, observed: i64, replicas: i64, updated: i64, total: i64, available: i64) -> Json {
        serde_json::json!({
            "metadata": {"generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total, "availableReplicas": available},
        })
    }

    fn retrying(a: Acceptor<()>) -> Option<String> {
        match a {
            Acceptor::Retry(why) => Some(why),
            _ => None,
        }
    }

    #[test]
    fn a_rollout_is_done_as_kubectl_rollout_status_says() {
        let waiting = |d: &Json| retrying(rollout_progress(d));
        assert_eq!(waiting(&deployment(3, 2, 2, 2, 2, 2)).as_deref(), Some("waiting for the Deployment's change to be observed"));
        assert_eq!(waiting(&deployment(3, 3, 2, 1, 3, 2)).as_deref(), Some("1 of 2 new replicas updated"));
        assert_eq!(waiting(&deployment(3, 3, 2, 2, 3, 2)).as_deref(), Some("1 old replicas pending termination"));
        assert_eq!(waiting(&deployment(3, 3, 2, 2, 2, 1)).as_deref(), Some("1 of 2 updated replicas available"));
        assert!(matches!(rollout_progress(&deployment(3, 3, 2, 2, 2, 2)), Acceptor::Success(())));
        let mut stuck = deployment(3, 3, 2, 1, 3, 2);
        stuck["status"]["conditions"] = serde_json::json!([{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]);
        assert!(matches!(rollout_progress(&stuck), Acceptor::Failure(_)));
    }
}
