//! The configurations in `examples/` work as documented, against moto and a real
//! kube-apiserver: the quickstart; the runbook's modules in staging and production, with their
//! state in S3 and locks in DynamoDB (moto's); and the CI drift check with its report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use scaling_testkit::{repo_root, Fault, FaultProxy, KubeCluster, Mirror, Moto, Workspace, REGION};
use serde_json::Value;

#[path = "examples/ci_jobs.rs"]
mod ci_jobs;
use ci_jobs::{Job, Runner};

fn workspace(moto: &'static Moto, example_dir: &str) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto));
    ws.copy_in(&repo_root().join("examples"), "examples");
    ws.chdir(&format!("examples/{example_dir}"));
    ws.set_env("TF_VAR_rds_endpoint", &moto.endpoint());
    ws.set_env("TF_VAR_elasticache_endpoint", &moto.endpoint());
    ws.set_env("TF_VAR_cloudfront_endpoint", &moto.endpoint());
    ws
}

/// An existing cluster-mode replication group of `shards` shards of cache.r6g.large, one
/// replica each, once it is available.
fn redis_group(moto: &Moto, id: &str, shards: u32) {
    moto.boto3(
        REGION,
        &format!(
            "import time\nc = client('elasticache')\n\
             c.create_replication_group(ReplicationGroupId='{id}', ReplicationGroupDescription='skillancer', Engine='redis', \
             CacheNodeType='cache.r6g.large', ClusterMode='enabled', NumNodeGroups={shards}, ReplicasPerNodeGroup=1)\n\
             while c.describe_replication_groups(ReplicationGroupId='{id}')['ReplicationGroups'][0]['Status'] != 'available':\n    \
             time.sleep(0.05)"
        ),
    );
}

#[test]
fn quickstart_applies_and_plans_clean() {
    let moto = Moto::shared();
    moto.create_source(REGION, "skillancer-production");
    redis_group(moto, "skillancer-redis", 3);
    let distribution =
        moto.create_distribution("skillancer-cdn", &[("api", "api.skillancer.example"), ("static", "static.skillancer.example")]);
    let cluster = KubeCluster::start(true);
    let mut ws = workspace(moto, "quickstart");
    ws.set_env("TF_VAR_distribution_id", &distribution);
    ws.set_env("TF_VAR_kubeconfig", &cluster.kubeconfig().display().to_string());
    ws.init();
    let applied = ws.apply();
    assert!(applied.stdout.contains("replica_endpoint = \"skillancer-replica-2."), "{}", applied.stdout);
    assert!(cluster.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", "default", "api-gateway").is_some());
    assert!(cluster.get("keda.sh/v1alpha1", "ScaledObject", "default", "job-processor").is_some());
    assert!(applied.stdout.contains("\"0004\""), "the fourth shard is there:\n{}", applied.stdout);
    assert!(applied.stdout.contains("cdn_status = \"Deployed\""), "{}", applied.stdout);
    assert_eq!(ws.plan().code, 0, "the quickstart's second plan must be clean");
    ws.destroy();
}

const HPA: (&str, &str) = ("autoscaling/v2beta2", "HorizontalPodAutoscaler");
const SCALED_OBJECT: (&str, &str) = ("keda.sh/v1alpha1", "ScaledObject");

/// The backend the environments name, on moto: its bucket and lock table, made by
/// examples/state-bootstrap/ as a team makes them, and the init arguments (TF_CLI_ARGS_init)
/// that point Terraform 1.0.3's s3 backend at moto.
fn remote_state(moto: &Moto) -> String {
    let tools = scaling_testkit::tool("aws").parent().unwrap().display().to_string();
    let bootstrap = std::process::Command::new(repo_root().join("examples/state-bootstrap/bootstrap.sh"))
        .env("PATH", format!("{tools}:{}", std::env::var("PATH").unwrap_or_default()))
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", scaling_testkit::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", scaling_testkit::SECRET_KEY)
        .env("AWS_REGION", REGION)
        .output()
        .expect("run examples/state-bootstrap/bootstrap.sh");
    assert!(bootstrap.status.success(), "{}", String::from_utf8_lossy(&bootstrap.stderr));
    let key_schema =
        moto.boto3(REGION, "print(client('dynamodb').describe_table(TableName='skillancer-terraform-locks')['Table']['KeySchema'])");
    assert_eq!(key_schema, "[{'AttributeName': 'LockID', 'KeyType': 'HASH'}]");
    let endpoint = moto.endpoint();
    [
        format!("endpoint={endpoint}"),
        format!("dynamodb_endpoint={endpoint}"),
        "force_path_style=true".into(),
        "skip_credentials_validation=true".into(),
        "skip_metadata_api_check=true".into(),
    ]
    .map(|setting| format!("-backend-config={setting}"))
    .join(" ")
}

/// What one environment runs against: its database, Redis group, CDN and namespace.
struct Environment {
    name: &'static str,
    distribution: String,
}

impl Environment {
    fn prepare(moto: &Moto, cluster: &KubeCluster, name: &'static str) -> Environment {
        moto.create_source(REGION, &format!("skillancer-{name}"));
        redis_group(moto, &format!("skillancer-{name}-redis"), 2);
        cluster.create_namespace(name);
        let distribution = moto.create_distribution(
            &format!("skillancer-{name}-cdn"),
            &[("api", &format!("api.{name}.skillancer.example")), ("static", &format!("static.{name}.skillancer.example"))],
        );
        Environment { name, distribution }
    }

    /// A fresh checkout of the repository's examples, in this environment's directory.
    fn checkout(&self, moto: &'static Moto, cluster: &KubeCluster, backend: &str) -> Workspace {
        let mut ws = workspace(moto, &format!("environments/{}", self.name));
        ws.set_env("TF_VAR_kubeconfig", &cluster.kubeconfig().display().to_string());
        ws.set_env("TF_VAR_distribution_id", &self.distribution);
        ws.set_env("TF_CLI_ARGS_init", backend);
        ws
    }

    /// Each resource's arguments (what configuration sets, per the published schema) in the
    /// state, by address, with this environment's own names made neutral.
    fn arguments(&self, ws: &Workspace) -> BTreeMap<String, BTreeMap<String, Value>> {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(repo_root().join("schema/published/scaling.json")).unwrap()).unwrap();
        let text = serde_json::to_string(&ws.state_json()).unwrap().replace(&self.distribution, "DIST").replace(self.name, "ENV");
        let state: Value = serde_json::from_str(&text).unwrap();
        let mut out = BTreeMap::new();
        for module in state["values"]["root_module"]["child_modules"].as_array().unwrap() {
            for resource in module["resources"].as_array().unwrap() {
                let block = &schema["resource_schemas"][resource["type"].as_str().unwrap()]["block"];
                let is_argument = |name: &str| {
                    let a = &block["attributes"][name];
                    a["required"] == true || a["optional"] == true || block["block_types"].get(name).is_some()
                };
                let values = resource["values"].as_object().unwrap();
                let arguments = values.iter().filter(|(k, _)| is_argument(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
                out.insert(resource["address"].as_str().unwrap().to_string(), arguments);
            }
        }
        out
    }
}

/// The runbook as modules: staging and production apply the same modules with their own
/// values, keep their state in S3 (never on disk) with DynamoDB locks, differ exactly where
/// their values do, and a fresh checkout's CI drift check reads the shared state, reports
/// drift made out of band by attribute, and meets another plan's lock.
#[test]
fn staging_and_production_share_modules_and_remote_state() {
    let moto = Moto::shared();
    let cluster = KubeCluster::shared();
    let backend = remote_state(moto);
    let staging = Environment::prepare(moto, cluster, "staging");
    let production = Environment::prepare(moto, cluster, "production");

    let staging_ws = staging.checkout(moto, cluster, &backend);
    let production_ws = production.checkout(moto, cluster, &backend);
    for (env, ws) in [(&staging, &staging_ws), (&production, &production_ws)] {
        ws.init();
        ws.apply();
        assert_eq!(ws.plan().code, 0, "{}: the second plan must be clean", env.name);
        assert!(!ws.state_file().exists(), "{}: state must not be written locally", env.name);
        let key = format!("scaling/{}.tfstate", env.name);
        let stored = moto
            .boto3(REGION, &format!("print(client('s3').head_object(Bucket='skillancer-terraform-state', Key='{key}')['ContentLength'])"));
        assert!(stored.parse::<u64>().unwrap() > 1000, "{key} in S3: {stored}");
    }

    environments_differ_only_in_their_values(&staging, &staging_ws, &production, &production_ws);
    what_each_environment_runs(moto, cluster);
    drift_check_from_a_fresh_checkout(moto, cluster, &staging, &production, &backend);
    a_second_plan_meets_the_lock(moto, cluster, &production, &backend);

    production_ws.destroy();
    staging_ws.destroy();
    assert!(cluster.get(SCALED_OBJECT.0, SCALED_OBJECT.1, "production", "api-gateway").is_none());
}

fn environments_differ_only_in_their_values(
    staging: &Environment,
    staging_ws: &Workspace,
    production: &Environment,
    production_ws: &Workspace,
) {
    let (small, full) = (staging.arguments(staging_ws), production.arguments(production_ws));
    let only_production: Vec<&String> = full.keys().filter(|a| !small.contains_key(*a)).collect();
    assert_eq!(only_production, ["module.read_replicas.scaling_read_replica.this[1]"], "production's second replica");
    assert!(small.keys().all(|a| full.contains_key(a)), "staging has nothing production lacks");
    let differing: BTreeSet<String> = small
        .iter()
        .flat_map(|(address, arguments)| {
            arguments.iter().filter(|(k, v)| full[address][*k] != **v).map(move |(k, _)| format!("{address} {k}"))
        })
        .collect();
    let api = |s: &str| format!("module.api_autoscaling.scaling_profile.service[\"{s}\"]");
    let worker = |w: &str| format!("module.queue_workers.scaling_profile.worker[\"{w}\"]");
    let mut expected = BTreeSet::new();
    for service in ["api-gateway", "auth-svc", "market-svc", "skillpod-svc", "billing-svc", "notification-svc"] {
        expected.extend([format!("{} min_replicas", api(service)), format!("{} max_replicas", api(service))]);
    }
    for service in ["api-gateway", "auth-svc", "market-svc"] {
        expected.insert(format!("{} schedule", api(service)));
    }
    for w in ["job-processor", "email-sender", "notification-worker"] {
        expected.extend([format!("{} min_replicas", worker(w)), format!("{} max_replicas", worker(w))]);
    }
    expected.insert("module.read_replicas.scaling_read_replica.this[0] instance_class".into());
    expected.extend(["node_group_count", "node_type"].map(|a| format!("module.redis_shards.scaling_redis_shard_config.this {a}")));
    assert_eq!(differing, expected);
    // The schedules differ only in the pods they hold: the same window in both.
    let schedule = |args: &BTreeMap<String, BTreeMap<String, Value>>| args[&api("api-gateway")]["schedule"][0].clone();
    assert_eq!(schedule(&full)["min_replicas"], 15);
    assert_eq!(schedule(&small)["min_replicas"], 8);
    let mut window = schedule(&small);
    window["min_replicas"] = 15.into();
    assert_eq!(window, schedule(&full));
}

fn what_each_environment_runs(moto: &Moto, cluster: &KubeCluster) {
    let range = |ns: &str, name: &str, (api_version, kind): (&str, &str)| {
        let o = cluster.get(api_version, kind, ns, name).unwrap_or_else(|| panic!("{kind} {ns}/{name}"));
        let spec = &o["spec"];
        match kind {
            "ScaledObject" => (spec["minReplicaCount"].as_i64().unwrap(), spec["maxReplicaCount"].as_i64().unwrap()),
            _ => (spec["minReplicas"].as_i64().unwrap(), spec["maxReplicas"].as_i64().unwrap()),
        }
    };
    // The runbook's table in production, half of it (rounded up) in staging; the services
    // with a traffic event are ScaledObjects (a cron trigger), the others HPAs.
    assert_eq!(range("production", "api-gateway", SCALED_OBJECT), (3, 50));
    assert_eq!(range("staging", "api-gateway", SCALED_OBJECT), (2, 25));
    assert_eq!(range("production", "billing-svc", HPA), (2, 20));
    assert_eq!(range("staging", "billing-svc", HPA), (1, 10));
    assert_eq!(range("production", "job-processor", SCALED_OBJECT), (2, 30));
    assert_eq!(range("staging", "notification-worker", SCALED_OBJECT), (1, 8));
    let cron = cluster.get(SCALED_OBJECT.0, SCALED_OBJECT.1, "production", "api-gateway").unwrap()["spec"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "cron")
        .cloned()
        .expect("the event's cron trigger");
    assert_eq!(cron["metadata"]["desiredReplicas"], "15");
    assert_eq!(cron["metadata"]["timezone"], "America/New_York");

    for (n, class) in
        [("production-replica-1", "db.r6g.xlarge"), ("production-replica-2", "db.r6g.xlarge"), ("staging-replica-1", "db.r6g.large")]
    {
        let replica = moto.instance(REGION, &format!("skillancer-{n}")).expect(n);
        assert_eq!(replica.db_instance_class(), Some(class), "{n}");
    }
    let shards = |id: &str| {
        moto.boto3(REGION, &format!("g = client('elasticache').describe_replication_groups(ReplicationGroupId='{id}')['ReplicationGroups'][0]\nprint(len(g['NodeGroups']), g['CacheNodeType'])"))
    };
    assert_eq!(shards("skillancer-production-redis"), "4 cache.r6g.xlarge");
    assert_eq!(shards("skillancer-staging-redis"), "2 cache.r6g.large");
}

/// The mirror `scripts/release.sh` makes of this build, as a team would publish it.
fn release_mirror() -> tempfile::TempDir {
    let dist = tempfile::tempdir().unwrap();
    let release = std::process::Command::new(repo_root().join("scripts/release.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_terraform-provider-scaling"), "--out"])
        .arg(dist.path())
        .output()
        .expect("run scripts/release.sh");
    assert!(release.status.success(), "{}", String::from_utf8_lossy(&release.stderr));
    dist
}

/// CI's view: the drift jobs as their YAML says, in checkouts that never applied anything,
/// installing the provider from a release mirror and reading each environment's state from S3.
fn drift_check_from_a_fresh_checkout(
    moto: &'static Moto,
    cluster: &KubeCluster,
    staging: &Environment,
    production: &Environment,
    backend: &str,
) {
    let dist = release_mirror();
    let mirror = dist.path().join("mirror");
    let runner_env = |name: &str| {
        let env = [staging, production].into_iter().find(|e| e.name == name).expect("an environment the test prepared");
        let endpoint = moto.endpoint();
        vec![
            ("TF_VAR_rds_endpoint".to_string(), endpoint.clone()),
            ("TF_VAR_elasticache_endpoint".to_string(), endpoint.clone()),
            ("TF_VAR_cloudfront_endpoint".to_string(), endpoint),
            ("TF_VAR_distribution_id".to_string(), env.distribution.clone()),
            ("TF_CLI_ARGS_init".to_string(), backend.to_string()),
        ]
    };
    let kubeconfig = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let runner = Runner { moto, mirror: &mirror, kubeconfig: kubeconfig.clone(), runner_env: &runner_env };
    for job in Job::ALL {
        assert_eq!(job.environments(), ["staging", "production"], "{job:?}");
        for env in job.environments() {
            let clean = runner.run(job, &env);
            assert_eq!(clean.code, 0, "{job:?} {env}: no drift yet:\n{}", clean.log);
            let report = clean.artifact.expect("the job keeps drift-report.md");
            assert!(report.contains("No drift"), "{report}");
            assert!(clean.log.contains("No changes."), "the job log shows the plan as Terraform words it:\n{}", clean.log);
            assert!(!clean.checkout.path().join(format!("examples/environments/{env}/terraform.tfstate")).exists());
        }
    }

    // By hand, as the runbook used to do it: a replica resized; an HPA's ceiling raised and
    // its scale-down step changed (inside a list of blocks); a replica added to every staging
    // shard, where the module leaves replicas_per_node_group unset.
    moto.rds(REGION, |c| async move {
        c.modify_db_instance()
            .db_instance_identifier("skillancer-production-replica-2")
            .db_instance_class("db.r6g.4xlarge")
            .apply_immediately(true)
            .send()
            .await
            .expect("out-of-band resize");
    });
    // The nightly check runs once the resize is done.
    moto.boto3(
        REGION,
        "import time\nc = client('rds')\n\
         while c.describe_db_instances(DBInstanceIdentifier='skillancer-production-replica-2')['DBInstances'][0]['DBInstanceStatus'] != 'available':\n    \
         time.sleep(0.05)",
    );
    let scale_down = serde_json::json!([{"type": "Pods", "value": 7, "periodSeconds": 300}]);
    cluster.edit(
        HPA.0,
        HPA.1,
        "production",
        "billing-svc",
        serde_json::json!({"spec": {"maxReplicas": 25, "behavior": {"scaleDown": {"policies": scale_down}}}}),
    );
    moto.boto3(
        REGION,
        "import time\nc = client('elasticache')\n\
         c.increase_replica_count(ReplicationGroupId='skillancer-staging-redis', ApplyImmediately=True, \
         ReplicaConfiguration=[{'NodeGroupId': g, 'NewReplicaCount': 2} for g in ('0001', '0002')])\n\
         while c.describe_replication_groups(ReplicationGroupId='skillancer-staging-redis')['ReplicationGroups'][0]['Status'] != 'available':\n    \
         time.sleep(0.05)",
    );

    let drift = runner.run(Job::GitHubActions, "production");
    assert_eq!(drift.code, 2, "the drift check must fail on out-of-band changes:\n{}", drift.log);
    let report = drift.artifact.clone().expect("drift-report.md");
    let billing = "`module.api_autoscaling.scaling_profile.service[\"billing-svc\"]`";
    let rows: Vec<&str> = report.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        rows,
        [
            format!("| {billing} | `max_replicas` | `20` | `25` |"),
            format!("| {billing} | `scale_down.policy[0].value` | `5` | `7` |"),
            "| `module.read_replicas.scaling_read_replica.this[1]` | `instance_class` | `\"db.r6g.xlarge\"` | `\"db.r6g.4xlarge\"` |"
                .to_string(),
        ],
        "values inside blocks are shown, rows in address then attribute order:\n{report}"
    );
    assert!(report.contains("**2 resource(s) changed outside Terraform.**"), "{report}");
    assert!(report.contains("**The next apply would change 2 resource(s):**"), "{report}");
    assert_eq!(drift.summary.as_deref(), Some(report.as_str()), "the report goes to the CI job's summary");

    // Staging's plan has nothing to do (the module leaves the replica count to the group),
    // yet the group changed outside Terraform: that is drift, and the job fails.
    let staging_drift = runner.run(Job::GitLabCi, "staging");
    assert_eq!(staging_drift.code, 2, "drift the plan does not act on still fails the check:\n{}", staging_drift.log);
    let report = staging_drift.artifact.expect("drift-report.md");
    assert!(!report.contains("The next apply would change"), "{report}");
    let redis = "| `module.redis_shards.scaling_redis_shard_config.this` |";
    assert!(report.contains(&format!("{redis} `replicas_per_node_group` | `1` | `2` |")), "{report}");
    assert!(report.contains(&format!("{redis} `member_clusters[5]` | (none) | `\"")), "list elements are shown: {report}");
    assert!(!report.contains("(sensitive)"), "{report}");

    // The cluster unreachable: the plan fails; the report says so, each error once with the
    // resources it came from, and yesterday's report is gone.
    let mut unreachable = String::new();
    for line in kubeconfig.lines() {
        match line.trim_start().strip_prefix("server:") {
            Some(_) => unreachable.push_str(&format!("    server: https://127.0.0.1:{}\n", scaling_testkit::free_port())),
            None => unreachable.push_str(&format!("{line}\n")),
        }
    }
    let broken = Runner { moto, mirror: &mirror, kubeconfig: unreachable, runner_env: &runner_env };
    let failed = broken.run_in(Job::GitHubActions, "production", drift.checkout);
    assert_eq!(failed.code, 1, "{}", failed.log);
    let report = failed.artifact.expect("a report of the failure, not yesterday's");
    assert!(!report.contains("| `module."), "no row of yesterday's report:\n{report}");
    assert!(report.contains("The drift check failed"), "{report}");
    let (errors, warned) = report.split_once("Terraform also warned:").unwrap_or((&report, ""));
    let errors: Vec<&str> = errors.lines().filter(|l| l.starts_with("- **")).collect();
    assert_eq!(errors.len(), 1, "one error, said once:\n{report}");
    assert!(warned.contains("Class change deferred to the maintenance window"), "the plan's warnings are kept:\n{report}");
    assert!(errors[0].contains("(9 times)") && errors[0].contains(&billing.to_string()), "{report}");
}

/// Two plans at once on one environment: the second meets the DynamoDB lock and says who
/// holds it; once the first is done, plans go ahead.
fn a_second_plan_meets_the_lock(moto: &'static Moto, cluster: &KubeCluster, production: &Environment, backend: &str) {
    const DESCRIBE: &str = "Action=DescribeDBInstances";
    let proxy = FaultProxy::start(moto.port);
    let mut holder = production.checkout(moto, cluster, backend);
    holder.set_env("TF_VAR_rds_endpoint", &proxy.url());
    holder.init();
    // The first plan's refresh waits on a slow RDS answer while it holds the lock.
    proxy.inject(DESCRIBE, &[Fault::HoldAnswer(10)]);
    let first = holder.spawn(&["plan", "-no-color", "-input=false"]);
    let started = std::time::Instant::now();
    while proxy.seen(DESCRIBE).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "the first plan never refreshed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let other = production.checkout(moto, cluster, backend);
    other.init();
    let second = other.tf(&["plan", "-no-color", "-input=false", "-lock-timeout=0s"]);
    assert_eq!(second.code, 1, "{}", second.all());
    let flat = second.flat();
    assert!(flat.contains("Error acquiring the state lock"), "{}", second.all());
    assert!(flat.contains("Operation: OperationTypePlan") && flat.contains("Who:"), "says who holds it:\n{}", second.all());
    assert!(flat.contains("skillancer-terraform-state/scaling/production.tfstate"), "{}", second.all());
    let first = first.wait(Duration::from_secs(120));
    assert_eq!(first.code, 0, "{}", first.all());
    let after = other.tf(&["plan", "-no-color", "-input=false", "-lock-timeout=0s"]);
    assert_ne!(after.code, 1, "the lock is released once the first plan ends:\n{}", after.all());
}

/// The report script on a plan Terraform could write: list indexes sort as numbers, only a
/// `true` in before_sensitive/after_sensitive hides a value (Terraform writes `false` for
/// every element that is not sensitive), and a resource deleted outside Terraform is named.
#[test]
fn drift_report_orders_rows_and_hides_only_sensitive_values() {
    let members = |n: usize| (1..=n).map(|i| format!("m-{i:02}")).collect::<Vec<_>>();
    let change = |address: &str, before: Value, after: Value, sensitive: Value| {
        serde_json::json!({"address": address, "change": {"actions": ["update"], "before": before, "after": after,
            "before_sensitive": sensitive.clone(), "after_sensitive": sensitive}})
    };
    let plan = serde_json::json!({
        "resource_drift": [
            change("scaling_redis_shard_config.this[10]", serde_json::json!({"member_clusters": members(9)}),
                serde_json::json!({"member_clusters": members(11)}), serde_json::json!({"member_clusters": vec![false; 11]})),
            change("scaling_profile.api", serde_json::json!({"password": "a", "scale_down": {"policy": [{"value": 5}]}}),
                serde_json::json!({"password": "b", "scale_down": {"policy": [{"value": 7}]}}),
                serde_json::json!({"password": true, "scale_down": {"policy": [{"value": false}]}})),
            {"address": "scaling_redis_shard_config.this[8]", "change": {"actions": ["delete"], "before": {}, "after": null}},
        ],
        "resource_changes": [],
    });
    let (code, report) = drift_report(&plan, &[]);
    assert_eq!(code, 2, "drift exits 2");
    let rows: Vec<&str> = report.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        rows,
        [
            "| `scaling_profile.api` | `password` | (sensitive) | (sensitive) |",
            "| `scaling_profile.api` | `scale_down.policy[0].value` | `5` | `7` |",
            "| `scaling_redis_shard_config.this[8]` | (all) | exists | deleted outside Terraform |",
            "| `scaling_redis_shard_config.this[10]` | `member_clusters[9]` | (none) | `\"m-10\"` |",
            "| `scaling_redis_shard_config.this[10]` | `member_clusters[10]` | (none) | `\"m-11\"` |",
        ],
        "{report}"
    );
}

/// `scripts/environment.sh` in a fresh clone (the project's files, and the pinned tools it
/// would install): it starts the local backends, makes the state bucket and lock table, the
/// objects the environment expects and its namespace, and applies; the backends stay up for
/// the next command, so a hand change is found by the drift check (exit 2, in the report);
/// destroy and `down` end it.
#[test]
fn the_environment_command_sets_everything_up_from_a_fresh_clone() {
    let clone = tempfile::tempdir().unwrap();
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(repo_root())
        .output()
        .expect("git ls-files");
    assert!(listed.status.success());
    for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = std::str::from_utf8(file).unwrap();
        let (from, to) = (repo_root().join(rel), clone.path().join(rel));
        if from.is_file() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    // The pinned tools as scripts/install-tools.sh left them (it re-checks them here).
    std::os::unix::fs::symlink(repo_root().join(".tools"), clone.path().join(".tools")).unwrap();

    struct Down<'a>(&'a Path);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new(self.0.join("scripts/environment.sh")).arg("down").output();
        }
    }
    let _down = Down(clone.path());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(clone.path().join("scripts/environment.sh"))
            .args(args)
            .env("SCALING_PROVIDER_BINARY", env!("CARGO_BIN_EXE_terraform-provider-scaling"))
            .env_remove("TF_CLI_CONFIG_FILE")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run scripts/environment.sh");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), all)
    };

    let (code, out) = run(&["staging", "apply"]);
    assert_eq!(code, 0, "{out}");
    for said in [
        "bucket skillancer-terraform-state: created",
        "table skillancer-terraform-locks: created (hash key LockID, a string)",
        "source instance skillancer-staging (db.r6g.2xlarge): created",
        "namespace staging: created",
        "Apply complete!",
    ] {
        assert!(out.contains(said), "{said}:\n{out}");
    }
    let (code, out) = run(&["staging", "plan"]);
    assert_eq!(code, 0, "the second plan is clean, and the objects were left as they were:\n{out}");
    assert!(out.contains("bucket skillancer-terraform-state: exists") && out.contains("namespace staging: exists"), "{out}");

    // By hand, on the backends the script left running.
    let port = std::fs::read_to_string(clone.path().join(".environments/moto.port")).unwrap();
    let resize = std::process::Command::new(scaling_testkit::moto::python())
        .args(["-c", "import sys, time, boto3\nc = boto3.client('rds', endpoint_url=f'http://127.0.0.1:{sys.argv[1]}', region_name='us-east-1', \
            aws_access_key_id='local', aws_secret_access_key='local')\n\
            c.modify_db_instance(DBInstanceIdentifier='skillancer-staging-replica-1', DBInstanceClass='db.r6g.xlarge', ApplyImmediately=True)\n\
            while c.describe_db_instances(DBInstanceIdentifier='skillancer-staging-replica-1')['DBInstances'][0]['DBInstanceStatus'] != 'available':\n    time.sleep(0.05)"])
        .arg(port.trim())
        .output()
        .unwrap();
    assert!(resize.status.success(), "{}", String::from_utf8_lossy(&resize.stderr));
    let (code, out) = run(&["staging", "drift"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "| `module.read_replicas.scaling_read_replica.this[0]` | `instance_class` | `\"db.r6g.large\"` | `\"db.r6g.xlarge\"` |"
        ),
        "{out}"
    );
    let (code, out) = run(&["staging", "destroy"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Destroy complete!"), "{out}");
}

/// drift-report.py ENVIRONMENT with `plan` on stdin and `args`; its exit code and report.
fn drift_report(plan: &Value, args: &[&std::ffi::OsStr]) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(repo_root().join("examples/ci-drift-check/drift-report.py"))
        .arg("test")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run drift-report.py");
    child.stdin.take().unwrap().write_all(plan.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

/// With the provider schema, only arguments count: a status that AWS changes, or a node
/// group's desired size the cluster autoscaler moves, is listed apart and exits 0; a whole
/// object marked sensitive hides every value; a map cleared to {} still shows; output changes
/// and the plan's warnings (each once) are in the report.
#[test]
fn drift_report_counts_arguments_only_and_repeats_the_plans_warnings() {
    let schema = serde_json::json!({"provider_schemas": {"registry.terraform.io/skillancer/scaling": {"resource_schemas": {
        "scaling_read_replica": {"block": {"attributes": {
            "status": {"type": "string", "computed": true},
            "instance_class": {"type": "string", "required": true},
            "tags": {"type": ["map", "string"], "optional": true},
        }}},
        "scaling_node_group": {"block": {"attributes": {"desired_size": {"type": "number", "optional": true, "computed": true}}}},
    }}}});
    let dir = tempfile::tempdir().unwrap();
    let schema_file = dir.path().join("schema.json");
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    let warning = serde_json::json!({"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "No such namespace yet",
        "detail": "Namespace later does not exist.", "address": "scaling_profile.a"}});
    let log = dir.path().join("plan.jsonl");
    std::fs::write(&log, format!("{warning}\n{}\n", warning.to_string().replace("profile.a", "profile.b"))).unwrap();
    let args = [schema_file.as_os_str(), log.as_os_str()];
    let args = [std::ffi::OsStr::new("--schema"), args[0], std::ffi::OsStr::new("--diagnostics"), args[1]];
    let change = |address: &str, before: Value, after: Value| {
        let ty = address.split('.').next().unwrap();
        serde_json::json!({"address": address, "type": ty, "change": {"actions": ["update"], "before": before, "after": after}})
    };

    let working = serde_json::json!({"resource_drift": [
        change("scaling_read_replica.r", serde_json::json!({"status": "available"}), serde_json::json!({"status": "backing-up"})),
        change("scaling_node_group.workers", serde_json::json!({"desired_size": 3}), serde_json::json!({"desired_size": 5})),
    ]});
    let (code, report) = drift_report(&working, &args);
    assert_eq!(code, 0, "AWS and the autoscaler at work are not drift:\n{report}");
    assert!(report.contains("No drift"), "{report}");
    assert!(report.contains("| `scaling_read_replica.r` | `status` | `\"available\"` | `\"backing-up\"` |"), "listed apart:\n{report}");
    assert!(report.contains("**No such namespace yet** (2 times): `scaling_profile.a`, `scaling_profile.b`"), "{report}");

    let mut changed = change(
        "scaling_read_replica.r",
        serde_json::json!({"instance_class": "db.r6g.large", "tags": {"team": "db"}}),
        serde_json::json!({"instance_class": "db.r6g.xlarge", "tags": {}}),
    );
    changed["change"]["before_sensitive"] = true.into();
    let drifted = serde_json::json!({"resource_drift": [changed], "output_changes": {"endpoint": {"actions": ["update"]}}});
    let (code, report) = drift_report(&drifted, &args);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("| `scaling_read_replica.r` | `instance_class` | (sensitive) | (sensitive) |"), "{report}");
    assert!(report.contains("`tags`") && !report.contains("\"db\""), "a cleared map shows, its old value hidden:\n{report}");
    assert!(report.contains("- outputs: `endpoint`"), "{report}");
}
