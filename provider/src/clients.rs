//! API clients. Configuring the provider only records settings; the AWS configuration (which
//! may read profile files or ask instance metadata for a region) and each client are built on
//! first use. So start-up, schema requests and configuration touch no SDK, and a workspace
//! with only Kubernetes resources needs no AWS settings at all.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_rds::types::DbInstance;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason};
use aws_types::SdkConfig;

use crate::aws::cloudfront::{Described, DistributionLookup};
use crate::aws::elasticache::RefreshReads as ElastiCacheReads;
use crate::aws::error::ClientError;
use crate::aws::rds::InstanceLookup;
use crate::kube::list::ObjectListings;
use crate::reads::refresh::WriteCount;

/// Endpoint overrides for emulators and VPC endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub rds: Option<String>,
    pub elasticache: Option<String>,
    pub cloudfront: Option<String>,
    pub eks: Option<String>,
    pub cloudwatch: Option<String>,
}

/// How to build the AWS configuration: region and profile as set in the provider block (else
/// the standard chain), and the retry budget for throttling and transient errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub max_attempts: u32,
}

/// Limits on every call to AWS or Kubernetes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTimeouts {
    pub connect: std::time::Duration,
    pub read: std::time::Duration,
}

impl CallTimeouts {
    /// The deadline of one AWS call with all its attempts: a connection and two reads, so a
    /// retry after a dropped connection or a throttled answer still fits, while an endpoint
    /// that accepts connections and never answers fails after two read timeouts, not after
    /// `max_retries` + 1 of them (five minutes with the defaults before there was one).
    pub fn operation(&self) -> std::time::Duration {
        self.connect + self.read * 2
    }
}

/// Where to find the cluster: a kubeconfig file and context, or kube's usual inference
/// (KUBECONFIG, ~/.kube/config, then in-cluster service account).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeSettings {
    pub config_path: Option<String>,
    pub context: Option<String>,
    /// Retries of a request the API server answered 429, 503 or 504 (`max_retries`).
    pub max_retries: u32,
}

/// What the cluster serves: found on first use, and again when something a configuration
/// needs is missing (a CRD installed earlier in the same apply).
#[derive(Clone, Debug)]
pub struct KubeApis {
    /// The API server's URL, for messages that must say where a request went.
    pub server: String,
    /// `v2` where served (Kubernetes 1.23+), else `v2beta2`.
    pub hpa_version: Option<&'static str>,
    pub keda: bool,
}

pub struct Clients {
    aws_settings: AwsSettings,
    timeouts: CallTimeouts,
    /// Fires on StopProvider; every client's calls in flight end with it.
    stop: tokio_util::sync::CancellationToken,
    aws: tokio::sync::OnceCell<Result<SdkConfig, ClientError>>,
    endpoints: Endpoints,
    kube_settings: KubeSettings,
    kube: tokio::sync::OnceCell<KubeConnection>,
    /// Held across a discovery, so concurrent first uses share one; with when it was found.
    kube_apis: tokio::sync::Mutex<Option<(KubeApis, std::time::Instant)>>,
    rds: OnceLock<aws_sdk_rds::Client>,
    elasticache: OnceLock<aws_sdk_elasticache::Client>,
    cloudfront: OnceLock<aws_sdk_cloudfront::Client>,
    eks: OnceLock<aws_sdk_eks::Client>,
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
    rds_instances: OnceLock<InstanceLookup>,
    /// Counts this provider's writes, so that a refresh's shared listings never answer with
    /// what a write may have changed.
    writes: WriteCount,
    kube_objects: OnceLock<ObjectListings>,
    /// Namespaces found to exist, so that the plans of many objects in one namespace stop
    /// asking once one found it (plans ask at once, not in turn: a silent API server costs
    /// each one read_timeout, not the sum). A missing one is asked again: it may be created.
    kube_namespaces: std::sync::Mutex<std::collections::HashSet<String>>,
    elasticache_reads: OnceLock<ElastiCacheReads>,
    distributions: OnceLock<DistributionLookup>,
    /// One writer at a time per distribution from this provider: resources on several of its
    /// origins take turns instead of failing each other's If-Match.
    distribution_writers: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Clients {
    pub fn new(
        aws_settings: AwsSettings,
        endpoints: Endpoints,
        kube_settings: KubeSettings,
        timeouts: CallTimeouts,
        stop: tokio_util::sync::CancellationToken,
    ) -> Clients {
        Clients {
            aws_settings,
            timeouts,
            stop,
            aws: tokio::sync::OnceCell::new(),
            endpoints,
            kube_settings,
            kube: tokio::sync::OnceCell::new(),
            kube_apis: tokio::sync::Mutex::new(None),
            rds: OnceLock::new(),
            elasticache: OnceLock::new(),
            cloudfront: OnceLock::new(),
            eks: OnceLock::new(),
            cloudwatch: OnceLock::new(),
            rds_instances: OnceLock::new(),
            writes: WriteCount::new(),
            kube_objects: OnceLock::new(),
            kube_namespaces: std::sync::Mutex::new(Default::default()),
            elasticache_reads: OnceLock::new(),
            distributions: OnceLock::new(),
            distribution_writers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The AWS configuration for regional services, loaded on first use; an error says what
    /// is missing.
    pub async fn aws(&self) -> Result<&SdkConfig, ClientError> {
        let aws = self.aws_loaded().await?;
        if aws.region().is_none() {
            return Err(ClientError::Setup(
                "No AWS region: set region in the provider block, AWS_REGION in the environment, or a region in the selected profile."
                    .to_string(),
            ));
        }
        Ok(aws)
    }

    /// The region AWS calls go to, for messages ("does not exist in eu-west-1").
    pub async fn region_name(&self) -> String {
        match self.aws().await.ok().and_then(|c| c.region()) {
            Some(region) => region.to_string(),
            None => "this region".to_string(),
        }
    }

    /// The AWS configuration, with or without a region (global services need none).
    async fn aws_loaded(&self) -> Result<&SdkConfig, ClientError> {
        self.aws.get_or_init(|| load_aws(&self.aws_settings, self.timeouts, &self.stop)).await.as_ref().map_err(Clone::clone)
    }

    /// The Kubernetes client and what the cluster serves, set up on first use. A failure is
    /// not kept: the next call tries again (the API server may have been starting).
    pub async fn kube(&self) -> Result<(&kube::Client, KubeApis), String> {
        self.kube_discovered(|_| true).await
    }

    /// Like `kube`, but discovers again unless what is known already satisfies `enough`, or
    /// was found less than a second ago: resources that find the same thing missing at once
    /// share one new discovery, and a cluster that lacks it is not asked once per resource.
    pub async fn kube_discovered(&self, enough: impl Fn(&KubeApis) -> bool) -> Result<(&kube::Client, KubeApis), String> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        let KubeConnection { client, server, .. } =
            self.kube.get_or_try_init(|| connect_kube(&self.kube_settings, self.timeouts, &self.stop, &self.writes)).await?;
        let mut known = self.kube_apis.lock().await;
        if let Some((apis, _)) = known.as_ref().filter(|(apis, at)| enough(apis) || at.elapsed() < FRESH) {
            return Ok((client, apis.clone()));
        }
        let apis = discover(client, server).await?;
        *known = Some((apis.clone(), std::time::Instant::now()));
        Ok((client, apis))
    }

    /// Whether the namespace exists (`kube::namespace::exists`), remembered once it does.
    pub async fn kube_namespace_exists(&self, name: &str) -> Result<Option<bool>, String> {
        let (client, apis) = self.kube().await?;
        if self.kube_namespaces.lock().map(|known| known.contains(name)).unwrap_or(false) {
            return Ok(Some(true));
        }
        let found = crate::kube::namespace::exists(client, name)
            .await
            .map_err(|e| crate::kube::error::describe(&format!("reading namespace {name}"), &e, &apis.server))?;
        if found == Some(true) {
            if let Ok(mut known) = self.kube_namespaces.lock() {
                known.insert(name.to_string());
            }
        }
        Ok(found)
    }

    /// Kubernetes objects for ReadResource: a refresh that reads several of one kind in one
    /// namespace shares one LIST of them, no older than this provider's last write.
    pub fn kube_objects_in_refresh(&self) -> &ObjectListings {
        self.kube_objects.get_or_init(|| ObjectListings::new(self.writes.clone()))
    }

    /// A Kubernetes client that Terraform's stop does not end, for the one look a create that
    /// was stopped mid-POST takes to learn whether its object exists. None before any client was
    /// made (then no POST was sent).
    pub fn kube_after_stop(&self) -> Option<&kube::Client> {
        self.kube.get().map(|k| &k.after_stop)
    }

    pub async fn rds(&self) -> Result<&aws_sdk_rds::Client, ClientError> {
        let aws = self.aws().await?;
        Ok(self.rds.get_or_init(|| {
            let mut conf = aws_sdk_rds::config::Builder::from(aws)
                .retry_classifier(ShedOrUnavailable)
                .retry_partition(no_retry_quota("rds"))
                .interceptor(self.writes.aws_interceptor());
            if let Some(url) = &self.endpoints.rds {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_rds::Client::from_conf(conf.build())
        }))
    }

    pub async fn elasticache(&self) -> Result<&aws_sdk_elasticache::Client, ClientError> {
        let aws = self.aws().await?;
        Ok(self.elasticache.get_or_init(|| {
            let mut conf = aws_sdk_elasticache::config::Builder::from(aws)
                .retry_classifier(ShedOrUnavailable)
                .retry_partition(no_retry_quota("elasticache"))
                .interceptor(self.writes.aws_interceptor());
            if let Some(url) = &self.endpoints.elasticache {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_elasticache::Client::from_conf(conf.build())
        }))
    }

    pub async fn eks(&self) -> Result<&aws_sdk_eks::Client, ClientError> {
        let aws = self.aws().await?;
        Ok(self.eks.get_or_init(|| {
            let mut conf = aws_sdk_eks::config::Builder::from(aws)
                .retry_classifier(ShedOrUnavailable)
                .retry_partition(no_retry_quota("eks"))
                .interceptor(self.writes.aws_interceptor());
            if let Some(url) = &self.endpoints.eks {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_eks::Client::from_conf(conf.build())
        }))
    }

    pub async fn cloudwatch(&self) -> Result<&aws_sdk_cloudwatch::Client, ClientError> {
        let aws = self.aws().await?;
        Ok(self.cloudwatch.get_or_init(|| {
            let mut conf = aws_sdk_cloudwatch::config::Builder::from(aws)
                .retry_classifier(ShedOrUnavailable)
                .retry_partition(no_retry_quota("cloudwatch"))
                .interceptor(self.writes.aws_interceptor());
            if let Some(url) = &self.endpoints.cloudwatch {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_cloudwatch::Client::from_conf(conf.build())
        }))
    }

    /// ElastiCache groups and clusters for ReadResource: a refresh that reads many shares one
    /// listing of each, no older than this provider's last write.
    pub fn elasticache_in_refresh(&self) -> &ElastiCacheReads {
        self.elasticache_reads.get_or_init(|| ElastiCacheReads::new(self.writes.clone()))
    }

    /// CloudFront is global: its API is in us-east-1 (cn-northwest-1 in the China partition)
    /// and signed for it, whatever region the provider uses, and a workspace with only
    /// CloudFront resources needs no region at all.
    pub async fn cloudfront(&self) -> Result<&aws_sdk_cloudfront::Client, ClientError> {
        let aws = self.aws_loaded().await?;
        Ok(self.cloudfront.get_or_init(|| {
            let china = aws.region().is_some_and(|r| r.as_ref().starts_with("cn-"));
            let home = if china { "cn-northwest-1" } else { "us-east-1" };
            let mut conf = aws_sdk_cloudfront::config::Builder::from(aws)
                .region(aws_sdk_cloudfront::config::Region::from_static(home))
                .retry_classifier(ShedOrUnavailable)
                .retry_partition(no_retry_quota("cloudfront"))
                .interceptor(self.writes.aws_interceptor());
            if let Some(url) = &self.endpoints.cloudfront {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_cloudfront::Client::from_conf(conf.build())
        }))
    }

    /// One CloudFront distribution by id, or None when it does not exist. Concurrent look-ups
    /// of one distribution share one GetDistribution call.
    pub async fn distribution(&self, id: &str) -> Result<Option<Described>, ClientError> {
        self.distribution_lookup().await?.get(id).await
    }

    /// Like `distribution`, for ReadResource: a refresh reads each distribution once, however
    /// many of its origins it refreshes, as it was after this provider's last write.
    pub async fn distribution_in_refresh(&self, id: &str) -> Result<Option<Described>, ClientError> {
        self.distribution_lookup().await?.get_in_refresh(id).await
    }

    async fn distribution_lookup(&self) -> Result<&DistributionLookup, ClientError> {
        let client = self.cloudfront().await?;
        Ok(self.distributions.get_or_init(|| DistributionLookup::new(client.clone(), self.writes.clone())))
    }

    /// This provider's turn to write distribution `id`; held from reading its config to
    /// writing it.
    pub async fn distribution_writer(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = match self.distribution_writers.lock() {
            Ok(mut writers) => writers.entry(id.to_string()).or_default().clone(),
            // A writer panicked while inserting: nothing to share, so no turn to wait for.
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        };
        lock.lock_owned().await
    }

    /// One DB instance by identifier as RDS reports it now, or None when it does not exist.
    /// Concurrent look-ups share one filtered DescribeDBInstances call.
    pub async fn rds_instance(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        self.instance_lookup().await?.get(id).await
    }

    /// Like `rds_instance`, for ReadResource: a refresh that reads many instances shares one
    /// listing of them, no older than this provider's last write.
    pub async fn rds_instance_in_refresh(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        self.instance_lookup().await?.get_in_refresh(id).await
    }

    async fn instance_lookup(&self) -> Result<&InstanceLookup, ClientError> {
        let client = self.rds().await?;
        Ok(self.rds_instances.get_or_init(|| InstanceLookup::new(client.clone(), self.writes.clone())))
    }
}

async fn load_aws(
    settings: &AwsSettings,
    timeouts: CallTimeouts,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<SdkConfig, ClientError> {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .read_timeout(timeouts.read)
                .operation_timeout(timeouts.operation())
                .build(),
        )
        // Its calls end when Terraform stops the provider.
        .http_client(crate::stop::StoppableHttpClient::new(https_client(), stop.clone()));
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    let aws = loader.load().await;
    let region = aws.region().cloned();
    tracing::debug!(region = region.as_ref().map(|r| r.as_ref()), "AWS configuration loaded");
    match &settings.profile {
        Some(profile) => with_profile_credentials(aws, profile, region).await,
        None => Ok(aws),
    }
}

/// The default chain reads environment credentials before any profile, so a named profile,
/// even a misspelt one, would be ignored whenever AWS_ACCESS_KEY_ID is set: the profile's own
/// provider is used instead, checked once so that a profile without credentials fails at plan.
/// It gets the region, which a profile that assumes a role needs to reach STS.
async fn with_profile_credentials(aws: SdkConfig, profile: &str, region: Option<aws_config::Region>) -> Result<SdkConfig, ClientError> {
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::provider_config::ProviderConfig;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
    let config = ProviderConfig::without_region().with_region(region);
    let credentials = ProfileFileCredentialsProvider::builder().configure(&config).profile_name(profile).build();
    if let Err(e) = credentials.provide_credentials().await {
        return Err(ClientError::Setup(format!(
            "AWS profile {profile:?} (from the provider block) gives no credentials: {}",
            crate::error_chain::chain(&e)
        )));
    }
    Ok(aws.into_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build())
}

/// A retry partition without the SDK's client-side retry quota (a token bucket of 500 that
/// every throttled retry draws 5 from, shared by all calls of a client): a large apply against
/// a throttling account emptied it and then failed calls at their first throttle, whatever
/// max_retries says. terraform-provider-aws turned the same quota off for that reason
/// (hashicorp/terraform-provider-aws#34669, #36094); max_retries and the backoff bound retries.
fn no_retry_quota(service: &'static str) -> aws_smithy_runtime::client::retries::RetryPartition {
    use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
    RetryPartition::custom(service).token_bucket(TokenBucket::unlimited()).build()
}

/// HTTP 429 is retried like the 5xx statuses the SDK retries: a proxy or gateway in front of
/// AWS answers it without an AWS error code, which the SDK's own throttling check needs. Such
/// an answer's `Retry-After` (seconds) is honoured up to the SDK's maximum backoff (20 s); the
/// SDK itself reads only AWS's `x-amz-retry-after`.
#[derive(Debug)]
struct ShedOrUnavailable;

impl ClassifyRetry for ShedOrUnavailable {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response().map(|r| r.status().as_u16()) {
            Some(429) => RetryAction::throttling_error(),
            Some(500 | 502 | 503 | 504) => RetryAction::server_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let verdict = match previous {
            RetryAction::NoActionIndicated => self.classify_retry(ctx),
            earlier => earlier.clone(),
        };
        let retry_after =
            ctx.response().and_then(|r| r.headers().get("retry-after")).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        match (verdict, retry_after) {
            (RetryAction::RetryIndicated(RetryReason::RetryableError { kind, retry_after: None }), Some(delay)) => {
                RetryAction::retryable_error_with_explicit_delay(kind, delay)
            }
            (verdict, _) => verdict,
        }
    }

    fn name(&self) -> &'static str {
        "HTTP status with Retry-After"
    }

    /// Last, so that it sees what the SDK's own classifiers made of the answer.
    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// kube's retry policy, except that a create (POST) is asked again only after a 429: a 503 or
/// 504 may come after the object was made, and a second POST would then meet AlreadyExists.
/// A server's Retry-After is honoured up to `MAX_DELAY`, as the AWS SDK caps its own.
#[derive(Clone)]
struct KubeRetries(kube::client::retry::RetryPolicy);

impl KubeRetries {
    const MAX_DELAY: Duration = Duration::from_secs(20);
}

impl<B> tower::retry::Policy<http::Request<kube::client::Body>, http::Response<B>, tower::BoxError> for KubeRetries {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut http::Request<kube::client::Body>,
        result: &mut Result<http::Response<B>, tower::BoxError>,
    ) -> Option<Self::Future> {
        let shed = matches!(result, Ok(r) if r.status() == http::StatusCode::TOO_MANY_REQUESTS);
        if request.method() == http::Method::POST && !shed {
            return None;
        }
        let delay = self.0.retry(request, result)?;
        let latest = tokio::time::Instant::now() + Self::MAX_DELAY;
        Some(if delay.deadline() > latest { tokio::time::sleep_until(latest) } else { delay })
    }

    fn clone_request(&mut self, request: &http::Request<kube::client::Body>) -> Option<http::Request<kube::client::Body>> {
        tower::retry::Policy::<_, http::Response<B>, tower::BoxError>::clone_request(&mut self.0, request)
    }
}

/// The SDK's default HTTPS client (hyper; rustls with aws-lc; proxy settings from the
/// environment), built here because the SDK builds its own only when none is given, and this
/// one is wrapped.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The Kubernetes clients, made once from the kubeconfig.
struct KubeConnection {
    /// Every call ends when Terraform stops the provider, and is retried as `max_retries` says.
    client: kube::Client,
    /// One attempt, bounded by the timeouts only: for the look after a stopped create.
    after_stop: kube::Client,
    /// The API server's URL, for messages.
    server: String,
}

async fn connect_kube(
    settings: &KubeSettings,
    timeouts: CallTimeouts,
    stop: &tokio_util::sync::CancellationToken,
    writes: &WriteCount,
) -> Result<KubeConnection, String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let options = KubeConfigOptions { context: settings.context.clone(), ..KubeConfigOptions::default() };
    let config_path = settings.config_path.as_deref().map(expand_home);
    let config = match (&config_path, &settings.context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(|e| format!("cannot read kubeconfig {path}: {e}"))?;
            kube::Config::from_custom_kubeconfig(file, &options).await.map_err(|e| format!("kubeconfig {path}: {e}"))?
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options).await.map_err(|e| format!("kubeconfig: {e}"))?,
        (None, None) => kube::Config::infer().await.map_err(|e| format!("no Kubernetes configuration found: {e}"))?,
    };
    let mut config = config;
    config.connect_timeout = Some(timeouts.connect);
    config.read_timeout = Some(timeouts.read);
    config.write_timeout = Some(timeouts.read);
    // The read timeout counts from each request, not from when a pooled connection went idle.
    config.reset_reader_on_write = true;
    let server = config.cluster_url.to_string();
    // An API server that sheds load (priority and fairness: 429 with Retry-After) or is briefly
    // unavailable is asked again, honouring Retry-After, as often as max_retries says. kube's
    // own default (15 retries, backing off up to 1000 s) would hold a plan for hours.
    config.default_retry = false;
    let retries = KubeRetries(
        kube::client::retry::RetryPolicy::new(Duration::from_millis(250), Duration::from_secs(10), settings.max_retries, true)
            .map_err(|e| format!("Kubernetes retry policy: {e}"))?,
    );
    let after_stop = kube::Client::try_from(config.clone()).map_err(|e| format!("Kubernetes client: {e}"))?;
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| format!("Kubernetes client: {e}"))?
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(retries))
        .with_layer(&crate::stop::StopLayer(stop.clone()))
        .with_layer(&writes.kube_layer())
        .build();
    Ok(KubeConnection { client, after_stop, server })
}

/// Which autoscaling APIs the cluster serves now.
async fn discover(client: &kube::Client, server: &str) -> Result<KubeApis, String> {
    let groups =
        client.list_api_groups().await.map_err(|e| crate::kube::error::describe("listing the cluster's API groups", &e, server))?;
    let versions = |group: &str| -> Vec<String> {
        groups.groups.iter().filter(|g| g.name == group).flat_map(|g| g.versions.iter().map(|v| v.version.clone())).collect()
    };
    let hpa = versions("autoscaling");
    let apis = KubeApis {
        server: server.to_string(),
        hpa_version: if hpa.iter().any(|v| v == "v2") {
            Some("v2")
        } else if hpa.iter().any(|v| v == "v2beta2") {
            Some("v2beta2")
        } else {
            None
        },
        keda: versions("keda.sh").iter().any(|v| v == "v1alpha1"),
    };
    tracing::debug!(hpa_version = apis.hpa_version.unwrap_or("none"), keda = apis.keda, "discovered the cluster's autoscaling APIs");
    Ok(apis)
}

/// `~/x` means `$HOME/x`, as it does for kubectl.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

/// RDS waits read through the provider's shared look-ups and end on its stop signal.
impl crate::aws::rds::InstanceSource for crate::framework::Context<Clients> {
    async fn instance(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        self.clients.rds_instance(id).await
    }

    fn stop(&self) -> &tokio_util::sync::CancellationToken {
        &self.stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::retry::Policy;

    fn asked_again(method: http::Method, status: http::StatusCode) -> bool {
        let policy = kube::client::retry::RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(2), 3, true).unwrap();
        let mut request = http::Request::builder().method(method).uri("/x").body(kube::client::Body::from(Vec::new())).unwrap();
        let mut answer: Result<http::Response<()>, tower::BoxError> = Ok(http::Response::builder().status(status).body(()).unwrap());
        KubeRetries(policy).retry(&mut request, &mut answer).is_some()
    }

    #[tokio::test]
    async fn a_create_is_asked_again_only_when_the_server_shed_it() {
        use http::{Method, StatusCode};
        assert!(asked_again(Method::POST, StatusCode::TOO_MANY_REQUESTS));
        assert!(!asked_again(Method::POST, StatusCode::SERVICE_UNAVAILABLE), "a 503 may come after the object was made");
        assert!(!asked_again(Method::POST, StatusCode::GATEWAY_TIMEOUT));
        assert!(asked_again(Method::GET, StatusCode::SERVICE_UNAVAILABLE));
        assert!(asked_again(Method::PATCH, StatusCode::GATEWAY_TIMEOUT));
        assert!(!asked_again(Method::GET, StatusCode::NOT_FOUND));
    }

    /// The count of writes is in the clients the resources use: a write counts even when it
    /// fails (it may have landed), a read never does. Nothing listens on the endpoints.
    #[tokio::test]
    async fn the_providers_own_clients_count_their_writes() {
        // As the plugin's start-up does.
        let _ = crate::plugin::tls::crypto_provider().as_ref().clone().install_default();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n",
        )
        .unwrap();
        let clients = Clients::new(
            AwsSettings { region: Some("us-east-1".into()), profile: None, max_attempts: 1 },
            Endpoints { rds: Some("http://127.0.0.1:1".into()), ..Endpoints::default() },
            KubeSettings { config_path: Some(kubeconfig.display().to_string()), context: None, max_retries: 0 },
            CallTimeouts { connect: Duration::from_millis(200), read: Duration::from_millis(200) },
            tokio_util::sync::CancellationToken::new(),
        );
        let rds = clients.rds().await.unwrap();
        assert!(rds.describe_db_instances().send().await.is_err());
        assert_eq!(clients.writes.now(), 0, "a describe is not a write");
        assert!(rds.delete_db_instance().db_instance_identifier("x").send().await.is_err());
        assert_eq!(clients.writes.now(), 2, "a delete counts when sent and when it ended");

        assert!(clients.kube().await.is_err(), "discovery cannot reach the server");
        let kube = clients.kube.get().expect("the client was made before discovery failed").client.clone();
        let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(kube, "default");
        assert!(config_maps.get_opt("x").await.is_err());
        assert_eq!(clients.writes.now(), 2, "a GET is not a write");
        assert!(config_maps.delete("x", &Default::default()).await.is_err());
        assert_eq!(clients.writes.now(), 4, "a DELETE counts when sent and when it ended");
    }
}
