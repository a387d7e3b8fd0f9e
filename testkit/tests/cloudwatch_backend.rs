//! CloudWatch over Smithy RPC v2 CBOR, which testkit/aws/extensions/cloudwatch.py adds to moto,
//! called through aws-sdk-cloudwatch (which speaks only that protocol), as AWS documents the
//! answers (docs/moto-facts.md).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StatusCode};
use scaling_testkit::{Moto, REGION};

fn connections(instance: &str) -> Metric {
    Metric::builder()
        .namespace("AWS/RDS")
        .metric_name("DatabaseConnections")
        .dimensions(Dimension::builder().name("DBInstanceIdentifier").value(instance).build())
        .build()
}

fn ago(minutes: u64) -> DateTime {
    DateTime::from(SystemTime::now() - Duration::from_secs(minutes * 60))
}

#[tokio::test]
async fn metrics_put_and_read_back_in_cbor_per_minute_maximum() {
    let moto = Moto::shared();
    let c = aws_sdk_cloudwatch::Client::new(&moto.sdk_config(REGION));
    let datum = |minutes: u64, value: f64| {
        MetricDatum::builder()
            .metric_name("DatabaseConnections")
            .dimensions(Dimension::builder().name("DBInstanceIdentifier").value("cw-production").build())
            .timestamp(ago(minutes))
            .value(value)
            .build()
    };
    c.put_metric_data().namespace("AWS/RDS").metric_data(datum(30, 800.0)).metric_data(datum(5, 300.0)).send().await.expect("put");

    let query = MetricDataQuery::builder()
        .id("connections")
        .metric_stat(MetricStat::builder().metric(connections("cw-production")).period(60).stat("Maximum").build())
        .build();
    let got = c.get_metric_data().metric_data_queries(query).start_time(ago(60)).end_time(ago(0)).send().await.expect("get");
    let result = &got.metric_data_results()[0];
    assert_eq!(result.id(), Some("connections"));
    assert_eq!(result.status_code(), Some(&StatusCode::Complete));
    let mut values = result.values().to_vec();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, [300.0, 800.0]);
    assert_eq!(result.timestamps().len(), 2);

    // A series with no points answers no values, not an error.
    let other = MetricDataQuery::builder()
        .id("quiet")
        .metric_stat(MetricStat::builder().metric(connections("cw-quiet")).period(60).stat("Maximum").build())
        .build();
    let got = c.get_metric_data().metric_data_queries(other).start_time(ago(60)).end_time(ago(0)).send().await.expect("get");
    assert!(got.metric_data_results()[0].values().is_empty());
}

#[tokio::test]
async fn a_refused_request_is_a_cbor_error_with_its_code() {
    let moto = Moto::shared();
    let c = aws_sdk_cloudwatch::Client::new(&moto.sdk_config(REGION));
    let query = MetricDataQuery::builder()
        .id("q")
        .metric_stat(MetricStat::builder().metric(connections("cw-production")).period(60).stat("Maximum").build())
        .build();
    let refused = c.get_metric_data().metric_data_queries(query).start_time(ago(0)).end_time(ago(60)).send().await;
    let e = refused.expect_err("EndTime before StartTime");
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(e.message(), Some("The parameter EndTime must be greater than StartTime."));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
    let header = e.raw_response().and_then(|r| r.headers().get("x-amzn-query-error"));
    assert_eq!(header, Some("ValidationError;Sender"), "query-compatible code");
}

/// GetMetricData takes at most 500 queries a call (CloudWatch API Reference, GetMetricData).
#[tokio::test]
async fn more_than_500_queries_in_one_call_are_refused() {
    let moto = Moto::shared();
    let c = aws_sdk_cloudwatch::Client::new(&moto.sdk_config(REGION));
    let queries = |n: usize| {
        (0..n)
            .map(|i| {
                MetricDataQuery::builder()
                    .id(format!("q{i}"))
                    .metric_stat(MetricStat::builder().metric(connections(&format!("cw-{i}"))).period(60).stat("Maximum").build())
                    .build()
            })
            .collect::<Vec<_>>()
    };
    let got = c.get_metric_data().set_metric_data_queries(Some(queries(500))).start_time(ago(60)).end_time(ago(0)).send().await;
    assert_eq!(got.expect("500 is the limit").metric_data_results().len(), 500);
    let refused = c.get_metric_data().set_metric_data_queries(Some(queries(501))).start_time(ago(60)).end_time(ago(0)).send().await;
    let e = refused.expect_err("501 queries");
    assert_eq!(e.code(), Some("ValidationError"));
    assert!(e.message().unwrap_or_default().contains("less than or equal to 500"), "{e:?}");
}
