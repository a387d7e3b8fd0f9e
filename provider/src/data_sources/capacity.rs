//! `scaling_capacity`: the runbook's "Current Capacity" table, read live. For each named
//! autoscaler (HPA or KEDA ScaledObject), RDS instance and Redis replication group: what it
//! runs now, its peak, its limit and the headroom left. With `min_headroom_percent`, a read
//! that finds less fails, naming what is short, so a CI plan stops before an event that would
//! not fit.
//!
//! Peaks: replicas from the autoscaler's status (the larger of current and desired); database
//! connections and Redis memory from CloudWatch, the maximum over `window`. All CloudWatch
//! series are fetched with one GetMetricData call.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::MetricDataQuery;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use scaling_schema::validator::{go_duration, int_between, parse_duration, string_check};
use scaling_schema::{Attribute, AttributePath, Block, Diagnostics, NestedBlock, Nesting, Schema, Type, Value};
use serde_json::Value as Json;

use crate::aws::cloudwatch::{self, combined, maximum_per_minute, PeaksAndLatest};
use crate::aws::elasticache;
use crate::aws::names::{identifier_problem, replication_group_id_problem};
use crate::clients::Clients;
use crate::framework::{DataSource, ReadDataRequest, ReadDataResponse};
use crate::kube::error as kube_error;
use crate::kube::names::{dns_label_problem, dns_subdomain_problem};
use crate::resources::Context;

pub struct Capacity;

const TYPE_NAME: &str = "scaling_capacity";
const DEFAULT_WINDOW: &str = "1h";
/// KEDA's default when a ScaledObject sets no maxReplicaCount.
const KEDA_DEFAULT_MAX: i64 = 100;
const MAX_WINDOW: Duration = Duration::from_secs(15 * 24 * 3600);

/// One line of the table.
#[derive(Clone, Debug, Default, PartialEq)]
struct Line {
    /// Where its usage comes from, for a line with none: "CloudWatch" or "status".
    source: &'static str,
    current: Option<f64>,
    peak: Option<f64>,
    limit: Option<f64>,
}

impl Line {
    fn headroom_percent(&self) -> Option<f64> {
        let (peak, limit) = (self.peak?, self.limit?);
        (limit > 0.0).then(|| ((limit - peak) / limit * 1000.0).round() / 10.0)
    }

    fn into_values(self, block: &Value) -> Value {
        let mut v = block.clone();
        let headroom = self.headroom_percent();
        v.set_attr("current", number(self.current));
        v.set_attr("peak", number(self.peak));
        v.set_attr("limit", number(self.limit));
        v.set_attr("headroom_percent", number(headroom));
        v
    }
}

fn number(n: Option<f64>) -> Value {
    n.map(|n| Value::Number(scaling_schema::Number::from_f64(n))).unwrap_or(Value::Null)
}

fn computed_line(block: Block, limit_text: &str) -> Block {
    block
        .attribute(Attribute::computed("current", Type::Number).describe("What runs, or is used, now."))
        .attribute(Attribute::computed("peak", Type::Number).describe("The most seen (see the block's description)."))
        .attribute(Attribute::computed("limit", Type::Number).describe(limit_text))
        .attribute(Attribute::computed("headroom_percent", Type::Number).describe("(limit - peak) / limit, in percent, one decimal."))
}

impl Capacity {
    /// An autoscaler's line: its HPA's status (for a ScaledObject, the HPA KEDA made for it).
    async fn autoscaler(ctx: &Context, namespace: &str, name: &str) -> Result<(String, Line), String> {
        let (client, apis) = ctx.clients.kube().await?;
        let hpa_api = apis.hpa_version.map(|v| {
            let gvk = GroupVersionKind::gvk("autoscaling", v, "HorizontalPodAutoscaler");
            Api::<DynamicObject>::namespaced_with(
                client.clone(),
                namespace,
                &ApiResource::from_gvk_with_plural(&gvk, "horizontalpodautoscalers"),
            )
        });
        let get = |api: &Api<DynamicObject>, what: String, name: String| {
            let api = api.clone();
            let server = apis.server.clone();
            async move {
                match api.get_opt(&name).await {
                    Ok(found) => Ok(found.map(|o| serde_json::to_value(o).unwrap_or_default())),
                    Err(e) => Err(kube_error::describe(&format!("reading {what} {namespace}/{name}"), &e, &server)),
                }
            }
        };
        if let Some(api) = &hpa_api {
            if let Some(hpa) = get(api, "HorizontalPodAutoscaler".into(), name.to_string()).await? {
                return Ok(("HorizontalPodAutoscaler".into(), hpa_line(&hpa, None)));
            }
        }
        if apis.keda {
            let gvk = GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject");
            let api =
                Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "scaledobjects"));
            if let Some(so) = get(&api, "ScaledObject".into(), name.to_string()).await? {
                let limit = so["spec"]["maxReplicaCount"].as_i64().unwrap_or(KEDA_DEFAULT_MAX);
                let hpa_name = so["status"]["hpaName"].as_str().map(str::to_string).unwrap_or_else(|| format!("keda-hpa-{name}"));
                let hpa = match &hpa_api {
                    Some(api) => get(api, "HorizontalPodAutoscaler".into(), hpa_name).await?,
                    None => None,
                };
                let line = hpa.map(|h| hpa_line(&h, Some(limit))).unwrap_or(Line {
                    source: "status",
                    limit: Some(limit as f64),
                    ..Line::default()
                });
                return Ok(("ScaledObject".into(), line));
            }
        }
        Err(format!("no HorizontalPodAutoscaler or ScaledObject named {namespace}/{name}"))
    }

    /// The CloudWatch series the database and Redis lines need. None asked, no client: a table
    /// of autoscalers alone needs no AWS settings.
    async fn metrics(ctx: &Context, queries: Vec<MetricDataQuery>, window: Duration) -> Result<PeaksAndLatest, String> {
        if queries.is_empty() {
            return Ok(PeaksAndLatest::new());
        }
        let client = ctx.clients.cloudwatch().await.map_err(|e| e.to_string())?;
        cloudwatch::peaks_and_latest(client, queries, window).await
    }
}

/// An HPA's line: replicas now, the larger of now and desired, and its maximum (`limit` for a
/// KEDA-made HPA, whose maximum is the ScaledObject's).
fn hpa_line(hpa: &Json, limit: Option<i64>) -> Line {
    let current = hpa["status"]["currentReplicas"].as_i64();
    let desired = hpa["status"]["desiredReplicas"].as_i64();
    let limit = limit.or(hpa["spec"]["maxReplicas"].as_i64());
    // The controller writes conditions whenever it reconciles; zeros without them are the API
    // server's defaults for an HPA nobody reconciled yet: no data, never 100% headroom.
    let reconciled = hpa["status"]["conditions"].as_array().is_some_and(|c| !c.is_empty())
        || current.is_some_and(|n| n > 0)
        || desired.is_some_and(|n| n > 0);
    if !reconciled {
        return Line { source: "status", limit: limit.map(|n| n as f64), ..Line::default() };
    }
    Line {
        source: "status",
        current: current.map(|n| n as f64),
        peak: current.max(desired).map(|n| n as f64),
        limit: limit.map(|n| n as f64),
    }
}

#[async_trait]
impl DataSource<Clients> for Capacity {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let autoscaler = computed_line(
            Block::new(
                "An autoscaler by name: an HPA, or a KEDA ScaledObject (read through the HPA KEDA made for it). Current: \
                 replicas now; peak: the larger of now and what the autoscaler wants; limit: its maximum.",
            )
            .attribute(
                Attribute::required("namespace", Type::String)
                    .describe("Namespace.")
                    .validate(string_check("a DNS-1123 label", dns_label_problem)),
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .describe("Name of the HPA or ScaledObject.")
                    .validate(string_check("a DNS-1123 subdomain", dns_subdomain_problem)),
            )
            .attribute(Attribute::computed("kind", Type::String).describe("`HorizontalPodAutoscaler` or `ScaledObject`.")),
            "Most replicas it may run.",
        );
        let database = computed_line(
            Block::new(
                "An RDS instance's connections. Current: the latest per-minute maximum of CloudWatch's `DatabaseConnections`; \
                 peak: its maximum over `window`; limit: `max_connections`.",
            )
            .attribute(
                Attribute::required("db_instance_identifier", Type::String)
                    .describe("The instance, e.g. `skillancer-production`.")
                    .validate(string_check("a DB instance identifier", identifier_problem)),
            )
            .attribute(
                Attribute::required("max_connections", Type::Number)
                    .describe("The connections it takes (the runbook's table: 2,000 on db.r6g.xlarge), as its parameter group says.")
                    .validate(int_between(1, 1_000_000)),
            )
            .attribute(Attribute::computed("instance_class", Type::String).describe("Its class now.")),
            "`max_connections`.",
        );
        let redis = computed_line(
            Block::new(
                "A Redis replication group's memory. Current and peak: CloudWatch's `DatabaseMemoryUsagePercentage`, the \
                 latest and the maximum over `window`, of its fullest node; limit: 100.",
            )
            .attribute(Attribute::required("replication_group_id", Type::String).describe("The replication group.").validate(string_check(
                "1 to 40 lowercase letters, digits or hyphens, starting with a letter",
                replication_group_id_problem,
            )))
            .attribute(Attribute::computed("node_type", Type::String).describe("Its node type now.")),
            "100 (percent).",
        );
        Schema {
            version: 0,
            block: Block::new(
                "The runbook's \"Current Capacity\" table, read live: for each autoscaler, database and Redis group named, \
                 what it runs now, its peak, its limit and the headroom left. With `min_headroom_percent`, reading fails \
                 when anything has less headroom, naming it, so a plan stops before a traffic event that would not fit.",
            )
            .attribute(Attribute::computed("id", Type::String).describe("Always `capacity`."))
            .attribute(
                Attribute::optional("min_headroom_percent", Type::Number)
                    .describe("Fail the read when any line's headroom is below this, in percent.")
                    .validate(int_between(0, 100)),
            )
            .attribute(
                Attribute::optional("window", Type::String)
                    .describe(&format!("How far back CloudWatch peaks look, as a Go duration (default {DEFAULT_WINDOW}; at most 15 days)."))
                    .validate(go_duration()),
            )
            .attribute(Attribute::computed("lowest_headroom_percent", Type::Number).describe("The least headroom of any line."))
            .block(NestedBlock::new("autoscaler", Nesting::List, autoscaler))
            .block(NestedBlock::new("database", Nesting::List, database))
            .block(NestedBlock::new("redis", Nesting::List, redis)),
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Some(window) = config.attr("window").as_str() else { return };
        // CloudWatch keeps 1-minute data 15 days, and a window of nothing asks for nothing.
        match parse_duration(window) {
            Ok(d) if d.is_zero() || d > MAX_WINDOW => diags.error_at(
                AttributePath::of("window"),
                "Window out of range",
                format!("window {window:?} must be above zero and at most 15 days (360h): CloudWatch keeps 1-minute data that long."),
            ),
            _ => {}
        }
    }

    async fn read(&self, ctx: &Context, req: ReadDataRequest<'_>, resp: &mut ReadDataResponse) {
        let config = req.config;
        let window_text = config.attr("window").as_str().unwrap_or(DEFAULT_WINDOW);
        let window = parse_duration(window_text).unwrap_or(Duration::from_secs(3600)).min(MAX_WINDOW);
        let mut state = config.clone();
        state.set_attr("id", Value::from("capacity"));
        state.set_attr("window", Value::from(window_text));
        // (label, path, headroom) of every line, for the headroom check.
        let mut lines: Vec<(String, AttributePath, Line)> = Vec::new();

        let mut autoscalers = Vec::new();
        for (i, block) in config.attr("autoscaler").elements().iter().enumerate() {
            let (namespace, name) = (block.str_attr("namespace"), block.str_attr("name"));
            match Capacity::autoscaler(ctx, namespace, name).await {
                Ok((kind, line)) => {
                    let mut v = line.clone().into_values(block);
                    v.set_attr("kind", Value::from(kind.as_str()));
                    lines.push((format!("autoscaler {namespace}/{name}"), AttributePath::of("autoscaler").index(i), line));
                    autoscalers.push(v);
                }
                // Every autoscaler, database and group that cannot be read is named, not the first.
                Err(e) => resp.diagnostics.error_at(AttributePath::of("autoscaler").index(i), "Cannot read the autoscaler", e),
            }
        }

        // Databases and Redis groups: their descriptions, then every series in one call.
        let mut queries = Vec::new();
        let mut databases: Vec<(Value, Option<String>, i64)> = Vec::new();
        for (i, block) in config.attr("database").elements().iter().enumerate() {
            let id = block.str_attr("db_instance_identifier");
            match ctx.clients.rds_instance(id).await {
                Ok(Some(instance)) => {
                    queries.push(maximum_per_minute(format!("db{i}"), "AWS/RDS", "DatabaseConnections", ("DBInstanceIdentifier", id)));
                    databases.push((
                        block.clone(),
                        instance.db_instance_class().map(str::to_string),
                        block.attr("max_connections").as_i64().unwrap_or(0),
                    ));
                }
                Ok(None) => resp.diagnostics.error_at(
                    AttributePath::of("database").index(i),
                    "No such DB instance",
                    format!("DB instance {id} does not exist in {}.", ctx.clients.region_name().await),
                ),
                Err(e) => resp.diagnostics.error_at(AttributePath::of("database").index(i), "Cannot read the DB instance", e.to_string()),
            }
        }
        let mut groups: Vec<(Value, Option<String>, Vec<String>)> = Vec::new();
        for (i, block) in config.attr("redis").elements().iter().enumerate() {
            let id = block.str_attr("replication_group_id");
            let group = match async { elasticache::describe_group(ctx.clients.elasticache().await?, id).await }.await {
                Ok(group) => group,
                Err(e) => {
                    resp.diagnostics.error_at(AttributePath::of("redis").index(i), "Cannot read the replication group", e.to_string());
                    continue;
                }
            };
            let Some(group) = group else {
                resp.diagnostics.error_at(
                    AttributePath::of("redis").index(i),
                    "No such replication group",
                    format!("Replication group {id} does not exist in {}.", ctx.clients.region_name().await),
                );
                continue;
            };
            let members: Vec<String> = group.member_clusters().to_vec();
            let ids: Vec<String> = (0..members.len()).map(|m| format!("redis{i}m{m}")).collect();
            for (query_id, member) in ids.iter().zip(&members) {
                queries.push(maximum_per_minute(
                    query_id.clone(),
                    "AWS/ElastiCache",
                    "DatabaseMemoryUsagePercentage",
                    ("CacheClusterId", member),
                ));
            }
            groups.push((block.clone(), group.cache_node_type().map(str::to_string), ids));
        }
        if resp.diagnostics.has_errors() {
            return;
        }
        let found = match Self::metrics(ctx, queries, window).await {
            Ok(found) => found,
            Err(e) => {
                resp.diagnostics.error("Cannot read CloudWatch metrics", e);
                return;
            }
        };

        let mut database_values = Vec::new();
        for (i, (block, class, max_connections)) in databases.into_iter().enumerate() {
            let (peak, latest) = found.get(&format!("db{i}")).copied().unwrap_or_default();
            let line = Line { source: "CloudWatch", current: latest, peak, limit: Some(max_connections as f64) };
            let mut v = line.clone().into_values(&block);
            v.set_attr("instance_class", Value::opt_string(class));
            lines.push((format!("database {}", block.str_attr("db_instance_identifier")), AttributePath::of("database").index(i), line));
            database_values.push(v);
        }
        let mut redis_values = Vec::new();
        for (i, (block, node_type, ids)) in groups.into_iter().enumerate() {
            let (peak, latest) = combined(&found, &ids);
            let line = Line { source: "CloudWatch", current: latest, peak, limit: Some(100.0) };
            let mut v = line.clone().into_values(&block);
            v.set_attr("node_type", Value::opt_string(node_type));
            lines.push((format!("redis {}", block.str_attr("replication_group_id")), AttributePath::of("redis").index(i), line));
            redis_values.push(v);
        }
        state.set_attr("autoscaler", Value::List(autoscalers));
        state.set_attr("database", Value::List(database_values));
        state.set_attr("redis", Value::List(redis_values));
        let lowest =
            lines.iter().filter_map(|(_, _, l)| l.headroom_percent()).fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.min(h))));
        state.set_attr("lowest_headroom_percent", number(lowest));
        headroom_check(config, &lines, window_text, &mut resp.diagnostics);
        resp.state = state;
    }
}

/// Lines short of `min_headroom_percent` are one error each, naming them; a line with no data
/// (no CloudWatch points in the window) is a warning, since nothing says it is short.
fn headroom_check(config: &Value, lines: &[(String, AttributePath, Line)], window: &str, diags: &mut Diagnostics) {
    let Some(min) = config.attr("min_headroom_percent").as_i64() else { return };
    for (label, path, line) in lines {
        match line.headroom_percent() {
            Some(h) if h < min as f64 => diags.error_at(
                path.clone(),
                "Not enough headroom",
                format!(
                    "{label}: {h}% headroom (peak {} of {}), below min_headroom_percent = {min}.",
                    line.peak.unwrap_or_default(),
                    line.limit.unwrap_or_default()
                ),
            ),
            Some(_) => {}
            None => diags.warning_at(
                path.clone(),
                "No data for the headroom check",
                if line.source == "status" {
                    format!("{label}: its autoscaler reports no replicas yet, so its headroom is unknown.")
                } else {
                    format!("{label}: no usage data in the last {window}, so its headroom is unknown.")
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_what_the_peak_leaves_of_the_limit() {
        assert_eq!(Line { current: Some(3.0), peak: Some(3.0), limit: Some(5.0), ..Line::default() }.headroom_percent(), Some(40.0));
        assert_eq!(Line { current: Some(300.0), peak: Some(800.0), limit: Some(2000.0), ..Line::default() }.headroom_percent(), Some(60.0));
        assert_eq!(Line { current: None, peak: None, limit: Some(100.0), ..Line::default() }.headroom_percent(), None);
        assert_eq!(Line { current: Some(1.0), peak: Some(2.0), limit: Some(3.0), ..Line::default() }.headroom_percent(), Some(33.3));
    }
}
