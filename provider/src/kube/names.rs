//! Shapes of Kubernetes names that resources and data sources check at plan time.

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
}
