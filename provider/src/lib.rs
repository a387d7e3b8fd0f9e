//! terraform-provider-scaling: the scaling runbook as Terraform resources.

pub mod aws;
pub mod batch;
pub mod clients;
pub mod config;
pub mod data_sources;
pub mod error_chain;
pub mod framework;
pub mod kube_apply;
pub mod kube_error;
pub mod kube_list;
pub mod plugin;
pub mod proto;
pub mod refresh;
pub mod resources;
pub mod server;
pub mod stop;

use std::sync::Arc;

/// The provider with every resource and data source registered.
pub fn provider_server() -> Arc<framework::ProviderServer<config::ScalingProvider>> {
    Arc::new(framework::ProviderServer::new(config::ScalingProvider, resources::all(), data_sources::all()))
}
