//! What the resources that adopt an existing object share (scaling_db_instance_class,
//! scaling_redis_shard_config, scaling_node_group, scaling_origin_shield, and the ConfigMap of
//! scaling_connection_pool): the object is made by someone else, maybe in the same apply, and a
//! create adopts it before changing it.

use scaling_schema::{AttributePath, Diagnostics, Value};

/// An object an adopting resource needs that is not there at plan time. A warning, not an
/// error: the object may come from this same apply (`aws_db_instance.x.identifier` is known at
/// plan), and a `terraform destroy` plans with the configuration before it destroys, so an
/// error here would block destroying everything once the object is gone. Create fails, with
/// nothing changed, if the object is still missing then.
pub fn missing_at_plan(diags: &mut Diagnostics, path: AttributePath, summary: &str, missing: String) {
    diags.warning_at(
        path,
        summary,
        format!(
            "{missing} The plan goes on in case another resource in this apply creates it; if it is still missing when this \
             resource is created, the apply fails there and changes nothing."
        ),
    );
}

/// A create that adopted its object, then failed to change it, with `diags` saying why and
/// `now` the object as read after the failure (`adopted` as it was found). Nothing changed on
/// the object (the `shape` attributes as found, nothing under way): nothing is recorded, so the
/// next apply adopts it afresh with the same originals. Changed, or changing: recorded as it is,
/// the errors as warnings, since a tainted object would be replaced, and with
/// `on_destroy = "restore"` the replacement would first put the originals back (a reshard, a
/// class change with downtime) before making the same change again.
pub fn failed_change_on_create(adopted: &Value, now: Value, shape: &[&str], diags: Diagnostics, into: &mut Diagnostics) -> Value {
    if !diags.has_errors() || now.is_null() {
        into.extend(diags);
        return now;
    }
    // Interrupted (Ctrl-C): the framework records such a create untainted and says so; what
    // the object is now could not be read after the stop.
    if crate::framework::only_stopped(&diags) {
        into.extend(diags);
        return now;
    }
    let unchanged = shape.iter().all(|a| now.attr(a) == adopted.attr(a));
    if unchanged {
        into.extend(diags);
        return Value::Null;
    }
    into.extend(diags.as_warnings());
    into.warning(
        "The change is under way or half made: recorded, not tainted",
        "The object was adopted and changed in part, or is still changing, when the create failed (the warnings above say \
         why). It is recorded as it is now rather than tainted, so the next apply goes on from here instead of replacing \
         it (which would first restore the originals). The next plan shows what is left to do.",
    );
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_create_records_only_what_changed() {
        let found = Value::object([("instance_class", Value::from("db.r6g.large")), ("status", Value::from("available"))]);
        let failed = || {
            let mut d = Diagnostics::new();
            d.error("Could not change", "ModifyDBInstance: refused");
            d
        };
        let mut into = Diagnostics::new();
        assert!(failed_change_on_create(&found, found.clone(), &["instance_class", "status"], failed(), &mut into).is_null());
        assert!(into.has_errors(), "nothing changed: the error stands, nothing is recorded");

        let changing = Value::object([("instance_class", Value::from("db.r6g.large")), ("status", Value::from("modifying"))]);
        let mut into = Diagnostics::new();
        let kept = failed_change_on_create(&found, changing.clone(), &["instance_class", "status"], failed(), &mut into);
        assert_eq!(kept, changing);
        assert!(!into.has_errors(), "under way: warnings, so the object is not tainted");

        // Ctrl-C: left to the framework, which records the object untainted and says so.
        let mut stopped = Diagnostics::new();
        stopped.error("Could not change", "stopped by Terraform while waiting for DB instance db to become available");
        let mut into = Diagnostics::new();
        assert_eq!(failed_change_on_create(&found, found.clone(), &["instance_class", "status"], stopped, &mut into), found);
        assert!(into.has_errors());
    }
}
