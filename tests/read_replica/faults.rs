//! Backends that fail, throttle, go silent or lose answers, and Ctrl-C: nothing orphaned, nothing made twice.

use super::*;

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
