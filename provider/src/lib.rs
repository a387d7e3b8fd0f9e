//! terraform-provider-scaling: the scaling runbook as Terraform resources.

pub mod aws;
pub mod clients;
pub mod config;
pub mod data_sources;
pub mod error_chain;
pub mod framework;
pub mod kube;
pub mod plugin;
pub mod proto;
pub mod reads;
pub mod resources;
pub mod server;
pub mod stop;

use std::sync::Arc;

/// The provider with every resource and data source registered.
pub fn provider_server() -> Arc<framework::ProviderServer<config::ScalingProvider>> {
    Arc::new(framework::ProviderServer::new(config::ScalingProvider, resources::all(), data_sources::all()))
}

#[cfg(test)]
mod layout {
    /// The layers hold: nothing under aws/, kube/ or reads/ names what sits above them, so no
    /// import cycle runs through them (clients.rs builds on them, the resources on all).
    #[test]
    fn the_backend_modules_import_nothing_above_them() {
        let above: Vec<String> =
            ["resources", "data_sources", "clients", "config", "server"].iter().map(|m| format!("crate::{m}")).collect();
        let mut found = Vec::new();
        for layer in ["aws", "kube", "reads"] {
            let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer)];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).expect("source directory") {
                    let path = entry.expect("entry").path();
                    if path.is_dir() {
                        dirs.push(path);
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).expect("source file");
                    for (n, line) in text.lines().enumerate() {
                        if above.iter().any(|a| line.contains(a.as_str())) && !line.trim_start().starts_with("//") {
                            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        assert!(found.is_empty(), "aws/, kube/ and reads/ must not import from above them:\n{}", found.join("\n"));
    }

    /// Resources and data sources share through aws/, kube/ and resources/mod.rs (adopt,
    /// the checks every resource makes), never through each other's modules.
    #[test]
    fn resources_and_data_sources_do_not_import_each_other() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let resources: Vec<String> = std::fs::read_dir(src.join("resources"))
            .expect("src/resources")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let mut found = Vec::new();
        let mut check = |path: &std::path::Path, own: Option<&str>| {
            let text = std::fs::read_to_string(path).expect("source file");
            for (n, line) in text.lines().enumerate() {
                let other = resources
                    .iter()
                    .filter(|r| Some(r.as_str()) != own)
                    .find(|r| line.contains(&format!("crate::resources::{r}")) || line.contains(&format!("super::{r}::")));
                if let Some(r) = other.filter(|_| !line.trim_start().starts_with("//")) {
                    found.push(format!("{}:{}: imports {r}: {}", path.display(), n + 1, line.trim()));
                }
            }
        };
        for resource in &resources {
            for entry in std::fs::read_dir(src.join("resources").join(resource)).expect("resource directory") {
                check(&entry.expect("entry").path(), Some(resource));
            }
        }
        for entry in std::fs::read_dir(src.join("data_sources")).expect("src/data_sources") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                check(&path, None);
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
