//! `scaling_profile`: one autoscaled workload (the runbook's "Auto-Scaling Configuration",
//! "Scale Down Safely" and "Event-Based Scaling"). Without `queue` or `schedule` blocks it is a
//! HorizontalPodAutoscaler (`autoscaling/v2` where served, else `v2beta2`); with them, a KEDA
//! `keda.sh/v1alpha1` ScaledObject. Written with server-side apply under one field manager.
//!
//! Import ID: `namespace/name` (either kind is found), or `namespace/name:KIND` when an HPA and
//! a ScaledObject share the name.

mod model;
pub(crate) mod validate;

use std::time::Duration;

use async_trait::async_trait;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use scaling_schema::plan_modifier;
use scaling_schema::validator::{int_between, one_of, string_check, string_map_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, NestedBlock, Nesting, Schema, Type, Value};
use serde_json::Value as Json;

use super::Context;
use crate::clients::{Clients, KubeApis};
use crate::framework::wait::{Acceptor, Waiter};
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use crate::kube::apply::{apply, ownership, refuse_takeover, FIELD_MANAGER};
use crate::kube::error as kube_error;
use crate::kube::names::{dns_label_problem, dns_subdomain_problem};
use model::{wants_keda, Profile, HPA_KIND, KEDA_API_VERSION, KEDA_KIND};
use validate::{
    annotation_value_problem, api_version_problem, cron_problem, host_port_problem, kind_problem, label_value_problem,
    qualified_name_problem, timezone_problem,
};

pub struct ScalingProfile;

const TYPE_NAME: &str = "scaling_profile";

/// Kubernetes' documented defaults for a behaviour block (scale-up reacts at once, scale-down
/// looks back 5 minutes; the largest change wins). Planned explicitly, so both kinds store the
/// same values and a plan never shows them as unknown: KEDA's ScaledObject leaves them unset.
fn behavior_block(name: &str, direction: &str, default_stabilization: i64) -> NestedBlock {
    NestedBlock::new(
        name,
        Nesting::Single,
        Block::new(&format!(
            "How fast to scale {direction}: a stabilization window and rate policies, e.g. at most 5 pods every 5 minutes \
             (the runbook's gradual 10 -> 5 -> 3)."
        ))
        .attribute(
            Attribute::optional("stabilization_window_seconds", Type::Number)
                .describe("Look-back window before acting on a lower (or higher) recommendation.")
                .default(Value::int(default_stabilization))
                .validate(int_between(0, 3600)),
        )
        .attribute(
            Attribute::optional("select_policy", Type::String)
                .describe("Which policy wins when several apply: `Max`, `Min`, or `Disabled` to stop scaling in this direction.")
                .default(Value::from("Max"))
                .validate(one_of(&["Max", "Min", "Disabled"])),
        )
        .block(
            NestedBlock::new(
                "policy",
                Nesting::List,
                Block::new("A rate limit: change by at most `value` pods (or percent) per `period_seconds`.")
                    .attribute(
                        Attribute::required("type", Type::String).describe("`Pods` or `Percent`.").validate(one_of(&["Pods", "Percent"])),
                    )
                    .attribute(
                        Attribute::required("value", Type::Number)
                            .describe("Pods or percent per period.")
                            .validate(int_between(1, 100_000)),
                    )
                    .attribute(
                        Attribute::required("period_seconds", Type::Number)
                            .describe("Length of the period.")
                            .validate(int_between(1, 1800)),
                    ),
            )
            .items(0, 10),
        ),
    )
}

fn percent(name: &str, resource: &str) -> Attribute {
    Attribute::optional(name, Type::Number)
        .describe(&format!("Target average {resource} utilization, in percent of requests."))
        .validate(int_between(1, 100))
}

impl ScalingProfile {
    fn resource(kind: &str, api_version: &str) -> ApiResource {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let plural = if kind == KEDA_KIND { "scaledobjects" } else { "horizontalpodautoscalers" };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    fn api(client: &kube::Client, namespace: &str, kind: &str, api_version: &str) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), namespace, &Self::resource(kind, api_version))
    }

    /// What the cluster serves for `kind`, discovering again when it looks missing: KEDA may
    /// have been installed earlier in this same apply (a Helm release, say).
    async fn apis_for(ctx: &Context, kind: &str) -> Result<KubeApis, String> {
        let (_, apis) = ctx.clients.kube_discovered(|apis| serves_kind(apis, kind)).await?;
        Ok(apis)
    }

    /// The API version this profile is stored under: KEDA's, or the HPA version the cluster serves.
    async fn api_version_for(ctx: &Context, keda: bool) -> Result<String, String> {
        let apis = Self::apis_for(ctx, if keda { KEDA_KIND } else { HPA_KIND }).await?;
        if keda {
            if !apis.keda {
                return Err(keda_missing());
            }
            return Ok(KEDA_API_VERSION.to_string());
        }
        apis.hpa_version
            .map(|v| format!("autoscaling/{v}"))
            .ok_or_else(|| "the cluster serves neither autoscaling/v2 nor autoscaling/v2beta2".to_string())
    }

    /// The version to reach an existing object through. One HPA is served under every
    /// autoscaling version, and clusters stop serving old ones (v2beta2 went in 1.26), so HPAs
    /// are always read and deleted through the version served now.
    async fn current_api_version(ctx: &Context, kind: &str, stored: &str) -> Result<String, String> {
        if kind == HPA_KIND {
            Self::api_version_for(ctx, false).await
        } else {
            Ok(stored.to_string())
        }
    }

    /// Whether the cluster serves `kind` now. A kind it no longer serves (KEDA's CRD removed)
    /// took every object of that kind with it.
    async fn serves(ctx: &Context, kind: &str) -> Result<bool, String> {
        Ok(serves_kind(&Self::apis_for(ctx, kind).await?, kind))
    }

    /// The object as the cluster has it now.
    async fn get(ctx: &Context, namespace: &str, name: &str, kind: &str, api_version: &str) -> Result<Option<Json>, String> {
        let (client, apis) = ctx.clients.kube().await?;
        let found = Self::api(client, namespace, kind, api_version).get_opt(name).await;
        Self::as_json(found, &format!("reading {kind} {namespace}/{name}"), &apis.server)
    }

    /// The object for ReadResource: a refresh of many profiles in one namespace shares a LIST.
    async fn get_in_refresh(ctx: &Context, namespace: &str, name: &str, kind: &str, api_version: &str) -> Result<Option<Json>, String> {
        let (client, apis) = ctx.clients.kube().await?;
        let resource = Self::resource(kind, api_version);
        let api = Api::namespaced_with(client.clone(), namespace, &resource);
        let found = ctx.clients.kube_objects_in_refresh().get(&api, &resource, name).await;
        Self::as_json(found, &format!("reading {kind} {namespace}/{name}"), &apis.server)
    }

    fn as_json(found: Result<Option<DynamicObject>, kube::Error>, action: &str, server: &str) -> Result<Option<Json>, String> {
        match found {
            Ok(Some(obj)) => serde_json::to_value(obj).map(Some).map_err(|e| e.to_string()),
            Ok(None) => Ok(None),
            Err(e) => Err(kube_error::describe(action, &e, server)),
        }
    }

    /// Finds the object under either kind, for an import that did not name one. Both kinds
    /// under one name is ambiguous: the import must say which.
    async fn find(ctx: &Context, namespace: &str, name: &str) -> Result<Option<(Json, String, String)>, String> {
        let (_, apis) = ctx.clients.kube().await?;
        let mut found = Vec::new();
        if let Some(v) = apis.hpa_version {
            let api_version = format!("autoscaling/{v}");
            if let Some(obj) = Self::get(ctx, namespace, name, HPA_KIND, &api_version).await? {
                found.push((obj, HPA_KIND.to_string(), api_version));
            }
        }
        if apis.keda {
            if let Some(obj) = Self::get(ctx, namespace, name, KEDA_KIND, KEDA_API_VERSION).await? {
                found.push((obj, KEDA_KIND.to_string(), KEDA_API_VERSION.to_string()));
            }
        }
        if found.len() > 1 {
            return Err(format!(
                "Both a {HPA_KIND} and a {KEDA_KIND} are named {namespace}/{name}. Say which to import: \
                 {namespace}/{name}:{HPA_KIND} or {namespace}/{name}:{KEDA_KIND}."
            ));
        }
        Ok(found.pop())
    }

    /// The kind, API version and manifest a profile is written as.
    async fn manifest(ctx: &Context, profile: &Profile) -> Result<(&'static str, String, Json), String> {
        let keda = profile.is_keda();
        let api_version = Self::api_version_for(ctx, keda).await?;
        Ok(if keda {
            (KEDA_KIND, api_version, profile.scaled_object_manifest())
        } else {
            let manifest = profile.hpa_manifest(&api_version);
            (HPA_KIND, api_version, manifest)
        })
    }

    /// Creates the object. The first write is a POST, Kubernetes' only create-only write, so
    /// when two resources name one object (a `for_each` whose keys map to one name) exactly one
    /// create succeeds; server-side apply then takes the fields, and the POST's ownership
    /// record goes (`ownership::without_create_entry`). Once the POST succeeded `resp.state`
    /// records the object, whatever fails after.
    async fn create_object(ctx: &Context, planned: &Value, timeout: Duration, resp: &mut CreateResponse) -> Result<(), String> {
        let profile = Profile::from_value(planned);
        let (kind, api_version, manifest) = Self::manifest(ctx, &profile).await?;
        let (client, apis) = ctx.clients.kube().await?;
        let api = Self::api(client, &profile.namespace, kind, &api_version);
        let (namespace, name) = (&profile.namespace, &profile.name);
        let action = format!("creating {kind} {namespace}/{name}");
        Self::refuse_foreign_twin(ctx, namespace, name, kind).await?;
        let object: DynamicObject = serde_json::from_value(manifest.clone()).map_err(|e| format!("{action}: {e}"))?;
        let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..PostParams::default() };
        let posted_at = jiff::Timestamp::now();
        let created = match api.create(&params, &object).await {
            Ok(created) => created,
            Err(kube::Error::Api(status)) if status.reason == "AlreadyExists" => {
                return Err(format!(
                    "{kind} {namespace}/{name} already exists (made by hand, or by another resource with the same namespace \
                     and name). Import it instead: terraform import <address> {namespace}/{name}"
                ))
            }
            // No answer came back (the connection dropped), or a gateway's 503/504: the POST
            // may have landed, so it is looked for rather than sent again.
            Err(e) if !matches!(&e, kube::Error::Api(s) if s.code != 503 && s.code != 504) => {
                match Self::landed(ctx, &api, name, kind, &api_version, posted_at, timeout).await {
                    Some(created) => {
                        tracing::info!(
                            kind,
                            namespace = namespace.as_str(),
                            name = name.as_str(),
                            "the create's answer was lost, but it landed"
                        );
                        created
                    }
                    None => return Err(kube_error::describe(&action, &e, &apis.server)),
                }
            }
            Err(e) => return Err(kube_error::describe(&action, &e, &apis.server)),
        };
        resp.state = Self::state_of(&created, planned, kind, &api_version)?;
        let applied = apply(FIELD_MANAGER, &api, &profile.name, &manifest, false, &action, &apis.server).await?;
        resp.state = Self::state_of(&applied, planned, kind, &api_version)?;
        if let Err(e) = Self::hand_over_create_entry(&api, applied, &action, &apis.server).await {
            resp.diagnostics.warning("Field ownership not handed over yet", e);
        }
        Ok(())
    }

    /// The object a POST whose answer was lost made, if it landed: made since `posted_at`, and
    /// its spec written by no one but this provider. A POST that lost a race gets its
    /// AlreadyExists answer and never comes here, so another resource's object is not taken for
    /// its own. An API server that went away (restarting) is asked until it answers, for up to
    /// two minutes within the create's timeout. A create stopped mid-POST (Ctrl-C) looks once,
    /// with a client the stop does not end, so an object that landed is recorded, not orphaned.
    async fn landed(
        ctx: &Context,
        api: &Api<DynamicObject>,
        name: &str,
        kind: &str,
        api_version: &str,
        posted_at: jiff::Timestamp,
        timeout: Duration,
    ) -> Option<DynamicObject> {
        if ctx.stop.is_cancelled() {
            let client = ctx.clients.kube_after_stop()?;
            let namespace = api.namespace()?;
            let found = Self::api(client, namespace, kind, api_version).get_opt(name).await.ok()??;
            return Self::made_by_this_post(found, posted_at);
        }
        let found = Waiter::new(timeout.min(Duration::from_secs(120)))
            .with_delays(Duration::from_millis(250), Duration::from_secs(5))
            .wait(&format!("the API server to say whether {name} was made"), &ctx.stop, || async {
                Ok::<_, String>(match api.get_opt(name).await {
                    Ok(found) => Acceptor::Success(found),
                    // A server still coming up sheds load or has not synced its RBAC yet.
                    Err(kube::Error::Api(s)) if matches!(s.code, 401 | 403 | 429) || s.code >= 500 => Acceptor::Retry(s.message),
                    Err(kube::Error::Api(_)) => Acceptor::Success(None),
                    Err(e) => Acceptor::Retry(e.to_string()),
                })
            })
            .await
            .ok()??;
        Self::made_by_this_post(found, posted_at)
    }

    /// `found`, if it was made since `posted_at` and only this provider wrote its spec.
    fn made_by_this_post(found: DynamicObject, posted_at: jiff::Timestamp) -> Option<DynamicObject> {
        // Creation times have whole seconds.
        let recent = found.metadata.creation_timestamp.as_ref().is_some_and(|t| t.0.as_second() >= posted_at.as_second() - 1);
        // Controllers write status at once (the HPA controller); only the object's own fields count.
        let writers = found.metadata.managed_fields.as_deref().unwrap_or_default();
        let spec_writers: Vec<_> = writers.iter().filter(|e| e.subresource.as_deref() != Some("status")).collect();
        let only_ours = !spec_writers.is_empty() && spec_writers.iter().all(|e| e.manager.as_deref() == Some(FIELD_MANAGER));
        (recent && only_ours).then_some(found)
    }

    /// Removes the `Update` ownership entry a creating POST left (`ownership::without_create_entry`).
    /// The resource version makes each try a compare-and-swap; KEDA's operator writes its
    /// finalizer and status just after creation, so a lost race backs off and reads again. Not
    /// done is not fatal (the object is right): every later update tries again.
    async fn hand_over_create_entry(api: &Api<DynamicObject>, mut latest: DynamicObject, action: &str, server: &str) -> Result<(), String> {
        let name = latest.metadata.name.clone().unwrap_or_default();
        for attempt in 0..6u32 {
            let entries = latest.metadata.managed_fields.as_deref().unwrap_or_default();
            let Some(kept) = ownership::without_create_entry(entries, FIELD_MANAGER) else { return Ok(()) };
            let patch = serde_json::json!({"metadata": {"managedFields": kept, "resourceVersion": latest.metadata.resource_version}});
            let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
            match api.patch(&name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    latest = api.get(&name).await.map_err(|e| kube_error::describe(action, &e, server))?;
                }
                Err(e) => return Err(kube_error::describe(&format!("{action}: handing its fields to server-side apply"), &e, server)),
            }
        }
        Err(format!(
            "{action}: the object kept changing while its creation's field ownership was handed to server-side apply; the next \
             update does it. Until then a field dropped from the configuration stays on the object."
        ))
    }

    /// An object of the other kind with this name that this provider did not write (an HPA
    /// made by hand beside a new ScaledObject, say) would scale the same workload twice. One
    /// this provider wrote is this resource's own during a `create_before_destroy` switch.
    async fn refuse_foreign_twin(ctx: &Context, namespace: &str, name: &str, kind: &str) -> Result<(), String> {
        let other = if kind == KEDA_KIND { HPA_KIND } else { KEDA_KIND };
        // What is known suffices: a kind not served has no twin, which is the good answer.
        let (_, apis) = ctx.clients.kube().await?;
        if !serves_kind(&apis, other) {
            return Ok(());
        }
        let api_version = Self::current_api_version(ctx, other, KEDA_API_VERSION).await?;
        let Some(twin) = Self::get(ctx, namespace, name, other, &api_version).await? else { return Ok(()) };
        let ours = twin["metadata"]["managedFields"].as_array().is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER));
        if ours {
            return Ok(());
        }
        Err(format!(
            "{other} {namespace}/{name} already exists and was not made by this provider; a {kind} of the same name would \
             scale the same workload twice. Import it (terraform import <address> {namespace}/{name}:{other}) or delete it."
        ))
    }

    /// Updates the object to `planned`; `prior` is the state it replaces.
    async fn update_object(ctx: &Context, planned: &Value, prior: &Value, diags: &mut Diagnostics) -> Result<Value, String> {
        let profile = Profile::from_value(planned);
        let (kind, api_version, manifest) = Self::manifest(ctx, &profile).await?;
        let (client, apis) = ctx.clients.kube().await?;
        let api = Self::api(client, &profile.namespace, kind, &api_version);
        let action = format!("applying {kind} {}/{}", profile.namespace, profile.name);
        // Server-side apply turns a nested object of a custom resource that it empties into
        // null, which the CRD's schema then rejects (kubernetes/kubernetes#103011, still open):
        // objects this resource stops writing are removed by a merge patch first.
        let force = planned.attr("force_conflicts").as_bool() == Some(true);
        if kind == KEDA_KIND && prior.attr("kind").as_str() == Some(KEDA_KIND) {
            let before = Profile::from_value(prior).scaled_object_manifest();
            if let Some(removals) = model::removed_objects(&before["spec"], &manifest["spec"]) {
                // Nothing is written while the apply would be refused for another owner's fields.
                if !force {
                    if let Err(e) = api.patch(&profile.name, &PatchParams::apply(FIELD_MANAGER).dry_run(), &Patch::Apply(&manifest)).await {
                        if let Some(found) = ownership::conflicts(&e, FIELD_MANAGER).filter(|f| f.iter().any(|c| c.declarative)) {
                            return Err(refuse_takeover(&action, &found));
                        }
                    }
                }
                let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
                let patch = serde_json::json!({ "spec": removals });
                api.patch(&profile.name, &params, &Patch::Merge(&patch))
                    .await
                    .map_err(|e| kube_error::describe(&action, &e, &apis.server))?;
            }
        }
        let obj = apply(FIELD_MANAGER, &api, &profile.name, &manifest, force, &action, &apis.server).await?;
        let state = Self::state_of(&obj, planned, kind, &api_version)?;
        if let Err(e) = Self::hand_over_create_entry(&api, obj, &action, &apis.server).await {
            diags.warning("Field ownership not handed over yet", e);
        }
        Ok(state)
    }

    /// What applying `planned` would take from other field managers, by a dry run: the API
    /// server's own ownership rules, with nothing written.
    async fn conflicts_of(ctx: &Context, planned: &Value) -> Result<Vec<ownership::Conflict>, String> {
        let profile = Profile::from_value(planned);
        let (kind, api_version, manifest) = Self::manifest(ctx, &profile).await?;
        let (client, _) = ctx.clients.kube().await?;
        let api = Self::api(client, &profile.namespace, kind, &api_version);
        match api.patch(&profile.name, &PatchParams::apply(FIELD_MANAGER).dry_run(), &Patch::Apply(&manifest)).await {
            Ok(_) => Ok(Vec::new()),
            Err(e) => match ownership::conflicts(&e, FIELD_MANAGER) {
                Some(found) => Ok(found),
                // Anything else will meet apply, which reports it in full.
                None => Err(e.to_string()),
            },
        }
    }

    /// Names, in the plan, every field apply would take from another field manager, and that
    /// apply will refuse those another tool manages unless `force_conflicts`. Asked only when
    /// apply will write.
    async fn plan_takeovers(ctx: &Context, prior: &Value, resp: &mut PlanResponse) {
        let planned = &resp.planned;
        let same_kind = prior.attr("kind") == planned.attr("kind");
        let writes = Profile::from_value(prior) != Profile::from_value(planned) || !prior.attr("unmanaged_metrics").elements().is_empty();
        if !same_kind || !writes || !planned.is_wholly_known() {
            return;
        }
        let found = match Self::conflicts_of(ctx, planned).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "dry-run apply at plan time failed; apply reports it");
                return;
            }
        };
        let (declared, by_hand): (Vec<_>, Vec<_>) = found.into_iter().partition(|c| c.declarative);
        let object = format!("{}/{}", planned.str_attr("namespace"), planned.str_attr("name"));
        if !by_hand.is_empty() {
            resp.diagnostics.warning(
                "Apply takes back fields changed outside Terraform",
                format!("{object}: {}. Apply sets them as configured.", ownership::describe(&by_hand)),
            );
        }
        if declared.is_empty() {
            return;
        }
        if planned.attr("force_conflicts").as_bool() == Some(true) {
            resp.diagnostics.warning_at(
                AttributePath::of("force_conflicts"),
                "Apply takes over fields another manager declares",
                format!(
                    "{object}: {}. force_conflicts = true, so apply takes them; unless that manager stops setting them it \
                     will set them back, and the two will keep overwriting each other.",
                    ownership::describe(&declared)
                ),
            );
        } else {
            // A warning, and apply refuses: an error here would also stop `terraform destroy`,
            // which plans the configuration first (Terraform 1.0).
            resp.diagnostics.warning_at(
                AttributePath::of("force_conflicts"),
                "Apply will refuse: fields owned by another field manager",
                format!(
                    "{object}: {}. Another tool writes these fields; taking them would start a fight between the two, so \
                     apply stops here without writing. Stop managing them in one place, or set force_conflicts = true to \
                     take them over.",
                    ownership::describe(&declared)
                ),
            );
        }
    }

    fn state_of(obj: &DynamicObject, planned: &Value, kind: &str, api_version: &str) -> Result<Value, String> {
        let json = serde_json::to_value(obj).map_err(|e| e.to_string())?;
        let mut state = Profile::from_object(&json).to_state(planned, kind, api_version, obj.metadata.uid.as_deref());
        keep_settings(&mut state, planned);
        Ok(state)
    }

    async fn remove(ctx: &Context, namespace: &str, name: &str, kind: &str, api_version: &str, timeout: Duration) -> Result<(), String> {
        let (client, apis) = ctx.clients.kube().await?;
        let api = Self::api(client, namespace, kind, api_version);
        // Background propagation: foreground deletion waits on the garbage collector, and
        // autoscalers own nothing that needs collecting.
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(e) => return Err(kube_error::describe(&format!("deleting {kind} {namespace}/{name}"), &e, &apis.server)),
        }
        Waiter::new(timeout)
            .with_delays(Duration::from_millis(200), Duration::from_secs(5))
            .wait(&format!("{kind} {namespace}/{name} to be deleted"), &ctx.stop, || async {
                let found = api.get_opt(name).await;
                let found = found.map_err(|e| kube_error::describe(&format!("reading {kind} {namespace}/{name}"), &e, &apis.server))?;
                Ok::<_, String>(match found {
                    None => Acceptor::Success(()),
                    Some(_) => Acceptor::Retry("terminating".into()),
                })
            })
            .await
            .map_err(|e| e.to_string())
    }
}

fn serves_kind(apis: &KubeApis, kind: &str) -> bool {
    if kind == KEDA_KIND {
        apis.keda
    } else {
        apis.hpa_version.is_some()
    }
}

fn keda_missing() -> String {
    "KEDA's ScaledObject CRD (scaledobjects.keda.sh, keda.sh/v1alpha1) is not installed in this cluster. \
     queue and schedule blocks need KEDA; install it, or remove those blocks to use a HorizontalPodAutoscaler."
        .to_string()
}

/// Settings that live only in Terraform, carried from `from` into a state read from the cluster.
fn keep_settings(state: &mut Value, from: &Value) {
    for name in ["timeouts", "force_conflicts"] {
        state.set_attr(name, from.attr(name).clone());
    }
}

#[async_trait]
impl Resource<Clients> for ScalingProfile {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Timeouts { create: Duration::from_secs(300), update: Duration::from_secs(300), delete: Duration::from_secs(300) }
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new(
                "Autoscaling for one workload: a HorizontalPodAutoscaler, or a KEDA ScaledObject when `queue` or `schedule` \
                 blocks are set (switching between the two replaces the object). Import with `namespace/name` \
                 (`namespace/name:ScaledObject` or `:HorizontalPodAutoscaler` when both kinds share the name).",
            )
            .attribute(Attribute::computed("id", Type::String).describe("`namespace/name`.").use_state_for_unknown())
            .attribute(
                Attribute::required("namespace", Type::String)
                    .describe("Namespace of the workload.")
                    .validate(string_check("a DNS-1123 label", dns_label_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .describe("Name of the autoscaler object.")
                    .validate(string_check("a DNS-1123 subdomain", dns_subdomain_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("min_replicas", Type::Number)
                    .describe("Fewest replicas; 0 (scale to zero) only with queue or schedule blocks (KEDA).")
                    .validate(int_between(0, 100_000)),
            )
            .attribute(Attribute::required("max_replicas", Type::Number).describe("Most replicas.").validate(int_between(1, 100_000)))
            .attribute(percent("cpu_utilization", "CPU"))
            .attribute(percent("memory_utilization", "memory"))
            .attribute(Attribute::optional("labels", Type::map(Type::String)).describe("Labels on the autoscaler object.").validate(
                string_map_check(
                    "label keys as Kubernetes takes them ([prefix/]name) and values of up to 63 letters, digits, - _ .",
                    usize::MAX,
                    qualified_name_problem,
                    label_value_problem,
                ),
            ))
            .attribute(
                Attribute::optional("annotations", Type::map(Type::String)).describe("Annotations on the autoscaler object.").validate(
                    string_map_check(
                        "annotation keys as Kubernetes takes them ([prefix/]name)",
                        usize::MAX,
                        qualified_name_problem,
                        annotation_value_problem,
                    ),
                ),
            )
            .attribute(
                Attribute::optional("force_conflicts", Type::Bool)
                    .describe(
                        "Take over fields that another tool manages (Argo CD, Flux, Helm, client-side `kubectl apply`, \
                         another workspace). Off by default, so two owners never fight: the plan names the manager and fields, \
                         and apply refuses to write. Fields changed by hand with kubectl (`edit`, `patch`, `scale`, ...) are drift and are \
                         always taken back, with a warning in the plan naming who changed them.",
                    )
                    .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::computed("kind", Type::String).describe("`HorizontalPodAutoscaler` or `ScaledObject`.").use_state_for_unknown(),
            )
            .attribute(
                Attribute::computed("api_version", Type::String)
                    .describe("API version the object is stored under, e.g. `autoscaling/v2`, `autoscaling/v2beta2` or `keda.sh/v1alpha1`.")
                    .use_state_for_unknown(),
            )
            .attribute(Attribute::computed("uid", Type::String).describe("Kubernetes UID of the object.").use_state_for_unknown())
            .attribute(
                Attribute::computed("unmanaged_metrics", Type::list(Type::String))
                    .describe(
                        "HPA metrics or KEDA triggers on the object that this resource does not set (added by someone else), as \
                         `TYPE/NAME`. Kubernetes replaces those lists whole, so apply removes them: they show here as drift.",
                    )
                    .plan_modifier(plan_modifier::planned_value(Value::List(Vec::new()))),
            )
            .block(
                NestedBlock::new(
                    "target",
                    Nesting::Single,
                    Block::new("The workload to scale.")
                        .attribute(
                            Attribute::optional_computed("kind", Type::String)
                                .describe("Kind of the workload, e.g. `Deployment` or `StatefulSet`.")
                                .default(Value::from("Deployment"))
                                .validate(string_check("a Kubernetes kind", kind_problem)),
                        )
                        .attribute(
                            Attribute::required("name", Type::String)
                                .describe("Name of the workload.")
                                .validate(string_check("a DNS-1123 subdomain", dns_subdomain_problem)),
                        )
                        .attribute(
                            Attribute::optional_computed("api_version", Type::String)
                                .describe("API version of the workload (`group/version`).")
                                .default(Value::from("apps/v1"))
                                .validate(string_check("an API version", api_version_problem)),
                        ),
                )
                .items(1, 1),
            )
            .block(behavior_block("scale_up", "up", 0))
            .block(behavior_block("scale_down", "down", 300))
            .block(NestedBlock::new(
                "queue",
                Nesting::List,
                Block::new("Scale on queue length (KEDA redis list trigger), as the runbook's workers do.")
                    .attribute(
                        Attribute::optional_computed("type", Type::String)
                            .describe("Queue kind.")
                            .default(Value::from("redis"))
                            .validate(one_of(&["redis"])),
                    )
                    .attribute(
                        Attribute::required("address", Type::String)
                            .describe("`host:port` of the Redis server.")
                            .validate(string_check("host:port", host_port_problem)),
                    )
                    .attribute(Attribute::required("list_name", Type::String).describe("Redis list holding the jobs."))
                    .attribute(
                        Attribute::optional_computed("list_length", Type::Number)
                            .describe("Target jobs per replica.")
                            .default(Value::int(5))
                            .validate(int_between(1, 1_000_000)),
                    ),
            ))
            .block(NestedBlock::new(
                "schedule",
                Nesting::List,
                Block::new("Hold at least `min_replicas` between `start` and `end` (KEDA cron trigger): event pre-scaling.")
                    .attribute(
                        Attribute::required("name", Type::String)
                            .describe("Name of this window.")
                            .validate(string_check("a DNS-1123 label", dns_label_problem)),
                    )
                    .attribute(
                        Attribute::required("start", Type::String)
                            .describe("Cron expression for the start.")
                            .validate(string_check("a five-field cron expression", cron_problem)),
                    )
                    .attribute(
                        Attribute::required("end", Type::String)
                            .describe("Cron expression for the end.")
                            .validate(string_check("a five-field cron expression", cron_problem)),
                    )
                    .attribute(
                        Attribute::optional_computed("timezone", Type::String)
                            .describe("IANA time zone of the cron expressions.")
                            .default(Value::from("Etc/UTC"))
                            .validate(string_check("an IANA time zone name", timezone_problem)),
                    )
                    .attribute(
                        Attribute::required("min_replicas", Type::Number)
                            .describe("Replicas to hold during the window.")
                            .validate(int_between(1, 100_000)),
                    ),
            ))
            .block(self.default_timeouts().block()),
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let (min, max) = (config.attr("min_replicas").as_i64(), config.attr("max_replicas").as_i64());
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                diags.error_at(
                    AttributePath::of("min_replicas"),
                    "min_replicas is above max_replicas",
                    format!("min_replicas ({min}) must not exceed max_replicas ({max})."),
                );
            }
        }
        let blocks_known = config.attr("queue").is_known() && config.attr("schedule").is_known();
        if min == Some(0) && blocks_known && !wants_keda(config) {
            diags.error_at(
                AttributePath::of("min_replicas"),
                "Scaling to zero needs KEDA",
                "A HorizontalPodAutoscaler keeps at least 1 replica. min_replicas = 0 needs a queue or schedule block (a KEDA ScaledObject).",
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in config.attr("schedule").elements().iter().enumerate() {
            if let Some(name) = c.attr("name").as_str() {
                if !names.insert(name) {
                    diags.error_at(
                        AttributePath::of("schedule").index(i).attr("name"),
                        "Duplicate schedule name",
                        format!("{name:?} names two schedule blocks."),
                    );
                }
            }
            if let (Some(start), Some(end)) = (c.attr("start").as_str(), c.attr("end").as_str()) {
                if start.split_whitespace().eq(end.split_whitespace()) {
                    diags.error_at(
                        AttributePath::of("schedule").index(i).attr("end"),
                        "Schedule ends when it starts",
                        format!("start and end are both {start:?}; KEDA refuses a cron window that ends when it starts."),
                    );
                }
            }
            if let (Some(r), Some(max)) = (c.attr("min_replicas").as_i64(), max) {
                if r > max {
                    diags.error_at(
                        AttributePath::of("schedule").index(i).attr("min_replicas"),
                        "Schedule above max_replicas",
                        format!("The schedule holds {r} replicas, more than max_replicas ({max})."),
                    );
                }
            }
        }
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        let blocks_known = resp.planned.attr("queue").is_known() && resp.planned.attr("schedule").is_known();
        if !blocks_known {
            // Which kind it will be is decided at apply, so nothing kind-dependent is known yet,
            // and an existing object may have to be replaced: plan for that rather than change
            // the action between plan and apply.
            for attr in ["kind", "api_version", "uid"] {
                resp.planned.set_attr(attr, Value::Unknown);
            }
            if !req.prior.is_null() {
                resp.requires_replace.push(AttributePath::of("queue"));
                resp.requires_replace.push(AttributePath::of("schedule"));
            }
        } else {
            let keda = wants_keda(&resp.planned);
            let keda_block = if resp.planned.attr("queue").elements().is_empty() { "schedule" } else { "queue" };
            let kind = if keda { KEDA_KIND } else { HPA_KIND };
            let prior_kind = req.prior.attr("kind").as_str();
            if prior_kind.is_some_and(|k| k != kind) {
                // An HPA cannot become a ScaledObject (or back): a new object replaces the old one.
                // Terraform honours only paths whose values changed, so offer both blocks.
                resp.requires_replace.push(AttributePath::of("queue"));
                resp.requires_replace.push(AttributePath::of("schedule"));
                resp.planned.set_attr("api_version", Value::Unknown);
                resp.planned.set_attr("uid", Value::Unknown);
            }
            resp.planned.set_attr("kind", Value::from(kind));
            if keda {
                if let Some(ctx) = ctx {
                    if let Ok(apis) = Self::apis_for(ctx, KEDA_KIND).await {
                        if !apis.keda {
                            // A warning, not an error: KEDA may be installed earlier in this
                            // same apply (a Helm release, say). Apply fails clearly if not.
                            resp.diagnostics.warning_at(
                                AttributePath::of(keda_block),
                                "KEDA is not installed",
                                format!("{} Apply fails here unless it is installed before it reaches this resource.", keda_missing()),
                            );
                        }
                    }
                }
            }
        }
        let prior = req.prior;
        let namespace = resp.planned.attr("namespace").as_str().map(str::to_string);
        if let (Some(ctx), Some(namespace)) = (ctx, namespace) {
            if prior.is_null() || prior.attr("namespace").as_str() != Some(namespace.as_str()) {
                let object = match resp.planned.attr("name").as_str() {
                    Some(name) => format!("the autoscaler {name}"),
                    None => "the autoscaler".to_string(),
                };
                super::namespace_missing_at_plan(ctx, &namespace, &object, &mut resp.diagnostics).await;
            }
        }
        if prior.is_null() {
            return;
        }
        if let Some(ctx) = ctx {
            Self::plan_takeovers(ctx, prior, resp).await;
        }
        if let (Some(old), Some(new)) = (prior.attr("max_replicas").as_i64(), resp.planned.attr("max_replicas").as_i64()) {
            if new < old {
                resp.diagnostics.warning_at(
                    AttributePath::of("max_replicas"),
                    "Lowering max_replicas removes pods at once",
                    format!(
                        "{}/{}: replicas above {new} are removed as soon as this applies, whatever scale_down says. \
                         To scale down gradually, lower the load first and let scale_down policies work.",
                        prior.str_attr("namespace"),
                        prior.str_attr("name")
                    ),
                );
            }
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        if let Err(e) = Self::create_object(ctx, req.planned, req.timeout, resp).await {
            resp.diagnostics.error("Could not create the autoscaler", e);
        }
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let state = req.state;
        let (namespace, name) = (state.str_attr("namespace"), state.str_attr("name"));
        if let Some(kind) = state.attr("kind").as_str() {
            match Self::serves(ctx, kind).await {
                Ok(true) => {}
                Ok(false) => {
                    resp.diagnostics.warning(
                        "Autoscaler kind no longer served",
                        format!(
                            "The cluster no longer serves {kind} (was its CRD removed?), so {namespace}/{name} no longer exists. \
                             It is removed from state, and the next plan creates it again."
                        ),
                    );
                    resp.state = Value::Null;
                    return;
                }
                Err(e) => {
                    resp.diagnostics.error("Could not read the autoscaler", e);
                    return;
                }
            }
        }
        let found = match (state.attr("kind").as_str(), state.attr("api_version").as_str()) {
            (Some(kind), Some(stored)) => match Self::current_api_version(ctx, kind, stored).await {
                Ok(api_version) => Self::get_in_refresh(ctx, namespace, name, kind, &api_version)
                    .await
                    .map(|o| o.map(|o| (o, kind.to_string(), api_version))),
                Err(e) => Err(e),
            },
            _ => Self::find(ctx, namespace, name).await,
        };
        match found {
            Ok(Some((obj, kind, api_version))) => {
                // An import's partial state (no uid yet) is not a prior to shape the read by.
                let prior = if state.attr("uid").is_null() { &Value::Null } else { state };
                let uid = obj["metadata"]["uid"].as_str();
                let mut new_state = Profile::from_object(&obj).to_state(prior, &kind, &api_version, uid);
                keep_settings(&mut new_state, state);
                resp.state = new_state;
                if let Some(problem) = model::not_ready(&kind, &obj) {
                    let controller = if kind == KEDA_KIND { "KEDA's operator" } else { "The HPA controller" };
                    // The object in the summary: Terraform folds warnings that share one.
                    resp.diagnostics.warning(
                        format!("{kind} {namespace}/{name} is not scaling"),
                        format!("{controller} reports that {kind} {namespace}/{name} is not scaling: {problem}"),
                    );
                }
            }
            Ok(None) => {
                tracing::info!(namespace, name, "autoscaler no longer exists; removing it from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the autoscaler", e),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        match Self::update_object(ctx, req.planned, req.prior, &mut resp.diagnostics).await {
            Ok(state) => resp.state = state,
            Err(e) => resp.diagnostics.error("Could not update the autoscaler", e),
        }
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        let p = req.prior;
        let (namespace, name) = (p.str_attr("namespace"), p.str_attr("name"));
        let kind = p.str_attr("kind");
        // With its kind gone from the cluster, the object went too: nothing is left to delete.
        if let Ok(false) = Self::serves(ctx, kind).await {
            return;
        }
        let removed = match Self::current_api_version(ctx, kind, p.str_attr("api_version")).await {
            Ok(api_version) => Self::remove(ctx, namespace, name, kind, &api_version, req.timeout).await,
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            resp.diagnostics.error("Could not delete the autoscaler", e);
        }
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let (object, kind) = match id.rsplit_once(':') {
            Some((object, kind)) => (object, Some(kind)),
            None => (id, None),
        };
        let parsed = object.split_once('/').filter(|(ns, name)| dns_label_problem(ns).is_ok() && dns_subdomain_problem(name).is_ok());
        let (Some((namespace, name)), None | Some(HPA_KIND | KEDA_KIND)) = (parsed, kind) else {
            diags.error(
                "Invalid import ID",
                format!(
                    "Import a scaling_profile as namespace/name (e.g. production/api-gateway), or namespace/name:{HPA_KIND} or \
                     namespace/name:{KEDA_KIND} when both exist; not {id:?}."
                ),
            );
            return None;
        };
        let mut state = Value::object([("id", Value::from(object)), ("namespace", Value::from(namespace)), ("name", Value::from(name))]);
        if let Some(kind) = kind {
            // For an HPA the version is whichever the cluster serves when it is read.
            let api_version = if kind == KEDA_KIND { KEDA_API_VERSION } else { "autoscaling/v2" };
            state.set_attr("kind", Value::from(kind));
            state.set_attr("api_version", Value::from(api_version));
        }
        Some(state)
    }
}
