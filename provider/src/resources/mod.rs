//! One module per resource.

pub(crate) mod adopt;
pub mod connection_pool;
pub mod db_instance_class;
pub mod node_group;
pub mod origin_shield;
pub mod profile;
pub mod read_replica;
pub mod redis_shard_config;

use scaling_schema::{AttributePath, Diagnostics};

use crate::aws::error::ClientError;
use crate::clients::Clients;
use crate::framework::Resource;

/// What this provider's resource operations receive: its API clients and the stop signal.
pub type Context = crate::framework::Context<Clients>;

pub fn all() -> Vec<Box<dyn Resource<Clients>>> {
    vec![
        Box::new(profile::ScalingProfile),
        Box::new(read_replica::ReadReplica),
        Box::new(redis_shard_config::RedisShardConfig),
        Box::new(origin_shield::OriginShield),
        Box::new(db_instance_class::DbInstanceClass),
        Box::new(node_group::NodeGroup),
        Box::new(connection_pool::ConnectionPool),
    ]
}

/// The AWS client (or configuration) `found` is, or an error diagnostic saying why there is
/// none (no region, say): the one place a resource finds the provider's AWS settings missing.
/// At plan, so that a configuration without AWS resources needs no AWS settings.
pub(crate) fn aws_configured<T>(found: Result<T, ClientError>, diags: &mut Diagnostics) -> Option<T> {
    found.map_err(|e| diags.error("AWS is not configured", e.to_string())).ok()
}

/// At plan, an object this resource makes or edits in a namespace that does not exist: named
/// now, before the apply makes anything else, as a missing adopted object is (a warning, since
/// a `kubernetes_namespace` or Helm release in the same apply may create it). True when said.
pub(crate) async fn namespace_missing_at_plan(ctx: &Context, namespace: &str, object: &str, diags: &mut Diagnostics) -> bool {
    match ctx.clients.kube_namespace_exists(namespace).await {
        Ok(Some(false)) => {
            adopt::missing_at_plan(
                diags,
                AttributePath::of("namespace"),
                "No such namespace yet",
                format!("Namespace {namespace} does not exist; {object} needs it."),
            );
            true
        }
        Ok(_) => false,
        // Stopped: Terraform says so itself.
        Err(_) if ctx.stop.is_cancelled() => false,
        Err(e) => {
            diags.warning_at(AttributePath::of("namespace"), "Could not check the namespace", e);
            false
        }
    }
}
