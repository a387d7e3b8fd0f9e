//! API servers that go silent, restart, shed load or lose answers, and Ctrl-C: nothing orphaned.

use super::*;

/// An API server that completes TLS and then never answers (a stalled control plane).
#[test]
fn a_silent_api_server_fails_at_the_read_timeout_and_ctrl_c_ends_it_at_once() {
    let silent = scaling_testkit::SilentServer::tls();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: silent\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: tests\n  user:\n    token: tests\ncontexts:\n- name: silent\n  context:\n    cluster: silent\n    user: tests\n\
             current-context: silent\n",
            silent.url("https")
        ),
    )
    .unwrap();
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&kubeconfig);
    ws.set_provider_settings("  read_timeout = \"2s\"\n");
    ws.write(&with_blocks("silent", false, ""));
    ws.init();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply.flat().contains(&format!("the Kubernetes API server at {}/ did not answer in time", silent.url("https"))),
        "{}",
        apply.all()
    );
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());

    // Ctrl-C while the create's call hangs: terraform exits at once, the call ended by the
    // stop, not by its read timeout. Terraform 1.0.3 stops providers only once the apply
    // begins (an interrupt during the plan waits for the plan), so the looks at the namespace
    // of the plan and of the apply's own plan (the first two connections) first run out their
    // read timeout.
    ws.set_provider_settings("  read_timeout = \"5s\"\n");
    ws.write(&with_blocks("silent", false, ""));
    let accepted = silent.accepted();
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let (out, _) = running.interrupt_when(
        "the create's call to the API server in flight",
        || silent.accepted() > accepted + 2,
        std::time::Duration::from_secs(45),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.flat().contains("stopped by Terraform"), "the call ended because of the stop:\n{}", out.all());
}

/// The API server crashes under a running apply and comes back on the same etcd: the next
/// apply converges, every object made once, and plans clean.
#[test]
fn an_api_server_restart_mid_apply_ends_in_a_converged_second_apply() {
    let cluster = KubeCluster::start(false);
    let ws = workspace(&cluster);
    let profiles: String = (0..30)
        .map(|i| {
            format!(
                "resource \"scaling_profile\" \"p{i}\" {{\n  namespace = \"default\"\n  name = \"svc-{i}\"\n  min_replicas = 1\n  \
                 max_replicas = 5\n  cpu_utilization = 70\n  target {{\n    name = \"svc-{i}\"\n  }}\n}}\n"
            )
        })
        .collect();
    ws.write(&profiles);
    ws.init();
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=5"]);
    let made = |cluster: &KubeCluster| (0..30).filter(|i| cluster.get(HPA.0, HPA.1, "default", &format!("svc-{i}")).is_some()).count();
    let started = std::time::Instant::now();
    while made(&cluster) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the apply never created anything");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cluster.stop_apiserver();
    std::thread::sleep(std::time::Duration::from_secs(1));
    cluster.start_apiserver();
    let first = running.wait(std::time::Duration::from_secs(120));
    eprintln!("first apply: exit {}, {} objects made", first.code, made(&cluster));

    let second = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(second.code, 0, "the second apply converges:\n{}\n{}", first.all(), second.all());
    assert_eq!(made(&cluster), 30);
    assert_eq!(ws.tf(&["state", "list"]).stdout.lines().count(), 30);
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while a destroy waits for an object a finalizer holds (another controller's
/// clean-up): terraform exits at once, the profile stays in state, and once the finalizer is
/// gone the next destroy finishes.
#[test]
fn ctrl_c_during_a_delete_wait_keeps_the_profile_and_the_next_destroy_finishes() {
    let cluster = KubeCluster::shared();
    cluster.create_namespace("held");
    let ws = workspace(cluster);
    ws.write(&named("held", "api", ""));
    ws.init();
    ws.apply();
    let held = |finalizers: serde_json::Value| cluster.edit(HPA.0, HPA.1, "held", "api", json!({"metadata": {"finalizers": finalizers}}));
    held(json!(["example.com/clean-up"]));

    let running = ws.spawn(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    let deleting = || cluster.get(HPA.0, HPA.1, "held", "api").is_some_and(|o| !o["metadata"]["deletionTimestamp"].is_null());
    let (out, _) = running.interrupt_when("the HPA deleting, held by its finalizer", deleting, std::time::Duration::from_secs(30));
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(ws.tf(&["state", "list"]).stdout.contains("scaling_profile.p"), "an unfinished delete keeps the profile in state");

    held(serde_json::Value::Null);
    ws.destroy();
    assert!(cluster.get(HPA.0, HPA.1, "held", "api").is_none());
    assert!(ws.tf(&["state", "list"]).stdout.trim().is_empty());
}

/// An API server shedding load (priority and fairness answers 429 with Retry-After) or briefly
/// unavailable (503), between the provider and kube-apiserver. A shed create is asked again; a
/// create answered 503 is not sent twice (it may have landed): it looks for its object, and
/// fails once when there is none. Past max_retries, one error names the resource.
#[test]
fn an_api_server_shedding_load_is_asked_again_within_max_retries() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("shed");
    let (proxy, mut ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("shed", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/shed/horizontalpodautoscalers";
    const READ_API: &str = "GET /apis/autoscaling/v2beta2/namespaces/shed/horizontalpodautoscalers/api";
    proxy.inject(CREATE, &[Fault::Status(429), Fault::Status(429)]);
    proxy.inject(READ_API, &[Fault::Status(503)]);
    ws.apply();
    assert_eq!(
        proxy.seen(CREATE),
        [Outcome::Faulted(Fault::Status(429)), Outcome::Faulted(Fault::Status(429)), Outcome::Forwarded],
        "a shed create is asked again"
    );
    let seen = proxy.seen_at(CREATE);
    assert!(seen[1].0 - seen[0].0 >= std::time::Duration::from_secs(1), "Retry-After: 1 honoured");
    assert!(cluster.get(HPA.0, HPA.1, "shed", "api").is_some());
    assert_eq!(ws.plan().code, 0, "a read answered 503 was asked again");
    assert_eq!(proxy.seen(READ_API)[0], Outcome::Faulted(Fault::Status(503)));

    ws.set_provider_settings("  max_retries = 1\n");
    ws.write(&format!("{}{}", named("shed", "api", ""), named("shed", "worker", "").replace("\"p\"", "\"q\"")));
    proxy.inject(CREATE, &[Fault::Status(429); 2]);
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(proxy.seen(CREATE)[3..], [Outcome::Faulted(Fault::Status(429)); 2], "two attempts with max_retries = 1");
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert_eq!(apply.flat().matches("Error: ").count(), 1, "{}", apply.all());
    assert!(apply.flat().contains("scaling_profile.q"), "{}", apply.all());
    assert!(cluster.get(HPA.0, HPA.1, "shed", "worker").is_none());
    assert!(!ws.tf(&["state", "list"]).stdout.contains("scaling_profile.q"));

    // A 503 to the create itself: not sent again; nothing landed, so one error.
    proxy.inject(CREATE, &[Fault::Status(503)]);
    let before = proxy.seen(CREATE).len();
    let apply = ws.tf(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert_eq!(proxy.seen(CREATE)[before..], [Outcome::Faulted(Fault::Status(503))], "one POST");
    // The next apply creates it: nothing is refused as made by someone else.
    ws.apply();
    assert!(cluster.get(HPA.0, HPA.1, "shed", "worker").is_some());
}

/// The POST reached the API server, its answer did not: the create finds its object and goes
/// on, instead of refusing it on the next apply as made by someone else.
#[test]
fn a_create_whose_answer_was_lost_is_found_not_refused() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("lost");
    let (proxy, ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("lost", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/lost/horizontalpodautoscalers";
    proxy.inject(CREATE, &[Fault::LoseAnswer]);
    ws.apply();
    assert_eq!(proxy.seen(CREATE), [Outcome::Faulted(Fault::LoseAnswer)], "one POST, whose answer was lost");
    let hpa = cluster.get(HPA.0, HPA.1, "lost", "api").expect("made");
    assert_eq!(hpa["spec"]["maxReplicas"], 20);
    let state = ws.ok(&["state", "show", "-no-color", "scaling_profile.p"]).stdout;
    assert!(!state.contains("tainted"), "{state}");
    assert_eq!(ws.plan().code, 0);
}

/// Ctrl-C while a create's POST is in flight and has landed: the create looks once more (with a
/// client the stop does not end), records the object untainted, and terraform exits at once;
/// the next plan is clean instead of "already exists, import it".
#[test]
fn ctrl_c_during_a_create_post_that_landed_records_the_object() {
    use scaling_testkit::{Fault, Outcome};
    let cluster = KubeCluster::shared();
    cluster.create_namespace("inflight");
    let (proxy, ws) = behind_a_fault_proxy(cluster);
    ws.write(&named("inflight", "api", ""));
    ws.init();
    const CREATE: &str = "POST /apis/autoscaling/v2beta2/namespaces/inflight/horizontalpodautoscalers";
    proxy.inject(CREATE, &[Fault::HoldAnswer(30)]);
    let running = ws.spawn(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let landed = || cluster.get(HPA.0, HPA.1, "inflight", "api").is_some();
    running.interrupt_when("the POST landed, its answer held", landed, std::time::Duration::from_secs(20));
    assert_eq!(proxy.seen(CREATE), [Outcome::Faulted(Fault::HoldAnswer(30))], "one POST");
    let state = ws.ok(&["state", "show", "-no-color", "scaling_profile.p"]).stdout;
    assert!(state.contains("\"inflight/api\"") && !state.contains("tainted"), "{state}");
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.all());
}
