//! Turning AWS SDK errors into messages a Terraform user can act on. Emulators and proxies
//! sometimes answer with bodies that are not AWS XML at all (an HTML 500 page, say), so the
//! message falls back to the HTTP status and the start of the body.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error_chain::chain;

pub fn describe<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let raw = service.raw();
            match (e.code(), e.message()) {
                (Some(code), Some(msg)) => format!("{operation}: {code}: {msg}"),
                (Some(code), None) => format!("{operation}: {code}"),
                _ => {
                    let body = raw.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                    let snippet: String = body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
                    format!("{operation}: HTTP {} with a response that is not an AWS error: {snippet}", raw.status().as_u16())
                }
            }
        }
        SdkError::TimeoutError(_) => format!("{operation}: the request timed out"),
        SdkError::DispatchFailure(e) => match e.as_connector_error() {
            Some(c) => format!("{operation}: could not reach the endpoint: {}", chain(c)),
            None => format!("{operation}: could not reach the endpoint"),
        },
        other => format!("{operation}: {}", chain(other)),
    }
}
