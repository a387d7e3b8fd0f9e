//! One module per data source.

pub mod capacity;

use crate::clients::Clients;
use crate::framework::DataSource;

pub fn all() -> Vec<Box<dyn DataSource<Clients>>> {
    vec![Box::new(capacity::Capacity)]
}
