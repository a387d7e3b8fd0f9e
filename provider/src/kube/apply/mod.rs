//! Server-side apply under this provider's one field manager, taking back what someone changed
//! by hand and refusing what another tool manages unless told to take it (`ownership`).

pub mod ownership;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value as Json;

use crate::kube::error as kube_error;

/// Server-side apply field manager: the fields this provider owns.
pub const FIELD_MANAGER: &str = "terraform-provider-scaling";

/// Server-side apply of `manifest` under `manager` (`FIELD_MANAGER`, or a manager of its own
/// for a writer of one part of an object: server-side apply removes the fields a manager
/// applied before and leaves out now, so writers of different keys of one ConfigMap need one
/// each). Fields someone changed by hand are taken back (the plan said so); fields another
/// server-side-apply manager declares only with `force`.
pub async fn apply(
    manager: &str,
    api: &Api<DynamicObject>,
    name: &str,
    manifest: &Json,
    force: bool,
    action: &str,
    server: &str,
) -> Result<DynamicObject, String> {
    let params = PatchParams::apply(manager);
    let forced = params.clone().force();
    match api.patch(name, if force { &forced } else { &params }, &Patch::Apply(manifest)).await {
        Ok(obj) => Ok(obj),
        Err(e) => match ownership::conflicts(&e, manager) {
            Some(found) if found.iter().all(|c| !c.declarative) => {
                api.patch(name, &forced, &Patch::Apply(manifest)).await.map_err(|e| kube_error::describe(action, &e, server))
            }
            Some(found) => Err(refuse_takeover(action, &found)),
            None => Err(kube_error::describe(action, &e, server)),
        },
    }
}

/// Why an apply was refused: which fields, and whose.
pub fn refuse_takeover(action: &str, found: &[ownership::Conflict]) -> String {
    format!(
        "{action}: fields owned by another field manager: {}. Set force_conflicts = true to take them over, or stop managing \
         them in one of the two places.",
        ownership::describe(found)
    )
}
