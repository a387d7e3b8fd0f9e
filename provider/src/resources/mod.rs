//! One module per resource.

pub mod read_replica;

use crate::framework::Resource;

pub fn all() -> Vec<Box<dyn Resource>> {
    vec![Box::new(read_replica::ReadReplica)]
}
