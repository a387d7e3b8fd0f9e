//! A go-plugin host, as Terraform is one: starts a provider binary with the handshake
//! environment and a P-521 client certificate, reads the handshake line, and connects over
//! mutual TLS trusting exactly the certificate the plugin announced.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint, Uri};

pub const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client identity shaped like Terraform's: a self-signed ECDSA P-521 CA certificate.
pub struct ClientIdentity {
    pub cert_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl ClientIdentity {
    pub fn generate() -> ClientIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).expect("self-signed certificate");
        ClientIdentity { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key_der: key.serialize_der() }
    }
}

/// Where a plugin listens: go-plugin servers in Go use a unix socket on Linux; ours uses TCP
/// on 127.0.0.1.
#[derive(Clone, Debug)]
pub enum PluginAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A provider process that has completed the handshake.
pub struct Plugin {
    pub child: Child,
    pub addr: PluginAddr,
    pub protocol_version: u32,
    pub server_cert: Vec<u8>,
    /// From spawn to the handshake line on stdout.
    pub handshake_time: Duration,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Plugin {
    /// The handshake environment Terraform 1.0 sets for a provider.
    pub fn command(binary: &Path, identity: &ClientIdentity, protocols: &str) -> Command {
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", protocols)
            .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        cmd
    }

    /// Spawns `cmd` and reads its handshake line.
    pub fn launch(mut cmd: Command) -> Plugin {
        let started = Instant::now();
        let mut child = cmd.spawn().expect("start provider");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("handshake line");
        let handshake_time = started.elapsed();
        let parts: Vec<&str> = line.trim().split('|').collect();
        assert_eq!(parts.len(), 6, "handshake line: {line:?}");
        assert_eq!(parts[0], "1", "go-plugin core protocol");
        assert_eq!(parts[4], "grpc");
        let addr = match parts[2] {
            "tcp" => PluginAddr::Tcp(parts[3].parse().expect("address")),
            "unix" => PluginAddr::Unix(PathBuf::from(parts[3])),
            other => panic!("unknown network {other:?} in {line:?}"),
        };
        let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(parts[5]))
            .expect("certificate base64");
        Plugin { child, addr, protocol_version: parts[1].parse().expect("protocol version"), server_cert, handshake_time }
    }

    /// Resident memory of the provider process, from /proc.
    pub fn resident_set_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// A gRPC channel over mutual TLS, presenting `identity` (or no certificate at all).
    pub async fn connect(&self, identity: Option<&ClientIdentity>) -> Result<Channel, tonic::transport::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer { cert: self.server_cert.clone(), provider }));
        let mut config = match identity {
            Some(id) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from(id.cert_der.clone())],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
                )
                .expect("client certificate"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
        let addr = self.addr.clone();
        let connector = tower::service_fn(move |_: Uri| {
            let (tls, addr) = (tls.clone(), addr.clone());
            async move {
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let stream: Box<dyn Io> = match addr {
                    PluginAddr::Tcp(a) => {
                        // As Go's net package does by default, which is what Terraform uses.
                        let tcp = tokio::net::TcpStream::connect(a).await?;
                        tcp.set_nodelay(true)?;
                        Box::new(tls.connect(name, tcp).await?)
                    }
                    PluginAddr::Unix(p) => Box::new(tls.connect(name, tokio::net::UnixStream::connect(p).await?).await?),
                };
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        });
        Endpoint::from_static("http://localhost").connect_with_connector(connector).await
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// Trusts exactly the certificate the handshake line announced, as go-plugin does.
#[derive(Debug)]
struct PinnedServer {
    cert: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if ee.as_ref() == self.cert.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the certificate the plugin announced".into()))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
