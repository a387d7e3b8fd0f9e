//! The ElastiCache behaviour testkit/aws/extensions/elasticache.py adds to moto, called through
//! aws-sdk-elasticache as AWS documents the answers (docs/moto-facts.md).

use aws_sdk_elasticache::error::ProvideErrorMetadata;
use aws_sdk_elasticache::types::{ClusterMode, ReplicationGroup};
use aws_sdk_elasticache::Client;
use scaling_testkit::{Moto, REGION};

fn moto() -> &'static Moto {
    Moto::shared()
}

async fn create(c: &Client, id: &str, shards: i32, replicas: i32) -> ReplicationGroup {
    c.create_replication_group()
        .replication_group_id(id)
        .replication_group_description("tests")
        .engine("redis")
        .cache_node_type("cache.r6g.large")
        .cluster_mode(ClusterMode::Enabled)
        .num_node_groups(shards)
        .replicas_per_node_group(replicas)
        .send()
        .await
        .expect("create")
        .replication_group
        .expect("group")
}

async fn describe(c: &Client, id: &str) -> ReplicationGroup {
    c.describe_replication_groups().replication_group_id(id).send().await.expect("describe").replication_groups()[0].clone()
}

/// Describes until the group is available; how many describes that took.
async fn settle(c: &Client, id: &str) -> (ReplicationGroup, usize) {
    for n in 1..=20 {
        let rg = describe(c, id).await;
        if rg.status() == Some("available") {
            return (rg, n);
        }
    }
    panic!("{id} never became available");
}

fn code<E: ProvideErrorMetadata, R>(e: &aws_sdk_elasticache::error::SdkError<E, R>) -> String {
    e.as_service_error().and_then(|s| s.code()).unwrap_or("no code").to_string()
}

fn shards(rg: &ReplicationGroup) -> Vec<(String, String, usize)> {
    rg.node_groups()
        .iter()
        .map(|g| {
            (g.node_group_id().unwrap_or_default().to_string(), g.slots().unwrap_or_default().to_string(), g.node_group_members().len())
        })
        .collect()
}

#[test]
fn a_new_group_is_creating_then_available_with_member_clusters_and_all_slots() {
    moto().elasticache(REGION, |c| async move {
        let made = create(&c, "fresh", 3, 1).await;
        assert_eq!(made.status(), Some("creating"));
        let (rg, describes) = settle(&c, "fresh").await;
        assert!(describes > 1, "creating lasts more than one describe");
        assert_eq!(
            shards(&rg),
            [("0001".into(), "0-5461".into(), 2), ("0002".into(), "5462-10922".into(), 2), ("0003".into(), "10923-16383".into(), 2)]
        );
        let members = |c: Client| async move {
            let clusters = c.describe_cache_clusters().send().await.unwrap();
            let ours: Vec<String> = clusters
                .cache_clusters()
                .iter()
                .filter(|k| k.replication_group_id() == Some("fresh"))
                .map(|k| k.cache_cluster_status().unwrap_or_default().to_string())
                .collect();
            ours
        };
        let first = members(c.clone()).await;
        assert_eq!(first.len(), 6, "every member is a cache cluster");
        assert!(first.iter().all(|s| s == "creating"), "members settle one describe after the group: {first:?}");
        describe(&c, "fresh").await;
        assert!(members(c.clone()).await.iter().all(|s| s == "available"));
    });
}

#[test]
fn resharding_adds_numbered_groups_and_removes_exactly_the_named_ones() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "shards", 3, 1).await;
        settle(&c, "shards").await;
        let out = c
            .modify_replication_group_shard_configuration()
            .replication_group_id("shards")
            .node_group_count(4)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        let during = out.replication_group.unwrap();
        assert_eq!(during.status(), Some("modifying"));
        // Busy: no other change until it settles.
        let busy = c
            .modify_replication_group()
            .replication_group_id("shards")
            .cache_node_type("cache.r6g.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&busy), "InvalidReplicationGroupState");
        let (rg, _) = settle(&c, "shards").await;
        let ids: Vec<String> = shards(&rg).into_iter().map(|s| s.0).collect();
        assert_eq!(ids, ["0001", "0002", "0003", "0004"], "new groups continue the numbering");
        assert_eq!(shards(&rg)[3].1, "12288-16383", "slots are spread evenly again");
        assert_eq!(shards(&rg)[3].2, 2, "a new shard has as many nodes as the smallest");

        let unknown = c
            .modify_replication_group_shard_configuration()
            .replication_group_id("shards")
            .node_group_count(2)
            .apply_immediately(true)
            .node_groups_to_remove("0002")
            .node_groups_to_remove("0009")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&unknown), "InvalidParameterValue");
        assert!(unknown.as_service_error().and_then(|s| s.message()).unwrap_or_default().contains("[0009]"));
        let unnamed = c
            .modify_replication_group_shard_configuration()
            .replication_group_id("shards")
            .node_group_count(2)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&unnamed), "InvalidParameterValue", "scale-in must name the groups");

        c.modify_replication_group_shard_configuration()
            .replication_group_id("shards")
            .node_group_count(2)
            .apply_immediately(true)
            .node_groups_to_remove("0002")
            .node_groups_to_remove("0004")
            .send()
            .await
            .unwrap();
        let (rg, _) = settle(&c, "shards").await;
        assert_eq!(shards(&rg), [("0001".into(), "0-8191".into(), 2), ("0003".into(), "8192-16383".into(), 2)]);
        assert_eq!(rg.member_clusters(), ["shards-0001-001", "shards-0001-002", "shards-0003-001", "shards-0003-002"]);
    });
}

#[test]
fn replica_counts_change_and_an_unchanged_count_is_no_operation() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "replicas", 2, 1).await;
        settle(&c, "replicas").await;
        c.increase_replica_count().replication_group_id("replicas").new_replica_count(2).apply_immediately(true).send().await.unwrap();
        let (rg, _) = settle(&c, "replicas").await;
        assert_eq!(rg.member_clusters().len(), 6);
        assert!(rg.member_clusters().contains(&"replicas-0002-003".to_string()));
        let same = c
            .increase_replica_count()
            .replication_group_id("replicas")
            .new_replica_count(2)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&same), "NoOperationFault");
        let too_many = c
            .increase_replica_count()
            .replication_group_id("replicas")
            .new_replica_count(6)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&too_many), "InvalidParameterValue");
        c.decrease_replica_count().replication_group_id("replicas").new_replica_count(0).apply_immediately(true).send().await.unwrap();
        let (rg, _) = settle(&c, "replicas").await;
        assert_eq!(rg.member_clusters(), ["replicas-0001-001", "replicas-0002-001"], "the primaries stay");
    });
}

#[test]
fn node_type_changes_after_modifying_and_no_change_is_refused() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "resize", 1, 1).await;
        settle(&c, "resize").await;
        let out = c
            .modify_replication_group()
            .replication_group_id("resize")
            .cache_node_type("cache.r6g.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        assert_eq!(out.replication_group.unwrap().status(), Some("modifying"));
        let member = c.describe_cache_clusters().cache_cluster_id("resize-0001-001").send().await.unwrap();
        assert_eq!(member.cache_clusters()[0].cache_cluster_status(), Some("modifying"), "members are modifying too");
        let (rg, _) = settle(&c, "resize").await;
        assert_eq!(rg.cache_node_type(), Some("cache.r6g.xlarge"));
        let same = c
            .modify_replication_group()
            .replication_group_id("resize")
            .cache_node_type("cache.r6g.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&same), "InvalidParameterCombination");
    });
}

#[test]
fn deletes_finish_and_a_second_delete_is_refused() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "gone", 1, 0).await;
        settle(&c, "gone").await;
        c.delete_replication_group().replication_group_id("gone").send().await.unwrap();
        let again = c.delete_replication_group().replication_group_id("gone").send().await.unwrap_err();
        assert_eq!(code(&again), "InvalidReplicationGroupState");
        let mut last = String::new();
        for _ in 0..20 {
            match c.describe_replication_groups().replication_group_id("gone").send().await {
                Ok(out) => assert_eq!(out.replication_groups()[0].status(), Some("deleting")),
                Err(e) => {
                    last = code(&e);
                    break;
                }
            }
        }
        assert_eq!(last, "ReplicationGroupNotFoundFault");
        let clusters = c.describe_cache_clusters().send().await.unwrap();
        assert!(clusters.cache_clusters().iter().all(|k| k.replication_group_id() != Some("gone")));
    });
}

#[test]
fn groups_without_cluster_mode_cannot_reshard() {
    moto().elasticache(REGION, |c| async move {
        c.create_replication_group()
            .replication_group_id("single")
            .replication_group_description("tests")
            .engine("redis")
            .cache_node_type("cache.r6g.large")
            .num_cache_clusters(2)
            .send()
            .await
            .unwrap();
        settle(&c, "single").await;
        let refused = c
            .modify_replication_group_shard_configuration()
            .replication_group_id("single")
            .node_group_count(2)
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&refused), "InvalidParameterValue");
        assert!(refused.as_service_error().and_then(|s| s.message()).unwrap_or_default().contains("cluster mode enabled"));
    });
}

/// A node type or engine version sent without ApplyImmediately waits in every member's pending
/// modifications until the maintenance window; a newer modification replaces a pending one
/// (the group's own type takes it back); ApplyImmediately applies the request and every
/// pending modification with it.
#[test]
fn deferred_changes_are_pending_until_replaced_or_applied_with_the_rest_of_the_queue() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "queue-redis", 1, 1).await;
        settle(&c, "queue-redis").await;
        let pending = |c: Client| async move {
            let out = c.describe_cache_clusters().cache_cluster_id("queue-redis-0001-002").send().await.unwrap();
            let p = out.cache_clusters()[0].pending_modified_values().cloned();
            (p.as_ref().and_then(|p| p.cache_node_type()).map(str::to_string), p.and_then(|p| p.engine_version).map(|v| v.to_string()))
        };
        let modify = |c: &Client| c.modify_replication_group().replication_group_id("queue-redis");
        modify(&c).cache_node_type("cache.r6g.xlarge").apply_immediately(false).send().await.unwrap();
        assert_eq!(pending(c.clone()).await, (Some("cache.r6g.xlarge".into()), None));
        assert_eq!(describe(&c, "queue-redis").await.cache_node_type(), Some("cache.r6g.large"), "the group keeps its type");

        // The group's own type replaces the pending one: nothing is left for the window.
        modify(&c).cache_node_type("cache.r6g.large").apply_immediately(false).send().await.unwrap();
        assert_eq!(pending(c.clone()).await, (None, None));
        let again = modify(&c).cache_node_type("cache.r6g.large").apply_immediately(false).send().await.unwrap_err();
        assert_eq!(code(&again), "InvalidParameterCombination", "now it changes nothing");

        // Someone's deferred engine upgrade, then a node type applied immediately: both happen.
        modify(&c).engine_version("7.2").apply_immediately(false).send().await.unwrap();
        assert_eq!(pending(c.clone()).await, (None, Some("7.2".into())));
        let out = modify(&c).cache_node_type("cache.r6g.2xlarge").apply_immediately(true).send().await.unwrap();
        assert_eq!(out.replication_group.unwrap().status(), Some("modifying"));
        let (rg, _) = settle(&c, "queue-redis").await;
        assert_eq!(rg.cache_node_type(), Some("cache.r6g.2xlarge"));
        settle(&c, "queue-redis").await;
        let member = c.describe_cache_clusters().cache_cluster_id("queue-redis-0001-001").send().await.unwrap();
        let member = &member.cache_clusters()[0];
        assert_eq!((member.cache_node_type(), member.engine_version()), (Some("cache.r6g.2xlarge"), Some("7.2")));
        assert_eq!(pending(c.clone()).await, (None, None));
    });

    // The maintenance window applies what is pending.
    moto().elasticache(REGION, |c| async move {
        c.modify_replication_group()
            .replication_group_id("queue-redis")
            .cache_node_type("cache.r6g.4xlarge")
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
    });
    moto().cache_maintenance_window("queue-redis");
    moto().elasticache(REGION, |c| async move {
        assert_eq!(describe(&c, "queue-redis").await.cache_node_type(), Some("cache.r6g.4xlarge"));
    });
}

/// Data tiering (r6gd) is chosen when a group is created: ElastiCache scales neither out of it
/// nor into it (ElastiCache User Guide, "Data tiering").
#[test]
fn node_types_never_move_into_or_out_of_data_tiering() {
    moto().elasticache(REGION, |c| async move {
        create(&c, "tiering", 1, 1).await;
        settle(&c, "tiering").await;
        let refused = c
            .modify_replication_group()
            .replication_group_id("tiering")
            .cache_node_type("cache.r6gd.xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&refused), "InvalidParameterCombination");
        assert_eq!(describe(&c, "tiering").await.cache_node_type(), Some("cache.r6g.large"));
    });
}
