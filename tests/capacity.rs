//! The `scaling_capacity` data source end to end: the real terraform binary, the provider
//! binary, moto's CloudWatch (metrics put by the test), RDS and ElastiCache, and a real
//! kube-apiserver whose autoscalers' status the test writes, as their controllers would.

use scaling_testkit::{KubeCluster, Mirror, Moto, Workspace, REGION};

const HPA: (&str, &str) = ("autoscaling/v2beta2", "HorizontalPodAutoscaler");
const SCALED_OBJECT: (&str, &str) = ("keda.sh/v1alpha1", "ScaledObject");

fn workspace(moto: &'static Moto, cluster: &KubeCluster) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto));
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws
}

/// Data points `(minutes ago, value)` of a CloudWatch metric with one dimension.
fn put_metric(moto: &Moto, namespace: &str, metric: &str, dimension: (&str, &str), points: &[(i64, f64)]) {
    let data: Vec<String> = points
        .iter()
        .map(|(ago, value)| {
            format!(
                "{{'MetricName': '{metric}', 'Dimensions': [{{'Name': '{}', 'Value': '{}'}}], \
                 'Timestamp': now - datetime.timedelta(minutes={ago}), 'Value': {value}}}",
                dimension.0, dimension.1
            )
        })
        .collect();
    moto.boto3(
        REGION,
        &format!(
            "import datetime\nnow = datetime.datetime.now(datetime.timezone.utc)\n\
             client('cloudwatch').put_metric_data(Namespace='{namespace}', MetricData=[{}])",
            data.join(", ")
        ),
    );
}

/// The runbook's table for one environment: api-gateway's HPA (4 of 5 pods wanted), the job
/// worker's ScaledObject (through the HPA KEDA made for it), the database (800 of 2,000
/// connections at peak) and Redis (its fullest node at 50% at peak).
fn environment(moto: &Moto, cluster: &KubeCluster) -> String {
    cluster.create_namespace("cap");
    let target = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"});
    cluster.apply_as(
        "helm",
        HPA.0,
        HPA.1,
        "cap",
        "api-gateway",
        serde_json::json!({"scaleTargetRef": target, "minReplicas": 3, "maxReplicas": 5}),
    );
    cluster.set_status(HPA.0, HPA.1, "cap", "api-gateway", serde_json::json!({"currentReplicas": 3, "desiredReplicas": 4}));
    let worker = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "keda-hpa-job-processor"});
    cluster.apply_as(
        "keda",
        HPA.0,
        HPA.1,
        "cap",
        "keda-hpa-job-processor",
        serde_json::json!({"scaleTargetRef": worker, "maxReplicas": 30}),
    );
    cluster.set_status(HPA.0, HPA.1, "cap", "keda-hpa-job-processor", serde_json::json!({"currentReplicas": 12, "desiredReplicas": 12}));
    let job = serde_json::json!({"scaleTargetRef": {"name": "job-processor"}, "minReplicaCount": 2, "maxReplicaCount": 30, "triggers": []});
    cluster.apply_as("helm", SCALED_OBJECT.0, SCALED_OBJECT.1, "cap", "job-processor", job);
    cluster.set_status(SCALED_OBJECT.0, SCALED_OBJECT.1, "cap", "job-processor", serde_json::json!({"hpaName": "keda-hpa-job-processor"}));

    moto.create_source(REGION, "cap-production");
    put_metric(moto, "AWS/RDS", "DatabaseConnections", ("DBInstanceIdentifier", "cap-production"), &[(40, 650.0), (20, 800.0), (2, 300.0)]);
    moto.boto3(
        REGION,
        "import time\nc = client('elasticache')\n\
         c.create_replication_group(ReplicationGroupId='cap-redis', ReplicationGroupDescription='skillancer', Engine='redis', \
         CacheNodeType='cache.r6g.large', ClusterMode='enabled', NumNodeGroups=2, ReplicasPerNodeGroup=1)\n\
         while c.describe_replication_groups(ReplicationGroupId='cap-redis')['ReplicationGroups'][0]['Status'] != 'available':\n    \
         time.sleep(0.05)",
    );
    let members = moto.boto3(
        REGION,
        "print(' '.join(client('elasticache').describe_replication_groups(ReplicationGroupId='cap-redis')['ReplicationGroups'][0]['MemberClusters']))",
    );
    for (i, member) in members.split_whitespace().enumerate() {
        let peak = if i == 1 { 50.0 } else { 35.0 };
        put_metric(moto, "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", ("CacheClusterId", member), &[(30, peak), (1, 30.0)]);
    }
    "data \"scaling_capacity\" \"now\" {\n  min_headroom_percent = MIN\n\n  \
     autoscaler {\n    namespace = \"cap\"\n    name      = \"api-gateway\"\n  }\n  \
     autoscaler {\n    namespace = \"cap\"\n    name      = \"job-processor\"\n  }\n  \
     database {\n    db_instance_identifier = \"cap-production\"\n    max_connections        = 2000\n  }\n  \
     redis {\n    replication_group_id = \"cap-redis\"\n  }\n}\n\n\
     output \"capacity\" {\n  value = data.scaling_capacity.now\n}\n"
        .to_string()
}

#[test]
fn the_capacity_table_live_and_a_plan_that_stops_short_of_headroom() {
    let moto = Moto::shared();
    let cluster = KubeCluster::shared();
    let config = environment(moto, cluster);
    let ws = workspace(moto, cluster);
    ws.write(&config.replace("MIN", "15"));
    ws.init();
    ws.apply();
    let out = ws.ok(&["output", "-json", "capacity"]);
    let table: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();

    let api = &table["autoscaler"][0];
    assert_eq!(
        (api["kind"].as_str(), api["current"].as_f64(), api["peak"].as_f64(), api["limit"].as_f64()),
        (Some("HorizontalPodAutoscaler"), Some(3.0), Some(4.0), Some(5.0))
    );
    assert_eq!(api["headroom_percent"].as_f64(), Some(20.0));
    let job = &table["autoscaler"][1];
    assert_eq!((job["kind"].as_str(), job["current"].as_f64(), job["limit"].as_f64()), (Some("ScaledObject"), Some(12.0), Some(30.0)));
    assert_eq!(job["headroom_percent"].as_f64(), Some(60.0));
    let db = &table["database"][0];
    assert_eq!((db["current"].as_f64(), db["peak"].as_f64(), db["limit"].as_f64()), (Some(300.0), Some(800.0), Some(2000.0)));
    assert_eq!((db["headroom_percent"].as_f64(), db["instance_class"].as_str()), (Some(60.0), Some("db.r6g.2xlarge")));
    let redis = &table["redis"][0];
    assert_eq!(
        (redis["current"].as_f64(), redis["peak"].as_f64(), redis["headroom_percent"].as_f64()),
        (Some(30.0), Some(50.0), Some(50.0))
    );
    assert_eq!(redis["node_type"].as_str(), Some("cache.r6g.large"));
    assert_eq!(table["lowest_headroom_percent"].as_f64(), Some(20.0));

    // Before a traffic event that needs 30%: the plan stops, naming what is short.
    ws.write(&config.replace("MIN", "30"));
    let short = ws.plan();
    assert_eq!(short.code, 1, "{}", short.all());
    let said = short.flat();
    assert!(
        said.contains("Not enough headroom") && said.contains("autoscaler cap/api-gateway: 20% headroom (peak 4 of 5)"),
        "{}",
        short.all()
    );
    assert_eq!(said.matches("Not enough headroom").count(), 1, "only api-gateway is short:\n{}", short.all());

    // A database with no metrics: nothing says it is short, so a warning, not an error.
    moto.create_source(REGION, "cap-quiet");
    ws.write(&config.replace("MIN", "15").replace("cap-production", "cap-quiet"));
    let quiet = ws.plan();
    assert_ne!(quiet.code, 1, "{}", quiet.all());
    assert!(
        quiet.flat().contains("No data for the headroom check")
            && quiet.flat().contains("database cap-quiet: no usage data in the last 1h"),
        "{}",
        quiet.all()
    );

    // What does not exist is named, all of it, not only the first.
    ws.write(&config.replace("MIN", "15").replace("\"job-processor\"", "\"no-such-worker\"").replace("cap-production", "cap-gone"));
    let missing = ws.plan();
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(missing.flat().contains("no HorizontalPodAutoscaler or ScaledObject named cap/no-such-worker"), "{}", missing.all());
    assert!(missing.flat().contains("DB instance cap-gone does not exist in us-east-1"), "{}", missing.all());

    // An HPA the controller never reconciled (its status all zeros) has no data: a warning,
    // never 100% headroom.
    let target = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "new-service"});
    cluster.apply_as("helm", HPA.0, HPA.1, "cap", "new-service", serde_json::json!({"scaleTargetRef": target, "maxReplicas": 10}));
    ws.write(&config.replace("MIN", "15").replace("\"job-processor\"", "\"new-service\""));
    let unreconciled = ws.plan();
    assert_ne!(unreconciled.code, 1, "{}", unreconciled.all());
    assert!(
        unreconciled.flat().contains("No data for the headroom check")
            && unreconciled.flat().contains("autoscaler cap/new-service: its autoscaler reports no replicas yet"),
        "{}",
        unreconciled.all()
    );
    for window in ["0s", "400h"] {
        ws.write(
            &config
                .replace("MIN", "15")
                .replace("min_headroom_percent = 15", &format!("min_headroom_percent = 15\n  window = \"{window}\"")),
        );
        let refused = ws.plan();
        assert_eq!(refused.code, 1, "{window}: {}", refused.all());
        assert!(refused.flat().contains("Window out of range"), "{}", refused.all());
    }
    ws.write(&config.replace("MIN", "150"));
    let bad = ws.plan();
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.flat().contains("min_headroom_percent"), "{}", bad.all());
}

/// A group whose members need more series than one GetMetricData takes (500): 90 shards of six
/// nodes, 540 series, read over two calls; the fullest node is in the second.
#[test]
fn a_group_of_more_than_500_nodes_is_read_over_several_calls() {
    let moto = Moto::shared();
    let cluster = KubeCluster::shared();
    moto.create_replication_group("cap-wide", true, 90, 5);
    let members = moto.boto3(
        REGION,
        "print(' '.join(client('elasticache').describe_replication_groups(ReplicationGroupId='cap-wide')['ReplicationGroups'][0]['MemberClusters']))",
    );
    let members: Vec<&str> = members.split_whitespace().collect();
    assert_eq!(members.len(), 540);
    put_metric(moto, "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", ("CacheClusterId", members[0]), &[(10, 20.0)]);
    put_metric(moto, "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", ("CacheClusterId", members[539]), &[(10, 70.0)]);
    let ws = workspace(moto, cluster);
    ws.write(
        "data \"scaling_capacity\" \"wide\" {\n  redis {\n    replication_group_id = \"cap-wide\"\n  }\n}\n\n\
         output \"capacity\" {\n  value = data.scaling_capacity.wide\n}\n",
    );
    ws.init();
    ws.apply();
    let table: serde_json::Value = serde_json::from_str(&ws.ok(&["output", "-json", "capacity"]).stdout).unwrap();
    assert_eq!(table["redis"][0]["peak"].as_f64(), Some(70.0), "the fullest node, from the second call: {table}");
    let calls = moto.calls("cloudwatch").iter().filter(|(a, _)| a == "GetMetricData").count();
    assert!(calls >= 2, "540 series take two calls ({calls})");
}
