//! One handler per RPC, on values rather than wire messages.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use scaling_schema::{AttributePath, Diagnostics, Schema, Severity, Type, Value};
use tokio_util::sync::CancellationToken;

use super::plan::{fill_defaults, plan_change, reconcile_with_plan, strip_unknowns};
use super::{
    Context, CreateRequest, CreateResponse, DataSource, DeleteRequest, DeleteResponse, PlanRequest, PlanResponse, Provider,
    ReadDataRequest, ReadDataResponse, ReadRequest, ReadResponse, Resource, Timeouts, UpdateRequest, UpdateResponse,
};

struct RegisteredData<C: Send + Sync + 'static> {
    source: Box<dyn DataSource<C>>,
    schema: Schema,
    ty: Type,
}

struct Registered<C: Send + Sync + 'static> {
    resource: Box<dyn Resource<C>>,
    schema: Schema,
    ty: Type,
    timeouts: Timeouts,
}

/// What `ConfigureProvider` left behind.
enum Configuration<C> {
    NotYet,
    /// Some settings come from resources not created yet (Terraform sends them unknown during
    /// plan): no API may be reached, since the fallbacks (AWS_REGION, the current kube context)
    /// could name another region or cluster.
    Unknown,
    Ready(Arc<C>),
}

pub struct ProviderServer<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_type: Type,
    resources: BTreeMap<&'static str, Registered<P::Clients>>,
    data_sources: BTreeMap<&'static str, RegisteredData<P::Clients>>,
    configuration: RwLock<Configuration<P::Clients>>,
    stop: CancellationToken,
}

pub struct PlanResult {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

pub struct ImportedResource {
    pub type_name: String,
    pub state: Value,
}

pub fn unknown_data_source(type_name: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error("Unknown data source type", format!("This provider has no data source type {type_name:?}."));
    d
}

pub fn unknown_resource(type_name: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error("Unknown resource type", format!("This provider has no resource type {type_name:?}."));
    d
}

impl<P: Provider> ProviderServer<P> {
    pub fn new(
        provider: P,
        resources: Vec<Box<dyn Resource<P::Clients>>>,
        data_sources: Vec<Box<dyn DataSource<P::Clients>>>,
    ) -> ProviderServer<P> {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.block.value_type();
        let resources = resources
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                let ty = schema.block.value_type();
                let timeouts = resource.default_timeouts();
                (resource.type_name(), Registered { resource, schema, ty, timeouts })
            })
            .collect();
        let data_sources = data_sources
            .into_iter()
            .map(|source| {
                let schema = source.schema();
                let ty = schema.block.value_type();
                (source.type_name(), RegisteredData { source, schema, ty })
            })
            .collect();
        ProviderServer {
            provider,
            provider_schema,
            provider_type,
            resources,
            data_sources,
            configuration: RwLock::new(Configuration::NotYet),
            stop: CancellationToken::new(),
        }
    }

    pub fn provider_schema(&self) -> &Schema {
        &self.provider_schema
    }

    pub fn provider_type(&self) -> &Type {
        &self.provider_type
    }

    pub fn resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.resources.iter().map(|(name, r)| (*name, &r.schema))
    }

    /// The value type of a resource, for decoding its wire values.
    pub fn resource_type(&self, type_name: &str) -> Option<&Type> {
        self.resources.get(type_name).map(|r| &r.ty)
    }

    pub fn data_source_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.data_sources.iter().map(|(name, d)| (*name, &d.schema))
    }

    /// The value type of a data source, for decoding its wire values.
    pub fn data_source_type(&self, type_name: &str) -> Option<&Type> {
        self.data_sources.get(type_name).map(|d| &d.ty)
    }

    pub fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let Some(d) = self.data_sources.get(type_name) else { return unknown_data_source(type_name) };
        let mut diags = Diagnostics::new();
        d.schema.block.validate(config, &AttributePath::root(), &mut diags);
        d.source.validate(config, &mut diags);
        diags
    }

    /// Reads a data source: its configuration with every computed attribute filled in.
    pub async fn read_data_source(&self, type_name: &str, config: &Value) -> (Value, Diagnostics) {
        let Some(d) = self.data_sources.get(type_name) else { return (Value::Null, unknown_data_source(type_name)) };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(diags) => return (Value::Null, diags),
        };
        let mut resp = ReadDataResponse::default();
        d.source.read(&ctx, ReadDataRequest { config }, &mut resp).await;
        if resp.diagnostics.has_errors() {
            return (Value::Null, resp.diagnostics);
        }
        (complete_object(&d.ty, strip_unknowns(&resp.state)), resp.diagnostics)
    }

    fn registered(&self, type_name: &str) -> Result<&Registered<P::Clients>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| unknown_resource(type_name))
    }

    fn context(&self) -> Result<Context<P::Clients>, Diagnostics> {
        let name = self.provider.name();
        let (summary, detail) = match self.configuration.read().as_deref() {
            Ok(Configuration::Ready(clients)) => return Ok(Context { clients: clients.clone(), stop: self.stop.clone() }),
            Ok(Configuration::Unknown) => (
                "Provider configuration not known yet",
                format!(
                    "Some settings of the {name} provider come from values known only after apply, so no API can be \
                     reached yet. Apply the resources they come from first (terraform apply -target=...)."
                ),
            ),
            _ => (
                "Provider not configured",
                format!(
                    "The {name} provider was asked to reach an API before Terraform configured it. \
                     This is a bug in Terraform or the provider; please report it."
                ),
            ),
        };
        let mut d = Diagnostics::new();
        d.error(summary, detail);
        Err(d)
    }

    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        self.provider_schema.block.validate(config, &AttributePath::root(), &mut diags);
        self.provider.validate(config, &mut diags);
        diags
    }

    pub async fn configure_provider(&self, config: &Value) -> Diagnostics {
        let mut diags = self.validate_provider_config(config);
        if diags.has_errors() {
            return diags;
        }
        let configuration = if !config.is_wholly_known() {
            tracing::debug!("provider settings are not known yet; reads keep the prior state until they are");
            Configuration::Unknown
        } else {
            match self.provider.configure(config, self.stop.clone(), &mut diags).await {
                Some(clients) => Configuration::Ready(Arc::new(clients)),
                None => Configuration::NotYet,
            }
        };
        if let Ok(mut slot) = self.configuration.write() {
            *slot = configuration;
        }
        diags
    }

    pub fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return d,
        };
        let mut diags = Diagnostics::new();
        r.schema.block.validate(config, &AttributePath::root(), &mut diags);
        r.resource.validate(config, &mut diags);
        diags
    }

    /// Reads state stored by any earlier version of this resource's schema. There has only been
    /// version 0 so far, so upgrading is decoding against the current type, which drops
    /// attributes that no longer exist and reads new optional ones as null; a required one
    /// missing means the state was edited (a new required attribute needs a schema version and
    /// an upgrade of its own).
    pub fn upgrade_resource_state(&self, type_name: &str, version: i64, raw_json: &[u8]) -> (Value, Diagnostics) {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return (Value::Null, d),
        };
        let mut diags = Diagnostics::new();
        if version > r.schema.version {
            diags.error(
                "State written by a newer provider",
                format!(
                    "This {type_name} was stored with schema version {version}, newer than this provider's {}. \
                     Use the provider version that wrote it.",
                    r.schema.version
                ),
            );
            return (Value::Null, diags);
        }
        match scaling_schema::json::decode(raw_json, &r.ty) {
            Ok(v) => {
                // A state missing what names its object (hand-edited, say) would read as an
                // object that is gone, and plan a second one: refuse it instead.
                if let Some(missing) = r.schema.block.attributes.iter().find(|a| a.required && v.attr(&a.name).is_null()) {
                    diags.error_at(
                        AttributePath::of(&missing.name),
                        "Incomplete state",
                        format!(
                            "The stored state of this {type_name} has no {0}, which every {type_name} has. Restore the state \
                             from a backup, or remove it from state (terraform state rm) and import the object again.",
                            missing.name
                        ),
                    );
                    return (Value::Null, diags);
                }
                (v, diags)
            }
            Err(e) => {
                diags.error(
                    "Unreadable state",
                    format!(
                        "The stored state of this {type_name} cannot be read: {e}. It was changed by hand or by another tool; \
                         restore it from a backup, or remove it from state (terraform state rm) and import the object again."
                    ),
                );
                (Value::Null, diags)
            }
        }
    }

    pub async fn read_resource(&self, type_name: &str, state: &Value) -> (Value, Diagnostics) {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return (state.clone(), d),
        };
        if matches!(self.configuration.read().as_deref(), Ok(Configuration::Unknown)) {
            // As terraform-plugin-framework does: without knowing which region or cluster to
            // ask, the prior state is the best answer, and the plan proceeds on it.
            return (state.clone(), Diagnostics::new());
        }
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (state.clone(), d),
        };
        let mut resp = ReadResponse::default();
        r.resource.read(&ctx, ReadRequest { state }, &mut resp).await;
        if resp.diagnostics.has_errors() {
            // A failed read must not lose the object: keep what we knew.
            return (state.clone(), resp.diagnostics);
        }
        let mut new_state = strip_unknowns(&resp.state);
        if !new_state.is_null() {
            fill_defaults(&r.schema.block, &mut new_state);
        }
        (new_state, resp.diagnostics)
    }

    pub async fn plan_resource_change(&self, type_name: &str, prior: &Value, proposed: &Value, config: &Value) -> PlanResult {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return PlanResult { planned: proposed.clone(), requires_replace: Vec::new(), diagnostics: d },
        };
        if proposed.is_null() {
            // Destroy: nothing to plan.
            return PlanResult { planned: Value::Null, requires_replace: Vec::new(), diagnostics: Diagnostics::new() };
        }
        let mut diagnostics = Diagnostics::new();
        let planned = plan_change(&r.schema.block, prior, proposed, config, &mut diagnostics);
        let mut resp = PlanResponse { planned: planned.value, requires_replace: planned.requires_replace, diagnostics };
        let ctx = self.context().ok();
        r.resource.modify_plan(ctx.as_ref(), &PlanRequest { config, prior }, &mut resp).await;
        PlanResult { planned: resp.planned, requires_replace: resp.requires_replace, diagnostics: resp.diagnostics }
    }

    pub async fn apply_resource_change(&self, type_name: &str, prior: &Value, planned: &Value, config: &Value) -> (Value, Diagnostics) {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return (prior.clone(), d),
        };
        let ctx = match self.context() {
            Ok(c) => c,
            Err(d) => return (prior.clone(), d),
        };
        if planned.is_null() {
            let timeout = r.timeouts.resolve(prior).delete;
            let mut resp = DeleteResponse::default();
            r.resource.delete(&ctx, DeleteRequest { prior, timeout }, &mut resp).await;
            // On failure the object may still exist: keep it in state.
            let state = if resp.diagnostics.has_errors() { prior.clone() } else { Value::Null };
            return (state, resp.diagnostics);
        }
        let (actual, diagnostics) = if prior.is_null() {
            let timeout = r.timeouts.resolve(planned).create;
            let mut resp = CreateResponse::default();
            r.resource.create(&ctx, CreateRequest { config, planned, timeout }, &mut resp).await;
            if self.stop.is_cancelled() && !resp.state.is_null() && resp.diagnostics.has_errors() && only_stopped(&resp.diagnostics) {
                // Interrupted (Ctrl-C) once the object existed: what failed is the wait, not the
                // object. Errors would taint it, and the next apply would replace it, making a
                // second one; as warnings, the object is kept and the next apply goes on from it.
                tracing::info!(type_name, "create interrupted after the object was made; recording it untainted");
                let mut diagnostics = resp.diagnostics.as_warnings();
                diagnostics.warning(
                    "Interrupted; the object is recorded",
                    format!(
                        "The {type_name} was created before Terraform stopped; the next plan reads where it got to and goes on from there."
                    ),
                );
                // As on success: known planned values stand, so Terraform finds no inconsistency.
                return (reconcile_with_plan(planned, &strip_unknowns(&resp.state), &AttributePath::root()), diagnostics);
            }
            (resp.state, resp.diagnostics)
        } else {
            let timeout = r.timeouts.resolve(planned).update;
            let mut resp = UpdateResponse { state: prior.clone(), diagnostics: Diagnostics::new() };
            r.resource.update(&ctx, UpdateRequest { config, prior, planned, timeout }, &mut resp).await;
            (resp.state, resp.diagnostics)
        };
        if diagnostics.has_errors() {
            // Terraform records what exists (tainting a half-made object); the plan no longer binds.
            return (strip_unknowns(&actual), diagnostics);
        }
        if actual.is_null() {
            let mut d = diagnostics;
            d.error("Provider returned no state", format!("The {type_name} reported success but no state. This is a bug in the provider."));
            return (Value::Null, d);
        }
        (reconcile_with_plan(planned, &actual, &AttributePath::root()), diagnostics)
    }

    pub fn import_resource_state(&self, type_name: &str, id: &str) -> (Vec<ImportedResource>, Diagnostics) {
        let r = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return (Vec::new(), d),
        };
        let mut diags = Diagnostics::new();
        match r.resource.import_state(id, &mut diags) {
            Some(state) if !diags.has_errors() => {
                (vec![ImportedResource { type_name: type_name.to_string(), state: complete_object(&r.ty, state) }], diags)
            }
            _ => (Vec::new(), diags),
        }
    }

    /// `StopProvider`: every wait in progress ends now.
    pub fn stop(&self) {
        tracing::info!("stop requested: ending in-flight waits");
        self.stop.cancel();
    }
}

/// Gives an object every attribute of its type, null where absent.
fn complete_object(ty: &Type, value: Value) -> Value {
    match (ty, value) {
        (Type::Object(attrs), Value::Object(mut m)) => {
            for name in attrs.keys() {
                m.entry(name.clone()).or_insert(Value::Null);
            }
            m.retain(|k, _| attrs.contains_key(k));
            Value::Object(m)
        }
        (_, v) => v,
    }
}

/// Whether every error in `diags` is one that Terraform's stop (Ctrl-C) caused: what failed
/// is then a wait, not the object, and an object already made is recorded untainted.
pub fn only_stopped(diags: &Diagnostics) -> bool {
    diags.iter().filter(|d| d.severity == Severity::Error).all(|d| d.detail.contains("stopped by Terraform"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use scaling_schema::{Attribute, Block, Diagnostics, Schema, Type, Value};

    use super::*;
    use crate::framework::wait::{Acceptor, Waiter};
    use crate::framework::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
    };

    /// A provider that is not this one, whose configuration produces only the region it was
    /// given: the framework serves any provider's clients.
    struct TestProvider;

    #[async_trait]
    impl Provider for TestProvider {
        type Clients = String;
        fn name(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> Schema {
            Schema { version: 0, block: Block::new("test").attribute(Attribute::optional("region", Type::String)) }
        }
        fn validate(&self, _: &Value, _: &mut Diagnostics) {}
        async fn configure(&self, config: &Value, _: CancellationToken, _: &mut Diagnostics) -> Option<String> {
            Some(config.attr("region").as_str().unwrap_or_default().to_string())
        }
    }

    /// A resource whose object exists as soon as create starts and never becomes ready.
    struct NeverReady;

    #[async_trait]
    impl Resource<String> for NeverReady {
        fn type_name(&self) -> &'static str {
            "test_never_ready"
        }
        fn schema(&self) -> Schema {
            Schema {
                version: 0,
                block: Block::new("test")
                    .attribute(Attribute::computed("id", Type::String))
                    .attribute(Attribute::required("name", Type::String)),
            }
        }
        async fn create(&self, ctx: &Context<String>, req: CreateRequest<'_>, resp: &mut CreateResponse) {
            let mut state = req.planned.clone();
            state.set_attr("id", Value::from("made-1"));
            resp.state = state;
            let waited: Result<(), _> = Waiter::new(req.timeout)
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .wait("the object to become ready", &ctx.stop, || async { Ok::<_, String>(Acceptor::Retry("creating".into())) })
                .await;
            if let Err(e) = waited {
                resp.diagnostics.error("Not ready", e.to_string());
            }
        }
        async fn read(&self, ctx: &Context<String>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
            resp.state = req.state.clone();
            resp.state.set_attr("id", Value::from(format!("refreshed in {}", ctx.clients)));
        }
        async fn update(&self, _: &Context<String>, _: UpdateRequest<'_>, _: &mut UpdateResponse) {}
        async fn delete(&self, _: &Context<String>, _: DeleteRequest<'_>, _: &mut DeleteResponse) {}
        fn import_state(&self, _: &str, _: &mut Diagnostics) -> Option<Value> {
            None
        }
    }

    #[tokio::test]
    async fn stop_provider_ends_a_waiting_create_and_records_what_exists_untainted() {
        let server = Arc::new(ProviderServer::new(TestProvider, vec![Box::new(NeverReady)], Vec::new()));
        let configured = server.configure_provider(&Value::object([("region", Value::from("us-east-1"))])).await;
        assert!(!configured.has_errors(), "{configured:?}");
        let planned = Value::object([("id", Value::Unknown), ("name", Value::from("x"))]);
        let config = Value::object([("id", Value::Null), ("name", Value::from("x"))]);
        let applying = server.clone();
        let apply = tokio::spawn(async move { applying.apply_resource_change("test_never_ready", &Value::Null, &planned, &config).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!apply.is_finished(), "the create must still be waiting");
        server.stop();
        let (state, diags) = tokio::time::timeout(Duration::from_secs(10), apply).await.expect("apply ends after stop").unwrap();
        assert_eq!(state.attr("id").as_str(), Some("made-1"), "the object that exists must be in the returned state");
        let detail = diags.iter().map(|d| d.detail.clone()).collect::<Vec<_>>().join("\n");
        assert!(detail.contains("stopped by Terraform"), "{detail}");
        assert!(!diags.has_errors(), "as warnings: an error would taint the object and the next apply replace it: {diags:?}");
    }

    #[tokio::test]
    async fn unknown_provider_settings_keep_the_prior_state_and_reach_no_api() {
        let server = ProviderServer::new(TestProvider, vec![Box::new(NeverReady)], Vec::new());
        let configured = server.configure_provider(&Value::object([("region", Value::Unknown)])).await;
        assert!(!configured.has_errors(), "{configured:?}");
        let state = Value::object([("id", Value::from("made-1")), ("name", Value::from("x"))]);
        let (read, diags) = server.read_resource("test_never_ready", &state).await;
        assert_eq!(read, state, "the resource must not be asked while the provider settings are unknown");
        assert_eq!(diags.iter().count(), 0, "{diags:?}");
        let (_, diags) = server.apply_resource_change("test_never_ready", &Value::Null, &state, &state).await;
        assert!(diags.iter().any(|d| d.summary == "Provider configuration not known yet"), "{diags:?}");

        // Once Terraform configures it with known values, reads reach the resource again.
        let configured = server.configure_provider(&Value::object([("region", Value::from("us-east-1"))])).await;
        assert!(!configured.has_errors(), "{configured:?}");
        let (read, _) = server.read_resource("test_never_ready", &state).await;
        assert_eq!(read.attr("id").as_str(), Some("refreshed in us-east-1"));
    }

    #[tokio::test]
    async fn resources_are_refused_before_configuration() {
        let server = ProviderServer::new(TestProvider, vec![Box::new(NeverReady)], Vec::new());
        let (_, diags) = server.read_resource("test_never_ready", &Value::object([("name", Value::from("x"))])).await;
        assert!(diags.iter().any(|d| d.summary == "Provider not configured"));
    }
}
