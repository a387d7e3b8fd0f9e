//! The registry docs (`docs/index.md`, `docs/resources/`) are what `scaling-docs` renders from
//! `schema/published/scaling.json` and the examples; a test fails when they are stale.
//! Regenerate them with `UPDATE_REGISTRY_DOCS=1 cargo test -p terraform-provider-scaling --test registry_docs`
//! (or `cargo run -p scaling-docs`). Every example (those the docs show, the quickstart, the
//! modules and the environments) passes `terraform fmt -check` and `terraform validate` with
//! the real terraform and this provider.

use std::path::{Path, PathBuf};

use scaling_testkit::{repo_root, Mirror, Workspace};

const REGENERATE: &str = "UPDATE_REGISTRY_DOCS=1 cargo test -p terraform-provider-scaling --test registry_docs";

/// Declares the provider for examples that show only resources, as a registry reader's own
/// configuration would.
const REQUIRED_PROVIDERS: &str = "terraform {\n  required_providers {\n    scaling = { source = \"skillancer/scaling\" }\n  }\n}\n";

#[test]
fn registry_docs_are_current() {
    let root = repo_root();
    let pages = scaling_docs::render_repository(&root).unwrap_or_else(|e| panic!("cannot render the registry docs: {e}"));
    if std::env::var_os("UPDATE_REGISTRY_DOCS").is_some() {
        scaling_docs::write(&root, &pages).unwrap_or_else(|e| panic!("cannot write the registry docs: {e}"));
        return;
    }
    let differences = scaling_docs::compare(&root, &pages).unwrap_or_else(|e| panic!("cannot compare the registry docs: {e}"));
    let listed: Vec<String> = differences.iter().map(|d| format!("  {d}")).collect();
    assert!(differences.is_empty(), "the registry docs are stale:\n{}\nregenerate them with {REGENERATE}", listed.join("\n"));
}

#[test]
fn every_documented_example_is_formatted_and_valid() {
    let mirror = Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling"));
    let dirs = example_dirs();
    assert!(dirs.len() > 1, "no resource examples found: {dirs:?}");
    let failures: Vec<String> = dirs.iter().filter_map(|dir| check_example(mirror, dir).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `examples/provider`, one directory per resource (and data source, once there are any), and
/// the other examples: the quickstart, the modules and the environments using them.
fn example_dirs() -> Vec<PathBuf> {
    let examples = repo_root().join(scaling_docs::EXAMPLES_DIR);
    let mut dirs = vec![examples.join("provider"), examples.join("quickstart")];
    for kind in ["resources", "data-sources", "modules", "environments"] {
        let Ok(entries) = std::fs::read_dir(examples.join(kind)) else { continue };
        let mut found: Vec<PathBuf> = entries.map(|e| e.expect("example directory entry").path()).filter(|p| p.is_dir()).collect();
        found.sort();
        dirs.extend(found);
    }
    dirs
}

/// fmt, then init (without the backend an environment keeps its state in) and validate, in a
/// workspace of the example's own holding all of `examples/` (environments use modules by
/// relative path); an error says which example failed and how.
fn check_example(mirror: &'static Mirror, dir: &Path) -> Result<(), String> {
    let examples = repo_root().join(scaling_docs::EXAMPLES_DIR);
    let name = dir.strip_prefix(repo_root()).unwrap_or(dir).display().to_string();
    let mut ws = Workspace::new(mirror, None);
    ws.copy_in(&examples, "examples");
    ws.chdir(&format!("examples/{}", dir.strip_prefix(&examples).expect("an example directory").display()));
    // Before adding anything, so that only the example's own files are checked.
    terraform(&ws, &name, &["fmt", "-check", "-diff", "-no-color"])?;
    if !tf_files(dir).iter().any(|f| read(f).contains("required_providers")) {
        std::fs::write(ws.path().join("versions.tf"), REQUIRED_PROVIDERS).expect("write versions.tf");
    }
    terraform(&ws, &name, &["init", "-no-color", "-input=false", "-backend=false"])?;
    terraform(&ws, &name, &["validate", "-no-color"])?;
    check_imports(dir, &name)
}

/// `examples/co-owned`: each aws_* owner ignores exactly what its scaling_* resource manages,
/// as the docs say. The AWS provider cannot be installed here, so the whole directory is
/// checked by `terraform fmt`, and our half by `validate`, with the owners replaced by the
/// names they would give.
#[test]
fn the_co_owned_example_keeps_each_owner_off_what_scaling_manages() {
    let example = repo_root().join(scaling_docs::EXAMPLES_DIR).join("co-owned");
    let owners = read(&example.join("owners.tf"));
    for (owner, ignored) in [
        ("aws_db_instance", "ignore_changes = [instance_class]"),
        ("aws_elasticache_replication_group", "ignore_changes = [num_node_groups, replicas_per_node_group, node_type]"),
        ("aws_eks_node_group", "ignore_changes = [scaling_config]"),
        ("aws_cloudfront_distribution", "ignore_changes = [origin]"),
    ] {
        let block = owners.split(&format!("resource \"{owner}\"")).nth(1).unwrap_or_else(|| panic!("owners.tf declares no {owner}"));
        let block = block.split("\nresource ").next().unwrap_or_default();
        assert!(block.contains(ignored), "{owner} must have {ignored}");
    }
    let mirror = Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling"));
    let mut ws = Workspace::new(mirror, None);
    ws.copy_in(&example, "co-owned");
    ws.chdir("co-owned");
    terraform(&ws, "examples/co-owned", &["fmt", "-check", "-diff", "-no-color"]).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(ws.path().join("owners.tf")).expect("remove owners.tf");
    let names = "locals {\n  db_instance_identifier = \"skillancer-production\"\n  replication_group_id   = \"skillancer-redis\"\n  \
                 cluster_name           = \"skillancer\"\n  node_group_name        = \"production-workers\"\n  \
                 distribution_id        = \"E2QWRUHAPOMQZL\"\n}\n";
    std::fs::write(ws.path().join("owners.tf"), format!("{REQUIRED_PROVIDERS}{names}")).expect("write the owners' names");
    terraform(&ws, "examples/co-owned", &["init", "-no-color", "-input=false", "-backend=false"]).unwrap_or_else(|e| panic!("{e}"));
    terraform(&ws, "examples/co-owned", &["validate", "-no-color"]).unwrap_or_else(|e| panic!("{e}"));
}

fn terraform(ws: &Workspace, example: &str, args: &[&str]) -> Result<(), String> {
    let out = ws.tf(args);
    if out.code == 0 {
        Ok(())
    } else {
        Err(format!("{example}: terraform {} exited {}:\n{}", args.join(" "), out.code, out.all()))
    }
}

/// Each `terraform import ADDRESS ID` in `import.sh` (commented alternatives too) names a
/// resource of the directory's type that `resource.tf` declares.
fn check_imports(dir: &Path, example: &str) -> Result<(), String> {
    let import_sh = dir.join("import.sh");
    if !import_sh.exists() {
        return Ok(());
    }
    let resource_type = dir.file_name().expect("example directory name").to_string_lossy().into_owned();
    let declared = read(&dir.join("resource.tf"));
    let script = read(&import_sh);
    let addresses: Vec<&str> = script
        .lines()
        .filter_map(|line| line.trim_start_matches(['#', ' ']).strip_prefix("terraform import "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    if addresses.is_empty() {
        return Err(format!("{example}/import.sh has no `terraform import` line"));
    }
    for address in addresses {
        let declaration = match address.split_once('.') {
            Some((ty, name)) if ty == resource_type => format!("resource \"{ty}\" \"{name}\""),
            _ => return Err(format!("{example}/import.sh imports {address}, not a {resource_type}")),
        };
        if !declared.contains(&declaration) {
            return Err(format!("{example}/import.sh imports {address}, which resource.tf does not declare"));
        }
    }
    Ok(())
}

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries.map(|e| e.expect("example file").path()).filter(|p| p.extension().is_some_and(|x| x == "tf")).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every HCL block in the README, pasted alone into a directory, passes `terraform fmt -check`
/// and, with the README's own `required_providers` block beside it, `terraform validate`. The
/// CLI configuration (`provider_installation`) is no module: it is checked by fmt and by being
/// the CLI configuration of a `terraform version`.
#[test]
fn every_hcl_block_in_the_readme_is_formatted_and_valid() {
    let readme = read(&repo_root().join("README.md"));
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((start, line)) = lines.next() {
        if line.trim_end() == "```hcl" {
            let body: Vec<&str> = lines.by_ref().map(|(_, l)| l).take_while(|l| l.trim_end() != "```").collect();
            blocks.push((start + 1, body.join("\n") + "\n"));
        }
    }
    let required: Vec<&(usize, String)> = blocks.iter().filter(|(_, b)| b.contains("required_providers")).collect();
    assert_eq!(required.len(), 1, "the README shows required_providers once: {:?}", required.iter().map(|(l, _)| l).collect::<Vec<_>>());
    assert!(required[0].1.contains("source  = \"skillancer/scaling\""), "{}", required[0].1);
    let (top, versions) = (required[0].0, required[0].1.clone());
    assert!(blocks.iter().all(|(line, _)| *line >= top), "required_providers comes before every other block");

    let mirror = Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling"));
    let mut failures = Vec::new();
    for (line, block) in &blocks {
        let name = format!("README.md line {line}");
        let ws = Workspace::new(mirror, None);
        let checked = (|| {
            if block.contains("provider_installation") {
                // fmt reads .tf files only; the syntax is the same.
                std::fs::write(ws.path().join("cli.tf"), block).unwrap();
                terraform(&ws, &name, &["fmt", "-check", "-diff", "-no-color", "cli.tf"])?;
                let mut version = ws.command(&["version"]);
                version.env("TF_CLI_CONFIG_FILE", ws.path().join("cli.tf"));
                let out = ws.run(version);
                return if out.code == 0 && !out.stderr.contains("Error") { Ok(()) } else { Err(format!("{name}: {}", out.all())) };
            }
            ws.write_raw(block);
            terraform(&ws, &name, &["fmt", "-check", "-diff", "-no-color"])?;
            if !block.contains("required_providers") {
                std::fs::write(ws.path().join("versions.tf"), &versions).unwrap();
            }
            terraform(&ws, &name, &["init", "-no-color", "-input=false", "-backend=false"])?;
            terraform(&ws, &name, &["validate", "-no-color"])
        })();
        if let Err(e) = checked {
            failures.push(e);
        }
    }
    assert!(blocks.len() >= 10, "{} HCL blocks found", blocks.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
