//! ElastiCache replication groups and their member clusters as the Redis resources see them.
//! Reading a group takes two calls (the group reports neither its engine version nor a node
//! type waiting for the maintenance window, so its first member cluster is described too). A
//! refresh that reads many groups shares one listing of the groups and one of the clusters
//! instead (see `reads::refresh`): neither call takes a list of ids.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use aws_sdk_elasticache::Client;

use crate::aws::error::{AwsError, ClientError, Service};
use crate::framework::wait::{Acceptor, Waiter};
use crate::reads::refresh::{ListingPolicy, SharedListing, WriteCount};

/// A refresh lists from its first read: a group read on its own costs two calls and
/// nothing batches them, while a page of each listing answers a hundred. An account with far
/// more groups than the configuration reads pays a call per hundred groups and clusters.
const LISTING: ListingPolicy = ListingPolicy { reads_before_listing: 0, max_age: Duration::from_secs(30) };

/// The most records DescribeReplicationGroups and DescribeCacheClusters answer a page.
const PAGE: i32 = 100;

/// The refresh's listings of groups and of member clusters.
pub struct RefreshReads {
    groups: SharedListing<ReplicationGroup>,
    clusters: SharedListing<CacheCluster>,
}

impl RefreshReads {
    pub fn new(writes: WriteCount) -> RefreshReads {
        RefreshReads { groups: SharedListing::new(LISTING, writes.clone()), clusters: SharedListing::new(LISTING, writes) }
    }

    /// Replication group `id` for a refresh, or None when it does not exist.
    pub async fn group(&self, client: &Client, id: &str) -> Result<Option<ReplicationGroup>, ClientError> {
        if let Some(listed) = self.groups.get("", id, || list_groups(client)).await {
            return Ok(Some(listed));
        }
        describe_group(client, id).await
    }

    /// Cache cluster `id` for a refresh, or None when it does not exist.
    pub async fn cluster(&self, client: &Client, id: &str) -> Result<Option<CacheCluster>, ClientError> {
        if let Some(listed) = self.clusters.get("", id, || list_clusters(client)).await {
            return Ok(Some(listed));
        }
        describe_cluster(client, id).await
    }
}

/// Replication group `id` as ElastiCache reports it now, or None when it does not exist.
pub async fn describe_group(client: &Client, id: &str) -> Result<Option<ReplicationGroup>, ClientError> {
    match client.describe_replication_groups().replication_group_id(id).send().await {
        Ok(out) => Ok(out.replication_groups.unwrap_or_default().into_iter().next()),
        Err(e) => none_if_not_found(AwsError::from_sdk(Service::ElastiCache, "DescribeReplicationGroups", &e)),
    }
}

/// Cache cluster `id` as ElastiCache reports it now, or None when it does not exist.
pub async fn describe_cluster(client: &Client, id: &str) -> Result<Option<CacheCluster>, ClientError> {
    match client.describe_cache_clusters().cache_cluster_id(id).send().await {
        Ok(out) => Ok(out.cache_clusters.unwrap_or_default().into_iter().next()),
        Err(e) => none_if_not_found(AwsError::from_sdk(Service::ElastiCache, "DescribeCacheClusters", &e)),
    }
}

/// Each of clusters `ids` that exists, by id. Up to a page's worth are described one by one,
/// ten at a time, so that a wait's poll costs what its own group holds whatever else the
/// region has; a larger group is picked out of a listing, where a page answers a hundred.
pub async fn clusters(client: &Client, ids: &[String]) -> Result<HashMap<String, CacheCluster>, ClientError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let found: Vec<CacheCluster> = if ids.len() > PAGE as usize {
        list_clusters(client).await?.into_values().collect()
    } else {
        let reads = stream::iter(ids.to_vec()).map(|id| async move { describe_cluster(client, &id).await }).buffer_unordered(10);
        reads.try_collect::<Vec<_>>().await?.into_iter().flatten().collect()
    };
    Ok(found.into_iter().filter_map(|c| Some((c.cache_cluster_id.clone()?, c))).filter(|(id, _)| ids.contains(id)).collect())
}

/// What a member cluster holds for the maintenance window besides its node type, in the words
/// a plan shows ("engine version 7.1 to 7.2"). ModifyReplicationGroup with ApplyImmediately
/// applies "the modifications in this request and any pending modifications".
pub fn pending_besides_node_type(member: &CacheCluster) -> Vec<String> {
    let Some(p) = member.pending_modified_values() else { return Vec::new() };
    let mut said = Vec::new();
    if let Some(to) = p.engine_version() {
        said.push(match member.engine_version() {
            Some(now) if now != to => format!("engine version {now} to {to}"),
            _ => format!("engine version {to}"),
        });
    }
    if let Some(n) = p.num_cache_nodes() {
        said.push(format!("{n} cache nodes"));
    }
    if p.auth_token_status().is_some() {
        said.push("an AUTH token change".to_string());
    }
    if p.transit_encryption_enabled().is_some() || p.transit_encryption_mode().is_some() {
        said.push("in-transit encryption".to_string());
    }
    if !p.log_delivery_configurations().is_empty() {
        said.push("log delivery".to_string());
    }
    said
}

fn none_if_not_found<T>(e: AwsError) -> Result<Option<T>, ClientError> {
    if e.is_not_found() {
        Ok(None)
    } else {
        Err(e.into())
    }
}

async fn list_groups(client: &Client) -> Result<HashMap<String, ReplicationGroup>, ClientError> {
    let mut pages = client.describe_replication_groups().max_records(PAGE).into_paginator().send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk(Service::ElastiCache, "DescribeReplicationGroups", &e))?;
        found.extend(page.replication_groups.unwrap_or_default().into_iter().filter_map(|g| Some((g.replication_group_id.clone()?, g))));
    }
    Ok(found)
}

async fn list_clusters(client: &Client) -> Result<HashMap<String, CacheCluster>, ClientError> {
    let mut pages = client.describe_cache_clusters().max_records(PAGE).into_paginator().send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk(Service::ElastiCache, "DescribeCacheClusters", &e))?;
        found.extend(page.cache_clusters.unwrap_or_default().into_iter().filter_map(|c| Some((c.cache_cluster_id.clone()?, c))));
    }
    Ok(found)
}

/// An ElastiCache call's failure, classified.
pub fn error<E>(
    operation: &'static str,
    e: &aws_sdk_elasticache::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> AwsError
where
    E: aws_sdk_elasticache::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(Service::ElastiCache, operation, e)
}

/// Statuses of a group or member cluster that nothing recovers from.
const FAILED: &[&str] = &["create-failed", "incompatible-network", "restore-failed"];

/// Waits until group `id` and every member cluster are `available` and `done` holds of the
/// group and its members (right after a call ElastiCache may still report the old shape as
/// `available`), then returns both. A failed status ends the wait at once. Each poll describes
/// the group's own members, not every cluster in the region.
pub async fn wait_settled(
    client: &Client,
    stop: &tokio_util::sync::CancellationToken,
    id: &str,
    max_wait: Duration,
    done: impl Fn(&ReplicationGroup, &HashMap<String, CacheCluster>) -> bool,
) -> Result<(ReplicationGroup, HashMap<String, CacheCluster>), String> {
    Waiter::new(max_wait)
        .with_delays(Duration::from_millis(250), Duration::from_secs(30))
        .wait(&format!("replication group {id} and its member clusters to be available"), stop, || async {
            let rg = match client.describe_replication_groups().replication_group_id(id).send().await {
                Ok(out) => out.replication_groups.unwrap_or_default().into_iter().next(),
                Err(e) => return error("DescribeReplicationGroups", &e).in_wait(),
            };
            let Some(rg) = rg else { return Ok(Acceptor::Failure(format!("replication group {id} no longer exists"))) };
            let status = rg.status().unwrap_or("unknown");
            if FAILED.contains(&status) {
                return Ok(Acceptor::Failure(format!("replication group {id} is {status}")));
            }
            if status != "available" {
                return Ok(Acceptor::Retry(format!("group {status}")));
            }
            let members = match clusters(client, rg.member_clusters()).await {
                Ok(members) => members,
                Err(e) if e.is_transient() => return Ok(Acceptor::Retry(e.to_string())),
                Err(e) => return Err(e.to_string()),
            };
            let member_status = |m: &String| {
                members.get(m).and_then(|c| c.cache_cluster_status()).unwrap_or(if members.contains_key(m) {
                    "unknown"
                } else {
                    "not listed"
                })
            };
            if let Some(m) = rg.member_clusters().iter().find(|m| FAILED.contains(&member_status(m))) {
                return Ok(Acceptor::Failure(format!("member cluster {m} is {}", member_status(m))));
            }
            let busy: Vec<String> = rg
                .member_clusters()
                .iter()
                .filter(|m| member_status(m) != "available")
                .map(|m| format!("{m} {}", member_status(m)))
                .collect();
            if !busy.is_empty() {
                return Ok(Acceptor::Retry(busy.join(", ")));
            }
            Ok(if done(&rg, &members) { Acceptor::Success((rg, members)) } else { Acceptor::Retry("the change has not shown yet".into()) })
        })
        .await
        .map_err(|e| e.to_string())
}
