//! Who owns which field of an object (an autoscaler, a ConfigMap's key). Server-side apply
//! refuses (HTTP 409) to change a field that another field manager owns, unless forced. Two
//! kinds of owner are told apart:
//! - kubectl's imperative commands (`kubectl edit`, `patch`, `scale`, `label`, ...: managers
//!   `kubectl-*` writing with operation `Update`) are someone changing the object by hand:
//!   drift, which apply takes back after the plan said so;
//! - every other manager is a tool that will write the field again: Argo CD, Flux, another
//!   workspace (server-side apply), but also Helm 3 and client-side `kubectl apply`, which
//!   write with `Update` too. Their fields are taken only with `force_conflicts`, so two
//!   owners never fight without a word.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

/// One field that an apply would take from another manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    /// As the API server names it, e.g. `.spec.maxReplicas`.
    pub field: String,
    /// The manager is a tool that will write the field again, not a person at kubectl.
    pub declarative: bool,
}

/// The field conflicts of an apply by `own` (our field manager) that the server refused, or
/// None when it failed for another reason. `own`'s other entries (the `Update` a creating POST
/// leaves) are ours to take, whatever they hold.
pub fn conflicts(err: &kube::Error, own: &str) -> Option<Vec<Conflict>> {
    let kube::Error::Api(status) = err else { return None };
    if status.code != 409 {
        return None;
    }
    let causes = &status.details.as_ref()?.causes;
    let found: Vec<Conflict> = causes
        .iter()
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| {
            let (manager, update) = parse_manager(&c.message);
            let declarative = manager != own && !(update && by_hand(&manager));
            Conflict { manager, field: c.field.clone(), declarative }
        })
        .collect();
    (!found.is_empty()).then_some(found)
}

/// kubectl's imperative commands name their manager `kubectl-COMMAND` (`kubectl-edit`,
/// `kubectl-patch`, `kubectl-scale`, ...; plain `kubectl` in old versions). Client-side
/// `kubectl apply` is declarative.
fn by_hand(manager: &str) -> bool {
    manager == "kubectl" || (manager.starts_with("kubectl-") && manager != "kubectl-client-side-apply")
}

/// The manager's name, and whether it wrote with an `Update` operation. The API server writes
/// a conflict's manager as `conflict with "NAME"`, followed, for an `Update` only, by
/// ` using API_VERSION`, e.g. `conflict with "kubectl-edit" using autoscaling/v2beta2`.
/// Anything unrecognised counts as an `Apply`, the side never taken without consent.
fn parse_manager(message: &str) -> (String, bool) {
    let Some(rest) = message.strip_prefix("conflict with ") else {
        return (message.to_string(), false);
    };
    // Go's %q: a JSON-compatible quoted string for the names managers use.
    let mut end = None;
    let mut escaped = false;
    for (i, c) in rest.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = Some(i);
                break;
            }
            _ => escaped = false,
        }
    }
    match end.and_then(|e| serde_json::from_str::<String>(&rest[..=e]).ok().map(|name| (name, &rest[e + 1..]))) {
        Some((name, after)) => (name, after.contains(" using ")),
        None => (rest.to_string(), false),
    }
}

/// `"argocd" (server-side apply): .spec.maxReplicas, .spec.minReplicas; "kubectl-edit" (edited
/// by hand): .spec.minReplicas`
pub fn describe(conflicts: &[Conflict]) -> String {
    let mut by_manager: BTreeMap<(&str, bool), Vec<&str>> = BTreeMap::new();
    for c in conflicts {
        by_manager.entry((&c.manager, c.declarative)).or_default().push(&c.field);
    }
    by_manager
        .iter()
        .map(|((manager, declarative), fields)| {
            let how = if *declarative { "managed by another tool" } else { "edited by hand" };
            format!("{manager:?} ({how}): {}", fields.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Creating with POST (the only create-only write Kubernetes has) records every field under an
/// `Update` entry of `manager`; the server-side apply that follows adds its `Apply` entry. A
/// field the `Update` entry still owned would survive every later apply that drops it, so
/// that entry goes once the `Apply` entry exists. None when there is nothing to remove.
pub fn without_create_entry(entries: &[ManagedFieldsEntry], manager: &str) -> Option<Vec<ManagedFieldsEntry>> {
    let ours = |e: &ManagedFieldsEntry, operation: &str| e.manager.as_deref() == Some(manager) && e.operation.as_deref() == Some(operation);
    let has_apply = entries.iter().any(|e| ours(e, "Apply"));
    let stale = |e: &ManagedFieldsEntry| ours(e, "Update") && e.subresource.as_deref().unwrap_or_default().is_empty();
    (has_apply && entries.iter().any(stale)).then(|| entries.iter().filter(|e| !stale(e)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    /// A 409 as the API server writes it.
    fn refused(messages: &[(&str, &str)]) -> kube::Error {
        let causes: Vec<_> =
            messages.iter().map(|(m, f)| serde_json::json!({"reason": "FieldManagerConflict", "message": m, "field": f})).collect();
        let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": format!("Apply failed with {} conflicts", causes.len()), "details": {"causes": causes}});
        kube::Error::Api(Box::new(serde_json::from_value(body).unwrap()))
    }

    #[test]
    fn managers_are_told_apart_by_how_they_wrote() {
        let err = refused(&[
            (r#"conflict with "kubectl-edit" using autoscaling/v2beta2"#, ".spec.maxReplicas"),
            (r#"conflict with "argocd-controller""#, ".spec.minReplicas"),
            (r#"conflict with "kubectl" with subresource "scale" using autoscaling/v1 at 2026-11-30T08:00:00Z"#, ".spec.x"),
            (r#"conflict with "odd \"name\"""#, ".spec.y"),
            (r#"conflict with "helm" using autoscaling/v2beta2"#, ".spec.minReplicas"),
            (r#"conflict with "kubectl-client-side-apply" using autoscaling/v2beta2"#, ".spec.minReplicas"),
            (r#"conflict with "terraform-provider-scaling" using autoscaling/v2beta2"#, ".spec.metrics"),
        ]);
        let found = conflicts(&err, "terraform-provider-scaling").unwrap();
        let seen: Vec<(&str, bool)> = found.iter().map(|c| (c.manager.as_str(), c.declarative)).collect();
        assert_eq!(
            seen,
            [
                ("kubectl-edit", false),
                ("argocd-controller", true),
                ("kubectl", false),
                ("odd \"name\"", true),
                ("helm", true),
                ("kubectl-client-side-apply", true),
                ("terraform-provider-scaling", false)
            ],
            "Helm 3 and client-side apply write with Update too, yet write again on every sync"
        );
        assert_eq!(found[0].field, ".spec.maxReplicas");
        let text = describe(&found);
        assert!(text.contains(r#""argocd-controller" (managed by another tool): .spec.minReplicas"#), "{text}");
        assert!(text.contains(r#""kubectl-edit" (edited by hand): .spec.maxReplicas"#), "{text}");
    }

    #[test]
    fn other_errors_are_not_conflicts() {
        let invalid = kube::Error::Api(Box::new(Status { code: 422, ..Status::default() }));
        assert_eq!(conflicts(&invalid, "me"), None);
        let exists = kube::Error::Api(Box::new(Status { code: 409, reason: "AlreadyExists".into(), ..Status::default() }));
        assert_eq!(conflicts(&exists, "me"), None);
    }

    fn entry(manager: &str, operation: &str) -> ManagedFieldsEntry {
        ManagedFieldsEntry { manager: Some(manager.into()), operation: Some(operation.into()), ..ManagedFieldsEntry::default() }
    }

    #[test]
    fn the_create_entry_goes_once_apply_owns_the_fields() {
        let m = "terraform-provider-scaling";
        let entries = [entry(m, "Update"), entry(m, "Apply"), entry("kubectl-edit", "Update")];
        let kept = without_create_entry(&entries, m).unwrap();
        assert_eq!(kept, [entry(m, "Apply"), entry("kubectl-edit", "Update")]);
        assert_eq!(without_create_entry(&kept, m), None, "nothing left to remove");
        assert_eq!(without_create_entry(&[entry(m, "Update")], m), None, "never before the apply entry exists");
    }
}
