//! Plan-time checks of CloudFront names, as the CloudFront API reference and Developer Guide
//! state them.

/// Where CloudFront offers Origin Shield: the Regions with a regional edge cache, as the
/// Developer Guide's "Choosing the AWS Region for Origin Shield" lists them.
pub const SHIELD_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
];

/// The Regions, listed for messages and descriptions.
pub fn shield_regions() -> String {
    SHIELD_REGIONS.join(", ")
}

pub fn shield_region_problem(region: &str) -> Result<(), String> {
    if SHIELD_REGIONS.contains(&region) {
        return Ok(());
    }
    Err(format!("is not a Region where CloudFront offers Origin Shield; choose the one nearest the origin among {}", shield_regions()))
}

/// Distribution ids are uppercase letters and digits, such as `E2QWRUHAPOMQZL`.
pub fn distribution_id_problem(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 32 {
        return Err("must be 1 to 32 characters long".into());
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit())) {
        return Err(format!(
            "contains {c:?}: a distribution id is uppercase letters and digits, such as \"E2QWRUHAPOMQZL\" (not its domain name)"
        ));
    }
    Ok(())
}

/// Origin ids are free text up to 128 characters, unique within a distribution.
pub fn origin_id_problem(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err("is empty".into());
    }
    if id.chars().count() > 128 {
        return Err("is longer than 128 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert!(shield_region_problem("us-east-2").is_ok());
        let why = shield_region_problem("us-west-1").unwrap_err();
        assert!(why.contains("us-west-2") && why.contains("sa-east-1"), "{why}");
        assert!(shield_region_problem("US-EAST-1").is_err());
    }

    #[test]
    fn ids() {
        assert!(distribution_id_problem("E2QWRUHAPOMQZL").is_ok());
        assert!(distribution_id_problem("d111111abcdef8.cloudfront.net").is_err());
        assert!(distribution_id_problem("").is_err());
        assert!(origin_id_problem("S3-my-bucket/static").is_ok());
        assert!(origin_id_problem(" ").is_err());
        assert!(origin_id_problem(&"o".repeat(129)).is_err());
    }
}
