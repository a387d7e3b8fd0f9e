//! The provider block: AWS region, profile, endpoint overrides and retry budget. Credentials
//! come from the standard AWS chain (environment, shared files, SSO, process, IMDS), never
//! from Terraform configuration, so they never reach state or plans.

use async_trait::async_trait;
use scaling_schema::validator::{int_between, parse_duration, string_check};
use scaling_schema::{Attribute, Block, Diagnostics, NestedBlock, Nesting, Schema, Type, Value};
use tokio_util::sync::CancellationToken;

use crate::aws::names::region_problem;
use crate::clients::{AwsSettings, CallTimeouts, Clients, Endpoints, KubeSettings};
use crate::framework::Provider;

pub struct ScalingProvider;

/// Retries after the first attempt, as terraform-provider-aws counts them: 0 means one attempt.
const DEFAULT_MAX_RETRIES: i64 = 4;

/// Every AWS and Kubernetes call, so that a silent endpoint fails a plan instead of holding it.
const DEFAULT_CONNECT_TIMEOUT: &str = "10s";
/// Long enough for the slowest answer either API gives (a page of a large list answers in a few
/// seconds), short enough that a silent endpoint fails a nightly drift check in about a minute
/// (an AWS call's deadline is a connection and two reads: see `CallTimeouts::operation`).
const DEFAULT_READ_TIMEOUT: &str = "30s";

fn endpoint(name: &str, service: &str) -> Attribute {
    Attribute::optional(name, Type::String)
        .describe(&format!("Custom {service} endpoint URL, for an emulator or a VPC endpoint."))
        .validate(string_check("an http:// or https:// URL", endpoint_url_problem))
}

fn endpoint_url_problem(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or("is not an http:// or https:// URL")?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("has no host".into());
    }
    Ok(())
}

/// A Go duration above zero: a zero timeout would fail every call at once.
fn positive_duration(text: &str) -> Result<(), String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("is zero: every call would fail at once".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// An empty setting is a mistake (an unset variable, say), never a way to ask for the default:
/// leave the attribute out for that.
fn not_empty(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err("is empty; leave the attribute out to use the default".into())
    } else {
        Ok(())
    }
}

#[async_trait]
impl Provider for ScalingProvider {
    type Clients = Clients;

    fn name(&self) -> &'static str {
        "scaling"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("Scaling resources for Kubernetes autoscaling, RDS read replicas, ElastiCache shards and CloudFront Origin Shield.")
                .attribute(
                    Attribute::optional("region", Type::String)
                        .describe("AWS region. Defaults to the AWS_REGION environment variable or the profile's region.")
                        .validate(string_check("an AWS region name", region_problem)),
                )
                .attribute(
                    Attribute::optional("profile", Type::String)
                        .describe(
                            "Named profile from the shared AWS config and credentials files. When set, its credentials are used \
                             even if AWS_ACCESS_KEY_ID is set, and a profile that does not exist is an error.",
                        )
                        .validate(string_check("a profile name", not_empty)),
                )
                .attribute(
                    Attribute::optional("max_retries", Type::Number)
                        .describe(&format!(
                            "How many times an AWS or Kubernetes request is retried on throttling and transient errors, after \
                             the first attempt (default {DEFAULT_MAX_RETRIES}; 0 never retries)."
                        ))
                        .validate(int_between(0, 24)),
                )
                .attribute(
                    Attribute::optional("connect_timeout", Type::String)
                        .describe(&format!(
                            "How long each AWS or Kubernetes call may take to connect, as a Go duration such as \"5s\" \
                             (default {DEFAULT_CONNECT_TIMEOUT})."
                        ))
                        .validate(string_check("a duration above zero, such as \"5s\"", positive_duration)),
                )
                .attribute(
                    Attribute::optional("read_timeout", Type::String)
                        .describe(&format!(
                            "How long each AWS or Kubernetes call may wait for its answer once sent (default \
                             {DEFAULT_READ_TIMEOUT}). A call that times out is retried like a dropped connection, within \
                             max_retries for AWS; an AWS call with all its retries ends after connect_timeout plus twice \
                             read_timeout."
                        ))
                        .validate(string_check("a duration above zero, such as \"5s\"", positive_duration)),
                )
                .block(
                    NestedBlock::new(
                        "endpoints",
                        Nesting::Single,
                        Block::new("Custom service endpoints.")
                            .attribute(endpoint("rds", "RDS"))
                            .attribute(endpoint("elasticache", "ElastiCache"))
                            .attribute(endpoint("cloudfront", "CloudFront"))
                            .attribute(endpoint("eks", "EKS"))
                            .attribute(endpoint("cloudwatch", "CloudWatch")),
                    ),
                )
                .block(NestedBlock::new(
                    "kubernetes",
                    Nesting::Single,
                    Block::new("How to reach the Kubernetes cluster. Without it: KUBECONFIG, then ~/.kube/config, then the in-cluster service account.")
                        .attribute(
                            Attribute::optional("config_path", Type::String)
                                .describe("Path to a kubeconfig file.")
                                .validate(string_check("a path", not_empty)),
                        )
                        .attribute(
                            Attribute::optional("config_context", Type::String)
                                .describe("Context in the kubeconfig to use (default: its current context).")
                                .validate(string_check("a context name", not_empty)),
                        ),
                )),
        }
    }

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    async fn configure(&self, config: &Value, stop: CancellationToken, _diags: &mut Diagnostics) -> Option<Clients> {
        let known = |v: &Value| v.as_str().map(str::to_string);
        let aws = aws_settings(config);
        let e = config.attr("endpoints");
        let endpoints = Endpoints {
            rds: known(e.attr("rds")),
            elasticache: known(e.attr("elasticache")),
            cloudfront: known(e.attr("cloudfront")),
            eks: known(e.attr("eks")),
            cloudwatch: known(e.attr("cloudwatch")),
        };
        tracing::debug!(custom_rds_endpoint = endpoints.rds.is_some(), "configured");
        let k = config.attr("kubernetes");
        let kube = KubeSettings {
            config_path: known(k.attr("config_path")),
            context: known(k.attr("config_context")),
            max_retries: aws.max_attempts.saturating_sub(1),
        };
        Some(Clients::new(aws, endpoints, kube, call_timeouts(config), stop))
    }
}

fn call_timeouts(config: &Value) -> CallTimeouts {
    // Validation refused malformed durations; the defaults parse.
    let get = |name: &str, default: &str| {
        config.attr(name).as_str().and_then(|s| parse_duration(s).ok()).unwrap_or_else(|| parse_duration(default).unwrap_or_default())
    };
    CallTimeouts { connect: get("connect_timeout", DEFAULT_CONNECT_TIMEOUT), read: get("read_timeout", DEFAULT_READ_TIMEOUT) }
}

fn aws_settings(config: &Value) -> AwsSettings {
    let retries = config.attr("max_retries").as_i64().unwrap_or(DEFAULT_MAX_RETRIES);
    AwsSettings {
        region: config.attr("region").as_str().map(str::to_string),
        profile: config.attr("profile").as_str().map(str::to_string),
        max_attempts: u32::try_from(retries + 1).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_retries_counts_retries_not_attempts() {
        let attempts = |v: Value| aws_settings(&Value::object([("max_retries", v)])).max_attempts;
        assert_eq!(attempts(Value::int(0)), 1, "0 retries is one attempt");
        assert_eq!(attempts(Value::int(3)), 4);
        assert_eq!(attempts(Value::Null), 5, "the default retries 4 times");
    }

    #[test]
    fn call_timeouts_default_and_parse() {
        let t = call_timeouts(&Value::object([("read_timeout", Value::from("2s"))]));
        assert_eq!((t.connect.as_secs(), t.read.as_secs()), (10, 2));
        assert!(positive_duration("0s").is_err(), "a zero timeout fails every call");
        assert!(positive_duration("250ms").is_ok());
    }

    #[test]
    fn endpoint_urls() {
        assert!(endpoint_url_problem("http://127.0.0.1:5000").is_ok());
        assert!(endpoint_url_problem("https://rds.vpce.example").is_ok());
        assert!(endpoint_url_problem("127.0.0.1:5000").is_err());
        assert!(endpoint_url_problem("http://").is_err());
    }
}
