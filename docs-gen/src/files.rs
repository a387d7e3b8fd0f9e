//! Rendered pages against the files in a repository: what differs, and writing them.

use std::fmt;
use std::io::ErrorKind;
use std::path::Path;

use crate::{render, DocsError, Pages};

/// The schema the docs document, relative to the repository root.
pub const SCHEMA_FILE: &str = "schema/published/scaling.json";
/// Where the examples the pages show live, relative to the repository root.
pub const EXAMPLES_DIR: &str = "examples";
/// The folders whose pages are all generated. `docs/` itself also holds hand-written notes
/// (`docs/moto-facts.md`), so only `docs/index.md` is generated there.
const GENERATED_DIRS: [&str; 2] = ["docs/resources", "docs/data-sources"];

/// Renders the pages of the repository at `root` from its published schema and examples.
pub fn render_repository(root: &Path) -> Result<Pages, DocsError> {
    let schema_path = root.join(SCHEMA_FILE);
    let schema = std::fs::read_to_string(&schema_path).map_err(|e| DocsError::io("read the schema", &schema_path, &e))?;
    render(&schema, &root.join(EXAMPLES_DIR))
}

/// How a file on disk differs from the rendered pages.
#[derive(Debug, PartialEq, Eq)]
pub enum Difference {
    Missing(String),
    Stale(String),
    /// A page in a generated folder that nothing renders any more (a resource renamed, say).
    Unexpected(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing(path) => write!(f, "{path} is missing"),
            Difference::Stale(path) => write!(f, "{path} differs from what the schema and examples render"),
            Difference::Unexpected(path) => write!(f, "{path} is not rendered from anything"),
        }
    }
}

/// Every way the files under `root` differ from `pages`; empty when the docs are current.
pub fn compare(root: &Path, pages: &Pages) -> Result<Vec<Difference>, DocsError> {
    let mut differences = Vec::new();
    for (relative, rendered) in pages {
        let path = root.join(relative);
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == *rendered => {}
            Ok(_) => differences.push(Difference::Stale(relative.clone())),
            Err(e) if e.kind() == ErrorKind::NotFound => differences.push(Difference::Missing(relative.clone())),
            Err(e) => return Err(DocsError::io("read", &path, &e)),
        }
    }
    for relative in generated_pages_on_disk(root)? {
        if !pages.contains_key(&relative) {
            differences.push(Difference::Unexpected(relative));
        }
    }
    Ok(differences)
}

/// Writes `pages` under `root` and removes the generated pages nothing renders any more.
pub fn write(root: &Path, pages: &Pages) -> Result<(), DocsError> {
    for relative in generated_pages_on_disk(root)? {
        if !pages.contains_key(&relative) {
            let path = root.join(&relative);
            std::fs::remove_file(&path).map_err(|e| DocsError::io("remove", &path, &e))?;
        }
    }
    for (relative, contents) in pages {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| DocsError::io("create", parent, &e))?;
        }
        std::fs::write(&path, contents).map_err(|e| DocsError::io("write", &path, &e))?;
    }
    Ok(())
}

/// The `.md` files in the generated folders, as paths from `root`.
fn generated_pages_on_disk(root: &Path) -> Result<Vec<String>, DocsError> {
    let mut found = Vec::new();
    for dir in GENERATED_DIRS {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(DocsError::io("list", &root.join(dir), &e)),
        };
        for entry in entries {
            let name = entry.map_err(|e| DocsError::io("list", &root.join(dir), &e))?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".md") {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory under the system temporary folder, removed when dropped.
    struct ScratchDir(std::path::PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> ScratchDir {
            let path = std::env::temp_dir().join(format!("scaling-docs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            ScratchDir(path)
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn write_then_compare_finds_nothing_and_removes_pages_nothing_renders() {
        let root = ScratchDir::new("write");
        std::fs::create_dir_all(root.0.join("docs/resources")).unwrap();
        std::fs::write(root.0.join("docs/resources/renamed.md"), "old").unwrap();
        std::fs::write(root.0.join("docs/notes.md"), "hand-written").unwrap();
        let pages = Pages::from([
            ("docs/index.md".to_string(), "index\n".to_string()),
            ("docs/resources/thing.md".to_string(), "thing\n".to_string()),
        ]);

        let before = compare(&root.0, &pages).unwrap();
        assert_eq!(
            before,
            [
                Difference::Missing("docs/index.md".into()),
                Difference::Missing("docs/resources/thing.md".into()),
                Difference::Unexpected("docs/resources/renamed.md".into()),
            ]
        );

        write(&root.0, &pages).unwrap();
        assert_eq!(compare(&root.0, &pages).unwrap(), []);
        assert!(!root.0.join("docs/resources/renamed.md").exists());
        assert!(root.0.join("docs/notes.md").exists(), "hand-written docs stay");

        std::fs::write(root.0.join("docs/index.md"), "edited by hand\n").unwrap();
        assert_eq!(compare(&root.0, &pages).unwrap(), [Difference::Stale("docs/index.md".into())]);
    }
}
