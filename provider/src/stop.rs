//! Calls that end when Terraform stops the provider (Ctrl-C sends `StopProvider`), not only
//! the sleeps between them. Without this, a call to an endpoint that accepted the connection
//! and went silent holds `terraform` until its read timeout, and Terraform waits for it.
//!
//! Each client's transport gets the stop token: AWS through the SDK's HTTP client, Kubernetes
//! through a tower layer on kube's service stack. A stopped call fails at once with an error
//! that says so; nothing retries it (the AWS SDK retries only I/O errors and timeouts).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;
use tokio_util::sync::CancellationToken;

/// What a call ended by the stop fails with.
#[derive(Debug, thiserror::Error)]
#[error("stopped by Terraform")]
pub struct Stopped;

/// The AWS SDK's HTTP client, with every request ending when `stop` fires.
#[derive(Debug)]
pub struct StoppableHttpClient {
    inner: SharedHttpClient,
    stop: CancellationToken,
}

impl StoppableHttpClient {
    pub fn new(inner: SharedHttpClient, stop: CancellationToken) -> StoppableHttpClient {
        StoppableHttpClient { inner, stop }
    }
}

impl HttpClient for StoppableHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(StoppableConnector { inner: self.inner.http_connector(settings, components), stop: self.stop.clone() })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct StoppableConnector {
    inner: SharedHttpConnector,
    stop: CancellationToken,
}

impl HttpConnector for StoppableConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, stop) = (self.inner.clone(), self.stop.clone());
        // Scheme and authority only: a path or query could carry what logs should not.
        let endpoint = request.uri().split('/').take(3).collect::<Vec<_>>().join("/");
        HttpConnectorFuture::new(async move {
            // Checked first, and before the call is first polled: once stopped, nothing is sent.
            tokio::select! {
                biased;
                _ = stop.cancelled() => Err(ConnectorError::other(Box::new(Stopped), None)),
                answer = inner.call(request) => answer.map_err(|e| at_endpoint(e, endpoint)),
            }
        })
    }
}

/// The endpoint a failed connection was for, in its error: "connection refused" alone does not
/// say whether the region's endpoint, a VPC endpoint or an override was unreachable.
#[derive(Debug, thiserror::Error)]
#[error("{endpoint}")]
struct AtEndpoint {
    endpoint: String,
    #[source]
    source: aws_smithy_runtime_api::box_error::BoxError,
}

/// `e` with the endpoint named, of the same kind, so that retries treat it as before.
fn at_endpoint(e: ConnectorError, endpoint: String) -> ConnectorError {
    let (io, timeout, user, other) = (e.is_io(), e.is_timeout(), e.is_user(), e.as_other());
    let named = Box::new(AtEndpoint { endpoint, source: e.into_source() });
    if timeout {
        ConnectorError::timeout(named)
    } else if io {
        ConnectorError::io(named)
    } else if user {
        ConnectorError::user(named)
    } else {
        ConnectorError::other(named, other)
    }
}

/// A tower layer ending each Kubernetes request when `stop` fires.
#[derive(Clone)]
pub struct StopLayer(pub CancellationToken);

impl<S> tower::Layer<S> for StopLayer {
    type Service = StopService<S>;

    fn layer(&self, inner: S) -> StopService<S> {
        StopService { inner, stop: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct StopService<S> {
    inner: S,
    stop: CancellationToken,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, Request> tower::Service<Request> for StopService<S>
where
    S: tower::Service<Request>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Once stopped, the request is not even handed on (it could be sent on first poll).
        if self.stop.is_cancelled() {
            return Box::pin(async { Err(Box::new(Stopped) as BoxError) });
        }
        let (answer, stop) = (self.inner.call(request), self.stop.clone());
        Box::pin(async move {
            tokio::select! {
                biased;
                _ = stop.cancelled() => Err(Box::new(Stopped) as BoxError),
                answer = answer => answer.map_err(Into::into),
            }
        })
    }
}
