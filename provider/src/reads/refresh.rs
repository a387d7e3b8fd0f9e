//! Reads of one refresh, shared. Terraform refreshes ten resources at a time, so coalescing
//! only what is asked at once still costs a call per ten resources: a plan of 1,000 read
//! replicas made 100 and more DescribeDBInstances calls. Once a refresh has asked for enough
//! objects of one scope (an account's DB instances, one namespace's HPAs), one listing of the
//! whole scope answers the rest.
//!
//! A listing answers only for what it holds. Anything it lacks is read on its own, so an object
//! reported gone is always one a single read found gone, and an object made after the listing
//! is still found. A listing goes stale when this provider writes anything (its own changes must
//! be read back as they are) or when it is older than `max_age`; waits never use one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// How many writes this provider has begun or ended. A listing taken under an older count may
/// miss a write's effect.
#[derive(Clone, Debug, Default)]
pub struct WriteCount(Arc<AtomicU64>);

impl WriteCount {
    pub fn new() -> WriteCount {
        WriteCount::default()
    }

    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn wrote(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// An interceptor for an AWS client: counts every operation that is not a Describe, List or
    /// Get, once when it is sent and again when its answer is in.
    pub fn aws_interceptor(&self) -> CountAwsWrites {
        CountAwsWrites(self.clone())
    }

    /// A tower layer for the Kubernetes client: counts every request except GETs and HEADs
    /// (LIST and WATCH are GETs) and dry runs. A plan's server-side apply with `dryRun` changes
    /// nothing, and counting it would throw away the listings of the refresh it interleaves with.
    pub fn kube_layer(&self) -> CountKubeWrites {
        CountKubeWrites(self.clone())
    }
}

#[derive(Debug)]
pub struct CountAwsWrites(WriteCount);

impl CountAwsWrites {
    fn count_if_write(&self, cfg: &aws_smithy_types::config_bag::ConfigBag) {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        let read = cfg.load::<Metadata>().is_some_and(|m| ["Describe", "List", "Get"].iter().any(|p| m.name().starts_with(p)));
        if !read {
            self.0.wrote();
        }
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CountAwsWrites {
    fn name(&self) -> &'static str {
        "CountAwsWrites"
    }

    // Not read_before_execution: a client's interceptors see that before the operation's
    // configuration, which names the operation, is in the bag.
    fn read_before_serialization(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.count_if_write(cfg);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.count_if_write(cfg);
        Ok(())
    }
}

#[derive(Clone)]
pub struct CountKubeWrites(WriteCount);

impl<S> tower::Layer<S> for CountKubeWrites {
    type Service = CountKubeWritesService<S>;

    fn layer(&self, inner: S) -> CountKubeWritesService<S> {
        CountKubeWritesService { inner, writes: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct CountKubeWritesService<S> {
    inner: S,
    writes: WriteCount,
}

impl<S, B> tower::Service<http::Request<B>> for CountKubeWritesService<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let read = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
        let dry_run = request.uri().query().is_some_and(|q| q.split('&').any(|p| p.starts_with("dryRun=")));
        let write = !read && !dry_run;
        if write {
            self.writes.wrote();
        }
        let (answer, writes) = (self.inner.call(request), self.writes.clone());
        Box::pin(async move {
            let answer = answer.await;
            if write {
                writes.wrote();
            }
            answer
        })
    }
}

/// When a scope is worth listing, and for how long a listing answers.
#[derive(Clone, Copy, Debug)]
pub struct ListingPolicy {
    /// Reads of one scope answered on their own before the scope is listed. Where single reads
    /// batch well (RDS), a configuration with a few objects in a large account never lists it.
    pub reads_before_listing: usize,
    /// How long a listing answers once it is in; then it is taken again. A refreshed value is
    /// at most this old plus the time the listing took.
    pub max_age: Duration,
}

/// Listings of scopes, each shared by the reads of one refresh. `V` is an object as a single
/// read returns it.
pub struct SharedListing<V> {
    policy: ListingPolicy,
    writes: WriteCount,
    scopes: Mutex<HashMap<String, Scope<V>>>,
}

struct Scope<V> {
    /// Reads since the scope was last listed, or since that listing went stale.
    reads: usize,
    listing: Option<Arc<OnceCell<Listing<V>>>>,
}

struct Listing<V> {
    /// None when listing failed: the reads go on one by one until the listing is due again.
    objects: Option<HashMap<String, V>>,
    /// The write count when the listing began.
    writes: u64,
    /// When the listing was in: a listing slower than `max_age` still answers.
    done: Instant,
}

impl<V: Clone> SharedListing<V> {
    pub fn new(policy: ListingPolicy, writes: WriteCount) -> SharedListing<V> {
        SharedListing { policy, writes, scopes: Mutex::new(HashMap::new()) }
    }

    fn fresh(&self, listing: &Listing<V>) -> bool {
        listing.writes == self.writes.now() && listing.done.elapsed() < self.policy.max_age
    }

    /// Object `key` of `scope` from the scope's listing, taking the listing with `list` when it
    /// is due. None means the listing does not answer (not due yet, failed, or without `key`):
    /// the caller reads the object on its own.
    pub async fn get<F, Fut, E>(&self, scope: &str, key: &str, list: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<HashMap<String, V>, E>>,
        E: std::fmt::Display,
    {
        let cell = {
            let mut scopes = self.scopes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let entry = scopes.entry(scope.to_string()).or_insert_with(|| Scope { reads: 0, listing: None });
            if entry.listing.as_ref().and_then(|cell| cell.get()).is_some_and(|listing| !self.fresh(listing)) {
                *entry = Scope { reads: 0, listing: None };
            }
            match &entry.listing {
                Some(cell) => cell.clone(),
                None => {
                    entry.reads += 1;
                    if entry.reads <= self.policy.reads_before_listing {
                        return None;
                    }
                    let cell = Arc::new(OnceCell::new());
                    entry.listing = Some(cell.clone());
                    cell
                }
            }
        };
        let listing = cell
            .get_or_init(|| async {
                let writes = self.writes.now();
                let objects = match list().await {
                    Ok(objects) => {
                        tracing::debug!(scope, objects = objects.len(), "listed the scope for the rest of this refresh");
                        Some(objects)
                    }
                    Err(e) => {
                        tracing::debug!(scope, error = %e, "could not list the scope; reading its objects one by one");
                        None
                    }
                };
                Listing { objects, writes, done: Instant::now() }
            })
            .await;
        if !self.fresh(listing) {
            return None;
        }
        listing.objects.as_ref()?.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    const POLICY: ListingPolicy = ListingPolicy { reads_before_listing: 2, max_age: Duration::from_secs(60) };

    fn counted(lists: &Arc<AtomicUsize>, objects: &[&str]) -> impl Future<Output = Result<HashMap<String, String>, String>> {
        lists.fetch_add(1, Ordering::SeqCst);
        let objects: HashMap<String, String> = objects.iter().map(|k| (k.to_string(), format!("object {k}"))).collect();
        async move { Ok(objects) }
    }

    #[tokio::test]
    async fn the_first_reads_go_on_their_own_and_the_rest_share_one_listing() {
        let listing = SharedListing::new(POLICY, WriteCount::new());
        let lists = Arc::new(AtomicUsize::new(0));
        assert_eq!(listing.get("ns", "a", || counted(&lists, &["a", "b", "c"])).await, None);
        assert_eq!(listing.get("ns", "b", || counted(&lists, &["a", "b", "c"])).await, None);
        assert_eq!(lists.load(Ordering::SeqCst), 0);
        let reads = ["a", "b", "c", "gone"].map(|k| listing.get("ns", k, || counted(&lists, &["a", "b", "c"])));
        let answers = futures_util::future::join_all(reads).await;
        assert_eq!(answers, [Some("object a".to_string()), Some("object b".to_string()), Some("object c".to_string()), None]);
        assert_eq!(lists.load(Ordering::SeqCst), 1, "one listing answers every read after the first two");
        // Another scope counts its own reads.
        assert_eq!(listing.get("other", "a", || counted(&lists, &["a"])).await, None);
        assert_eq!(lists.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_kubernetes_layer_counts_writes_but_not_reads_or_dry_runs() {
        use tower::{Layer, ServiceExt};
        let writes = WriteCount::new();
        let service = writes.kube_layer().layer(tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(()) }));
        let send = |method: http::Method, uri: &str| {
            let request = http::Request::builder().method(method).uri(uri).body(()).unwrap();
            service.clone().oneshot(request)
        };
        send(http::Method::GET, "/apis/autoscaling/v2/namespaces/a/horizontalpodautoscalers?limit=500").await.unwrap();
        send(http::Method::PATCH, "/apis/autoscaling/v2/namespaces/a/horizontalpodautoscalers/x?dryRun=All&fieldManager=m").await.unwrap();
        assert_eq!(writes.now(), 0);
        send(http::Method::PATCH, "/apis/autoscaling/v2/namespaces/a/horizontalpodautoscalers/x?fieldManager=m").await.unwrap();
        assert_eq!(writes.now(), 2, "counted when sent and when answered");
    }

    #[tokio::test]
    async fn a_write_makes_the_listing_stale() {
        let writes = WriteCount::new();
        let listing = SharedListing::new(ListingPolicy { reads_before_listing: 0, ..POLICY }, writes.clone());
        let lists = Arc::new(AtomicUsize::new(0));
        assert!(listing.get("ns", "a", || counted(&lists, &["a"])).await.is_some());
        writes.wrote();
        assert!(listing.get("ns", "a", || counted(&lists, &["a"])).await.is_some());
        assert_eq!(lists.load(Ordering::SeqCst), 2, "listed again after the write");
    }

    #[tokio::test]
    async fn a_write_during_the_listing_keeps_it_from_answering() {
        let writes = WriteCount::new();
        let listing = SharedListing::new(ListingPolicy { reads_before_listing: 0, ..POLICY }, writes.clone());
        let answer = listing
            .get("ns", "a", || {
                writes.wrote();
                async { Ok::<_, String>(HashMap::from([("a".to_string(), 1)])) }
            })
            .await;
        assert_eq!(answer, None, "the listing may predate the write");
    }

    #[tokio::test]
    async fn a_listing_past_its_age_is_taken_again() {
        let listing = SharedListing::new(ListingPolicy { reads_before_listing: 0, max_age: Duration::from_millis(30) }, WriteCount::new());
        let lists = Arc::new(AtomicUsize::new(0));
        assert!(listing.get("ns", "a", || counted(&lists, &["a"])).await.is_some());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(listing.get("ns", "a", || counted(&lists, &["a"])).await.is_some());
        assert_eq!(lists.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_listing_answers_nothing_and_is_not_retried_by_every_read() {
        let listing = SharedListing::<u8>::new(ListingPolicy { reads_before_listing: 0, ..POLICY }, WriteCount::new());
        let lists = Arc::new(AtomicUsize::new(0));
        for key in ["a", "b", "c"] {
            let lists = lists.clone();
            let answer = listing
                .get("ns", key, move || {
                    lists.fetch_add(1, Ordering::SeqCst);
                    async { Err::<HashMap<String, u8>, _>("AccessDenied") }
                })
                .await;
            assert_eq!(answer, None);
        }
        assert_eq!(lists.load(Ordering::SeqCst), 1);
    }
}
