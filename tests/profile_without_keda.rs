//! A cluster without KEDA: queue and schedule blocks are refused at plan time, clearly.

use scaling_testkit::{KubeCluster, Mirror, Workspace};

#[test]
fn plan_says_keda_is_missing() {
    let cluster = KubeCluster::start(false);
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws.write(
        "resource \"scaling_profile\" \"w\" {\n  namespace = \"default\"\n  name = \"job-processor\"\n  min_replicas = 2\n  max_replicas = 30\n  \
         target {\n    name = \"job-processor\"\n  }\n  queue {\n    address = \"redis:6379\"\n    list_name = \"job-queue\"\n  }\n}\n",
    );
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("KEDA is not installed"), "{}", plan.all());
    assert!(plan.flat().contains("scaledobjects.keda.sh"), "{}", plan.all());

    // Without queue or schedule blocks the same workload is an HPA, which works.
    ws.write(
        "resource \"scaling_profile\" \"w\" {\n  namespace = \"default\"\n  name = \"job-processor\"\n  min_replicas = 2\n  max_replicas = 30\n  \
         cpu_utilization = 70\n  target {\n    name = \"job-processor\"\n  }\n}\n",
    );
    ws.apply();
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}
