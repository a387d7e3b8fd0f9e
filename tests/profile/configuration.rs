//! Bad input, a missing namespace and provider settings: named at plan, nothing created.

use super::*;

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
