//! The plugin edge, driven as Terraform drives it: go-plugin's environment, the handshake
//! line, mutual TLS with a P-521 client certificate, the controller's Shutdown.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use terraform_provider_scaling::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_scaling::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_scaling::proto::tfplugin6::{get_provider_schema, stop_provider};
use tonic::transport::{Channel, Endpoint, Uri};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client identity shaped like go-plugin's: a self-signed ECDSA P-521 CA certificate.
struct ClientIdentity {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).unwrap();
    ClientIdentity { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key_der: key.serialize_der() }
}

struct Plugin {
    child: Child,
    addr: SocketAddr,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_terraform-provider-scaling"));
    cmd.env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn start(client_cert_pem: &str, ports: Option<(u16, u16)>) -> Plugin {
    let mut cmd = command();
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE).env("PLUGIN_PROTOCOL_VERSIONS", "5,6").env("PLUGIN_CLIENT_CERT", client_cert_pem);
    if let Some((min, max)) = ports {
        cmd.env("PLUGIN_MIN_PORT", min.to_string()).env("PLUGIN_MAX_PORT", max.to_string());
    }
    let mut child = cmd.spawn().expect("start provider");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).expect("handshake line");
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line: {line:?}");
    assert_eq!(&parts[..3], &["1", "6", "tcp"]);
    assert_eq!(parts[4], "grpc");
    let addr: SocketAddr = parts[3].parse().expect("address");
    assert!(addr.ip().is_loopback(), "must listen on loopback only: {addr}");
    assert!(!parts[5].ends_with('='), "certificate must be unpadded base64");
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).expect("certificate base64");
    Plugin { child, addr, server_cert }
}

/// Trusts exactly the certificate the handshake line announced, as go-plugin does.
#[derive(Debug)]
struct PinnedServer {
    cert: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(&self, ee: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        if ee.as_ref() == self.cert.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("unexpected server certificate".into()))
        }
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

async fn connect(plugin: &Plugin, identity: Option<&ClientIdentity>) -> Result<Channel, tonic::transport::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { cert: plugin.server_cert.clone(), provider }));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![CertificateDer::from(id.cert_der.clone())], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = plugin.addr;
    let connector = tower::service_fn(move |_: Uri| {
        let tls = tls.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let stream = tls.connect(ServerName::try_from("localhost").unwrap(), tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    Endpoint::from_static("http://localhost").connect_with_connector(connector).await
}

#[test]
fn without_the_cookie_it_explains_itself() {
    let out = command().output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("This binary is a plugin"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout without a handshake");
}

#[test]
fn refuses_to_serve_without_mutual_tls() {
    let out = command().env("TF_PLUGIN_MAGIC_COOKIE", COOKIE).env("PLUGIN_PROTOCOL_VERSIONS", "5,6").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mutual TLS"));
}

#[test]
fn refuses_protocol_five_only() {
    let id = client_identity();
    let out = command()
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .env("PLUGIN_CLIENT_CERT", &id.cert_pem)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[tokio::test]
async fn terraforms_certificate_is_accepted_and_any_other_refused() {
    let terraform = client_identity();
    let stranger = client_identity();
    let plugin = start(&terraform.cert_pem, Some((41000, 41999)));
    assert!((41000..=41999).contains(&plugin.addr.port()), "port must honour PLUGIN_MIN_PORT/PLUGIN_MAX_PORT");

    let channel = connect(&plugin, Some(&terraform)).await.expect("Terraform's certificate is accepted");
    let schema = ProviderClient::new(channel).get_provider_schema(get_provider_schema::Request {}).await.expect("schema").into_inner();
    assert!(schema.resource_schemas.contains_key("scaling_read_replica"));
    assert!(schema.diagnostics.is_empty());

    for (who, identity) in [("a different certificate", Some(&stranger)), ("no certificate", None)] {
        let refused = match connect(&plugin, identity).await {
            Err(_) => true,
            // TLS 1.3 clients learn of the refusal on first use.
            Ok(ch) => ProviderClient::new(ch).get_provider_schema(get_provider_schema::Request {}).await.is_err(),
        };
        assert!(refused, "a client with {who} must be refused");
    }
}

#[tokio::test]
async fn stop_answers_and_shutdown_exits_cleanly() {
    let terraform = client_identity();
    let mut plugin = start(&terraform.cert_pem, None);
    let channel = connect(&plugin, Some(&terraform)).await.unwrap();
    let stop = ProviderClient::new(channel.clone()).stop_provider(stop_provider::Request {}).await.unwrap().into_inner();
    assert_eq!(stop.error, "");
    GrpcControllerClient::new(channel).shutdown(terraform_provider_scaling::proto::plugin::Empty {}).await.unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            assert!(status.success(), "provider must exit 0 after Shutdown, got {status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "provider did not exit after Shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
