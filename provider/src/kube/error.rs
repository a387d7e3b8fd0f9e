//! Turning Kubernetes client errors into messages a Terraform user can act on: the API
//! server's own reason and message instead of a dump of its Status, and, when the server
//! cannot be reached, which address was tried and what to check.

use crate::error_chain::{caused_by, chain, stopped};

/// `action` says what was being done ("reading HorizontalPodAutoscaler production/api"),
/// `server` the API server's URL from the kubeconfig.
pub fn describe(action: &str, err: &kube::Error, server: &str) -> String {
    match err {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() { "no message" } else { status.message.as_str() };
            let reason = if status.reason.is_empty() { String::new() } else { format!("{} ", status.reason) };
            let hint = match status.code {
                401 => " Check the credentials of the kubeconfig's user.",
                403 => " The kubeconfig's user is not allowed to do this; check its RBAC roles.",
                _ => "",
            };
            format!("{action}: {reason}(HTTP {}): {message}.{hint}", status.code)
        }
        _ if stopped(err) => format!("{action}: stopped by Terraform"),
        kube::Error::HyperError(_) | kube::Error::Service(_) if caused_by(err, is_timeout) => format!(
            "{action}: the Kubernetes API server at {server} did not answer in time (connect_timeout and read_timeout in the \
             provider block): {}",
            chain(err)
        ),
        kube::Error::HyperError(_) | kube::Error::Service(_) => format!(
            "{action}: cannot reach the Kubernetes API server at {server}: {}. Check that the cluster is running and that the \
             provider's kubernetes block (config_path, config_context) or KUBECONFIG points at it.",
            chain(err)
        ),
        other => format!("{action}: {}", chain(other)),
    }
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_say_reason_and_message_not_a_dump() {
        let status = kube::core::Status {
            code: 422,
            reason: "Invalid".into(),
            message: "spec.maxReplicas: Invalid value: 0".into(),
            ..kube::core::Status::default()
        };
        let text = describe("applying HorizontalPodAutoscaler a/b", &kube::Error::Api(Box::new(status)), "https://127.0.0.1:6443");
        assert_eq!(text, "applying HorizontalPodAutoscaler a/b: Invalid (HTTP 422): spec.maxReplicas: Invalid value: 0.");
        assert!(!text.contains("ListMeta"));
    }

    #[test]
    fn forbidden_points_at_rbac() {
        let status = kube::core::Status { code: 403, reason: "Forbidden".into(), message: "nope".into(), ..kube::core::Status::default() };
        let text = describe("deleting x", &kube::Error::Api(Box::new(status)), "https://k");
        assert!(text.contains("RBAC"), "{text}");
    }
}
