# Read replicas for one environment: the runbook's "Horizontal Scaling (Read Replicas)",
# reusable between staging and production, which differ only in the variables they pass.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "environment" {
  description = "Environment name, used in identifiers and tags."
  type        = string
}

variable "source_db_instance_identifier" {
  description = "The primary database to replicate (identifier, or ARN for cross-region)."
  type        = string
}

variable "replica_count" {
  description = "How many read replicas to run."
  type        = number
  default     = 1

  validation {
    condition     = var.replica_count >= 0 && var.replica_count <= 15
    error_message = "RDS allows at most 15 read replicas per source instance."
  }
}

variable "instance_class" {
  description = "Instance class of every replica, e.g. db.r6g.xlarge."
  type        = string
}

variable "apply_immediately" {
  description = "Resize now (true) or in the maintenance window (false)."
  type        = bool
  default     = true
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "scaling_read_replica" "this" {
  count = var.replica_count

  identifier                    = "skillancer-${var.environment}-replica-${count.index + 1}"
  source_db_instance_identifier = var.source_db_instance_identifier
  instance_class                = var.instance_class
  apply_immediately             = var.apply_immediately

  tags = merge(var.tags, {
    environment = var.environment
    role        = "read-replica"
  })
}

output "endpoints" {
  description = "host:port of each replica, for the read connection pool."
  value       = [for r in scaling_read_replica.this : "${r.address}:${r.port}"]
}
