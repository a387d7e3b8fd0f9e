//! `scaling_read_replica` end to end: the real terraform binary, the provider binary, moto.

use scaling_testkit::{Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

fn replica(name: &str, id: &str, source: &str, class: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_read_replica\" \"{name}\" {{\n  identifier                    = \"{id}\"\n  \
         source_db_instance_identifier = \"{source}\"\n  instance_class                = \"{class}\"\n{extra}}}\n"
    )
}

fn set_class(moto: &Moto, id: &str, class: &str) {
    let (id, class) = (id.to_string(), class.to_string());
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).db_instance_class(class).apply_immediately(true).send().await.expect("modify");
    });
}

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
fn bad_inputs_fail_at_plan_naming_the_attribute_and_create_nothing() {
    let moto = Moto::shared();
    moto.create_source(REGION, "bad-production");
    let cases: &[(&str, String, &str)] = &[
        ("identifier", replica("r", "2-replica", "bad-production", "db.r6g.large", ""), "must start with a letter"),
        ("identifier", replica("r", "bad--replica", "bad-production", "db.r6g.large", ""), "two consecutive hyphens"),
        ("identifier", replica("r", "bad-replica-", "bad-production", "db.r6g.large", ""), "end with a hyphen"),
        ("instance_class", replica("r", "bad-replica", "bad-production", "r6g.large", ""), "RDS instance class"),
        (
            "source_db_instance_identifier",
            replica("r", "bad-replica", "arn:aws:rds:us-west-2:12345:db:bad-production", "db.r6g.large", ""),
            "account ID must be 12 digits",
        ),
        (
            "availability_zone",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  availability_zone = \"us-east-1\"\n"),
            "availability zone",
        ),
        (
            "create",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  timeouts {\n    create = \"forever\"\n  }\n"),
            "forever",
        ),
        ("tags", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  tags = { \"aws:owner\" = \"me\" }\n"), "AWS reserves"),
        ("tags", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  tags = { \"\" = \"x\" }\n"), "1 to 128 characters"),
        (
            "tags",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", &format!("  tags = {{ \"{}\" = \"x\" }}\n", "k".repeat(129))),
            "1 to 128 characters",
        ),
        (
            "tags",
            replica(
                "r",
                "bad-replica",
                "bad-production",
                "db.r6g.large",
                &format!("  tags = {{ {} }}\n", (0..51).map(|i| format!("t{i} = \"x\"")).collect::<Vec<_>>().join(", ")),
            ),
            "at most 50",
        ),
        ("kms_key_id", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  kms_key_id = \"alias/rds\"\n"), "describe-key"),
        (
            "vpc_security_group_ids",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  vpc_security_group_ids = [\"sg-123\"]\n"),
            "security group ID",
        ),
        (
            "vpc_security_group_ids",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  vpc_security_group_ids = []\n"),
            "at least 1 needed",
        ),
        (
            "multi_az",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  multi_az = true\n  availability_zone = \"us-east-1a\"\n"),
            "choose their own zones",
        ),
        (
            "db_subnet_group_name",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  db_subnet_group_name = \"Private\"\n"),
            "lowercase",
        ),
        (
            "parameter_group_name",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  parameter_group_name = \"replica_params\"\n"),
            "only letters, digits",
        ),
        ("storage_type", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"ssd\"\n"), "gp3"),
        (
            "iops",
            replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"gp2\"\n  iops = 3000\n"),
            "no provisioned IOPS",
        ),
        ("iops", replica("r", "bad-replica", "bad-production", "db.r6g.large", "  storage_type = \"io1\"\n"), "set iops = 1000 or more"),
        (
            "storage_throughput",
            replica(
                "r",
                "bad-replica",
                "bad-production",
                "db.r6g.large",
                "  storage_type = \"io1\"\n  iops = 3000\n  storage_throughput = 500\n",
            ),
            "only to storage_type \"gp3\"",
        ),
    ];
    let ws = workspace(moto);
    ws.write(&cases[0].1);
    ws.init();
    for (attribute, config, detail) in cases {
        ws.write(config);
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{attribute}: plan must fail:\n{}", plan.all());
        let out = plan.all();
        assert!(
            out.contains(&format!("  {attribute} ")) || out.contains(&format!("{attribute} =")),
            "{attribute}: the diagnostic must point at the attribute:\n{out}"
        );
        assert!(plan.flat().contains(detail), "{attribute}: expected {detail:?} in:\n{out}");
        let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(apply.code, 1, "{attribute}: apply must fail too");
        assert!(!apply.stdout.contains("Creating..."), "{attribute}: nothing may be created:\n{}", apply.all());
    }
    for id in ["2-replica", "bad--replica", "bad-replica-", "bad-replica"] {
        assert!(moto.instance(REGION, id).is_none(), "{id} must not exist");
    }
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
fn missing_source_fails_apply_cleanly() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write(&replica("r", "orphan-replica", "no-such-production", "db.r6g.large", ""));
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.all().contains("Could not create the read replica"), "{}", apply.all());
    assert!(apply.all().contains("CreateDBInstanceReadReplica"), "{}", apply.all());
    let state = ws.tf(&["state", "list"]);
    assert!(state.stdout.trim().is_empty(), "nothing may be in state: {}", state.stdout);
}

#[test]
fn bad_provider_configuration_is_a_diagnostic() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write_raw(
        "terraform {\n  required_providers {\n    scaling = { source = \"skillancer/scaling\" }\n  }\n}\n\
         provider \"scaling\" {\n  region = \"mars-north\"\n  endpoints {\n    rds = \"127.0.0.1:1\"\n  }\n}\n\
         resource \"scaling_read_replica\" \"r\" {\n  identifier = \"cfg-replica\"\n  source_db_instance_identifier = \"cfg-production\"\n  instance_class = \"db.r6g.large\"\n}\n",
    );
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    let out = plan.all();
    assert!(out.contains("Invalid region") && out.contains("mars-north"), "{out}");
    assert!(out.contains("Invalid rds") && out.contains("not an http:// or https:// URL"), "{out}");
    assert!(!out.contains("panic"), "{out}");
}

#[test]
fn import_rejects_malformed_ids() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write(&replica("r", "imp-replica", "imp-production", "db.r6g.large", ""));
    ws.init();
    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "not_an_identifier"]);
    assert_eq!(out.code, 1);
    assert!(out.all().contains("Invalid import ID"), "{}", out.all());
    // A well-formed ID of an instance that does not exist is reported, not imported.
    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "imp-replica"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("non-existent") || out.all().contains("Cannot import"), "{}", out.all());
}

#[test]
fn debug_logs_reach_terraform_without_credentials() {
    let moto = Moto::shared();
    moto.create_source(REGION, "log-production");
    let mut ws = workspace(moto);
    ws.set_env("TF_LOG", "trace");
    ws.write(&replica("r", "log-replica", "log-production", "db.r6g.large", ""));
    ws.init();
    let out = ws.apply();
    assert!(out.stderr.contains("provider.terraform-provider-scaling"), "provider logs must reach TF_LOG");
    assert!(out.stderr.contains("configured"), "our own debug events must be visible under TF_LOG=trace");
    assert!(!out.all().contains(scaling_testkit::SECRET_KEY), "the secret key must never be logged");
    let ours: Vec<&str> = out.stderr.lines().filter(|l| l.contains("provider.terraform-provider-scaling: configured")).collect();
    assert!(!ours.is_empty(), "{}", out.stderr);
    for line in ours {
        // go-plugin reads @timestamp; without it every line shows the zero time.
        assert!(line.contains("timestamp=20") && !line.contains("timestamp=0001-"), "our lines carry their real time: {line}");
    }
    ws.destroy();
}

#[test]
fn a_missing_region_fails_at_plan_not_apply() {
    let moto = Moto::shared();
    let ws = workspace(moto);
    ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  endpoints {{\n    rds = \"{}\"\n  }}\n}}\n{}",
        moto.endpoint(),
        replica("r", "noregion-replica", "noregion-production", "db.r6g.large", "")
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("No AWS region"), "{}", plan.all());
    assert!(moto.instance(REGION, "noregion-replica").is_none());
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
fn provider_settings_known_only_after_apply_keep_existing_replicas_in_state() {
    let moto = Moto::shared();
    moto.create_source(REGION, "uk-production");
    let ws = workspace(moto);
    let kept = replica("r", "uk-replica", "uk-production", "db.r6g.large", "");
    ws.write(&kept);
    ws.init();
    ws.apply();

    // The default provider's region now comes from a replica created through another
    // (aliased) provider: unknown until that replica exists, as module users often write it.
    ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  alias  = \"bootstrap\"\n  region = \"{REGION}\"\n  endpoints {{\n    rds = \"{endpoint}\"\n  }}\n}}\n\
         resource \"scaling_read_replica\" \"seed\" {{\n  provider = scaling.bootstrap\n  identifier = \"uk-seed\"\n  \
         source_db_instance_identifier = \"uk-production\"\n  instance_class = \"db.r6g.large\"\n}}\n\
         provider \"scaling\" {{\n  region = split(\":\", scaling_read_replica.seed.arn)[3]\n  endpoints {{\n    rds = \"{endpoint}\"\n  }}\n}}\n{kept}",
        endpoint = moto.endpoint(),
    ));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "the plan must go ahead on the prior state:\n{}", plan.all());
    assert!(plan.stdout.contains("Plan: 1 to add, 0 to change, 0 to destroy"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("scaling_read_replica.r will be created"), "the existing replica must stay in state:\n{}", plan.stdout);
    ws.apply();
    let clean = ws.plan();
    assert_eq!(clean.code, 0, "{}", clean.all());
    ws.destroy();
    assert!(moto.instance(REGION, "uk-replica").is_none() && moto.instance(REGION, "uk-seed").is_none());
}

#[test]
fn importing_a_primary_is_refused_unless_declared_promoted() {
    let moto = Moto::shared();
    moto.create_source(REGION, "ip-production");
    moto.rds(REGION, |c| async move {
        c.create_db_instance_read_replica()
            .db_instance_identifier("ip-replica")
            .source_db_instance_identifier("ip-production")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("replica");
    });
    let ws = workspace(moto);
    ws.write(&format!(
        "{}{}",
        replica("primary", "ip-production", "ip-elsewhere", "db.r6g.large", "  promote = true\n"),
        replica("r", "ip-replica", "ip-production", "db.r6g.large", "")
    ));
    ws.init();

    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.primary", "ip-production"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.flat().contains("Not a read replica") && out.flat().contains("ip-production:promoted"), "{}", out.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty(), "nothing may be imported");

    let out = ws.tf(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "ip-replica:promoted"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.flat().contains("still replicates from ip-production"), "{}", out.all());

    // Stated as promoted, the standalone instance is imported as such.
    ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.primary", "ip-production:promoted"]);
    ws.ok(&["import", "-no-color", "-input=false", "scaling_read_replica.r", "ip-replica"]);
    let state = ws.ok(&["state", "show", "-no-color", "scaling_read_replica.primary"]);
    assert!(state.flat().contains("promote = true"), "{}", state.stdout);
    // Leave the primary out of the destroy below.
    ws.ok(&["state", "rm", "-no-color", "scaling_read_replica.primary"]);
    ws.write(&replica("r", "ip-replica", "ip-production", "db.r6g.large", ""));
    ws.destroy();
    assert!(moto.instance(REGION, "ip-production").is_some());
}

#[test]
fn a_named_profile_wins_over_environment_credentials_and_must_exist() {
    let moto = Moto::shared();
    moto.create_source(REGION, "prof-production");
    let mut ws = workspace(moto);
    let credentials = ws.path().join("aws-credentials");
    std::fs::write(&credentials, "[scaling-ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n").unwrap();
    ws.set_env("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap());
    let config = ws.path().join("aws-config");
    std::fs::write(&config, "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = scaling-ci\n").unwrap();
    ws.set_env("AWS_CONFIG_FILE", config.to_str().unwrap());
    ws.set_env("AWS_ENDPOINT_URL_STS", &moto.endpoint());
    let with_profile = |profile: &str| {
        format!(
            "{}\n{}",
            ws.provider_block().replace("  region = ", &format!("  profile = \"{profile}\"\n  region = ")),
            replica("r", "prof-replica", "prof-production", "db.r6g.large", "")
        )
    };
    // A misspelt profile must not fall back to AWS_ACCESS_KEY_ID silently.
    ws.write_raw(&with_profile("scaling-cl"));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains(r#"AWS profile "scaling-cl""#), "{}", plan.all());
    assert!(moto.instance(REGION, "prof-replica").is_none());

    ws.write_raw(&with_profile("scaling-ci"));
    ws.apply();
    assert!(moto.instance(REGION, "prof-replica").is_some());
    // A profile that assumes a role reaches STS (moto's here) with the provider's region.
    ws.write_raw(&with_profile("deploy"));
    let assumed = ws.plan();
    assert_eq!(assumed.code, 0, "an assume-role profile must work:\n{}", assumed.all());
    ws.write_raw(&with_profile(""));
    let empty = ws.plan();
    assert_eq!(empty.code, 1, "{}", empty.all());
    assert!(empty.flat().contains("profile") && empty.flat().contains("is empty"), "{}", empty.all());
    ws.write_raw(&with_profile("scaling-ci"));
    ws.destroy();
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

#[test]
fn a_resent_create_is_adopted_and_an_interrupted_delete_is_waited_for() {
    let moto = Moto::shared();
    moto.create_source(REGION, "again-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "again-replica", "again-production", "db.r6g.large", ""));
    ws.init();
    // The create reached RDS but its answer did not (the SDK resends it): the identifier is
    // taken by this very replica, which is adopted rather than failed on or made twice.
    moto.rds(REGION, |c| async move {
        c.create_db_instance_read_replica()
            .db_instance_identifier("again-replica")
            .source_db_instance_identifier("again-production")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .unwrap();
    });
    ws.apply();
    assert_eq!(ws.plan().code, 0);

    // Another instance under the name is never taken over.
    ws.write(&format!(
        "{}{}",
        replica("r", "again-replica", "again-production", "db.r6g.large", ""),
        replica("other", "again-other", "again-production", "db.r6g.large", "")
    ));
    moto.create_source(REGION, "again-other");
    let refused = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.flat().contains("already exists and is not a replica"), "{}", refused.all());

    // A destroy interrupted after its DeleteDBInstance: the next one waits for that delete.
    ws.write(&replica("r", "again-replica", "again-production", "db.r6g.large", ""));
    moto.rds(REGION, |c| async move {
        c.delete_db_instance().db_instance_identifier("again-replica").skip_final_snapshot(true).send().await.unwrap();
    });
    ws.ok(&["destroy", "-auto-approve", "-refresh=false", "-no-color", "-input=false"]);
    assert!(moto.instance(REGION, "again-replica").is_none(), "gone, and the destroy waited for it");
}

#[test]
fn a_denied_filtered_describe_falls_back_to_one_describe_per_replica() {
    let moto = Moto::shared();
    moto.create_source(REGION, "iam-production");
    let ws = workspace(moto);
    ws.write(&format!(
        "{}{}",
        replica("a", "iam-replica-a", "iam-production", "db.r6g.large", ""),
        replica("b", "iam-replica-b", "iam-production", "db.r6g.large", "")
    ));
    ws.init();
    ws.apply();
    // An IAM policy scoped to instance ARNs denies the filtered call naming both.
    moto.fail_next("DescribeDBInstances", "iam-replica-a", &["AccessDenied"]);
    let before = moto.calls("rds").len();
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "the refresh still reads both:\n{}", plan.all());
    let asked: Vec<String> =
        moto.calls("rds")[before..].iter().filter(|(a, _)| a == "DescribeDBInstances").map(|(_, id)| id.clone()).collect();
    assert!(asked.contains(&"iam-replica-a".to_string()), "the denied batch was asked for again one by one: {asked:?}");
    ws.destroy();
}

/// An endpoint that accepts the connection and never answers (a hung load balancer).
#[test]
fn a_silent_endpoint_fails_at_the_read_timeout_and_ctrl_c_ends_it_at_once() {
    let moto = Moto::shared();
    let silent = scaling_testkit::SilentServer::tcp();
    let mut ws = workspace(moto);
    ws.set_rds_endpoint(&silent.url("http"));
    ws.set_provider_settings("  read_timeout = \"2s\"\n  max_retries  = 1\n");
    ws.write(&replica("r", "silent-replica", "silent-production", "db.r6g.large", ""));
    ws.init();
    // Without a read timeout this apply never ends; with one it fails, naming what happened,
    // and records nothing (a create that did land would be adopted by the next apply).
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.flat().contains("CreateDBInstanceReadReplica: the endpoint did not answer in time"), "{}", apply.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());

    // The whole call has one deadline, a connection and two reads: a silent endpoint sees two
    // attempts (a third may just start before the deadline), not the five max_retries = 4
    // would give each its read timeout.
    ws.set_provider_settings("  connect_timeout = \"1s\"\n  read_timeout    = \"2s\"\n  max_retries     = 4\n");
    ws.write(&replica("r", "silent-replica", "silent-production", "db.r6g.large", ""));
    let before = silent.accepted();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.flat().contains("did not answer in time"), "{}", apply.all());
    let attempts = silent.accepted() - before;
    assert!((1..=3).contains(&attempts), "one deadline for all attempts: {attempts} connections");

    // Ctrl-C while a call hangs (default read timeout, 30 s): terraform stops the provider, the
    // call in flight ends, and terraform exits, long before the timeout would.
    ws.set_provider_settings("");
    ws.write(&replica("r", "silent-replica", "silent-production", "db.r6g.large", ""));
    let accepted = silent.accepted();
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let (out, _) =
        running.interrupt_when("a call to the endpoint in flight", || silent.accepted() > accepted, std::time::Duration::from_secs(45));
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.flat().contains("stopped by Terraform"), "the call ended because of the stop:\n{}", out.all());
}

/// Ctrl-C while a new replica is still `creating` (on AWS, 20 minutes and more), then while
/// it is `modifying` and `deleting`.
#[test]
fn ctrl_c_during_create_update_and_delete_waits_keeps_the_replica_and_the_next_run_goes_on_from_it() {
    // A moto of its own, where a new replica stays `creating` until the test settles it.
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_STEPS", "1000")])));
    moto.create_source(REGION, "intr-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "intr-replica", "intr-production", "db.r6g.large", ""));
    ws.init();
    // The moment: the provider has polled the replica twice since `action` was sent.
    let waiting_after = |asked: usize, action: &str| {
        let since: Vec<String> = moto.calls("rds")[asked..].iter().map(|(a, _)| a.clone()).collect();
        since.iter().position(|a| a == action).is_some_and(|at| since[at..].iter().filter(|a| *a == "DescribeDBInstances").count() >= 2)
    };
    let thirty = std::time::Duration::from_secs(30);
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let (out, _) = running.interrupt_when("a replica creating", || waiting_after(0, "CreateDBInstanceReadReplica"), thirty);
    assert!(out.flat().contains("Interrupted; the object is recorded"), "{}", out.all());

    // The state holds the replica, untainted: nothing will replace it.
    let state = ws.ok(&["state", "show", "-no-color", "scaling_read_replica.r"]).stdout;
    assert!(state.contains("\"intr-replica\"") && !state.contains("tainted"), "{state}");

    // Hours later it is available; the next apply goes on from it and creates nothing.
    moto.settle("intr-replica");
    ws.apply();
    let creates = moto.calls("rds").iter().filter(|(a, _)| a == "CreateDBInstanceReadReplica").count();
    assert_eq!(creates, 1, "one replica was ever asked for");
    assert_eq!(ws.plan().code, 0);
    let status = moto.instance(REGION, "intr-replica").and_then(|i| i.db_instance_status).unwrap_or_default();
    assert_eq!(status, "available");

    // The same for an update's wait (a class change, `modifying`) and a delete's (`deleting`).
    let interrupt_when_waiting = |args: &[&str], action: &str| {
        let asked = moto.calls("rds").len();
        let (out, _) = ws.spawn(args).interrupt_when(action, || waiting_after(asked, action), thirty);
        assert_ne!(out.code, 0, "{}", out.all());
    };
    ws.write(&replica("r", "intr-replica", "intr-production", "db.r6g.xlarge", ""));
    interrupt_when_waiting(&["apply", "-auto-approve", "-no-color", "-input=false"], "ModifyDBInstance");
    moto.settle("intr-replica");
    ws.apply();
    assert_eq!(moto.instance(REGION, "intr-replica").and_then(|i| i.db_instance_class).as_deref(), Some("db.r6g.xlarge"));
    assert_eq!(ws.plan().code, 0, "the update converged");

    interrupt_when_waiting(&["destroy", "-auto-approve", "-no-color", "-input=false"], "DeleteDBInstance");
    assert!(ws.tf(&["state", "list"]).stdout.contains("scaling_read_replica.r"), "an unfinished delete keeps the replica in state");
    moto.settle("intr-replica");
    ws.destroy();
    assert!(moto.instance(REGION, "intr-replica").is_none());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
}

/// `terraform state push` of a hand-edited state: a clear error, and the state left as it is.
#[test]
fn hand_edited_state_with_a_wrong_type_or_no_identifier_is_a_clear_error_and_left_alone() {
    use serde_json::json;
    let moto = Moto::shared();
    moto.create_source(REGION, "edit-production");
    let ws = workspace(moto);
    ws.write(&replica("r", "edit-replica", "edit-production", "db.r6g.large", ""));
    ws.init();
    ws.apply();
    let pulled: serde_json::Value = serde_json::from_str(&ws.ok(&["state", "pull"]).stdout).unwrap();
    let serial = std::cell::Cell::new(pulled["serial"].as_i64().unwrap());
    let push = |edit: &dyn Fn(&mut serde_json::Value)| -> serde_json::Value {
        let mut state = pulled.clone();
        edit(&mut state["resources"][0]["instances"][0]["attributes"]);
        serial.set(serial.get() + 1);
        state["serial"] = json!(serial.get());
        std::fs::write(ws.path().join("edited.tfstate"), state.to_string()).unwrap();
        ws.ok(&["state", "push", "-force", "edited.tfstate"]);
        state
    };
    let stored = || -> serde_json::Value { serde_json::from_str(&ws.ok(&["state", "pull"]).stdout).unwrap() };

    let pushed = push(&|a| a["port"] = json!("fifty-four thirty-two"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Unreadable state") && plan.flat().contains("port"), "{}", plan.all());
    assert!(!plan.all().contains("panic"), "{}", plan.all());
    assert_eq!(stored()["resources"], pushed["resources"], "a state that cannot be read is left as it is");

    let pushed = push(&|a| {
        a.as_object_mut().unwrap().remove("identifier");
    });
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Incomplete state") && plan.flat().contains("has no identifier"), "{}", plan.all());
    assert_eq!(stored()["resources"], pushed["resources"]);

    push(&|_| {});
    assert_eq!(ws.plan().code, 0, "the state as it was reads and plans clean");
}

/// Faults between the provider and AWS that the service itself does not make: a load
/// balancer's 503, a 429 with Retry-After, a dropped connection.
#[test]
fn transient_faults_are_retried_and_persistent_ones_fail_with_one_clear_diagnostic() {
    use scaling_testkit::{Fault, FaultProxy, Outcome};
    let moto = Moto::shared();
    moto.create_source(REGION, "fault-production");
    let proxy = FaultProxy::start(moto.port);
    let mut ws = workspace(moto);
    ws.set_rds_endpoint(&proxy.url());
    ws.write(&replica("r", "fault-replica", "fault-production", "db.r6g.large", ""));
    ws.init();
    const CREATE: &str = "Action=CreateDBInstanceReadReplica";
    proxy.inject(CREATE, &[Fault::Status(503), Fault::StatusRetryAfter(429, 3), Fault::Drop]);
    ws.apply();
    let seen = proxy.seen_at(CREATE);
    assert_eq!(
        seen.iter().map(|(_, outcome)| *outcome).collect::<Vec<_>>(),
        [
            Outcome::Faulted(Fault::Status(503)),
            Outcome::Faulted(Fault::StatusRetryAfter(429, 3)),
            Outcome::Faulted(Fault::Drop),
            Outcome::Forwarded
        ],
        "each transient fault was retried, within max_retries (4)"
    );
    // The SDK's own backoff here is under a second; the answers asked for longer.
    assert!(seen[1].0 - seen[0].0 >= std::time::Duration::from_secs(1), "Retry-After: 1 honoured");
    assert!(seen[2].0 - seen[1].0 >= std::time::Duration::from_secs(3), "Retry-After: 3 honoured");
    assert_eq!(ws.plan().code, 0);

    // Past max_retries: one diagnostic naming the resource and the call; nothing recorded.
    ws.set_provider_settings("  max_retries = 1\n");
    ws.write(&replica("s", "fault-replica-2", "fault-production", "db.r6g.large", ""));
    proxy.inject(CREATE, &[Fault::Status(503); 3]);
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    let flat = apply.flat();
    assert_eq!(flat.matches("Error: ").count(), 1, "{}", apply.all());
    assert!(flat.contains("scaling_read_replica.s") && flat.contains("CreateDBInstanceReadReplica: HTTP 503"), "{}", apply.all());
    assert_eq!(proxy.seen(CREATE).len(), 4 + 2, "two attempts with max_retries = 1");
    assert!(!ws.tf(&["state", "list"]).stdout.contains("scaling_read_replica.s"));
    assert!(moto.instance(REGION, "fault-replica-2").is_none());
}

/// The create reached RDS, its answer did not: the retry finds the replica and adopts it.
#[test]
fn a_create_whose_answer_was_lost_is_adopted_not_made_twice() {
    use scaling_testkit::{Fault, FaultProxy, Outcome};
    let moto = Moto::shared();
    moto.create_source(REGION, "lost-production");
    let proxy = FaultProxy::start(moto.port);
    let mut ws = workspace(moto);
    ws.set_rds_endpoint(&proxy.url());
    ws.write(&replica("r", "lost-replica", "lost-production", "db.r6g.large", ""));
    ws.init();
    const CREATE: &str = "Action=CreateDBInstanceReadReplica";
    proxy.inject(CREATE, &[Fault::LoseAnswer]);
    ws.apply();
    assert_eq!(proxy.seen(CREATE)[0], Outcome::Faulted(Fault::LoseAnswer));
    let creates = moto.calls("rds").iter().filter(|(a, id)| a == "CreateDBInstanceReadReplica" && id == "lost-replica").count();
    assert_eq!(creates, 2, "the lost one, then the retry that met DBInstanceAlreadyExists");
    let state = ws.ok(&["state", "show", "-no-color", "scaling_read_replica.r"]).stdout;
    assert!(state.contains("\"lost-replica\"") && !state.contains("tainted"), "{state}");
    assert_eq!(ws.plan().code, 0, "adopted as it is: nothing to change");
}

/// A 200-replica apply at -parallelism=20 against an account that throttles above 20 RDS
/// calls a second: every replica is created, once.
#[test]
fn two_hundred_replicas_against_a_throttling_account_are_each_created_once() {
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_RATE", "20"), ("SCALING_MOTO_STEPS", "1")])));
    moto.create_source(REGION, "many-production");
    let ws = workspace(moto);
    ws.write(
        "resource \"scaling_read_replica\" \"r\" {\n  count                         = 200\n  identifier                    = \"many-${count.index}\"\n  \
         source_db_instance_identifier = \"many-production\"\n  instance_class                = \"db.r6g.large\"\n}\n",
    );
    ws.init();
    let started = std::time::Instant::now();
    ws.ok(&["apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=20"]);
    let calls = moto.calls("rds");
    let throttled_before = calls.len();
    let creates = calls.iter().filter(|(a, _)| a == "CreateDBInstanceReadReplica").count();
    let made = moto.rds(REGION, |c| async move {
        let mut ids = Vec::new();
        let mut pages = c.describe_db_instances().into_paginator().send();
        while let Some(page) = pages.next().await {
            ids.extend(page.unwrap().db_instances.unwrap_or_default().into_iter().filter_map(|i| i.db_instance_identifier));
        }
        ids.into_iter().filter(|id| id.starts_with("many-") && id != "many-production").count()
    });
    assert_eq!(made, 200);
    assert_eq!(ws.tf(&["state", "list"]).stdout.lines().count(), 200);
    eprintln!(
        "200 replicas in {:?}: {} RDS calls, {creates} CreateDBInstanceReadReplica (throttled ones included)",
        started.elapsed(),
        throttled_before
    );
    assert_eq!(ws.plan().code, 0);
}
