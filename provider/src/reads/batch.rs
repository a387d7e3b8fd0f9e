//! Coalesces concurrent look-ups of the same kind into one API call. A `terraform plan`
//! refreshes up to ten resources at once; asking for all of them in one `Describe*` call with
//! a filter, instead of one call each, keeps large configurations clear of API throttling.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

type Reply<V, E> = oneshot::Sender<Result<Option<V>, E>>;

/// Raised when the batcher's task is gone, which only a shut-down runtime causes.
pub trait BatcherGone {
    fn batcher_gone() -> Self;
}

impl BatcherGone for String {
    fn batcher_gone() -> String {
        "the look-up batcher has stopped".to_string()
    }
}

pub struct Batcher<V, E> {
    jobs: mpsc::UnboundedSender<(String, Reply<V, E>)>,
}

impl<V: Clone + Send + 'static, E: BatcherGone + Clone + Send + 'static> Batcher<V, E> {
    /// `fetch` gets up to `max_batch` distinct keys and returns what exists; keys it leaves out
    /// read as absent. Requests arriving within `window` of each other share a call.
    pub fn new<F, Fut>(max_batch: usize, window: Duration, fetch: F) -> Batcher<V, E>
    where
        F: Fn(Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<String, V>, E>> + Send + 'static,
    {
        let (jobs, mut rx) = mpsc::unbounded_channel::<(String, Reply<V, E>)>();
        let fetch = Arc::new(fetch);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let mut keys: BTreeSet<String> = batch.iter().map(|(k, _)| k.clone()).collect();
                while keys.len() < max_batch {
                    match tokio::time::timeout(window, rx.recv()).await {
                        Ok(Some(job)) => {
                            keys.insert(job.0.clone());
                            batch.push(job);
                        }
                        _ => break,
                    }
                }
                // Each batch runs on its own so the next can gather while this one waits.
                let fetch = fetch.clone();
                tokio::spawn(async move {
                    let result = fetch(keys.into_iter().collect()).await;
                    for (key, reply) in batch {
                        let _ = reply.send(match &result {
                            Ok(found) => Ok(found.get(&key).cloned()),
                            Err(e) => Err(e.clone()),
                        });
                    }
                });
            }
        });
        Batcher { jobs }
    }

    pub async fn get(&self, key: &str) -> Result<Option<V>, E> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send((key.to_string(), reply)).map_err(|_| E::batcher_gone())?;
        answer.await.map_err(|_| E::batcher_gone())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_gets_share_one_fetch() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let batcher = Arc::new(Batcher::new(100, Duration::from_millis(20), move |keys: Vec<String>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(keys.into_iter().filter(|k| k != "missing").map(|k| (k.clone(), k.len())).collect()) }
        }));
        let gets = ["a", "bb", "ccc", "missing", "a"].map(|k| {
            let b = batcher.clone();
            tokio::spawn(async move { b.get(k).await })
        });
        let mut answers = Vec::new();
        for g in gets {
            answers.push(g.await.unwrap().unwrap());
        }
        assert_eq!(answers, vec![Some(1), Some(2), Some(3), None, Some(1)]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn batches_are_capped() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let batcher = Arc::new(Batcher::new(2, Duration::from_millis(20), move |keys: Vec<String>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(keys.into_iter().map(|k| (k, ())).collect()) }
        }));
        let gets: Vec<_> = (0..5)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.get(&i.to_string()).await })
            })
            .collect();
        for g in gets {
            assert_eq!(g.await.unwrap().unwrap(), Some(()));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_reach_every_waiter() {
        let batcher = Batcher::<(), String>::new(10, Duration::from_millis(5), |_| async { Err("throttled".to_string()) });
        assert_eq!(batcher.get("x").await, Err("throttled".to_string()));
    }
}
