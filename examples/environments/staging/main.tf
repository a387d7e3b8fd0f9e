# Staging: the same modules as production at half the size (scale_factor 0.5), one small
# replica and a two-shard Redis, so a change is tried here first, as the runbook asks.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
  # Shared state with locking, as CI runs it. The bucket and table exist before the first
  # init (one bucket and one lock table for every environment; the key tells them apart).
  backend "s3" {
    bucket         = "skillancer-terraform-state"
    key            = "scaling/staging.tfstate"
    region         = "us-east-1"
    dynamodb_table = "skillancer-terraform-locks"
    encrypt        = true
  }
}

variable "rds_endpoint" {
  description = "RDS endpoint override (an emulator in tests); null for AWS."
  type        = string
  default     = null
}

variable "elasticache_endpoint" {
  description = "ElastiCache endpoint override (an emulator in tests); null for AWS."
  type        = string
  default     = null
}

variable "cloudfront_endpoint" {
  description = "CloudFront endpoint override (an emulator in tests); null for AWS."
  type        = string
  default     = null
}

variable "kubeconfig" {
  description = "Path to the cluster's kubeconfig; null for KUBECONFIG, ~/.kube/config or in-cluster."
  type        = string
  default     = null
}

provider "scaling" {
  region = "us-east-1"
  endpoints {
    rds         = var.rds_endpoint
    elasticache = var.elasticache_endpoint
    cloudfront  = var.cloudfront_endpoint
  }
  kubernetes {
    config_path = var.kubeconfig
  }
}

variable "distribution_id" {
  description = "The staging CDN's CloudFront distribution."
  type        = string
  default     = "E1STAGINGEXMPL"
}

locals {
  environment = "staging"
  # Known traffic events: the runbook's pre-scaling before a spike ("Preparing for Traffic
  # Spikes"), held for the event's window. Staging rehearses the same schedule, scaled down.
  events = [
    {
      name         = "spring-launch"
      start        = "0 8 15 3 *"
      end          = "0 20 15 3 *"
      timezone     = "America/New_York"
      min_replicas = { api-gateway = 15, market-svc = 12, auth-svc = 10 }
    },
  ]
}

module "api_autoscaling" {
  source = "../../modules/api-autoscaling"

  namespace    = local.environment
  scale_factor = 0.5
  events       = local.events
}

module "queue_workers" {
  source = "../../modules/queue-workers"

  namespace     = local.environment
  redis_address = "redis.staging.svc:6379"
  scale_factor  = 0.5
}

module "read_replicas" {
  source = "../../modules/read-replicas"

  environment                   = local.environment
  source_db_instance_identifier = "skillancer-staging"
  replica_count                 = 1
  instance_class                = "db.r6g.large"
  apply_immediately             = false
  tags                          = { cost-center = "platform" }
}

module "redis_shards" {
  source = "../../modules/redis-shards"

  replication_group_id = "skillancer-staging-redis"
  node_group_count     = 2
  node_type            = "cache.r6g.large"
}

module "origin_shield" {
  source = "../../modules/origin-shield"

  distribution_id = var.distribution_id
  origins         = { api = "us-east-1" }
}

output "api_ranges" {
  value = module.api_autoscaling.ranges
}

output "worker_ranges" {
  value = module.queue_workers.ranges
}

output "replica_endpoints" {
  value = module.read_replicas.endpoints
}

output "redis_node_groups" {
  value = module.redis_shards.node_group_ids
}
