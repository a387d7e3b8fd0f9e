//! Terraform's type system, values, wire codecs, schema model and diagnostics.
//!
//! Nothing in this crate does I/O: the provider's protocol adapter converts between these types
//! and tfplugin6 messages, and resources work only with what is defined here.

pub mod diag;
pub mod json;
pub mod msgpack;
pub mod path;
pub mod plan_modifier;
pub mod schema;
pub mod types;
pub mod validator;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use path::{AttributePath, PathStep};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use types::Type;
pub use value::{Number, Value};

/// Failure to decode or encode a value against its type.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("malformed input: {0}")]
    Malformed(String),
    #[error("at {path}: expected {expected}, found {found}")]
    Mismatch { path: String, expected: String, found: String },
    #[error("at {path}: unknown values cannot be encoded as JSON state")]
    UnknownInState { path: String },
    #[error("invalid type description: {0}")]
    InvalidType(String),
}
