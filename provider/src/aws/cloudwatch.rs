//! CloudWatch metrics as `scaling_capacity` reads them: each series' highest value over a
//! window and its latest, for many series in as few GetMetricData calls as the API allows.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use crate::aws::error::{AwsError, Service};

/// GetMetricData's limit ("You can include as many as 500 queries in one GetMetricData
/// operation", CloudWatch API Reference).
const MAX_QUERIES_PER_CALL: usize = 500;

/// Query id => (the highest value over the window, the latest value); None where the series
/// has no data.
pub type PeaksAndLatest = BTreeMap<String, (Option<f64>, Option<f64>)>;

/// A GetMetricData query: the series' maximum per minute.
pub fn maximum_per_minute(id: String, namespace: &str, metric: &str, dimension: (&str, &str)) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(metric)
        .dimensions(Dimension::builder().name(dimension.0).value(dimension.1).build())
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(MetricStat::builder().metric(metric).period(60).stat("Maximum").build())
        .return_data(true)
        .build()
}

/// The series of `queries` over the last `window`, fetched at once: at most 500 queries a
/// call, so many (or a large Redis group's) take several, each paginated.
pub async fn peaks_and_latest(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    queries: Vec<MetricDataQuery>,
    window: Duration,
) -> Result<PeaksAndLatest, String> {
    let end = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let start = aws_smithy_types::DateTime::from(std::time::SystemTime::now() - window);
    let mut series: BTreeMap<String, Vec<(aws_smithy_types::DateTime, f64)>> = BTreeMap::new();
    for batch in queries.chunks(MAX_QUERIES_PER_CALL) {
        let call = cloudwatch.get_metric_data().set_metric_data_queries(Some(batch.to_vec())).start_time(start).end_time(end);
        let mut pages = call.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk(Service::CloudWatch, "GetMetricData", &e).to_string())?;
            for result in page.metric_data_results() {
                let points = result.timestamps().iter().copied().zip(result.values().iter().copied());
                series.entry(result.id().unwrap_or_default().to_string()).or_default().extend(points);
            }
        }
    }
    Ok(series
        .into_iter()
        .map(|(id, points)| {
            let peak = points.iter().map(|(_, v)| *v).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            let latest = points.iter().max_by_key(|(t, _)| *t).map(|(_, v)| *v);
            (id, (peak, latest))
        })
        .collect())
}

/// Folds the series of several queries (a Redis group's member clusters) into one: the highest
/// peak, and the highest latest value.
pub fn combined(found: &PeaksAndLatest, ids: &[String]) -> (Option<f64>, Option<f64>) {
    let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    ids.iter().filter_map(|id| found.get(id)).fold((None, None), |(p, l), (peak, latest)| (max(p, *peak), max(l, *latest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_groups_fullest_node_counts() {
        let found: PeaksAndLatest = [("a".into(), (Some(40.0), Some(30.0))), ("b".into(), (Some(55.0), Some(20.0)))].into_iter().collect();
        assert_eq!(combined(&found, &["a".into(), "b".into()]), (Some(55.0), Some(30.0)));
    }
}
