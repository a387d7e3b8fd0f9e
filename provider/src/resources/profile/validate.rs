//! Checks for Kubernetes names and KEDA cron expressions.

/// DNS-1123 label: namespaces, schedule names.
pub fn dns_label_problem(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters long".into());
    }
    if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("may contain only lowercase letters, digits and hyphens (a DNS-1123 label)".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// DNS-1123 subdomain: object names.
pub fn dns_subdomain_problem(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err("must not contain empty parts between dots".into());
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err("may contain only lowercase letters, digits, hyphens and dots (a DNS-1123 subdomain)".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("must start and end each part with a letter or digit".into());
        }
    }
    Ok(())
}

/// A standard five-field cron expression, as KEDA's cron scaler takes it: minute, hour, day of
/// month, month, day of week; each field `*`, a number, a range, a list, or a step.
pub fn cron_problem(expr: &str) -> Result<(), String> {
    const FIELDS: [(&str, u32, u32); 5] =
        [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)];
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(format!("has {} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)", parts.len()));
    }
    for (part, (name, min, max)) in parts.iter().zip(FIELDS) {
        for item in part.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            if let Some(step) = step {
                match step.parse::<u32>() {
                    Ok(n) if n >= 1 && n <= max => {}
                    _ => return Err(format!("has an invalid step {step:?} in the {name} field")),
                }
            }
            if range == "*" {
                continue;
            }
            let value = |v: &str| -> Result<u32, String> {
                let n = match (name, v.to_ascii_lowercase().as_str()) {
                    ("month", m) if m.len() == 3 => ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
                        .iter()
                        .position(|x| *x == m)
                        .map(|i| i as u32 + 1),
                    ("day of week", d) if d.len() == 3 => {
                        ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].iter().position(|x| *x == d).map(|i| i as u32)
                    }
                    _ => v.parse().ok(),
                };
                match n {
                    Some(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(format!("has {v:?} in the {name} field, which takes {min} to {max}")),
                }
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    if value(a)? > value(b)? {
                        return Err(format!("has a backwards range {range:?} in the {name} field"));
                    }
                }
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

/// IANA time zone names as KEDA takes them: `UTC`, `Etc/UTC`, `Europe/Berlin`.
pub fn timezone_problem(s: &str) -> Result<(), String> {
    let ok = s == "UTC"
        || (s.contains('/') && s.split('/').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))));
    if ok {
        Ok(())
    } else {
        Err("is not an IANA time zone name such as \"Etc/UTC\" or \"Europe/Berlin\"".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns_label_problem("production").is_ok());
        assert!(dns_label_problem("Production").is_err());
        assert!(dns_label_problem("-prod").is_err());
        assert!(dns_subdomain_problem("api-gateway").is_ok());
        assert!(dns_subdomain_problem("api.gateway").is_ok());
        assert!(dns_subdomain_problem("api_gateway").is_err());
        assert!(dns_subdomain_problem("api..gateway").is_err());
    }

    #[test]
    fn crons() {
        for ok in ["0 8 * * *", "*/15 * * * 1-5", "30 18 24 dec *", "0 0 1,15 * sun", "0 9-17/2 * * mon-fri"] {
            assert!(cron_problem(ok).is_ok(), "{ok}");
        }
        for bad in
            ["0 8 * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "* * * 13 *", "0 0 * * 8", "5-1 * * * *", "*/0 * * * *", "every day"]
        {
            assert!(cron_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_and_zones() {
        assert!(host_port_problem("redis:6379").is_ok());
        assert!(host_port_problem("redis").is_err());
        assert!(host_port_problem("redis:http").is_err());
        assert!(timezone_problem("Etc/UTC").is_ok());
        assert!(timezone_problem("America/Argentina/Buenos_Aires").is_ok());
        assert!(timezone_problem("utc+2").is_err());
    }
}
