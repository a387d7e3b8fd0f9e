//! Autoscalers made, changed over time, drifted, imported and destroyed, and the fields other managers own.

use super::*;

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
