//! RDS instances as the RDS resources see them. Look-ups are coalesced, so that the number of
//! calls grows with the number of concurrent look-ups' batches, not with the number of
//! resources: a `terraform plan` refreshes up to ten instances at once, and all of them share
//! one filtered DescribeDBInstances. A refresh that reads many instances shares one listing of
//! the account's instances (see `reads::refresh`). Waits follow an instance through the statuses RDS
//! reports until it is usable or gone.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Filter};

use crate::aws::error::{AwsError, ClientError, Kind, Service};
use crate::framework::wait::{pause_before_retry, Acceptor, WaitError, Waiter};
use crate::reads::batch::Batcher;
use crate::reads::refresh::{ListingPolicy, SharedListing, WriteCount};

/// DescribeDBInstances takes at most 100 values in a filter, and answers 100 records a page.
const FILTER_LIMIT: usize = 100;

/// A refresh lists the account's instances after one batch's worth of single reads: a page
/// answers a hundred instances, a filtered batch the ten Terraform asks for at once.
const LISTING: ListingPolicy = ListingPolicy { reads_before_listing: 10, max_age: Duration::from_secs(30) };

/// What one look-up of one instance found: each answers for itself, so that an instance the
/// caller may not describe fails its own read and no other.
type Found = Result<DbInstance, ClientError>;

pub struct InstanceLookup {
    client: aws_sdk_rds::Client,
    batcher: Batcher<Found, ClientError>,
    listing: SharedListing<DbInstance>,
}

impl InstanceLookup {
    /// `writes` counts the writes made through `client` (see `WriteCount::aws_interceptor`).
    pub fn new(client: aws_sdk_rds::Client, writes: WriteCount) -> InstanceLookup {
        let batch_client = client.clone();
        InstanceLookup {
            client,
            batcher: Batcher::new(FILTER_LIMIT, Duration::from_millis(5), move |ids| describe(batch_client.clone(), ids)),
            listing: SharedListing::new(LISTING, writes),
        }
    }

    /// One DB instance by identifier as RDS reports it now, or None when it does not exist.
    pub async fn get(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        self.batcher.get(id).await?.transpose()
    }

    /// Like `get`, for a refresh: from the refresh's listing of every instance once it has
    /// read enough of them, else as `get` reads it.
    pub async fn get_in_refresh(&self, id: &str) -> Result<Option<DbInstance>, ClientError> {
        if let Some(listed) = self.listing.get("", id, || list_all(&self.client)).await {
            return Ok(Some(listed));
        }
        self.get(id).await
    }
}

/// Every instance in the account and region, a page of 100 at a time.
async fn list_all(client: &aws_sdk_rds::Client) -> Result<HashMap<String, DbInstance>, ClientError> {
    every_page(client.describe_db_instances().max_records(FILTER_LIMIT as i32)).await
}

/// The instances a DescribeDBInstances call finds, over all its pages, by identifier.
async fn every_page(
    call: aws_sdk_rds::operation::describe_db_instances::builders::DescribeDBInstancesFluentBuilder,
) -> Result<HashMap<String, DbInstance>, ClientError> {
    let mut pages = call.into_paginator().send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk(Service::Rds, "DescribeDBInstances", &e))?;
        found.extend(page.db_instances.unwrap_or_default().into_iter().filter_map(|i| Some((i.db_instance_identifier.clone()?, i))));
    }
    Ok(found)
}

async fn describe(client: aws_sdk_rds::Client, ids: Vec<String>) -> Result<HashMap<String, Found>, ClientError> {
    match describe_filtered(&client, ids.clone()).await {
        Ok(found) => Ok(found.into_iter().map(|(id, i)| (id, Ok(i))).collect()),
        // IAM policies scoped to instance ARNs deny the filtered call that names several:
        // ask for each one by its identifier instead.
        Err(ClientError::Aws(e)) if e.kind == Kind::AccessDenied => {
            tracing::debug!(error = %e, "filtered DescribeDBInstances denied; describing each instance");
            use futures_util::stream::{self, StreamExt};
            // Ten at a time, as Terraform itself reads: a hundred at once would throttle.
            let describe_one = |id: String| client.describe_db_instances().db_instance_identifier(id).send();
            let reads = stream::iter(ids.clone()).map(describe_one).buffered(10);
            let answers: Vec<_> = reads.collect().await;
            Ok(ids
                .into_iter()
                .zip(answers)
                .filter_map(|(id, answer)| match answer {
                    Ok(out) => out.db_instances.unwrap_or_default().into_iter().next().map(|i| (id, Ok(i))),
                    Err(e) => {
                        let e = AwsError::from_sdk(Service::Rds, "DescribeDBInstances", &e);
                        (!e.is_not_found()).then(|| (id, Err(e.into())))
                    }
                })
                .collect())
        }
        Err(e) => Err(e),
    }
}

async fn describe_filtered(client: &aws_sdk_rds::Client, ids: Vec<String>) -> Result<HashMap<String, DbInstance>, ClientError> {
    every_page(client.describe_db_instances().filters(Filter::builder().name("db-instance-id").set_values(Some(ids)).build())).await
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

/// Where an RDS wait reads the instance from, and the stop signal that ends it. The
/// resources' Context is one (`clients.rs`): a wait needs no more of it, and this module stays
/// below the resources.
pub trait InstanceSource: Sync {
    /// The instance as RDS reports it now; None when it does not exist.
    fn instance(&self, id: &str) -> impl std::future::Future<Output = Result<Option<DbInstance>, ClientError>> + Send;
    /// Fires on Terraform's StopProvider.
    fn stop(&self) -> &tokio_util::sync::CancellationToken;
}

/// Waits until instance `id` is usable and has become what `done` checks.
pub async fn wait_available(
    ctx: &impl InstanceSource,
    id: &str,
    max_wait: Duration,
    done: impl Fn(&DbInstance) -> bool,
) -> Result<DbInstance, WaitError<ClientError>> {
    waiter(max_wait)
        .wait(&format!("DB instance {id} to become available"), ctx.stop(), || async {
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
pub async fn wait_deleted(ctx: &impl InstanceSource, id: &str, max_wait: Duration) -> Result<(), WaitError<ClientError>> {
    waiter(max_wait)
        .wait(&format!("DB instance {id} to be deleted"), ctx.stop(), || async {
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
async fn look_up_in_wait(ctx: &impl InstanceSource, id: &str) -> Result<Result<Option<DbInstance>, String>, ClientError> {
    match ctx.instance(id).await {
        Err(e) if e.is_transient() => Ok(Err(e.to_string())),
        other => other.map(Ok),
    }
}

/// What RDS holds for `i`'s maintenance window besides its class, in the words a plan shows
/// ("engine version 16.3 to 16.4"). ModifyDBInstance with ApplyImmediately applies "the
/// modifications in this request and any pending modifications", so a change sent now starts
/// all of these too, whoever queued them. The master password is named, never shown.
pub fn pending_besides_class(i: &DbInstance) -> Vec<String> {
    let Some(p) = i.pending_modified_values() else { return Vec::new() };
    let mut said = Vec::new();
    let mut name = |what: &str, now: Option<String>, to: Option<String>| {
        if let Some(to) = to {
            said.push(match now {
                Some(now) if now != to => format!("{what} {now} to {to}"),
                _ => format!("{what} {to}"),
            });
        }
    };
    let text = |s: Option<&str>| s.map(str::to_string);
    let number = |n: Option<i32>| n.map(|n| n.to_string());
    let switch = |b: Option<bool>| b.map(|b| if b { "on" } else { "off" }.to_string());
    name("engine", text(i.engine()), text(p.engine()));
    name("engine version", text(i.engine_version()), text(p.engine_version()));
    name("allocated storage (GiB)", number(i.allocated_storage()), number(p.allocated_storage()));
    name("storage type", text(i.storage_type()), text(p.storage_type()));
    name("IOPS", number(i.iops()), number(p.iops()));
    name("storage throughput (MiB/s)", number(i.storage_throughput()), number(p.storage_throughput()));
    name("Multi-AZ", switch(i.multi_az()), switch(p.multi_az()));
    name("backup retention (days)", number(i.backup_retention_period()), number(p.backup_retention_period()));
    name("port", number(i.endpoint().and_then(|e| e.port())), number(p.port()));
    name("identifier", text(i.db_instance_identifier()), text(p.db_instance_identifier()));
    name("CA certificate", text(i.ca_certificate_identifier()), text(p.ca_certificate_identifier()));
    name("subnet group", text(i.db_subnet_group().and_then(|g| g.db_subnet_group_name())), text(p.db_subnet_group_name()));
    name("license model", text(i.license_model()), text(p.license_model()));
    name("IAM authentication", switch(i.iam_database_authentication_enabled()), switch(p.iam_database_authentication_enabled()));
    name("dedicated log volume", switch(i.dedicated_log_volume()), switch(p.dedicated_log_volume()));
    name("multi-tenant", switch(i.multi_tenant()), switch(p.multi_tenant()));
    if p.master_user_password().is_some() {
        said.push("a new master password".to_string());
    }
    if !p.processor_features().is_empty() {
        said.push("processor features".to_string());
    }
    if p.pending_cloudwatch_logs_exports().is_some() {
        said.push("CloudWatch log exports".to_string());
    }
    said
}

/// The parameter groups whose changes wait for the next restart (`pending-reboot`): a class
/// change restarts the instance, so they take effect with it.
pub fn parameter_groups_pending_reboot(i: &DbInstance) -> Vec<String> {
    i.db_parameter_groups()
        .iter()
        .filter(|g| g.parameter_apply_status() == Some("pending-reboot"))
        .filter_map(|g| g.db_parameter_group_name().map(str::to_string))
        .collect()
}

/// Sends a ModifyDBInstance once the instance takes one. RDS refuses modifications while an
/// instance is modifying, backing up, upgrading or optimizing storage (InvalidDBInstanceState):
/// such an instance is waited for until it is usable, within `max_wait`, and the call is made
/// again from `call`.
pub async fn modify_when_usable(
    ctx: &impl InstanceSource,
    id: &str,
    max_wait: Duration,
    call: impl Fn() -> aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder,
) -> Result<(), WaitError<ClientError>> {
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut pause = Duration::from_secs(1);
    loop {
        let e = match call().send().await {
            Ok(_) => return Ok(()),
            Err(e) => AwsError::from_sdk(Service::Rds, "ModifyDBInstance", &e),
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if e.code.as_deref() != Some("InvalidDBInstanceState") || left <= pause {
            return Err(WaitError::Api(e.into()));
        }
        tracing::info!(identifier = id, error = %e, "the instance is busy; waiting until it takes the modification");
        if !pause_before_retry(ctx.stop(), &mut pause).await {
            return Err(WaitError::Stopped { what: format!("DB instance {id} to take the modification") });
        }
        wait_available(ctx, id, deadline.saturating_duration_since(tokio::time::Instant::now()), |_| true).await?;
    }
}
