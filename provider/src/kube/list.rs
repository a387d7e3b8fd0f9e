//! Kubernetes objects as a refresh reads them: after the first read of a kind in a namespace,
//! one paginated LIST of that kind and namespace answers the refresh's other reads of it (see
//! `refresh`), instead of a GET per object.

use std::collections::HashMap;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, ListParams, TypeMeta};

use crate::reads::refresh::{ListingPolicy, SharedListing, WriteCount};

/// A lone object in a namespace is read on its own; a second read of its kind lists them all.
const LISTING: ListingPolicy = ListingPolicy { reads_before_listing: 1, max_age: Duration::from_secs(30) };

/// Objects a LIST page holds, as kubectl asks for them.
const PAGE: u32 = 500;

pub struct ObjectListings(SharedListing<DynamicObject>);

impl ObjectListings {
    pub fn new(writes: WriteCount) -> ObjectListings {
        ObjectListings(SharedListing::new(LISTING, writes))
    }

    /// Object `name` through `api` (of kind `resource`, in one namespace), or None when there is
    /// none: from the refresh's listing of that kind and namespace when it has one, else by GET.
    pub async fn get(&self, api: &Api<DynamicObject>, resource: &ApiResource, name: &str) -> Result<Option<DynamicObject>, kube::Error> {
        if let Some(listed) = self.0.get(api.resource_url(), name, || list_all(api, resource)).await {
            return Ok(Some(listed));
        }
        api.get_opt(name).await
    }
}

/// Every object `api` reaches, by name, over every page. A LIST leaves out each item's kind and
/// apiVersion, which a GET gives; they are filled in, so that a listed object is the object a
/// GET returns.
pub async fn list_all(api: &Api<DynamicObject>, resource: &ApiResource) -> Result<HashMap<String, DynamicObject>, kube::Error> {
    let mut params = ListParams::default().limit(PAGE);
    let mut found = HashMap::new();
    loop {
        let page = api.list(&params).await?;
        for mut object in page.items {
            object.types.get_or_insert_with(|| TypeMeta { api_version: resource.api_version.clone(), kind: resource.kind.clone() });
            if let Some(name) = object.metadata.name.clone() {
                found.insert(name, object);
            }
        }
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(found),
        }
    }
}
