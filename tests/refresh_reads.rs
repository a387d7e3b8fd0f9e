//! A refresh's shared reads (provider/src/refresh.rs): once a refresh has read enough objects of
//! one scope, one listing answers the rest. What a listing or a batch answers for an object must
//! be exactly what reading that object on its own answers, including "not found", and one
//! object's error must fail its own read and no other.

use std::collections::HashMap;

use aws_sdk_rds::types::DbInstance;
use kube::api::{Api, DynamicObject};
use scaling_testkit::{FaultProxy, KubeCluster, Mirror, Moto, Workspace, REGION};
use terraform_provider_scaling::aws::rds::InstanceLookup;
use terraform_provider_scaling::kube::list::ObjectListings;
use terraform_provider_scaling::reads::refresh::WriteCount;

/// Held by every test here that calls RDS or ElastiCache: the tests of one binary share a moto
/// and run at once, and these count its calls or inject faults for calls that name no object.
static MOTO_CALLS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn counting_calls() -> std::sync::MutexGuard<'static, ()> {
    MOTO_CALLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The instance as DescribeDBInstances answers for it alone: None when RDS says it is not found.
async fn described_alone(client: &aws_sdk_rds::Client, id: &str) -> Option<DbInstance> {
    match client.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(out) => out.db_instances.unwrap_or_default().into_iter().next(),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => None,
        Err(e) => panic!("describe {id}: {e:?}"),
    }
}

/// The instance without its latest restorable time, which moves on by itself between any two
/// reads (on AWS every five minutes or so; in moto at each describe).
fn at_rest(instance: &Option<DbInstance>) -> Option<DbInstance> {
    instance.clone().map(|mut i| {
        i.latest_restorable_time = None;
        i
    })
}

/// A client that counts its writes, as the provider's does.
fn counted(client: &aws_sdk_rds::Client, writes: &WriteCount) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(client.config().to_builder().interceptor(writes.aws_interceptor()).build())
}

/// A lookup as the provider makes one, over `client` with its writes counted.
fn lookup_over(client: &aws_sdk_rds::Client) -> (InstanceLookup, aws_sdk_rds::Client, WriteCount) {
    let writes = WriteCount::new();
    let ours = counted(client, &writes);
    (InstanceLookup::new(ours.clone(), writes.clone()), ours, writes)
}

/// Instances `prefix-000`.. made elsewhere and settled (`available`), by identifier.
fn settled_instances(moto: &Moto, prefix: &str, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|i| format!("{prefix}-{i:03}")).collect();
    for id in &ids {
        moto.create_source(REGION, id);
        moto.settle(id);
    }
    ids
}

/// The DescribeDBInstances calls moto logged since `before`: the instances each named, "-"
/// for none (a listing).
fn describes_since(moto: &Moto, before: usize) -> Vec<String> {
    moto.calls("rds")[before..].iter().filter(|(action, _)| action == "DescribeDBInstances").map(|(_, named)| named.clone()).collect()
}

#[test]
fn rds_reads_in_a_refresh_answer_as_describing_each_instance_alone_does() {
    let moto = Moto::shared();
    let _counting = counting_calls();
    // More than a page (100) of instances, so the listing is read over pages.
    let ids = settled_instances(moto, "listed", 110);
    let before = moto.calls("rds").len();
    let wanted: Vec<String> = ids.iter().cloned().chain(["never-made-1".to_string(), "never-made-2".to_string()]).collect();
    let asking = wanted.clone();
    let (refreshed, alone) = moto.rds(REGION, |client| async move {
        let wanted = asking;
        let (lookup, ..) = lookup_over(&client);
        let reads = wanted.iter().map(|id| lookup.get_in_refresh(id));
        let refreshed: Vec<Option<DbInstance>> =
            futures_util::future::join_all(reads).await.into_iter().map(|r| r.expect("refresh read")).collect();
        let mut alone = Vec::new();
        for id in &wanted {
            alone.push(described_alone(&client, id).await);
        }
        (refreshed, alone)
    });
    let asked = describes_since(moto, before);
    for (i, (refreshed, alone)) in refreshed.iter().zip(&alone).enumerate() {
        assert_eq!(at_rest(refreshed), at_rest(alone), "read {i} of the refresh differs from a describe of it alone");
    }
    assert!(refreshed[..110].iter().all(Option::is_some) && refreshed[110..].iter().all(Option::is_none));
    let (listings, by_id): (Vec<&String>, Vec<&String>) = asked[..asked.len() - wanted.len()].iter().partition(|named| *named == "-");
    let instances = moto.rds(REGION, |c| async move {
        let pages: Vec<_> = c.describe_db_instances().into_paginator().items().send().collect().await;
        pages.len()
    });
    assert_eq!(listings.len(), instances.div_ceil(100), "one listing, a page per 100 instances, answered the reads after the first ten");
    let named: usize = by_id.iter().map(|ids| ids.split(',').count()).sum();
    assert_eq!(named, 12, "only the first ten reads and the two missing instances named instances: {asked:?}");
}

#[test]
fn a_write_through_the_provider_stales_the_listing() {
    let moto = Moto::shared();
    let _counting = counting_calls();
    let ids = settled_instances(moto, "stale", 12);
    let before = moto.calls("rds").len();
    let status = moto.rds(REGION, |client| async move {
        let (lookup, ours, writes) = lookup_over(&client);
        for id in &ids {
            assert!(lookup.get_in_refresh(id).await.expect("read").is_some());
        }
        assert_eq!(writes.now(), 0, "describes are not writes");
        // Deleted by this provider: the listing taken before the delete no longer answers.
        ours.delete_db_instance().db_instance_identifier("stale-011").skip_final_snapshot(true).send().await.expect("delete");
        assert_eq!(writes.now(), 2, "a write counts when it is sent and when its answer is in");
        lookup.get_in_refresh("stale-011").await.expect("read after the write").map(|i| i.db_instance_status.unwrap_or_default())
    });
    assert_ne!(status.as_deref(), Some("available"), "read back as it is after the delete: {status:?}");
    let asked = describes_since(moto, before);
    assert_eq!(asked.iter().filter(|n| *n == "-").count(), 1, "the listing answered the eleventh and twelfth reads: {asked:?}");
    assert_eq!(asked.iter().filter(|n| *n == "stale-011").count(), 1, "from the listing before the write, on its own after it: {asked:?}");
}

#[test]
fn in_a_batch_one_instance_denied_or_missing_answers_for_itself_only() {
    let moto = Moto::shared();
    let _counting = counting_calls();
    settled_instances(moto, "batch", 2);
    // An IAM policy that denies the filtered call naming several instances, and describing
    // batch-000 itself.
    moto.fail_next("DescribeDBInstances", "batch-000", &["AccessDenied", "AccessDenied"]);
    let (denied, allowed, missing, allowed_alone) = moto.rds(REGION, |client| async move {
        let (lookup, ..) = lookup_over(&client);
        let (denied, allowed, missing) = tokio::join!(lookup.get("batch-000"), lookup.get("batch-001"), lookup.get("batch-missing"));
        (denied, allowed, missing, described_alone(&client, "batch-001").await)
    });
    let denied = denied.expect_err("the denied instance's read fails");
    assert!(denied.to_string().contains("AccessDenied") || denied.to_string().contains("not authorized"), "{denied}");
    assert_eq!(at_rest(&allowed.expect("the allowed instance's read is unaffected")), at_rest(&allowed_alone));
    assert_eq!(missing.expect("a missing instance is not an error"), None);
}

#[test]
fn a_failed_listing_leaves_the_reads_to_describes_that_answer() {
    let moto = Moto::shared();
    let _counting = counting_calls();
    let ids = settled_instances(moto, "unlisted", 14);
    // Throttled past the SDK's three attempts, for every call that names no instance.
    moto.fail_next("DescribeDBInstances", "-", &["Throttling", "Throttling", "Throttling"]);
    let before = moto.calls("rds").len();
    let read = moto.rds(REGION, |client| async move {
        let (lookup, ..) = lookup_over(&client);
        let mut read = Vec::new();
        for id in &ids {
            read.push(lookup.get_in_refresh(id).await.expect("read despite the failed listing").is_some());
        }
        read
    });
    assert!(read.iter().all(|found| *found), "{read:?}");
    let asked = describes_since(moto, before);
    assert_eq!(asked.iter().filter(|n| *n == "-").count(), 3, "listed once (three attempts), not once per read: {asked:?}");
}

/// A refresh of many replicas through terraform: one listing, and the plan shows exactly what
/// changed out of band, one resized replica and one deleted.
#[test]
fn a_plan_over_many_replicas_lists_them_once_and_shows_each_change() {
    let moto = Moto::shared();
    let _counting = counting_calls();
    moto.create_source(REGION, "many-production");
    let ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto));
    let replicas: String = (0..14)
        .map(|i| {
            format!(
                "resource \"scaling_read_replica\" \"r{i}\" {{\n  identifier                    = \"many-replica-{i}\"\n  \
                 source_db_instance_identifier = \"many-production\"\n  instance_class                = \"db.r6g.large\"\n}}\n"
            )
        })
        .collect();
    ws.write(&replicas);
    ws.init();
    ws.apply();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance()
            .db_instance_identifier("many-replica-3")
            .db_instance_class("db.r6g.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .expect("resize out of band");
        c.delete_db_instance().db_instance_identifier("many-replica-5").skip_final_snapshot(true).send().await.expect("delete out of band");
    });
    moto.settle("many-replica-3");
    moto.settle("many-replica-5");
    let before = moto.calls("rds").len();
    let plan = ws.tf(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("Plan: 1 to add, 1 to change, 0 to destroy."), "{}", plan.stdout);
    assert!(plan.stdout.contains("scaling_read_replica.r5 will be created"), "{}", plan.stdout);
    assert!(plan.stdout.contains("scaling_read_replica.r3 will be updated in-place"), "{}", plan.stdout);
    assert!(plan.stdout.contains("\"db.r6g.xlarge\" -> \"db.r6g.large\""), "{}", plan.stdout);
    let asked = describes_since(moto, before);
    assert_eq!(asked.iter().filter(|n| *n == "-").count(), 1, "{asked:?}");
    ws.destroy();
}

#[test]
fn elasticache_reads_in_a_refresh_answer_as_describing_each_group_and_cluster_alone_does() {
    use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
    use terraform_provider_scaling::aws::elasticache::RefreshReads;
    let moto = Moto::shared();
    let _counting = counting_calls();
    let ids: Vec<String> = (0..14).map(|i| format!("listed-redis-{i:02}")).collect();
    for id in &ids {
        moto.create_replication_group(id, true, 2, 1);
    }
    // Every member cluster settled first: members settle a describe of their group after it.
    moto.elasticache(REGION, |c| async move {
        loop {
            c.describe_replication_groups().max_records(100).send().await.expect("groups");
            let clusters = c.describe_cache_clusters().max_records(100).send().await.expect("clusters");
            if clusters.cache_clusters().iter().all(|c| c.cache_cluster_status() == Some("available")) {
                return;
            }
        }
    });
    let wanted: Vec<String> = ids.iter().cloned().chain(["never-made-redis".to_string()]).collect();
    let before = moto.calls("elasticache").len();
    type Read = (Option<ReplicationGroup>, Option<CacheCluster>);
    let (refreshed, alone): (Vec<Read>, Vec<Read>) = moto.elasticache(REGION, |client| async move {
        let writes = WriteCount::new();
        let client = aws_sdk_elasticache::Client::from_conf(client.config().to_builder().interceptor(writes.aws_interceptor()).build());
        let reads = RefreshReads::new(writes);
        let read = |id: String| {
            let (reads, client) = (&reads, &client);
            async move {
                let group = reads.group(client, &id).await.expect("group");
                let first = group.as_ref().and_then(|g| g.member_clusters().first().cloned());
                let member = match first {
                    Some(first) => reads.cluster(client, &first).await.expect("cluster"),
                    None => None,
                };
                (group, member)
            }
        };
        let refreshed = futures_util::future::join_all(wanted.iter().cloned().map(read)).await;
        let mut alone = Vec::new();
        for id in &wanted {
            let group = match client.describe_replication_groups().replication_group_id(id).send().await {
                Ok(out) => out.replication_groups.unwrap_or_default().into_iter().next(),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_replication_group_not_found_fault()) => None,
                Err(e) => panic!("describe {id}: {e:?}"),
            };
            let member = match group.as_ref().and_then(|g| g.member_clusters().first().cloned()) {
                Some(first) => client
                    .describe_cache_clusters()
                    .cache_cluster_id(first)
                    .send()
                    .await
                    .expect("cluster")
                    .cache_clusters
                    .unwrap_or_default()
                    .into_iter()
                    .next(),
                None => None,
            };
            alone.push((group, member));
        }
        (refreshed, alone)
    });
    for (id, (refreshed, alone)) in ids.iter().zip(refreshed.iter().zip(&alone)) {
        assert_eq!(refreshed, alone, "{id}: the refresh's read differs from describing it alone");
        assert!(refreshed.0.is_some() && refreshed.1.is_some(), "{id}");
    }
    assert_eq!(refreshed[14], (None, None));
    let listings: Vec<String> =
        moto.calls("elasticache")[before..].iter().filter(|(_, named)| named == "-").map(|(action, _)| action.clone()).collect();
    assert_eq!(listings.iter().filter(|a| *a == "DescribeReplicationGroups").count(), 1, "{listings:?}");
    assert_eq!(listings.iter().filter(|a| *a == "DescribeCacheClusters").count(), 1, "{listings:?}");
}

fn hpa_spec(max: i64) -> serde_json::Value {
    serde_json::json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
        "minReplicas": 2,
        "maxReplicas": max,
    })
}

const HPA: (&str, &str) = ("autoscaling/v2beta2", "HorizontalPodAutoscaler");

type Json = serde_json::Value;

/// What each read of the refresh returned, in order, and by name what a GET of each returns.
type HpaReads = (Vec<Result<Option<Json>, String>>, HashMap<String, Option<Json>>);

/// Reads of HPAs in one namespace through a counting proxy; the objects a GET of each returns.
fn read_hpas(cluster: &KubeCluster, proxy_kubeconfig: &std::path::Path, namespace: &str, names: &[String]) -> HpaReads {
    let resource = scaling_testkit::kube::api_resource(HPA.0, HPA.1);
    let (ns, wanted) = (namespace.to_string(), names.to_vec());
    let refreshed = KubeCluster::with_client_of(proxy_kubeconfig, |client| async move {
        let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &resource);
        let listings = ObjectListings::new(WriteCount::new());
        let reads = wanted.iter().map(|name| listings.get(&api, &resource, name));
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .map(|r| r.map(|o| o.map(|o| serde_json::to_value(o).expect("JSON"))).map_err(|e| e.to_string()))
            .collect()
    });
    let alone = names.iter().map(|n| (n.clone(), cluster.get(HPA.0, HPA.1, namespace, n))).collect();
    (refreshed, alone)
}

#[test]
fn kubernetes_reads_in_a_refresh_answer_as_a_get_of_each_object_does() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("listed");
    let names: Vec<String> = (0..6).map(|i| format!("svc-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        cluster.apply_as("someone", HPA.0, HPA.1, "listed", name, hpa_spec(10 + i as i64));
    }
    cluster.set_status(HPA.0, HPA.1, "listed", "svc-2", serde_json::json!({"currentReplicas": 3, "desiredReplicas": 4}));
    let (proxy, kubeconfig) = cluster.through_proxy();
    let wanted: Vec<String> = names.iter().cloned().chain(["never-made".to_string()]).collect();

    let (refreshed, alone) = read_hpas(cluster, &kubeconfig, "listed", &wanted);
    for (name, read) in wanted.iter().zip(&refreshed) {
        assert_eq!(read.as_ref().expect("read"), &alone[name], "{name}: the refresh's read differs from a GET of it");
    }
    assert!(refreshed[..6].iter().all(|r| matches!(r, Ok(Some(_)))) && matches!(refreshed[6], Ok(None)));
    let path = "/apis/autoscaling/v2beta2/namespaces/listed/horizontalpodautoscalers";
    assert_eq!(proxy.seen(&format!("GET {path}?")).len(), 1, "one LIST");
    assert_eq!(proxy.seen(&format!("GET {path}/")).len(), 2, "a GET for the first read and one for the object the LIST lacks");
}

#[test]
fn kubernetes_reads_survive_a_failed_list_and_one_objects_error_is_its_own() {
    use scaling_testkit::Fault;
    let cluster = KubeCluster::shared();
    cluster.create_namespace("unlisted");
    let names: Vec<String> = (0..4).map(|i| format!("svc-{i}")).collect();
    for name in &names {
        cluster.apply_as("someone", HPA.0, HPA.1, "unlisted", name, hpa_spec(10));
    }
    let (proxy, kubeconfig): (FaultProxy, _) = cluster.through_proxy();
    let path = "/apis/autoscaling/v2beta2/namespaces/unlisted/horizontalpodautoscalers";
    proxy.inject(&format!("GET {path}?"), &[Fault::Status(500)]);
    proxy.inject(&format!("GET {path}/svc-3 "), &[Fault::Status(500)]);

    let (refreshed, alone) = read_hpas(cluster, &kubeconfig, "unlisted", &names);
    for (name, read) in names.iter().zip(&refreshed).take(3) {
        assert_eq!(read.as_ref().expect("read despite the failed LIST"), &alone[name], "{name}");
    }
    assert!(refreshed[3].is_err(), "svc-3's own GET failed: {:?}", refreshed[3]);
    assert_eq!(proxy.seen(&format!("GET {path}?")).len(), 1, "the failed LIST is not taken again by every read");
}

#[test]
fn a_kubernetes_write_through_the_provider_stales_the_listing() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("written");
    for name in ["svc-0", "svc-1"] {
        cluster.apply_as("someone", HPA.0, HPA.1, "written", name, hpa_spec(10));
    }
    let resource = scaling_testkit::kube::api_resource(HPA.0, HPA.1);
    let kubeconfig = cluster.kubeconfig();
    let max_replicas = KubeCluster::with_client_of(&kubeconfig.clone(), |_| async move {
        // A client with the provider's count of writes in its stack.
        let writes = WriteCount::new();
        let file = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.expect("kube config");
        let client = kube::client::ClientBuilder::try_from(config).expect("client").with_layer(&writes.kube_layer()).build();
        let api: Api<DynamicObject> = Api::namespaced_with(client, "written", &resource);
        let listings = ObjectListings::new(writes.clone());
        for name in ["svc-0", "svc-1"] {
            assert!(listings.get(&api, &resource, name).await.expect("read").is_some());
        }
        assert_eq!(writes.now(), 0, "GET and LIST are not writes");
        let patch = serde_json::json!({"spec": {"maxReplicas": 30}});
        api.patch("svc-1", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await.expect("patch");
        assert_eq!(writes.now(), 2, "a write counts when it is sent and when its answer is in");
        let read = listings.get(&api, &resource, "svc-1").await.expect("read after the write").expect("svc-1");
        read.data["spec"]["maxReplicas"].as_i64()
    });
    assert_eq!(max_replicas, Some(30), "read back as the write left it, not from the listing taken before");
}
