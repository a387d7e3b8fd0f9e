# The Redis cluster's shape: the runbook's "Add Redis Nodes (Cluster Mode)" and "Increase
# Redis Memory", for an existing cluster-mode replication group.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "replication_group_id" {
  description = "The existing cluster-mode replication group."
  type        = string
}

variable "node_group_count" {
  description = "Shards."
  type        = number
}

variable "node_type" {
  description = "Node type, e.g. cache.r6g.xlarge (the runbook's Infrastructure Requirements table)."
  type        = string
}

variable "replicas_per_node_group" {
  description = "Replicas in every shard; null keeps what each shard has."
  type        = number
  default     = null
}

variable "on_destroy" {
  description = "retain: leave the group as it is on destroy; restore: put back the shape it had when adopted."
  type        = string
  default     = "retain"
}

resource "scaling_redis_shard_config" "this" {
  replication_group_id    = var.replication_group_id
  node_group_count        = var.node_group_count
  node_type               = var.node_type
  replicas_per_node_group = var.replicas_per_node_group
  apply_immediately       = true
  on_destroy              = var.on_destroy
}

output "node_group_ids" {
  value = scaling_redis_shard_config.this.node_group_ids
}

output "configuration_endpoint" {
  value = scaling_redis_shard_config.this.configuration_endpoint
}
