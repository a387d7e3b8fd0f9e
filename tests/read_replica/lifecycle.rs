//! Create, change, drift, promotion and destroy of a replica, and its settings over time.

use super::*;

#[test]
fn lifecycle_plan_apply_drift_import_destroy() {
    let moto = Moto::shared();
    moto.create_source(REGION, "lc-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "lc-replica-2", "lc-production", "db.r6g.xlarge", "  tags = { team = \"infra\" }\n"));
    ws.init();

    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("scaling_read_replica.r will be created"), "{}", plan.stdout);
    assert!(plan.stdout.contains("arn                           = (known after apply)"), "{}", plan.stdout);

    ws.apply();
    let made = moto.instance(REGION, "lc-replica-2").expect("replica exists in moto");
    assert_eq!(made.db_instance_class(), Some("db.r6g.xlarge"));
    assert_eq!(made.read_replica_source_db_instance_identifier(), Some("lc-production"));
    let state = ws.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["arn"], made.db_instance_arn().unwrap());
    assert_eq!(values["status"], "available");
    assert_eq!(values["engine"], "postgres");
    assert_eq!(values["apply_immediately"], true);

    let clean = ws.plan();
    assert_eq!(clean.code, 0, "second plan must show no changes:\n{}", clean.all());

    // An out-of-band `aws rds modify-db-instance` shows as drift.
    set_class(moto, "lc-replica-2", "db.r6g.large");
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.stdout.contains(r#"~ instance_class                = "db.r6g.large" -> "db.r6g.xlarge""#), "{}", drift.stdout);
    assert!(drift.stdout.contains("update in-place"), "{}", drift.stdout);
    ws.apply();
    assert_eq!(moto.instance(REGION, "lc-replica-2").unwrap().db_instance_class(), Some("db.r6g.xlarge"));
    assert_eq!(ws.plan().code, 0);

    // Import into an empty state, then a clean plan.
    std::fs::remove_file(ws.state_file()).unwrap();
    let imported = ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "lc-replica-2"]);
    assert!(imported.stdout.contains("Import successful"), "{}", imported.stdout);
    let after_import = ws.plan();
    assert_eq!(after_import.code, 0, "plan after import must be clean:\n{}", after_import.all());

    ws.destroy();
    assert!(moto.instance(REGION, "lc-replica-2").is_none(), "destroy must delete the replica");
    assert!(moto.instance(REGION, "lc-production").is_some(), "destroy must leave the source alone");
}

#[test]
fn class_and_tags_change_in_place_identifier_replaces() {
    let moto = Moto::shared();
    moto.create_source(REGION, "up-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "up-replica", "up-production", "db.r6g.large", "  tags = { team = \"infra\", tier = \"reads\" }\n"));
    ws.init();
    ws.apply();

    ws.write(&replica("r", "up-replica", "up-production", "db.r6g.2xlarge", "  tags = { team = \"data\", cost = \"reads\" }\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change, 0 to destroy"), "{}", plan.stdout);
    assert!(plan.all().contains("The replica restarts to change class"), "class changes warn of the restart:\n{}", plan.all());
    ws.apply();
    let i = moto.instance(REGION, "up-replica").unwrap();
    assert_eq!(i.db_instance_class(), Some("db.r6g.2xlarge"));
    let mut tags: Vec<(String, String)> =
        i.tag_list().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect();
    tags.sort();
    assert_eq!(tags, vec![("cost".into(), "reads".into()), ("team".into(), "data".into())]);
    assert_eq!(ws.plan().code, 0);

    // Out-of-band tag edits are drift too.
    let arn = i.db_instance_arn().unwrap().to_string();
    moto.rds(REGION, |c| async move {
        c.remove_tags_from_resource().resource_name(arn).tag_keys("cost").send().await.expect("untag");
    });
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.stdout.contains(r#"+ "cost" = "reads""#), "{}", drift.stdout);
    ws.apply();

    // A new identifier cannot be changed in place.
    ws.write(&replica("r", "up-replica-b", "up-production", "db.r6g.2xlarge", "  tags = { team = \"data\", cost = \"reads\" }\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    assert!(plan.stdout.contains("# forces replacement"), "{}", plan.stdout);
    ws.apply();
    assert!(moto.instance(REGION, "up-replica").is_none());
    assert!(moto.instance(REGION, "up-replica-b").is_some());
    ws.destroy();
}

#[test]
fn deleted_out_of_band_is_planned_again() {
    let moto = Moto::shared();
    moto.create_source(REGION, "gone-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "gone-replica", "gone-production", "db.r6g.large", ""));
    ws.init();
    ws.apply();
    moto.rds(REGION, |c| async move {
        c.delete_db_instance().db_instance_identifier("gone-replica").skip_final_snapshot(true).send().await.expect("delete");
    });
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("scaling_read_replica.r will be created"), "{}", plan.stdout);
    ws.apply();
    assert!(moto.instance(REGION, "gone-replica").is_some());
    ws.destroy();
}

#[test]
fn promotion_is_one_way() {
    let moto = Moto::shared();
    moto.create_source(REGION, "pr-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "pr-replica", "pr-production", "db.r6g.large", ""));
    ws.init();
    ws.apply();

    ws.write(&replica("r", "pr-replica", "pr-production", "db.r6g.large", "  promote = true\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.all().contains("Promotion is permanent"), "{}", plan.all());
    ws.apply();
    // RDS still reports the source right after the call; one apply waits until it is gone.
    let promoted = moto.instance(REGION, "pr-replica").unwrap();
    assert_eq!(promoted.read_replica_source_db_instance_identifier(), None, "one apply promotes");
    assert_eq!(promoted.db_instance_status(), Some("available"));
    assert_eq!(ws.plan().code, 0, "promoted replica must plan clean");

    ws.write(&replica("r", "pr-replica", "pr-production", "db.r6g.large", "  promote = false\n"));
    let back = ws.plan();
    assert_eq!(back.code, 1, "{}", back.all());
    assert!(back.all().contains("A promoted replica cannot be demoted"), "{}", back.all());
    assert!(back.all().contains("promote = false"), "the error must point at promote:\n{}", back.all());
    ws.write(&replica("r", "pr-replica", "pr-production", "db.r6g.large", "  promote = true\n"));
    // A promoted instance is a standalone database: no destroy or replacement wipes it unasked.
    let refused = ws.tf(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains("final_snapshot_identifier"), "{}", refused.all());
    assert!(moto.instance(REGION, "pr-replica").is_some(), "nothing deleted");
    ws.write(&replica("r", "pr-replica-2", "pr-production", "db.r6g.large", "  promote = true\n"));
    let replace = ws.plan();
    assert_eq!(replace.code, 1, "{}", replace.all());
    assert!(replace.flat().contains("Replacement would delete a standalone database"), "{}", replace.all());

    ws.write(&replica(
        "r",
        "pr-replica",
        "pr-production",
        "db.r6g.large",
        "  promote = true\n  final_snapshot_identifier = \"pr-replica-final\"\n",
    ));
    ws.apply();
    ws.destroy();
    assert!(moto.instance(REGION, "pr-replica").is_none());
    let snapshots = moto.rds(REGION, |c| async move {
        c.describe_db_snapshots().db_snapshot_identifier("pr-replica-final").send().await.map(|o| o.db_snapshots().len()).unwrap_or(0)
    });
    assert_eq!(snapshots, 1, "the final snapshot was taken");
}

#[test]
fn deferred_class_change_warns_at_plan() {
    let moto = Moto::shared();
    moto.create_source(REGION, "df-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "df-replica", "df-production", "db.r6g.large", "  apply_immediately = false\n"));
    ws.init();
    ws.apply();
    ws.write(&replica("r", "df-replica", "df-production", "db.r6g.xlarge", "  apply_immediately = false\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.all().contains("Class change deferred to the maintenance window"), "{}", plan.all());
    ws.apply();
    // RDS holds the class as pending; the state says what it will be, so no perpetual diff
    // (hashicorp/terraform-provider-aws#9756).
    let held = moto.instance(REGION, "df-replica").unwrap();
    assert_eq!(held.db_instance_class(), Some("db.r6g.large"));
    assert_eq!(held.pending_modified_values().and_then(|p| p.db_instance_class()), Some("db.r6g.xlarge"));
    assert_eq!(ws.plan().code, 0, "a pending class plans nothing");
    let shown = ws.ok(&["state", "show", "-no-color", "scaling_read_replica.r"]);
    assert!(shown.flat().contains(r#"pending_instance_class = "db.r6g.xlarge""#), "{}", shown.stdout);

    // The maintenance window comes: the class lands, nothing is pending, still no diff.
    moto.maintenance_window("df-replica");
    assert_eq!(ws.plan().code, 0);
    assert_eq!(moto.instance(REGION, "df-replica").unwrap().db_instance_class(), Some("db.r6g.xlarge"));

    // Deferred again, then asked for now: apply sends the pending change immediately.
    ws.write(&replica("r", "df-replica", "df-production", "db.r6g.2xlarge", "  apply_immediately = false\n"));
    ws.apply();
    ws.write(&replica("r", "df-replica", "df-production", "db.r6g.2xlarge", ""));
    let now = ws.plan();
    assert_eq!(now.code, 2, "{}", now.all());
    ws.apply();
    let landed = moto.instance(REGION, "df-replica").unwrap();
    assert_eq!(landed.db_instance_class(), Some("db.r6g.2xlarge"), "the pending class was applied now");
    assert!(landed.pending_modified_values().and_then(|p| p.db_instance_class()).is_none());
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
}

#[test]
fn cross_region_replica_from_an_arn() {
    let moto = Moto::shared();
    let source_arn = moto.create_source("us-west-2", "xr-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "xr-replica", &source_arn, "db.r6g.large", ""));
    ws.init();
    ws.apply();
    let i = moto.instance(REGION, "xr-replica").expect("replica in us-east-1");
    assert_eq!(i.read_replica_source_db_instance_identifier(), Some(source_arn.as_str()));
    assert_eq!(ws.plan().code, 0);
    ws.destroy();
    assert!(moto.instance(REGION, "xr-replica").is_none());
}

#[test]
fn timeouts_block_added_changed_removed_readded_and_destroyed_after_removal() {
    let moto = Moto::shared();
    moto.create_source(REGION, "to-production");
    let ws = workspace(moto);
    let with = |timeouts: &str| replica("r", "to-replica", "to-production", "db.r6g.large", timeouts);
    ws.write(&with(""));
    ws.init();
    ws.apply();
    assert_eq!(ws.plan().code, 0);

    // Each edit plans (exit 2, never "invalid plan"), applies, and then plans clean.
    let steps = [
        ("added", "  timeouts {\n    create = \"30m\"\n  }\n"),
        ("changed", "  timeouts {\n    create = \"45m\"\n    delete = \"10m\"\n  }\n"),
        ("removed", ""),
        ("added empty", "  timeouts {}\n"),
        ("empty removed", ""),
        ("re-added", "  timeouts {\n    delete = \"5m\"\n  }\n"),
    ];
    for (step, timeouts) in steps {
        ws.write(&with(timeouts));
        let plan = ws.plan();
        assert_eq!(plan.code, 2, "{step}: the edit must plan as an update:\n{}", plan.all());
        assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{step}:\n{}", plan.stdout);
        ws.apply();
        let clean = ws.plan();
        assert_eq!(clean.code, 0, "{step}: plan after apply must be clean:\n{}", clean.all());
        let values = &ws.state_json()["values"]["root_module"]["resources"][0]["values"];
        if timeouts.is_empty() {
            assert!(values["timeouts"].is_null(), "{step}: state must hold no timeouts: {values}");
        } else {
            assert!(values["timeouts"].is_object(), "{step}: state must hold the timeouts: {values}");
        }
    }
    assert!(moto.instance(REGION, "to-replica").is_some(), "editing timeouts never touches the replica");

    // A plain destroy right after the block was removed from the configuration.
    ws.write(&with(""));
    ws.destroy();
    assert!(moto.instance(REGION, "to-replica").is_none());
}

#[test]
fn tag_edits_plan_only_the_tags_and_empty_tags_equal_none() {
    let moto = Moto::shared();
    moto.create_source(REGION, "tg-production");
    let ws = workspace(moto);
    let with = |tags: &str| replica("r", "tg-replica", "tg-production", "db.r6g.large", tags);
    ws.write(&with("  tags = { team = \"infra\" }\n"));
    ws.init();
    ws.apply();

    ws.write(&with("  tags = { team = \"data\" }\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains(r#"~ "team" = "infra" -> "data""#), "{}", plan.stdout);
    // Tags do not move the instance through other statuses: nothing else is unknown.
    assert!(!plan.stdout.contains("known after apply"), "a tag edit must not make other values unknown:\n{}", plan.stdout);
    ws.apply();
    assert_eq!(ws.plan().code, 0);

    ws.write(&with("  tags = {}\n"));
    assert_eq!(ws.plan().code, 2, "removing the last tag is a change");
    ws.apply();
    for (step, tags) in [("tags line removed", ""), ("empty tags again", "  tags = {}\n")] {
        ws.write(&with(tags));
        let plan = ws.plan();
        assert_eq!(plan.code, 0, "{step}: no tags and empty tags are the same:\n{}", plan.all());
    }
    ws.destroy();
}

#[test]
fn the_source_respelled_as_its_arn_is_not_a_replacement() {
    let moto = Moto::shared();
    let source_arn = moto.create_source(REGION, "rs-production");
    let elsewhere_arn = moto.create_source("us-west-2", "rs-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "rs-replica", "rs-production", "db.r6g.large", ""));
    ws.init();
    ws.apply();

    let respelled = replica("r", "rs-replica", &source_arn, "db.r6g.large", "");
    ws.write(&respelled);
    let plan = ws.plan();
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "the same source is no replacement:\n{}", plan.all());
    let applied = ws.apply();
    assert!(!applied.stdout.contains("Destroying"), "{}", applied.stdout);
    assert_eq!(ws.plan().code, 0);

    // After an import the state holds the identifier RDS reports; the ARN in the configuration
    // still names the same instance.
    std::fs::remove_file(ws.state_file()).unwrap();
    ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "rs-replica"]);
    let plan = ws.plan();
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.all());
    ws.apply();

    // A same-named instance in another region is another source: that replaces.
    ws.write(&replica("r", "rs-replica", &elsewhere_arn, "db.r6g.large", ""));
    let plan = ws.plan();
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.all());
    ws.write(&respelled);
    ws.destroy();
    assert!(moto.instance(REGION, "rs-replica").is_none());
}

#[test]
fn production_settings_are_set_changed_in_place_and_read_back() {
    let moto = Moto::shared();
    // 500 GiB of gp3: past the size from which RDS takes gp3 IOPS and throughput.
    moto.create_source_with_storage(REGION, "fields-production", 500, Some("gp3"));
    moto.create_parameter_group(REGION, "replica-params", "postgres16");
    moto.create_parameter_group(REGION, "replica-params-2", "postgres16");
    let default_sg = moto.default_security_group(REGION);
    let ws = workspace(moto);
    let config = |extra: &str| replica("r", "fields-replica", "fields-production", "db.r6g.large", extra);
    let first = format!(
        "  vpc_security_group_ids = [\"{default_sg}\"]\n  parameter_group_name = \"replica-params\"\n  deletion_protection = true\n  \
         storage_type = \"gp3\"\n  iops = 12000\n  storage_throughput = 500\n"
    );
    ws.write(&config(&first));
    ws.init();
    ws.apply();
    let made = moto.instance(REGION, "fields-replica").expect("replica");
    assert_eq!(made.db_parameter_groups()[0].db_parameter_group_name(), Some("replica-params"), "set once the replica is up");
    assert_eq!(made.deletion_protection(), Some(true));
    assert_eq!(made.multi_az(), Some(false), "sent explicitly: RDS never takes Multi-AZ from the source");
    assert_eq!((made.storage_type(), made.iops(), made.storage_throughput()), (Some("gp3"), Some(12000), Some(500)));
    let clean = ws.plan();
    assert_eq!(clean.code, 0, "{}", clean.all());

    // In place: Multi-AZ, parameter group, IOPS; nothing replaced.
    ws.write(&config(
        &first
            .replace("replica-params\"", "replica-params-2\"")
            .replace("12000", "15000")
            .replace("  deletion_protection", "  multi_az = true\n  deletion_protection"),
    ));
    let plan = ws.plan();
    assert!(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy"), "{}", plan.all());
    assert!(plan.flat().contains("Storage changes take hours"), "{}", plan.all());
    ws.apply();
    let changed = moto.instance(REGION, "fields-replica").unwrap();
    assert_eq!(changed.multi_az(), Some(true));
    assert_eq!(changed.iops(), Some(15000));
    assert_eq!(changed.db_parameter_groups()[0].db_parameter_group_name(), Some("replica-params-2"));
    assert_eq!(ws.plan().code, 0);

    // Changed out of band: drift shows and is put back.
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier("fields-replica").multi_az(false).apply_immediately(true).send().await.unwrap();
    });
    let drift = ws.plan();
    assert!(drift.flat().contains("~ multi_az = false -> true"), "{}", drift.all());
    ws.apply();

    // Settings left out of the configuration are kept as they are, not reset.
    ws.write(&config("  deletion_protection = true\n  multi_az = true\n"));
    assert_eq!(ws.plan().code, 0, "unset optional settings keep what the replica has");

    // The key and the subnet group replace; deletion protection blocks that, and plain destroy.
    let kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    ws.write(&config(&format!("  deletion_protection = true\n  multi_az = true\n  kms_key_id = \"{kms}\"\n")));
    let blocked = ws.plan();
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    assert!(blocked.flat().contains("Replacement blocked by deletion protection"), "{}", blocked.all());
    ws.write(&config("  deletion_protection = true\n  multi_az = true\n"));
    let destroy = ws.tf(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(destroy.code, 1, "{}", destroy.all());
    assert!(destroy.flat().contains("Set deletion_protection = false and apply, then destroy"), "{}", destroy.all());
    assert!(moto.instance(REGION, "fields-replica").is_some(), "protection is never turned off unasked");
    ws.write(&config("  multi_az = true\n"));
    ws.apply();
    ws.write(&config(&format!("  multi_az = true\n  kms_key_id = \"{kms}\"\n")));
    let replace = ws.plan();
    assert!(replace.flat().contains("kms_key_id") && replace.stdout.contains("must be replaced"), "{}", replace.all());
    ws.destroy();
    assert!(moto.instance(REGION, "fields-replica").is_none());
}

#[test]
fn subnet_group_is_set_at_creation_and_replaces_when_changed() {
    let moto = Moto::shared();
    moto.create_source(REGION, "net-production");
    moto.create_subnet_group(REGION, "replica-subnets");
    let ws = workspace(moto);
    let config = |extra: &str| replica("r", "net-replica", "net-production", "db.r6g.large", extra);
    ws.write(&config("  db_subnet_group_name = \"replica-subnets\"\n"));
    ws.init();
    ws.apply();
    let made = moto.instance(REGION, "net-replica").unwrap();
    assert_eq!(made.db_subnet_group().and_then(|g| g.db_subnet_group_name()), Some("replica-subnets"));
    assert_eq!(ws.plan().code, 0);

    // A deferred Multi-AZ change says when it happens.
    ws.write(&config("  db_subnet_group_name = \"replica-subnets\"\n  multi_az = true\n  apply_immediately = false\n"));
    let deferred = ws.plan();
    assert!(deferred.flat().contains("Changes deferred to the maintenance window"), "{}", deferred.all());
    assert!(deferred.stdout.contains("1 to change, 0 to destroy"), "{}", deferred.all());

    ws.write(&config("  db_subnet_group_name = \"other-subnets\"\n"));
    let replace = ws.plan();
    assert!(replace.stdout.contains("must be replaced") && replace.flat().contains("db_subnet_group_name"), "{}", replace.all());
    ws.write(&config("  db_subnet_group_name = \"replica-subnets\"\n"));
    ws.destroy();
}
