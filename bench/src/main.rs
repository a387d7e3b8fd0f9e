//! `scripts/bench.sh` runs this: medians for our provider and, measured in the same run on
//! the same machine, HashiCorp's null provider 2.1.2 (the lightest Go provider there is).
//!
//! - cold start: spawn to the go-plugin handshake line on stdout;
//! - GetProviderSchema latency over an established mutual-TLS connection;
//! - idle RSS after the handshake and one schema request;
//! - `terraform plan` wall time with 50 resources in state (50 replicas against moto for us,
//!   50 `null_resource`s for the reference), and AWS API requests per plan.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use scaling_testkit::host::{ClientIdentity, Plugin};
use scaling_testkit::{repo_root, tool, Mirror, Moto, Workspace, REGION};
use terraform_provider_scaling::proto::tfplugin6::get_provider_schema;
use tonic::codegen::http::uri::PathAndQuery;

const RESOURCES: usize = 50;

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
    plan_s: Vec<f64>,
    api_requests_per_plan: Vec<f64>,
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

fn measure_plan(ws: &Workspace, moto: Option<&Moto>, runs: usize, figures: &mut Figures) {
    ws.init();
    ws.apply();
    for _ in 0..runs {
        let before = moto.map(Moto::api_requests);
        let started = Instant::now();
        let plan = ws.plan();
        figures.plan_s.push(started.elapsed().as_secs_f64());
        assert_eq!(plan.code, 0, "benchmark plan must be clean:\n{}", plan.all());
        if let (Some(m), Some(b)) = (moto, before) {
            figures.api_requests_per_plan.push((m.api_requests() - b) as f64);
        }
    }
}

fn row(label: &str, ours: Option<f64>, reference: Option<f64>, decimals: usize) {
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.decimals$}"));
    let ratio = match (ours, reference) {
        (Some(o), Some(r)) if r > 0.0 => format!("{:.2}x", o / r),
        _ => "-".into(),
    };
    println!("{label:<44} {:>12} {:>12} {:>8}", cell(ours), cell(reference), ratio);
}

fn main() {
    let process_runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    let plan_runs: usize = std::env::var("BENCH_PLAN_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
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

    let moto = Moto::start();
    let source = "bench-production";
    moto.create_source(REGION, source);
    let our_mirror = Mirror::new(&[("skillancer/scaling", "0.1.0", &ours.binary)]);
    let our_ws = Workspace::new(&our_mirror, None);
    let replicas: String = (0..RESOURCES)
        .map(|i| {
            format!(
                "resource \"scaling_read_replica\" \"r{i}\" {{\n  identifier = \"bench-replica-{i}\"\n  \
                 source_db_instance_identifier = \"{source}\"\n  instance_class = \"db.r6g.large\"\n}}\n"
            )
        })
        .collect();
    our_ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    scaling = {{ source = \"skillancer/scaling\" }}\n  }}\n}}\n\
         provider \"scaling\" {{\n  region = \"{REGION}\"\n  endpoints {{\n    rds = \"{}\"\n  }}\n}}\n{replicas}",
        moto.endpoint()
    ));
    let null_mirror = Mirror::new(&[("hashicorp/null", "2.1.2", Path::new(&null.binary))]);
    let null_ws = Workspace::new(&null_mirror, None);
    let nulls: String = (0..RESOURCES).map(|i| format!("resource \"null_resource\" \"n{i}\" {{}}\n")).collect();
    null_ws.write_raw(&format!(
        "terraform {{\n  required_providers {{\n    null = {{ source = \"hashicorp/null\", version = \"2.1.2\" }}\n  }}\n}}\n{nulls}"
    ));
    measure_plan(&our_ws, Some(&moto), plan_runs, &mut our_figures);
    measure_plan(&null_ws, None, plan_runs, &mut null_figures);

    println!();
    println!("medians: {process_runs} process starts, 60 schema requests, {plan_runs} plans of {RESOURCES} resources");
    println!("{:<44} {:>12} {:>12} {:>8}", "metric", ours.name, null.name, "ratio");
    row("cold start to handshake line (ms)", median(&our_figures.handshake_ms), median(&null_figures.handshake_ms), 2);
    row("GetProviderSchema latency (ms)", median(&our_figures.schema_ms), median(&null_figures.schema_ms), 3);
    row("idle RSS after handshake + schema (MiB)", median(&our_figures.rss_mib), median(&null_figures.rss_mib), 1);
    row(&format!("terraform plan, {RESOURCES} resources in state (s)"), median(&our_figures.plan_s), median(&null_figures.plan_s), 2);
    row(&format!("AWS API requests per plan ({RESOURCES} replicas)"), median(&our_figures.api_requests_per_plan), None, 0);
}
