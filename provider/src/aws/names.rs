//! Shapes of AWS names that resources, data sources and the provider block check at plan time,
//! as the service API references state them.

/// AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
pub fn region_problem(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if ok {
        Ok(())
    } else {
        Err("is not an AWS region name such as \"us-east-1\"".into())
    }
}

/// RDS DB instance identifiers: 1 to 63 lowercase letters, digits or hyphens; first a letter;
/// no two hyphens in a row and none at the end.
pub fn identifier_problem(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 63 {
        return Err("must be 1 to 63 characters long".into());
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!("contains {c:?}: only letters, digits and hyphens are allowed"));
    }
    // RDS stores identifiers in lowercase; a mixed-case one would never be found again.
    if id.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lowercase (RDS stores identifiers in lowercase)".into());
    }
    if id.contains("--") {
        return Err("must not contain two consecutive hyphens".into());
    }
    if id.ends_with('-') {
        return Err("must not end with a hyphen".into());
    }
    Ok(())
}

/// An RDS DB instance class as the RDS User Guide lists them: `db.<family>.<size>` (e.g.
/// `db.r6g.xlarge`, `db.m5d.24xlarge`), Aurora Serverless v2's `db.serverless`, and RDS for
/// Oracle's optimized-CPU classes, `db.<family>.<size>.tpc<threads per core>.mem<ratio>x`
/// (e.g. `db.r5.2xlarge.tpc2.mem4x`).
pub fn instance_class_problem(class: &str) -> Result<(), String> {
    let word = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = class.split('.').collect();
    let ok = match parts.as_slice() {
        ["db", "serverless"] => true,
        ["db", family, size] => word(family) && word(size),
        ["db", family, size, tpc, mem] => {
            word(family)
                && word(size)
                && tpc.strip_prefix("tpc").is_some_and(number)
                && mem.strip_prefix("mem").and_then(|m| m.strip_suffix('x')).is_some_and(number)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("is not an RDS instance class such as \"db.r6g.xlarge\", \"db.serverless\" or \"db.r5.2xlarge.tpc2.mem4x\"".into())
    }
}

/// Replication group ids: 1 to 40 letters, digits or hyphens, starting with a letter, without
/// a trailing or double hyphen; stored in lowercase, so only lowercase reads back the same.
pub fn replication_group_id_problem(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 40 {
        return Err("must be 1 to 40 characters long".into());
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!("contains {c:?}: only letters, digits and hyphens are allowed"));
    }
    if id.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lowercase (ElastiCache stores ids in lowercase)".into());
    }
    if id.contains("--") || id.ends_with('-') {
        return Err("must not end with a hyphen or contain two in a row".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4", "cn-north-1"] {
            assert!(region_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us--1", "", "us-east-one"] {
            assert!(region_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        for ok in ["skillancer-replica-2", "a", "db1", &"a".repeat(63)] {
            assert!(identifier_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1db", "-db", "db-", "db--x", "db_x", "db.x", "Replica-2", &"a".repeat(64)] {
            assert!(identifier_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_ids() {
        for ok in ["skillancer-redis", "a", "redis-prod-2"] {
            assert!(replication_group_id_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1redis", "Redis", "redis--2", "redis-", "redis_2", &"r".repeat(41)] {
            assert!(replication_group_id_problem(bad).is_err(), "{bad}");
        }
    }
}
