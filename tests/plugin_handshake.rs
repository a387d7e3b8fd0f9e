//! The plugin edge, driven as Terraform drives it: go-plugin's environment, the handshake
//! line, mutual TLS with a P-521 client certificate, StopProvider and the controller's Shutdown.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scaling_testkit::host::{ClientIdentity, Plugin, PluginAddr, MAGIC_COOKIE};
use terraform_provider_scaling::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_scaling::proto::plugin::Empty;
use terraform_provider_scaling::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_scaling::proto::tfplugin6::{get_provider_schema, stop_provider};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_terraform-provider-scaling"))
}

fn bare() -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_clear().stdin(Stdio::null());
    cmd
}

#[test]
fn without_the_cookie_it_explains_itself() {
    let out = bare().output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("This binary is a plugin"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout without a handshake");
}

#[test]
fn refuses_to_serve_without_mutual_tls() {
    let out = bare().env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE).env("PLUGIN_PROTOCOL_VERSIONS", "5,6").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mutual TLS"));
}

#[test]
fn refuses_protocol_five_only() {
    let out = Plugin::command(binary(), &ClientIdentity::generate(), "5").stderr(Stdio::piped()).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[tokio::test]
async fn terraforms_certificate_is_accepted_and_any_other_refused() {
    let terraform = ClientIdentity::generate();
    let stranger = ClientIdentity::generate();
    let mut cmd = Plugin::command(binary(), &terraform, "5,6");
    cmd.env("PLUGIN_MIN_PORT", "41000").env("PLUGIN_MAX_PORT", "41999");
    let plugin = Plugin::launch(cmd);
    assert_eq!(plugin.protocol_version, 6);
    let PluginAddr::Tcp(addr) = plugin.addr else { panic!("expected TCP, got {:?}", plugin.addr) };
    assert!(addr.ip().is_loopback(), "must listen on loopback only: {addr}");
    assert!((41000..=41999).contains(&addr.port()), "port must honour PLUGIN_MIN_PORT/PLUGIN_MAX_PORT");

    let channel = plugin.connect(Some(&terraform)).await.expect("Terraform's certificate is accepted");
    let schema = ProviderClient::new(channel).get_provider_schema(get_provider_schema::Request {}).await.expect("schema").into_inner();
    assert!(schema.resource_schemas.contains_key("scaling_read_replica"));
    assert!(schema.diagnostics.is_empty());

    for (who, identity) in [("a different certificate", Some(&stranger)), ("no certificate", None)] {
        let refused = match plugin.connect(identity).await {
            Err(_) => true,
            // A TLS 1.3 client learns of the refusal on first use.
            Ok(ch) => ProviderClient::new(ch).get_provider_schema(get_provider_schema::Request {}).await.is_err(),
        };
        assert!(refused, "a client with {who} must be refused");
    }
}

#[tokio::test]
async fn stop_answers_and_shutdown_exits_cleanly() {
    let terraform = ClientIdentity::generate();
    let mut plugin = Plugin::launch(Plugin::command(binary(), &terraform, "5,6"));
    let channel = plugin.connect(Some(&terraform)).await.unwrap();
    let stop = ProviderClient::new(channel.clone()).stop_provider(stop_provider::Request {}).await.unwrap().into_inner();
    assert_eq!(stop.error, "");
    GrpcControllerClient::new(channel).shutdown(Empty {}).await.unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            assert!(status.success(), "provider must exit 0 after Shutdown, got {status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "provider did not exit after Shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
