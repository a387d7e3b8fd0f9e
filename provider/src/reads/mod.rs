//! How reads are shared, whatever the backend: concurrent look-ups of one kind coalesced into
//! one call (`batch`), and a refresh's reads of one scope answered by one listing (`refresh`).
//! `aws/` and `kube/` build their look-ups on these.

pub mod batch;
pub mod refresh;
