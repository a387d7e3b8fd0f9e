# Queue workers: the runbook's "Worker Services" table, one KEDA ScaledObject per worker on
# the length of its Redis list. `scale_factor` multiplies every min and max, as for the API.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    scaling = {
      source  = "skillancer/scaling"
      version = "~> 0.1"
    }
  }
}

variable "namespace" {
  description = "Namespace of the workers' Deployments."
  type        = string
}

variable "redis_address" {
  description = "host:port of the Redis server holding the job lists."
  type        = string
  default     = "redis:6379"
}

variable "workers" {
  description = "Per worker: pod range, the Redis list it drains, and the jobs per pod that scale it. Defaults to the runbook's table."
  type = map(object({
    min_replicas = number
    max_replicas = number
    list_name    = string
    list_length  = number
  }))
  default = {
    job-processor       = { min_replicas = 2, max_replicas = 30, list_name = "job-queue", list_length = 1000 }
    email-sender        = { min_replicas = 2, max_replicas = 20, list_name = "email-queue", list_length = 500 }
    notification-worker = { min_replicas = 2, max_replicas = 15, list_name = "notification-queue", list_length = 500 }
  }
}

variable "scale_factor" {
  description = "Multiplies every min and max (rounded up, at least 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.scale_factor > 0 && var.scale_factor <= 10
    error_message = "The scale_factor must be above 0 and at most 10."
  }
}

resource "scaling_profile" "worker" {
  for_each = var.workers

  namespace    = var.namespace
  name         = each.key
  min_replicas = max(1, ceil(each.value.min_replicas * var.scale_factor))
  max_replicas = max(ceil(each.value.max_replicas * var.scale_factor), max(1, ceil(each.value.min_replicas * var.scale_factor)))

  target {
    name = each.key
  }

  queue {
    address     = var.redis_address
    list_name   = each.value.list_name
    list_length = each.value.list_length
  }
}

output "ranges" {
  description = "Pod range of each worker after scale_factor."
  value       = { for name, p in scaling_profile.worker : name => "${p.min_replicas}-${p.max_replicas}" }
}
