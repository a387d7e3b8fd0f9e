use std::fmt;
use std::path::Path;

/// Why the docs could not be rendered or written: a schema this tool cannot document, a
/// missing example, a file that cannot be read or written. The message names the culprit.
#[derive(Debug)]
pub struct DocsError(String);

impl DocsError {
    pub(crate) fn new(message: impl Into<String>) -> DocsError {
        DocsError(message.into())
    }

    pub(crate) fn io(action: &str, path: &Path, error: &std::io::Error) -> DocsError {
        DocsError(format!("cannot {action} {}: {error}", path.display()))
    }
}

impl fmt::Display for DocsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DocsError {}
