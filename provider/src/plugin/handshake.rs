//! go-plugin's handshake: the environment Terraform sets when it starts a provider, and the
//! line the provider prints back on stdout.

use std::net::{Ipv4Addr, SocketAddr};

use base64::Engine as _;
use tokio::net::TcpListener;

/// go-plugin's magic cookie for Terraform providers: its presence tells us Terraform started us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own handshake version (not the Terraform protocol version).
const CORE_PROTOCOL_VERSION: u32 = 1;
pub const PROTOCOL_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins, which will\n\
         load any plugins automatically. (terraform-provider-scaling is a Terraform provider:\n\
         declare it in a required_providers block and run terraform.)"
    )]
    NotStartedByTerraform,
    #[error("Terraform offered plugin protocol versions {offered:?}; this provider speaks only version 6 (Terraform 1.0 or newer)")]
    NoCommonProtocol { offered: String },
    #[error("PLUGIN_CLIENT_CERT is not set: this provider requires Terraform's mutual TLS (AutoMTLS) and will not serve plain gRPC")]
    NoClientCertificate,
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    BadClientCertificate(String),
    #[error("invalid {name}: {value:?}")]
    BadPort { name: &'static str, value: String },
    #[error("no free port between {min} and {max} on 127.0.0.1: {last_error}")]
    NoPort { min: u16, max: u16, last_error: String },
}

/// What Terraform told us through the environment.
pub struct HandshakeEnv {
    pub client_cert_der: Vec<u8>,
    pub port_range: Option<(u16, u16)>,
}

impl HandshakeEnv {
    pub fn from_env() -> Result<HandshakeEnv, HandshakeError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<HandshakeEnv, HandshakeError> {
        if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(HandshakeError::NotStartedByTerraform);
        }
        // Without the variable, go-plugin hosts assume the version they were built for; Terraform
        // 1.0 always sets it.
        let offered = get("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_else(|| PROTOCOL_VERSION.to_string());
        if !offered.split(',').any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION)) {
            return Err(HandshakeError::NoCommonProtocol { offered });
        }
        let pem = get("PLUGIN_CLIENT_CERT").filter(|s| !s.trim().is_empty()).ok_or(HandshakeError::NoClientCertificate)?;
        let client_cert_der = super::tls::pem_certificate(&pem).map_err(HandshakeError::BadClientCertificate)?;
        let port = |name: &'static str| -> Result<Option<u16>, HandshakeError> {
            match get(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| HandshakeError::BadPort { name, value: v }),
            }
        };
        let port_range = match (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?) {
            (Some(min), Some(max)) if min <= max => Some((min, max)),
            (Some(min), Some(max)) => {
                return Err(HandshakeError::BadPort { name: "PLUGIN_MIN_PORT", value: format!("{min} > PLUGIN_MAX_PORT {max}") })
            }
            _ => None,
        };
        Ok(HandshakeEnv { client_cert_der, port_range })
    }
}

/// Binds 127.0.0.1 only, inside the port range Terraform allows when it gives one.
pub async fn bind_loopback(range: Option<(u16, u16)>) -> Result<TcpListener, HandshakeError> {
    let Some((min, max)) = range else {
        return TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.map_err(|e| HandshakeError::NoPort {
            min: 0,
            max: 0,
            last_error: e.to_string(),
        });
    };
    let mut last_error = String::from("empty range");
    for port in min..=max {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(l) => return Ok(l),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(HandshakeError::NoPort { min, max, last_error })
}

/// `CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVER_CERT`, the certificate as unpadded base64 DER.
pub fn handshake_line(addr: SocketAddr, server_cert_der: &[u8]) -> String {
    let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(server_cert_der);
    format!("{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn refuses_to_run_without_the_cookie() {
        let err = HandshakeEnv::from_lookup(env(&[])).err().unwrap();
        assert!(matches!(err, HandshakeError::NotStartedByTerraform));
        assert!(err.to_string().contains("This binary is a plugin"));
    }

    #[test]
    fn needs_protocol_six() {
        let err =
            HandshakeEnv::from_lookup(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "4,5")])).err().unwrap();
        assert!(matches!(err, HandshakeError::NoCommonProtocol { .. }));
    }

    #[test]
    fn needs_a_client_certificate() {
        let err =
            HandshakeEnv::from_lookup(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "5,6")])).err().unwrap();
        assert!(matches!(err, HandshakeError::NoClientCertificate));
    }

    #[test]
    fn line_has_unpadded_certificate() {
        let line = handshake_line("127.0.0.1:1234".parse().unwrap(), &[1, 2, 3, 4]);
        assert_eq!(line, "1|6|tcp|127.0.0.1:1234|grpc|AQIDBA");
    }

    #[tokio::test]
    async fn binds_inside_the_range() {
        let l = bind_loopback(Some((20000, 20100))).await.unwrap();
        let addr = l.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert!((20000..=20100).contains(&addr.port()));
    }
}
