//! The routes a reader browsing a project needs beyond the graph queries: a file's
//! source lines and the tenant's jobs. The web view uses these like any other client.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::api::{AppState, job_json, json_response, project_store, to_bytes};
use super::auth::Identity;
use super::error::{ApiError, ApiResult};
use super::state::App;
use super::work::Work;
use crate::project_file::{self, FileError};

/// Most lines one `source` answer carries.
pub const MAX_SOURCE_LINES: u32 = 5000;
/// Longest line carried whole; longer ones (minified code) are cut.
const MAX_LINE_CHARS: usize = 2000;
/// Most jobs one listing carries.
pub const MAX_JOBS: usize = 200;

#[derive(Clone, Debug, Deserialize)]
pub struct SourceQuery {
    pub path: String,
    /// First line, 1-based (default 1).
    pub start: Option<u32>,
    /// Last line, inclusive (default: as many as one answer carries).
    pub end: Option<u32>,
}

#[derive(Serialize)]
pub struct SourceLines {
    pub path: String,
    pub language: codegraph_core::Language,
    pub start_line: u32,
    /// Lines in the file now.
    pub total_lines: u32,
    pub lines: Vec<String>,
    /// More lines were asked for than one answer carries.
    pub truncated: bool,
}

/// `GET /api/v1/projects/{project}/source?path=&start=&end=`: lines of one of the
/// project's files, as it is on disk now, when the project was indexed from a
/// directory on this server (an uploaded archive is not kept: 404 `source_unavailable`).
pub async fn source(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<SourceQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let UrlPath(project) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let start = q.start.unwrap_or(1).max(1);
    // An end before the start asks for no lines, which is what it gets.
    let end = q.end.unwrap_or(u32::MAX);
    let answer = work
        .blocking(move |_| read_lines(&app, &id.tenant, &project, &q.path, start, end))
        .await?;
    Ok(json_response(StatusCode::OK, to_bytes(&answer), None))
}

fn read_lines(
    app: &App,
    tenant: &str,
    project: &str,
    path: &str,
    start: u32,
    end: u32,
) -> ApiResult<SourceLines> {
    let store = project_store(app, tenant, project)?;
    let Some(root) = store.db.source_dir(project)?.filter(|d| d.is_dir()) else {
        return Err(ApiError::not_found(
            "source_unavailable",
            format!(
                "project {project:?} was not indexed from a directory on this server: its source is not at hand"
            ),
        ));
    };
    let bytes = project_file::read(&store.db, project, &root, path).map_err(|e| match e {
        FileError::Store(e) => ApiError::from(e),
        FileError::OutsideProject(_) => ApiError::bad_request(e.to_string()),
        FileError::NotIndexed { .. } => ApiError::not_found("file_not_found", e.to_string()),
        FileError::Unreadable { .. } => {
            ApiError::new(StatusCode::GONE, "file_unreadable", e.to_string())
        }
    })?;
    let language = store
        .db
        .graph()
        .file(project, path)?
        .map(|f| f.language)
        .ok_or_else(|| ApiError::not_found("file_not_found", format!("no file {path:?}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let last = end.min(start.saturating_add(MAX_SOURCE_LINES - 1));
    let mut lines = Vec::new();
    let mut total = 0u32;
    for (n, line) in text.lines().enumerate() {
        let n = n as u32 + 1;
        total = n;
        if (start..=last).contains(&n) {
            lines.push(match line.char_indices().nth(MAX_LINE_CHARS) {
                Some((cut, _)) => format!("{} …", &line[..cut]),
                None => line.to_string(),
            });
        }
    }
    Ok(SourceLines {
        path: path.to_string(),
        language,
        start_line: start,
        total_lines: total,
        lines,
        truncated: last < end && last < total,
    })
}

#[derive(Clone, Debug, Deserialize)]
pub struct JobsQuery {
    pub project: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/jobs?project=&limit=`: the tenant's jobs, newest first, running ones
/// with their progress. Not in cluster mode, where jobs live in the shared queue and
/// are read one by one.
pub async fn jobs(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    query: Result<Query<JobsQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_JOBS {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_JOBS}"
        )));
    }
    #[cfg(feature = "cluster")]
    if app.cluster.is_some() {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_in_cluster_mode",
            "jobs are listed by one server, not by a cluster: ask for each job by its id",
        ));
    }
    let list: Vec<serde_json::Value> = app
        .jobs
        .recent(&id.tenant, q.project.as_deref(), limit)
        .iter()
        .map(|(job, live)| job_json(job, live.as_deref()))
        .collect();
    let body: BTreeMap<&str, _> = [("jobs", list)].into_iter().collect();
    Ok(json_response(StatusCode::OK, to_bytes(&body), None))
}
