//! EKS managed node groups as `scaling_node_group` sees them: the node group, its sizes, a
//! scaling config update sent once EKS takes one (it takes one update at a time), and the
//! waits for the update and for the node group to be active again.

use std::time::Duration;

use aws_sdk_eks::types::{Nodegroup, NodegroupScalingConfig, Update, UpdateStatus};

use crate::aws::error::{AwsError, ClientError, Service};
use crate::framework::wait::{pause_before_retry, Acceptor, WaitError, Waiter};

/// The sizes a node group has: (min, max, desired).
pub type Sizes = (i64, i64, i64);

pub fn sizes_of(n: &Nodegroup) -> Option<Sizes> {
    let s = n.scaling_config()?;
    Some((i64::from(s.min_size()?), i64::from(s.max_size()?), i64::from(s.desired_size().unwrap_or(0))))
}

fn error<E>(
    operation: &'static str,
    e: &aws_sdk_eks::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> AwsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(Service::Eks, operation, e)
}

fn waiter(max_wait: Duration) -> Waiter {
    Waiter::new(max_wait).with_delays(Duration::from_secs(2), Duration::from_secs(20))
}

/// The node group, or None when it does not exist.
pub async fn find(eks: &aws_sdk_eks::Client, cluster: &str, name: &str) -> Result<Option<Nodegroup>, ClientError> {
    match eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await {
        Ok(out) => Ok(out.nodegroup),
        Err(e) => {
            let e = error("DescribeNodegroup", &e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e.into())
            }
        }
    }
}

/// Sends the scaling config `config_for` makes of the node group as it is now, and waits for
/// the update. A node group already updating (by someone else, or by a cluster autoscaler
/// that keeps at it) is waited for and asked again, as often as `max_wait` allows.
pub async fn update_scaling_config(
    eks: &aws_sdk_eks::Client,
    stop: &tokio_util::sync::CancellationToken,
    cluster: &str,
    name: &str,
    max_wait: Duration,
    config_for: impl Fn(&Nodegroup) -> NodegroupScalingConfig,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut pause = Duration::from_secs(1);
    loop {
        let current = find(eks, cluster, name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("node group {cluster}/{name} no longer exists"))?;
        let sent = eks.update_nodegroup_config().cluster_name(cluster).nodegroup_name(name).scaling_config(config_for(&current)).send();
        match sent.await {
            Ok(out) => {
                let id = out.update.and_then(|u| u.id).ok_or_else(|| "UpdateNodegroupConfig: the answer holds no update id".to_string())?;
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                return wait_for_update(eks, stop, cluster, name, &id, left).await;
            }
            Err(e) => {
                let e = error("UpdateNodegroupConfig", &e);
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if e.code.as_deref() != Some("ResourceInUseException") || left <= pause {
                    return Err(e.to_string());
                }
                tracing::info!(cluster, node_group = name, "node group busy with another update; waiting for it");
                if !pause_before_retry(stop, &mut pause).await {
                    return Err(format!("stopped by Terraform while waiting out another update: {e}"));
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                wait_active(eks, stop, cluster, name, left).await?;
            }
        }
    }
}

/// Waits for update `id` to end: Successful, or Failed / Cancelled with EKS's errors.
pub async fn wait_for_update(
    eks: &aws_sdk_eks::Client,
    stop: &tokio_util::sync::CancellationToken,
    cluster: &str,
    name: &str,
    id: &str,
    max_wait: Duration,
) -> Result<(), String> {
    let waited: Result<(), WaitError<String>> = waiter(max_wait)
        .wait(&format!("update {id} of node group {cluster}/{name}"), stop, || async {
            let update: Update = match eks.describe_update().name(cluster).nodegroup_name(name).update_id(id).send().await {
                Ok(out) => match out.update {
                    Some(u) => u,
                    None => return Ok(Acceptor::Retry("no update in the answer".into())),
                },
                Err(e) => return error("DescribeUpdate", &e).in_wait(),
            };
            Ok(match update.status() {
                Some(UpdateStatus::Successful) => Acceptor::Success(()),
                Some(status @ (UpdateStatus::Failed | UpdateStatus::Cancelled)) => {
                    let errors: Vec<String> = update
                        .errors()
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.error_code().map(|c| c.as_str()).unwrap_or("error"),
                                e.error_message().unwrap_or("no message")
                            )
                        })
                        .collect();
                    Acceptor::Failure(format!("{}: {}", status.as_str(), errors.join("; ")))
                }
                other => Acceptor::Retry(other.map(|s| s.as_str().to_string()).unwrap_or_else(|| "unknown".into())),
            })
        })
        .await;
    waited.map_err(|e| e.to_string())
}

/// Waits until the node group takes updates again: ACTIVE, or DEGRADED (instances could not
/// launch), which can last and takes updates all the same.
pub async fn wait_active(
    eks: &aws_sdk_eks::Client,
    stop: &tokio_util::sync::CancellationToken,
    cluster: &str,
    name: &str,
    max_wait: Duration,
) -> Result<(), String> {
    let waited: Result<(), WaitError<String>> = waiter(max_wait)
        .wait(&format!("node group {cluster}/{name} to finish its update"), stop, || async {
            Ok(match find(eks, cluster, name).await {
                Ok(Some(n)) if n.status().is_some_and(|s| matches!(s.as_str(), "ACTIVE" | "DEGRADED")) => Acceptor::Success(()),
                Ok(Some(n)) => Acceptor::Retry(n.status().map(|s| s.as_str().to_string()).unwrap_or_default()),
                Ok(None) => Acceptor::Failure("the node group no longer exists".into()),
                Err(ClientError::Aws(e)) => e.in_wait()?,
                Err(e) => return Err(e.to_string()),
            })
        })
        .await;
    waited.map_err(|e| e.to_string())
}
