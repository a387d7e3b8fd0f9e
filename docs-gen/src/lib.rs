//! The provider's registry documentation, in the layout the Terraform registry reads
//! (`docs/index.md`, `docs/resources/<name>.md`, `docs/data-sources/<name>.md`) and in the
//! shape tfplugindocs gives it: rendered from `schema/published/scaling.json`, which is what
//! the provider serves, and the examples under `examples/provider`, `examples/resources` and
//! `examples/data-sources`.
//!
//! [`render`] is pure rendering; [`render_repository`], [`compare`] and [`write`] are the file
//! side that the `scaling-docs` binary and the staleness test (`tests/registry_docs.rs`) share.

use std::collections::BTreeMap;

mod error;
mod files;
mod pages;
mod schema;
mod schema_markdown;

pub use error::DocsError;
pub use files::{compare, render_repository, write, Difference, EXAMPLES_DIR, SCHEMA_FILE};
pub use pages::render;

/// Rendered pages: path from the repository root (`docs/resources/read_replica.md`) to contents.
pub type Pages = BTreeMap<String, String>;

/// The provider's type name, the prefix of its resource type names.
pub const PROVIDER_NAME: &str = "scaling";

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The published schema renders, and each page's replacement sentence names what the
    /// README says replaces (the schema model appends "forces a new resource" to those).
    #[test]
    fn the_published_schema_renders_and_says_what_replaces() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let schema = std::fs::read_to_string(root.join(crate::SCHEMA_FILE)).unwrap();
        let pages = crate::pages::render_with(&schema, |_| Ok("# example\n".into())).unwrap();
        let replacing = [
            (
                "read_replica",
                &["identifier", "source_db_instance_identifier", "availability_zone", "kms_key_id", "db_subnet_group_name"][..],
            ),
            ("profile", &["namespace", "name"]),
            ("redis_shard_config", &["replication_group_id"]),
            ("origin_shield", &["distribution_id", "origin_id"]),
        ];
        for (page, names) in replacing {
            let page = &pages[&format!("docs/resources/{page}.md")];
            let sentence = page.lines().find(|l| l.starts_with("Changing ") && l.contains("forces a new resource")).expect(page);
            for name in names {
                assert!(sentence.contains(&format!("`{name}`")), "{name} missing from: {sentence}");
            }
        }
    }
}
