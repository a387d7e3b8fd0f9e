//! The RDS lifecycle testkit/aws/extensions/rds.py adds to moto, called through aws-sdk-rds as
//! AWS documents the answers (docs/moto-facts.md).

use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::DbInstance;
use aws_sdk_rds::Client;
use scaling_testkit::{Moto, REGION};

async fn status(c: &Client, id: &str) -> Option<DbInstance> {
    match c.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(out) => out.db_instances().first().cloned(),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => None,
        Err(e) => panic!("describe {id}: {e:?}"),
    }
}

/// The statuses `id` shows until `until` holds, each once.
async fn statuses_until(c: &Client, id: &str, until: impl Fn(&Option<DbInstance>) -> bool) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..30 {
        let now = status(c, id).await;
        let label = now.as_ref().map(|i| i.db_instance_status().unwrap_or_default().to_string()).unwrap_or_else(|| "gone".into());
        if seen.last() != Some(&label) {
            seen.push(label);
        }
        if until(&now) {
            return seen;
        }
    }
    panic!("{id} never got there: {seen:?}");
}

fn source(moto: &Moto, id: &str) {
    moto.create_source(REGION, id);
    let id = id.to_string();
    moto.rds(REGION, |c| async move {
        c.add_tags_to_resource()
            .resource_name(format!("arn:aws:rds:{REGION}:123456789012:db:{id}"))
            .tags(aws_sdk_rds::types::Tag::builder().key("team").value("data").build())
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn a_replica_is_creating_then_backing_up_then_available_with_its_own_id_and_no_tags() {
    let moto = Moto::shared();
    source(moto, "life-production");
    moto.rds(REGION, |c| async move {
        let made = c
            .create_db_instance_read_replica()
            .db_instance_identifier("life-replica")
            .source_db_instance_identifier("life-production")
            .send()
            .await
            .unwrap()
            .db_instance
            .unwrap();
        assert_eq!(made.db_instance_status(), Some("creating"));
        let seen = statuses_until(&c, "life-replica", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        assert_eq!(seen, ["creating", "backing-up", "available"]);
        let replica = status(&c, "life-replica").await.unwrap();
        let primary = status(&c, "life-production").await.unwrap();
        assert_ne!(replica.dbi_resource_id(), primary.dbi_resource_id(), "each instance has its own DbiResourceId");
        assert!(replica.tag_list().is_empty(), "a replica made without tags has none: {:?}", replica.tag_list());

        let again = c
            .create_db_instance_read_replica()
            .db_instance_identifier("life-replica")
            .source_db_instance_identifier("life-production")
            .send()
            .await
            .unwrap_err();
        assert_eq!(again.as_service_error().and_then(|e| e.code()), Some("DBInstanceAlreadyExists"));
    });
}

#[test]
fn promotion_clears_the_source_only_after_modifying_and_rebooting() {
    let moto = Moto::shared();
    source(moto, "promo-production");
    moto.rds(REGION, |c| async move {
        c.create_db_instance_read_replica()
            .db_instance_identifier("promo-replica")
            .source_db_instance_identifier("promo-production")
            .send()
            .await
            .unwrap();
        statuses_until(&c, "promo-replica", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        let promoted = c.promote_read_replica().db_instance_identifier("promo-replica").send().await.unwrap().db_instance.unwrap();
        assert_eq!(promoted.read_replica_source_db_instance_identifier(), Some("promo-production"), "the source stays at first");
        let seen = statuses_until(&c, "promo-replica", |i| {
            i.as_ref()
                .is_some_and(|i| i.db_instance_status() == Some("available") && i.read_replica_source_db_instance_identifier().is_none())
        })
        .await;
        assert_eq!(seen, ["modifying", "rebooting", "available"]);
        let again = c.promote_read_replica().db_instance_identifier("promo-replica").send().await.unwrap_err();
        assert_eq!(again.as_service_error().and_then(|e| e.code()), Some("InvalidDBInstanceState"));
    });
}

#[test]
fn a_delete_is_deleting_before_not_found_and_a_second_one_is_refused() {
    let moto = Moto::shared();
    source(moto, "del-production");
    moto.rds(REGION, |c| async move {
        c.create_db_instance_read_replica()
            .db_instance_identifier("del-replica")
            .source_db_instance_identifier("del-production")
            .send()
            .await
            .unwrap();
        statuses_until(&c, "del-replica", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        c.delete_db_instance().db_instance_identifier("del-replica").skip_final_snapshot(true).send().await.unwrap();
        let again = c.delete_db_instance().db_instance_identifier("del-replica").skip_final_snapshot(true).send().await.unwrap_err();
        assert_eq!(again.as_service_error().and_then(|e| e.code()), Some("InvalidDBInstanceState"));
        assert!(again.as_service_error().and_then(|e| e.message()).unwrap_or_default().contains("is already being deleted"));
        let seen = statuses_until(&c, "del-replica", Option::is_none).await;
        assert_eq!(seen, ["deleting", "gone"]);
    });
}

#[test]
fn deferred_changes_wait_for_the_maintenance_window_and_immediate_ones_pass_through_modifying() {
    let moto = Moto::shared();
    moto.create_source(REGION, "mod-production");
    moto.rds(REGION, |c| async move {
        c.modify_db_instance()
            .db_instance_identifier("mod-production")
            .db_instance_class("db.r6g.4xlarge")
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
        let held = status(&c, "mod-production").await.unwrap();
        assert_eq!(held.db_instance_class(), Some("db.r6g.2xlarge"), "deferred: not yet");
        assert_eq!(held.pending_modified_values().and_then(|p| p.db_instance_class()), Some("db.r6g.4xlarge"));
    });
    moto.maintenance_window("mod-production");
    moto.rds(REGION, |c| async move {
        let landed = status(&c, "mod-production").await.unwrap();
        assert_eq!(landed.db_instance_class(), Some("db.r6g.4xlarge"), "the maintenance window applied it");
        assert!(landed.pending_modified_values().and_then(|p| p.db_instance_class()).is_none());

        c.modify_db_instance().db_instance_identifier("mod-production").storage_type("gp3").apply_immediately(true).send().await.unwrap();
        let busy = c
            .modify_db_instance()
            .db_instance_identifier("mod-production")
            .db_instance_class("db.r6g.large")
            .apply_immediately(true)
            .send()
            .await
            .unwrap_err();
        assert_eq!(busy.as_service_error().and_then(|e| e.code()), Some("InvalidDBInstanceState"), "no change while modifying");
        let seen = statuses_until(&c, "mod-production", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        assert_eq!(seen, ["modifying", "storage-optimization", "available"]);
        assert_eq!(status(&c, "mod-production").await.unwrap().storage_type(), Some("gp3"));
    });
}

#[test]
fn calls_above_the_rate_are_throttled_as_aws_limits_an_account() {
    let moto = Moto::start_with(&[("SCALING_MOTO_RATE", "5")]);
    moto.rds(REGION, |c| async move {
        let mut throttled = 0;
        for _ in 0..20 {
            match c
                .describe_db_instances()
                .customize()
                .config_override(aws_sdk_rds::config::Config::builder().retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code(), Some("Throttling"), "{e:?}");
                    throttled += 1;
                }
            }
        }
        assert!(throttled >= 10, "20 calls at once against 5 a second: most are throttled ({throttled})");
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        c.describe_db_instances().send().await.expect("a second later the bucket has refilled");
    });
}

/// The RDS User Guide ("Using the schedule modifications setting"): a deferred value the
/// instance already has leaves the queue as it is; applied immediately, it takes the pending
/// change back, and every other pending change is applied with it, not only the request's.
#[test]
fn a_pending_change_is_taken_back_only_immediately_and_immediately_applies_the_whole_queue() {
    let moto = Moto::shared();
    moto.create_source(REGION, "queue-production");
    moto.rds(REGION, |c| async move {
        let defer = |class: &'static str| {
            c.modify_db_instance().db_instance_identifier("queue-production").db_instance_class(class).apply_immediately(false).send()
        };
        defer("db.r6g.4xlarge").await.unwrap();
        // Someone else's deferred storage change joins the queue.
        c.modify_db_instance()
            .db_instance_identifier("queue-production")
            .allocated_storage(200)
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
        defer("db.r6g.2xlarge").await.unwrap();
        let held = status(&c, "queue-production").await.unwrap();
        let pending = held.pending_modified_values().expect("still pending");
        assert_eq!(pending.db_instance_class(), Some("db.r6g.4xlarge"), "a deferred current class takes nothing back");
        assert_eq!(pending.allocated_storage(), Some(200));

        c.modify_db_instance()
            .db_instance_identifier("queue-production")
            .db_instance_class("db.r6g.2xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        let reverting = status(&c, "queue-production").await.unwrap();
        let pending = reverting.pending_modified_values().expect("the storage change is under way");
        assert_eq!(pending.db_instance_class(), None, "taken back");
        assert_eq!(pending.allocated_storage(), Some(200), "and the rest of the queue applies now");
        assert_eq!(reverting.db_instance_status(), Some("modifying"));
        let seen = statuses_until(&c, "queue-production", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        assert_eq!(seen, ["storage-optimization", "available"]);
        let done = status(&c, "queue-production").await.unwrap();
        assert_eq!((done.db_instance_class(), done.allocated_storage()), (Some("db.r6g.2xlarge"), Some(200)));
        assert!(done.pending_modified_values().is_none_or(|p| p.db_instance_class().is_none() && p.allocated_storage().is_none()));

        // Taking back the only pending change applies nothing: the instance stays available.
        defer("db.r6g.8xlarge").await.unwrap();
        c.modify_db_instance()
            .db_instance_identifier("queue-production")
            .db_instance_class("db.r6g.2xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        let back = status(&c, "queue-production").await.unwrap();
        assert_eq!(back.db_instance_status(), Some("available"));
        assert!(back.pending_modified_values().is_none_or(|p| p.db_instance_class().is_none()));
    });
}

/// An immediate class change starts a deferred engine upgrade too (both are in the queue).
#[test]
fn an_immediate_change_starts_a_pending_engine_upgrade_with_it() {
    let moto = Moto::shared();
    moto.create_source(REGION, "engine-production");
    moto.rds(REGION, |c| async move {
        c.modify_db_instance()
            .db_instance_identifier("engine-production")
            .engine_version("16.4")
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
        let held = status(&c, "engine-production").await.unwrap();
        assert_eq!(held.pending_modified_values().and_then(|p| p.engine_version()), Some("16.4"));
        c.modify_db_instance()
            .db_instance_identifier("engine-production")
            .db_instance_class("db.r6g.4xlarge")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        statuses_until(&c, "engine-production", |i| i.as_ref().and_then(|i| i.db_instance_status()) == Some("available")).await;
        let done = status(&c, "engine-production").await.unwrap();
        assert_eq!((done.db_instance_class(), done.engine_version()), (Some("db.r6g.4xlarge"), Some("16.4")));
        assert!(done.pending_modified_values().is_none_or(|p| p.engine_version().is_none()));
    });
}
