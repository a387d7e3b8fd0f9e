//! terraform-provider-scaling: the scaling runbook as Terraform resources.

pub mod aws;
pub mod batch;
pub mod clients;
pub mod config;
pub mod data_sources;
pub mod error_chain;
pub mod framework;
pub mod kube;
pub mod plugin;
pub mod proto;
pub mod refresh;
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
    /// The layers hold: nothing under aws/ or kube/ names what sits above them, so no import
    /// cycle runs through them (clients.rs builds on them, the resources on both).
    #[test]
    fn the_backend_modules_import_nothing_above_them() {
        let above: Vec<String> =
            ["resources", "data_sources", "clients", "config", "server"].iter().map(|m| format!("crate::{m}")).collect();
        let mut found = Vec::new();
        for layer in ["aws", "kube"] {
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
        assert!(found.is_empty(), "aws/ and kube/ must not import from above them:\n{}", found.join("\n"));
    }
}
