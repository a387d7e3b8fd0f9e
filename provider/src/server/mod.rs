//! The tfplugin6 `Provider` gRPC service: decodes each request, calls the framework's handler
//! for that RPC, encodes the answer. No resource logic lives here.

mod convert;

use std::sync::Arc;

use scaling_schema::{Diagnostics, Value};
use tonic::{Request, Response, Status};

use crate::framework::{unknown_data_source, unknown_resource, Provider as FrameworkProvider, ProviderServer};
use crate::proto::tfplugin6 as pb;
use pb::provider_server::Provider;

pub struct Proto6Server<P: FrameworkProvider> {
    inner: Arc<ProviderServer<P>>,
}

impl<P: FrameworkProvider> Proto6Server<P> {
    pub fn new(inner: Arc<ProviderServer<P>>) -> Proto6Server<P> {
        Proto6Server { inner }
    }
}

/// The whole GetProviderSchema answer.
fn provider_schema_response<P: FrameworkProvider>(server: &ProviderServer<P>) -> pb::get_provider_schema::Response {
    pb::get_provider_schema::Response {
        provider: Some(convert::schema(server.provider_schema())),
        resource_schemas: server.resource_schemas().map(|(name, s)| (name.to_string(), convert::schema(s))).collect(),
        data_source_schemas: server.data_source_schemas().map(|(name, s)| (name.to_string(), convert::schema(s))).collect(),
        diagnostics: Vec::new(),
        provider_meta: None,
    }
}

#[tonic::async_trait]
impl<P: FrameworkProvider> Provider for Proto6Server<P> {
    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(provider_schema_response(&self.inner)))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = request.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(config) = convert::decode(req.config.as_ref(), self.inner.provider_type(), "provider configuration", &mut diags) {
            diags.extend(self.inner.validate_provider_config(&config));
        }
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.resource_type(&req.type_name) else {
            let d = unknown_resource(&req.type_name);
            return Ok(Response::new(pb::validate_resource_config::Response { diagnostics: convert::diagnostics(d) }));
        };
        let mut diags = Diagnostics::new();
        if let Some(config) = convert::decode(req.config.as_ref(), ty, "resource configuration", &mut diags) {
            diags.extend(self.inner.validate_resource_config(&req.type_name, &config));
        }
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.data_source_type(&req.type_name) else {
            let d = unknown_data_source(&req.type_name);
            return Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: convert::diagnostics(d) }));
        };
        let mut diags = Diagnostics::new();
        if let Some(config) = convert::decode(req.config.as_ref(), ty, "data source configuration", &mut diags) {
            diags.extend(self.inner.validate_data_source_config(&req.type_name, &config));
        }
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.resource_type(&req.type_name).cloned() else {
            let d = unknown_resource(&req.type_name);
            return Ok(Response::new(pb::upgrade_resource_state::Response { upgraded_state: None, diagnostics: convert::diagnostics(d) }));
        };
        let raw = req.raw_state.unwrap_or_default();
        let mut diags = Diagnostics::new();
        let value = if !raw.json.is_empty() {
            let (v, d) = self.inner.upgrade_resource_state(&req.type_name, req.version, &raw.json);
            diags.extend(d);
            v
        } else if !raw.flatmap.is_empty() {
            diags.error(
                "Legacy state format",
                "This state is in the flatmap format of Terraform 0.11 and older, which this provider never wrote.",
            );
            Value::Null
        } else {
            Value::Null
        };
        let upgraded_state = if diags.has_errors() { None } else { convert::encode(&value, &ty, &mut diags) };
        Ok(Response::new(pb::upgrade_resource_state::Response { upgraded_state, diagnostics: convert::diagnostics(diags) }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(terraform_version = %req.terraform_version, "configuring");
        let mut diags = Diagnostics::new();
        if let Some(config) = convert::decode(req.config.as_ref(), self.inner.provider_type(), "provider configuration", &mut diags) {
            diags.extend(self.inner.configure_provider(&config).await);
        }
        Ok(Response::new(pb::configure_provider::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn read_resource(&self, request: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.resource_type(&req.type_name).cloned() else {
            let d = unknown_resource(&req.type_name);
            return Ok(Response::new(pb::read_resource::Response {
                new_state: req.current_state,
                diagnostics: convert::diagnostics(d),
                private: req.private,
            }));
        };
        let mut diags = Diagnostics::new();
        let Some(state) = convert::decode(req.current_state.as_ref(), &ty, "current state", &mut diags) else {
            return Ok(Response::new(pb::read_resource::Response {
                new_state: req.current_state,
                diagnostics: convert::diagnostics(diags),
                private: req.private,
            }));
        };
        let (new_state, d) = self.inner.read_resource(&req.type_name, &state).await;
        diags.extend(d);
        let new_state = convert::encode(&new_state, &ty, &mut diags).or(req.current_state);
        Ok(Response::new(pb::read_resource::Response { new_state, diagnostics: convert::diagnostics(diags), private: req.private }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.resource_type(&req.type_name).cloned() else {
            let d = unknown_resource(&req.type_name);
            return Ok(Response::new(pb::plan_resource_change::Response {
                planned_state: None,
                requires_replace: Vec::new(),
                planned_private: Vec::new(),
                diagnostics: convert::diagnostics(d),
            }));
        };
        let mut diags = Diagnostics::new();
        let prior = convert::decode(req.prior_state.as_ref(), &ty, "prior state", &mut diags);
        let proposed = convert::decode(req.proposed_new_state.as_ref(), &ty, "proposed new state", &mut diags);
        let config = convert::decode(req.config.as_ref(), &ty, "configuration", &mut diags);
        let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) else {
            return Ok(Response::new(pb::plan_resource_change::Response {
                planned_state: req.proposed_new_state,
                requires_replace: Vec::new(),
                planned_private: req.prior_private,
                diagnostics: convert::diagnostics(diags),
            }));
        };
        let plan = self.inner.plan_resource_change(&req.type_name, &prior, &proposed, &config).await;
        diags.extend(plan.diagnostics);
        let planned_state = convert::encode(&plan.planned, &ty, &mut diags);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: plan.requires_replace.iter().map(convert::attribute_path).collect(),
            planned_private: req.prior_private,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.resource_type(&req.type_name).cloned() else {
            let d = unknown_resource(&req.type_name);
            return Ok(Response::new(pb::apply_resource_change::Response {
                new_state: req.prior_state,
                private: req.planned_private,
                diagnostics: convert::diagnostics(d),
            }));
        };
        let mut diags = Diagnostics::new();
        let prior = convert::decode(req.prior_state.as_ref(), &ty, "prior state", &mut diags);
        let planned = convert::decode(req.planned_state.as_ref(), &ty, "planned state", &mut diags);
        let config = convert::decode(req.config.as_ref(), &ty, "configuration", &mut diags);
        let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) else {
            return Ok(Response::new(pb::apply_resource_change::Response {
                new_state: req.prior_state,
                private: req.planned_private,
                diagnostics: convert::diagnostics(diags),
            }));
        };
        let (new_state, d) = self.inner.apply_resource_change(&req.type_name, &prior, &planned, &config).await;
        diags.extend(d);
        let new_state = convert::encode(&new_state, &ty, &mut diags).or(req.prior_state);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: req.planned_private,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        let (imported, mut diags) = self.inner.import_resource_state(&req.type_name, &req.id);
        let mut imported_resources = Vec::new();
        for r in imported {
            let Some(ty) = self.inner.resource_type(&r.type_name) else { continue };
            if let Some(state) = convert::encode(&r.state, ty, &mut diags) {
                imported_resources.push(pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(state),
                    private: Vec::new(),
                });
            }
        }
        Ok(Response::new(pb::import_resource_state::Response { imported_resources, diagnostics: convert::diagnostics(diags) }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        let Some(ty) = self.inner.data_source_type(&req.type_name).cloned() else {
            let d = unknown_data_source(&req.type_name);
            return Ok(Response::new(pb::read_data_source::Response { state: None, diagnostics: convert::diagnostics(d) }));
        };
        let mut diags = Diagnostics::new();
        let Some(config) = convert::decode(req.config.as_ref(), &ty, "data source configuration", &mut diags) else {
            return Ok(Response::new(pb::read_data_source::Response { state: None, diagnostics: convert::diagnostics(diags) }));
        };
        let (state, d) = self.inner.read_data_source(&req.type_name, &config).await;
        diags.extend(d);
        let state = if diags.has_errors() { None } else { convert::encode(&state, &ty, &mut diags) };
        Ok(Response::new(pb::read_data_source::Response { state, diagnostics: convert::diagnostics(diags) }))
    }

    async fn stop_provider(&self, _: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        self.inner.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}
