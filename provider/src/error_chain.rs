//! An error with every cause after it, as one line: the SDKs' top-level messages ("client
//! error (Connect)") say little until their sources are read.

pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        // Wrappers often repeat their source's text; say each thing once.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Whether `e` or anything that caused it satisfies `test`.
pub fn caused_by(e: &(dyn std::error::Error + 'static), test: impl Fn(&(dyn std::error::Error + 'static)) -> bool) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if test(e) {
            return true;
        }
        next = e.source();
    }
    false
}

/// A call ended by Terraform's stop (provider/src/stop.rs), not by its backend.
pub fn stopped(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(e, |e| e.is::<crate::stop::Stopped>())
}

/// `text` without its closing period, to go on a sentence of its own ("{}. Try again."): error
/// messages end with one or not, and a message should not say "..".
pub fn clause(text: &str) -> &str {
    text.trim_end().trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clause_has_no_closing_period() {
        assert_eq!(super::clause("the object has been modified."), "the object has been modified");
        assert_eq!(super::clause("no period"), "no period");
    }
}
