//! Plan-time checks of RDS names and values, as the RDS API reference states them.

use crate::aws::names::identifier_problem;

/// A source is an identifier in the provider's region, or the ARN of an instance in another
/// region: `arn:aws:rds:REGION:ACCOUNT:db:IDENTIFIER` (any AWS partition).
pub fn source_problem(source: &str) -> Result<(), String> {
    if !source.starts_with("arn:") {
        return identifier_problem(source);
    }
    let parts: Vec<&str> = source.split(':').collect();
    let shape = "is not an RDS instance ARN of the form arn:aws:rds:REGION:ACCOUNT_ID:db:IDENTIFIER";
    if parts.len() != 7 || !parts[1].starts_with("aws") || parts[2] != "rds" || parts[5] != "db" {
        return Err(shape.into());
    }
    crate::aws::names::region_problem(parts[3]).map_err(|_| format!("{shape} (region {:?} is not a region name)", parts[3]))?;
    if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{shape} (the account ID must be 12 digits)"));
    }
    identifier_problem(parts[6]).map_err(|why| format!("names instance {:?}, which {why}", parts[6]))
}

/// RDS tag keys: 1 to 128 characters of letters, digits, spaces and `_ . : / = + - @`, not
/// starting with `aws:` or `rds:` (both reserved).
pub fn tag_key_problem(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err("must be 1 to 128 characters long".into());
    }
    tag_text_problem(key)
}

/// RDS tag values: up to 256 characters, the same characters and reserved prefixes as keys.
pub fn tag_value_problem(value: &str) -> Result<(), String> {
    if value.chars().count() > 256 {
        return Err("must be at most 256 characters long".into());
    }
    tag_text_problem(value)
}

fn tag_text_problem(text: &str) -> Result<(), String> {
    if let Some(prefix) = ["aws:", "rds:"].iter().find(|p| text.to_ascii_lowercase().starts_with(*p)) {
        return Err(format!("starts with {prefix:?}, which AWS reserves"));
    }
    match text.chars().find(|c| !(c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(*c))) {
        Some(c) => Err(format!("contains {c:?}: only letters, digits, spaces and _ . : / = + - @ are allowed")),
        None => Ok(()),
    }
}

/// RDS allows at most 50 tags on a resource.
pub const MAX_TAGS: usize = 50;

/// Availability zones: a region name followed by a letter, e.g. `us-east-1a`.
pub fn availability_zone_problem(az: &str) -> Result<(), String> {
    let (region, zone) = az.split_at(az.len().saturating_sub(1));
    if zone.bytes().all(|b| b.is_ascii_lowercase()) && !zone.is_empty() && crate::aws::names::region_problem(region).is_ok() {
        Ok(())
    } else {
        Err("is not an availability zone such as \"us-east-1a\"".into())
    }
}

/// A KMS key by its ARN: `arn:aws:kms:REGION:ACCOUNT:key/KEY_ID`, the key ID a UUID or a
/// multi-Region `mrk-` ID. RDS reports the key by its ARN whatever form it was given in, and
/// the key cannot change in place, so an alias or a bare ID would plan a replacement forever.
pub fn kms_key_arn_problem(arn: &str) -> Result<(), String> {
    let shape = "is not a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\". \
                 RDS reports keys by ARN, so an alias or key ID would read back differently and replace the replica on \
                 every plan: look the ARN up with `aws kms describe-key --key-id alias/NAME`";
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "kms" {
        return Err(shape.into());
    }
    crate::aws::names::region_problem(parts[3]).map_err(|_| shape.to_string())?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
    let key_ok = match parts[5].strip_prefix("key/") {
        Some(id) => match id.strip_prefix("mrk-") {
            Some(mrk) => mrk.len() == 32 && hex(mrk),
            None => {
                let groups: Vec<&str> = id.split('-').collect();
                groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g))
            }
        },
        None => false,
    };
    if account_ok && key_ok {
        Ok(())
    } else {
        Err(shape.into())
    }
}

/// DB subnet group names: up to 255 letters, digits, spaces, `.`, `_` or `-`, starting with a
/// letter. RDS stores them in lowercase, so anything else would read back as a change.
pub fn subnet_group_problem(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("must be 1 to 255 characters long".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || " ._-".contains(*c))) {
        return Err(format!("contains {c:?}: only letters, digits, spaces, '.', '_' and '-' are allowed"));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lowercase (RDS stores subnet group names in lowercase)".into());
    }
    Ok(())
}

/// VPC security group IDs: `sg-` and 8 or 17 hexadecimal digits.
pub fn security_group_problem(id: &str) -> Result<(), String> {
    let ok = id
        .strip_prefix("sg-")
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if ok {
        Ok(())
    } else {
        Err("is not a VPC security group ID such as \"sg-0123456789abcdef0\"".into())
    }
}

/// DB parameter group names: up to 255 letters, digits, hyphens, and the dots of default
/// groups (`default.postgres16`); a letter first, no trailing or double hyphen; lowercase, as
/// RDS stores them.
pub fn parameter_group_problem(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("must be 1 to 255 characters long".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || ".-".contains(*c))) {
        return Err(format!("contains {c:?}: only letters, digits, '-' and '.' are allowed"));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lowercase (RDS stores parameter group names in lowercase)".into());
    }
    if name.ends_with('-') || name.contains("--") {
        return Err("must not end with a hyphen or contain two in a row".into());
    }
    Ok(())
}

/// The storage types RDS offers (`standard` is magnetic, being retired).
pub const STORAGE_TYPES: &[&str] = &["gp2", "gp3", "io1", "io2", "standard"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::names::instance_class_problem;

    #[test]
    fn sources() {
        assert!(source_problem("skillancer-production").is_ok());
        assert!(source_problem("arn:aws:rds:us-west-2:123456789012:db:skillancer-production").is_ok());
        assert!(source_problem("arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:prod").is_ok());
        for bad in [
            "arn:aws:rds:us-west-2:123456789012:cluster:prod",
            "arn:aws:rds:us-west-2:1234:db:prod",
            "arn:aws:rds:uswest2:123456789012:db:prod",
            "arn:aws:rds:us-west-2:123456789012:db:prod--1",
            "arn:aws:s3:::bucket",
        ] {
            assert!(source_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        for ok in ["team", "cost-center", "a/b:c=d+e@f_g.h", "Équipe 2", &"k".repeat(128)] {
            assert!(tag_key_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "aws:team", "RDS:team", "team!", &"k".repeat(129)] {
            assert!(tag_key_problem(bad).is_err(), "{bad}");
        }
        assert!(tag_value_problem("").is_ok());
        assert!(tag_value_problem(&"v".repeat(257)).is_err());
        assert!(tag_value_problem("aws:thing").is_err());
    }

    #[test]
    fn classes_and_zones() {
        assert!(instance_class_problem("db.r6g.xlarge").is_ok());
        assert!(instance_class_problem("db.m5d.24xlarge").is_ok());
        assert!(instance_class_problem("db.serverless").is_ok(), "Aurora Serverless v2");
        assert!(instance_class_problem("db.r5.2xlarge.tpc2.mem4x").is_ok(), "RDS for Oracle, optimized CPU");
        assert!(instance_class_problem("db.r5b.8xlarge.tpc2.mem3x").is_ok());
        for bad in [
            "r6g.xlarge",
            "db.r6g",
            "db..large",
            "DB.R6G.LARGE",
            "cache.r6g.large",
            "db.r5.2xlarge.tpc2",
            "db.r5.2xlarge.tpc.mem4x",
            "db.r5.2xlarge.tpc2.mem4",
        ] {
            assert!(instance_class_problem(bad).is_err(), "{bad}");
        }
        assert!(availability_zone_problem("us-east-1a").is_ok());
        assert!(availability_zone_problem("us-east-1").is_err());
    }

    #[test]
    fn kms_keys_by_arn_only() {
        for ok in [
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            assert!(kms_key_arn_problem(ok).is_ok(), "{ok}");
        }
        for bad in [
            "alias/rds",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:alias/rds",
            "arn:aws:kms:us-east-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:key/not-a-key",
        ] {
            assert!(kms_key_arn_problem(bad).unwrap_err().contains("describe-key"), "{bad}");
        }
    }

    #[test]
    fn network_and_parameter_names() {
        for ok in ["default", "prod-private", "db subnets.1"] {
            assert!(subnet_group_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1group", "Prod", "a/b"] {
            assert!(subnet_group_problem(bad).is_err(), "{bad}");
        }
        for ok in ["sg-12345678", "sg-0123456789abcdef0"] {
            assert!(security_group_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["sg-123", "sg-0123456789ABCDEF0", "12345678", "sg-0123456789abcdefg"] {
            assert!(security_group_problem(bad).is_err(), "{bad}");
        }
        for ok in ["default.postgres16", "replica-params", "default.mysql8.0"] {
            assert!(parameter_group_problem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Replica", "params-", "a--b", "params_1", "9params"] {
            assert!(parameter_group_problem(bad).is_err(), "{bad}");
        }
    }
}
