//! CloudFront calls that carry a distribution config as the XML document itself.
//!
//! The SDK parses GetDistributionConfig into its typed model and serializes UpdateDistribution
//! from it, and that model drops every element it does not know. Two interceptors keep the
//! SDK's signing, retries, endpoint and error handling while the document passes through
//! untouched: one keeps the response body GetDistributionConfig read, the other sends a given
//! document as UpdateDistribution's body in place of the serialized model.
//!
//! Reads of one distribution made at the same time (a refresh of shields on several of its
//! origins) share one GetDistribution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudfront::config::interceptors::{AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut};
use aws_sdk_cloudfront::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudfront::types::{Distribution, DistributionConfig};
use aws_sdk_cloudfront::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_types::body::SdkBody;

use crate::aws::error::{AwsError, ClientError, Service};
use crate::framework::wait::{Acceptor, Waiter};
use crate::reads::batch::Batcher;
use crate::reads::refresh::{ListingPolicy, SharedListing, WriteCount};

/// A distribution config as CloudFront sent it, with the version it stands for.
pub struct ConfigVersion {
    /// The document, byte for byte.
    pub xml: String,
    /// What UpdateDistribution's If-Match must name for this version.
    pub etag: String,
    /// The SDK's reading of the same document; UpdateDistribution's builder needs one.
    pub typed: DistributionConfig,
}

/// The config of distribution `id`, or None when there is no such distribution.
pub async fn get_config(client: &Client, id: &str) -> Result<Option<ConfigVersion>, AwsError> {
    let body = Arc::new(Mutex::new(None));
    let sent = client.get_distribution_config().id(id).customize().interceptor(KeepResponseBody(body.clone())).send().await;
    let Some(out) = found(sent.map_err(|e| AwsError::from_sdk(Service::CloudFront, "GetDistributionConfig", &e)))? else {
        return Ok(None);
    };
    let malformed = |what: &str| AwsError::unreadable("GetDistributionConfig", what);
    let xml = body.lock().ok().and_then(|mut b| b.take()).ok_or_else(|| malformed("the answer's body was not kept"))?;
    Ok(Some(ConfigVersion {
        xml: String::from_utf8(xml).map_err(|_| malformed("the config is not UTF-8"))?,
        etag: out.e_tag().ok_or_else(|| malformed("the answer has no ETag"))?.to_string(),
        typed: out.distribution_config.ok_or_else(|| malformed("the answer has no config"))?,
    }))
}

/// Replaces the config of distribution `id` with `xml`, if the distribution is still at
/// `version` (else CloudFront answers PreconditionFailed); returns the new ETag.
pub async fn update_config(client: &Client, id: &str, version: &ConfigVersion, xml: String) -> Result<Option<String>, AwsError> {
    client
        .update_distribution()
        .id(id)
        .if_match(&version.etag)
        .distribution_config(version.typed.clone())
        .customize()
        .interceptor(SendDocument(xml))
        .send()
        .await
        .map(|out| out.e_tag().map(str::to_string))
        .map_err(|e| AwsError::from_sdk(Service::CloudFront, "UpdateDistribution", &e))
}

/// Distribution `id` with its status and ETag, or None when there is no such distribution.
pub async fn get_distribution(client: &Client, id: &str) -> Result<Option<Described>, AwsError> {
    let sent = client.get_distribution().id(id).send().await;
    let out = found(sent.map_err(|e| AwsError::from_sdk(Service::CloudFront, "GetDistribution", &e)))?;
    Ok(out.and_then(|out| {
        let etag = out.e_tag().map(str::to_string);
        out.distribution.map(|d| (d, etag))
    }))
}

/// An answer, or None when CloudFront says there is no such distribution.
fn found<T>(answer: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match answer {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A distribution as GetDistribution answers it, with its ETag.
pub type Described = (Distribution, Option<String>);

/// A refresh reads each distribution once, however many origins of it are resources.
const IN_REFRESH: ListingPolicy = ListingPolicy { reads_before_listing: 0, max_age: Duration::from_secs(30) };

/// Concurrent reads of distributions: each distinct id is read once per batch, and each read
/// answers for itself (one distribution's error is not another's).
pub struct DistributionLookup {
    client: Client,
    batcher: Batcher<Result<Described, ClientError>, ClientError>,
    /// Each distribution as the refresh first read it: the "listing" of a distribution's scope
    /// is the distribution itself.
    in_refresh: SharedListing<Described>,
}

impl DistributionLookup {
    /// `writes` counts the writes made through `client` (see `WriteCount::aws_interceptor`).
    pub fn new(client: Client, writes: WriteCount) -> DistributionLookup {
        let batch_client = client.clone();
        DistributionLookup {
            client,
            batcher: Batcher::new(100, Duration::from_millis(5), move |ids| read_each(batch_client.clone(), ids)),
            in_refresh: SharedListing::new(IN_REFRESH, writes),
        }
    }

    /// Distribution `id` as CloudFront reports it now, or None when there is no such
    /// distribution.
    pub async fn get(&self, id: &str) -> Result<Option<Described>, ClientError> {
        self.batcher.get(id).await?.transpose()
    }

    /// Like `get`, for a refresh: the refresh's one read of the distribution.
    pub async fn get_in_refresh(&self, id: &str) -> Result<Option<Described>, ClientError> {
        let read_once = || async {
            Ok::<_, ClientError>(get_distribution(&self.client, id).await?.map(|found| (id.to_string(), found)).into_iter().collect())
        };
        if let Some(found) = self.in_refresh.get(id, id, read_once).await {
            return Ok(Some(found));
        }
        self.get(id).await
    }
}

async fn read_each(client: Client, ids: Vec<String>) -> Result<HashMap<String, Result<Described, ClientError>>, ClientError> {
    let reads = ids.iter().map(|id| get_distribution(&client, id));
    let answers = futures_util::future::join_all(reads).await;
    Ok(ids
        .into_iter()
        .zip(answers)
        .filter_map(|(id, answer)| match answer {
            Ok(Some(found)) => Some((id, Ok(found))),
            Ok(None) => None,
            Err(e) => Some((id, Err(e.into()))),
        })
        .collect())
}

/// Keeps the body of a successful response (read into memory by then).
#[derive(Debug)]
struct KeepResponseBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for KeepResponseBody {
    fn name(&self) -> &'static str {
        "KeepResponseBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success() {
            if let (Some(bytes), Ok(mut kept)) = (response.body().bytes(), self.0.lock()) {
                *kept = Some(bytes.to_vec());
            }
        }
        Ok(())
    }
}

/// Sends this document as the request body, before the request is signed.
#[derive(Debug)]
struct SendDocument(String);

impl Intercept for SendDocument {
    fn name(&self) -> &'static str {
        "SendDocument"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        request.headers_mut().insert("content-length", self.0.len().to_string());
        *request.body_mut() = SdkBody::from(self.0.clone());
        Ok(())
    }
}

/// Waits until CloudFront reports distribution `id` `Deployed` (every edge has the change).
pub async fn wait_deployed(
    client: &Client,
    stop: &tokio_util::sync::CancellationToken,
    id: &str,
    max_wait: Duration,
) -> Result<(), String> {
    Waiter::new(max_wait)
        .with_delays(Duration::from_secs(1), Duration::from_secs(30))
        .wait(&format!("distribution {id} to be Deployed"), stop, || async {
            match get_distribution(client, id).await {
                Ok(Some((d, _))) if d.status() == "Deployed" => Ok(Acceptor::Success(())),
                Ok(Some((d, _))) => Ok(Acceptor::Retry(d.status().to_string())),
                Ok(None) => Ok(Acceptor::Failure(format!("distribution {id} no longer exists"))),
                Err(e) => e.in_wait(),
            }
        })
        .await
        .map_err(|e| e.to_string())
}
