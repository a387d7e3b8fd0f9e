//! The `[pgbouncer]` section of a PgBouncer ini file, read and rewritten line by line: only the
//! lines of the settings this resource owns change; every other line, comment, blank line and
//! section stays byte for byte as it was. PgBouncer's format: `[section]` headers, `name = value`
//! lines, comments starting with `;` or `#`, names case-insensitive.

use std::collections::BTreeMap;

const SECTION: &str = "pgbouncer";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    #[error("it has no [pgbouncer] section")]
    NoSection,
}

/// What a line is.
enum Line<'a> {
    Section(&'a str),
    Setting { name: &'a str, value: &'a str },
    Other,
}

fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
        return Line::Other;
    }
    if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return Line::Section(name.trim());
    }
    match trimmed.split_once('=') {
        Some((name, value)) => Line::Setting { name: name.trim(), value: value.trim() },
        None => Line::Other,
    }
}

/// The lines of `text`, each with its line ending, and the range of the `[pgbouncer]` section's
/// body (after its header, up to the next header or the end).
fn section_span(text: &str) -> Result<(Vec<&str>, usize, usize), IniError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start =
        lines.iter().position(|l| matches!(classify(l), Line::Section(s) if s.eq_ignore_ascii_case(SECTION))).ok_or(IniError::NoSection)?
            + 1;
    let end = lines[start..].iter().position(|l| matches!(classify(l), Line::Section(_))).map_or(lines.len(), |n| start + n);
    Ok((lines, start, end))
}

/// The settings of the `[pgbouncer]` section, names lowercased; a name set twice takes the
/// last value, as PgBouncer does.
pub fn settings(text: &str) -> Result<BTreeMap<String, String>, IniError> {
    let (lines, start, end) = section_span(text)?;
    let mut found = BTreeMap::new();
    for line in &lines[start..end] {
        if let Line::Setting { name, value } = classify(line) {
            found.insert(name.to_ascii_lowercase(), value.to_string());
        }
    }
    Ok(found)
}

/// `text` with each of `wanted` (lowercase name => value) set in the `[pgbouncer]` section:
/// the last line setting it is rewritten in place (its indentation kept), and a setting not
/// there yet is added after the section's last setting.
pub fn rewrite(text: &str, wanted: &BTreeMap<String, String>) -> Result<String, IniError> {
    let (lines, start, end) = section_span(text)?;
    let mut last_line_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_setting = start;
    for (i, line) in lines.iter().enumerate().take(end).skip(start) {
        if let Line::Setting { name, .. } = classify(line) {
            last_line_of.insert(name.to_ascii_lowercase(), i);
            last_setting = i + 1;
        }
    }
    let ending = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in lines.iter().enumerate() {
        if i == last_setting {
            for (name, value) in wanted.iter().filter(|(name, _)| !last_line_of.contains_key(*name)) {
                out.push_str(&format!("{name} = {value}{ending}"));
            }
        }
        let owned = last_line_of.iter().find(|(name, at)| **at == i && wanted.contains_key(*name)).map(|(name, _)| name);
        match owned {
            Some(name) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                let had_ending = if line.ends_with("\r\n") {
                    "\r\n"
                } else if line.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                out.push_str(&format!("{indent}{name} = {}{had_ending}", wanted[name]));
            }
            None => out.push_str(line),
        }
    }
    if last_setting == lines.len() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(ending);
        }
        for (name, value) in wanted.iter().filter(|(name, _)| !last_line_of.contains_key(*name)) {
            out.push_str(&format!("{name} = {value}{ending}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
;; PgBouncer for skillancer (managed by the platform team)
[databases]
skillancer = host=db port=5432 dbname=skillancer

[pgbouncer]
listen_port = 6432
; the pool: tune with the runbook's \"Connection Pool Scaling\"
default_pool_size = 20
  max_client_conn=100
auth_type = md5

[users]
app = pool_mode=transaction
";

    fn wanted(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_section_only() {
        let found = settings(CONFIG).unwrap();
        assert_eq!(found.get("default_pool_size").map(String::as_str), Some("20"));
        assert_eq!(found.get("max_client_conn").map(String::as_str), Some("100"));
        assert!(!found.contains_key("skillancer") && !found.contains_key("app"), "other sections are not read");
    }

    #[test]
    fn rewrites_owned_lines_in_place_and_keeps_every_other_byte() {
        let out = rewrite(CONFIG, &wanted(&[("default_pool_size", "50"), ("max_client_conn", "2000")])).unwrap();
        let expected =
            CONFIG.replace("default_pool_size = 20", "default_pool_size = 50").replace("  max_client_conn=100", "  max_client_conn = 2000");
        assert_eq!(out, expected);
    }

    #[test]
    fn adds_missing_settings_after_the_sections_last_setting() {
        let out = rewrite(CONFIG, &wanted(&[("reserve_pool_size", "5")])).unwrap();
        assert_eq!(out, CONFIG.replace("auth_type = md5\n", "auth_type = md5\nreserve_pool_size = 5\n"));
        assert_eq!(settings(&out).unwrap().get("reserve_pool_size").map(String::as_str), Some("5"));
    }

    #[test]
    fn a_setting_given_twice_changes_where_pgbouncer_reads_it_last() {
        let text = "[pgbouncer]\ndefault_pool_size = 10\ndefault_pool_size = 20\n";
        assert_eq!(settings(text).unwrap()["default_pool_size"], "20");
        assert_eq!(
            rewrite(text, &wanted(&[("default_pool_size", "30")])).unwrap(),
            "[pgbouncer]\ndefault_pool_size = 10\ndefault_pool_size = 30\n"
        );
    }

    #[test]
    fn the_last_section_without_a_final_newline_and_crlf_files() {
        assert_eq!(
            rewrite("[pgbouncer]\nlisten_port = 6432", &wanted(&[("max_client_conn", "10")])).unwrap(),
            "[pgbouncer]\nlisten_port = 6432\nmax_client_conn = 10\n"
        );
        assert_eq!(
            rewrite("[PgBouncer]\r\nmax_client_conn = 1\r\n", &wanted(&[("max_client_conn", "2")])).unwrap(),
            "[PgBouncer]\r\nmax_client_conn = 2\r\n"
        );
    }

    #[test]
    fn no_section_is_an_error() {
        assert_eq!(settings("[databases]\nx = y\n"), Err(IniError::NoSection));
        assert_eq!(rewrite("", &wanted(&[("max_client_conn", "1")])), Err(IniError::NoSection));
    }
}
