//! Endpoints that accept connections and never answer, as a hung load balancer or a stalled
//! API server does: plain TCP (an AWS endpoint), or TLS that completes the handshake and then
//! goes quiet (a Kubernetes API server). Connections are held open until the process exits.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct SilentServer {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl SilentServer {
    /// Accepts TCP connections and reads nothing back.
    pub fn tcp() -> SilentServer {
        SilentServer::serve(|stream| Some(Box::new(stream) as Box<dyn Send>))
    }

    /// Completes a TLS handshake (a self-signed certificate for 127.0.0.1), then answers nothing.
    pub fn tls() -> SilentServer {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("self-signed certificate");
        let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .expect("server certificate");
        let config = Arc::new(config);
        SilentServer::serve(move |mut stream| {
            let mut tls = rustls::ServerConnection::new(config.clone()).ok()?;
            while tls.is_handshaking() {
                tls.complete_io(&mut stream).ok()?;
            }
            stream.flush().ok()?;
            Some(Box::new((tls, stream)) as Box<dyn Send>)
        })
    }

    fn serve(hold: impl Fn(TcpStream) -> Option<Box<dyn Send>> + Send + 'static) -> SilentServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a silent server");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.extend(hold(stream));
            }
        });
        SilentServer { port, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}
