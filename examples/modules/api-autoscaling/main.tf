# API service autoscaling: the runbook's "Auto-Scaling Configuration / API Services" table,
# one scaling_profile per service, scaling down gradually ("Scale Down Safely"). The same
# module serves every environment: `scale_factor` is the runbook's `scale-all.sh 2x`, and
# `events` adds the pre-scaling for known traffic spikes ("Preparing for Traffic Spikes").

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
  description = "Namespace of the services' Deployments."
  type        = string
}

variable "services" {
  description = "Per service: pod range and utilization targets (percent). Defaults to the runbook's table."
  type = map(object({
    min_replicas       = number
    max_replicas       = number
    cpu_utilization    = number
    memory_utilization = number
  }))
  default = {
    api-gateway      = { min_replicas = 3, max_replicas = 50, cpu_utilization = 70, memory_utilization = 80 }
    auth-svc         = { min_replicas = 3, max_replicas = 30, cpu_utilization = 70, memory_utilization = 80 }
    market-svc       = { min_replicas = 3, max_replicas = 40, cpu_utilization = 70, memory_utilization = 80 }
    skillpod-svc     = { min_replicas = 2, max_replicas = 25, cpu_utilization = 60, memory_utilization = 70 }
    billing-svc      = { min_replicas = 2, max_replicas = 20, cpu_utilization = 70, memory_utilization = 80 }
    notification-svc = { min_replicas = 2, max_replicas = 15, cpu_utilization = 70, memory_utilization = 80 }
  }
}

variable "scale_factor" {
  description = "Multiplies every min and max (rounded up, at least 1): 2 doubles everything, 0.5 halves it."
  type        = number
  default     = 1

  validation {
    condition     = var.scale_factor > 0 && var.scale_factor <= 10
    error_message = "The scale_factor must be above 0 and at most 10."
  }
}

variable "events" {
  description = "Known traffic events: a cron window (start, end, IANA timezone) and the pods each named service holds during it (scaled like the rest). A service with an event becomes a KEDA ScaledObject."
  type = list(object({
    name         = string
    start        = string
    end          = string
    timezone     = string
    min_replicas = map(number)
  }))
  default = []
}

variable "scale_down_pods_per_period" {
  description = "At most this many pods removed per period when load falls (the runbook steps down 5 pods every 5 minutes)."
  type        = number
  default     = 5
}

locals {
  # Each service's range under scale_factor: min rounded up to at least 1, max never below min.
  ranges = {
    for name, s in var.services : name => {
      min = max(1, ceil(s.min_replicas * var.scale_factor))
      max = max(ceil(s.max_replicas * var.scale_factor), max(1, ceil(s.min_replicas * var.scale_factor)))
    }
  }
}

resource "scaling_profile" "service" {
  for_each = var.services

  namespace          = var.namespace
  name               = each.key
  min_replicas       = local.ranges[each.key].min
  max_replicas       = local.ranges[each.key].max
  cpu_utilization    = each.value.cpu_utilization
  memory_utilization = each.value.memory_utilization

  target {
    name = each.key
  }

  scale_down {
    stabilization_window_seconds = 300
    policy {
      type           = "Pods"
      value          = var.scale_down_pods_per_period
      period_seconds = 300
    }
  }

  dynamic "schedule" {
    for_each = [for e in var.events : e if contains(keys(e.min_replicas), each.key)]
    content {
      name     = schedule.value.name
      start    = schedule.value.start
      end      = schedule.value.end
      timezone = schedule.value.timezone
      # Scaled like the range, and never above its max.
      min_replicas = min(local.ranges[each.key].max, max(1, ceil(schedule.value.min_replicas[each.key] * var.scale_factor)))
    }
  }
}

output "ranges" {
  description = "Pod range of each service after scale_factor."
  value       = { for name, p in scaling_profile.service : name => "${p.min_replicas}-${p.max_replicas}" }
}

output "kinds" {
  description = "The object each service's autoscaling is (HorizontalPodAutoscaler, or ScaledObject when it has events)."
  value       = { for name, p in scaling_profile.service : name => p.kind }
}
