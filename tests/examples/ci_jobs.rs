//! The CI jobs of `examples/ci-drift-check/`, run as their YAML says: each `run` step (GitHub
//! Actions) or `script` line (GitLab CI), in a directory holding a fresh copy of the examples,
//! with the provider installed from the mirror `scripts/release.sh` makes, through the one
//! variable the jobs name. What a hosted runner does around the scripts is stood in for here:
//! checkout copies the examples, setup-terraform is the pinned terraform on PATH, AWS
//! credentials and endpoints point at moto. A job that changes shape fails here, so a broken
//! job fails CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use scaling_testkit::{repo_root, Mirror, Moto, Workspace};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Job {
    GitHubActions,
    GitLabCi,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::GitHubActions, Job::GitLabCi];

    fn file(self) -> PathBuf {
        let name = match self {
            Job::GitHubActions => "github-actions.yml",
            Job::GitLabCi => "gitlab-ci.yml",
        };
        repo_root().join("examples/ci-drift-check").join(name)
    }

    /// The job's YAML, read with the PyYAML of moto's environment (a YAML crate is not worth
    /// its build time for two files).
    fn definition(self) -> Value {
        let out = Command::new(scaling_testkit::moto::python())
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(self.file())
            .output()
            .expect("run python");
        assert!(out.status.success(), "{}: {}", self.file().display(), String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("YAML as JSON")
    }

    /// The environments the job's matrix runs.
    pub fn environments(self) -> Vec<String> {
        let job = self.definition();
        let matrix = match self {
            Job::GitHubActions => &job["jobs"]["drift"]["strategy"]["matrix"]["environment"],
            Job::GitLabCi => &job["drift-check"]["parallel"]["matrix"][0]["ENVIRONMENT"],
        };
        matrix.as_array().expect("a matrix of environments").iter().map(|e| e.as_str().unwrap().to_string()).collect()
    }
}

/// What a team configures once: the mirror the provider installs from, the read-only
/// kubeconfig, and (standing in for AWS) the endpoints and backend settings of moto.
pub struct Runner<'a> {
    pub moto: &'static Moto,
    pub mirror: &'a Path,
    pub kubeconfig: String,
    /// The runner's own environment for one environment's job: TF_VAR_* endpoints and
    /// distribution, TF_CLI_ARGS_init.
    pub runner_env: &'a dyn Fn(&str) -> Vec<(String, String)>,
}

/// One run of a job for one environment.
pub struct JobRun {
    pub code: i32,
    pub log: String,
    /// The job's artifact (drift-report.md), if the job left one.
    pub artifact: Option<String>,
    /// What the job appended to GitHub's job summary.
    pub summary: Option<String>,
    pub checkout: Workspace,
}

impl Runner<'_> {
    /// A fresh checkout: a directory holding the repository's examples and nothing else.
    pub fn checkout(&self) -> Workspace {
        // The Workspace's own CLI configuration is never used (see `command`): the job's
        // mirror variable must be what installs the provider.
        let ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(self.moto));
        ws.copy_in(&repo_root().join("examples"), "examples");
        ws
    }

    pub fn run(&self, job: Job, environment: &str) -> JobRun {
        self.run_in(job, environment, self.checkout())
    }

    /// Runs the job again in a checkout a previous run used (yesterday's files still there).
    pub fn run_in(&self, job: Job, environment: &str, checkout: Workspace) -> JobRun {
        match job {
            Job::GitHubActions => self.github(environment, checkout),
            Job::GitLabCi => self.gitlab(environment, checkout),
        }
    }

    fn command(&self, checkout: &Workspace, environment: &str, script: &str, dir: &Path, env: &[(String, String)]) -> Command {
        let mut cmd = checkout.program(Path::new("bash"));
        cmd.env_remove("TF_CLI_CONFIG_FILE").current_dir(dir);
        for (k, v) in (self.runner_env)(environment).iter().chain(env) {
            cmd.env(k, v);
        }
        cmd.arg("-c").arg(script);
        cmd
    }

    fn github(&self, environment: &str, checkout: Workspace) -> JobRun {
        let workflow = Job::GitHubActions.definition();
        let job = &workflow["jobs"]["drift"];
        let root = checkout.path();
        let temp = root.join("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        let summary_file = temp.join("step-summary.md");
        let values = BTreeMap::from([
            ("matrix.environment".to_string(), environment.to_string()),
            ("secrets.DRIFT_CHECK_KUBECONFIG".to_string(), self.kubeconfig.clone()),
            ("vars.DRIFT_CHECK_ROLE_ARN".to_string(), "arn:aws:iam::123456789012:role/drift-check".to_string()),
            ("vars.SCALING_PROVIDER_MIRROR".to_string(), self.mirror.display().to_string()),
        ]);
        let mut runner = vec![
            ("GITHUB_WORKSPACE".to_string(), root.display().to_string()),
            ("GITHUB_STEP_SUMMARY".to_string(), summary_file.display().to_string()),
            ("RUNNER_TEMP".to_string(), temp.display().to_string()),
            ("CI".to_string(), "true".to_string()),
        ];
        let (mut code, mut log, mut artifact) = (0, String::new(), None);
        for step in job["steps"].as_array().expect("steps") {
            let always = step["if"].as_str().is_some_and(|c| c.contains("always()"));
            if code != 0 && !always {
                continue;
            }
            if let Some(action) = step["uses"].as_str() {
                let with = &step["with"];
                match action.split('@').next().unwrap() {
                    "actions/checkout" => {}
                    "hashicorp/setup-terraform" => {
                        assert_eq!(with["terraform_version"], "1.0.3", "the job installs the Terraform the tests run");
                        assert_eq!(with["terraform_wrapper"], false, "the wrapper hides terraform's exit codes");
                    }
                    "aws-actions/configure-aws-credentials" => {
                        runner.push(("AWS_REGION".into(), with["aws-region"].as_str().expect("aws-region").into()));
                    }
                    "actions/upload-artifact" => {
                        let path = substitute(with["path"].as_str().expect("artifact path"), &values);
                        artifact = std::fs::read_to_string(root.join(path)).ok();
                    }
                    other => panic!("the GitHub job uses {other}, which this test cannot stand in for"),
                }
                continue;
            }
            let script = substitute(step["run"].as_str().expect("a step runs or uses something"), &values);
            let env: Vec<(String, String)> = step["env"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), substitute(v.as_str().expect("env value"), &values)))
                .chain(runner.iter().cloned())
                .collect();
            let dir = root.join(step["working-directory"].as_str().map(|d| substitute(d, &values)).unwrap_or_default());
            // GitHub's default shell for `run`.
            let out = checkout.run(self.command(&checkout, environment, &format!("set -eo pipefail\n{script}"), &dir, &env));
            log.push_str(&out.all());
            if out.code != 0 && code == 0 {
                code = out.code;
            }
        }
        let summary = std::fs::read_to_string(&summary_file).ok();
        JobRun { code, log, artifact, summary, checkout }
    }

    fn gitlab(&self, environment: &str, checkout: Workspace) -> JobRun {
        let definition = Job::GitLabCi.definition();
        let job = &definition["drift-check"];
        // before_script installs terraform from releases.hashicorp.com, which this machine
        // cannot reach; the pinned terraform on PATH is that same version.
        assert_eq!(job["variables"]["TERRAFORM_VERSION"], "1.0.3", "the job installs the Terraform the tests run");
        let root = checkout.path();
        let mut env: Vec<(String, String)> = job["variables"]
            .as_object()
            .expect("variables")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("variable").to_string()))
            .collect();
        env.extend([
            ("ENVIRONMENT".to_string(), environment.to_string()),
            ("CI".to_string(), "true".to_string()),
            ("CI_PIPELINE_SOURCE".to_string(), "schedule".to_string()),
            ("CI_PROJECT_DIR".to_string(), root.display().to_string()),
            ("SCALING_PROVIDER_MIRROR".to_string(), self.mirror.display().to_string()),
        ]);
        // The kubeconfig, as a file variable would put it; the provider reads ~/.kube/config.
        std::fs::create_dir_all(root.join(".kube")).unwrap();
        std::fs::write(root.join(".kube/config"), &self.kubeconfig).unwrap();
        let lines: Vec<&str> = job["script"].as_array().expect("script").iter().map(|l| l.as_str().unwrap()).collect();
        let out = checkout.run(self.command(&checkout, environment, &format!("set -eo pipefail\n{}", lines.join("\n")), &root, &env));
        let artifact = job["artifacts"]["paths"][0].as_str().expect("artifact path").replace("$ENVIRONMENT", environment);
        JobRun { code: out.code, log: out.all(), artifact: std::fs::read_to_string(root.join(artifact)).ok(), summary: None, checkout }
    }
}

/// `${{ expr }}` replaced from `values`; an expression the test does not know fails it.
fn substitute(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("an unclosed ${{") + start;
        let expr = rest[start + 3..end].trim();
        out.push_str(values.get(expr).unwrap_or_else(|| panic!("the job uses ${{{{ {expr} }}}}, unknown to this test")));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}
