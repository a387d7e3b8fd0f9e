# Quickstart: the runbook's read replica, API autoscaling and queue-based worker scaling.
#   - one read replica of the production database ("Horizontal Scaling (Read Replicas)"),
#     instead of `aws rds create-db-instance-read-replica ...`;
#   - api-gateway's HorizontalPodAutoscaler ("Auto-Scaling Configuration"), scaling down
#     gradually ("Scale Down Safely") instead of `kubectl scale` with sleeps in between;
#   - job-processor's KEDA ScaledObject on the job queue ("Worker Services");
#   - the Redis cluster from 3 to 4 shards on a larger node type ("Add Redis Nodes (Cluster
#     Mode)" and "Increase Redis Memory"), instead of modify-replication-group-shard-configuration
#     and polling describe-replication-groups by hand;
#   - CloudFront Origin Shield on the API origin ("Add CloudFront Origin Shield"), instead of
#     hand-editing the whole distribution config and update-distribution --if-match.
#
# scripts/quickstart.sh runs this against a local moto server and a local kube-apiserver (no
# AWS account or cluster needed). Against real ones, leave the endpoints and kubeconfig unset:
# your usual AWS credentials and kubeconfig apply.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "rds_endpoint" {
  description = "RDS endpoint override, e.g. a local emulator. Null means AWS itself."
  type        = string
  default     = null
}

variable "elasticache_endpoint" {
  description = "ElastiCache endpoint override, e.g. a local emulator. Null means AWS itself."
  type        = string
  default     = null
}

variable "cloudfront_endpoint" {
  description = "CloudFront endpoint override, e.g. a local emulator. Null means AWS itself."
  type        = string
  default     = null
}

variable "distribution_id" {
  description = "The CDN's existing CloudFront distribution (its id, e.g. E2QWRUHAPOMQZL)."
  type        = string
}

variable "kubeconfig" {
  description = "Path to a kubeconfig. Null means KUBECONFIG, ~/.kube/config, or in-cluster."
  type        = string
  default     = null
}

provider "scaling" {
  region = var.region
  endpoints {
    rds         = var.rds_endpoint
    elasticache = var.elasticache_endpoint
    cloudfront  = var.cloudfront_endpoint
  }
  kubernetes {
    config_path = var.kubeconfig
  }
}

resource "scaling_read_replica" "replica_2" {
  identifier                    = "skillancer-replica-2"
  source_db_instance_identifier = "skillancer-production"
  instance_class                = "db.r6g.xlarge"

  tags = {
    service = "skillancer"
    role    = "read-replica"
  }

  timeouts {
    create = "40m"
  }
}

resource "scaling_profile" "api_gateway" {
  namespace          = "default"
  name               = "api-gateway"
  min_replicas       = 3
  max_replicas       = 50
  cpu_utilization    = 70
  memory_utilization = 80

  target {
    name = "api-gateway"
  }

  # Scale down by at most 5 pods every 5 minutes, after 5 quiet minutes.
  scale_down {
    stabilization_window_seconds = 300
    policy {
      type           = "Pods"
      value          = 5
      period_seconds = 300
    }
  }
}

resource "scaling_profile" "job_processor" {
  namespace    = "default"
  name         = "job-processor"
  min_replicas = 2
  max_replicas = 30

  target {
    name = "job-processor"
  }

  queue {
    address     = "redis:6379"
    list_name   = "job-queue"
    list_length = 1000
  }
}

# The existing cluster-mode Redis (3 shards of cache.r6g.large): one more shard, more memory.
# Steps run in order, each waiting until every node is available again.
resource "scaling_redis_shard_config" "redis" {
  replication_group_id = "skillancer-redis"
  node_group_count     = 4
  node_type            = "cache.r6g.xlarge"
  on_destroy           = "restore" # terraform destroy puts back 3 x cache.r6g.large
}

# Origin Shield in front of the API origin: only that origin's setting is written; the rest of
# the distribution (other origins, behaviours, a colleague's change made meanwhile) is kept.
resource "scaling_origin_shield" "api" {
  distribution_id = var.distribution_id
  origin_id       = "api"
  shield_region   = "us-east-1" # the Origin Shield Region nearest the origin
}

output "replica_endpoint" {
  value = "${scaling_read_replica.replica_2.address}:${scaling_read_replica.replica_2.port}"
}

output "redis_node_groups" {
  value = scaling_redis_shard_config.redis.node_group_ids
}

output "cdn_status" {
  value = scaling_origin_shield.api.distribution_status
}
