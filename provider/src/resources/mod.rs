//! One module per resource.

pub(crate) mod adopt;
pub mod connection_pool;
pub mod db_instance_class;
pub mod node_group;
pub mod origin_shield;
pub mod profile;
pub mod read_replica;
pub mod redis_shard_config;

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
