//! `scaling_node_group` end to end: the real terraform binary, the provider binary, and moto
//! extended with EKS's update lifecycle (InProgress, then Successful or Failed).

use scaling_testkit::{Mirror, Moto, Workspace, REGION};

fn workspace(moto: &'static Moto) -> Workspace {
    Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), Some(moto))
}

fn scaled(cluster: &str, name: &str, min: i64, max: i64, extra: &str) -> String {
    format!(
        "resource \"scaling_node_group\" \"workers\" {{\n  cluster_name    = \"{cluster}\"\n  node_group_name = \"{name}\"\n  \
         min_size        = {min}\n  max_size        = {max}\n{extra}}}\n"
    )
}

/// The desired size changed by someone else (the cluster autoscaler, or a person), the update
/// finished.
fn set_desired_elsewhere(moto: &Moto, cluster: &str, name: &str, desired: i32) {
    let (owned_cluster, owned_name) = (cluster.to_string(), name.to_string());
    moto.eks(REGION, |c| async move {
        let sizes = aws_sdk_eks::types::NodegroupScalingConfig::builder().desired_size(desired).build();
        c.update_nodegroup_config().cluster_name(owned_cluster).nodegroup_name(owned_name).scaling_config(sizes).send().await.unwrap();
    });
    moto.settle_node_group(cluster, name);
}

fn updates(moto: &Moto, target: &str) -> usize {
    moto.calls("eks").iter().filter(|(action, t)| action == "UpdateNodegroupConfig" && t == target).count()
}

/// The runbook's `eksctl scale nodegroup`: min/max owned, the autoscaler's desired size left
/// alone (no diff when it moves), until the configuration sets one, which is then enforced.
#[test]
fn min_and_max_without_fighting_the_autoscaler_then_an_enforced_desired_size() {
    let moto = Moto::shared();
    moto.create_node_group("skillancer", "production-workers", (3, 6, 4));
    let ws = workspace(moto);
    ws.write(&scaled("skillancer", "production-workers", 3, 10, ""));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    ws.apply();
    assert_eq!(moto.node_group_sizes("skillancer", "production-workers"), (3, 10, 4), "the desired size is left as it was");
    assert_eq!(ws.plan().code, 0);

    // The cluster autoscaler adds nodes: not drift, since the configuration leaves it out.
    set_desired_elsewhere(moto, "skillancer", "production-workers", 8);
    assert_eq!(ws.plan().code, 0, "the autoscaler's desired size is not fought");

    // A new minimum above what runs: the desired size moves into the range, and the plan says so.
    ws.write(&scaled("skillancer", "production-workers", 9, 12, ""));
    let plan = ws.plan();
    assert!(plan.flat().contains("The desired size moves into the new range") && plan.flat().contains("becomes 9"), "{}", plan.all());
    ws.apply();
    assert_eq!(moto.node_group_sizes("skillancer", "production-workers"), (9, 12, 9));

    // Set, it is enforced: a change by hand shows as drift.
    ws.write(&scaled("skillancer", "production-workers", 3, 12, "  desired_size    = 10\n"));
    ws.apply();
    assert_eq!(moto.node_group_sizes("skillancer", "production-workers"), (3, 12, 10));
    set_desired_elsewhere(moto, "skillancer", "production-workers", 5);
    let drift = ws.plan();
    assert_eq!(drift.code, 2, "{}", drift.all());
    assert!(drift.stdout.contains("~ desired_size    = 5 -> 10"), "{}", drift.stdout);
    assert!(
        drift.flat().contains("Another writer changed the desired size") && drift.flat().contains("a desired size of 5"),
        "the plan names the other writer's size:\n{}",
        drift.all()
    );
    ws.apply();
    assert_eq!(moto.node_group_sizes("skillancer", "production-workers").2, 10);

    // Removing it hands the desired size back to the autoscaler: nothing is sent.
    let before = updates(moto, "skillancer/production-workers");
    ws.write(&scaled("skillancer", "production-workers", 3, 12, ""));
    assert_eq!(ws.plan().code, 0, "dropping desired_size changes nothing on the node group");
    ws.apply();
    assert_eq!(updates(moto, "skillancer/production-workers"), before);

    ws.destroy();
    assert_eq!(moto.node_group_sizes("skillancer", "production-workers"), (3, 12, 10), "destroy leaves the node group as it is");
}

/// Out-of-range values fail at plan time on the attribute, calling nothing; a missing node
/// group is named; a Failed update is an error with EKS's reasons and the state says what is
/// there; import by CLUSTER/NODE_GROUP plans clean.
#[test]
fn bad_ranges_missing_node_groups_failed_updates_and_import() {
    let moto = Moto::shared();
    moto.create_node_group("checks", "workers", (2, 6, 3));
    let ws = workspace(moto);
    ws.write(&scaled("checks", "workers", 5, 4, ""));
    ws.init();
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Minimum above maximum") && plan.flat().contains("min_size"), "{}", plan.all());
    ws.write(&scaled("checks", "workers", 2, 6, "  desired_size    = 7\n"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("Desired size above the maximum"), "{}", plan.all());
    ws.write(&scaled("checks", "workers", 2, 0, ""));
    assert_eq!(ws.plan().code, 1);
    ws.write(&scaled("checks", "no-such-workers", 2, 6, ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a node group this apply may create is a warning:\n{}", plan.all());
    assert!(plan.flat().contains("No such node group yet") && plan.flat().contains("no-such-workers"), "{}", plan.all());
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.flat().contains("does not exist"), "{}", failed.all());
    assert_eq!(updates(moto, "checks/workers"), 0, "nothing was sent");

    // A Failed update: one error with EKS's reason; the state holds the node group unchanged.
    ws.write(&scaled("checks", "workers", 2, 30, "  desired_size    = 25\n"));
    moto.fail_next("UpdateNodegroupConfig", "checks/workers", &["Failed"]);
    let failed = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(
        failed.flat().contains("AsgInstanceLaunchFailures") && failed.flat().contains("InsufficientInstanceCapacity"),
        "{}",
        failed.all()
    );
    assert_eq!(moto.node_group_sizes("checks", "workers"), (2, 6, 3));
    let shown = ws.ok(&["state", "show", "-no-color", "scaling_node_group.workers"]).stdout;
    assert!(shown.contains("max_size        = 6") && shown.contains("\"DEGRADED\""), "{shown}");
    ws.apply();
    assert_eq!(moto.node_group_sizes("checks", "workers"), (2, 30, 25), "the next apply succeeds, on a DEGRADED node group");

    // Successful, yet the instances cannot launch: a warning with EKS's health issue.
    ws.write(&scaled("checks", "workers", 2, 40, "  desired_size    = 35\n"));
    moto.fail_next("UpdateNodegroupConfig", "checks/workers", &["Degraded"]);
    let degraded = ws.apply();
    assert!(
        degraded.flat().contains("The node group is DEGRADED") && degraded.flat().contains("AsgInstanceLaunchFailures"),
        "{}",
        degraded.all()
    );
    assert_eq!(moto.node_group_sizes("checks", "workers"), (2, 40, 35));

    // Import, then a clean plan.
    std::fs::remove_file(ws.state_file()).unwrap();
    ws.ok(&["import", "-no-color", "-input=false", "scaling_node_group.workers", "checks/workers"]);
    assert_eq!(ws.plan().code, 0, "plan after import must be clean");
    let bad = ws.tf(&["import", "-no-color", "-input=false", "scaling_node_group.other", "checks"]);
    assert_eq!(bad.code, 1);
}

/// Someone else's updates in progress (EKS answers ResourceInUseException, here twice in a
/// row, as when an autoscaler keeps updating): the apply waits for the node group to be ACTIVE
/// each time, then sends its own again.
#[test]
fn updates_already_in_progress_are_waited_for() {
    let moto = Moto::shared();
    moto.create_node_group("busy", "workers", (2, 6, 3));
    let ws = workspace(moto);
    ws.write(&scaled("busy", "workers", 2, 9, ""));
    ws.init();
    moto.fail_next("UpdateNodegroupConfig", "busy/workers", &["ResourceInUseException", "ResourceInUseException"]);
    ws.apply();
    assert_eq!(updates(moto, "busy/workers"), 3, "refused twice while busy, then sent again");
    assert_eq!(moto.node_group_sizes("busy", "workers"), (2, 9, 3));
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while EKS works on the update: the state keeps the resource, untainted, and the next
/// apply goes on from it without sending the update again.
#[test]
fn ctrl_c_during_the_update_keeps_the_resource_and_the_next_apply_goes_on() {
    // A moto of its own, where an update stays InProgress until the test settles it.
    let moto: &'static Moto = Box::leak(Box::new(Moto::start_with(&[("SCALING_MOTO_STEPS", "1000")])));
    moto.create_node_group("intr", "workers", (2, 6, 3));
    let ws = workspace(moto);
    ws.write(&scaled("intr", "workers", 2, 12, "  desired_size    = 8\n"));
    ws.init();
    let waiting = || {
        let calls: Vec<String> = moto.calls("eks").into_iter().map(|(a, _)| a).collect();
        calls
            .iter()
            .position(|a| a == "UpdateNodegroupConfig")
            .is_some_and(|at| calls[at..].iter().filter(|a| *a == "DescribeUpdate").count() >= 2)
    };
    let (out, _) = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]).interrupt_when(
        "an update in progress",
        waiting,
        std::time::Duration::from_secs(30),
    );
    assert!(out.flat().contains("Interrupted; the object is recorded"), "{}", out.all());
    let state = ws.ok(&["state", "show", "-no-color", "scaling_node_group.workers"]).stdout;
    assert!(state.contains("\"intr/workers\"") && !state.contains("tainted"), "{state}");

    moto.settle_node_group("intr", "workers");
    ws.apply();
    assert_eq!(moto.node_group_sizes("intr", "workers"), (2, 12, 8));
    assert_eq!(updates(moto, "intr/workers"), 1, "the update was sent once");
    assert_eq!(ws.plan().code, 0);
}

/// Another node_group_name is another node group (a replacement): the plan compares the new
/// range with the new node group's desired size, not with the old one's.
#[test]
fn a_replacement_is_planned_against_the_new_node_group() {
    let moto = Moto::shared();
    moto.create_node_group("swap", "old-workers", (2, 6, 5));
    moto.create_node_group("swap", "new-workers", (1, 4, 1));
    let ws = workspace(moto);
    ws.write(&scaled("swap", "old-workers", 2, 6, ""));
    ws.init();
    ws.apply();
    // 3..8 holds the old group's 5, not the new group's 1, which moves to 3.
    ws.write(&scaled("swap", "new-workers", 3, 8, ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    assert!(
        plan.flat().contains("The desired size moves into the new range") && plan.flat().contains("runs 1 nodes, outside 3..8"),
        "the warning is about the new node group:\n{}",
        plan.all()
    );
}
