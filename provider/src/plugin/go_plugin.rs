//! go-plugin's own services, which Terraform's plugin client calls beside tfplugin6.

use std::pin::Pin;

use futures_util::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::plugin::{grpc_broker_server, grpc_controller_server, grpc_stdio_server, ConnInfo, Empty, StdioData};

/// `GRPCController.Shutdown`: Terraform's request to exit once it is done with us.
pub struct Controller {
    shutdown: CancellationToken,
}

impl Controller {
    pub fn new(shutdown: CancellationToken) -> Controller {
        Controller { shutdown }
    }
}

#[tonic::async_trait]
impl grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        // Cancelling after the reply lets the response reach Terraform before the server stops.
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            token.cancel();
        });
        Ok(Response::new(Empty {}))
    }
}

/// `GRPCStdio.StreamStdio`: go-plugin mirrors a plugin's stdout/stderr through this stream.
/// Our logs already go to stderr, which go-plugin reads directly, and nothing writes to stdout
/// after the handshake, so the stream stays open and quiet until shutdown.
pub struct Stdio {
    shutdown: CancellationToken,
}

impl Stdio {
    pub fn new(shutdown: CancellationToken) -> Stdio {
        Stdio { shutdown }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<StdioData>;

    async fn stream_stdio(&self, _: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        Ok(Response::new(silent_until(async move { shutdown.cancelled().await })))
    }
}

/// `GRPCBroker.StartStream`: lets either side offer extra gRPC servers. Providers offer none,
/// so the stream only acknowledges nothing and closes when Terraform closes its side.
pub struct Broker;

#[tonic::async_trait]
impl grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<ConnInfo>;

    async fn start_stream(&self, request: Request<Streaming<ConnInfo>>) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut incoming = request.into_inner();
        Ok(Response::new(silent_until(async move {
            while let Ok(Some(info)) = incoming.message().await {
                tracing::debug!(service_id = info.service_id, "broker offer ignored: this provider brokers no services");
            }
        })))
    }
}

/// A response stream that yields nothing and ends when `done` finishes.
fn silent_until<T: Send + 'static>(done: impl std::future::Future<Output = ()> + Send + 'static) -> BoxStream<T> {
    use futures_util::StreamExt;
    Box::pin(futures_util::stream::once(done).filter_map(|()| std::future::ready(None)))
}
