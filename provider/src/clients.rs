//! API clients, built from the provider configuration when Terraform configures the provider
//! and each SDK client only on first use, so starting the provider and answering schema
//! requests touch no SDK at all.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Filter};
use aws_types::SdkConfig;

use crate::aws_error;
use crate::batch::Batcher;

/// Endpoint overrides for emulators and VPC endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub rds: Option<String>,
    pub elasticache: Option<String>,
    pub cloudfront: Option<String>,
}

pub struct Clients {
    aws: SdkConfig,
    endpoints: Endpoints,
    rds: OnceLock<aws_sdk_rds::Client>,
    rds_instances: OnceLock<Batcher<DbInstance>>,
}

impl Clients {
    pub fn new(aws: SdkConfig, endpoints: Endpoints) -> Clients {
        Clients { aws, endpoints, rds: OnceLock::new(), rds_instances: OnceLock::new() }
    }

    pub fn region(&self) -> Option<&str> {
        self.aws.region().map(|r| r.as_ref())
    }

    pub fn rds(&self) -> &aws_sdk_rds::Client {
        self.rds.get_or_init(|| {
            let mut conf = aws_sdk_rds::config::Builder::from(&self.aws);
            if let Some(url) = &self.endpoints.rds {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_rds::Client::from_conf(conf.build())
        })
    }

    /// One DB instance by identifier, or None when it does not exist. Concurrent look-ups are
    /// answered by one DescribeDBInstances call filtered on all their identifiers.
    pub async fn rds_instance(&self, id: &str) -> Result<Option<DbInstance>, String> {
        self.rds_instances
            .get_or_init(|| {
                let client = self.rds().clone();
                Batcher::new(RDS_FILTER_LIMIT, Duration::from_millis(5), move |ids| describe_rds_instances(client.clone(), ids))
            })
            .get(id)
            .await
    }

    /// Reserved for the ElastiCache and CloudFront resources.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// DescribeDBInstances takes at most 100 values in a filter, and answers 100 records a page.
const RDS_FILTER_LIMIT: usize = 100;

async fn describe_rds_instances(client: aws_sdk_rds::Client, ids: Vec<String>) -> Result<HashMap<String, DbInstance>, String> {
    let filter = Filter::builder().name("db-instance-id").set_values(Some(ids)).build();
    let mut pages = client.describe_db_instances().filters(filter).into_paginator().send();
    let mut found = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error::describe("DescribeDBInstances", &e))?;
        for instance in page.db_instances.unwrap_or_default() {
            if let Some(id) = instance.db_instance_identifier.clone() {
                found.insert(id, instance);
            }
        }
    }
    Ok(found)
}
