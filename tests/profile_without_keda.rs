//! A cluster without KEDA, or one whose KEDA CRD is removed: queue and schedule blocks are
//! refused at plan time, clearly, and ScaledObjects that went with the CRD leave state.

use scaling_testkit::{KubeCluster, Mirror, Workspace};

fn worker(blocks: &str) -> String {
    format!(
        "resource \"scaling_profile\" \"w\" {{\n  namespace = \"default\"\n  name = \"job-processor\"\n  min_replicas = 2\n  max_replicas = 30\n  \
         cpu_utilization = 70\n  target {{\n    name = \"job-processor\"\n  }}\n{blocks}}}\n"
    )
}

const QUEUE: &str = "  queue {\n    address = \"redis:6379\"\n    list_name = \"job-queue\"\n  }\n";

#[test]
fn removing_kedas_crd_removes_its_objects_from_state_and_plan_says_keda_is_missing() {
    let cluster = KubeCluster::start(true);
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws.write(&worker(QUEUE));
    ws.init();
    ws.apply();

    // `kubectl delete crd scaledobjects.keda.sh`: the ScaledObject is gone with its kind.
    cluster.remove_crd("scaledobjects.keda.sh", "keda.sh");
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    let flat = plan.flat();
    assert!(!flat.contains("404 page not found"), "no raw API error:\n{}", plan.all());
    assert!(flat.contains("no longer serves ScaledObject"), "the refresh says what happened:\n{}", plan.all());
    assert!(plan.stdout.contains("scaling_profile.w will be created"), "{}", plan.stdout);
    // KEDA might still be installed earlier in the same apply: a warning at plan time...
    assert!(flat.contains("Warning: KEDA is not installed") && flat.contains("scaledobjects.keda.sh"), "{}", plan.all());
    // ...and a clear error when apply reaches the resource without it.
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.flat().contains("is not installed in this cluster"), "{}", apply.all());
    // A plain destroy finds nothing left to delete.
    ws.destroy();
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());

    // Without queue or schedule blocks the same workload is an HPA, which works.
    ws.write(&worker(""));
    ws.apply();
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}

#[test]
fn keda_installed_earlier_in_the_same_apply_is_found() {
    let cluster = KubeCluster::start(false);
    let null = scaling_testkit::tool("terraform-provider-null_v2.1.2_x4");
    let mirror = scaling_testkit::Mirror::new(&[
        ("skillancer/scaling", "0.1.0", std::path::Path::new(env!("CARGO_BIN_EXE_terraform-provider-scaling"))),
        ("hashicorp/null", "2.1.2", &null),
    ]);
    let mut ws = Workspace::new(&mirror, None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    // An HPA applied at once makes the provider discover the cluster before KEDA arrives (as a
    // Helm release would install it); the worker waits for it.
    let install = scaling_testkit::repo_root().join("scripts/kube-keda.sh");
    ws.write(&format!(
        "resource \"null_resource\" \"keda\" {{\n  provisioner \"local-exec\" {{\n    command = \"sleep 3 && {} {}\"\n  }}\n}}\n\n\
         resource \"scaling_profile\" \"api\" {{\n  namespace = \"default\"\n  name = \"api-gateway\"\n  min_replicas = 2\n  max_replicas = 20\n  \
         target {{\n    name = \"api-gateway\"\n  }}\n}}\n\n{}",
        install.display(),
        cluster.path().display(),
        worker(&format!("{QUEUE}  depends_on = [null_resource.keda]\n"))
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a warning, not an error, while KEDA may still come:\n{}", plan.all());
    assert!(plan.flat().contains("Warning: KEDA is not installed"), "{}", plan.all());
    ws.apply();
    assert!(cluster.get("keda.sh/v1alpha1", "ScaledObject", "default", "job-processor").is_some());
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}
