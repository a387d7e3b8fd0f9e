//! What the end-to-end tests and the benchmark share: the pinned tools in `.tools/` (installed
//! by `scripts/install-tools.sh`), a moto server on a free loopback port, Terraform working
//! directories with a filesystem mirror of provider binaries, and a go-plugin host that starts
//! a provider binary and connects to it over mutual TLS as Terraform does.

pub mod fault_proxy;
pub mod host;
pub mod kube;
pub mod moto;
pub mod silent;
pub mod terraform;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

pub use self::kube::KubeCluster;
pub use fault_proxy::{Fault, FaultProxy, Outcome};
pub use moto::Moto;
pub use silent::SilentServer;
pub use terraform::{Mirror, Running, TfOutput, Workspace};

pub const REGION: &str = "us-east-1";
/// Fake credentials for moto; a test checks they never appear in logs.
pub const ACCESS_KEY: &str = "AKIATESTSCALING00001";
pub const SECRET_KEY: &str = "scaling-test-secret-never-logged";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A tool from `.tools/bin`.
pub fn tool(name: &str) -> PathBuf {
    let p = repo_root().join(".tools/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/install-tools.sh (scripts/test.sh does)", p.display());
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}
