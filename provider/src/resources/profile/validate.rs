//! Checks for Kubernetes names and KEDA cron expressions.

use crate::kube::names::dns_subdomain_problem;

/// A five-field cron expression as KEDA's cron scaler parses it (robfig/cron v3 with the
/// minute, hour, day-of-month, month and day-of-week fields and no descriptors): each field
/// `*` or `?`, a number or three-letter name, a range, a list, or a step (`a/n` means from `a`
/// to the end). Day of week runs 0 (Sunday) to 6: KEDA refuses 7.
pub fn cron_problem(expr: &str) -> Result<(), String> {
    const FIELDS: [(&str, u32, u32); 5] =
        [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6)];
    if let Some(descriptor) = expr.trim().strip_prefix('@') {
        let same = match descriptor {
            "yearly" | "annually" => Some("0 0 1 1 *"),
            "monthly" => Some("0 0 1 * *"),
            "weekly" => Some("0 0 * * 0"),
            "daily" | "midnight" => Some("0 0 * * *"),
            "hourly" => Some("0 * * * *"),
            _ => None,
        };
        let instead = same.map(|s| format!(": write {s:?}")).unwrap_or_default();
        return Err(format!("is a descriptor, which KEDA's cron scaler does not accept{instead}"));
    }
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(format!("has {} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)", parts.len()));
    }
    for (part, (name, min, max)) in parts.iter().zip(FIELDS) {
        let value = |v: &str| -> Result<u32, String> {
            let named = match (name, v.to_ascii_lowercase().as_str()) {
                ("month", m) => ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
                    .iter()
                    .position(|x| *x == m)
                    .map(|i| i as u32 + 1),
                ("day of week", d) => ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].iter().position(|x| *x == d).map(|i| i as u32),
                _ => None,
            };
            match named.or_else(|| v.parse().ok()) {
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!("has {v:?} in the {name} field, which takes {min} to {max}")),
            }
        };
        for item in part.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            if let Some(step) = step {
                if !step.parse::<u32>().is_ok_and(|n| n >= 1) {
                    return Err(format!("has an invalid step {step:?} in the {name} field"));
                }
            }
            if range == "*" || range == "?" {
                continue;
            }
            match range.split_once('-') {
                Some((a, b)) if value(a)? > value(b)? => return Err(format!("has a backwards range {range:?} in the {name} field")),
                Some(_) => {}
                None => {
                    value(range)?;
                }
            }
        }
    }
    Ok(())
}

/// `host:port`, as KEDA's redis scaler takes its address.
pub fn host_port_problem(s: &str) -> Result<(), String> {
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err("must be host:port, such as \"redis:6379\"".into());
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("has no host".into());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("has an invalid port {port:?}")),
    }
}

/// A time zone KEDA's operator can load: a name in the IANA database, spelled exactly (Go's
/// `time.LoadLocation` reads a file by that name, so case matters). Checked against the
/// database built into the provider, the same on every machine that plans.
pub fn timezone_problem(s: &str) -> Result<(), String> {
    if jiff::tz::db().available().any(|name| name.as_str() == s) {
        return Ok(());
    }
    let hint = jiff::tz::db()
        .available()
        .find(|name| name.as_str().eq_ignore_ascii_case(s))
        .map(|name| format!(" (did you mean {:?}?)", name.as_str()))
        .unwrap_or_default();
    Err(format!("is not an IANA time zone name such as \"Etc/UTC\" or \"Europe/Berlin\"{hint}"))
}

/// A Kubernetes kind as it is written: `Deployment`, `StatefulSet`, `Rollout`. A lowercase
/// kind passes the API server and fails only when the autoscaler looks for its target.
pub fn kind_problem(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() && chars.all(|c| c.is_ascii_alphanumeric()) => Ok(()),
        _ => Err("is not a Kubernetes kind such as \"Deployment\" or \"StatefulSet\" (letters and digits, starting uppercase)".into()),
    }
}

/// `version` for the core group (`v1`) or `group/version` (`apps/v1`, `argoproj.io/v1alpha1`).
pub fn api_version_problem(s: &str) -> Result<(), String> {
    let (group, version) = match s.split_once('/') {
        Some((group, version)) => (Some(group), version),
        None => (None, s),
    };
    let group_ok = group.is_none_or(|g| dns_subdomain_problem(g).is_ok());
    let version_ok = version.len() <= 63
        && version.strip_prefix('v').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        && version.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if group_ok && version_ok {
        Ok(())
    } else {
        Err("is not an API version such as \"apps/v1\" or \"v1\" (group/version)".into())
    }
}

/// Label and annotation keys: an optional DNS-subdomain prefix and `/`, then a name of 1 to
/// 63 letters, digits, `-`, `_` or `.` that starts and ends with a letter or digit.
pub fn qualified_name_problem(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        dns_subdomain_problem(prefix).map_err(|why| format!("has a prefix that {why}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err("must have a name part of 1 to 63 characters".into());
    }
    name_part_problem(name)
}

/// Label values: empty, or up to 63 letters, digits, `-`, `_` or `.` that start and end with a
/// letter or digit.
pub fn label_value_problem(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 63 {
        return Err("is longer than 63 characters".into());
    }
    name_part_problem(s)
}

fn name_part_problem(s: &str) -> Result<(), String> {
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err("may contain only letters, digits, '-', '_' and '.'".into());
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) || !s.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Annotation values are free text; Kubernetes limits all of an object's annotations together
/// to 256 KiB, which one value may not exceed either.
pub fn annotation_value_problem(s: &str) -> Result<(), String> {
    if s.len() > 256 * 1024 {
        return Err("is longer than the 256 KiB Kubernetes allows for all annotations together".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crons() {
        for ok in [
            "0 8 * * *",
            "*/15 * * * 1-5",
            "30 18 24 dec *",
            "0 0 1,15 * sun",
            "0 9-17/2 * * mon-fri",
            "0 0 ? * 0",
            "5/10 * * * *",
            "0 0 * * SAT",
        ] {
            assert!(cron_problem(ok).is_ok(), "{ok}");
        }
        for bad in [
            "0 8 * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "* * * 13 *",
            "0 0 * * 7",
            "0 0 * * 1-7",
            "5-1 * * * *",
            "*/0 * * * *",
            "every day",
            "@every 1h",
        ] {
            assert!(cron_problem(bad).is_err(), "{bad}");
        }
        assert!(cron_problem("@daily").unwrap_err().contains("\"0 0 * * *\""), "the error says what to write instead");
    }

    #[test]
    fn addresses_and_zones() {
        assert!(host_port_problem("redis:6379").is_ok());
        assert!(host_port_problem("redis").is_err());
        assert!(host_port_problem("redis:http").is_err());
        assert!(timezone_problem("Etc/UTC").is_ok());
        assert!(timezone_problem("America/Argentina/Buenos_Aires").is_ok());
        assert!(timezone_problem("utc+2").is_err());
        assert!(timezone_problem("Mars/Olympus_Mons").is_err());
        assert!(timezone_problem("europe/berlin").unwrap_err().contains("Europe/Berlin"), "case matters to Go");
        assert!(timezone_problem("UTC").is_ok());
    }

    #[test]
    fn kinds_and_api_versions() {
        for ok in ["Deployment", "StatefulSet", "Rollout"] {
            assert!(kind_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["deployment", "", "Deploy-ment", "apps/Deployment"] {
            assert!(kind_problem(bad).is_err(), "{bad}");
        }
        for ok in ["apps/v1", "v1", "argoproj.io/v1alpha1", "apps/v1beta2"] {
            assert!(api_version_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["apps", "apps/", "/v1", "Apps/v1", "apps/1", "apps/v1/x", ""] {
            assert!(api_version_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_and_annotations() {
        for ok in ["team", "app.kubernetes.io/name", "example.com/tier_1", "a"] {
            assert!(qualified_name_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-team", "team-", "Example.com/x", "a/b/c", "/x", "x/", &"k".repeat(64)] {
            assert!(qualified_name_problem(bad).is_err(), "{bad}");
        }
        for ok in ["", "platform", "v1.2_3"] {
            assert!(label_value_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["has space", "-x", &"v".repeat(64)] {
            assert!(label_value_problem(bad).is_err(), "{bad}");
        }
        assert!(annotation_value_problem("any text at all: {\"json\": true}").is_ok());
    }
}
