//! `scaling_origin_shield`: CloudFront Origin Shield on one origin of an existing distribution
//! (the runbook's "Add CloudFront Origin Shield"), changing that origin's `OriginShield` and
//! nothing else.
//!
//! A write reads the config and its ETag, splices in the one element (document.rs keeps every
//! other byte, fields this SDK does not know included) and sends it with `If-Match`. When
//! someone else changed the distribution in between, CloudFront answers PreconditionFailed
//! and the write starts again from a fresh read, so their change is kept, never overwritten.
//!
//! Import ID: `DISTRIBUTION_ID/ORIGIN_ID`.

mod document;
mod validate;

use std::time::Duration;

use async_trait::async_trait;
use scaling_schema::validator::{one_of, string_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, Schema, Type, Value};
use tokio::time::Instant;

use super::Context;
use crate::aws::cloudfront::{self, get_config, update_config, ConfigVersion, Described};
use crate::aws::error::ClientError;
use crate::clients::Clients;
use crate::framework::wait::jitter;
use crate::framework::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Timeouts,
    UpdateRequest, UpdateResponse,
};
use document::{ConfigDocument, Shield};
use validate::{distribution_id_problem, origin_id_problem, shield_region_problem};

pub struct OriginShield;

const TYPE_NAME: &str = "scaling_origin_shield";

/// Writes that met a newer version of the distribution before one landed. Each conflict means
/// another write landed, so this bounds how many concurrent writers one apply outlasts.
const MAX_CONFLICTS: u32 = 10;

/// The attributes that are the origin's Origin Shield; the others are this provider's settings.
const SHIELD: [&str; 2] = ["enabled", "shield_region"];

/// The Origin Shield a configuration asks for; a region left out keeps the origin's own.
#[derive(Clone, Debug)]
struct Wanted {
    enabled: bool,
    region: Option<String>,
}

impl Wanted {
    fn of(v: &Value) -> Wanted {
        Wanted { enabled: v.attr("enabled").as_bool() != Some(false), region: v.attr("shield_region").as_str().map(str::to_string) }
    }

    /// What the origin's element becomes, from what it is now.
    fn applied_to(&self, now: Option<&Shield>) -> Shield {
        Shield { enabled: self.enabled, region: self.region.clone().or_else(|| now.and_then(|s| s.region.clone())) }
    }
}

/// Why a write could not be made.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(
        "Distribution {0} does not exist. This resource changes one origin of an existing distribution; create the \
         distribution first (for example with aws_cloudfront_distribution)."
    )]
    NoDistribution(String),
    #[error("Distribution {distribution} has no origin {origin:?}. Its origins are {}.", list(.known))]
    NoOrigin { distribution: String, origin: String, known: Vec<String> },
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("distribution {distribution}: {reason}")]
    Document { distribution: String, reason: String },
    #[error(
        "distribution {0} changed {MAX_CONFLICTS} times while this write was being made (each write met a newer \
         version); try again when the other writers are done"
    )]
    KeptChanging(String),
    #[error("stopped by Terraform before the write to distribution {0} was made")]
    Stopped(String),
}

impl WriteError {
    /// As a diagnostic; an object that is not there is pinned on the attribute naming it.
    fn report(&self, summary: &str, diags: &mut Diagnostics) {
        match self {
            WriteError::NoDistribution(_) => diags.error_at(AttributePath::of("distribution_id"), "No such distribution", self.to_string()),
            WriteError::NoOrigin { .. } => diags.error_at(AttributePath::of("origin_id"), "No such origin", self.to_string()),
            _ => diags.error(summary, self.to_string()),
        }
    }
}

/// A recorded original: the settings' when they hold one, else `now` on an import (a state
/// with no settings yet). A state written before originals were recorded gets none: what the
/// origin has now is this resource's own setting, not what it found.
fn original(settings: &Value, name: &str, now: Value) -> Value {
    match settings.attr(name) {
        v if v.is_known() && !v.is_null() => v.clone(),
        _ if settings.attr("on_destroy").is_null() => now,
        _ => Value::Null,
    }
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    ids.iter().map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ")
}

/// The distribution's config as read now, with the named origin known to be in it.
async fn locate(
    client: &aws_sdk_cloudfront::Client,
    distribution: &str,
    origin: &str,
) -> Result<(ConfigVersion, ConfigDocument), WriteError> {
    let version = get_config(client, distribution)
        .await
        .map_err(ClientError::from)?
        .ok_or_else(|| WriteError::NoDistribution(distribution.to_string()))?;
    let doc = ConfigDocument::parse(version.xml.clone())
        .map_err(|e| WriteError::Document { distribution: distribution.to_string(), reason: e.to_string() })?;
    if doc.origin(origin).is_none() {
        return Err(no_origin(distribution, origin, &doc));
    }
    Ok((version, doc))
}

fn no_origin(distribution: &str, origin: &str, doc: &ConfigDocument) -> WriteError {
    WriteError::NoOrigin {
        distribution: distribution.to_string(),
        origin: origin.to_string(),
        known: doc.origins().iter().map(|o| o.id.clone()).collect(),
    }
}

impl OriginShield {
    fn timeouts() -> Timeouts {
        let ninety_minutes = Duration::from_secs(90 * 60);
        Timeouts { create: ninety_minutes, update: ninety_minutes, delete: ninety_minutes }
    }

    /// Sets the origin's Origin Shield to `wanted`, if it is not so already. Returns whether a
    /// write was made, and the shield the first read found (what an adopting create records).
    /// The config is read afresh for every attempt, so an update whose answer was lost (and so
    /// retried with a stale ETag) finds its own change and stops.
    async fn write(ctx: &Context, distribution: &str, origin: &str, wanted: &Wanted) -> Result<(bool, Shield), WriteError> {
        let client = ctx.clients.cloudfront().await?;
        let stopped = || WriteError::Stopped(distribution.to_string());
        let _turn = tokio::select! {
            _ = ctx.stop.cancelled() => return Err(stopped()),
            turn = ctx.clients.distribution_writer(distribution) => turn,
        };
        let mut found = None;
        for conflict in 0..MAX_CONFLICTS {
            let (version, doc) = locate(client, distribution, origin).await?;
            let now = doc.origin(origin).and_then(|o| o.shield.clone());
            let found = found.get_or_insert_with(|| now.clone().unwrap_or(Shield::OFF)).clone();
            let target = wanted.applied_to(now.as_ref());
            if now.unwrap_or(Shield::OFF) == target {
                return Ok((false, found));
            }
            let Some(xml) = doc.with_shield(origin, &target) else { return Err(no_origin(distribution, origin, &doc)) };
            // A stop that came during the read: nothing is written after it.
            if ctx.stop.is_cancelled() {
                return Err(stopped());
            }
            match update_config(client, distribution, &version, xml).await {
                Ok(etag) => {
                    tracing::info!(
                        distribution,
                        origin,
                        etag = etag.as_deref().unwrap_or(""),
                        enabled = target.enabled,
                        "Origin Shield written"
                    );
                    return Ok((true, found));
                }
                Err(e) if e.code.as_deref() == Some("PreconditionFailed") => {
                    tracing::info!(distribution, origin, conflict, "the distribution changed since it was read; reading it again");
                    // Another writer is at work: give it a moment before reading again.
                    let pause = Duration::from_millis(100 * u64::from(conflict + 1)) + jitter(Duration::from_millis(100));
                    tokio::select! {
                        _ = ctx.stop.cancelled() => return Err(stopped()),
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
                Err(e) => return Err(ClientError::from(e).into()),
            }
        }
        Err(WriteError::KeptChanging(distribution.to_string()))
    }

    /// Waits until CloudFront reports the distribution `Deployed` (`cloudfront::wait_deployed`).
    async fn deployed(ctx: &Context, distribution: &str, deadline: Instant) -> Result<(), String> {
        let client = ctx.clients.cloudfront().await.map_err(|e| e.to_string())?;
        cloudfront::wait_deployed(client, &ctx.stop, distribution, deadline.saturating_duration_since(Instant::now())).await
    }

    /// State as CloudFront has it now; None when the distribution or the origin is gone.
    /// `settings` gives what only the configuration knows.
    async fn state(ctx: &Context, distribution: &str, origin: &str, settings: &Value) -> Result<Option<Value>, ClientError> {
        let described = ctx.clients.distribution(distribution).await?;
        Ok(described.and_then(|d| Self::state_from(d, distribution, origin, settings)))
    }

    /// State from distribution `d` as read; None when it has no such origin.
    fn state_from((d, etag): Described, distribution: &str, origin: &str, settings: &Value) -> Option<Value> {
        let origins = d.distribution_config().and_then(|c| c.origins()).map(|o| o.items()).unwrap_or_default();
        let found = origins.iter().find(|o| o.id() == origin)?;
        let shield = found.origin_shield();
        Some(Value::object([
            ("id", Value::from(format!("{distribution}/{origin}"))),
            ("distribution_id", Value::from(distribution)),
            ("origin_id", Value::from(origin)),
            ("enabled", Value::Bool(shield.is_some_and(|s| s.enabled()))),
            ("shield_region", Value::opt_string(shield.and_then(|s| s.origin_shield_region()))),
            ("wait_for_deployment", settings.attr("wait_for_deployment").clone()),
            ("on_destroy", settings.attr("on_destroy").clone()),
            ("timeouts", settings.attr("timeouts").clone()),
            ("etag", Value::opt_string(etag)),
            ("distribution_status", Value::from(d.status())),
            ("domain_name", Value::from(d.domain_name())),
            ("origin_domain_name", Value::from(found.domain_name())),
            // As adopted (or imported): what `on_destroy = "restore"` puts back.
            ("original_enabled", original(settings, "original_enabled", Value::Bool(shield.is_some_and(|s| s.enabled())))),
            (
                "original_shield_region",
                original(settings, "original_shield_region", Value::opt_string(shield.and_then(|s| s.origin_shield_region()))),
            ),
        ]))
    }

    /// Whether `state` has the Origin Shield `settings` ask for.
    fn has_wanted(state: &Value, settings: &Value) -> bool {
        let wanted = Wanted::of(settings);
        state.attr("enabled").as_bool() == Some(wanted.enabled)
            && wanted.region.as_deref().is_none_or(|r| state.attr("shield_region").as_str() == Some(r))
    }

    /// Writes, waits for deployment when asked, then records what the distribution now has.
    /// A create records nothing unless the setting is in place: a write whose answer was lost
    /// but which landed counts as made. `known` is the last state known to be true, kept when
    /// the distribution cannot be read.
    async fn write_and_read(ctx: &Context, settings: &Value, known: &Value, timeout: Duration, diags: &mut Diagnostics) -> Value {
        let deadline = Instant::now() + timeout;
        let creating = known.is_null();
        let (distribution, origin) = (settings.str_attr("distribution_id"), settings.str_attr("origin_id"));
        let written = Self::write(ctx, distribution, origin, &Wanted::of(settings)).await;
        let mut settings = settings.clone();
        if let Ok((_, found)) = &written {
            // Adoption: the shield as it was before this resource's first write.
            if settings.attr("original_enabled").is_null() || !settings.attr("original_enabled").is_known() {
                settings.set_attr("original_enabled", Value::Bool(found.enabled));
                settings.set_attr("original_shield_region", Value::opt_string(found.region.as_deref()));
            }
        }
        let settings = &settings;
        let state = match Self::state(ctx, distribution, origin, settings).await {
            Ok(Some(state)) => state,
            Ok(None) if creating => Value::Null,
            Ok(None) => {
                diags.error("The origin disappeared", format!("Distribution {distribution} no longer has origin {origin:?}."));
                return Value::Null;
            }
            Err(e) => {
                diags.error("Could not read the distribution after writing it", e.to_string());
                known.clone()
            }
        };
        if let Err(e) = written {
            if !(creating && Self::has_wanted(&state, settings)) {
                e.report("Could not set Origin Shield", diags);
                return if creating { Value::Null } else { state };
            }
            tracing::info!(distribution, origin, error = %e, "the write's answer was lost, but the setting is in place");
        }
        // Also after no write: an earlier, interrupted apply may have left it deploying.
        if settings.attr("wait_for_deployment").as_bool() != Some(false) && state.attr("distribution_status").as_str() != Some("Deployed") {
            if let Err(e) = Self::deployed(ctx, distribution, deadline).await {
                let detail = format!(
                    "The setting is made and CloudFront is deploying it, but {}. The next refresh shows distribution_status.",
                    crate::error_chain::clause(&e)
                );
                // Failing a create would taint it, and replacing it would turn the shield off
                // and on again: the setting is made, so that is a warning.
                if creating {
                    diags.warning("Origin Shield is not deployed yet", detail);
                } else {
                    diags.error("Origin Shield is not deployed yet", detail);
                }
                return state;
            }
            return match Self::state(ctx, distribution, origin, settings).await {
                Ok(Some(deployed)) => deployed,
                _ => state,
            };
        }
        state
    }
}

#[async_trait]
impl Resource<Clients> for OriginShield {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn default_timeouts(&self) -> Timeouts {
        Self::timeouts()
    }

    fn schema(&self) -> Schema {
        let computed = |name: &str, text: &str| Attribute::computed(name, Type::String).describe(text);
        Schema {
            version: 0,
            block: Block::new(
                "CloudFront Origin Shield on one origin of an existing distribution. Only that origin's OriginShield setting \
                 is written: the rest of the distribution config goes back exactly as CloudFront returned it, and a \
                 concurrent change elsewhere in the distribution is kept (the write is made with If-Match and started again \
                 from a fresh read when the distribution changed). A distribution managed elsewhere with whole-config \
                 rewrites (aws_cloudfront_distribution) will undo this setting on its next apply unless it ignores its \
                 origins' changes (`lifecycle { ignore_changes = [origin] }`). Import as DISTRIBUTION_ID/ORIGIN_ID.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("DISTRIBUTION_ID/ORIGIN_ID.").use_state_for_unknown())
            .attribute(
                Attribute::required("distribution_id", Type::String)
                    .describe("Id of the existing distribution, e.g. `E2QWRUHAPOMQZL`.")
                    .validate(string_check("a CloudFront distribution id", distribution_id_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::required("origin_id", Type::String)
                    .describe("Id of the origin within the distribution (its `Id`, not its domain name).")
                    .validate(string_check("an origin id", origin_id_problem))
                    .requires_replace(),
            )
            .attribute(
                Attribute::optional_computed("enabled", Type::Bool)
                    .describe("Whether Origin Shield is on for the origin.")
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed("shield_region", Type::String)
                    .describe(&format!(
                        "Region of the Origin Shield, the one nearest the origin: one of {}. Required when enabled; left out \
                         when disabled, the origin keeps the region it has.",
                        validate::shield_regions()
                    ))
                    .validate(string_check("a Region offering Origin Shield", shield_region_problem))
                    .keep_when_unconfigured(),
            )
            .attribute(
                Attribute::optional_computed("wait_for_deployment", Type::Bool)
                    .describe("Wait until the distribution is `Deployed` (every edge location has the change; often minutes).")
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed("on_destroy", Type::String)
                    .describe(
                        "`restore`: put back the Origin Shield the origin had when this resource adopted (or imported) it, \
                         `original_enabled` and `original_shield_region`, so a shield that was on before stays on. `disable`: \
                         turn Origin Shield off for the origin (its region is kept). `retain`: leave it as it is.",
                    )
                    .default(Value::from("restore"))
                    .validate(one_of(&["restore", "disable", "retain"])),
            )
            .attribute(computed(
                "etag",
                "Version of the distribution config when this origin's Origin Shield was last written or found changed (a \
                 write to another origin leaves it as it is, so it is never drift).",
            ))
            .attribute(computed("distribution_status", "`InProgress` while a change deploys, then `Deployed`."))
            .attribute(
                computed("domain_name", "The distribution's domain name, e.g. `d111111abcdef8.cloudfront.net`.").use_state_for_unknown(),
            )
            .attribute(computed("origin_domain_name", "The origin's domain name.").use_state_for_unknown())
            .attribute(
                Attribute::computed("original_enabled", Type::Bool)
                    .describe("Whether Origin Shield was on when this resource adopted the origin.")
                    .use_state_for_unknown(),
            )
            .attribute(
                computed("original_shield_region", "The Origin Shield region the origin had when this resource adopted it.")
                    .use_state_for_unknown(),
            )
            .block(Self::timeouts().block()),
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let enabled = config.attr("enabled");
        let enabled = enabled.is_null() || enabled.as_bool() == Some(true);
        if enabled && config.attr("shield_region").is_null() {
            diags.error_at(
                AttributePath::of("shield_region"),
                "Origin Shield needs a region",
                format!(
                    "Set shield_region to the Region nearest the origin: one of {}. (With enabled = false it may be left out.)",
                    validate::shield_regions()
                ),
            );
        }
    }

    async fn modify_plan(&self, ctx: Option<&Context>, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
        let prior = req.prior;
        if !prior.is_null() {
            if SHIELD.iter().all(|a| resp.planned.attr(a) == prior.attr(a)) {
                // Only settings change: the distribution is not written, so what it reports stays.
                for attr in ["etag", "distribution_status"] {
                    resp.planned.set_attr(attr, prior.attr(attr).clone());
                }
            }
            return;
        }
        // On create, the origin must exist: say so now, with the origins there are.
        let (Some(ctx), Some(distribution), Some(origin)) =
            (ctx, resp.planned.attr("distribution_id").as_str(), resp.planned.attr("origin_id").as_str())
        else {
            return;
        };
        let Some(client) = super::aws_configured(ctx.clients.cloudfront().await, &mut resp.diagnostics) else { return };
        match locate(client, distribution, origin).await {
            Ok((_, doc)) => {
                let found = doc.origin(origin).map(|o| o.domain_name.as_str()).unwrap_or_default();
                resp.planned.set_attr("origin_domain_name", Value::from(found));
            }
            Err(e @ (WriteError::NoDistribution(_) | WriteError::NoOrigin { .. })) => {
                let (path, summary) = match e {
                    WriteError::NoDistribution(_) => ("distribution_id", "No such distribution yet"),
                    _ => ("origin_id", "No such origin yet"),
                };
                super::adopt::missing_at_plan(&mut resp.diagnostics, AttributePath::of(path), summary, e.to_string());
            }
            Err(e) => e.report("Could not read the distribution config", &mut resp.diagnostics),
        }
    }

    async fn create(&self, ctx: &Context, req: CreateRequest<'_>, resp: &mut CreateResponse) {
        resp.state = Self::write_and_read(ctx, req.planned, &Value::Null, req.timeout, &mut resp.diagnostics).await;
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let (distribution, origin) = (req.state.str_attr("distribution_id"), req.state.str_attr("origin_id"));
        let described = ctx.clients.distribution_in_refresh(distribution).await;
        match described.map(|d| d.and_then(|d| Self::state_from(d, distribution, origin, req.state))) {
            Ok(Some(mut state)) => {
                // Any write to the distribution (this provider's to another origin included)
                // issues a new ETag: this origin's stays as recorded while its own setting is
                // as it was, so a sibling's write never reads as drift here.
                let unchanged = SHIELD.iter().chain(&["origin_domain_name"]).all(|a| state.attr(a) == req.state.attr(a));
                if unchanged && req.state.attr("etag").as_str().is_some() {
                    state.set_attr("etag", req.state.attr("etag").clone());
                }
                resp.state = state;
            }
            Ok(None) => {
                tracing::info!(distribution, origin, "distribution or origin no longer exists; removing it from state");
                resp.state = Value::Null;
            }
            Err(e) => resp.diagnostics.error("Could not read the distribution", e.to_string()),
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        if SHIELD.iter().all(|a| req.planned.attr(a) == req.prior.attr(a)) {
            // Only settings this provider reads changed: CloudFront has nothing to do.
            resp.state = req.prior.clone();
            for attr in ["wait_for_deployment", "on_destroy", "timeouts"] {
                resp.state.set_attr(attr, req.planned.attr(attr).clone());
            }
            return;
        }
        resp.state = Self::write_and_read(ctx, req.planned, req.prior, req.timeout, &mut resp.diagnostics).await;
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        if req.prior.attr("on_destroy").as_str() == Some("retain") {
            return;
        }
        let (distribution, origin) = (req.prior.str_attr("distribution_id"), req.prior.str_attr("origin_id"));
        // `restore` puts back the shield found at adoption; a state from before originals were
        // recorded has none, and is turned off as `disable` did.
        let restore = req.prior.attr("on_destroy").as_str() == Some("restore");
        let wanted = match req.prior.attr("original_enabled").as_bool() {
            Some(enabled) if restore => Wanted { enabled, region: req.prior.attr("original_shield_region").as_str().map(str::to_string) },
            _ => Wanted { enabled: false, region: None },
        };
        match Self::write(ctx, distribution, origin, &wanted).await {
            Ok((wrote, _)) => {
                if wrote && req.prior.attr("wait_for_deployment").as_bool() != Some(false) {
                    if let Err(e) = Self::deployed(ctx, distribution, Instant::now() + req.timeout).await {
                        let (summary, done) = if wanted.enabled {
                            ("Origin Shield is not deployed as restored yet", "put back as found")
                        } else {
                            ("Origin Shield is not deployed off yet", "turned off")
                        };
                        resp.diagnostics.error(summary, format!("It was {done}, but {e}"));
                    }
                }
            }
            // Nothing left to turn off.
            Err(WriteError::NoDistribution(_) | WriteError::NoOrigin { .. }) => {}
            Err(e) => resp
                .diagnostics
                .error(if wanted.enabled { "Could not restore Origin Shield" } else { "Could not turn Origin Shield off" }, e.to_string()),
        }
    }

    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let parsed = id.split_once('/').ok_or_else(|| "has no \"/\"".to_string()).and_then(|(distribution, origin)| {
            distribution_id_problem(distribution).map_err(|why| format!("distribution id {why}"))?;
            origin_id_problem(origin).map_err(|why| format!("origin id {why}"))?;
            Ok((distribution, origin))
        });
        match parsed {
            Ok((distribution, origin)) => Some(Value::object([
                ("id", Value::from(id)),
                ("distribution_id", Value::from(distribution)),
                ("origin_id", Value::from(origin)),
            ])),
            Err(why) => {
                diags.error(
                    "Invalid import ID",
                    format!("Import a scaling_origin_shield as DISTRIBUTION_ID/ORIGIN_ID (e.g. E2QWRUHAPOMQZL/api-origin); {id:?} {why}."),
                );
                None
            }
        }
    }
}
