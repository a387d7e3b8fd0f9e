//! Test harness: the real `terraform` binary, the provider binary cargo just built, and a moto
//! server on a free 127.0.0.1 port, one per test binary. Tools come from `.tools/`, which
//! `scripts/install-tools.sh` fills (`scripts/test.sh` runs it first).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
/// Fake credentials for moto; a test checks they never appear in logs.
pub const ACCESS_KEY: &str = "AKIATESTSCALING00001";
pub const SECRET_KEY: &str = "scaling-test-secret-never-logged";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn tool(name: &str) -> PathBuf {
    let p = repo_root().join(".tools/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/install-tools.sh (scripts/test.sh does)", p.display());
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A moto server for this test binary, killed when the process exits.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    fn start() -> Moto {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("moto log").into_temp_path().keep().expect("keep log");
        let child = Command::new(tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("moto log"))
            .spawn()
            .expect("start moto_server");
        let moto = Moto { port, child };
        let started = Instant::now();
        while http(port, "POST", "/moto-api/reset").is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not start; see {}", log.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `f` with an RDS client for `region` on this moto.
    pub fn rds<T, F, Fut>(&self, region: &str, f: F) -> T
    where
        F: FnOnce(aws_sdk_rds::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let conf = aws_sdk_rds::Config::builder()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new(region.to_string()))
            .credentials_provider(aws_sdk_rds::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests"))
            .endpoint_url(self.endpoint())
            .build();
        rt.block_on(f(aws_sdk_rds::Client::from_conf(conf)))
    }

    /// The instance's description, or None when moto has no such instance.
    pub fn instance(&self, region: &str, id: &str) -> Option<aws_sdk_rds::types::DbInstance> {
        let id = id.to_string();
        self.rds(region, |c| async move {
            match c.describe_db_instances().db_instance_identifier(&id).send().await {
                Ok(out) => out.db_instances.unwrap_or_default().into_iter().next(),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => None,
                Err(e) => panic!("describe {id}: {e:?}"),
            }
        })
    }

    /// A source instance for replicas, as the runbook's production database.
    pub fn create_source(&self, region: &str, id: &str) -> String {
        let id = id.to_string();
        self.rds(region, |c| async move {
            let out = c
                .create_db_instance()
                .db_instance_identifier(&id)
                .engine("postgres")
                .db_instance_class("db.r6g.2xlarge")
                .allocated_storage(100)
                .send()
                .await
                .expect("create source instance");
            out.db_instance.and_then(|i| i.db_instance_arn).expect("source ARN")
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 request; Some(status line) when the server answered.
fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.lines().next().filter(|l| l.contains(" 200")).map(str::to_string)
}

/// A filesystem mirror holding the provider binary cargo built, so `terraform init` installs
/// it as a user's Terraform would, with no registry.
fn provider_mirror() -> &'static Path {
    static MIRROR: OnceLock<tempfile::TempDir> = OnceLock::new();
    MIRROR
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("mirror dir");
            let target = dir.path().join("registry.terraform.io/skillancer/scaling/0.1.0/linux_amd64");
            std::fs::create_dir_all(&target).expect("mirror layout");
            std::fs::copy(env!("CARGO_BIN_EXE_terraform-provider-scaling"), target.join("terraform-provider-scaling"))
                .expect("copy provider binary");
            dir
        })
        .path()
}

pub struct TfOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// All output with runs of whitespace collapsed, since Terraform wraps diagnostics.
    pub fn flat(&self) -> String {
        self.all().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A Terraform working directory with its own HOME and CLI configuration.
pub struct Workspace {
    dir: tempfile::TempDir,
    pub moto: &'static Moto,
    extra_env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new(moto: &'static Moto) -> Workspace {
        let dir = tempfile::tempdir().expect("workspace");
        let cli = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"skillancer/scaling\"]\n  }}\n  direct {{\n    exclude = [\"skillancer/scaling\"]\n  }}\n}}\n",
            provider_mirror().display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
        Workspace { dir, moto, extra_env: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// The provider block every test config starts with, pointed at this moto.
    pub fn provider_block(&self) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\n\
             provider \"scaling\" {{\n  region = \"{REGION}\"\n  endpoints {{\n    rds = \"{}\"\n  }}\n}}\n",
            self.moto.endpoint()
        )
    }

    /// Writes `main.tf` as the provider block followed by `resources`.
    pub fn write(&self, resources: &str) {
        self.write_raw(&format!("{}\n{resources}", self.provider_block()));
    }

    pub fn write_raw(&self, main_tf: &str) {
        std::fs::write(self.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    pub fn tf(&self, args: &[&str]) -> TfOutput {
        let mut cmd = Command::new(tool("terraform"));
        cmd.args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run terraform");
        TfOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed (exit 0), with its output in the failure message.
    pub fn ok(&self, args: &[&str]) -> TfOutput {
        let out = self.tf(args);
        assert_eq!(out.code, 0, "terraform {} failed:\n{}", args.join(" "), out.all());
        out
    }

    pub fn init(&self) {
        self.ok(&["init", "-no-color", "-input=false"]);
    }

    pub fn apply(&self) -> TfOutput {
        self.ok(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> TfOutput {
        self.tf(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
    }

    pub fn state_json(&self) -> serde_json::Value {
        let out = self.ok(&["show", "-json", "-no-color"]);
        serde_json::from_str(&out.stdout).expect("state JSON")
    }
}
