//! RDS instances as the RDS resources see them. Look-ups are coalesced, so that the number of
//! calls grows with the number of concurrent look-ups' batches, not with the number of
//! resources: a `terraform plan` refreshes up to ten instances at once, and all of them share
//! one filtered DescribeDBInstances. Waits follow an instance through the statuses RDS reports
//! until it is usable or gone.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Filter};
use scaling_schema::Diagnostics;

use crate::aws_error::{AwsError, ClientError, Kind, Service};
use crate::batch::Batcher;
use crate::framework::wait::{Acceptor, WaitError, Waiter};
use crate::resources::Context;

/// DescribeDBInstances takes at most 100 values in a filter, and answers 100 records a page.
const FILTER_LIMIT: usize = 100;

pub struct InstanceLookup {
    batcher: Batcher<DbInstance, ClientError>,
}

impl InstanceLookup {
    pub fn new(client: aws_sdk_rds::Client) -> InstanceLookup {
        InstanceLookup { batcher: Batcher::new(FILTER_LIMIT, Duration::from_millis(5), move |ids| describe(client.clone(), ids)) }
    }

    /// One DB instance by identifier, or None when it does not exist.
    pub async fn get(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        self.batcher.get(id).await
    }
}

async fn describe(client: aws_sdk_rds::Client, ids: Vec<String>) -> Result<HashMap<String, DbInstance>, ClientError> {
    match describe_filtered(&client, ids.clone()).await {
        // IAM policies scoped to instance ARNs deny the filtered call that names several:
        // ask for each one by its identifier instead.
        Err(ClientError::Aws(e)) if e.kind == Kind::AccessDenied => {
            tracing::debug!(error = %e, "filtered DescribeDBInstances denied; describing each instance");
            let mut found = HashMap::new();
            for id in ids {
                match client.describe_db_instances().db_instance_identifier(&id).send().await {
                    Ok(out) => found.extend(out.db_instances.unwrap_or_default().into_iter().map(|i| (id.clone(), i))),
                    Err(e) => {
                        let e = AwsError::from_sdk(Service::Rds, "DescribeDBInstances", &e);
                        if !e.is_not_found() {
                            return Err(e.into());
                        }
                    }
                }
            }
            Ok(found)
        }
        other => other,
    }
}

async fn describe_filtered(client: &aws_sdk_rds::Client, ids: Vec<String>) -> Result<HashMap<String, DbInstance>, ClientError> {
    let filter = Filter::builder().name("db-instance-id").set_values(Some(ids)).build();
    let mut pages = client.describe_db_instances().filters(filter).into_paginator().send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk(Service::Rds, "DescribeDBInstances", &e))?;
        for instance in page.db_instances.unwrap_or_default() {
            if let Some(id) = instance.db_instance_identifier.clone() {
                found.insert(id, instance);
            }
        }
    }
    Ok(found)
}

/// Statuses RDS cannot leave without someone's help: waiting on would only time out.
const FAILED_STATUSES: &[&str] = &[
    "failed",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "insufficient-capacity",
    "restore-error",
];
// `storage-full` is not among them: storage autoscaling or a storage change brings the instance
// back, and a wait that times out still names the status it last saw.

/// Statuses in which the instance serves and its last modification is in place. After a
/// storage change RDS reports `storage-optimization` for hours while the instance works.
const USABLE_STATUSES: &[&str] = &["available", "storage-optimization"];

fn waiter(max_wait: Duration) -> Waiter {
    Waiter::new(max_wait).with_delays(Duration::from_secs(2), Duration::from_secs(30))
}

/// Waits until instance `id` is usable and has become what `done` checks.
pub async fn wait_available(
    ctx: &Context,
    id: &str,
    max_wait: Duration,
    done: impl Fn(&DbInstance) -> bool,
) -> Result<DbInstance, WaitError<ClientError>> {
    waiter(max_wait)
        .wait(&format!("DB instance {id} to become available"), &ctx.stop, || async {
            Ok(match look_up_in_wait(ctx, id).await? {
                Err(why) => Acceptor::Retry(why),
                // Just after a create call the instance may not be listed yet.
                Ok(None) => Acceptor::Retry("not listed yet".into()),
                Ok(Some(i)) => {
                    let status = i.db_instance_status().unwrap_or("unknown").to_string();
                    if FAILED_STATUSES.contains(&status.as_str()) {
                        Acceptor::Failure(format!("status {status}"))
                    } else if USABLE_STATUSES.contains(&status.as_str()) && done(&i) {
                        Acceptor::Success(i)
                    } else {
                        Acceptor::Retry(status)
                    }
                }
            })
        })
        .await
}

/// Waits until instance `id` is gone.
pub async fn wait_deleted(ctx: &Context, id: &str, max_wait: Duration) -> Result<(), WaitError<ClientError>> {
    waiter(max_wait)
        .wait(&format!("DB instance {id} to be deleted"), &ctx.stop, || async {
            Ok(match look_up_in_wait(ctx, id).await? {
                Err(why) => Acceptor::Retry(why),
                Ok(None) => Acceptor::Success(()),
                Ok(Some(i)) => Acceptor::Retry(i.db_instance_status().unwrap_or("unknown").to_string()),
            })
        })
        .await
}

/// A look-up during a wait. Throttling or a dropped connection says nothing about the
/// instance, so the wait goes on (Err inside: why this poll learned nothing) rather than
/// failing a 40-minute create over one unlucky call.
async fn look_up_in_wait(ctx: &Context, id: &str) -> Result<Result<Option<DbInstance>, String>, ClientError> {
    match ctx.clients.rds_instance(id).await {
        Err(e) if e.is_transient() => Ok(Err(e.to_string())),
        other => other.map(Ok),
    }
}

/// The RDS client, or an error diagnostic saying why there is none (no region, for one).
pub async fn rds_client<'a>(ctx: &'a Context, diags: &mut Diagnostics) -> Option<&'a aws_sdk_rds::Client> {
    match ctx.clients.rds().await {
        Ok(rds) => Some(rds),
        Err(e) => {
            diags.error("AWS is not configured", e.to_string());
            None
        }
    }
}
