//! The process edge: go-plugin's handshake, mutual TLS, and the gRPC services Terraform talks
//! to (tfplugin6 Provider plus go-plugin's controller, stdio, broker and health services).

pub mod go_plugin;
pub mod handshake;
pub mod logging;
pub mod tls;

use std::io::Write as _;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::framework::{Provider, ProviderServer};
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::ProviderServer as ProviderGrpcServer;
use crate::server::Proto6Server;
use handshake::{HandshakeEnv, HandshakeError};

/// Runs the provider as Terraform's plugin until Terraform shuts it down.
pub fn serve<P: Provider>(provider: Arc<ProviderServer<P>>) -> ExitCode {
    logging::init();
    // Both rustls backends are compiled in; HTTPS clients built without an explicit one
    // (the Kubernetes and AWS clients) use this, the same as the plugin's own TLS.
    let _ = tls::crypto_provider().as_ref().clone().install_default();
    let env = match HandshakeEnv::from_env() {
        Ok(env) => env,
        Err(e @ HandshakeError::NotStartedByTerraform) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("terraform-provider-scaling: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One thread: the provider's work is waiting on Terraform and on APIs, which async I/O
    // overlaps well, and each extra worker costs memory (stack, allocator arena) at idle.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-scaling: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(env, provider)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("provider stopped: {e}");
            eprintln!("terraform-provider-scaling: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run<P: Provider>(env: HandshakeEnv, provider: Arc<ProviderServer<P>>) -> Result<(), Box<dyn std::error::Error>> {
    let identity = tls::ServerIdentity::generate()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(identity.server_config(env.client_cert_der)?));
    let listener = handshake::bind_loopback(env.port_range).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();

    // Ctrl-C reaches the whole process group. Terraform decides what happens (StopProvider,
    // then Shutdown), so the provider must not die mid-apply and lose track of what it made.
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("interrupt received; waiting for Terraform to stop the provider");
        }
    });

    let (conn_tx, conn_rx) = tokio::sync::mpsc::channel::<std::io::Result<TlsConn>>(16);
    let accept_shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = accept_shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => { tracing::warn!("accept failed: {e}"); continue; }
                },
            };
            // gRPC messages are small request/response pairs: Nagle's algorithm against the
            // peer's delayed ACKs would add tens of milliseconds to each.
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY not set: {e}");
            }
            let acceptor = acceptor.clone();
            let conn_tx = conn_tx.clone();
            // Handshakes run beside the accept loop so one slow client cannot hold up another.
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let _ = conn_tx.send(Ok(TlsConn(Box::new(tls)))).await;
                    }
                    Err(e) => tracing::warn!(%peer, "TLS handshake refused: {e}"),
                }
            });
        }
    });

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;

    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", handshake::handshake_line(addr, &identity.cert_der))?;
    out.flush()?;
    drop(out);

    tonic::transport::Server::builder()
        .add_service(ProviderGrpcServer::new(Proto6Server::new(provider)).max_decoding_message_size(256 << 20))
        .add_service(GrpcControllerServer::new(go_plugin::Controller::new(shutdown.clone())))
        .add_service(GrpcStdioServer::new(go_plugin::Stdio::new(shutdown.clone())))
        .add_service(GrpcBrokerServer::new(go_plugin::Broker))
        .add_service(health_service)
        .serve_with_incoming_shutdown(tokio_stream::wrappers::ReceiverStream::new(conn_rx), shutdown.cancelled())
        .await?;
    tracing::debug!("provider shut down");
    Ok(())
}

/// A server-side TLS connection, in the shape tonic's `serve_with_incoming` takes.
struct TlsConn(Box<tokio_rustls::server::TlsStream<TcpStream>>);

impl tonic::transport::server::Connected for TlsConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
