//! Writes the registry docs: `cargo run -p scaling-docs [REPOSITORY_ROOT]` renders
//! `docs/index.md` and `docs/resources/` from `schema/published/scaling.json` and `examples/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(workspace_root);
    let written = scaling_docs::render_repository(&root).and_then(|pages| scaling_docs::write(&root, &pages).map(|()| pages));
    match written {
        Ok(pages) => {
            for path in pages.keys() {
                println!("{path}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("scaling-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace this tool was built in, so that `cargo run` works from any directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("docs-gen/ sits in the workspace root").to_path_buf()
}
