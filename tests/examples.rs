//! The configurations in `examples/` work as documented, against moto: the quickstart, the
//! reusable module in staging and production, and the CI drift check.

use scaling_testkit::{repo_root, KubeCluster, Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto, example_dir: &str) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto));
    ws.copy_in(&repo_root().join("examples"), "examples");
    ws.chdir(&format!("examples/{example_dir}"));
    ws.set_env("TF_VAR_rds_endpoint", &moto.endpoint());
    ws.set_env("TF_VAR_elasticache_endpoint", &moto.endpoint());
    ws.set_env("TF_VAR_cloudfront_endpoint", &moto.endpoint());
    ws
}

#[test]
fn quickstart_applies_and_plans_clean() {
    let moto = Moto::shared();
    moto.create_source(REGION, "skillancer-production");
    moto.boto3(
        REGION,
        "import time\nc = client('elasticache')\n\
         c.create_replication_group(ReplicationGroupId='skillancer-redis', ReplicationGroupDescription='skillancer', Engine='redis', \
         CacheNodeType='cache.r6g.large', ClusterMode='enabled', NumNodeGroups=3, ReplicasPerNodeGroup=1)\n\
         while c.describe_replication_groups(ReplicationGroupId='skillancer-redis')['ReplicationGroups'][0]['Status'] != 'available':\n    \
         time.sleep(0.05)",
    );
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

#[test]
fn one_module_serves_staging_and_production_and_ci_catches_drift() {
    let moto = Moto::shared();
    moto.create_source(REGION, "skillancer-staging");
    moto.create_source(REGION, "skillancer-production");

    let staging = workspace(moto, "environments/staging");
    staging.init();
    staging.apply();
    assert_eq!(staging.plan().code, 0);
    assert_eq!(moto.instance(REGION, "skillancer-staging-replica-1").unwrap().db_instance_class(), Some("db.r6g.large"));

    let production = workspace(moto, "environments/production");
    production.init();
    production.apply();
    assert_eq!(production.plan().code, 0);
    for n in 1..=2 {
        let i = moto.instance(REGION, &format!("skillancer-production-replica-{n}")).expect("production replica");
        assert_eq!(i.db_instance_class(), Some("db.r6g.xlarge"));
        assert_eq!(i.read_replica_source_db_instance_identifier(), Some("skillancer-production"));
    }

    let drift_check = repo_root().join("examples/ci-drift-check/drift-check.sh");
    let clean = production.run(production.program(&drift_check));
    assert_eq!(clean.code, 0, "no drift yet:\n{}", clean.all());

    moto.rds(REGION, |c| async move {
        c.modify_db_instance()
            .db_instance_identifier("skillancer-production-replica-2")
            .db_instance_class("db.r6g.4xlarge")
            .apply_immediately(true)
            .send()
            .await
            .expect("out-of-band resize");
    });
    let drift = production.run(production.program(&drift_check));
    assert_eq!(drift.code, 2, "the drift check must fail on an out-of-band resize:\n{}", drift.all());
    assert!(drift.stdout.contains(r#""db.r6g.4xlarge" -> "db.r6g.xlarge""#), "{}", drift.stdout);

    production.destroy();
    staging.destroy();
}
