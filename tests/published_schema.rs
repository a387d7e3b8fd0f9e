//! `schema/published/scaling.json` is the provider's schema exactly as Terraform reports it
//! (`terraform providers schema -json`). This test fails when the file is stale; regenerate it
//! with `UPDATE_PUBLISHED_SCHEMA=1 cargo test -p terraform-provider-scaling --test published_schema`.

use scaling_testkit::{repo_root, Mirror, Workspace};

#[test]
fn published_schema_is_current() {
    let ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.write("");
    ws.init();
    let out = ws.ok(&["providers", "schema", "-json"]);
    let all: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema JSON");
    let ours = &all["provider_schemas"]["registry.terraform.io/skillancer/scaling"];
    assert!(ours.is_object(), "terraform did not report our provider: {}", out.stdout);
    let rendered = serde_json::to_string_pretty(ours).expect("render") + "\n";

    let path = repo_root().join("schema/published/scaling.json");
    if std::env::var_os("UPDATE_PUBLISHED_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == rendered,
        "{} is stale; regenerate it with UPDATE_PUBLISHED_SCHEMA=1 cargo test -p terraform-provider-scaling --test published_schema",
        path.display()
    );
}
