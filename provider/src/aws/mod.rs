//! Everything the provider asks AWS, one module per service, below the resources: errors
//! classified once (`error`), name shapes checked at plan (`names`), and per service the
//! look-ups (coalesced, and shared by a refresh) and the waits on what the service reports.
//! Nothing here knows a resource: a wait gets its look-ups and Terraform's stop signal from
//! its caller.

pub mod cloudfront;
pub mod elasticache;
pub mod error;
pub mod names;
pub mod rds;

#[cfg(test)]
mod tests {
    /// The layer holds: nothing under aws/ names what sits above it, so no import cycle runs
    /// through it (clients.rs builds on these modules, the resources on both).
    #[test]
    fn nothing_here_reaches_up_into_the_resources_or_the_client_hub() {
        let above: Vec<String> =
            ["resources", "data_sources", "clients", "config", "server"].iter().map(|m| format!("crate::{m}")).collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/aws") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("source file");
            for (n, line) in text.lines().enumerate() {
                if above.iter().any(|a| line.contains(a.as_str())) && !line.trim_start().starts_with("//") {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "aws/ must not import from above it:\n{}", found.join("\n"));
    }
}
