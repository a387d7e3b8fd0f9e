//! Everything the provider asks a Kubernetes API server, below the resources: errors in words
//! a Terraform user can act on (`error`), server-side apply and field ownership (`apply`), a
//! refresh's shared listings (`list`), namespace look-ups (`namespace`) and name shapes (`names`).

pub mod apply;
pub mod error;
pub mod list;
pub mod names;
pub mod namespace;
