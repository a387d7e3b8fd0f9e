//! `scaling_db_instance_class` end to end: the real terraform binary, the provider binary, and
//! moto extended with RDS's pending modifications and maintenance windows.

use scaling_testkit::{Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

fn sized(id: &str, class: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_db_instance_class\" \"db\" {{\n  db_instance_identifier = \"{id}\"\n  instance_class         = \"{class}\"\n{extra}}}\n"
    )
}

/// A primary made elsewhere (as aws_db_instance would), in moto's default maintenance window.
fn primary(moto: &Moto, id: &str, class: &str, multi_az: bool) {
    let (id, class) = (id.to_string(), class.to_string());
    moto.rds(REGION, |c| async move {
        c.create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class(class)
            .allocated_storage(100)
            .multi_az(multi_az)
            .send()
            .await
            .expect("create the primary");
    });
}

fn actual_class(moto: &Moto, id: &str) -> (Option<String>, Option<String>) {
    let i = moto.instance(REGION, id).expect("the instance");
    (i.db_instance_class().map(str::to_string), i.pending_modified_values().and_then(|p| p.db_instance_class()).map(str::to_string))
}

fn modifications(moto: &Moto, id: &str) -> usize {
    moto.calls("rds").iter().filter(|(action, target)| action == "ModifyDBInstance" && target == id).count()
}

/// The runbook's "Vertical Scaling": deferred to the window by default (the plan says when and
/// that a Single-AZ instance goes down), no perpetual diff while pending, then now when asked;
/// drift in the class shows; destroy leaves the class (retain).
#[test]
fn resize_in_the_window_or_now_with_its_cost_in_the_plan() {
    let moto = Moto::shared();
    primary(moto, "vs-production", "db.r6g.xlarge", false);
    let ws = workspace(moto);
    ws.write(&sized("vs-production", "db.r6g.2xlarge", ""));
    ws.init();

    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    let said = plan.flat();
    assert!(said.contains("Class change in the maintenance window: downtime"), "{}", plan.all());
    assert!(said.contains("wed:06:38-wed:07:08 UTC") && said.contains("5 to 10 minutes"), "{}", plan.all());
    assert!(said.contains("instance_class"), "the warning names the attribute:\n{}", plan.all());

    ws.apply();
    assert_eq!(actual_class(moto, "vs-production"), (Some("db.r6g.xlarge".into()), Some("db.r6g.2xlarge".into())));
    let state = ws.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["instance_class"], "db.r6g.2xlarge");
    assert_eq!(values["pending_instance_class"], "db.r6g.2xlarge");
    assert_eq!(values["original_instance_class"], "db.r6g.xlarge");
    assert_eq!(values["multi_az"], false);
    assert_eq!(ws.plan().code, 0, "a pending class plans nothing (hashicorp/terraform-provider-aws#9756)");

    moto.maintenance_window("vs-production");
    assert_eq!(ws.plan().code, 0);
    assert_eq!(actual_class(moto, "vs-production"), (Some("db.r6g.2xlarge".into()), None));

    // Now, for a traffic event: the apply waits until RDS reports the class.
    ws.write(&sized("vs-production", "db.r6g.4xlarge", "  apply_immediately = true\n"));
    let plan = ws.plan();
    assert!(plan.flat().contains("Class change now: downtime") && plan.flat().contains("during this apply"), "{}", plan.all());
    ws.apply();
    assert_eq!(actual_class(moto, "vs-production"), (Some("db.r6g.4xlarge".into()), None));
    assert_eq!(ws.plan().code, 0);

    // `aws rds modify-db-instance` by hand shows as drift, and apply puts it back.
    let id = "vs-production".to_string();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).db_instance_class("db.r6g.8xlarge").apply_immediately(true).send().await.unwrap();
    });
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.stdout.contains(r#"= "db.r6g.8xlarge" -> "db.r6g.4xlarge""#), "{}", drift.stdout);
    assert!(drift.flat().contains("Class change now: downtime"), "{}", drift.all());
    ws.apply();
    assert_eq!(actual_class(moto, "vs-production").0.as_deref(), Some("db.r6g.4xlarge"));

    // Changing only the settings calls nothing.
    let before = modifications(moto, "vs-production");
    ws.write(&sized("vs-production", "db.r6g.4xlarge", "  apply_immediately = true\n  timeouts {\n    update = \"20m\"\n  }\n"));
    ws.apply();
    assert_eq!(modifications(moto, "vs-production"), before);

    ws.destroy();
    assert_eq!(actual_class(moto, "vs-production").0.as_deref(), Some("db.r6g.4xlarge"), "retain leaves the class");
}

/// A change deferred to the window, then asked for now: sent again, immediately, once.
#[test]
fn a_pending_change_is_sent_now_when_apply_immediately_turns_on() {
    let moto = Moto::shared();
    primary(moto, "pn-production", "db.r6g.xlarge", false);
    let ws = workspace(moto);
    ws.write(&sized("pn-production", "db.r6g.2xlarge", ""));
    ws.init();
    ws.apply();
    assert_eq!(actual_class(moto, "pn-production").1.as_deref(), Some("db.r6g.2xlarge"));

    ws.write(&sized("pn-production", "db.r6g.2xlarge", "  apply_immediately = true\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "asking for it now is a change:\n{}", plan.all());
    assert!(plan.flat().contains("Class change now: downtime"), "{}", plan.all());
    ws.apply();
    assert_eq!(actual_class(moto, "pn-production"), (Some("db.r6g.2xlarge".into()), None));
    assert_eq!(modifications(moto, "pn-production"), 2);
    assert_eq!(ws.plan().code, 0);
}

/// A Multi-AZ instance fails over instead of going down, and `restore` puts back the class it
/// had when adopted.
#[test]
fn multi_az_is_a_failover_and_restore_puts_back_the_original_class() {
    let moto = Moto::shared();
    primary(moto, "ma-production", "db.r6g.xlarge", true);
    let ws = workspace(moto);
    ws.write(&sized("ma-production", "db.r6g.2xlarge", "  apply_immediately = true\n  on_destroy        = \"restore\"\n"));
    ws.init();
    let plan = ws.plan();
    assert!(plan.flat().contains("Class change now: a Multi-AZ failover") && plan.flat().contains("fails over"), "{}", plan.all());
    ws.apply();
    assert_eq!(actual_class(moto, "ma-production"), (Some("db.r6g.2xlarge".into()), None));
    let values = &ws.state_json()["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["multi_az"], true);

    ws.destroy();
    assert_eq!(actual_class(moto, "ma-production"), (Some("db.r6g.xlarge".into()), None), "restored now");
    assert!(moto.instance(REGION, "ma-production").is_some(), "destroy never deletes the instance");
}

/// Import by identifier plans clean; bad input and a missing instance fail at plan time
/// naming the attribute, and nothing is modified; an instance deleted out of band leaves the
/// state, and the next plan says it is missing.
#[test]
fn import_bad_input_and_a_missing_instance() {
    let moto = Moto::shared();
    primary(moto, "im-production", "db.r6g.xlarge", false);
    let ws = workspace(moto);
    ws.write(&sized("im-production", "db.r6g.xlarge", ""));
    ws.init();
    let imported = ws.ok(&["import", "-no-color", "-input=false", "scaling_db_instance_class.db", "im-production"]);
    assert!(imported.stdout.contains("Import successful"), "{}", imported.stdout);
    assert_eq!(ws.plan().code, 0, "plan after import must be clean");
    let values = &ws.state_json()["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["original_instance_class"], "db.r6g.xlarge");
    assert_eq!(values["on_destroy"], "retain");

    let bad = workspace(moto);
    bad.write(&sized("im-production", "r6g.large", ""));
    bad.init();
    let plan = bad.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("instance_class") && plan.flat().contains("RDS instance class"), "{}", plan.all());
    // A missing instance may come from this same apply: a warning at plan, an error at apply.
    bad.write(&sized("im-missing", "db.r6g.large", ""));
    let plan = bad.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.flat().contains("No such DB instance yet") && plan.flat().contains("im-missing does not exist in us-east-1"),
        "{}",
        plan.all()
    );
    assert!(plan.flat().contains("db_instance_identifier"), "{}", plan.all());
    let failed = bad.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("im-missing does not exist"), "{}", failed.all());
    assert!(bad.tf(&["state", "list"]).stdout.trim().is_empty(), "nothing was recorded");
    let import = bad.tf(&["import", "-no-color", "-input=false", "scaling_db_instance_class.db", "Not_An_Id"]);
    assert_eq!(import.code, 1);
    assert!(import.flat().contains("Invalid import ID"), "{}", import.all());
    assert_eq!(modifications(moto, "im-production"), 0);

    let id = "im-production".to_string();
    moto.rds(REGION, |c| async move {
        c.delete_db_instance().db_instance_identifier(id).skip_final_snapshot(true).send().await.unwrap();
    });
    moto.settle("im-production");
    let gone = ws.plan();
    assert_eq!(gone.code, 2, "{}", gone.all());
    assert!(gone.flat().contains("im-production does not exist"), "{}", gone.all());
    // Gone for good: nothing blocks the destroy.
    ws.destroy();
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty(), "a deleted instance leaves the state");
}

/// An instance made in the same apply (its identifier known at plan, from another resource) is
/// adopted once it exists: the plan warns, it does not refuse.
#[test]
fn an_instance_made_in_the_same_apply_is_adopted() {
    let moto = Moto::shared();
    moto.create_source(REGION, "sa-production");
    let ws = workspace(moto);
    ws.write(
        "resource \"scaling_read_replica\" \"r\" {\n  identifier                    = \"sa-replica\"\n  \
         source_db_instance_identifier = \"sa-production\"\n  instance_class                = \"db.r6g.large\"\n}\n\
         resource \"scaling_db_instance_class\" \"db\" {\n  db_instance_identifier = scaling_read_replica.r.identifier\n  \
         instance_class         = \"db.r6g.large\"\n}\n",
    );
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("No such DB instance yet") && plan.flat().contains("sa-replica"), "{}", plan.all());
    assert!(plan.stdout.contains("Plan: 2 to add"), "{}", plan.stdout);
    ws.apply();
    let values = &ws.state_json()["values"]["root_module"]["resources"];
    let class = values.as_array().unwrap().iter().find(|r| r["type"] == "scaling_db_instance_class").expect("adopted");
    assert_eq!(class["values"]["original_instance_class"], "db.r6g.large");
    assert_eq!(ws.plan().code, 0);
    assert_eq!(modifications(moto, "sa-replica"), 0, "the class it has is not sent again");
}

/// Setting the class back to the one the instance runs takes the pending change back, as the
/// RDS User Guide says it is done (a modification applied immediately): the window changes
/// nothing afterwards. What else was pending (someone's storage change) starts with it, and the
/// plan says so; so does an immediate change with an engine upgrade someone queued.
#[test]
fn a_pending_class_set_back_is_cancelled_and_the_plan_names_what_else_starts() {
    let moto = Moto::shared();
    primary(moto, "rv-production", "db.r6g.xlarge", false);
    let ws = workspace(moto);
    ws.write(&sized("rv-production", "db.r6g.2xlarge", ""));
    ws.init();
    ws.apply();
    assert_eq!(actual_class(moto, "rv-production"), (Some("db.r6g.xlarge".into()), Some("db.r6g.2xlarge".into())));

    ws.write(&sized("rv-production", "db.r6g.xlarge", ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    let said = plan.flat();
    assert!(said.contains("Cancels the pending change to db.r6g.2xlarge") && said.contains("stays db.r6g.xlarge"), "{}", plan.all());
    assert!(!said.contains("unavailable while it moves") && !said.contains("also starts"), "no change to warn of:\n{}", plan.all());
    ws.apply();
    assert_eq!(actual_class(moto, "rv-production"), (Some("db.r6g.xlarge".into()), None), "nothing is pending");
    assert_eq!(ws.plan().code, 0);
    moto.maintenance_window("rv-production");
    assert_eq!(actual_class(moto, "rv-production").0.as_deref(), Some("db.r6g.xlarge"), "the window changed nothing");

    // Deferred again, then someone else queues a storage change: taking ours back starts theirs.
    ws.write(&sized("rv-production", "db.r6g.2xlarge", ""));
    ws.apply();
    let id = "rv-production".to_string();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).allocated_storage(200).apply_immediately(false).send().await.unwrap();
    });
    ws.write(&sized("rv-production", "db.r6g.xlarge", ""));
    let plan = ws.plan();
    let said = plan.flat();
    assert!(said.contains("Cancels the pending change to db.r6g.2xlarge"), "{}", plan.all());
    assert!(said.contains("This apply also starts changes pending for the maintenance window"), "{}", plan.all());
    assert!(said.contains("allocated storage (GiB) 100 to 200"), "{}", plan.all());
    ws.apply();
    let i = moto.instance(REGION, "rv-production").unwrap();
    assert_eq!((i.db_instance_class(), i.allocated_storage()), (Some("db.r6g.xlarge"), Some(200)));
    assert!(i.pending_modified_values().is_none_or(|p| p.db_instance_class().is_none() && p.allocated_storage().is_none()));
    assert_eq!(ws.plan().code, 0);

    // An immediate change with an engine upgrade queued by someone else: named in the plan.
    let id = "rv-production".to_string();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).engine_version("16.4").apply_immediately(false).send().await.unwrap();
    });
    ws.write(&sized("rv-production", "db.r6g.4xlarge", "  apply_immediately = true\n"));
    let plan = ws.plan();
    let said = plan.flat();
    assert!(said.contains("Class change now: downtime"), "{}", plan.all());
    assert!(said.contains("This apply also starts") && said.contains("to 16.4"), "{}", plan.all());
    ws.apply();
    let i = moto.instance(REGION, "rv-production").unwrap();
    assert_eq!((i.db_instance_class(), i.engine_version()), (Some("db.r6g.4xlarge"), Some("16.4")));
    assert_eq!(ws.plan().code, 0);

    // Deferred, a class change joins what someone else queued for the window: the plan says so.
    let id = "rv-production".to_string();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).allocated_storage(300).apply_immediately(false).send().await.unwrap();
    });
    ws.write(&sized("rv-production", "db.r6g.8xlarge", ""));
    let plan = ws.plan();
    let said = plan.flat();
    assert!(said.contains("Other changes are pending for the same maintenance window"), "{}", plan.all());
    assert!(said.contains("allocated storage (GiB) 200 to 300") && !said.contains("also starts"), "{}", plan.all());
}

/// An instance busy with someone else's change refuses ModifyDBInstance (InvalidDBInstanceState):
/// the apply waits until it is usable and sends the change then, instead of failing.
#[test]
fn a_busy_instance_is_waited_for_before_the_change_is_sent() {
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_STEPS", "6")])));
    primary(moto, "bz-production", "db.r6g.xlarge", false);
    let ws = workspace(moto);
    ws.write(&sized("bz-production", "db.r6g.2xlarge", ""));
    ws.init();
    let id = "bz-production".to_string();
    moto.rds(REGION, |c| async move {
        c.modify_db_instance().db_instance_identifier(id).storage_type("gp3").apply_immediately(true).send().await.unwrap();
    });
    ws.apply();
    assert_eq!(actual_class(moto, "bz-production").1.as_deref(), Some("db.r6g.2xlarge"), "sent once it was usable");
    assert!(modifications(moto, "bz-production") >= 3, "the other writer's, ours refused while it was busy, ours sent");
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while the class change is under way (`modifying`): the state keeps the resource,
/// untainted, and the next apply finishes the change without sending it twice.
#[test]
fn ctrl_c_during_the_resize_keeps_the_resource_and_the_next_apply_finishes() {
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_STEPS", "1000")])));
    primary(moto, "cc-production", "db.r6g.xlarge", false);
    moto.settle("cc-production");
    let ws = workspace(moto);
    ws.write(&sized("cc-production", "db.r6g.2xlarge", "  apply_immediately = true\n"));
    ws.init();
    let waiting = || {
        let calls: Vec<String> = moto.calls("rds").into_iter().map(|(a, _)| a).collect();
        calls
            .iter()
            .position(|a| a == "ModifyDBInstance")
            .is_some_and(|at| calls[at..].iter().filter(|a| *a == "DescribeDBInstances").count() >= 2)
    };
    let (out, _) = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]).interrupt_when(
        "the instance modifying",
        waiting,
        std::time::Duration::from_secs(30),
    );
    assert!(out.flat().contains("Interrupted; the object is recorded"), "{}", out.all());
    let state = ws.ok(&["state", "show", "-no-color", "scaling_db_instance_class.db"]).stdout;
    assert!(state.contains("\"cc-production\"") && !state.contains("tainted"), "{state}");

    moto.settle("cc-production");
    ws.apply();
    assert_eq!(actual_class(moto, "cc-production"), (Some("db.r6g.2xlarge".into()), None));
    assert_eq!(modifications(moto, "cc-production"), 1, "the change was sent once");
    assert_eq!(ws.plan().code, 0);
}

/// A throttled describe during the apply: one error, and the state keeps the class RDS has
/// (not the planned one it never got), so the next plan still shows the change.
#[test]
fn a_failed_read_during_apply_keeps_the_class_rds_has() {
    let moto = Moto::shared();
    primary(moto, "th-production", "db.r6g.xlarge", false);
    let mut ws = workspace(moto);
    ws.set_provider_settings("  max_retries = 0\n");
    ws.write(&sized("th-production", "db.r6g.xlarge", "  apply_immediately = true\n"));
    ws.init();
    ws.apply();
    ws.write(&sized("th-production", "db.r6g.2xlarge", "  apply_immediately = true\n"));
    ws.ok(&["plan", "-no-color", "-input=false", "-out=resize.tfplan"]);
    moto.fail_next("DescribeDBInstances", "th-production", &["Throttling"]);
    let failed = ws.tf(&["apply", "-no-color", "-input=false", "resize.tfplan"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("Throttling"), "{}", failed.all());
    let shown = ws.ok(&["state", "show", "-no-color", "scaling_db_instance_class.db"]).stdout;
    assert!(shown.contains("\"db.r6g.xlarge\"") && !shown.contains("2xlarge"), "{shown}");
    assert_eq!(modifications(moto, "th-production"), 0);
    assert_eq!(ws.plan().code, 2, "the change is still planned");
}

/// A create with on_destroy = "restore" that fails once the change was sent (its wait timed
/// out while the instance is still modifying) is recorded untainted, with warnings: a tainted
/// one would be replaced, and the replacement would first restore the original class (more
/// downtime) before changing it again. One that changed nothing records nothing.
#[test]
fn a_create_that_fails_is_never_tainted_into_a_restore() {
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_STEPS", "1000")])));
    primary(moto, "tf-production", "db.r6g.xlarge", false);
    moto.settle("tf-production");
    let mut ws = workspace(moto);
    ws.set_provider_settings("  max_retries = 0\n");
    let config = sized("tf-production", "db.r6g.2xlarge", "  apply_immediately = true\n  on_destroy        = \"restore\"\n");
    ws.write(&config);
    ws.init();

    // Refused before anything moved (throttled past retries): nothing is recorded.
    moto.fail_next("ModifyDBInstance", "tf-production", &["Throttling"]);
    let refused = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty(), "nothing moved, nothing recorded");

    // Sent, and still modifying when the create's timeout ends: recorded, untainted.
    ws.write(&config.replace("}\n", "  timeouts {\n    create = \"3s\"\n  }\n}\n"));
    let timed_out = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(timed_out.code, 0, "{}", timed_out.all());
    assert!(timed_out.flat().contains("recorded, not tainted") && timed_out.flat().contains("timed out"), "{}", timed_out.all());
    let state = ws.ok(&["state", "show", "-no-color", "scaling_db_instance_class.db"]).stdout;
    assert!(!state.contains("tainted") && state.contains("original_instance_class = \"db.r6g.xlarge\""), "{state}");

    moto.settle("tf-production");
    assert_eq!(ws.plan().code, 0, "the change landed: nothing left to do, and no replacement");
    assert_eq!(actual_class(moto, "tf-production"), (Some("db.r6g.2xlarge".into()), None));
    assert_eq!(modifications(moto, "tf-production"), 2, "the refused one and the one that landed");
}
