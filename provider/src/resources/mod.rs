//! One module per resource.

pub mod connection_pool;
pub mod db_instance_class;
pub mod node_group;
pub mod origin_shield;
pub mod profile;
pub mod read_replica;
pub mod redis_shard_config;

use scaling_schema::{AttributePath, Diagnostics};

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

/// An object an adopting resource needs that is not there at plan time. A warning, not an
/// error: the object may come from this same apply (`aws_db_instance.x.identifier` is known at
/// plan), and a `terraform destroy` plans with the configuration before it destroys, so an
/// error here would block destroying everything once the object is gone. Create fails, with
/// nothing changed, if the object is still missing then.
pub(crate) fn missing_at_plan(diags: &mut Diagnostics, path: AttributePath, summary: &str, missing: String) {
    diags.warning_at(
        path,
        summary,
        format!(
            "{missing} The plan goes on in case another resource in this apply creates it; if it is still missing when this \
             resource is created, the apply fails there and changes nothing."
        ),
    );
}
