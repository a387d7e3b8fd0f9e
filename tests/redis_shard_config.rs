//! `scaling_redis_shard_config` end to end: the real terraform binary, the provider binary, and
//! moto extended with ElastiCache's documented behaviour (testkit/aws/extensions).

use scaling_testkit::{Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

/// A replication group made elsewhere (as aws_elasticache_replication_group would), settled.
fn group(moto: &Moto, id: &str, cluster_mode: bool, shards: i32, replicas: i32) {
    moto.create_replication_group(id, cluster_mode, shards, replicas);
}

/// (shard ids, replicas per shard, node type) as ElastiCache reports them.
fn shape(moto: &Moto, id: &str) -> (Vec<String>, Vec<usize>, String) {
    let id = id.to_string();
    moto.elasticache(REGION, |c| async move {
        let out = c.describe_replication_groups().replication_group_id(&id).send().await.unwrap();
        let rg = &out.replication_groups()[0];
        let mut groups: Vec<(String, usize)> =
            rg.node_groups().iter().map(|g| (g.node_group_id().unwrap().to_string(), g.node_group_members().len() - 1)).collect();
        groups.sort();
        (groups.iter().map(|g| g.0.clone()).collect(), groups.iter().map(|g| g.1).collect(), rg.cache_node_type().unwrap().to_string())
    })
}

/// The changes the provider sent for `id`, in order (describes and the fixture's create left
/// out).
fn changes(moto: &Moto, id: &str) -> Vec<String> {
    moto.calls("elasticache")
        .into_iter()
        .filter(|(a, g)| g == id && !a.starts_with("Describe") && a != "CreateReplicationGroup")
        .map(|(a, _)| a)
        .collect()
}

fn config(id: &str, body: &str) -> String {
    format!("resource \"scaling_redis_shard_config\" \"redis\" {{\n  replication_group_id = \"{id}\"\n{body}}}\n")
}

#[test]
fn reshard_and_resize_in_one_apply_in_order_then_scale_in_and_restore() {
    let moto = Moto::shared();
    group(moto, "runbook-redis", true, 3, 1);
    let ws = workspace(moto);
    // The runbook: --node-group-count 4, then cache.r6g.xlarge; and a second replica.
    ws.write(&config(
        "runbook-redis",
        "  node_group_count        = 4\n  replicas_per_node_group = 2\n  node_type               = \"cache.r6g.xlarge\"\n  on_destroy              = \"restore\"\n",
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("Resharding moves slots under load"), "{}", plan.all());
    ws.apply();
    assert_eq!(
        changes(moto, "runbook-redis"),
        ["ModifyReplicationGroupShardConfiguration", "IncreaseReplicaCount", "ModifyReplicationGroup"],
        "shards, then more replicas, then the node type"
    );
    assert_eq!(
        shape(moto, "runbook-redis"),
        (vec!["0001".into(), "0002".into(), "0003".into(), "0004".into()], vec![2; 4], "cache.r6g.xlarge".into())
    );
    let clean = ws.plan();
    assert_eq!(clean.code, 0, "{}", clean.all());
    let state = ws.ok(&["state", "show", "-no-color", "scaling_redis_shard_config.redis"]);
    let flat = state.flat();
    assert!(
        flat.contains("original_node_group_count = 3") && flat.contains(r#"original_node_type = "cache.r6g.large""#),
        "{}",
        state.stdout
    );

    // Out of band: someone adds a fifth shard. Drift shows, and apply puts it back.
    moto.elasticache(REGION, |c| async move {
        c.modify_replication_group_shard_configuration()
            .replication_group_id("runbook-redis")
            .node_group_count(5)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    });
    let drift = ws.tf(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.flat().contains("~ node_group_count = 5 -> 4"), "{}", drift.all());
    assert!(drift.flat().contains("node groups 0005 are removed"), "the plan names what scale-in removes:\n{}", drift.all());
    ws.apply();
    assert_eq!(shape(moto, "runbook-redis").0, ["0001", "0002", "0003", "0004"], "exactly the fifth went");

    // Scale-in to 2: the plan names 0003 and 0004; fewer replicas come last.
    ws.write(&config(
        "runbook-redis",
        "  node_group_count        = 2\n  replicas_per_node_group = 1\n  on_destroy              = \"restore\"\n",
    ));
    let plan = ws.plan();
    assert!(plan.flat().contains("node groups 0003, 0004 are removed"), "{}", plan.all());
    let before = changes(moto, "runbook-redis").len();
    ws.apply();
    assert_eq!(changes(moto, "runbook-redis")[before..], ["ModifyReplicationGroupShardConfiguration", "DecreaseReplicaCount"]);
    assert_eq!(shape(moto, "runbook-redis"), (vec!["0001".into(), "0002".into()], vec![1, 1], "cache.r6g.xlarge".into()));
    assert_eq!(ws.plan().code, 0);

    // on_destroy = "restore": the shape the group had when adopted comes back.
    ws.destroy();
    let (ids, replicas, node_type) = shape(moto, "runbook-redis");
    assert_eq!((ids.len(), replicas, node_type.as_str()), (3, vec![1, 1, 1], "cache.r6g.large"));
}

#[test]
fn import_then_a_clean_plan_and_retain_leaves_the_group() {
    let moto = Moto::shared();
    group(moto, "imported-redis", true, 2, 1);
    let ws = workspace(moto);
    ws.write(&config("imported-redis", "  node_group_count = 2\n"));
    ws.init();
    let out = ws.ok(&["import", "-no-color", "-input=false", "scaling_redis_shard_config.redis", "imported-redis"]);
    assert!(out.stdout.contains("Import successful"), "{}", out.stdout);
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.all());
    ws.destroy();
    assert_eq!(shape(moto, "imported-redis").0.len(), 2, "retain (the default) leaves the group as it is");
    let bad = ws.tf(&["import", "-no-color", "-input=false", "scaling_redis_shard_config.redis", "Imported_Redis"]);
    assert!(bad.flat().contains("Invalid import ID"), "{}", bad.all());
}

#[test]
fn bad_input_and_groups_without_cluster_mode_fail_at_plan() {
    let moto = Moto::shared();
    group(moto, "single-redis", false, 1, 1);
    let ws = workspace(moto);
    let cases = [
        ("node_group_count", config("single-redis", "  node_group_count = 0\n"), "between 1 and 500"),
        ("replicas_per_node_group", config("single-redis", "  node_group_count = 1\n  replicas_per_node_group = 6\n"), "between 0 and 5"),
        ("node_type", config("single-redis", "  node_group_count = 1\n  node_type = \"r6g.large\"\n"), "node type"),
        ("replication_group_id", config("Single_Redis", "  node_group_count = 1\n"), "only letters, digits and hyphens"),
        ("on_destroy", config("single-redis", "  node_group_count = 1\n  on_destroy = \"delete\"\n"), "retain, restore"),
        ("node_group_count", config("single-redis", "  node_group_count = 2\n"), "does not run in cluster mode"),
    ];
    ws.write(&cases[0].1);
    ws.init();
    for (attribute, body, detail) in &cases {
        ws.write(body);
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{attribute}: plan must fail:\n{}", plan.all());
        assert!(plan.flat().contains(detail), "{attribute}: expected {detail:?}:\n{}", plan.all());
        assert!(plan.all().contains(attribute), "{attribute}: the diagnostic names the attribute:\n{}", plan.all());
    }
    assert!(changes(moto, "single-redis").is_empty(), "nothing was called");
    // A group that may come from this apply: a warning naming it, and the error at apply.
    ws.write(&config("no-such-redis", "  node_group_count = 1\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.flat().contains("No such replication group yet") && plan.flat().contains("no-such-redis does not exist in us-east-1"),
        "{}",
        plan.all()
    );
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("no-such-redis does not exist"), "{}", failed.all());
    // Replicas still change on a group without cluster mode.
    ws.write(&config("single-redis", "  node_group_count = 1\n  replicas_per_node_group = 2\n"));
    ws.apply();
    assert_eq!(shape(moto, "single-redis").1, [2]);
    assert_eq!(ws.plan().code, 0);
}

#[test]
fn a_busy_or_throttled_answer_is_retried_until_the_step_succeeds() {
    let moto = Moto::shared();
    group(moto, "busy-redis", true, 2, 0);
    moto.fail_next("ModifyReplicationGroupShardConfiguration", "busy-redis", &["InvalidReplicationGroupState", "Throttling"]);
    moto.fail_next("ModifyReplicationGroup", "busy-redis", &["InvalidReplicationGroupState"]);
    let ws = workspace(moto);
    ws.write(&config("busy-redis", "  node_group_count = 3\n  node_type = \"cache.r6g.xlarge\"\n"));
    ws.init();
    ws.apply();
    let sent = changes(moto, "busy-redis");
    assert!(sent.iter().filter(|a| *a == "ModifyReplicationGroupShardConfiguration").count() >= 3, "{sent:?}");
    assert_eq!(shape(moto, "busy-redis").0.len(), 3);
    assert_eq!(shape(moto, "busy-redis").2, "cache.r6g.xlarge");
    assert_eq!(ws.plan().code, 0);
}

#[test]
fn a_deferred_node_type_change_is_pending_not_a_perpetual_diff() {
    let moto = Moto::shared();
    group(moto, "deferred-redis", true, 2, 1);
    let ws = workspace(moto);
    ws.write(&config(
        "deferred-redis",
        "  node_group_count  = 2\n  node_type         = \"cache.r6g.xlarge\"\n  apply_immediately = false\n",
    ));
    ws.init();
    ws.apply();
    assert_eq!(shape(moto, "deferred-redis").2, "cache.r6g.large", "the group keeps its type until the maintenance window");
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "the pending type is what the group will be:\n{}", plan.all());
    // Replicas left out of the configuration are left as each shard has them: the node type is
    // the only change asked for (a ModifyReplicationGroup that met a busy or failing answer is
    // asked again, from a fresh look).
    let mut asked = changes(moto, "deferred-redis");
    asked.dedup();
    assert_eq!(asked, ["ModifyReplicationGroup"]);
}

#[test]
fn one_shard_changed_by_hand_shows_and_a_plan_made_stale_is_refused() {
    let moto = Moto::shared();
    group(moto, "drift-redis", true, 4, 1);
    let ws = workspace(moto);
    ws.write(&config("drift-redis", "  node_group_count        = 4\n  replicas_per_node_group = 1\n"));
    ws.init();
    ws.apply();
    // Someone adds a replica to one shard only: the plan shows it, apply evens it out.
    moto.elasticache(REGION, |c| async move {
        let shard = aws_sdk_elasticache::types::ConfigureShard::builder().node_group_id("0002").new_replica_count(2).build();
        c.increase_replica_count()
            .replication_group_id("drift-redis")
            .replica_configuration(shard)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    });
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.flat().contains("~ replicas_per_node_group = 2 -> 1"), "{}", drift.all());
    ws.apply();
    assert_eq!(shape(moto, "drift-redis").1, [1, 1, 1, 1]);

    // A saved scale-in plan (keep 0001, 0002), then someone removes 0002 by hand: applying the
    // stale plan would remove other groups than it named, so it is refused.
    ws.write(&config("drift-redis", "  node_group_count        = 2\n  replicas_per_node_group = 1\n"));
    ws.ok(&["plan", "-out", "scale-in.tfplan", "-no-color", "-input=false"]);
    moto.elasticache(REGION, |c| async move {
        c.modify_replication_group_shard_configuration()
            .replication_group_id("drift-redis")
            .node_group_count(3)
            .node_groups_to_remove("0002")
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        for _ in 0..10 {
            c.describe_replication_groups().replication_group_id("drift-redis").send().await.unwrap();
        }
    });
    let stale = ws.tf(&["apply", "-no-color", "-input=false", "scale-in.tfplan"]);
    assert_eq!(stale.code, 1, "{}", stale.all());
    assert!(stale.flat().contains("changed since the plan"), "{}", stale.all());
    assert_eq!(shape(moto, "drift-redis").0, ["0001", "0003", "0004"], "nothing more was removed");
}

/// A node type deferred to the maintenance window, then set back to the type the group runs:
/// the pending change is taken back (the window changes nothing), and state and plan agree
/// with ElastiCache. An immediate node type change names someone's pending engine upgrade,
/// which starts with it; the memory warning compares against the type the group runs.
#[test]
fn a_pending_node_type_set_back_is_cancelled_and_the_plan_names_what_else_starts() {
    let moto = Moto::shared();
    group(moto, "pend-redis", true, 1, 1);
    let ws = workspace(moto);
    let sized = |node_type: &str, extra: &str| {
        config("pend-redis", &format!("  node_group_count = 1\n  node_type        = \"{node_type}\"\n{extra}"))
    };
    ws.write(&sized("cache.r6g.xlarge", "  apply_immediately = false\n"));
    ws.init();
    ws.apply();
    assert_eq!(shape(moto, "pend-redis").2, "cache.r6g.large", "deferred");
    assert_eq!(ws.plan().code, 0, "a pending type plans nothing");

    ws.write(&sized("cache.r6g.large", "  apply_immediately = false\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("Cancels the pending change to cache.r6g.xlarge"), "{}", plan.all());
    assert!(!plan.flat().contains("Less memory"), "the group runs cache.r6g.large already:\n{}", plan.all());
    ws.apply();
    assert_eq!(ws.plan().code, 0, "no perpetual diff");
    moto.cache_maintenance_window("pend-redis");
    assert_eq!(shape(moto, "pend-redis").2, "cache.r6g.large", "the window changed nothing");
    assert_eq!(ws.plan().code, 0);

    // Someone queues an engine upgrade; our immediate change starts it, and the plan says so.
    moto.elasticache(REGION, |c| async move {
        c.modify_replication_group()
            .replication_group_id("pend-redis")
            .engine_version("7.2")
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
    });
    ws.write(&sized("cache.r6g.2xlarge", ""));
    let plan = ws.plan();
    assert!(plan.flat().contains("This apply also starts changes pending for the maintenance window"), "{}", plan.all());
    assert!(plan.flat().contains("engine version") && plan.flat().contains("to 7.2"), "{}", plan.all());
    ws.apply();
    assert_eq!(shape(moto, "pend-redis").2, "cache.r6g.2xlarge");
    let state = ws.state_json();
    assert_eq!(state["values"]["root_module"]["resources"][0]["values"]["engine_version"], "7.2");
    assert_eq!(ws.plan().code, 0);

    // A restore on destroy applies immediately too: what it starts besides is said then, since
    // Terraform 1.0 plans no destroy with the provider.
    ws.write(&sized("cache.r6g.2xlarge", "  on_destroy = \"restore\"\n"));
    ws.apply();
    moto.elasticache(REGION, |c| async move {
        c.modify_replication_group()
            .replication_group_id("pend-redis")
            .engine_version("7.4")
            .apply_immediately(false)
            .send()
            .await
            .unwrap();
    });
    let destroyed = ws.destroy();
    assert!(
        destroyed.flat().contains("This apply also starts changes pending") && destroyed.flat().contains("to 7.4"),
        "{}",
        destroyed.all()
    );
    assert_eq!(shape(moto, "pend-redis").2, "cache.r6g.large", "the original node type is back");
}

/// A scale-in to a larger node type grows the nodes first, so the shards that stay have the
/// memory for the data of those removed; the plan says the order.
#[test]
fn a_scale_in_to_a_larger_node_type_grows_the_nodes_first() {
    let moto = Moto::shared();
    group(moto, "order-redis", true, 4, 1);
    let ws = workspace(moto);
    ws.write(&config("order-redis", "  node_group_count = 4\n"));
    ws.init();
    ws.apply();
    ws.write(&config("order-redis", "  node_group_count = 2\n  node_type        = \"cache.r6g.2xlarge\"\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains("The steps, in the order they run") && plan.flat().contains("first the node type"), "{}", plan.all());
    ws.apply();
    assert_eq!(changes(moto, "order-redis"), ["ModifyReplicationGroup", "ModifyReplicationGroupShardConfiguration"]);
    assert_eq!(shape(moto, "order-redis"), (vec!["0001".into(), "0002".into()], vec![1, 1], "cache.r6g.2xlarge".into()));
    assert_eq!(ws.plan().code, 0);

    // A scale-out to a smaller type reshards first.
    ws.write(&config("order-redis", "  node_group_count = 3\n  node_type        = \"cache.r6g.xlarge\"\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains("first the shards (2 to 3)"), "{}", plan.all());
    ws.apply();
    assert_eq!(changes(moto, "order-redis")[2..], ["ModifyReplicationGroupShardConfiguration", "ModifyReplicationGroup"]);
}

/// What ElastiCache refuses is refused at plan, before any step: no replica on a group without
/// cluster mode that has automatic failover, and a move into or out of data tiering (r6gd).
#[test]
fn what_elasticache_refuses_fails_the_plan_before_any_step() {
    let moto = Moto::shared();
    moto.elasticache(REGION, |c| async move {
        c.create_replication_group()
            .replication_group_id("failover-redis")
            .replication_group_description("with automatic failover")
            .engine("redis")
            .cache_node_type("cache.r6g.large")
            .num_cache_clusters(2)
            .automatic_failover_enabled(true)
            .send()
            .await
            .unwrap();
        for _ in 0..20 {
            let out = c.describe_replication_groups().replication_group_id("failover-redis").send().await.unwrap();
            if out.replication_groups()[0].status() == Some("available") {
                break;
            }
        }
    });
    let ws = workspace(moto);
    ws.write(&config(
        "failover-redis",
        "  node_group_count        = 1\n  replicas_per_node_group = 0\n  node_type               = \"cache.r6g.xlarge\"\n",
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("A replica is needed") && plan.flat().contains("automatic failover"), "{}", plan.all());
    assert!(plan.all().contains("replicas_per_node_group"), "{}", plan.all());

    ws.write(&config("failover-redis", "  node_group_count = 1\n  node_type        = \"cache.r6gd.xlarge\"\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(
        plan.flat().contains("cache.r6gd.xlarge") && plan.flat().contains("cache.r6g.large") && plan.flat().contains("data tiering"),
        "{}",
        plan.all()
    );
    assert!(changes(moto, "failover-redis").is_empty(), "nothing was sent: {:?}", changes(moto, "failover-redis"));
}
