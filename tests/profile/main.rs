//! `scaling_profile` end to end: the real terraform binary against a genuine kube-apiserver
//! 1.20 (which serves autoscaling/v2beta2, so the discovery fallback is exercised for real)
//! with KEDA's ScaledObject CRD installed. No KEDA operator runs; the provider only manages
//! the objects. One test binary (one cluster), its tests by topic in the modules below.

use scaling_testkit::{KubeCluster, Mirror, Workspace};
use serde_json::json;

const HPA: (&str, &str) = ("autoscaling/v2beta2", "HorizontalPodAutoscaler");
const KEDA: (&str, &str) = ("keda.sh/v1alpha1", "ScaledObject");

fn workspace(cluster: &KubeCluster) -> Workspace {
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&cluster.kubeconfig());
    ws
}

/// The runbook's six API services (HPA) and three queue workers (KEDA), in `namespace`.
fn runbook(namespace: &str) -> String {
    format!(
        r#"
locals {{
  services = {{
    "api-gateway"      = {{ min = 3, max = 50, cpu = 70, memory = 80 }}
    "auth-svc"         = {{ min = 3, max = 30, cpu = 70, memory = 80 }}
    "market-svc"       = {{ min = 3, max = 40, cpu = 70, memory = 80 }}
    "skillpod-svc"     = {{ min = 2, max = 25, cpu = 60, memory = 70 }}
    "billing-svc"      = {{ min = 2, max = 20, cpu = 70, memory = 80 }}
    "notification-svc" = {{ min = 2, max = 15, cpu = 70, memory = 80 }}
  }}
  workers = {{
    "job-processor"       = {{ min = 2, max = 30, queue = "job-queue", length = 1000 }}
    "email-sender"        = {{ min = 2, max = 20, queue = "email-queue", length = 500 }}
    "notification-worker" = {{ min = 2, max = 15, queue = "notification-queue", length = 500 }}
  }}
}}

resource "scaling_profile" "service" {{
  for_each           = local.services
  namespace          = "{namespace}"
  name               = each.key
  min_replicas       = each.value.min
  max_replicas       = each.value.max
  cpu_utilization    = each.value.cpu
  memory_utilization = each.value.memory
  labels             = {{ team = "platform" }}

  target {{
    name = each.key
  }}

  # Scale down safely: at most 5 pods every 5 minutes, after 5 quiet minutes.
  scale_down {{
    stabilization_window_seconds = 300
    policy {{
      type           = "Pods"
      value          = 5
      period_seconds = 300
    }}
  }}
}}

resource "scaling_profile" "worker" {{
  for_each     = local.workers
  namespace    = "{namespace}"
  name         = each.key
  min_replicas = each.value.min
  max_replicas = each.value.max

  target {{
    name = each.key
  }}

  queue {{
    address     = "redis:6379"
    list_name   = each.value.queue
    list_length = each.value.length
  }}
}}
"#
    )
}

fn single(extra: &str) -> String {
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"switch\"\n  name         = \"market-svc\"\n  min_replicas = 3\n  \
         max_replicas = 40\n  cpu_utilization = 70\n  target {{\n    name = \"market-svc\"\n  }}\n{extra}}}\n"
    )
}

/// A profile in namespace `blocks` whose optional blocks are `blocks`; `keda` adds a queue.
fn with_blocks(name: &str, keda: bool, blocks: &str) -> String {
    let queue = if keda { "  queue {\n    address   = \"redis:6379\"\n    list_name = \"jobs\"\n  }\n" } else { "" };
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"blocks\"\n  name         = \"{name}\"\n  min_replicas = 2\n  \
         max_replicas = 20\n  cpu_utilization = 70\n  target {{\n    name = \"{name}\"\n  }}\n{queue}{blocks}}}\n"
    )
}

fn behavior(obj: &serde_json::Value, keda: bool) -> serde_json::Value {
    if keda {
        obj["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"].clone()
    } else {
        obj["spec"]["behavior"].clone()
    }
}

/// One profile named `name` in `namespace`, with `extra` inside the resource block.
fn named(namespace: &str, name: &str, extra: &str) -> String {
    format!(
        "resource \"scaling_profile\" \"p\" {{\n  namespace    = \"{namespace}\"\n  name         = \"{name}\"\n  min_replicas = 2\n  \
         max_replicas = 20\n  cpu_utilization = 70\n  target {{\n    name = \"{name}\"\n  }}\n{extra}}}\n"
    )
}

fn managers(obj: &serde_json::Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["manager"].as_str().unwrap().to_string(), e["operation"].as_str().unwrap().to_string()))
        .collect()
}

/// A workspace whose provider reaches `cluster` through a fault proxy (terminating TLS; the
/// kubeconfig skips verifying the proxy's certificate).
fn behind_a_fault_proxy(cluster: &KubeCluster) -> (scaling_testkit::FaultProxy, Workspace) {
    let (proxy, kubeconfig) = cluster.through_proxy();
    let mut ws = Workspace::new(Mirror::scaling(env!("CARGO_BIN_EXE_terraform-provider-scaling")), None);
    ws.use_kubeconfig(&kubeconfig);
    (proxy, ws)
}

mod configuration;
mod faults;
mod lifecycle;
