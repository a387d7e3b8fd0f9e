//! Looking up RDS instances so that the number of calls grows with the number of concurrent
//! look-ups' batches, not with the number of resources: a `terraform plan` refreshes up to ten
//! replicas at once, and all of them share one filtered DescribeDBInstances.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Filter};

use crate::aws_error::{AwsError, ClientError, Kind, Service};
use crate::batch::Batcher;

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
