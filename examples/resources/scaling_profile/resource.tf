# api-gateway from the runbook's "Auto-Scaling Configuration" table: a HorizontalPodAutoscaler
# on CPU and memory. Scaling down follows "Scale Down Safely" as policy instead of
# `kubectl scale` and `sleep 300`: at most 5 pods every 5 minutes, after 5 quiet minutes.
resource "scaling_profile" "api_gateway" {
  namespace          = "production"
  name               = "api-gateway"
  min_replicas       = 3
  max_replicas       = 50
  cpu_utilization    = 70
  memory_utilization = 80

  target {
    name = "api-gateway" # kind defaults to Deployment, api_version to apps/v1
  }

  scale_up {
    stabilization_window_seconds = 0
    policy {
      type           = "Percent"
      value          = 100
      period_seconds = 60
    }
  }

  scale_down {
    stabilization_window_seconds = 300
    select_policy                = "Min"
    policy {
      type           = "Pods"
      value          = 5
      period_seconds = 300
    }
  }

  labels = {
    team = "platform"
  }
}

# job-processor from the "Worker Services" table: a KEDA ScaledObject on the job queue's
# length, held at 15 replicas or more through a known traffic event ("Event-Based Scaling").
resource "scaling_profile" "job_processor" {
  namespace    = "production"
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

  schedule {
    name         = "black-friday"
    start        = "0 6 27 11 *"
    end          = "0 23 28 11 *"
    timezone     = "America/New_York"
    min_replicas = 15
  }
}
