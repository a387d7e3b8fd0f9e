//! API clients, built from the provider configuration when Terraform configures the provider
//! and each SDK client only on first use, so starting the provider and answering schema
//! requests touch no SDK at all.

use std::sync::OnceLock;

use aws_types::SdkConfig;

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
}

impl Clients {
    pub fn new(aws: SdkConfig, endpoints: Endpoints) -> Clients {
        Clients { aws, endpoints, rds: OnceLock::new() }
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

    /// Reserved for the ElastiCache and CloudFront resources.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
}
