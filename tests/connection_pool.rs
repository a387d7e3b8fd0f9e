//! `scaling_connection_pool` end to end: the real terraform binary, the provider binary and a
//! real kube-apiserver. With no controller manager, the test plays the Deployment controller
//! and writes the rollout's status, as `kubectl rollout status` then reads it.

use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, PostParams};
use scaling_testkit::kube::api_resource;
use scaling_testkit::{KubeCluster, Mirror, Running, Workspace};

const CONFIG: &str = "\
;; PgBouncer for skillancer
[databases]
skillancer = host=skillancer-production port=5432 dbname=skillancer

[pgbouncer]
listen_port = 6432
; pool sizes: the runbook's \"Connection Pool Scaling\"
default_pool_size = 20
max_client_conn = 100
auth_type = md5
";

const DEPLOYMENT: (&str, &str) = ("apps/v1", "Deployment");
const CONFIG_MAP: (&str, &str) = ("v1", "ConfigMap");

fn workspace(cluster: &KubeCluster) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws
}

fn pool(namespace: &str, settings: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_connection_pool\" \"pgbouncer\" {{\n  namespace  = \"{namespace}\"\n  config_map = \"pgbouncer-config\"\n  \
         settings   = {{ {settings} }}\n{extra}}}\n"
    )
}

/// Creates `manifest` with a POST under `manager` (an `Update`, as kubectl create and Helm write).
fn create_as(cluster: &KubeCluster, manager: &str, (api_version, kind): (&str, &str), namespace: &str, manifest: serde_json::Value) {
    let (manager, namespace, resource) = (manager.to_string(), namespace.to_string(), api_resource(api_version, kind));
    cluster.with_client(|client| async move {
        let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
        let object: DynamicObject = serde_json::from_value(manifest).unwrap();
        api.create(&PostParams { field_manager: Some(manager), ..PostParams::default() }, &object).await.expect("create");
    });
}

/// PgBouncer as its manifests deploy it: the ConfigMap (made by `manager`) and a Deployment of
/// two ready replicas.
fn pgbouncer(cluster: &KubeCluster, namespace: &str, manager: &str, text: &str) {
    cluster.create_namespace(namespace);
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "pgbouncer-config", "namespace": namespace},
        "data": {"pgbouncer.ini": text, "userlist.txt": "\"app\" \"md5...\""},
    });
    create_as(cluster, manager, CONFIG_MAP, namespace, config);
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "pgbouncer", "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "pgbouncer"}},
            "template": {
                "metadata": {"labels": {"app": "pgbouncer"}},
                "spec": {"containers": [{"name": "pgbouncer", "image": "bitnami/pgbouncer:1.22.0"}]},
            },
        },
    });
    create_as(cluster, "kubectl-create", DEPLOYMENT, namespace, deployment);
    rollout_done(cluster, namespace);
}

/// The Deployment controller's work: every replica updated and available for the current spec.
fn rollout_done(cluster: &KubeCluster, namespace: &str) {
    let generation = cluster.get(DEPLOYMENT.0, DEPLOYMENT.1, namespace, "pgbouncer").unwrap()["metadata"]["generation"].clone();
    cluster.set_status(
        DEPLOYMENT.0,
        DEPLOYMENT.1,
        namespace,
        "pgbouncer",
        serde_json::json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
    );
}

fn restarted_at(cluster: &KubeCluster, namespace: &str) -> Option<String> {
    let d = cluster.get(DEPLOYMENT.0, DEPLOYMENT.1, namespace, "pgbouncer").unwrap();
    d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].as_str().map(str::to_string)
}

fn file(cluster: &KubeCluster, namespace: &str) -> String {
    cluster.get(CONFIG_MAP.0, CONFIG_MAP.1, namespace, "pgbouncer-config").unwrap()["data"]["pgbouncer.ini"].as_str().unwrap().to_string()
}

/// `kubectl edit` of the file: `from` replaced by `to`.
fn edit_by_hand(cluster: &KubeCluster, namespace: &str, from: &str, to: &str) {
    let text = file(cluster, namespace).replace(from, to);
    cluster.edit(CONFIG_MAP.0, CONFIG_MAP.1, namespace, "pgbouncer-config", serde_json::json!({"data": {"pgbouncer.ini": text}}));
}

/// An apply that restarts PgBouncer: plays the controller once the restart lands (its pods
/// roll only then), and returns terraform's output.
fn apply_with_rollout(ws: &Workspace, cluster: &KubeCluster, namespace: &str) -> scaling_testkit::TfOutput {
    let before = restarted_at(cluster, namespace);
    let running: Running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let started = Instant::now();
    while restarted_at(cluster, namespace) == before {
        assert!(started.elapsed() < Duration::from_secs(60), "PgBouncer was never restarted");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The apply is waiting for the rollout now; it ends when the controller says it is done.
    std::thread::sleep(Duration::from_millis(500));
    rollout_done(cluster, namespace);
    running.wait(Duration::from_secs(60))
}

/// The runbook's procedure as configuration: only the owned lines change, PgBouncer restarts and
/// the apply waits for the rollout; a hand edit of an owned setting is drift and taken back, of
/// any other line never; dropping a setting writes nothing; import plans clean; destroy leaves
/// the file.
#[test]
fn only_owned_lines_change_pgbouncer_restarts_and_the_rollout_is_waited_for() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool", "kubectl-create", CONFIG);
    let ws = workspace(cluster);
    ws.write(&pool("pool", "default_pool_size = 50, max_client_conn = 2000", "  restart_deployment = \"pgbouncer\"\n"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("PgBouncer restarts"), "{}", plan.all());

    let applied = apply_with_rollout(&ws, cluster, "pool");
    assert_eq!(applied.code, 0, "{}", applied.all());
    let expected =
        CONFIG.replace("default_pool_size = 20", "default_pool_size = 50").replace("max_client_conn = 100", "max_client_conn = 2000");
    assert_eq!(file(cluster, "pool"), expected, "every other line and comment as it was");
    let first_restart = restarted_at(cluster, "pool").expect("restartedAt set");
    assert_eq!(ws.plan().code, 0);

    // By hand: an owned setting (drift) and a line the resource does not own (never drift).
    edit_by_hand(cluster, "pool", "max_client_conn = 2000", "max_client_conn = 500");
    edit_by_hand(cluster, "pool", "listen_port = 6432", "listen_port = 6433");
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(
        drift.stdout.contains("\"max_client_conn\"   = 500 -> 2000") || drift.stdout.contains("\"max_client_conn\" = 500 -> 2000"),
        "{}",
        drift.stdout
    );
    assert!(!drift.stdout.contains("listen_port"), "{}", drift.stdout);
    let applied = apply_with_rollout(&ws, cluster, "pool");
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(file(cluster, "pool").contains("max_client_conn = 2000") && file(cluster, "pool").contains("listen_port = 6433"));
    assert_ne!(restarted_at(cluster, "pool").unwrap(), first_restart, "restarted again");

    // Dropping a setting releases it: its line stays, nothing is written or restarted.
    let restart = restarted_at(cluster, "pool");
    ws.write(&pool("pool", "default_pool_size = 50", "  restart_deployment = \"pgbouncer\"\n"));
    let plan = ws.plan();
    assert!(!plan.flat().contains("PgBouncer restarts"), "{}", plan.all());
    ws.apply();
    assert!(file(cluster, "pool").contains("max_client_conn = 2000"));
    assert_eq!(restarted_at(cluster, "pool"), restart);

    // Re-added with the value the file still holds: nothing is written, and no restart is owed
    // (the pods already serve it).
    ws.write(&pool("pool", "default_pool_size = 50, max_client_conn = 2000", "  restart_deployment = \"pgbouncer\"\n"));
    let plan = ws.plan();
    assert!(!plan.flat().contains("PgBouncer restarts") && !plan.flat().contains("owed"), "{}", plan.all());
    ws.apply();
    assert_eq!(restarted_at(cluster, "pool"), restart, "the file did not change: no restart");
    assert_eq!(ws.plan().code, 0);

    // Import owns the integer settings the file holds; configured the same, a clean plan.
    ws.write(&pool("pool", "default_pool_size = 50, max_client_conn = 2000", "  restart_deployment = \"pgbouncer\"\n"));
    std::fs::remove_file(ws.state_file()).unwrap();
    ws.ok(&["import", "-no-color", "-input=false", "scaling_connection_pool.pgbouncer", "pool/pgbouncer-config/pgbouncer"]);
    let after_import = ws.plan();
    assert_eq!(after_import.code, 0, "plan after import must be clean:\n{}", after_import.all());

    let before = file(cluster, "pool");
    ws.destroy();
    assert_eq!(file(cluster, "pool"), before, "destroy leaves the file as it is");
}

/// Bad settings fail at plan time on the setting's path; a missing ConfigMap, a missing key and
/// a file that is not a PgBouncer config are named; nothing is written.
#[test]
fn bad_settings_and_missing_objects_fail_at_plan_and_write_nothing() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-checks", "kubectl-create", CONFIG);
    let version =
        || cluster.get(CONFIG_MAP.0, CONFIG_MAP.1, "pool-checks", "pgbouncer-config").unwrap()["metadata"]["resourceVersion"].clone();
    let written = version();
    let ws = workspace(cluster);
    ws.write(&pool("pool-checks", "pool_size = 50", ""));
    ws.init();
    for (settings, says) in [
        ("pool_size = 50", "Unknown PgBouncer setting"),
        ("default_pool_size = 0", "default_pool_size must be an integer between 1 and 10000"),
        ("max_client_conn = 2.5", "max_client_conn must be an integer"),
        ("default_pool_size = 10, min_pool_size = 20", "Minimum pool above the pool size"),
    ] {
        ws.write(&pool("pool-checks", settings, ""));
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{settings}: {}", plan.all());
        assert!(plan.flat().contains(says) && plan.flat().contains("settings"), "{settings}: {}", plan.all());
    }
    ws.write(&pool("pool-checks", "default_pool_size = 50", "  key = \"pgbouncer.conf\"\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("has no key \"pgbouncer.conf\"") && plan.flat().contains("pgbouncer.ini, userlist.txt"), "{}", plan.all());
    ws.write(&pool("pool-checks", "default_pool_size = 50", "  key = \"userlist.txt\"\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains("Not a PgBouncer config") && plan.flat().contains("no [pgbouncer] section"), "{}", plan.all());
    ws.write(&pool("pool-checks", "default_pool_size = 50", "").replace("pgbouncer-config", "pgbouncer-missing"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a ConfigMap this apply may create is a warning:\n{}", plan.all());
    assert!(plan.flat().contains("No such ConfigMap yet") && plan.flat().contains("pool-checks/pgbouncer-missing"), "{}", plan.all());
    // In a namespace that does not exist, the namespace is what the plan names.
    ws.write(&pool("pool-nowhere", "default_pool_size = 50", ""));
    let nowhere = ws.plan();
    assert_eq!(nowhere.code, 2, "{}", nowhere.all());
    assert!(
        nowhere.flat().contains("No such namespace yet") && nowhere.flat().contains("Namespace pool-nowhere does not exist"),
        "{}",
        nowhere.all()
    );
    assert!(!nowhere.flat().contains("No such ConfigMap yet"), "{}", nowhere.all());
    ws.write(&pool("pool-checks", "default_pool_size = 50", "").replace("pgbouncer-config", "pgbouncer-missing"));
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("pool-checks/pgbouncer-missing does not exist"), "{}", failed.all());
    assert_eq!(version(), written, "nothing was written");
}

/// A key that another tool manages (Helm) is refused, naming it, until force_conflicts; a
/// rollout past its progress deadline is an error after the settings were written; a ConfigMap
/// deleted out of band leaves the state.
#[test]
fn another_tools_key_a_failed_rollout_and_a_deleted_config_map() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-helm", "helm", CONFIG);
    let ws = workspace(cluster);
    ws.write(&pool("pool-helm", "default_pool_size = 40", ""));
    ws.init();
    // The plan names the other manager (a dry-run apply), not only the apply.
    let plan = ws.plan();
    assert!(
        plan.flat().contains("Apply will refuse: the key is owned by another field manager") && plan.flat().contains("helm"),
        "{}",
        plan.all()
    );
    let refused = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains("helm") && refused.flat().contains("force_conflicts"), "{}", refused.all());
    assert!(file(cluster, "pool-helm").contains("default_pool_size = 20"));

    ws.write(&pool("pool-helm", "default_pool_size = 40", "  force_conflicts    = true\n  restart_deployment = \"pgbouncer\"\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains("Apply takes over a key another manager declares"), "{}", plan.all());
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let started = Instant::now();
    while restarted_at(cluster, "pool-helm").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "PgBouncer was never restarted");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The controller gives up: the new pods never become ready.
    let generation = cluster.get(DEPLOYMENT.0, DEPLOYMENT.1, "pool-helm", "pgbouncer").unwrap()["metadata"]["generation"].clone();
    cluster.set_status(
        DEPLOYMENT.0,
        DEPLOYMENT.1,
        "pool-helm",
        "pgbouncer",
        serde_json::json!({
            "observedGeneration": generation, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"pgbouncer-7d9\" has timed out progressing."}],
        }),
    );
    let failed = running.wait(Duration::from_secs(60));
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("The rollout did not finish") && failed.flat().contains("progress deadline"), "{}", failed.all());
    assert!(file(cluster, "pool-helm").contains("default_pool_size = 40"), "the settings were written");
    let state = ws.ok(&["state", "show", "-no-color", "scaling_connection_pool.pgbouncer"]).stdout;
    assert!(state.contains("\"default_pool_size\" = 40"), "{state}");

    cluster.delete(CONFIG_MAP.0, CONFIG_MAP.1, "pool-helm", "pgbouncer-config");
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("No such ConfigMap yet"), "{}", plan.all());
    // Gone for good: nothing blocks the destroy.
    ws.destroy();
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
}

/// A restart that fails (a misspelt Deployment) leaves the written settings owed a restart: the
/// next plan says so and the next apply makes it, though the file no longer changes.
#[test]
fn a_failed_restart_is_owed_and_made_by_the_next_apply() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-owed", "kubectl-create", CONFIG);
    let ws = workspace(cluster);
    let config = |deployment: &str| {
        pool("pool-owed", "default_pool_size = 60", &format!("  restart_deployment = \"{deployment}\"\n  wait_for_rollout   = false\n"))
    };
    ws.write(&config("pgbouncr"));
    ws.init();
    // On create, a warning: an error would taint the resource, and its replacement, finding the
    // file as wanted, would owe nothing.
    let applied = ws.apply();
    assert!(applied.flat().contains("The settings were written but PgBouncer was not restarted"), "{}", applied.all());
    assert!(file(cluster, "pool-owed").contains("default_pool_size = 60"));
    assert_eq!(restarted_at(cluster, "pool-owed"), None);
    assert_eq!(ws.plan().code, 2, "the restart is owed");
    // On update, an error.
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("The next apply restarts it"), "{}", failed.all());

    ws.write(&config("pgbouncer"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("A restart owed from an earlier apply"), "{}", plan.all());
    ws.apply();
    assert!(restarted_at(cluster, "pool-owed").is_some(), "restarted by the next apply");
    assert_eq!(ws.plan().code, 0);
}

/// Two pools writing two keys of one ConfigMap (a read-write and a read-only PgBouncer): each
/// apply leaves the other's key as it is.
#[test]
fn two_keys_of_one_config_map_are_written_independently() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-two", "kubectl-create", CONFIG);
    cluster.edit(CONFIG_MAP.0, CONFIG_MAP.1, "pool-two", "pgbouncer-config", serde_json::json!({"data": {"pgbouncer-ro.ini": CONFIG}}));
    let ws = workspace(cluster);
    let two = |rw: i64, ro: i64| {
        format!(
            "{}{}",
            pool("pool-two", &format!("default_pool_size = {rw}"), ""),
            pool("pool-two", &format!("default_pool_size = {ro}"), "  key        = \"pgbouncer-ro.ini\"\n")
                .replace("\"pgbouncer\" {", "\"readonly\" {")
        )
    };
    ws.write(&two(30, 10));
    ws.init();
    ws.apply();
    ws.write(&two(40, 10));
    ws.apply();
    let object = cluster.get(CONFIG_MAP.0, CONFIG_MAP.1, "pool-two", "pgbouncer-config").unwrap();
    let data = &object["data"];
    assert!(data["pgbouncer.ini"].as_str().unwrap().contains("default_pool_size = 40"), "{data}");
    assert!(data["pgbouncer-ro.ini"].as_str().unwrap().contains("default_pool_size = 10"), "the other key stays: {data}");
    assert!(data["userlist.txt"].is_string(), "keys no pool owns stay: {data}");
    assert_eq!(ws.plan().code, 0);
}

/// A paused Deployment does not roll out (`kubectl rollout restart` refuses it): the plan
/// refuses a restart of one, naming it, before anything is written; paused after the plan was
/// saved, the apply refuses it too (Terraform plans again as it applies), still writing
/// nothing, instead of waiting out the rollout's timeout.
#[test]
fn a_paused_deployment_is_refused_at_plan_and_at_apply() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-paused", "kubectl-create", CONFIG);
    let pause = |paused: bool| {
        cluster.edit(DEPLOYMENT.0, DEPLOYMENT.1, "pool-paused", "pgbouncer", serde_json::json!({"spec": {"paused": paused}}))
    };
    pause(true);
    let ws = workspace(cluster);
    ws.write(&pool("pool-paused", "default_pool_size = 40", "  restart_deployment = \"pgbouncer\"\n"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("The Deployment is paused") && plan.flat().contains("kubectl rollout resume"), "{}", plan.all());
    assert!(plan.all().contains("restart_deployment"), "{}", plan.all());
    assert!(file(cluster, "pool-paused").contains("default_pool_size = 20"), "nothing was written");

    pause(false);
    ws.ok(&["plan", "-no-color", "-input=false", "-out=pool.tfplan"]);
    pause(true);
    let applied = ws.tf(&["apply", "-no-color", "-input=false", "pool.tfplan"]);
    assert_eq!(applied.code, 1, "{}", applied.all());
    assert!(applied.flat().contains("The Deployment is paused"), "{}", applied.all());
    assert!(file(cluster, "pool-paused").contains("default_pool_size = 20"), "nothing was written");
    assert!(restarted_at(cluster, "pool-paused").is_none(), "no restart was patched in");

    // Resumed: the settings are written and PgBouncer restarts.
    pause(false);
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let started = Instant::now();
    while restarted_at(cluster, "pool-paused").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "PgBouncer was never restarted");
        std::thread::sleep(Duration::from_millis(100));
    }
    rollout_done(cluster, "pool-paused");
    let done = running.wait(Duration::from_secs(60));
    assert_eq!(done.code, 0, "{}", done.all());
    assert!(file(cluster, "pool-paused").contains("default_pool_size = 40"));
}

/// Two workspaces on one ConfigMap key: each resource writes as a field manager of its own, so
/// the second is told at plan that the key is the first's, and its apply refuses instead of
/// silently undoing the other's settings (and restarting PgBouncer) on every apply.
#[test]
fn two_workspaces_on_one_key_see_each_other() {
    let cluster = KubeCluster::shared();
    pgbouncer(cluster, "pool-rivals", "kubectl-create", CONFIG);
    let first = workspace(cluster);
    first.write(&pool("pool-rivals", "default_pool_size = 40", ""));
    first.init();
    first.apply();
    let manager = first.state_json()["values"]["root_module"]["resources"][0]["values"]["field_manager"].as_str().unwrap().to_string();
    assert!(manager.starts_with("terraform-provider-scaling/pgbouncer.ini/"), "{manager}");

    let second = workspace(cluster);
    second.write(&pool("pool-rivals", "default_pool_size = 60", ""));
    second.init();
    let plan = second.plan();
    assert!(
        plan.flat().contains("Apply will refuse: the key is owned by another field manager") && plan.flat().contains(&manager),
        "{}",
        plan.all()
    );
    let refused = second.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains(&manager) && refused.flat().contains("force_conflicts"), "{}", refused.all());
    assert!(file(cluster, "pool-rivals").contains("default_pool_size = 40"), "the first workspace's value stays");
    assert_eq!(first.plan().code, 0, "and the first sees no drift");
}
