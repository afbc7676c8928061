//! An open store the API answers from: a tenant's whole store in one process, or in
//! cluster mode a node's copy of one project's index.

use std::path::PathBuf;

use codegraph::Db;

/// One tenant's store: a [`Db`] (graph, full text, embeddings) under
/// `tenants/<tenant>/`, or a cluster node's copy of one of its projects.
pub struct TenantStore {
    pub name: String,
    pub db: Db,
    /// A store that is a cluster node's copy of one project's index is removed
    /// when the last request reading it ends (after `db` is closed: fields drop in
    /// order).
    pub _remove_on_drop: Option<RemoveOnDrop>,
}

/// A directory removed when this is dropped.
pub struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.0.display(), error = %e, "cannot remove a replaced index");
        }
    }
}
