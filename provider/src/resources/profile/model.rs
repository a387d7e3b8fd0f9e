//! One autoscaled workload, independent of how Kubernetes stores it: read from and written to
//! Terraform values, rendered as an HPA (`autoscaling/v2` or `v2beta2`) or a KEDA ScaledObject,
//! and read back from either.

use std::collections::BTreeMap;

use scaling_schema::Value;
use serde_json::{json, Map, Value as Json};

pub const HPA_KIND: &str = "HorizontalPodAutoscaler";
pub const KEDA_KIND: &str = "ScaledObject";
pub const KEDA_API_VERSION: &str = "keda.sh/v1alpha1";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    pub kind: String,
    pub name: String,
    pub api_version: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    pub kind: String,
    pub value: i64,
    pub period_seconds: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behavior {
    pub stabilization_window_seconds: Option<i64>,
    pub select_policy: Option<String>,
    pub policies: Vec<Policy>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue {
    pub kind: String,
    pub address: String,
    pub list_name: String,
    pub list_length: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub min_replicas: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub namespace: String,
    pub name: String,
    pub target: Target,
    pub min_replicas: i64,
    pub max_replicas: i64,
    pub cpu_utilization: Option<i64>,
    pub memory_utilization: Option<i64>,
    pub scale_up: Option<Behavior>,
    pub scale_down: Option<Behavior>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub queues: Vec<Queue>,
    pub schedules: Vec<Schedule>,
    /// HPA metrics or KEDA triggers that someone else added, as `TYPE/NAME`. Both lists are
    /// atomic in Kubernetes, so the next apply replaces them: they are drift, never kept.
    pub unmanaged_metrics: Vec<String>,
}

fn n(v: &Value, name: &str) -> i64 {
    v.attr(name).as_i64().unwrap_or_default()
}

fn opt_n(v: &Value, name: &str) -> Option<i64> {
    v.attr(name).as_i64()
}

/// Queue or schedule blocks make it a KEDA ScaledObject; otherwise an HPA.
pub fn wants_keda(v: &Value) -> bool {
    !v.attr("queue").elements().is_empty() || !v.attr("schedule").elements().is_empty()
}

/// What Kubernetes fills into a `behavior` that leaves parts out (autoscaling/v2beta2 and v2).
fn default_scale_up_policies() -> Vec<Policy> {
    vec![Policy { kind: "Pods".into(), value: 4, period_seconds: 15 }, Policy { kind: "Percent".into(), value: 100, period_seconds: 15 }]
}

fn default_scale_down_policies() -> Vec<Policy> {
    vec![Policy { kind: "Percent".into(), value: 100, period_seconds: 15 }]
}

impl Behavior {
    /// A scale-up block exactly as the server defaults it, once its policies were cleared.
    fn is_server_default_scale_up(&self) -> bool {
        self.stabilization_window_seconds.unwrap_or(0) == 0
            && self.select_policy.as_deref().unwrap_or("Max") == "Max"
            && self.policies.is_empty()
    }

    fn from_value(v: &Value) -> Option<Behavior> {
        if v.is_null() {
            return None;
        }
        Some(Behavior {
            stabilization_window_seconds: opt_n(v, "stabilization_window_seconds"),
            select_policy: v.attr("select_policy").as_str().map(str::to_string),
            policies: v
                .attr("policy")
                .elements()
                .iter()
                .map(|p| Policy { kind: p.str_attr("type").into(), value: n(p, "value"), period_seconds: n(p, "period_seconds") })
                .collect(),
        })
    }

    fn to_value(b: Option<&Behavior>) -> Value {
        let Some(b) = b else { return Value::Null };
        Value::object([
            ("stabilization_window_seconds", Value::opt_int(b.stabilization_window_seconds)),
            ("select_policy", Value::opt_string(b.select_policy.clone())),
            (
                "policy",
                Value::List(
                    b.policies
                        .iter()
                        .map(|p| {
                            Value::object([
                                ("type", Value::from(p.kind.as_str())),
                                ("value", Value::int(p.value)),
                                ("period_seconds", Value::int(p.period_seconds)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }

    fn to_json(&self) -> Json {
        let mut m = Map::new();
        if let Some(w) = self.stabilization_window_seconds {
            m.insert("stabilizationWindowSeconds".into(), json!(w));
        }
        if let Some(p) = &self.select_policy {
            m.insert("selectPolicy".into(), json!(p));
        }
        if !self.policies.is_empty() {
            m.insert(
                "policies".into(),
                self.policies.iter().map(|p| json!({"type": p.kind, "value": p.value, "periodSeconds": p.period_seconds})).collect(),
            );
        }
        Json::Object(m)
    }

    fn from_json(j: &Json) -> Option<Behavior> {
        if j.is_null() {
            return None;
        }
        Some(Behavior {
            stabilization_window_seconds: j["stabilizationWindowSeconds"].as_i64(),
            select_policy: j["selectPolicy"].as_str().map(str::to_string),
            policies: j["policies"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Policy {
                            kind: p["type"].as_str().unwrap_or_default().to_string(),
                            value: p["value"].as_i64().unwrap_or_default(),
                            period_seconds: p["periodSeconds"].as_i64().unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

fn behavior_json(up: Option<&Behavior>, down: Option<&Behavior>) -> Option<Json> {
    if up.is_none() && down.is_none() {
        return None;
    }
    let mut m = Map::new();
    if let Some(b) = up {
        m.insert("scaleUp".into(), b.to_json());
    }
    if let Some(b) = down {
        m.insert("scaleDown".into(), b.to_json());
    }
    Some(Json::Object(m))
}

fn type_and_name(kind: &str, name: Option<&str>) -> String {
    match name {
        Some(name) if !name.is_empty() => format!("{kind}/{name}"),
        _ => kind.to_string(),
    }
}

/// `TYPE/NAME` of an HPA metric: `Pods/packets-per-second`, `External/queue_messages_ready`,
/// `Resource/cpu` (one this resource does not write, such as an AverageValue target).
fn metric_name(m: &Json) -> String {
    let kind = m["type"].as_str().unwrap_or("Unknown");
    let source = match kind {
        "Resource" => &m["resource"],
        "Pods" => &m["pods"],
        "Object" => &m["object"],
        "External" => &m["external"],
        "ContainerResource" => &m["containerResource"],
        _ => &Json::Null,
    };
    let name = source["name"].as_str().or_else(|| source["metric"]["name"].as_str());
    type_and_name(kind, name)
}

/// What the object's controller last reported wrong with it, if anything: KEDA's `Ready`
/// condition, or an HPA's `AbleToScale` / `ScalingActive` (except `ScalingDisabled`, which is
/// a target scaled to zero on purpose). Reported by the operator, never by the API server, so
/// absent where none runs.
pub fn not_ready(kind: &str, obj: &Json) -> Option<String> {
    let watched: &[&str] = if kind == KEDA_KIND { &["Ready"] } else { &["AbleToScale", "ScalingActive"] };
    let failing: Vec<String> = obj["status"]["conditions"]
        .as_array()?
        .iter()
        .filter(|c| watched.contains(&c["type"].as_str().unwrap_or_default()) && c["status"] == "False" && c["reason"] != "ScalingDisabled")
        .map(|c| {
            let (kind, reason, message) = (
                c["type"].as_str().unwrap_or_default(),
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default(),
            );
            format!("{kind} is False ({reason}): {message}")
        })
        .collect();
    (!failing.is_empty()).then(|| failing.join("; "))
}

/// A JSON merge patch deleting every object or list that `before` has and `after` lacks (at any
/// depth), or None when there is none.
pub fn removed_objects(before: &Json, after: &Json) -> Option<Json> {
    let (Json::Object(b), Json::Object(a)) = (before, after) else { return None };
    let mut patch = Map::new();
    for (key, old) in b {
        match a.get(key) {
            None if old.is_object() || old.is_array() => {
                patch.insert(key.clone(), Json::Null);
            }
            Some(new) => {
                if let Some(inner) = removed_objects(old, new) {
                    patch.insert(key.clone(), inner);
                }
            }
            None => {}
        }
    }
    (!patch.is_empty()).then_some(Json::Object(patch))
}

fn string_map_json(m: &BTreeMap<String, String>) -> Json {
    Json::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn string_map_from_json(j: &Json) -> BTreeMap<String, String> {
    j.as_object().map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()).unwrap_or_default()
}

impl Profile {
    pub fn from_value(v: &Value) -> Profile {
        let t = v.attr("target");
        Profile {
            namespace: v.str_attr("namespace").into(),
            name: v.str_attr("name").into(),
            target: Target {
                kind: t.str_attr("kind").into(),
                name: t.str_attr("name").into(),
                api_version: t.str_attr("api_version").into(),
            },
            min_replicas: n(v, "min_replicas"),
            max_replicas: n(v, "max_replicas"),
            cpu_utilization: opt_n(v, "cpu_utilization"),
            memory_utilization: opt_n(v, "memory_utilization"),
            scale_up: Behavior::from_value(v.attr("scale_up")),
            scale_down: Behavior::from_value(v.attr("scale_down")),
            labels: v.attr("labels").string_map(),
            annotations: v.attr("annotations").string_map(),
            queues: v
                .attr("queue")
                .elements()
                .iter()
                .map(|q| Queue {
                    kind: q.str_attr("type").into(),
                    address: q.str_attr("address").into(),
                    list_name: q.str_attr("list_name").into(),
                    list_length: n(q, "list_length"),
                })
                .collect(),
            schedules: v
                .attr("schedule")
                .elements()
                .iter()
                .map(|c| Schedule {
                    name: c.str_attr("name").into(),
                    start: c.str_attr("start").into(),
                    end: c.str_attr("end").into(),
                    timezone: c.str_attr("timezone").into(),
                    min_replicas: n(c, "min_replicas"),
                })
                .collect(),
            // What others added is never written back.
            unmanaged_metrics: Vec::new(),
        }
    }

    pub fn is_keda(&self) -> bool {
        !self.queues.is_empty() || !self.schedules.is_empty()
    }

    fn metadata(&self) -> Json {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("namespace".into(), json!(self.namespace));
        // Listed even when empty, so server-side apply releases keys this manager set before.
        m.insert("labels".into(), string_map_json(&self.labels));
        m.insert("annotations".into(), string_map_json(&self.annotations));
        Json::Object(m)
    }

    /// The HPA manifest for `api_version` (`autoscaling/v2` or `autoscaling/v2beta2`, which
    /// share every field used here).
    pub fn hpa_manifest(&self, api_version: &str) -> Json {
        let metric = |name: &str, pct: i64| json!({"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": pct}}});
        let mut metrics = Vec::new();
        if let Some(p) = self.cpu_utilization {
            metrics.push(metric("cpu", p));
        }
        if let Some(p) = self.memory_utilization {
            metrics.push(metric("memory", p));
        }
        let mut spec = Map::new();
        spec.insert(
            "scaleTargetRef".into(),
            json!({"apiVersion": self.target.api_version, "kind": self.target.kind, "name": self.target.name}),
        );
        spec.insert("minReplicas".into(), json!(self.min_replicas));
        spec.insert("maxReplicas".into(), json!(self.max_replicas));
        if !metrics.is_empty() {
            spec.insert("metrics".into(), Json::Array(metrics));
        }
        if let Some(b) = behavior_json(self.scale_up.as_ref(), self.scale_down.as_ref()) {
            spec.insert("behavior".into(), b);
        }
        json!({"apiVersion": api_version, "kind": HPA_KIND, "metadata": self.metadata(), "spec": spec})
    }

    /// The KEDA ScaledObject manifest: cpu and memory as KEDA's cpu/memory triggers, queues as
    /// redis list triggers, schedules as cron triggers, behaviour under
    /// `advanced.horizontalPodAutoscalerConfig.behavior`.
    pub fn scaled_object_manifest(&self) -> Json {
        let mut triggers = Vec::new();
        for (kind, pct) in [("cpu", self.cpu_utilization), ("memory", self.memory_utilization)] {
            if let Some(p) = pct {
                triggers.push(json!({"type": kind, "metricType": "Utilization", "metadata": {"value": p.to_string()}}));
            }
        }
        for (i, q) in self.queues.iter().enumerate() {
            triggers.push(json!({
                "type": q.kind,
                "name": format!("queue-{i}"),
                "metadata": {"address": q.address, "listName": q.list_name, "listLength": q.list_length.to_string()},
            }));
        }
        for c in &self.schedules {
            triggers.push(json!({
                "type": "cron",
                "name": c.name,
                "metadata": {"timezone": c.timezone, "start": c.start, "end": c.end, "desiredReplicas": c.min_replicas.to_string()},
            }));
        }
        let mut spec = Map::new();
        spec.insert(
            "scaleTargetRef".into(),
            json!({"apiVersion": self.target.api_version, "kind": self.target.kind, "name": self.target.name}),
        );
        spec.insert("minReplicaCount".into(), json!(self.min_replicas));
        spec.insert("maxReplicaCount".into(), json!(self.max_replicas));
        if let Some(b) = behavior_json(self.scale_up.as_ref(), self.scale_down.as_ref()) {
            spec.insert("advanced".into(), json!({"horizontalPodAutoscalerConfig": {"behavior": b}}));
        }
        spec.insert("triggers".into(), Json::Array(triggers));
        json!({"apiVersion": KEDA_API_VERSION, "kind": KEDA_KIND, "metadata": self.metadata(), "spec": spec})
    }

    /// Reads either kind back.
    pub fn from_object(obj: &Json) -> Profile {
        let meta = &obj["metadata"];
        let spec = &obj["spec"];
        let target = &spec["scaleTargetRef"];
        let mut p = Profile {
            namespace: meta["namespace"].as_str().unwrap_or_default().to_string(),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            target: Target {
                kind: target["kind"].as_str().unwrap_or("Deployment").to_string(),
                name: target["name"].as_str().unwrap_or_default().to_string(),
                api_version: target["apiVersion"].as_str().unwrap_or("apps/v1").to_string(),
            },
            labels: string_map_from_json(&meta["labels"]),
            annotations: string_map_from_json(&meta["annotations"]),
            ..Profile::default()
        };
        if obj["kind"] == KEDA_KIND {
            p.min_replicas = spec["minReplicaCount"].as_i64().unwrap_or_default();
            p.max_replicas = spec["maxReplicaCount"].as_i64().unwrap_or_default();
            let behavior = &spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"];
            p.scale_up = Behavior::from_json(&behavior["scaleUp"]);
            p.scale_down = Behavior::from_json(&behavior["scaleDown"]);
            let int = |j: &Json| j.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| j.as_i64());
            for t in spec["triggers"].as_array().into_iter().flatten() {
                let md = &t["metadata"];
                let text = |k: &str| md[k].as_str().unwrap_or_default().to_string();
                match t["type"].as_str().unwrap_or_default() {
                    "cpu" => p.cpu_utilization = int(&md["value"]),
                    "memory" => p.memory_utilization = int(&md["value"]),
                    "cron" => p.schedules.push(Schedule {
                        name: t["name"].as_str().unwrap_or_default().to_string(),
                        start: text("start"),
                        end: text("end"),
                        timezone: text("timezone"),
                        min_replicas: int(&md["desiredReplicas"]).unwrap_or_default(),
                    }),
                    "redis" => p.queues.push(Queue {
                        kind: "redis".to_string(),
                        address: text("address"),
                        list_name: text("listName"),
                        list_length: int(&md["listLength"]).unwrap_or_default(),
                    }),
                    other => p.unmanaged_metrics.push(type_and_name(other, t["name"].as_str())),
                }
            }
        } else {
            p.min_replicas = spec["minReplicas"].as_i64().unwrap_or(1);
            p.max_replicas = spec["maxReplicas"].as_i64().unwrap_or_default();
            for m in spec["metrics"].as_array().into_iter().flatten() {
                let resource = &m["resource"];
                let utilization = (m["type"] == "Resource" && resource["target"]["type"] == "Utilization")
                    .then(|| resource["target"]["averageUtilization"].as_i64())
                    .flatten();
                match (resource["name"].as_str(), utilization) {
                    (Some("cpu"), Some(pct)) if p.cpu_utilization.is_none() => p.cpu_utilization = Some(pct),
                    (Some("memory"), Some(pct)) if p.memory_utilization.is_none() => p.memory_utilization = Some(pct),
                    _ => p.unmanaged_metrics.push(metric_name(m)),
                }
            }
            p.scale_up = Behavior::from_json(&spec["behavior"]["scaleUp"]);
            p.scale_down = Behavior::from_json(&spec["behavior"]["scaleDown"]);
        }
        p
    }

    /// State from what the cluster holds, shaped by `prior` (the state before, null on import)
    /// so that what Kubernetes fills in by itself never reads as a change:
    /// - behaviour blocks the user did not write stay null, and default policies the server
    ///   adds to a block written without any stay out;
    /// - only label and annotation keys this resource set are compared (others belong to
    ///   other field managers);
    /// - an HPA without metrics gets the server's 80% CPU default, which is not drift.
    pub fn to_state(&self, prior: &Value, kind: &str, api_version: &str, uid: Option<&str>) -> Value {
        let keep = |name: &str, b: &Option<Behavior>| -> Value {
            let prior_block = prior.attr(name);
            if prior_block.is_null() && !prior.is_null() {
                return Value::Null;
            }
            let mut b = b.clone();
            if let Some(b) = b.as_mut() {
                let defaults = if name == "scale_up" { default_scale_up_policies() } else { default_scale_down_policies() };
                let unwritten = if prior.is_null() { b.policies == defaults } else { prior_block.attr("policy").elements().is_empty() };
                if unwritten {
                    b.policies.clear();
                }
            }
            // After import nothing says which blocks were written: one that holds exactly what
            // the server fills in was not.
            if prior.is_null() && name == "scale_up" && b.as_ref().is_some_and(Behavior::is_server_default_scale_up) {
                return Value::Null;
            }
            Behavior::to_value(b.as_ref())
        };
        let managed = |name: &str, actual: &BTreeMap<String, String>| -> Value {
            let prior_map = prior.attr(name);
            let kept: BTreeMap<String, String> = if prior.is_null() {
                actual.iter().filter(|(k, _)| !k.starts_with("kubectl.kubernetes.io/")).map(|(k, v)| (k.clone(), v.clone())).collect()
            } else {
                let wanted = prior_map.string_map();
                actual.iter().filter(|(k, _)| wanted.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            if kept.is_empty() && (prior_map.is_null() || prior.is_null()) {
                Value::Null
            } else {
                Value::from_string_map(&kept)
            }
        };
        let (mut cpu, memory) = (self.cpu_utilization, self.memory_utilization);
        if kind == HPA_KIND && cpu == Some(80) && memory.is_none() && prior.attr("cpu_utilization").is_null() && !prior.is_null() {
            cpu = None;
        }
        let queues = self
            .queues
            .iter()
            .map(|q| {
                Value::object([
                    ("type", Value::from(q.kind.as_str())),
                    ("address", Value::from(q.address.as_str())),
                    ("list_name", Value::from(q.list_name.as_str())),
                    ("list_length", Value::int(q.list_length)),
                ])
            })
            .collect();
        let schedules = self
            .schedules
            .iter()
            .map(|c| {
                Value::object([
                    ("name", Value::from(c.name.as_str())),
                    ("start", Value::from(c.start.as_str())),
                    ("end", Value::from(c.end.as_str())),
                    ("timezone", Value::from(c.timezone.as_str())),
                    ("min_replicas", Value::int(c.min_replicas)),
                ])
            })
            .collect();
        Value::object([
            ("id", Value::from(format!("{}/{}", self.namespace, self.name))),
            ("namespace", Value::from(self.namespace.as_str())),
            ("name", Value::from(self.name.as_str())),
            (
                "target",
                Value::object([
                    ("kind", Value::from(self.target.kind.as_str())),
                    ("name", Value::from(self.target.name.as_str())),
                    ("api_version", Value::from(self.target.api_version.as_str())),
                ]),
            ),
            ("min_replicas", Value::int(self.min_replicas)),
            ("max_replicas", Value::int(self.max_replicas)),
            ("cpu_utilization", Value::opt_int(cpu)),
            ("memory_utilization", Value::opt_int(memory)),
            ("scale_up", keep("scale_up", &self.scale_up)),
            ("scale_down", keep("scale_down", &self.scale_down)),
            ("labels", managed("labels", &self.labels)),
            ("annotations", managed("annotations", &self.annotations)),
            ("queue", Value::List(queues)),
            ("schedule", Value::List(schedules)),
            ("kind", Value::from(kind)),
            ("api_version", Value::from(api_version)),
            ("uid", Value::opt_string(uid)),
            ("unmanaged_metrics", Value::List(self.unmanaged_metrics.iter().map(|m| Value::from(m.as_str())).collect())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_gateway() -> Profile {
        Profile {
            namespace: "production".into(),
            name: "api-gateway".into(),
            target: Target { kind: "Deployment".into(), name: "api-gateway".into(), api_version: "apps/v1".into() },
            min_replicas: 3,
            max_replicas: 50,
            cpu_utilization: Some(70),
            memory_utilization: Some(80),
            scale_down: Some(Behavior {
                stabilization_window_seconds: Some(300),
                select_policy: Some("Min".into()),
                policies: vec![Policy { kind: "Pods".into(), value: 5, period_seconds: 300 }],
            }),
            ..Profile::default()
        }
    }

    #[test]
    fn hpa_v2_request_shape() {
        let m = api_gateway().hpa_manifest("autoscaling/v2");
        assert_eq!(
            m,
            json!({
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "api-gateway", "namespace": "production", "labels": {}, "annotations": {}},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-gateway"},
                    "minReplicas": 3,
                    "maxReplicas": 50,
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}
                    ],
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                                               "policies": [{"type": "Pods", "value": 5, "periodSeconds": 300}]}}
                }
            })
        );
        assert_eq!(Profile::from_object(&m), api_gateway());
    }

    #[test]
    fn metrics_and_triggers_written_elsewhere_are_named_not_misread() {
        let mut hpa = api_gateway().hpa_manifest("autoscaling/v2");
        hpa["spec"]["metrics"].as_array_mut().unwrap().push(json!({"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}));
        hpa["spec"]["metrics"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}}));
        let read = Profile::from_object(&hpa);
        assert_eq!(read.cpu_utilization, Some(70));
        assert_eq!(read.unmanaged_metrics, vec!["Pods/packets-per-second".to_string(), "Resource/cpu".to_string()]);

        let mut so = api_gateway().scaled_object_manifest();
        so["spec"]["triggers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "prometheus", "name": "rps", "metadata": {"query": "sum(rate(x[1m]))"}}));
        let read = Profile::from_object(&so);
        assert!(read.queues.is_empty(), "a prometheus trigger is no queue: {:?}", read.queues);
        assert_eq!(read.unmanaged_metrics, vec!["prometheus/rps".to_string()]);
    }

    #[test]
    fn objects_no_longer_written_are_patched_away() {
        let before =
            json!({"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleUp": {"a": 1}, "scaleDown": {"b": 2}}}}, "x": 1});
        let after = json!({"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"b": 3}}}}});
        assert_eq!(
            removed_objects(&before, &after),
            Some(json!({"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleUp": null}}}}))
        );
        assert_eq!(removed_objects(&after, &after), None);
        assert_eq!(removed_objects(&before, &json!({})), Some(json!({"advanced": null})));
    }

    #[test]
    fn scaled_object_round_trip() {
        let mut worker = api_gateway();
        worker.name = "job-processor".into();
        worker.memory_utilization = None;
        worker.queues =
            vec![Queue { kind: "redis".into(), address: "redis:6379".into(), list_name: "job-queue".into(), list_length: 1000 }];
        worker.schedules = vec![Schedule {
            name: "black-friday".into(),
            start: "0 6 27 11 *".into(),
            end: "0 23 28 11 *".into(),
            timezone: "Etc/UTC".into(),
            min_replicas: 15,
        }];
        let m = worker.scaled_object_manifest();
        assert_eq!(m["spec"]["triggers"][1]["metadata"]["listLength"], "1000");
        assert_eq!(m["spec"]["triggers"][2]["type"], "cron");
        assert_eq!(m["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["selectPolicy"], "Min");
        assert_eq!(Profile::from_object(&m), worker);
    }
}
