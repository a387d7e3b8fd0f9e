//! The distribution versions and deployment testkit/aws/extensions/cloudfront.py adds to moto,
//! called through aws-sdk-cloudfront as AWS documents the answers (docs/moto-facts.md).

use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::Client;
use scaling_testkit::Moto;

/// The error code and HTTP status a failed call answered.
fn refusal<E: ProvideErrorMetadata>(
    e: &aws_sdk_cloudfront::error::SdkError<E, aws_sdk_cloudfront::config::http::HttpResponse>,
) -> (String, u16) {
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (e.code().unwrap_or("none").to_string(), status)
}

async fn status(c: &Client, id: &str) -> String {
    c.get_distribution().id(id).send().await.unwrap().distribution.unwrap().status().to_string()
}

/// Statuses `id` shows over `reads` GetDistribution calls.
async fn statuses(c: &Client, id: &str, reads: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..reads {
        seen.push(status(c, id).await);
    }
    seen
}

#[test]
fn every_update_is_a_new_version_and_if_match_must_name_the_current_one() {
    let moto = Moto::shared();
    let id = moto.create_distribution("versions", &[("api", "api.example.com")]);
    let (config, first) = moto.distribution_config(&id);
    moto.cloudfront(|c| async move {
        let missing = c.update_distribution().id(&id).distribution_config(config.clone()).send().await.unwrap_err();
        assert_eq!(refusal(&missing), ("InvalidIfMatchVersion".into(), 400));

        let out = c.update_distribution().id(&id).if_match(&first).distribution_config(config.clone()).send().await.unwrap();
        let second = out.e_tag().unwrap().to_string();
        assert_ne!(second, first, "a successful update issues a new ETag");
        let read = c.get_distribution_config().id(&id).send().await.unwrap();
        assert_eq!(read.e_tag(), Some(second.as_str()), "reads answer the new version");

        let stale = c.update_distribution().id(&id).if_match(&first).distribution_config(config.clone()).send().await.unwrap_err();
        assert_eq!(refusal(&stale), ("PreconditionFailed".into(), 412));
        let stale_delete = c.delete_distribution().id(&id).if_match(&first).send().await.unwrap_err();
        assert_eq!(refusal(&stale_delete), ("PreconditionFailed".into(), 412));
    });
}

#[test]
fn a_change_is_in_progress_for_a_few_reads_then_deployed() {
    let moto = Moto::shared();
    let id = moto.create_distribution("deploys", &[("api", "api.example.com")]);
    let (config, etag) = moto.distribution_config(&id);
    moto.cloudfront(|c| async move {
        assert_eq!(statuses(&c, &id, 3).await, ["InProgress", "InProgress", "Deployed"], "a new distribution deploys");
        c.update_distribution().id(&id).if_match(&etag).distribution_config(config).send().await.unwrap();
        assert_eq!(statuses(&c, &id, 3).await, ["InProgress", "InProgress", "Deployed"], "so does each change");
    });
}

#[test]
fn an_enabled_distribution_cannot_be_deleted() {
    let moto = Moto::shared();
    let id = moto.create_distribution("deletes", &[("api", "api.example.com")]);
    let (config, etag) = moto.distribution_config(&id);
    moto.cloudfront(|c| async move {
        let refused = c.delete_distribution().id(&id).if_match(&etag).send().await.unwrap_err();
        assert_eq!(refusal(&refused), ("DistributionNotDisabled".into(), 409));
        let mut disabled = config.clone();
        disabled.enabled = false;
        let out = c.update_distribution().id(&id).if_match(&etag).distribution_config(disabled).send().await.unwrap();
        c.delete_distribution().id(&id).if_match(out.e_tag().unwrap()).send().await.expect("a disabled distribution is deleted");
        let gone = c.get_distribution().id(&id).send().await.unwrap_err();
        assert_eq!(refusal(&gone).0, "NoSuchDistribution");
    });
}

#[test]
fn a_concurrent_update_lands_right_after_a_read() {
    let moto = Moto::shared();
    let id = moto.create_distribution("concurrent", &[("api", "api.example.com")]);
    moto.fail_next("GetDistributionConfig", &id, &["ConcurrentUpdate"]);
    let (config, read_etag) = moto.distribution_config(&id);
    assert_eq!(config.comment(), "the runbook's CDN", "the read is answered as it was before the other change");
    let (now, now_etag) = moto.distribution_config(&id);
    assert_eq!(now.comment(), "changed by another writer");
    assert_ne!(now_etag, read_etag);
    moto.cloudfront(|c| async move {
        let stale = c.update_distribution().id(&id).if_match(&read_etag).distribution_config(config).send().await.unwrap_err();
        assert_eq!(refusal(&stale).0, "PreconditionFailed", "the reader's write meets the other version");
    });
}
