//! Terraform working directories: each with its own HOME and CLI configuration, installing
//! providers from a filesystem mirror as a user's offline Terraform would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{tool, Moto, ACCESS_KEY, REGION, SECRET_KEY};

/// A filesystem mirror of provider binaries (`<host>/<namespace>/<type>/<version>/linux_amd64/`).
pub struct Mirror {
    dir: tempfile::TempDir,
    sources: Vec<String>,
}

impl Mirror {
    /// `providers`: (source address such as "skillancer/scaling", version, binary).
    pub fn new(providers: &[(&str, &str, &Path)]) -> Mirror {
        let dir = tempfile::tempdir().expect("mirror dir");
        for (source, version, binary) in providers {
            let target = dir.path().join("registry.terraform.io").join(source).join(version).join("linux_amd64");
            std::fs::create_dir_all(&target).expect("mirror layout");
            let name = binary.file_name().expect("binary name");
            std::fs::copy(binary, target.join(name)).expect("copy provider binary");
        }
        Mirror { dir, sources: providers.iter().map(|(s, _, _)| s.to_string()).collect() }
    }

    /// One mirror per process holding this build of the scaling provider.
    pub fn scaling(binary: &str) -> &'static Mirror {
        static MIRROR: OnceLock<Mirror> = OnceLock::new();
        MIRROR.get_or_init(|| Mirror::new(&[("skillancer/scaling", "0.1.0", Path::new(binary))]))
    }

    fn cli_config(&self) -> String {
        let include = self.sources.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [{include}]\n  }}\n  \
             direct {{\n    exclude = [{include}]\n  }}\n}}\n",
            self.dir.path().display()
        )
    }
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

pub struct Workspace {
    dir: tempfile::TempDir,
    /// Where commands run, relative to `dir` (a module's environment directory, say).
    subdir: PathBuf,
    pub moto: Option<&'static Moto>,
    kubeconfig: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
    /// Lines added to the provider block (`read_timeout = "2s"`).
    provider_settings: String,
    rds_endpoint: Option<String>,
}

impl Workspace {
    pub fn new(mirror: &Mirror, moto: Option<&'static Moto>) -> Workspace {
        let dir = tempfile::tempdir().expect("workspace");
        std::fs::write(dir.path().join("cli.tfrc"), mirror.cli_config()).expect("cli config");
        Workspace {
            dir,
            subdir: PathBuf::new(),
            moto,
            kubeconfig: None,
            extra_env: Vec::new(),
            provider_settings: String::new(),
            rds_endpoint: None,
        }
    }

    /// The directory commands run in.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.subdir)
    }

    /// Copies `src` (a directory of the repository, e.g. `examples`) into the workspace as `name`.
    pub fn copy_in(&self, src: &Path, name: &str) {
        copy_dir(src, &self.dir.path().join(name));
    }

    /// Runs later commands in `rel`, a directory inside the workspace.
    pub fn chdir(&mut self, rel: &str) {
        self.subdir = PathBuf::from(rel);
    }

    /// Points the provider block at this kubeconfig.
    pub fn use_kubeconfig(&mut self, path: &Path) {
        self.kubeconfig = Some(path.to_path_buf());
    }

    /// Adds lines such as `read_timeout = "2s"` to the provider block `write` writes.
    pub fn set_provider_settings(&mut self, lines: &str) {
        self.provider_settings = lines.to_string();
    }

    /// Points the provider's RDS endpoint somewhere other than moto (a silent server, say).
    pub fn set_rds_endpoint(&mut self, url: &str) {
        self.rds_endpoint = Some(url.to_string());
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// The terraform and provider blocks for the scaling provider, pointed at this moto.
    pub fn provider_block(&self) -> String {
        let endpoint = self
            .moto
            .map(|m| {
                let rds = self.rds_endpoint.clone().unwrap_or_else(|| m.endpoint());
                format!(
                    "  endpoints {{\n    rds         = \"{rds}\"\n    elasticache = \"{0}\"\n    cloudfront  = \"{0}\"\n    eks         = \"{0}\"\n    cloudwatch  = \"{0}\"\n  }}\n",
                    m.endpoint()
                )
            })
            .unwrap_or_default();
        let kube =
            self.kubeconfig.as_ref().map(|p| format!("  kubernetes {{\n    config_path = \"{}\"\n  }}\n", p.display())).unwrap_or_default();
        format!(
            "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\n\
             provider \"scaling\" {{\n  region = \"{REGION}\"\n{}{endpoint}{kube}}}\n",
            self.provider_settings
        )
    }

    /// Writes `main.tf` as the provider block followed by `resources`.
    pub fn write(&self, resources: &str) {
        self.write_raw(&format!("{}\n{resources}", self.provider_block()));
    }

    pub fn write_raw(&self, main_tf: &str) {
        std::fs::write(self.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    /// A terraform command with a clean, explicit environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.program(&tool("terraform"));
        cmd.args(args);
        cmd
    }

    /// Any program in the workspace's environment, with the pinned terraform first on PATH.
    pub fn program(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        let path = format!("{}:{}", tool("terraform").parent().expect("tools dir").display(), std::env::var("PATH").unwrap_or_default());
        cmd.current_dir(self.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
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
        cmd
    }

    /// Starts terraform without waiting for it, its output going to files in the workspace.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let out = self.dir.path().join("spawned.out");
        let err = self.dir.path().join("spawned.err");
        let mut cmd = self.command(args);
        cmd.stdout(std::fs::File::create(&out).expect("stdout file")).stderr(std::fs::File::create(&err).expect("stderr file"));
        // Its own process group, as a shell job has: Ctrl-C signals the whole group.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Running { child: cmd.spawn().expect("start terraform"), out, err }
    }

    pub fn tf(&self, args: &[&str]) -> TfOutput {
        self.run(self.command(args))
    }

    pub fn run(&self, mut cmd: Command) -> TfOutput {
        let out = cmd.output().expect("run command");
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

    pub fn destroy(&self) -> TfOutput {
        self.ok(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> TfOutput {
        self.tf(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
    }

    pub fn state_json(&self) -> serde_json::Value {
        let out = self.ok(&["show", "-json", "-no-color"]);
        serde_json::from_str(&out.stdout).expect("state JSON")
    }

    pub fn state_file(&self) -> PathBuf {
        self.path().join("terraform.tfstate")
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create directory");
    for entry in std::fs::read_dir(src).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

/// A terraform command running in the background (`Workspace::spawn`).
pub struct Running {
    child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    /// Waits up to `limit` for terraform to finish (killed after it) and returns its output.
    pub fn wait(mut self, limit: std::time::Duration) -> TfOutput {
        self.finish(limit).0
    }

    /// Waits (up to a minute) for the moment `ready` describes (a call in flight, a replica
    /// `creating`), then presses Ctrl-C (`interrupt`) and fails the test unless terraform exits
    /// within `limit`. Returns its output and how long it took to exit after the signal.
    pub fn interrupt_when(self, moment: &str, ready: impl Fn() -> bool, limit: std::time::Duration) -> (TfOutput, std::time::Duration) {
        let started = std::time::Instant::now();
        while !ready() {
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "never got there: {moment}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Well under way, not just begun.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (out, took) = self.interrupt(limit);
        let took = took.unwrap_or_else(|| panic!("terraform still ran {limit:?} after Ctrl-C ({moment}):\n{}", out.all()));
        eprintln!("terraform exited {took:?} after SIGINT ({moment}), code {}", out.code);
        (out, took)
    }

    /// Sends SIGINT to terraform's process group, as Ctrl-C in a terminal does (terraform's
    /// outer process ignores it and leaves it to the inner one; providers get it too), then
    /// waits up to `limit` for terraform to exit. Returns its output, and how long it took to
    /// exit after the signal (None: it had not, and was killed).
    pub fn interrupt(mut self, limit: std::time::Duration) -> (TfOutput, Option<std::time::Duration>) {
        let sent = Command::new("kill").args(["-INT", "--", &format!("-{}", self.child.id())]).status().expect("run kill");
        assert!(sent.success(), "kill -INT failed");
        self.finish(limit)
    }

    /// Waits up to `limit` for terraform to exit; then its whole process group is killed.
    fn finish(&mut self, limit: std::time::Duration) -> (TfOutput, Option<std::time::Duration>) {
        let started = std::time::Instant::now();
        let (code, took) = loop {
            if let Some(status) = self.child.try_wait().expect("wait for terraform") {
                break (status.code().unwrap_or(-1), Some(started.elapsed()));
            }
            if started.elapsed() >= limit {
                self.kill();
                break (-1, None);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (TfOutput { code, stdout: read(&self.out), stderr: read(&self.err) }, took)
    }

    fn kill(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

/// A test that failed before waiting leaves no terraform or provider running.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}
