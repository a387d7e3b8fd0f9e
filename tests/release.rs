//! `scripts/release.sh` makes what a registry or a mirror serves, and Terraform installs the
//! provider from it with a fresh `terraform init`, in a directory holding nothing of this
//! repository, then plans against moto.

use std::path::Path;
use std::process::Command;

use scaling_testkit::{repo_root, Mirror, Moto, Workspace, REGION};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn sha256_hex(path: &Path) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, &std::fs::read(path).unwrap());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn terraform_installs_the_release_from_its_mirror_and_plans() {
    let binary = env!("CARGO_BIN_EXE_terraform-provider-scaling");
    let dist = tempfile::tempdir().unwrap();
    let release = Command::new(repo_root().join("scripts/release.sh"))
        .args(["--binary", binary, "--out"])
        .arg(dist.path())
        .output()
        .expect("run scripts/release.sh");
    let said = String::from_utf8_lossy(&release.stdout);
    assert!(release.status.success(), "{said}{}", String::from_utf8_lossy(&release.stderr));
    assert!(said.contains("needs glibc 2."), "says which glibc it needs: {said}");

    // SHA256SUMS covers the zip and the manifest, with their true hashes.
    let zip = format!("terraform-provider-scaling_{VERSION}_linux_amd64.zip");
    let manifest = format!("terraform-provider-scaling_{VERSION}_manifest.json");
    let sums = std::fs::read_to_string(dist.path().join(format!("terraform-provider-scaling_{VERSION}_SHA256SUMS"))).unwrap();
    let expected: String = [&manifest, &zip].iter().map(|n| format!("{}  {n}\n", sha256_hex(&dist.path().join(n)))).collect();
    let sorted = |s: &str| {
        let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&sums), sorted(&expected));
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dist.path().join(manifest)).unwrap()).unwrap();
    assert_eq!(manifest["metadata"]["protocol_versions"], serde_json::json!(["6.0"]));

    // The network mirror's documents name the zip beside them, with its hashes.
    let mirror = dist.path().join("mirror");
    let provider_dir = mirror.join("registry.terraform.io/skillancer/scaling");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(provider_dir.join("index.json")).unwrap()).unwrap();
    assert!(index["versions"][VERSION].is_object(), "{index}");
    let archives: Value = serde_json::from_str(&std::fs::read_to_string(provider_dir.join(format!("{VERSION}.json"))).unwrap()).unwrap();
    let archive = &archives["archives"]["linux_amd64"];
    assert_eq!(archive["url"], zip.as_str());
    let hashes: Vec<&str> = archive["hashes"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert!(hashes.contains(&format!("zh:{}", sha256_hex(&provider_dir.join(&zip))).as_str()), "{hashes:?}");

    // A user's directory: a CLI configuration naming the mirror, and their own configuration.
    let moto = Moto::shared();
    moto.create_source(REGION, "release-production");
    let mut ws = Workspace::new(Mirror::scaling(binary), Some(moto));
    let cli_config = ws.path().join("release.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"skillancer/scaling\"]\n  }}\n  \
             direct {{\n    exclude = [\"skillancer/scaling\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    ws.set_env("TF_CLI_CONFIG_FILE", &cli_config.display().to_string());
    ws.write(
        "resource \"scaling_read_replica\" \"r\" {\n  identifier                    = \"release-replica\"\n  \
         source_db_instance_identifier = \"release-production\"\n  instance_class                = \"db.r6g.large\"\n}\n",
    );
    ws.init();

    // Terraform's own hash of what it installed is the one the mirror documents, and the
    // installed binary is the one packaged.
    let lock = std::fs::read_to_string(ws.path().join(".terraform.lock.hcl")).unwrap();
    let h1 = hashes.iter().find(|h| h.starts_with("h1:")).expect("an h1 hash");
    assert!(lock.contains(h1), "lock file:\n{lock}\nmirror: {hashes:?}");
    let installed = ws.path().join(format!(".terraform/providers/registry.terraform.io/skillancer/scaling/{VERSION}/linux_amd64"));
    let installed = installed.join(format!("terraform-provider-scaling_v{VERSION}"));
    assert_eq!(sha256_hex(&installed), sha256_hex(Path::new(binary)));

    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("scaling_read_replica.r will be created"), "{}", plan.stdout);
}
