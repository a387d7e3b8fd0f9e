//! Everything the provider asks AWS, one module per service, below the resources: errors
//! classified once (`error`), name shapes checked at plan (`names`), and per service the
//! look-ups (coalesced, and shared by a refresh) and the waits on what the service reports.
//! Nothing here knows a resource: a wait gets its look-ups and Terraform's stop signal from
//! its caller.

pub mod cloudfront;
pub mod cloudwatch;
pub mod eks;
pub mod elasticache;
pub mod error;
pub mod names;
pub mod rds;
