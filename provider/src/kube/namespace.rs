//! Whether a namespace exists, asked at plan by the resources that make or edit objects in one.

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

/// Some(false) when the API server says the namespace does not exist; None when this user may
/// not read namespaces (a service account bound to one namespace), which says nothing either way.
pub async fn exists(client: &kube::Client, name: &str) -> Result<Option<bool>, kube::Error> {
    match Api::<Namespace>::all(client.clone()).get_opt(name).await {
        Ok(found) => Ok(Some(found.is_some())),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(None),
        Err(e) => Err(e),
    }
}
