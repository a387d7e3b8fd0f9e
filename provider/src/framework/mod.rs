//! A protocol-free provider framework in the spirit of terraform-plugin-framework's `fwserver`:
//! one handler per RPC working on schema values, `Resource` and `DataSource` traits with
//! request/response structs carrying diagnostics, schema-driven validation and planning, timeouts and import.
//! The tfplugin6 adapter in `crate::server` converts to and from the wire.

mod plan;
mod server;
pub mod timeouts;
pub mod wait;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scaling_schema::{AttributePath, Diagnostics, Schema, Value};
use tokio_util::sync::CancellationToken;

pub use plan::reconcile_with_plan;
pub use server::{only_stopped, unknown_data_source, unknown_resource, ImportedResource, PlanResult, ProviderServer};
pub use timeouts::Timeouts;

/// What every resource operation may use: what the provider's configuration produced (its
/// API clients, of a type the framework does not know) and the stop signal that
/// `StopProvider` fires, which waits must honour.
pub struct Context<C> {
    pub clients: Arc<C>,
    pub stop: CancellationToken,
}

impl<C> Clone for Context<C> {
    fn clone(&self) -> Self {
        Context { clients: self.clients.clone(), stop: self.stop.clone() }
    }
}

/// The provider itself: its configuration schema and how configuration becomes clients.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What configuring produces and every resource operation receives (plugin-framework's
    /// ProviderData), opaque to the framework.
    type Clients: Send + Sync + 'static;
    /// The name users know the provider by, for messages the framework writes.
    fn name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Checks that need no I/O; `config` may hold unknowns.
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    /// `stop` fires on `StopProvider`: clients should end calls in flight when it does.
    async fn configure(&self, config: &Value, stop: CancellationToken, diags: &mut Diagnostics) -> Option<Self::Clients>;
}

pub struct PlanRequest<'a> {
    pub config: &'a Value,
    /// Null when creating.
    pub prior: &'a Value,
}

/// The plan as built so far: the resource may adjust values, add replacement paths and
/// warnings.
pub struct PlanResponse {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

pub struct CreateRequest<'a> {
    pub config: &'a Value,
    pub planned: &'a Value,
    pub timeout: Duration,
}

/// `state` stays null until something exists; once it is set, a later error still records the
/// object in Terraform's state (tainted) so nothing is orphaned.
#[derive(Default)]
pub struct CreateResponse {
    pub state: Value,
    pub diagnostics: Diagnostics,
}

pub struct ReadRequest<'a> {
    pub state: &'a Value,
}

/// `state` null means the object no longer exists: Terraform drops it and plans a create.
#[derive(Default)]
pub struct ReadResponse {
    pub state: Value,
    pub diagnostics: Diagnostics,
}

pub struct UpdateRequest<'a> {
    pub config: &'a Value,
    pub prior: &'a Value,
    pub planned: &'a Value,
    pub timeout: Duration,
}

/// Starts as the prior state; each completed step should be recorded so a failure half-way
/// still reports what the object now is.
pub struct UpdateResponse {
    pub state: Value,
    pub diagnostics: Diagnostics,
}

pub struct DeleteRequest<'a> {
    pub prior: &'a Value,
    pub timeout: Duration,
}

#[derive(Default)]
pub struct DeleteResponse {
    pub diagnostics: Diagnostics,
}

/// One resource type, served with the clients `C` its provider configures.
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Defaults for the `timeouts` block, when the schema has one.
    fn default_timeouts(&self) -> Timeouts {
        Timeouts::default()
    }
    /// Cross-attribute checks beyond per-attribute validators; `config` may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Runs after defaults, computed unknowns and attribute plan modifiers. `ctx` is None while
    /// the provider is not configured yet (its configuration may depend on other resources),
    /// so checks that need an API must be skipped then.
    async fn modify_plan(&self, _ctx: Option<&Context<C>>, _req: &PlanRequest<'_>, _resp: &mut PlanResponse) {}
    async fn create(&self, ctx: &Context<C>, req: CreateRequest<'_>, resp: &mut CreateResponse);
    async fn read(&self, ctx: &Context<C>, req: ReadRequest<'_>, resp: &mut ReadResponse);
    async fn update(&self, ctx: &Context<C>, req: UpdateRequest<'_>, resp: &mut UpdateResponse);
    async fn delete(&self, ctx: &Context<C>, req: DeleteRequest<'_>, resp: &mut DeleteResponse);
    /// The partial state an import ID stands for; `read` completes it. The ID format belongs in
    /// the resource's documentation.
    fn import_state(&self, id: &str, diags: &mut Diagnostics) -> Option<Value>;
}

pub struct ReadDataRequest<'a> {
    pub config: &'a Value,
}

/// `state` is the configuration with every computed attribute filled in.
#[derive(Default)]
pub struct ReadDataResponse {
    pub state: Value,
    pub diagnostics: Diagnostics,
}

/// One data source type, served with the clients `C` its provider configures: read at plan
/// time, nothing stored between runs.
#[async_trait]
pub trait DataSource<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Cross-attribute checks beyond per-attribute validators; `config` may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn read(&self, ctx: &Context<C>, req: ReadDataRequest<'_>, resp: &mut ReadDataResponse);
}
