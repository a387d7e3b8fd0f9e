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
