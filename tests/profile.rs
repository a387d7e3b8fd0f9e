//! `scaling_profile` end to end: the real terraform binary against a genuine kube-apiserver
//! 1.20 (which serves autoscaling/v2beta2, so the discovery fallback is exercised for real)
//! with KEDA's ScaledObject CRD installed. No KEDA operator runs; the provider only manages
//! the objects.

use scaling_testkit::{KubeCluster, Mirror, Workspace};
use serde_json::json;

const HPA: (&str, &str) = ("autoscaling/v2beta2", "HorizontalPodAutoscaler");
const KEDA: (&str, &str) = ("keda.sh/v1alpha1", "ScaledObject");

fn workspace(cluster: &KubeCluster) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws
}

/// The runbook's six API services (HPA) and three queue workers (KEDA), in `namespace`.
fn runbook(namespace: &str) -> String {
    format!(
        r#"
locals {{
  services = {{
    "api-gateway"      = {{ min = 3, max = 50, cpu = 70, memory = 80 }}
    "auth-svc"         = {{ min = 3, max = 30, cpu = 70, memory = 80 }}
    "market-svc"       = {{ min = 3, max = 40, cpu = 70, memory = 80 }}
    "skillpod-svc"     = {{ min = 2, max = 25, cpu = 60, memory = 70 }}
    "billing-svc"      = {{ min = 2, max = 20, cpu = 70, memory = 80 }}
    "notification-svc" = {{ min = 2, max = 15, cpu = 70, memory = 80 }}
  }}
  workers = {{
    "job-processor"       = {{ min = 2, max = 30, queue = "job-queue", length = 1000 }}
    "email-sender"        = {{ min = 2, max = 20, queue = "email-queue", length = 500 }}
    "notification-worker" = {{ min = 2, max = 15, queue = "notification-queue", length = 500 }}
  }}
}}

resource "scaling_profile" "service" {{
  for_each           = local.services
  namespace          = "{namespace}"
  name               = each.key
  min_replicas       = each.value.min
  max_replicas       = each.value.max
  cpu_utilization    = each.value.cpu
  memory_utilization = each.value.memory
  labels             = {{ team = "platform" }}

  target {{
    name = each.key
  }}

  # Scale down safely: at most 5 pods every 5 minutes, after 5 quiet minutes.
  scale_down {{
    stabilization_window_seconds = 300
    policy {{
      type           = "Pods"
      value          = 5
      period_seconds = 300
    }}
  }}
}}

resource "scaling_profile" "worker" {{
  for_each     = local.workers
  namespace    = "{namespace}"
  name         = each.key
  min_replicas = each.value.min
  max_replicas = each.value.max

  target {{
    name = each.key
  }}

  queue {{
    address     = "redis:6379"
    list_name   = each.value.queue
    list_length = each.value.length
  }}
}}
"#
    )
}

#[test]
fn runbook_apply_drift_import_destroy() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("production");
    let ws = workspace(cluster);
    ws.write(&runbook("production"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("Plan: 9 to add"), "{}", plan.stdout);
    ws.apply();

    let hpa = cluster.get(HPA.0, HPA.1, "production", "api-gateway").expect("api-gateway HPA");
    assert_eq!(hpa["spec"]["maxReplicas"], 50);
    // The API stores HPAs as autoscaling/v1, so metrics may come back in another order.
    let cpu = hpa["spec"]["metrics"].as_array().unwrap().iter().find(|m| m["resource"]["name"] == "cpu").expect("cpu metric").clone();
    assert_eq!(cpu["resource"]["target"]["averageUtilization"], 70);
    assert_eq!(hpa["spec"]["behavior"]["scaleDown"]["policies"][0]["value"], 5);
    assert_eq!(hpa["metadata"]["labels"]["team"], "platform");
    let worker = cluster.get(KEDA.0, KEDA.1, "production", "job-processor").expect("job-processor ScaledObject");
    assert_eq!(worker["spec"]["triggers"][0]["type"], "redis");
    assert_eq!(worker["spec"]["triggers"][0]["metadata"]["listLength"], "1000");
    assert!(cluster.get(HPA.0, HPA.1, "production", "job-processor").is_none(), "workers are not HPAs");

    let clean = ws.plan();
    assert_eq!(clean.code, 0, "second plan must be clean (server defaults must not read as drift):\n{}", clean.all());

    // `kubectl edit` of an HPA and of a ScaledObject: both show as drift.
    cluster.edit(HPA.0, HPA.1, "production", "api-gateway", json!({"spec": {"maxReplicas": 10}}));
    cluster.edit(KEDA.0, KEDA.1, "production", "email-sender", json!({"spec": {"minReplicaCount": 7}}));
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.flat().contains("~ max_replicas = 10 -> 50"), "{}", drift.stdout);
    assert!(drift.flat().contains("~ min_replicas = 7 -> 2"), "{}", drift.stdout);
    assert!(drift.flat().contains(r#""kubectl-edit" (edited by hand): .spec.maxReplicas"#), "the plan names who edited:\n{}", drift.all());
    assert!(drift.stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy"), "{}", drift.stdout);
    ws.apply();
    assert_eq!(cluster.get(HPA.0, HPA.1, "production", "api-gateway").unwrap()["spec"]["maxReplicas"], 50);
    assert_eq!(ws.plan().code, 0);

    // Deleted out of band: the next plan creates it again.
    cluster.delete(HPA.0, HPA.1, "production", "billing-svc");
    let gone = ws.plan();
    assert_eq!(gone.code, 2);
    assert!(gone.stdout.contains(r#"scaling_profile.service["billing-svc"] will be created"#), "{}", gone.stdout);
    ws.apply();

    // Import both kinds into an empty state, then a clean plan.
    std::fs::remove_file(ws.state_file()).unwrap();
    for (address, id) in [
        (r#"scaling_profile.service["api-gateway"]"#, "production/api-gateway"),
        (r#"scaling_profile.worker["job-processor"]"#, "production/job-processor"),
    ] {
        let out = ws.ok(&["import", "-no-color", "-input=false", address, id]);
        assert!(out.stdout.contains("Import successful"), "{}", out.stdout);
    }
    let state = ws.ok(&["state", "show", "-no-color", r#"scaling_profile.worker["job-processor"]"#]);
    assert!(state.flat().contains(r#"kind = "ScaledObject""#), "{}", state.stdout);
    // The other seven are not in state any more; put them back by import too, then nothing differs.
    for name in ["auth-svc", "market-svc", "skillpod-svc", "billing-svc", "notification-svc"] {
        ws.ok(&["import", "-no-color", "-input=false", &format!(r#"scaling_profile.service["{name}"]"#), &format!("production/{name}")]);
    }
    for name in ["email-sender", "notification-worker"] {
        ws.ok(&["import", "-no-color", "-input=false", &format!(r#"scaling_profile.worker["{name}"]"#), &format!("production/{name}")]);
    }
    let after_import = ws.plan();
    assert_eq!(after_import.code, 0, "plan after import must be clean:\n{}", after_import.all());

    ws.destroy();
    for name in ["api-gateway", "auth-svc", "market-svc", "skillpod-svc", "billing-svc", "notification-svc"] {
        assert!(cluster.get(HPA.0, HPA.1, "production", name).is_none(), "{name} must be gone");
    }
    for name in ["job-processor", "email-sender", "notification-worker"] {
        assert!(cluster.get(KEDA.0, KEDA.1, "production", name).is_none(), "{name} must be gone");
    }
}

/// A namespace that does not exist is named at plan, before anything is made: a warning, since
/// the same apply may create it; if it still does not exist, the create fails saying so and
/// nothing is recorded; once it exists, the same configuration applies. Moving the profile
/// into another missing namespace is named too.
#[test]
fn a_namespace_that_does_not_exist_is_named_at_plan() {
    let cluster = KubeCluster::shared();
    let ws = workspace(cluster);
    let profile = |namespace: &str| {
        format!(
            "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"{namespace}\"\n  name         = \"api-gateway\"\n  \
             min_replicas = 3\n  max_replicas = 50\n  cpu_utilization = 70\n  target {{\n    name = \"api-gateway\"\n  }}\n}}\n"
        )
    };
    ws.write(&profile("later-ns"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    let says = "Namespace later-ns does not exist; the autoscaler api-gateway needs it.";
    assert!(plan.flat().contains("No such namespace yet") && plan.flat().contains(says), "{}", plan.all());
    assert!(plan.flat().contains(r#": namespace = "later-ns""#), "points at the attribute:\n{}", plan.all());
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("later-ns"), "{}", failed.all());
    assert_eq!(ws.tf(&["state", "list"]).stdout.trim(), "", "nothing recorded");

    cluster.create_namespace("later-ns");
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "later-ns", "api-gateway").is_some());
    assert_eq!(ws.plan().code, 0);

    ws.write(&profile("later-ns-2"));
    let moved = ws.plan();
    assert_eq!(moved.code, 2, "{}", moved.all());
    assert!(moved.flat().contains("Namespace later-ns-2 does not exist"), "{}", moved.all());
    ws.write(&profile("later-ns"));
    ws.destroy();
}

fn single(extra: &str) -> String {
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"switch\"\n  name         = \"market-svc\"\n  min_replicas = 3\n  \
         max_replicas = 40\n  cpu_utilization = 70\n  target {{\n    name = \"market-svc\"\n  }}\n{extra}}}\n"
    )
}

#[test]
fn switching_between_hpa_and_keda_replaces_the_object() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("switch");
    let ws = workspace(cluster);
    ws.write(&single(""));
    ws.init();
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "switch", "market-svc").is_some());

    let with_schedule = "  schedule {\n    name         = \"black-friday\"\n    start        = \"0 6 27 11 *\"\n    end          = \"0 23 28 11 *\"\n    min_replicas = 15\n  }\n";
    ws.write(&single(with_schedule));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "switch", "market-svc").is_none(), "the HPA must be gone");
    let so = cluster.get(KEDA.0, KEDA.1, "switch", "market-svc").expect("ScaledObject");
    let cron = so["spec"]["triggers"].as_array().unwrap().iter().find(|t| t["type"] == "cron").expect("cron trigger").clone();
    assert_eq!(cron["metadata"]["desiredReplicas"], "15");
    assert_eq!(cron["metadata"]["timezone"], "Etc/UTC");
    assert_eq!(ws.plan().code, 0);

    ws.write(&single(""));
    let back = ws.plan();
    assert!(back.stdout.contains("must be replaced"), "{}", back.stdout);
    ws.apply();
    assert!(cluster.get(KEDA.0, KEDA.1, "switch", "market-svc").is_none());
    assert!(cluster.get(HPA.0, HPA.1, "switch", "market-svc").is_some());
    ws.destroy();
}

#[test]
fn server_defaults_never_cause_a_perpetual_diff() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("defaults");
    let ws = workspace(cluster);
    // No metrics (the server defaults to 80% CPU), a scale_down without policies or select
    // policy (the server fills both), and no scale_up (the server fills it in too).
    ws.write(
        "resource \"scaling_profile\" \"p\" {\n  namespace = \"defaults\"\n  name = \"auth-svc\"\n  min_replicas = 3\n  max_replicas = 30\n  \
         target {\n    name = \"auth-svc\"\n  }\n  scale_down {\n    stabilization_window_seconds = 600\n  }\n}\n",
    );
    ws.init();
    ws.apply();
    let hpa = cluster.get(HPA.0, HPA.1, "defaults", "auth-svc").unwrap();
    assert!(hpa["spec"]["behavior"]["scaleDown"]["policies"].is_array(), "the server defaults policies: {hpa}");
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.all());
    ws.destroy();
}

#[test]
fn bad_inputs_fail_at_plan_naming_the_attribute_and_create_nothing() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("invalid");
    let base =
        |body: &str| format!("resource \"scaling_profile\" \"p\" {{\n  namespace = \"invalid\"\n  name = \"bad-profile\"\n{body}}}\n");
    let target = "  target {\n    name = \"api-gateway\"\n  }\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("min_replicas", base(&format!("  min_replicas = 10\n  max_replicas = 5\n{target}")), "must not exceed max_replicas"),
        ("min_replicas", base(&format!("  min_replicas = 0\n  max_replicas = 5\n{target}")), "needs a queue or schedule block"),
        ("cpu_utilization", base(&format!("  min_replicas = 1\n  max_replicas = 5\n  cpu_utilization = 150\n{target}")), "between 1 and 100"),
        ("memory_utilization", base(&format!("  min_replicas = 1\n  max_replicas = 5\n  memory_utilization = 0\n{target}")), "between 1 and 100"),
        ("name", base("  min_replicas = 1\n  max_replicas = 5\n  target {\n    name = \"Api_Gateway\"\n  }\n"), "DNS-1123"),
        (
            "period_seconds",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  scale_down {{\n    policy {{\n      type = \"Pods\"\n      value = 1\n      period_seconds = 0\n    }}\n  }}\n")),
            "between 1 and 1800",
        ),
        (
            "stabilization_window_seconds",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  scale_up {{\n    stabilization_window_seconds = 4000\n  }}\n")),
            "between 0 and 3600",
        ),
        (
            "start",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  schedule {{\n    name = \"launch\"\n    start = \"0 25 * * *\"\n    end = \"0 23 * * *\"\n    min_replicas = 3\n  }}\n")),
            "hour field",
        ),
        ("kind", base("  min_replicas = 1\n  max_replicas = 5\n  target {\n    name = \"api\"\n    kind = \"deployment\"\n  }\n"), "Kubernetes kind"),
        (
            "api_version",
            base("  min_replicas = 1\n  max_replicas = 5\n  target {\n    name = \"api\"\n    api_version = \"apps\"\n  }\n"),
            "group/version",
        ),
        ("labels", base(&format!("  min_replicas = 1\n  max_replicas = 5\n  labels = {{ \"-team\" = \"x\" }}\n{target}")), "letter or digit"),
        ("labels", base(&format!("  min_replicas = 1\n  max_replicas = 5\n  labels = {{ team = \"platform team\" }}\n{target}")), "only letters"),
        (
            "annotations",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n  annotations = {{ \"a/b/c\" = \"x\" }}\n{target}")),
            "Invalid annotations key",
        ),
        (
            "timezone",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  schedule {{\n    name = \"launch\"\n    start = \"0 6 * * *\"\n    end = \"0 23 * * *\"\n    timezone = \"europe/berlin\"\n    min_replicas = 3\n  }}\n")),
            "did you mean \"Europe/Berlin\"",
        ),
        (
            "start",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  schedule {{\n    name = \"weekend\"\n    start = \"0 0 * * 7\"\n    end = \"0 23 * * 0\"\n    min_replicas = 3\n  }}\n")),
            "takes 0 to 6",
        ),
        (
            "end",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  schedule {{\n    name = \"nightly\"\n    start = \"0 1 * * *\"\n    end = \"@daily\"\n    min_replicas = 3\n  }}\n")),
            "write \"0 0 * * *\"",
        ),
        (
            "end",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  schedule {{\n    name = \"never\"\n    start = \"0 1 * * *\"\n    end = \"0  1 * * *\"\n    min_replicas = 3\n  }}\n")),
            "ends when it starts",
        ),
        (
            "address",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  queue {{\n    list_name = \"jobs\"\n  }}\n")),
            "\"address\" is required",
        ),
        (
            "list_name",
            base(&format!("  min_replicas = 1\n  max_replicas = 5\n{target}  queue {{\n    address = \"redis:6379\"\n  }}\n")),
            "\"list_name\" is required",
        ),
    ];
    let ws = workspace(cluster);
    ws.write(&cases[0].1);
    ws.init();
    for (attribute, config, detail) in &cases {
        ws.write(config);
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{attribute}: plan must fail:\n{}", plan.all());
        let flat = plan.flat();
        assert!(flat.contains(detail), "{attribute}: expected {detail:?} in:\n{}", plan.all());
        assert!(flat.contains(attribute), "{attribute}: the diagnostic must name the attribute:\n{}", plan.all());
        let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(apply.code, 1, "{attribute}: apply must fail too");
    }
    assert!(cluster.get(HPA.0, HPA.1, "invalid", "bad-profile").is_none());
    assert!(cluster.get(KEDA.0, KEDA.1, "invalid", "bad-profile").is_none());
}

#[test]
fn empty_kubernetes_settings_are_refused_at_plan() {
    let cluster = KubeCluster::shared();
    let ws = workspace(cluster);
    for (attribute, setting) in [("config_path", "config_path = \"\""), ("config_context", "config_context = \" \"")] {
        ws.write_raw(&format!(
            "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
             provider \"scaling\" {{\n  kubernetes {{\n    {setting}\n  }}\n}}\n{}",
            named("k8s-only", "empty-settings", "")
        ));
        if attribute == "config_path" {
            ws.init();
        }
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{}", plan.all());
        assert!(plan.flat().contains(attribute) && plan.flat().contains("is empty"), "{}", plan.all());
    }
}

#[test]
fn kubernetes_only_configurations_need_no_aws_settings() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("k8s-only");
    let ws = workspace(cluster);
    ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  kubernetes {{\n    config_path = \"{}\"\n  }}\n}}\n\
         resource \"scaling_profile\" \"p\" {{\n  namespace = \"k8s-only\"\n  name = \"billing-svc\"\n  min_replicas = 2\n  max_replicas = 20\n  \
         cpu_utilization = 70\n  target {{\n    name = \"billing-svc\"\n  }}\n}}\n",
        cluster.kubeconfig().display()
    ));
    ws.init();
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "k8s-only", "billing-svc").is_some());
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}

/// A profile in namespace `blocks` whose optional blocks are `blocks`; `keda` adds a queue.
fn with_blocks(name: &str, keda: bool, blocks: &str) -> String {
    let queue = if keda { "  queue {\n    address   = \"redis:6379\"\n    list_name = \"jobs\"\n  }\n" } else { "" };
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"blocks\"\n  name         = \"{name}\"\n  min_replicas = 2\n  \
         max_replicas = 20\n  cpu_utilization = 70\n  target {{\n    name = \"{name}\"\n  }}\n{queue}{blocks}}}\n"
    )
}

fn behavior(obj: &serde_json::Value, keda: bool) -> serde_json::Value {
    if keda {
        obj["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"].clone()
    } else {
        obj["spec"]["behavior"].clone()
    }
}

#[test]
fn optional_blocks_can_be_added_changed_removed_and_readded() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("blocks");
    let scale_up = "  scale_up {\n    stabilization_window_seconds = 60\n    policy {\n      type           = \"Pods\"\n      value          = 4\n      period_seconds = 60\n    }\n  }\n";
    let scale_down = |value: i64, extra_policy: bool| {
        let extra = if extra_policy {
            "    policy {\n      type           = \"Percent\"\n      value          = 10\n      period_seconds = 60\n    }\n"
        } else {
            ""
        };
        format!(
            "  scale_down {{\n    stabilization_window_seconds = 300\n    select_policy = \"Min\"\n    policy {{\n      type           = \"Pods\"\n      \
             value          = {value}\n      period_seconds = 300\n    }}\n{extra}  }}\n"
        )
    };
    let bare_scale_down = "  scale_down {\n    stabilization_window_seconds = 120\n  }\n";
    let timeouts = "  timeouts {\n    create = \"2m\"\n  }\n";
    let second_schedule = "  schedule {\n    name         = \"launch\"\n    start        = \"0 6 1 12 *\"\n    end          = \"0 23 2 12 *\"\n    min_replicas = 5\n  }\n";

    for (name, keda) in [("blocks-hpa", false), ("blocks-keda", true)] {
        let (api_version, kind) = if keda { KEDA } else { HPA };
        let ws = workspace(cluster);
        ws.write(&with_blocks(name, keda, ""));
        ws.init();
        ws.apply();
        assert_eq!(ws.plan().code, 0, "{name}: clean after create");

        let mut steps: Vec<(&str, String)> = vec![
            ("blocks added", format!("{scale_up}{}{timeouts}", scale_down(5, false))),
            ("policy changed and added", format!("{scale_up}{}{timeouts}", scale_down(3, true))),
            ("scale_up removed", format!("{}{timeouts}", scale_down(3, true))),
            ("policies removed", format!("{bare_scale_down}{timeouts}")),
            ("scale_down and timeouts removed", String::new()),
            ("scale_down re-added", scale_down(5, false)),
        ];
        if keda {
            steps.push(("second trigger block added", format!("{}{second_schedule}", scale_down(5, false))));
            steps.push(("second trigger block removed", scale_down(5, false)));
        }
        for (step, blocks) in &steps {
            ws.write(&with_blocks(name, keda, blocks));
            let plan = ws.plan();
            assert_eq!(plan.code, 2, "{name}, {step}: the edit must plan:\n{}", plan.all());
            assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{name}, {step}: in place:\n{}", plan.stdout);
            assert!(!plan.stdout.contains("known after apply"), "{name}, {step}: every planned value is known:\n{}", plan.stdout);
            ws.apply();
            let clean = ws.plan();
            assert_eq!(clean.code, 0, "{name}, {step}: plan after apply must be clean:\n{}", clean.all());

            let obj = cluster.get(api_version, kind, "blocks", name).expect("the object exists");
            let b = behavior(&obj, keda);
            let policies = |dir: &str| b[dir]["policies"].as_array().cloned().unwrap_or_default();
            let has_policy =
                |dir: &str, value: i64, period: i64| policies(dir).iter().any(|p| p["value"] == value && p["periodSeconds"] == period);
            match *step {
                "blocks added" => {
                    assert!(has_policy("scaleUp", 4, 60) && has_policy("scaleDown", 5, 300), "{name}, {step}: {b}");
                    assert_eq!(b["scaleDown"]["selectPolicy"], "Min", "{name}, {step}: {b}");
                }
                "policy changed and added" => {
                    assert!(has_policy("scaleDown", 3, 300) && has_policy("scaleDown", 10, 60), "{name}, {step}: {b}");
                    assert!(!has_policy("scaleDown", 5, 300), "{name}, {step}: {b}");
                }
                "scale_up removed" => assert!(!has_policy("scaleUp", 4, 60), "{name}, {step}: our scale-up policy must be gone: {b}"),
                "policies removed" => {
                    assert_eq!(b["scaleDown"]["stabilizationWindowSeconds"], 120, "{name}, {step}: {b}");
                    assert!(!has_policy("scaleDown", 3, 300) && !has_policy("scaleDown", 10, 60), "{name}, {step}: {b}");
                }
                "scale_down and timeouts removed" => {
                    assert_ne!(b["scaleDown"]["stabilizationWindowSeconds"], 120, "{name}, {step}: ours must be gone: {b}")
                }
                "scale_down re-added" => assert!(has_policy("scaleDown", 5, 300), "{name}, {step}: {b}"),
                "second trigger block removed" => {
                    assert!(has_policy("scaleDown", 5, 300), "{name}, {step}: {b}");
                    assert!(!obj["spec"]["triggers"].as_array().unwrap().iter().any(|t| t["type"] == "cron"), "{name}, {step}: {obj}");
                }
                "second trigger block added" => {
                    let crons = obj["spec"]["triggers"].as_array().unwrap().iter().filter(|t| t["type"] == "cron").count();
                    assert_eq!(crons, 1, "{name}, {step}: {obj}");
                }
                _ => {}
            }
        }

        // A plain destroy right after blocks were removed from the configuration.
        ws.write(&with_blocks(name, keda, ""));
        ws.destroy();
        assert!(cluster.get(api_version, kind, "blocks", name).is_none(), "{name}: destroyed");
    }
}

#[test]
fn an_unreachable_api_server_is_named_with_what_to_check() {
    let cluster = KubeCluster::shared();
    // The cluster's own kubeconfig, pointed at a port where nothing listens.
    let port = scaling_testkit::free_port();
    let text = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let server_line = text.lines().find(|l| l.trim_start().starts_with("server:")).expect("server line").to_string();
    let closed = format!("https://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, text.replace(&server_line, &format!("    server: {closed}"))).unwrap();

    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&kubeconfig);
    ws.write(&with_blocks("unreachable", false, ""));
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    let flat = apply.flat();
    assert!(flat.contains(&format!("cannot reach the Kubernetes API server at {closed}")), "{}", apply.all());
    assert!(flat.contains("config_path"), "the message must say what to check:\n{}", apply.all());
    assert!(!flat.contains("ListMeta"), "{}", apply.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
}

#[test]
fn metrics_and_triggers_added_out_of_band_show_as_drift_before_apply_removes_them() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("foreign");
    let ws = workspace(cluster);
    let profiles = |ns: &str| {
        format!(
            "resource \"scaling_profile\" \"hpa\" {{\n  namespace = \"{ns}\"\n  name = \"api\"\n  min_replicas = 2\n  max_replicas = 20\n  \
             cpu_utilization = 70\n  target {{\n    name = \"api\"\n  }}\n}}\n\
             resource \"scaling_profile\" \"keda\" {{\n  namespace = \"{ns}\"\n  name = \"worker\"\n  min_replicas = 1\n  max_replicas = 20\n  \
             target {{\n    name = \"worker\"\n  }}\n  queue {{\n    address = \"redis:6379\"\n    list_name = \"jobs\"\n  }}\n}}\n"
        )
    };
    ws.write(&profiles("foreign"));
    ws.init();
    ws.apply();

    // Someone adds a Pods metric to the HPA and a prometheus trigger to the ScaledObject.
    let hpa = cluster.get(HPA.0, HPA.1, "foreign", "api").unwrap();
    let mut metrics = hpa["spec"]["metrics"].as_array().unwrap().clone();
    metrics.push(json!({"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}));
    cluster.edit(HPA.0, HPA.1, "foreign", "api", json!({"spec": {"metrics": metrics}}));
    let so = cluster.get(KEDA.0, KEDA.1, "foreign", "worker").unwrap();
    let mut triggers = so["spec"]["triggers"].as_array().unwrap().clone();
    triggers.push(json!({"type": "prometheus", "name": "rps", "metadata": {"serverAddress": "http://prometheus:9090", "query": "sum(rate(x[1m]))", "threshold": "100"}}));
    cluster.edit(KEDA.0, KEDA.1, "foreign", "worker", json!({"spec": {"triggers": triggers}}));

    let drift = ws.plan();
    assert_eq!(drift.code, 2, "what apply would remove must show in the plan:\n{}", drift.all());
    assert!(drift.stdout.contains(r#"- "Pods/packets-per-second""#), "{}", drift.stdout);
    assert!(drift.stdout.contains(r#"- "prometheus/rps""#), "{}", drift.stdout);
    assert!(!drift.stdout.contains(r#"type = "prometheus""#), "a foreign trigger is no queue:\n{}", drift.stdout);
    ws.apply();
    let hpa = cluster.get(HPA.0, HPA.1, "foreign", "api").unwrap();
    assert!(!hpa["spec"]["metrics"].to_string().contains("packets-per-second"), "{hpa}");
    let so = cluster.get(KEDA.0, KEDA.1, "foreign", "worker").unwrap();
    assert!(!so["spec"]["triggers"].to_string().contains("prometheus"), "{so}");
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}

/// One profile named `name` in `namespace`, with `extra` inside the resource block.
fn named(namespace: &str, name: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"{namespace}\"\n  name         = \"{name}\"\n  min_replicas = 2\n  \
         max_replicas = 20\n  cpu_utilization = 70\n  target {{\n    name = \"{name}\"\n  }}\n{extra}}}\n"
    )
}

fn managers(obj: &serde_json::Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["manager"].as_str().unwrap().to_string(), e["operation"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn profiles_naming_one_object_create_it_once() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("race");
    let ws = workspace(cluster);
    // Eight keys that all map to one object: exactly one create may win.
    ws.write(
        "resource \"scaling_profile\" \"p\" {\n  for_each     = toset([\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"])\n  \
         namespace    = \"race\"\n  name         = \"api-gateway\"\n  min_replicas = 2\n  max_replicas = 20\n  \
         labels       = { team = \"platform\", tier = \"web\" }\n  target {\n    name = \"api-gateway\"\n  }\n}\n",
    );
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert_eq!(apply.flat().matches("already exists").count(), 7, "seven creates must fail:\n{}", apply.all());
    let state = ws.ok(&["state", "list"]);
    assert_eq!(state.stdout.lines().count(), 1, "exactly one resource owns the object:\n{}", state.stdout);

    // The creating POST's ownership record is gone, so a label dropped from the configuration
    // is removed from the object (an Update entry of ours would have kept it).
    let hpa = cluster.get(HPA.0, HPA.1, "race", "api-gateway").unwrap();
    let ours: Vec<_> = managers(&hpa).into_iter().filter(|(m, _)| m == "terraform-provider-scaling").collect();
    assert_eq!(ours, [("terraform-provider-scaling".to_string(), "Apply".to_string())], "{hpa}");
    ws.write(&named("race", "api-gateway", "  labels = { team = \"platform\" }\n"));
    let winner = state.stdout.trim().to_string();
    ws.ok(&["state", "mv", &winner, "scaling_profile.p"]);
    ws.apply();
    let hpa = cluster.get(HPA.0, HPA.1, "race", "api-gateway").unwrap();
    assert_eq!(hpa["metadata"]["labels"], json!({"team": "platform"}), "{hpa}");
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}

#[test]
fn create_before_destroy_switches_between_kinds() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("cbd");
    let ws = workspace(cluster);
    let lifecycle = "  lifecycle {\n    create_before_destroy = true\n  }\n";
    let schedule = "  schedule {\n    name         = \"launch\"\n    start        = \"0 6 1 12 *\"\n    end          = \"0 23 2 12 *\"\n    min_replicas = 5\n  }\n";
    ws.write(&named("cbd", "market-svc", lifecycle));
    ws.init();
    ws.apply();
    ws.write(&named("cbd", "market-svc", &format!("{lifecycle}{schedule}")));
    let apply = ws.apply();
    assert!(apply.stdout.contains("1 added, 0 changed, 1 destroyed"), "{}", apply.all());
    assert!(cluster.get(HPA.0, HPA.1, "cbd", "market-svc").is_none(), "the HPA goes after the ScaledObject came");
    assert!(cluster.get(KEDA.0, KEDA.1, "cbd", "market-svc").is_some());
    ws.write(&named("cbd", "market-svc", lifecycle));
    ws.apply();
    assert!(cluster.get(KEDA.0, KEDA.1, "cbd", "market-svc").is_none());
    assert!(cluster.get(HPA.0, HPA.1, "cbd", "market-svc").is_some());
    assert_eq!(ws.plan().code, 0);

    // An HPA this provider did not write is not taken for its own: a ScaledObject beside it
    // would scale the workload twice.
    cluster.apply_as(
        "helm",
        HPA.0,
        HPA.1,
        "cbd",
        "auth-svc",
        json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "auth-svc"}, "maxReplicas": 5}),
    );
    ws.write(&format!("{}\n{}", named("cbd", "market-svc", lifecycle), named("cbd", "auth-svc", schedule).replace("\"p\"", "\"q\"")));
    let refused = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains("was not made by this provider"), "{}", refused.all());
    assert!(cluster.get(KEDA.0, KEDA.1, "cbd", "auth-svc").is_none());
    cluster.delete(HPA.0, HPA.1, "cbd", "auth-svc");
    ws.destroy();
}

#[test]
fn import_asks_which_kind_when_both_share_the_name() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("twins");
    let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "skillpod-svc"});
    cluster.apply_as("helm", HPA.0, HPA.1, "twins", "skillpod-svc", json!({"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 25}));
    cluster.apply_as(
        "helm",
        KEDA.0,
        KEDA.1,
        "twins",
        "skillpod-svc",
        json!({"scaleTargetRef": {"name": "skillpod-svc"}, "minReplicaCount": 2, "maxReplicaCount": 25,
               "triggers": [{"type": "redis", "metadata": {"address": "redis:6379", "listName": "jobs", "listLength": "5"}}]}),
    );
    let ws = workspace(cluster);
    // The objects came from a server-side-apply tool, so taking them over needs consent.
    ws.write(&named(
        "twins",
        "skillpod-svc",
        "  force_conflicts = true\n  queue {\n    address   = \"redis:6379\"\n    list_name = \"jobs\"\n  }\n",
    ));
    ws.init();
    let ambiguous = ws.tf(&["import", "-no-color", "-input=false", "scaling_profile.p", "twins/skillpod-svc"]);
    assert_eq!(ambiguous.code, 1, "{}", ambiguous.all());
    assert!(ambiguous.flat().contains("twins/skillpod-svc:ScaledObject"), "{}", ambiguous.all());
    let bad = ws.tf(&["import", "-no-color", "-input=false", "scaling_profile.p", "twins/skillpod-svc:Deployment"]);
    assert!(bad.flat().contains("Invalid import ID"), "{}", bad.all());
    ws.ok(&["import", "-no-color", "-input=false", "scaling_profile.p", "twins/skillpod-svc:ScaledObject"]);
    let shown = ws.ok(&["state", "show", "-no-color", "scaling_profile.p"]);
    assert!(shown.flat().contains(r#"kind = "ScaledObject""#), "{}", shown.stdout);
    assert!(shown.flat().contains(r#"id = "twins/skillpod-svc""#), "{}", shown.stdout);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "max_replicas 25 -> 20 is the only change:\n{}", plan.all());
    assert!(plan.flat().contains("~ max_replicas = 25 -> 20"), "{}", plan.stdout);
    assert!(plan.flat().contains(r#""helm" (managed by another tool): .spec.maxReplicaCount"#), "{}", plan.all());
    ws.destroy();
    assert!(cluster.get(HPA.0, HPA.1, "twins", "skillpod-svc").is_some(), "the HPA was never this workspace's");
    cluster.delete(HPA.0, HPA.1, "twins", "skillpod-svc");
}

#[test]
fn fields_another_manager_declares_are_never_taken_silently() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("owners");
    let ws = workspace(cluster);
    ws.write(&named("owners", "billing-svc", ""));
    ws.init();
    ws.apply();

    // Argo CD declares maxReplicas: the plan names it, apply refuses and writes nothing.
    cluster.apply_as("argocd-controller", HPA.0, HPA.1, "owners", "billing-svc", json!({"maxReplicas": 12}));
    let plan = ws.plan();
    let flat = plan.flat();
    assert!(flat.contains("Apply will refuse"), "{}", plan.all());
    assert!(flat.contains(r#""argocd-controller" (managed by another tool): .spec.maxReplicas"#), "{}", plan.all());
    assert!(flat.contains("force_conflicts"), "{}", plan.all());
    let refused = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains(r#""argocd-controller" (managed by another tool): .spec.maxReplicas"#), "{}", refused.all());
    assert_eq!(cluster.get(HPA.0, HPA.1, "owners", "billing-svc").unwrap()["spec"]["maxReplicas"], 12);

    // Consent: the plan warns, apply takes the field.
    ws.write(&named("owners", "billing-svc", "  force_conflicts = true\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("Apply takes over fields another manager declares"), "{}", plan.all());
    ws.apply();
    let hpa = cluster.get(HPA.0, HPA.1, "owners", "billing-svc").unwrap();
    assert_eq!(hpa["spec"]["maxReplicas"], 20);
    assert_eq!(ws.plan().code, 0);

    // A hand edit is drift: taken back without force_conflicts, and the plan says who made it.
    ws.write(&named("owners", "billing-svc", ""));
    ws.apply();
    cluster.edit(HPA.0, HPA.1, "owners", "billing-svc", json!({"spec": {"minReplicas": 9}}));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains(r#""kubectl-edit" (edited by hand): .spec.minReplicas"#), "{}", plan.all());
    ws.apply();
    assert_eq!(cluster.get(HPA.0, HPA.1, "owners", "billing-svc").unwrap()["spec"]["minReplicas"], 2);

    // Helm 3 writes with the same kind of update as a hand edit, but writes again on every
    // upgrade: it is another owner, not drift.
    cluster.edit_as("helm", HPA.0, HPA.1, "owners", "billing-svc", json!({"spec": {"minReplicas": 4}}));
    let plan = ws.plan();
    assert!(plan.flat().contains(r#""helm" (managed by another tool): .spec.minReplicas"#), "{}", plan.all());
    assert_eq!(ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]).code, 1);
    assert_eq!(cluster.get(HPA.0, HPA.1, "owners", "billing-svc").unwrap()["spec"]["minReplicas"], 4);
    // Another owner never blocks destroy.
    ws.destroy();
}

#[test]
fn what_the_controllers_report_wrong_shows_in_the_plan() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("health");
    let ws = workspace(cluster);
    let queue = "  queue {\n    address   = \"redis:6379\"\n    list_name = \"jobs\"\n  }\n";
    ws.write(&format!("{}\n{}", named("health", "email-sender", queue), named("health", "api-gateway", "").replace("\"p\"", "\"q\"")));
    ws.init();
    ws.apply();
    assert!(!ws.plan().flat().contains("is not scaling"), "nothing reported, nothing said");

    // No operator runs here: the test plays KEDA's operator and the HPA controller.
    let keda_status = json!({"conditions": [
        {"type": "Ready", "status": "False", "reason": "ScaledObjectCheckFailed", "message": "error parsing redis metadata: no address given"},
        {"type": "Active", "status": "Unknown", "reason": "UnknownState", "message": "ScaledObject check failed"}]});
    cluster.set_status(KEDA.0, KEDA.1, "health", "email-sender", keda_status);
    let hpa_status = json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
        {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "lastTransitionTime": "2026-11-30T08:00:00Z",
         "message": "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"api-gateway\" not found"}]});
    cluster.set_status(HPA.0, HPA.1, "health", "api-gateway", hpa_status);
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "a report is not drift:\n{}", plan.all());
    let flat = plan.flat();
    assert!(flat.contains("ScaledObject health/email-sender is not scaling: Ready is False (ScaledObjectCheckFailed)"), "{}", plan.all());
    assert!(flat.contains("AbleToScale is False (FailedGetScale)") && flat.contains("not found"), "{}", plan.all());
    ws.destroy();
}

/// An API server that completes TLS and then never answers (a stalled control plane).
#[test]
fn a_silent_api_server_fails_at_the_read_timeout_and_ctrl_c_ends_it_at_once() {
    let silent = scaling_testkit::SilentServer::tls();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: silent\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: tests\n  user:\n    token: tests\ncontexts:\n- name: silent\n  context:\n    cluster: silent\n    user: tests\n\
             current-context: silent\n",
            silent.url("https")
        ),
    )
    .unwrap();
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&kubeconfig);
    ws.set_provider_settings("  read_timeout = \"2s\"\n");
    ws.write(&with_blocks("silent", false, ""));
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply.flat().contains(&format!("the Kubernetes API server at {}/ did not answer in time", silent.url("https"))),
        "{}",
        apply.all()
    );
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());

    // Ctrl-C while the create's call hangs: terraform exits at once, the call ended by the
    // stop, not by its read timeout. Terraform 1.0.3 stops providers only once the apply
    // begins (an interrupt during the plan waits for the plan), so the looks at the namespace
    // of the plan and of the apply's own plan (the first two connections) first run out their
    // read timeout.
    ws.set_provider_settings("  read_timeout = \"5s\"\n");
    ws.write(&with_blocks("silent", false, ""));
    let accepted = silent.accepted();
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let (out, _) = running.interrupt_when(
        "the create's call to the API server in flight",
        || silent.accepted() > accepted + 2,
        std::time::Duration::from_secs(45),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.flat().contains("stopped by Terraform"), "the call ended because of the stop:\n{}", out.all());
}

/// The API server crashes under a running apply and comes back on the same etcd: the next
/// apply converges, every object made once, and plans clean.
#[test]
fn an_api_server_restart_mid_apply_ends_in_a_converged_second_apply() {
    let cluster = KubeCluster::start(false);
    let ws = workspace(&cluster);
    let profiles: String = (0..30)
        .map(|i| {
            format!(
                "resource \"scaling_profile\" \"p{i}\" {{\n  namespace = \"default\"\n  name = \"svc-{i}\"\n  min_replicas = 1\n  \
                 max_replicas = 5\n  cpu_utilization = 70\n  target {{\n    name = \"svc-{i}\"\n  }}\n}}\n"
            )
        })
        .collect();
    ws.write(&profiles);
    ws.init();
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=5"]);
    let made = |cluster: &KubeCluster| (0..30).filter(|i| cluster.get(HPA.0, HPA.1, "default", &format!("svc-{i}")).is_some()).count();
    let started = std::time::Instant::now();
    while made(&cluster) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the apply never created anything");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cluster.stop_apiserver();
    std::thread::sleep(std::time::Duration::from_secs(1));
    cluster.start_apiserver();
    let first = running.wait(std::time::Duration::from_secs(120));
    eprintln!("first apply: exit {}, {} objects made", first.code, made(&cluster));

    let second = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(second.code, 0, "the second apply converges:\n{}\n{}", first.all(), second.all());
    assert_eq!(made(&cluster), 30);
    assert_eq!(ws.tf(&["state", "list"]).stdout.lines().count(), 30);
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while a destroy waits for an object a finalizer holds (another controller's
/// clean-up): terraform exits at once, the profile stays in state, and once the finalizer is
/// gone the next destroy finishes.
#[test]
fn ctrl_c_during_a_delete_wait_keeps_the_profile_and_the_next_destroy_finishes() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("held");
    let ws = workspace(cluster);
    ws.write(&named("held", "api", ""));
    ws.init();
    ws.apply();
    let held = |finalizers: serde_json::Value| cluster.edit(HPA.0, HPA.1, "held", "api", json!({"metadata": {"finalizers": finalizers}}));
    held(json!(["example.com/clean-up"]));

    let running = ws.spawn(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    let deleting = || cluster.get(HPA.0, HPA.1, "held", "api").is_some_and(|o| !o["metadata"]["deletionTimestamp"].is_null());
    let (out, _) = running.interrupt_when("the HPA deleting, held by its finalizer", deleting, std::time::Duration::from_secs(30));
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(ws.tf(&["state", "list"]).stdout.contains("scaling_profile.p"), "an unfinished delete keeps the profile in state");

    held(serde_json::Value::Null);
    ws.destroy();
    assert!(cluster.get(HPA.0, HPA.1, "held", "api").is_none());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
}

/// An API server shedding load (priority and fairness answers 429 with Retry-After) or briefly
/// unavailable (503), between the provider and kube-apiserver. A shed create is asked again; a
/// create answered 503 is not sent twice (it may have landed): it looks for its object, and
/// fails once when there is none. Past max_retries, one error names the resource.
#[test]
fn an_api_server_shedding_load_is_asked_again_within_max_retries() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("shed");
    let (proxy, mut ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("shed", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/shed/horizontalpodautoscalers";
    const READ_API: &str = "GET /apis/autoscaling/v2beta2/namespaces/shed/horizontalpodautoscalers/api";
    proxy.inject(CREATE, &[Fault::Status(429), Fault::Status(429)]);
    proxy.inject(READ_API, &[Fault::Status(503)]);
    ws.apply();
    assert_eq!(
        proxy.seen(CREATE),
        [Outcome::Faulted(Fault::Status(429)), Outcome::Faulted(Fault::Status(429)), Outcome::Forwarded],
        "a shed create is asked again"
    );
    let seen = proxy.seen_at(CREATE);
    assert!(seen[1].0 - seen[0].0 >= std::time::Duration::from_secs(1), "Retry-After: 1 honoured");
    assert!(cluster.get(HPA.0, HPA.1, "shed", "api").is_some());
    assert_eq!(ws.plan().code, 0, "a read answered 503 was asked again");
    assert_eq!(proxy.seen(READ_API)[0], Outcome::Faulted(Fault::Status(503)));

    ws.set_provider_settings("  max_retries = 1\n");
    ws.write(&format!("{}{}", named("shed", "api", ""), named("shed", "worker", "").replace("\"p\"", "\"q\"")));
    proxy.inject(CREATE, &[Fault::Status(429); 2]);
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(proxy.seen(CREATE)[3..], [Outcome::Faulted(Fault::Status(429)); 2], "two attempts with max_retries = 1");
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert_eq!(apply.flat().matches("Error: ").count(), 1, "{}", apply.all());
    assert!(apply.flat().contains("scaling_profile.q"), "{}", apply.all());
    assert!(cluster.get(HPA.0, HPA.1, "shed", "worker").is_none());
    assert!(!ws.tf(&["state", "list"]).stdout.contains("scaling_profile.q"));

    // A 503 to the create itself: not sent again; nothing landed, so one error.
    proxy.inject(CREATE, &[Fault::Status(503)]);
    let before = proxy.seen(CREATE).len();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert_eq!(proxy.seen(CREATE)[before..], [Outcome::Faulted(Fault::Status(503))], "one POST");
    // The next apply creates it: nothing is refused as made by someone else.
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "shed", "worker").is_some());
}

/// A workspace whose provider reaches `cluster` through a fault proxy (terminating TLS; the
/// kubeconfig skips verifying the proxy's certificate).
fn behind_a_fault_proxy(cluster: &KubeCluster) -> (scaling_testkit::FaultProxy, Workspace) {
    let (proxy, kubeconfig) = cluster.through_proxy();
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&kubeconfig);
    (proxy, ws)
}

/// The POST reached the API server, its answer did not: the create finds its object and goes
/// on, instead of refusing it on the next apply as made by someone else.
#[test]
fn a_create_whose_answer_was_lost_is_found_not_refused() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("lost");
    let (proxy, ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("lost", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/lost/horizontalpodautoscalers";
    proxy.inject(CREATE, &[Fault::LoseAnswer]);
    ws.apply();
    assert_eq!(proxy.seen(CREATE), [Outcome::Faulted(Fault::LoseAnswer)], "one POST, whose answer was lost");
    let hpa = cluster.get(HPA.0, HPA.1, "lost", "api").expect("made");
    assert_eq!(hpa["spec"]["maxReplicas"], 20);
    let state = ws.ok(&["state", "show", "-no-color", "scaling_profile.p"]).stdout;
    assert!(!state.contains("tainted"), "{state}");
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while a create's POST is in flight and has landed: the create looks once more (with a
/// client the stop does not end), records the object untainted, and terraform exits at once;
/// the next plan is clean instead of "already exists, import it".
#[test]
fn ctrl_c_during_a_create_post_that_landed_records_the_object() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("inflight");
    let (proxy, ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("inflight", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/inflight/horizontalpodautoscalers";
    proxy.inject(CREATE, &[Fault::HoldAnswer(30)]);
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let landed = || cluster.get(HPA.0, HPA.1, "inflight", "api").is_some();
    running.interrupt_when("the POST landed, its answer held", landed, std::time::Duration::from_secs(20));
    assert_eq!(proxy.seen(CREATE), [Outcome::Faulted(Fault::HoldAnswer(30))], "one POST");
    let state = ws.ok(&["state", "show", "-no-color", "scaling_profile.p"]).stdout;
    assert!(state.contains("\"inflight/api\"") && !state.contains("tainted"), "{state}");
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.all());
}
