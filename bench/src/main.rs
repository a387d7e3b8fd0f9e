//! `scripts/bench.sh` runs this: medians for our provider and, measured in the same run on
//! the same machine, HashiCorp's null provider 2.1.2 (the lightest Go provider there is).
//!
//! - cold start: spawn to the go-plugin handshake line on stdout;
//! - GetProviderSchema latency over an established mutual-TLS connection;
//! - idle RSS after the handshake and one schema request;
//! - for N resources of each kind (`BENCH_SIZES`, default 100, 500 and 1000): `terraform plan`
//!   wall time (refresh included) beside N `null_resource`s, Terraform's own floor; the
//!   provider processes' CPU time and peak RSS during that plan; API requests per plan per
//!   backend (moto's request log; a counting proxy in front of kube-apiserver); and `terraform
//!   apply` of the N creates at `-parallelism=10` and `=50`, with its requests. `BENCH_KINDS`
//!   (default `replicas,profiles,redis,shields`) chooses the kinds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaling_testkit::host::{ClientIdentity, Plugin};
use scaling_testkit::{repo_root, tool, KubeCluster, Mirror, Moto, Workspace, REGION};
use terraform_provider_scaling::proto::tfplugin6::get_provider_schema;
use tonic::codegen::http::uri::PathAndQuery;

struct Subject {
    name: &'static str,
    binary: PathBuf,
    /// Protocol versions offered, as Terraform 1.0.3 does for each.
    protocols: &'static str,
}

#[derive(Default)]
struct Figures {
    handshake_ms: Vec<f64>,
    schema_ms: Vec<f64>,
    rss_mib: Vec<f64>,
}

/// What one `terraform plan` or `apply` cost.
#[derive(Default)]
struct Run {
    wall_s: Vec<f64>,
    cpu_s: Vec<f64>,
    peak_rss_mib: Vec<f64>,
    requests: Vec<f64>,
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// GetProviderSchema (v6) or GetSchema (v5): their responses share field numbers, so one
/// message type decodes both.
async fn get_schema(channel: tonic::transport::Channel, protocol: u32) -> usize {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let path = if protocol == 5 { "/tfplugin5.Provider/GetSchema" } else { "/tfplugin6.Provider/GetProviderSchema" };
    let codec = tonic_prost::ProstCodec::<get_provider_schema::Request, get_provider_schema::Response>::default();
    let resp = grpc
        .unary(tonic::Request::new(get_provider_schema::Request {}), PathAndQuery::from_static(path), codec)
        .await
        .expect("schema request");
    resp.into_inner().resource_schemas.len()
}

async fn measure_process(subject: &Subject, runs: usize, figures: &mut Figures) {
    let identity = ClientIdentity::generate();
    for run in 0..runs {
        let plugin = Plugin::launch(Plugin::command(&subject.binary, &identity, subject.protocols));
        figures.handshake_ms.push(ms(plugin.handshake_time));
        let channel = plugin.connect(Some(&identity)).await.expect("connect");
        // The first request pays for connection set-up; time the ones after it.
        let resources = get_schema(channel.clone(), plugin.protocol_version).await;
        assert!(resources > 0, "{} served no resource schemas", subject.name);
        if run < 3 {
            for _ in 0..20 {
                let started = Instant::now();
                get_schema(channel.clone(), plugin.protocol_version).await;
                figures.schema_ms.push(ms(started.elapsed()));
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        if let Some(kib) = plugin.resident_set_kib() {
            figures.rss_mib.push(kib as f64 / 1024.0);
        }
    }
}

/// Provider processes (`terraform-provider-*`, which Terraform starts and stops during a run):
/// each one's CPU seconds and peak RSS, sampled from /proc until `done`.
fn sample_providers(done: Arc<AtomicBool>) -> std::thread::JoinHandle<(f64, f64)> {
    std::thread::spawn(move || {
        let ticks = 100.0; // USER_HZ on Linux
        let mut seen: std::collections::HashMap<u32, (f64, f64)> = std::collections::HashMap::new();
        while !done.load(Ordering::SeqCst) {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if !comm.starts_with("terraform-provi") {
                    continue;
                }
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // Fields after the command's closing parenthesis: utime and stime are 12th and 13th.
                let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
                let cpu = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
                    + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let hwm = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                    .unwrap_or(0.0);
                let slot = seen.entry(pid).or_default();
                slot.0 = slot.0.max(cpu / ticks);
                slot.1 = slot.1.max(hwm / 1024.0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (seen.values().map(|(cpu, _)| cpu).sum(), seen.values().map(|(_, rss)| *rss).fold(0.0, f64::max))
    })
}

/// Runs terraform with `args` to success, recording wall time, provider CPU and peak RSS, and
/// the requests `count` reports.
fn measure(ws: &Workspace, args: &[&str], count: &dyn Fn() -> usize, into: &mut Run) {
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample_providers(done.clone());
    let before = count();
    let started = Instant::now();
    let out = ws.spawn(args).wait(Duration::from_secs(3600));
    let wall = started.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let (cpu, rss) = sampler.join().expect("sampler");
    assert!(out.code == 0, "terraform {} failed:\n{}", args.join(" "), out.all());
    into.wall_s.push(wall);
    into.cpu_s.push(cpu);
    into.peak_rss_mib.push(rss);
    into.requests.push((count() - before) as f64);
}

const PLAN: &[&str] = &["plan", "-no-color", "-input=false", "-detailed-exitcode"];

/// One kind's figures at N: apply at two parallelisms, then plans.
struct Kind {
    apply_10: Run,
    apply_50: Run,
    plan: Run,
}

/// Applies at -parallelism=10 and =50 and plans, timed with `timed` as main.tf; with `counted`
/// instead (a counting proxy in the way, which would slow the timed runs), one more apply and
/// plan count the requests. Without `counted`, `count` counts the timed runs themselves.
fn measure_kind(ws: &Workspace, timed: &str, counted: Option<&str>, count: &dyn Fn() -> usize, plan_runs: usize) -> Kind {
    let mut kind = Kind { apply_10: Run::default(), apply_50: Run::default(), plan: Run::default() };
    let apply = |parallelism: &'static str| ["apply", "-auto-approve", "-no-color", "-input=false", parallelism];
    ws.write_raw(timed);
    ws.init();
    measure(ws, &apply("-parallelism=10"), count, &mut kind.apply_10);
    ws.destroy();
    measure(ws, &apply("-parallelism=50"), count, &mut kind.apply_50);
    for _ in 0..plan_runs {
        measure(ws, PLAN, count, &mut kind.plan);
    }
    if let Some(counted) = counted {
        ws.write_raw(counted);
        let mut requests = Run::default();
        measure(ws, PLAN, count, &mut requests);
        kind.plan.requests = requests.requests;
        ws.destroy();
        let mut requests = Run::default();
        measure(ws, &apply("-parallelism=10"), count, &mut requests);
        kind.apply_10.requests = requests.requests.clone();
        kind.apply_50.requests = requests.requests;
        ws.write_raw(timed);
    }
    kind
}

fn provider_block(extra: &str) -> String {
    format!("terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\nprovider \"scaling\" {{\n{extra}}}\n")
}

fn row(label: &str, ours: Option<f64>, reference: Option<f64>, decimals: usize) {
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.decimals$}"));
    let ratio = match (ours, reference) {
        (Some(o), Some(r)) if r > 0.0 => format!("{:.2}x", o / r),
        _ => "-".into(),
    };
    println!("{label:<58} {:>12} {:>12} {:>8}", cell(ours), cell(reference), ratio);
}

fn main() {
    let process_runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    let plan_runs: usize = std::env::var("BENCH_PLAN_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let kinds_env = std::env::var("BENCH_KINDS").unwrap_or_else(|_| "replicas,profiles,redis,shields".into());
    let kinds: Vec<&str> = kinds_env.split(',').map(str::trim).collect();
    let sizes: Vec<usize> =
        std::env::var("BENCH_SIZES").unwrap_or_else(|_| "100,500,1000".into()).split(',').filter_map(|n| n.trim().parse().ok()).collect();
    let ours = Subject {
        name: "scaling",
        binary: std::env::var_os("BENCH_PROVIDER")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/release/terraform-provider-scaling")),
        protocols: "5,6",
    };
    assert!(ours.binary.exists(), "{} not built: run scripts/bench.sh", ours.binary.display());
    let null = Subject { name: "null 2.1.2", binary: tool("terraform-provider-null_v2.1.2_x4"), protocols: "5,6" };

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (mut our_figures, mut null_figures) = (Figures::default(), Figures::default());
    // Interleave the two so drift in machine load affects both alike.
    for _ in 0..process_runs {
        rt.block_on(measure_process(&ours, 1, &mut our_figures));
        rt.block_on(measure_process(&null, 1, &mut null_figures));
    }
    println!();
    println!("medians: {process_runs} process starts, 60 schema requests");
    println!("{:<58} {:>12} {:>12} {:>8}", "metric", ours.name, null.name, "ratio");
    row("cold start to handshake line (ms)", median(&our_figures.handshake_ms), median(&null_figures.handshake_ms), 2);
    row("GetProviderSchema latency (ms)", median(&our_figures.schema_ms), median(&null_figures.schema_ms), 3);
    row("idle RSS after handshake + schema (MiB)", median(&our_figures.rss_mib), median(&null_figures.rss_mib), 1);

    let our_mirror = Mirror::new(&[("skillancer/scaling", "0.1.0", &ours.binary)]);
    let null_mirror = Mirror::new(&[("hashicorp/null", "2.1.2", Path::new(&null.binary))]);
    let cluster = KubeCluster::start(false);
    let (counting, counted_kubeconfig) = cluster.through_proxy();

    for &n in &sizes {
        eprintln!("== N = {n}");
        // Backends whose waits end at the first look (statuses settle in one describe), so
        // applies measure the provider and Terraform, not emulated minutes; a moto of its own
        // for each N, so that an account listing holds this N's objects only.
        let moto = Moto::start_with(&[("SCALING_MOTO_STEPS", "1")]);
        moto.create_source(REGION, "bench-production");
        let aws_provider = provider_block(&format!(
            "  region = \"{REGION}\"\n  endpoints {{\n    rds         = \"{0}\"\n    elasticache = \"{0}\"\n    cloudfront  = \"{0}\"\n  }}\n",
            moto.endpoint()
        ));
        let replicas_ws = Workspace::new(&our_mirror, None);
        let replicas: String = (0..n)
            .map(|i| {
                format!(
                    "resource \"scaling_read_replica\" \"r{i}\" {{\n  identifier = \"bench-{n}-replica-{i}\"\n  \
                     source_db_instance_identifier = \"bench-production\"\n  instance_class = \"db.r6g.large\"\n}}\n"
                )
            })
            .collect();
        let replicas_tf = format!("{aws_provider}{replicas}");
        let rds_requests = || moto.calls("rds").len();
        let replica_figures = kinds.contains(&"replicas").then(|| measure_kind(&replicas_ws, &replicas_tf, None, &rds_requests, plan_runs));

        let namespace = format!("bench-{n}");
        cluster.create_namespace(&namespace);
        let profiles_ws = Workspace::new(&our_mirror, None);
        let profiles: String = (0..n)
            .map(|i| {
                format!(
                    "resource \"scaling_profile\" \"p{i}\" {{\n  namespace = \"{namespace}\"\n  name = \"svc-{i}\"\n  \
                     min_replicas = 2\n  max_replicas = 10\n  cpu_utilization = 70\n  target {{\n    name = \"svc-{i}\"\n  }}\n}}\n"
                )
            })
            .collect();
        let profiles_tf = |kubeconfig: &Path| {
            format!("{}{profiles}", provider_block(&format!("  kubernetes {{\n    config_path = \"{}\"\n  }}\n", kubeconfig.display())))
        };
        let kube_requests = || counting.seen("").len();
        let profile_figures = kinds.contains(&"profiles").then(|| {
            measure_kind(
                &profiles_ws,
                &profiles_tf(&cluster.kubeconfig()),
                Some(&profiles_tf(&counted_kubeconfig)),
                &kube_requests,
                plan_runs,
            )
        });

        // Redis groups made elsewhere (one shard, a primary and a replica: two member clusters
        // each), adopted by the resources.
        let redis_figures = kinds.contains(&"redis").then(|| {
            for i in 0..n {
                moto.create_replication_group(&format!("bench-redis-{i}"), false, 1, 1);
            }
            let groups: String = (0..n)
                .map(|i| {
                    format!(
                        "resource \"scaling_redis_shard_config\" \"g{i}\" {{\n  replication_group_id    = \"bench-redis-{i}\"\n  \
                         node_group_count        = 1\n  replicas_per_node_group = 1\n}}\n"
                    )
                })
                .collect();
            let ws = Workspace::new(&our_mirror, None);
            measure_kind(&ws, &format!("{aws_provider}{groups}"), None, &|| moto.calls("elasticache").len(), plan_runs)
        });

        // Origin Shield on every origin of N/20 distributions of 20 origins each.
        let shield_figures = kinds.contains(&"shields").then(|| {
            let origins: Vec<(String, String)> = (0..20).map(|o| (format!("o{o}"), format!("o{o}.bench.example.com"))).collect();
            let origins: Vec<(&str, &str)> = origins.iter().map(|(id, domain)| (id.as_str(), domain.as_str())).collect();
            let distributions: Vec<String> = (0..n.div_ceil(20)).map(|d| moto.create_distribution(&format!("bench-{n}-{d}"), &origins)).collect();
            let shields: String = (0..n)
                .map(|i| {
                    format!(
                        "resource \"scaling_origin_shield\" \"s{i}\" {{\n  distribution_id     = \"{}\"\n  origin_id           = \"o{}\"\n  \
                         shield_region       = \"us-east-1\"\n  wait_for_deployment = false\n}}\n",
                        distributions[i / 20],
                        i % 20
                    )
                })
                .collect();
            let ws = Workspace::new(&our_mirror, None);
            measure_kind(&ws, &format!("{aws_provider}{shields}"), None, &|| moto.calls("cloudfront").len(), plan_runs)
        });

        let null_ws = Workspace::new(&null_mirror, None);
        let nulls: String = (0..n).map(|i| format!("resource \"null_resource\" \"n{i}\" {{}}\n")).collect();
        let nulls_tf = format!(
            "terraform {{\n  required_providers {{\n    null = {{ source = \"hashicorp/null\", version = \"2.1.2\" }}\n  }}\n}}\n{nulls}"
        );
        let none = || 0;
        let null_figures = measure_kind(&null_ws, &nulls_tf, None, &none, plan_runs);

        println!();
        println!("N = {n}: medians of {plan_runs} plans; one apply each at -parallelism=10 and =50");
        println!("{:<58} {:>12} {:>12} {:>8}", "metric", "scaling", "null 2.1.2", "ratio");
        let measured = [
            ("read replicas", &replica_figures, "RDS"),
            ("profiles", &profile_figures, "Kubernetes"),
            ("Redis shard configs", &redis_figures, "ElastiCache"),
            ("Origin Shields", &shield_figures, "CloudFront"),
        ];
        for (kind, figures, backend) in measured.into_iter().filter_map(|(k, f, b)| Some((k, f.as_ref()?, b))) {
            row(&format!("plan wall time, {n} {kind} (s)"), median(&figures.plan.wall_s), median(&null_figures.plan.wall_s), 2);
            row("  provider CPU during plan (s)", median(&figures.plan.cpu_s), median(&null_figures.plan.cpu_s), 2);
            row("  provider peak RSS during plan (MiB)", median(&figures.plan.peak_rss_mib), median(&null_figures.plan.peak_rss_mib), 1);
            row(&format!("  {backend} requests per plan"), median(&figures.plan.requests), None, 0);
            row(
                &format!("apply of {n} creates, -parallelism=10 (s)"),
                median(&figures.apply_10.wall_s),
                median(&null_figures.apply_10.wall_s),
                2,
            );
            row(&format!("  {backend} requests"), median(&figures.apply_10.requests), None, 0);
            row(
                &format!("apply of {n} creates, -parallelism=50 (s)"),
                median(&figures.apply_50.wall_s),
                median(&null_figures.apply_50.wall_s),
                2,
            );
            row(&format!("  {backend} requests"), median(&figures.apply_50.requests), None, 0);
        }
    }
}
