//! AWS failures, classified once where they happen so that callers branch on what went wrong
//! (gone, throttled, refused, unreachable) instead of on message text, and so that every
//! diagnostic names the call and AWS's error code. Emulators and proxies sometimes answer
//! with bodies that are not AWS XML at all (an HTML 500 page, say), so the message then falls
//! back to the HTTP status and the start of the body.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error_chain::{chain, stopped};

/// What kind of failure a call met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The object named does not exist (DBInstanceNotFound and the like).
    NotFound,
    /// AWS asked us to slow down, after the SDK's own retries.
    Throttled,
    /// The credentials are wrong, expired, or lack a permission.
    AccessDenied,
    /// The request itself was refused as invalid; retrying cannot help.
    Invalid,
    /// No answer: the endpoint could not be reached or the call timed out.
    Unreachable,
    /// AWS failed on its side (5xx), or its answer could not be read.
    Unavailable,
    /// The request could not be made at all (no usable credentials, say), or anything else.
    Other,
}

/// The AWS service a call went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Rds,
    ElastiCache,
    CloudFront,
    Eks,
    CloudWatch,
}

impl Service {
    /// The prefix of its IAM actions, for permission hints.
    fn iam_prefix(self) -> &'static str {
        match self {
            Service::Rds => "rds",
            Service::ElastiCache => "elasticache",
            Service::CloudFront => "cloudfront",
            Service::Eks => "eks",
            Service::CloudWatch => "cloudwatch",
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation}: {detail}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub kind: Kind,
    detail: String,
}

impl AwsError {
    pub fn from_sdk<E>(service: Service, operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (code, kind, detail) = match err {
            SdkError::ServiceError(answer) => {
                let e = answer.err();
                let status = answer.raw().status().as_u16();
                match e.code() {
                    Some(code) => {
                        let kind = classify(code, status);
                        let detail = match e.message() {
                            Some(msg) => format!("{code}: {msg}{}", hint(kind, service, operation)),
                            None => format!("{code}{}", hint(kind, service, operation)),
                        };
                        (Some(code.to_string()), kind, detail)
                    }
                    None => {
                        let body = answer.raw().body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                        let snippet: String = body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
                        let kind = match status {
                            429 => Kind::Throttled,
                            500.. => Kind::Unavailable,
                            _ => Kind::Other,
                        };
                        (None, kind, format!("HTTP {status} with a response that is not an AWS error: {snippet}"))
                    }
                }
            }
            // The operation's deadline (connect_timeout plus twice read_timeout, retries included).
            SdkError::TimeoutError(_) => (
                None,
                Kind::Unreachable,
                "the endpoint did not answer in time: the call and its retries ran past connect_timeout plus twice read_timeout"
                    .to_string(),
            ),
            // Only I/O and timeouts are the network; a dispatch failure can also be credentials
            // that could not be loaded (an expired SSO session), which no wait outlasts.
            SdkError::DispatchFailure(e) => match e.as_connector_error() {
                Some(c) if stopped(c) => (None, Kind::Other, "stopped by Terraform".to_string()),
                Some(c) if c.is_timeout() => (
                    None,
                    Kind::Unreachable,
                    format!("the endpoint did not answer in time (connect_timeout and read_timeout in the provider block): {}", chain(c)),
                ),
                Some(c) if c.is_io() => (None, Kind::Unreachable, format!("could not reach the endpoint: {}", chain(c))),
                Some(c) => (None, Kind::Other, format!("the request could not be sent: {}", chain(c))),
                None => (None, Kind::Other, format!("the request could not be sent: {}", chain(err))),
            },
            SdkError::ResponseError(_) => (None, Kind::Unavailable, format!("the response could not be read: {}", chain(err))),
            other => (None, Kind::Other, chain(other)),
        };
        AwsError { operation, code, kind, detail }
    }

    /// An answer that came back but does not hold what the operation promises.
    pub fn unreadable(operation: &'static str, what: &str) -> AwsError {
        AwsError { operation, code: None, kind: Kind::Unavailable, detail: format!("the response could not be read: {what}") }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }

    /// A poll inside a wait that failed: throttling or a dropped connection says nothing about
    /// the object, so the wait goes on; anything else ends it.
    pub fn in_wait<T>(self) -> Result<crate::framework::wait::Acceptor<T>, String> {
        if self.is_transient() {
            Ok(crate::framework::wait::Acceptor::Retry(self.to_string()))
        } else {
            Err(self.to_string())
        }
    }

    /// Worth asking again later in a wait (after the SDK's own retries): the object may still
    /// be fine, and failing would leave a healthy replica tainted.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, Kind::Throttled | Kind::Unreachable | Kind::Unavailable)
    }
}

/// The kind an AWS error code (and HTTP status) stands for, per the RDS, CloudFront
/// (`NoSuchDistribution`, `NoSuchOrigin`) and common AWS error references.
fn classify(code: &str, status: u16) -> Kind {
    const THROTTLED: &[&str] =
        &["Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"];
    const DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "AuthFailure",
        "RequestExpired",
    ];
    if THROTTLED.contains(&code) {
        Kind::Throttled
    } else if DENIED.contains(&code) {
        Kind::AccessDenied
    } else if code.ends_with("NotFound")
        || code.ends_with("NotFoundFault")
        || code.ends_with("NotFoundException")
        || code.starts_with("NoSuch")
    {
        Kind::NotFound
    } else if status >= 500 {
        Kind::Unavailable
    } else {
        Kind::Invalid
    }
}

/// What to check, where the code alone does not say it.
fn hint(kind: Kind, service: Service, operation: &str) -> String {
    match kind {
        Kind::Throttled => {
            " (still throttled after the SDK's retries: raise max_retries, or run terraform with a lower -parallelism)".into()
        }
        Kind::AccessDenied => format!(" (check the credentials, and that they allow {}:{operation})", service.iam_prefix()),
        _ => String::new(),
    }
}

/// An AWS failure or a provider configuration that cannot reach AWS at all (no region, a
/// profile without credentials).
#[derive(Clone, Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl crate::reads::batch::BatcherGone for ClientError {
    fn batcher_gone() -> ClientError {
        ClientError::Setup("the look-up batcher has stopped".into())
    }
}

impl ClientError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Aws(e) if e.is_transient())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_once() {
        assert_eq!(classify("DBInstanceNotFound", 404), Kind::NotFound);
        assert_eq!(classify("DBInstanceNotFoundFault", 404), Kind::NotFound);
        assert_eq!(classify("Throttling", 400), Kind::Throttled);
        assert_eq!(classify("AccessDenied", 403), Kind::AccessDenied);
        assert_eq!(classify("InvalidParameterCombination", 400), Kind::Invalid);
        assert_eq!(classify("InternalFailure", 500), Kind::Unavailable);
        assert_eq!(classify("RequestExpired", 400), Kind::AccessDenied);
        assert_eq!(classify("NoSuchDistribution", 404), Kind::NotFound);
        assert_eq!(classify("ResourceNotFoundException", 404), Kind::NotFound);
        assert_eq!(classify("PreconditionFailed", 412), Kind::Invalid);
    }

    #[test]
    fn the_message_names_the_call_and_the_code() {
        let e = AwsError {
            operation: "ModifyDBInstance",
            code: Some("AccessDenied".into()),
            kind: Kind::AccessDenied,
            detail: format!("AccessDenied: not allowed{}", hint(Kind::AccessDenied, Service::Rds, "ModifyDBInstance")),
        };
        let text = e.to_string();
        assert!(text.starts_with("ModifyDBInstance: AccessDenied: not allowed"), "{text}");
        assert!(text.contains("rds:ModifyDBInstance"), "{text}");
        assert!(!e.is_transient());
    }
}
