//! The RPC edge under input no Terraform sends on purpose: gRPC frames that are truncated,
//! oversized, compressed without an encoding, empty or doubled, and well-formed requests whose
//! values are arbitrary bytes. Every call gets an answer (a gRPC status or diagnostics), the
//! connection and the process carry on, and nothing panics.
//! `PROPTEST_CASES=20000 cargo test -p terraform-provider-scaling --test rpc_edge` runs longer.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use scaling_testkit::host::{ClientIdentity, Plugin};
use terraform_provider_scaling::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_scaling::proto::tfplugin6::*;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};

const METHODS: [&str; 12] = [
    "GetProviderSchema",
    "ValidateProviderConfig",
    "ValidateResourceConfig",
    "ValidateDataResourceConfig",
    "UpgradeResourceState",
    "ConfigureProvider",
    "ReadResource",
    "PlanResourceChange",
    "ApplyResourceChange",
    "ImportResourceState",
    "ReadDataSource",
    "StopProvider",
];

/// The provider as Terraform starts it, with no way to reach a cloud: whatever a fuzzed
/// ConfigureProvider sets, calls fail fast instead of waiting on instance metadata.
struct Subject {
    plugin: Plugin,
    stderr: tempfile::NamedTempFile,
    channel: Channel,
}

impl Subject {
    async fn launch() -> Subject {
        let terraform = ClientIdentity::generate();
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Plugin::command(Path::new(env!("CARGO_BIN_EXE_terraform-provider-scaling")), &terraform, "6");
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env("TF_LOG_PROVIDER", "error")
            .stderr(File::create(stderr.path()).unwrap());
        let plugin = Plugin::launch(cmd);
        let channel = plugin.connect(Some(&terraform)).await.expect("connect");
        Subject { plugin, stderr, channel }
    }

    /// Still serving, and never panicked.
    async fn assert_healthy(&mut self) {
        assert!(self.plugin.child.try_wait().unwrap().is_none(), "the provider exited");
        let schema = ProviderClient::new(self.channel.clone()).get_provider_schema(get_provider_schema::Request {}).await;
        assert!(schema.expect("schema after the abuse").into_inner().resource_schemas.contains_key("scaling_read_replica"));
        let mut log = String::new();
        File::open(self.stderr.path()).unwrap().read_to_string(&mut log).unwrap();
        assert!(!log.contains("panicked"), "the provider panicked:\n{log}");
    }
}

/// One gRPC message frame: compression flag, big-endian length, payload.
fn frame(compressed: bool, declared_len: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(compressed)];
    out.extend_from_slice(&declared_len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Posts `body` as the whole request body of `method` and returns the gRPC status code the
/// provider answered with (from the headers of a trailers-only answer, or the trailers).
async fn raw_call(channel: &mut Channel, method: &str, body: Vec<u8>) -> i32 {
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost/tfplugin6.Provider/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(Full::new(Bytes::from(body))))
        .unwrap();
    let response = channel.ready().await.expect("ready").call(request).await.expect("an HTTP answer, not a broken connection");
    assert_eq!(response.status(), http::StatusCode::OK, "{method}");
    let in_headers = response.headers().get("grpc-status").cloned();
    let collected = response.into_body().collect().await.expect("the whole answer");
    let status = in_headers.or_else(|| collected.trailers().and_then(|t| t.get("grpc-status")).cloned());
    status.expect("a grpc-status").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn malformed_frames_get_a_grpc_status_and_the_provider_serves_on() {
    let mut subject = Subject::launch().await;
    let message = get_provider_schema::Request {};
    let valid = prost::Message::encode_to_vec(&message);
    // (what, body, whether a non-OK status is required)
    let bodies: [(&str, Vec<u8>, bool); 7] = [
        ("truncated", frame(false, 100, &[0x0a; 10]), true),
        ("declares 4 GiB", frame(false, u32::MAX, &[0x0a; 16]), true),
        ("declares 300 MiB, past the 256 MiB limit", frame(false, 300 << 20, &[0x0a; 16]), true),
        ("compressed without grpc-encoding", frame(true, valid.len() as u32, &valid), true),
        ("half a frame header", vec![0, 0, 0], true),
        ("no message at all", Vec::new(), true),
        ("not protobuf", frame(false, 7, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), true),
    ];
    for method in METHODS {
        for (what, body, must_fail) in &bodies {
            let code = raw_call(&mut subject.channel, method, body.clone()).await;
            if *must_fail {
                assert_ne!(code, 0, "{method} with {what} answered OK");
            }
        }
        // Two messages on a unary call: an answer either way, never a hang or a crash.
        let mut doubled = frame(false, valid.len() as u32, &valid);
        doubled.extend(frame(false, valid.len() as u32, &valid));
        raw_call(&mut subject.channel, method, doubled).await;
    }
    subject.assert_healthy().await;
}

/// Arbitrary bytes where Terraform puts msgpack, JSON, private data and ids.
fn dynamic_value() -> impl Strategy<Value = Option<DynamicValue>> {
    prop_oneof![
        Just(None),
        any::<Vec<u8>>().prop_map(|msgpack| Some(DynamicValue { msgpack, json: vec![] })),
        any::<Vec<u8>>().prop_map(|json| Some(DynamicValue { msgpack: vec![], json })),
        // Text that is nearly JSON reaches deeper than random bytes do.
        "[\\[\\]{}\":,0-9a-z_ -]{0,64}".prop_map(|text| Some(DynamicValue { msgpack: vec![], json: text.into_bytes() })),
    ]
}

fn type_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("scaling_read_replica".to_string()),
        Just("scaling_profile".to_string()),
        Just("scaling_redis_shard_config".to_string()),
        Just("scaling_origin_shield".to_string()),
        Just("scaling_capacity".to_string()),
        Just("scaling_connection_pool".to_string()),
        ".{0,24}",
    ]
}

/// One well-formed request, to any RPC, carrying arbitrary values.
#[derive(Debug, Clone)]
enum Fuzzed {
    ValidateProvider(Option<DynamicValue>),
    ValidateResource(String, Option<DynamicValue>),
    Upgrade(String, i64, Vec<u8>),
    Configure(Option<DynamicValue>),
    Read(String, Option<DynamicValue>, Vec<u8>),
    Plan(String, [Option<DynamicValue>; 3], Vec<u8>),
    Apply(String, [Option<DynamicValue>; 3], Vec<u8>),
    Import(String, String),
    ReadData(String, Option<DynamicValue>),
}

fn fuzzed() -> impl Strategy<Value = Fuzzed> {
    let three = || [dynamic_value(), dynamic_value(), dynamic_value()];
    prop_oneof![
        dynamic_value().prop_map(Fuzzed::ValidateProvider),
        (type_name(), dynamic_value()).prop_map(|(t, c)| Fuzzed::ValidateResource(t, c)),
        (type_name(), any::<i64>(), any::<Vec<u8>>()).prop_map(|(t, v, j)| Fuzzed::Upgrade(t, v, j)),
        dynamic_value().prop_map(Fuzzed::Configure),
        (type_name(), dynamic_value(), any::<Vec<u8>>()).prop_map(|(t, s, p)| Fuzzed::Read(t, s, p)),
        (type_name(), three(), any::<Vec<u8>>()).prop_map(|(t, v, p)| Fuzzed::Plan(t, v, p)),
        (type_name(), three(), any::<Vec<u8>>()).prop_map(|(t, v, p)| Fuzzed::Apply(t, v, p)),
        (type_name(), ".{0,40}").prop_map(|(t, id)| Fuzzed::Import(t, id)),
        (type_name(), dynamic_value()).prop_map(|(t, c)| Fuzzed::ReadData(t, c)),
    ]
}

/// Sends one fuzzed request; the provider must answer it (with diagnostics when it cannot use
/// it), not fail the call.
async fn send(client: &mut ProviderClient<Channel>, request: Fuzzed) -> Result<(), tonic::Status> {
    match request {
        Fuzzed::ValidateProvider(config) => client.validate_provider_config(validate_provider_config::Request { config }).await.map(drop),
        Fuzzed::ValidateResource(type_name, config) => {
            client.validate_resource_config(validate_resource_config::Request { type_name, config }).await.map(drop)
        }
        Fuzzed::Upgrade(type_name, version, json) => {
            let raw_state = Some(RawState { json, flatmap: Default::default() });
            client.upgrade_resource_state(upgrade_resource_state::Request { type_name, version, raw_state }).await.map(drop)
        }
        Fuzzed::Configure(config) => {
            client.configure_provider(configure_provider::Request { terraform_version: "1.0.3".into(), config }).await.map(drop)
        }
        Fuzzed::Read(type_name, current_state, private) => {
            client.read_resource(read_resource::Request { type_name, current_state, private, provider_meta: None }).await.map(drop)
        }
        Fuzzed::Plan(type_name, [prior_state, proposed_new_state, config], prior_private) => client
            .plan_resource_change(plan_resource_change::Request {
                type_name,
                prior_state,
                proposed_new_state,
                config,
                prior_private,
                provider_meta: None,
            })
            .await
            .map(drop),
        Fuzzed::Apply(type_name, [prior_state, planned_state, config], planned_private) => client
            .apply_resource_change(apply_resource_change::Request {
                type_name,
                prior_state,
                planned_state,
                config,
                planned_private,
                provider_meta: None,
            })
            .await
            .map(drop),
        Fuzzed::Import(type_name, id) => client.import_resource_state(import_resource_state::Request { type_name, id }).await.map(drop),
        Fuzzed::ReadData(type_name, config) => {
            client.read_data_source(read_data_source::Request { type_name, config, provider_meta: None }).await.map(drop)
        }
    }
}

#[test]
fn arbitrary_values_in_well_formed_requests_get_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut subject = runtime.block_on(Subject::launch());
    let client = ProviderClient::new(subject.channel.clone());
    TestRunner::default()
        .run(&fuzzed(), |request| {
            let shown = format!("{request:?}");
            runtime.block_on(send(&mut client.clone(), request)).map_err(|status| TestCaseError::fail(format!("{shown}: {status}")))
        })
        .unwrap();
    runtime.block_on(subject.assert_healthy());
}
