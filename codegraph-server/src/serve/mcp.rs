//! `/mcp`: the MCP tools over streamable HTTP, behind the same token check and tenant
//! rules as `/api/v1`. A call reads the caller's tenant's projects only: the one it
//! names, or the tenant's only one.
//!
//! Sessions are not kept (stateless mode, JSON answers): every call is one POST that
//! passes through the server's admission, rate and in-flight limits like any other
//! request, and the tools' answers are bounded by their own token budgets.

use std::path::PathBuf;
use std::sync::Arc;

use codegraph::{Budget, Cancel, Db};
use rmcp::ErrorData;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};

use super::api::{list_projects, project_store};
use super::auth::Identity;
use super::state::App;
use super::store::TenantStore;
use super::work::Work;
use crate::mcp::tools::{Scope, Store, Tools};

impl Store for TenantStore {
    fn db(&self) -> &Db {
        &self.db
    }
}

/// The server's projects, as each caller's token allows.
struct Tenants {
    app: Arc<App>,
}

fn refused(message: String) -> ErrorData {
    ErrorData::invalid_params(message, None)
}

impl Scope for Tenants {
    fn open(
        &self,
        request: &rmcp::model::Extensions,
        named: Option<&str>,
    ) -> Result<(Arc<dyn Store>, String), ErrorData> {
        // Put there by the token check this route sits behind; without it the
        // request never got here.
        let identity = request
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Identity>())
            .ok_or_else(|| ErrorData::internal_error("no authenticated caller", None))?;
        let project = match named {
            Some(p) => p.to_string(),
            None => {
                let projects =
                    list_projects(&self.app, &identity.tenant).map_err(|e| refused(e.message))?;
                match projects.as_slice() {
                    [one] => one.name.clone(),
                    [] => {
                        return Err(refused(
                            "this tenant has no project yet: index one with POST /api/v1/analyze"
                                .into(),
                        ));
                    }
                    many => {
                        let names: Vec<&str> = many.iter().map(|p| p.name.as_str()).collect();
                        return Err(refused(format!(
                            "this tenant has {} projects; pass project, one of: {}",
                            many.len(),
                            names.join(", ")
                        )));
                    }
                }
            }
        };
        if !super::auth::valid_name(&project) {
            return Err(refused(format!("{project:?} is not a project name")));
        }
        #[cfg(feature = "cluster")]
        if let Some(c) = &self.app.cluster {
            // `route_to_server` cannot stand in front of /mcp: the project is named in
            // the body, or not at all. So this node answers itself, restoring the
            // project's current generation first when it has no copy of it (as the
            // router does when no node serves it).
            let runtime = tokio::runtime::Handle::current();
            let unavailable =
                |e: String| ErrorData::internal_error(format!("the cluster: {e}"), None);
            if runtime
                .block_on(c.route(&identity.tenant, &project))
                .map_err(|e| unavailable(e.to_string()))?
                .is_some()
            {
                let timeout = self.app.settings.request_timeout;
                runtime
                    .block_on(c.restore_within(&identity.tenant, &project, timeout))
                    .map_err(|e| unavailable(format!("cannot restore {project}: {e}")))?;
            }
        }
        let store =
            project_store(&self.app, &identity.tenant, &project).map_err(|e| refused(e.message))?;
        Ok((store as Arc<dyn Store>, project))
    }

    fn root(&self, store: &dyn Store, project: &str) -> Option<PathBuf> {
        // The directory a job indexed it from, when that was a directory on this
        // server (under the tenant's roots, which the job checked).
        store
            .db()
            .source_dir(project)
            .ok()
            .flatten()
            .filter(|dir| dir.is_dir())
    }

    fn freshen(&self, store: &dyn Store, project: &str) -> String {
        // The server indexes in jobs, not by watching: the index is as of the last
        // job, and a running one is said.
        match store.db().project(project) {
            Ok(Some(meta)) if meta.dirty => {
                "index: as of the last analyze job; a job is writing it now (or one was interrupted)"
                    .into()
            }
            _ => "index: as of the last analyze job (POST /api/v1/analyze to update)".into(),
        }
    }

    fn budget(&self, request: &rmcp::model::Extensions) -> Arc<Budget> {
        // The request's own (`--query-budget`, stopped when it times out or its
        // client leaves), put there by `admit`.
        request
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Work>())
            .map(Work::shared_budget)
            .unwrap_or_else(|| Arc::new(Budget::new(0, Cancel::new())))
    }

    fn status(&self, store: &dyn Store, project: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(Some(meta)) = store.db().project(project) {
            if let Some(source) = meta.source {
                out.push(format!("indexed from: {source}"));
            }
            if meta.dirty {
                out.push("a job is writing the index now, or one was interrupted".into());
            }
        }
        out.push(format!(
            "search: {}",
            match store.db().embedder() {
                Some(_) => "hybrid (text + embeddings)",
                None => "text (no embedding model configured)",
            }
        ));
        out
    }
}

/// The `/mcp` service.
pub fn service(app: Arc<App>) -> StreamableHttpService<Tools, LocalSessionManager> {
    let scope: Arc<dyn Scope> = Arc::new(Tenants { app });
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(super::api::MAX_JSON_BODY)
        // Every request carries a bearer token, which a page on another site cannot
        // make a browser send: the loopback-only Host check that guards
        // unauthenticated local servers would only refuse real deployments.
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(Tools::new(Arc::clone(&scope))),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
