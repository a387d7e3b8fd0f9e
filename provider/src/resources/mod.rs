//! One module per resource.

pub mod profile;
pub mod read_replica;

use crate::framework::Resource;

pub fn all() -> Vec<Box<dyn Resource>> {
    vec![Box::new(profile::ScalingProfile), Box::new(read_replica::ReadReplica)]
}
