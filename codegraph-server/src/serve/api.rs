//! The `/api/v1` handlers, and the blocking queries behind them that GraphQL shares.
//!
//! Read answers are cached whole (serialised JSON) in the results tier, keyed by
//! tenant, project, route and canonical query string; a job that changes a project
//! drops its entries. Uncached work runs on the blocking pool, never on the runtime.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use codegraph::IndexConfig;
use codegraph::store::query;
use codegraph::{
    Filters, Fusion, HybridWeights, Match, Mode, SearchRequest, SearchResults, Strategy,
};
use codegraph_core::{Budget, Direction, Language, Node, NodeKind};
use codegraph_parse::filter::Filter;
use codegraph_parse::source::{
    Content, DirectorySource, Sink, Source, SourceError, SourceFile, SourceItem,
};
use serde::{Deserialize, Serialize};

use super::auth::{Identity, valid_name};
use super::cache::CacheTier;
use super::error::{ApiError, ApiResult};
use super::jobs::{Job, JobSource, Status, SubmitError, Submitted};
use super::paths::allowed_path;
use super::state::{App, ProjectKey, ResultKey, TenantStore};
use super::work::Work;

pub type AppState = State<Arc<App>>;

/// Upper bounds on what one request may ask for.
pub const MAX_LIMIT: usize = 1000;
pub const MAX_DEPTH: u32 = 10;
pub const MAX_NODES: usize = 5000;
pub const MAX_QUERY_CHARS: usize = 1024;
/// The largest JSON or GraphQL body: what a person writes, never a document.
pub const MAX_JSON_BODY: usize = 64 * 1024;

pub(super) fn json_response(
    status: StatusCode,
    body: Bytes,
    cache: Option<&'static str>,
) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(c) = cache {
        r.headers_mut()
            .insert("x-cache", HeaderValue::from_static(c));
    }
    r
}

pub(super) fn to_bytes(value: &impl Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("answers serialise"))
}

// ---------------------------------------------------------------------------------
// Tenants and projects.

pub fn check_project_name(project: &str) -> ApiResult<()> {
    if valid_name(project) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a project name is 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -",
        ))
    }
}

fn not_found(project: &str) -> ApiError {
    ApiError::not_found(
        "project_not_found",
        format!("no project {project:?} (analyse it first: POST /api/v1/analyze)"),
    )
}

/// The tenant's store holding `project`, or 404.
pub fn project_store(app: &App, tenant: &str, project: &str) -> ApiResult<Arc<TenantStore>> {
    check_project_name(project)?;
    // In cluster mode, this node's copy of the project (the router made sure it is
    // the current generation, or passed the request on).
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        return match c.replicas.get(tenant, project) {
            Some(r) => Ok(Arc::clone(&r.store)),
            None => Err(not_found(project)),
        };
    }
    let Some(store) = app.tenants.get(tenant, false)? else {
        return Err(not_found(project));
    };
    if store.db.project(project)?.is_none() {
        return Err(not_found(project));
    }
    Ok(store)
}

#[derive(Serialize)]
pub struct ProjectInfo {
    pub name: String,
    pub source: Option<String>,
    pub files: usize,
    /// A job is indexing it now, or one was interrupted.
    pub dirty: bool,
    /// Files and lines per language, most files first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<LanguageCount>,
    /// Files tree-sitter had to recover from syntax errors in.
    pub files_with_errors: usize,
    /// When a run last changed the index, in milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_ms: Option<u64>,
}

#[derive(Serialize)]
pub struct LanguageCount {
    pub language: Language,
    pub files: usize,
    pub lines: u64,
}

pub fn project_info(store: &TenantStore, project: &str) -> ApiResult<ProjectInfo> {
    let meta = store
        .db
        .project(project)?
        .ok_or_else(|| not_found(project))?;
    let files = store.db.files(project)?;
    let mut by_language: BTreeMap<Language, (usize, u64)> = BTreeMap::new();
    for f in &files {
        let entry = by_language.entry(f.language).or_default();
        entry.0 += 1;
        entry.1 += u64::from(f.lines);
    }
    let mut languages: Vec<LanguageCount> = by_language
        .into_iter()
        .map(|(language, (files, lines))| LanguageCount {
            language,
            files,
            lines,
        })
        .collect();
    languages.sort_by(|a, b| b.files.cmp(&a.files).then(b.lines.cmp(&a.lines)));
    Ok(ProjectInfo {
        name: meta.name,
        source: meta.source,
        files: files.len(),
        dirty: meta.dirty,
        languages,
        files_with_errors: files.iter().filter(|f| f.has_errors).count(),
        indexed_ms: meta.indexed_ms,
    })
}

pub fn list_projects(app: &App, tenant: &str) -> ApiResult<Vec<ProjectInfo>> {
    // In cluster mode, every project of the tenant from the manifest, wherever it
    // is served.
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        return Ok(c
            .queue
            .tenant_projects(tenant)
            .into_iter()
            .map(|(name, m)| {
                let object = m
                    .object
                    .unwrap_or_else(|| unreachable!("listed with an index"));
                ProjectInfo {
                    name,
                    source: object.source,
                    files: object.files,
                    dirty: false,
                    languages: Vec::new(),
                    files_with_errors: 0,
                    indexed_ms: None,
                }
            })
            .collect());
    }
    let Some(store) = app.tenants.get(tenant, false)? else {
        return Ok(Vec::new());
    };
    store
        .db
        .projects()?
        .iter()
        .map(|p| project_info(&store, p))
        .collect()
}

pub async fn projects(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
) -> ApiResult<Response> {
    let list = work
        .blocking(move |_| list_projects(&app, &id.tenant))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        to_bytes(&serde_json::json!({ "projects": list })),
        None,
    ))
}

pub async fn project(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let UrlPath(project) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let info = work
        .blocking(move |_| {
            let store = project_store(&app, &id.tenant, &project)?;
            project_info(&store, &project)
        })
        .await?;
    Ok(json_response(StatusCode::OK, to_bytes(&info), None))
}

/// `DELETE /api/v1/projects/{project}`: removes a project and everything kept for it
/// (graph, full text, embeddings; in a cluster its manifest and index object, and
/// every node's copy), freeing its place under `--max-projects-per-tenant`. 409
/// while a job analyses it.
pub async fn delete_project(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    refuse_if_read_only(&app)?;
    let UrlPath(project) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    check_project_name(&project)?;
    let busy = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "project_busy",
            format!("a job is analysing project {project:?}; cancel it or wait for it to end"),
        )
    };
    let removed = serde_json::json!({ "removed": project });
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        return match c
            .queue
            .remove_project(&id.tenant, &project)
            .await
            .map_err(ApiError::cluster_unavailable)?
        {
            None => Err(not_found(&project)),
            Some(false) => Err(busy()),
            Some(true) => {
                c.replicas.remove(&id.tenant, &project);
                let _ = c.beat().await;
                Ok(json_response(StatusCode::OK, to_bytes(&removed), None))
            }
        };
    }
    if app.jobs.pending_for(&id.tenant, &project) {
        return Err(busy());
    }
    let name = project.clone();
    work.blocking(move |_| {
        let store = project_store(&app, &id.tenant, &name)?;
        store.db.remove_project(&name)?;
        app.invalidate(&id.tenant, &name);
        app.record_sizes(&store);
        Ok(())
    })
    .await?;
    Ok(json_response(StatusCode::OK, to_bytes(&removed), None))
}

// ---------------------------------------------------------------------------------
// Analyze and jobs.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeBody {
    project: String,
    /// A directory under an allowed root, or a git repository with `rev`.
    path: String,
    rev: Option<String>,
    /// A SCIP index file of the directory, under an allowed root.
    scip: Option<String>,
}

#[derive(Deserialize)]
pub struct AnalyzeQuery {
    project: Option<String>,
}

/// Content types taken as an uploaded archive.
pub fn is_archive_type(content_type: &str) -> bool {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    matches!(
        ct,
        "application/zip"
            | "application/gzip"
            | "application/x-gzip"
            | "application/x-tar"
            | "application/x-gtar"
            | "application/octet-stream"
    )
}

/// A SCIP index file under the tenant's roots, and its size and modification time (so
/// that a rewritten index is analysed again).
fn scip_file(roots: &[std::path::PathBuf], scip: &str) -> ApiResult<(std::path::PathBuf, String)> {
    let file = allowed_path(roots, scip)?;
    let meta = std::fs::metadata(&file)
        .ok()
        .filter(|m| m.is_file())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "scip_unreadable",
                format!("{} is not a readable file", file.display()),
            )
        })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((file, format!("{}:{modified}", meta.len())))
}

/// Identifies a directory's content cheaply: every file the indexer would read (the
/// worker's own source and filter, so `.codegraphignore` and the vendored rules count),
/// with its size and modification time; the indexer itself compares content hashes.
/// `None` when the walk ran out of the request's budget (a file is one visit): the
/// analysis then runs as a job, which finds out itself.
fn directory_fingerprint(root: &Path, budget: &Budget) -> ApiResult<Option<String>> {
    struct Stamps<'b> {
        budget: &'b Budget,
        entries: Vec<String>,
        stopped: Option<codegraph_core::Error>,
        exhausted: bool,
    }
    impl Sink for Stamps<'_> {
        fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
            match self.budget.spend(1) {
                Ok(true) => {}
                Ok(false) => {
                    self.exhausted = true;
                    return ControlFlow::Break(());
                }
                Err(e) => {
                    self.stopped = Some(e);
                    return ControlFlow::Break(());
                }
            }
            if let SourceItem::File(SourceFile {
                path,
                content: Content::Disk { path: on_disk, .. },
                ..
            }) = item
            {
                let (len, mtime) = std::fs::symlink_metadata(&on_disk)
                    .map(|m| {
                        let mtime = m
                            .modified()
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map_or(0, |d| d.as_nanos());
                        (m.len(), mtime)
                    })
                    .unwrap_or((0, 0));
                self.entries.push(format!("{path}\0{len}\0{mtime}"));
            }
            ControlFlow::Continue(())
        }
    }
    let config = IndexConfig::default();
    let filter = Filter::new(config.filter).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut source = DirectorySource::new(root).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "path_unreadable",
            e.to_string(),
        )
    })?;
    let mut stamps = Stamps {
        budget,
        entries: Vec::new(),
        stopped: None,
        exhausted: false,
    };
    // A walk that fails part-way only means no shortcut: the job reports the error.
    let walked = source.run(&filter, &mut stamps);
    if let Some(e) = stamps.stopped {
        return Err(e.into());
    }
    if stamps.exhausted || walked.is_err() {
        return Ok(None);
    }
    stamps.entries.sort();
    Ok(Some(format!(
        "dir:{:032x}",
        xxhash_rust::xxh3::xxh3_128(stamps.entries.join("\n").as_bytes())
    )))
}

/// A revision a request may name: refs, ids and navigation (`main~3`, `v1^{commit}`),
/// never the forms that search history for a message (`:/fix`, `main^{/fix}`), whose
/// cost has no bound and cannot be stopped once started.
fn check_rev(rev: &str) -> ApiResult<()> {
    let bad = |why: &str| {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_revision",
            format!("revision {rev:?}: {why}"),
        ))
    };
    if rev.is_empty() || rev.len() > 256 {
        return bad("a revision has 1 to 256 bytes");
    }
    if rev.chars().any(|c| c.is_control()) {
        return bad("control characters");
    }
    if rev.starts_with(':') || rev.contains("^{/") || rev.contains("@{/") {
        return bad("searching history by message is not supported; name a ref or commit");
    }
    Ok(())
}

pub async fn analyze(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    query: Result<Query<AnalyzeQuery>, QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    refuse_if_read_only(&app)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The archive limit is for archives only: a JSON body is a few names. Counted as
    // the body streams in, so a chunked body without a length is bounded as well.
    let limit = if is_archive_type(content_type) {
        app.settings.max_body_bytes
    } else {
        MAX_JSON_BODY
    };
    let job_id = uuid::Uuid::new_v4().simple().to_string();
    let mut upload: Option<Upload> = None;
    let (project, source, fingerprint) = if is_archive_type(content_type) {
        let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let project = q.project.ok_or_else(|| {
            ApiError::bad_request("an archive upload names its project: ?project=NAME")
        })?;
        check_project_name(&project)?;
        // Refuse early when the queue is full, before reading the body (an archive
        // may be megabytes), storing it or walking a directory; `submit` checks
        // again, and decides.
        refuse_early(&app, &id.tenant, &project).await?;
        check_project_room(&app, &work, &id.tenant, &project).await?;
        let body = read_body(body, limit).await?;
        let head = &body[..body.len().min(512)];
        if codegraph_parse::source::ArchiveFormat::sniff(head).is_none() {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_archive",
                "the body is not a .tar, .tar.gz or .zip archive",
            ));
        }
        let fingerprint = format!("archive:{:032x}", xxhash_rust::xxh3::xxh3_128(&body));
        let file = app
            .settings
            .data_dir
            .join("uploads")
            .join(format!("{job_id}.archive"));
        let bytes = body.len() as u64;
        // In cluster mode the upload goes to the shared store with its job.
        #[cfg(feature = "cluster")]
        if app.cluster.is_some() {
            let file = std::path::PathBuf::new();
            let source = JobSource::Archive { file, bytes };
            return submit_to_cluster(&app, &id.tenant, project, source, fingerprint, Some(body))
                .await;
        }
        let f = file.clone();
        // Removed again unless a job takes it: a request that times out or is
        // abandoned from here on leaves nothing behind.
        upload = Some(Upload(Some(file.clone())));
        work.blocking(move |_| {
            std::fs::write(&f, &body)
                .map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))
        })
        .await?;
        (project, JobSource::Archive { file, bytes }, fingerprint)
    } else if content_type.starts_with("application/json") || content_type.is_empty() {
        let body = read_body(body, limit).await?;
        let req: AnalyzeBody = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("bad request body: {e}"),
            )
        })?;
        check_project_name(&req.project)?;
        // The revision is kept in the job's record, which stays small.
        if let Some(rev) = &req.rev {
            check_rev(rev)?;
        }
        // Refuse early when the queue is full, before storing an upload or walking a
        // directory; `submit` checks again, and decides.
        refuse_early(&app, &id.tenant, &req.project).await?;
        check_project_room(&app, &work, &id.tenant, &req.project).await?;
        let roots = app.settings.roots_of(&id.tenant);
        let (source, fingerprint) = work
            .blocking(move |budget| {
                let path = allowed_path(&roots, &req.path)?;
                let scip = match &req.scip {
                    Some(_) if req.rev.is_some() => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "scip_needs_directory",
                            "a SCIP index is taken only for a directory, not with `rev`",
                        ));
                    }
                    Some(scip) => Some(scip_file(&roots, scip)?),
                    None => None,
                };
                match req.rev {
                    Some(rev) => {
                        let git =
                            codegraph_parse::source::GitSource::open_confined(&path, &rev, &roots)
                                .map_err(|e| match e {
                                    SourceError::OutsideRoots(m) => {
                                        ApiError::forbidden(m).with_code("path_not_allowed")
                                    }
                                    e => ApiError::new(
                                        StatusCode::UNPROCESSABLE_ENTITY,
                                        "bad_revision",
                                        e.to_string(),
                                    ),
                                })?;
                        let commit = git.resolved().to_string();
                        let fp = format!("git:{commit}");
                        Ok((JobSource::Git { path, rev, commit }, fp))
                    }
                    None => {
                        if !path.is_dir() {
                            return Err(ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "path_unreadable",
                                format!("{} is not a directory", path.display()),
                            ));
                        }
                        // Without a fingerprint (more files than the request may
                        // walk), one that matches no earlier job.
                        let mut fp = directory_fingerprint(&path, budget)?.unwrap_or_else(|| {
                            format!("dir:unwalked:{}", uuid::Uuid::new_v4().simple())
                        });
                        // Another index, or the same one rewritten, is another job.
                        if let Some((file, stamp)) = &scip {
                            fp = format!("{fp};scip:{}:{stamp}", file.display());
                        }
                        let scip = scip.map(|(file, _)| file);
                        Ok((JobSource::Directory { path, scip }, fp))
                    }
                }
            })
            .await?;
        (req.project, source, fingerprint)
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send JSON {{\"project\",\"path\"[,\"rev\"]}} or an archive \
                 (application/zip, application/gzip, application/x-tar), not {content_type:?}"
            ),
        ));
    };
    #[cfg(feature = "cluster")]
    if app.cluster.is_some() {
        return submit_to_cluster(&app, &id.tenant, project, source, fingerprint, None).await;
    }
    // Already analysed, unchanged since: answer from the record of that job.
    if let Some(done) = app.jobs.current(&id.tenant, &project)
        && done.fingerprint == fingerprint
    {
        let app2 = Arc::clone(&app);
        let (tenant, p) = (id.tenant.clone(), project.clone());
        // The store is the last word: a project removed, or left dirty by a run that
        // died with the process, is analysed again.
        let still_there = work
            .blocking(move |_| {
                Ok(project_store(&app2, &tenant, &p)
                    .and_then(|t| project_info(&t, &p))
                    .is_ok_and(|info| !info.dirty))
            })
            .await?;
        if still_there {
            if let JobSource::Archive { file, .. } = &source {
                let file = file.clone();
                work.blocking(move |_| Ok(std::fs::remove_file(file)))
                    .await?
                    .ok();
            }
            let mut body = job_json(&done, None);
            body["cached"] = serde_json::Value::Bool(true);
            return Ok(json_response(StatusCode::OK, to_bytes(&body), Some("hit")));
        }
    }
    let job = Job::queued(job_id, &id.tenant, project, source.clone(), fingerprint);
    // Submitting waits for the job's record to be synced: off the async threads.
    let app2 = Arc::clone(&app);
    let submitted = work
        .blocking(move |_| {
            let submitted = app2.jobs.submit(job);
            if !matches!(submitted, Ok(Submitted::New(_)))
                && let JobSource::Archive { file, .. } = &source
            {
                let _ = std::fs::remove_file(file);
            }
            Ok(submitted)
        })
        .await?;
    let job = match submitted {
        Ok(Submitted::New(j)) => {
            // The job owns the upload now.
            if let Some(u) = upload.take() {
                u.keep();
            }
            app.metrics.queue_depth.set(app.jobs.depth() as i64);
            tracing::info!(job = %j.id, project = %j.project, "job queued");
            j
        }
        Ok(Submitted::Existing(j)) => j,
        Err(why @ (SubmitError::Full | SubmitError::TenantFull)) => {
            return Err(queue_refusal(&app, why));
        }
        Err(SubmitError::ShuttingDown) => {
            return Err(ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the server is shutting down",
                )
            });
        }
        Err(SubmitError::Io(e)) => {
            return Err(ApiError::internal(format!("cannot persist the job: {e}")));
        }
    };
    Ok(accepted(&job))
}

/// Refuses early when the queue is full, before a body is read, an upload stored or
/// a directory walked; submitting checks again, and decides.
async fn refuse_early(app: &Arc<App>, tenant: &str, project: &str) -> ApiResult<()> {
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        return match c.queue.refusal().await {
            Some(why) => Err(queue_refusal(app, why)),
            None => Ok(()),
        };
    }
    match app.jobs.refusal(tenant, project) {
        Some(why) => Err(queue_refusal(app, why)),
        None => Ok(()),
    }
}

/// Submits a job to the cluster's shared queue: its id is a hash of the tenant,
/// project and content, so the same request made to two nodes is one job, and a
/// job that already succeeded with the same content is answered from its record.
#[cfg(feature = "cluster")]
async fn submit_to_cluster(
    app: &Arc<App>,
    tenant: &str,
    project: String,
    mut source: JobSource,
    fingerprint: String,
    upload: Option<Bytes>,
) -> ApiResult<Response> {
    let cluster = app.cluster.as_ref().expect("cluster mode");
    let id = super::cluster::queue::job_id(tenant, &project, &fingerprint);
    if let JobSource::Archive { file, .. } = &mut source {
        // Where it is kept is each worker's own business.
        *file = format!("{id}.archive").into();
    }
    // Answered from the record only while its run made the project's current
    // index: after another analysis of the project, it runs again.
    if let Some((record, _)) = cluster
        .queue
        .entry(&id)
        .await
        .map_err(ApiError::cluster_unavailable)?
        && record.job.status == Status::Succeeded
        && record.job.tenant == tenant
        && let Some((m, _)) = cluster
            .queue
            .manifest(tenant, &project)
            .await
            .map_err(ApiError::cluster_unavailable)?
        && m.job.as_deref() == Some(id.as_str())
        && m.object.is_some()
    {
        let mut body = record_json(&record, None);
        body["cached"] = serde_json::Value::Bool(true);
        return Ok(json_response(StatusCode::OK, to_bytes(&body), Some("hit")));
    }
    let job = Job::queued(id, tenant, project, source, fingerprint);
    let job = match cluster.queue.submit(job, upload).await {
        Ok(Submitted::New(j)) => {
            tracing::info!(job = %j.id, project = %j.project, "job queued in the cluster");
            j
        }
        Ok(Submitted::Existing(j)) => j,
        Err(why @ (SubmitError::Full | SubmitError::TenantFull)) => {
            return Err(queue_refusal(app, why));
        }
        Err(SubmitError::ShuttingDown) => unreachable!("the shared queue does not shut down"),
        Err(SubmitError::Io(e)) => {
            return Err(ApiError::cluster_unavailable(e));
        }
    };
    Ok(accepted(&job))
}

/// 202 with the job's id and where to follow it.
fn accepted(job: &Job) -> Response {
    let mut r = json_response(
        StatusCode::ACCEPTED,
        to_bytes(&serde_json::json!({ "job_id": job.id, "status": job.status.as_str() })),
        Some("miss"),
    );
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

/// A cluster job's record as the API shows it: the single process's, with the node
/// that runs or ran it.
#[cfg(feature = "cluster")]
fn record_json(
    record: &super::cluster::queue::Record,
    live: Option<&super::jobs::Live>,
) -> serde_json::Value {
    let mut body = job_json(&record.job, live);
    if let Some(node) = &record.node {
        body["node"] = serde_json::Value::String(node.clone());
    }
    body
}

/// 429 for a full queue, or a tenant's full share of it.
/// Refuses a new project beyond the tenant's `--max-projects-per-tenant` (403
/// `project_limit`); a project that exists may always be analysed again. Jobs waiting
/// to make new projects are not counted: the tenant's queue share bounds them.
async fn check_project_room(
    app: &Arc<App>,
    work: &Work,
    tenant: &str,
    project: &str,
) -> ApiResult<()> {
    let limit = app.settings.max_projects_per_tenant;
    #[cfg(feature = "cluster")]
    let in_cluster = app.cluster.as_ref().map(|c| {
        let projects = c.queue.tenant_projects(tenant);
        projects.len() >= limit && !projects.iter().any(|(name, _)| name == project)
    });
    #[cfg(not(feature = "cluster"))]
    let in_cluster: Option<bool> = None;
    let (app, tenant, project) = (Arc::clone(app), tenant.to_string(), project.to_string());
    let full = match in_cluster {
        Some(full) => full,
        None => {
            work.blocking(move |_| {
                let Some(store) = app.tenants.get(&tenant, false)? else {
                    return Ok(false);
                };
                let projects = store.db.projects()?;
                Ok(projects.len() >= limit && !projects.contains(&project))
            })
            .await?
        }
    };
    if full {
        return Err(ApiError::forbidden(format!(
            "this tenant has {limit} projects, as many as it may have; remove one \
             (DELETE /api/v1/projects/{{project}}) to add another"
        ))
        .with_code("project_limit"));
    }
    Ok(())
}

fn queue_refusal(app: &App, why: SubmitError) -> ApiError {
    let (code, message) = match why {
        SubmitError::TenantFull => (
            "tenant_queue_full",
            "this tenant has its whole share of the job queue waiting; try again later".to_string(),
        ),
        _ => (
            "queue_full",
            format!(
                "{} analysis jobs are waiting, as many as the queue holds; try again later",
                app.settings.queue_capacity
            ),
        ),
    };
    app.metrics.rejected.with_label_values(&[code]).inc();
    ApiError::too_many(code, message, 5)
}

/// An uploaded archive on disk, removed when dropped unless a job took it.
struct Upload(Option<std::path::PathBuf>);

impl Upload {
    /// A job took the file: it stays.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // A small unlink; where the file is gone already (removed below) it fails.
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reads a request body of at most `limit` bytes, counting as it streams: a chunked
/// body announces no length, and is refused as soon as it passes the limit.
pub async fn read_body(mut body: axum::body::Body, limit: usize) -> ApiResult<Bytes> {
    use axum::body::HttpBody;
    let mut out = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {limit} bytes"),
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// A job as the API shows it.
pub fn job_json(job: &Job, live: Option<&super::jobs::Live>) -> serde_json::Value {
    use std::sync::atomic::Ordering::Relaxed;
    let source = match &job.source {
        JobSource::Directory { path, scip } => match scip {
            Some(scip) => serde_json::json!({"kind": "directory", "path": path, "scip": scip}),
            None => serde_json::json!({"kind": "directory", "path": path}),
        },
        JobSource::Git { path, rev, commit } => {
            serde_json::json!({"kind": "git", "path": path, "rev": rev, "commit": commit})
        }
        // The upload's place on the server's disk is not the client's business.
        JobSource::Archive { bytes, .. } => serde_json::json!({"kind": "archive", "bytes": bytes}),
    };
    let progress = live.map(|l| {
        let p = &l.progress.graph;
        serde_json::json!({
            "files_expected": codegraph_parse::PipelineStats::get(&p.parse.expected),
            "files_read": codegraph_parse::PipelineStats::get(&p.parse.processed),
            "files_parsed": codegraph_parse::PipelineStats::get(&p.parse.parsed),
            "files_to_resolve": p.to_resolve.load(Relaxed),
            "files_resolved": p.resolved.load(Relaxed),
            "definitions_to_embed": l.progress.embedding.total.load(Relaxed),
            "definitions_embedded": l.progress.embedding.done.load(Relaxed),
            "stopping": l.stop.load(Relaxed) != super::jobs::STOP_NONE,
        })
    });
    serde_json::json!({
        "job_id": job.id,
        "project": job.project,
        "status": job.status.as_str(),
        "source": source,
        "created_ms": job.created_ms,
        "started_ms": job.started_ms,
        "finished_ms": job.finished_ms,
        "attempts": job.attempts,
        "progress": progress,
        "result": job.result,
        "error": job.error,
    })
}

/// The job, if the caller's tenant owns it; another tenant's job is "not found".
fn own_job(app: &App, tenant: &str, id: &str) -> ApiResult<(Job, Option<Arc<super::jobs::Live>>)> {
    match app.jobs.get(id) {
        Some((job, live)) if job.tenant == tenant => Ok((job, live)),
        _ => Err(ApiError::not_found(
            "job_not_found",
            format!("no job {id:?}"),
        )),
    }
}

pub async fn get_job(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let UrlPath(job_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        let (record, live) = own_record(c.queue.get(&job_id).await, &id.tenant, &job_id)?;
        if record.job.status.is_finished() {
            // Read your writes: once this node says a job ended, its queries see
            // what the job made.
            c.queue
                .refresh(&record.job.tenant, &record.job.project)
                .await
                .map_err(ApiError::cluster_unavailable)?;
        }
        let body = record_json(&record, live.as_deref());
        return Ok(json_response(StatusCode::OK, to_bytes(&body), None));
    }
    let (job, live) = own_job(&app, &id.tenant, &job_id)?;
    Ok(json_response(
        StatusCode::OK,
        to_bytes(&job_json(&job, live.as_deref())),
        None,
    ))
}

/// A cluster job's record, with its live progress when this node runs it.
#[cfg(feature = "cluster")]
type RecordAndLive = (
    super::cluster::queue::Record,
    Option<Arc<super::jobs::Live>>,
);

/// A cluster job the tenant may see; another tenant's is as absent as a missing one.
#[cfg(feature = "cluster")]
fn own_record(
    got: Result<Option<RecordAndLive>, super::cluster::ClusterError>,
    tenant: &str,
    id: &str,
) -> ApiResult<RecordAndLive> {
    match got {
        Ok(Some((record, live))) if record.job.tenant == tenant => Ok((record, live)),
        Ok(_) => Err(ApiError::not_found(
            "job_not_found",
            format!("no job {id:?}"),
        )),
        Err(e) => Err(ApiError::cluster_unavailable(e)),
    }
}

pub async fn cancel_job(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    refuse_if_read_only(&app)?;
    let UrlPath(job_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        own_record(c.queue.get(&job_id).await, &id.tenant, &job_id)?;
        let record = own_record(
            c.queue.cancel(&job_id).await.map(|r| r.map(|r| (r, None))),
            &id.tenant,
            &job_id,
        )?
        .0;
        let status = if record.job.status == Status::Running {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        };
        let body = record_json(&record, None);
        return Ok(json_response(status, to_bytes(&body), None));
    }
    own_job(&app, &id.tenant, &job_id)?;
    let (app2, id2) = (Arc::clone(&app), job_id.clone());
    let job = work
        .blocking(move |_| {
            app2.jobs
                .cancel(&id2)
                .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {id2:?}")))
        })
        .await?;
    app.metrics.queue_depth.set(app.jobs.depth() as i64);
    let status = if job.status == Status::Running {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let (job, live) = own_job(&app, &id.tenant, &job_id)?;
    Ok(json_response(
        status,
        to_bytes(&job_json(&job, live.as_deref())),
        None,
    ))
}

// ---------------------------------------------------------------------------------
// Reads: search and the graph.

fn split_list<T: std::str::FromStr>(raw: Option<&str>, what: &str) -> ApiResult<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| ApiError::bad_request(format!("bad {what} {s:?}: {e}")))
        })
        .collect()
}

pub fn check_limit(limit: Option<usize>, default: usize) -> ApiResult<usize> {
    let l = limit.unwrap_or(default);
    if l == 0 || l > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(l)
}

#[derive(Clone, Debug, Deserialize)]
pub struct SearchQuery {
    pub q: String,
    pub mode: Option<Mode>,
    pub limit: Option<usize>,
    pub lang: Option<String>,
    pub kind: Option<String>,
    pub path: Option<String>,
    pub strategy: Option<Strategy>,
    pub near: Option<String>,
    /// How hybrid search fuses its lists: scores, rrf or min-max (the server's
    /// `--fusion` when absent).
    pub fusion: Option<Fusion>,
    /// Hybrid weights `TEXT,SEMANTIC,GRAPH[,K]`, over the fusion's defaults.
    pub weights: Option<String>,
    /// Add to each hit the lines of its definition that hold the query's words (when
    /// the project's source is at hand on this server).
    pub matches: Option<bool>,
}

pub fn run_search(
    app: &App,
    tenant: &str,
    project: &str,
    q: &SearchQuery,
    budget: &Budget,
) -> ApiResult<SearchResults> {
    if q.q.trim().is_empty() {
        return Err(ApiError::bad_request("`q` is empty"));
    }
    if q.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "`q` is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let mode = q.mode.unwrap_or(Mode::Hybrid);
    let fusion = q.fusion.unwrap_or(app.settings.fusion);
    let request = SearchRequest {
        query: q.q.clone(),
        mode,
        limit: check_limit(q.limit, 10)?,
        languages: split_list::<Language>(q.lang.as_deref(), "language")?,
        kinds: split_list::<NodeKind>(q.kind.as_deref(), "kind")?,
        path_glob: q.path.clone(),
        strategy: q.strategy.unwrap_or_default(),
        weights: match &q.weights {
            Some(w) => HybridWeights::parse(fusion, w)
                .map_err(|e| ApiError::bad_request(format!("bad weights {w:?}: {e}")))?,
            None => HybridWeights::defaults(fusion),
        },
        near: q.near.clone(),
    };
    // Read before the store is: handles opened from a store that a swap replaced
    // meanwhile are not cached.
    let seen = app.epoch();
    let store = project_store(app, tenant, project)?;
    // The project's vectors come from the objects tier, opened on a miss.
    let handles = if mode == Mode::Text || app.embedder.is_none() {
        None
    } else {
        Some(app.handles(&store, project, seen)?)
    };
    let vectors = handles.as_ref().and_then(|h| h.semantic.as_ref());
    store
        .db
        .search_with(project, &request, vectors, budget)
        .map_err(|e| match e {
            codegraph::Error::Unsupported(why) => {
                ApiError::new(StatusCode::BAD_REQUEST, "semantic_unavailable", why)
            }
            codegraph::Error::InvalidInput(why) => ApiError::bad_request(why),
            e => e.into(),
        })
}

#[derive(Clone, Debug, Deserialize)]
pub struct SymbolsQuery {
    pub name: String,
    /// exact (default), prefix or fuzzy.
    #[serde(rename = "match")]
    pub how: Option<String>,
    pub kind: Option<String>,
    pub lang: Option<String>,
    pub path: Option<String>,
    pub limit: Option<usize>,
}

pub fn run_symbols(
    app: &App,
    tenant: &str,
    project: &str,
    q: &SymbolsQuery,
    budget: &Budget,
) -> ApiResult<Vec<query::Hit>> {
    let how = match q.how.as_deref().unwrap_or("exact") {
        "exact" => Match::Exact,
        "prefix" => Match::Prefix,
        "fuzzy" => Match::Fuzzy,
        other => {
            return Err(ApiError::bad_request(format!(
                "match must be exact, prefix or fuzzy, not {other:?}"
            )));
        }
    };
    if q.name.is_empty() || q.name.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "`name` must have 1 to {MAX_QUERY_CHARS} characters"
        )));
    }
    let filters = Filters {
        kinds: split_list(q.kind.as_deref(), "kind")?,
        languages: split_list(q.lang.as_deref(), "language")?,
        path: q
            .path
            .as_deref()
            .map(Filters::path_glob)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("bad path glob: {e}")))?,
    };
    let store = project_store(app, tenant, project)?;
    Ok(store.db.find(
        project,
        &q.name,
        how,
        &filters,
        check_limit(q.limit, 50)?,
        budget,
    )?)
}

/// One symbol, or 404 / 409 (ambiguous, with the candidates).
pub fn one_symbol(
    store: &TenantStore,
    project: &str,
    spec: &str,
    budget: &Budget,
) -> ApiResult<Node> {
    if spec.is_empty() || spec.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "a symbol has 1 to {MAX_QUERY_CHARS} characters"
        )));
    }
    let mut nodes = store.db.lookup(project, spec, budget)?;
    match nodes.len() {
        0 => Err(ApiError::not_found(
            "symbol_not_found",
            format!("no symbol {spec:?} in project {project}"),
        )),
        1 => Ok(nodes.remove(0)),
        n => {
            let mut msg =
                format!("{spec:?} names {n} symbols; give a qualified name, an id or path:line:");
            for node in nodes.iter().take(10) {
                msg += &format!(
                    " {} ({} {} {}:{});",
                    node.id, node.kind, node.qualified_name, node.path, node.span.start_line
                );
            }
            Err(ApiError::new(StatusCode::CONFLICT, "ambiguous_symbol", msg))
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct SymbolQuery {
    pub symbol: String,
    pub depth: Option<u32>,
    pub radius: Option<u32>,
    pub max_nodes: Option<usize>,
    /// `any` (default) or `certain`: whether impact follows edges found by name alone.
    pub min_confidence: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PathQuery {
    pub from: String,
    pub to: String,
    pub max_depth: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct OutlineQuery {
    pub path: String,
}

fn check_depth(d: Option<u32>, default: u32, what: &str) -> ApiResult<u32> {
    let d = d.unwrap_or(default);
    if d == 0 || d > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "{what} must be between 1 and {MAX_DEPTH}"
        )));
    }
    Ok(d)
}

pub fn run_calls(
    app: &App,
    tenant: &str,
    project: &str,
    symbol: &str,
    direction: Direction,
    budget: &Budget,
) -> ApiResult<(query::NodeSummary, Vec<query::Related>)> {
    let store = project_store(app, tenant, project)?;
    let node = one_symbol(&store, project, symbol, budget)?;
    let related = match direction {
        Direction::Incoming => store.db.callers(project, node.id, budget)?,
        Direction::Outgoing => store.db.callees(project, node.id, budget)?,
    };
    Ok((query::NodeSummary::of(&node), related))
}

pub fn run_impact(
    app: &App,
    tenant: &str,
    project: &str,
    q: &SymbolQuery,
    budget: &Budget,
) -> ApiResult<(query::NodeSummary, Vec<query::Impacted>)> {
    let depth = check_depth(q.depth, 2, "depth")?;
    let store = project_store(app, tenant, project)?;
    let node = one_symbol(&store, project, &q.symbol, budget)?;
    let certain_only = match q.min_confidence.as_deref() {
        None | Some("any") => false,
        Some("certain") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "min_confidence {other:?}: any or certain"
            )));
        }
    };
    let reached = store
        .db
        .impact(project, node.id, depth, certain_only, budget)?;
    Ok((query::NodeSummary::of(&node), reached))
}

pub fn run_path(
    app: &App,
    tenant: &str,
    project: &str,
    q: &PathQuery,
    budget: &Budget,
) -> ApiResult<Vec<query::NodeSummary>> {
    let depth = check_depth(q.max_depth, 10, "max_depth")?;
    let store = project_store(app, tenant, project)?;
    let a = one_symbol(&store, project, &q.from, budget)?;
    let b = one_symbol(&store, project, &q.to, budget)?;
    Ok(store.db.path(project, a.id, b.id, depth, budget)?)
}

pub fn run_outline(
    app: &App,
    tenant: &str,
    project: &str,
    q: &OutlineQuery,
    budget: &Budget,
) -> ApiResult<Vec<query::Reached>> {
    let store = project_store(app, tenant, project)?;
    let items = store.db.outline(project, &q.path, budget)?;
    if items.is_empty() && !store.db.files(project)?.iter().any(|f| f.path == q.path) {
        return Err(ApiError::not_found(
            "file_not_found",
            format!("no file {:?} in project {project}", q.path),
        ));
    }
    Ok(items)
}

pub fn run_neighbours(
    app: &App,
    tenant: &str,
    project: &str,
    q: &SymbolQuery,
    budget: &Budget,
) -> ApiResult<query::Subgraph> {
    let radius = check_depth(q.radius, 1, "radius")?;
    let max_nodes = q.max_nodes.unwrap_or(200);
    if max_nodes == 0 || max_nodes > MAX_NODES {
        return Err(ApiError::bad_request(format!(
            "max_nodes must be between 1 and {MAX_NODES}"
        )));
    }
    let store = project_store(app, tenant, project)?;
    let node = one_symbol(&store, project, &q.symbol, budget)?;
    Ok(store
        .db
        .neighbours(project, node.id, radius, max_nodes, budget)?)
}

/// The read routes under `/api/v1/projects/{project}/`.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    Search,
    Symbols,
    Callers,
    Callees,
    Impact,
    Path,
    Outline,
    Neighbours,
    RepoMap,
}

impl Read {
    pub fn name(self) -> &'static str {
        match self {
            Read::Search => "search",
            Read::Symbols => "symbols",
            Read::Callers => "callers",
            Read::Callees => "callees",
            Read::Impact => "impact",
            Read::Path => "path",
            Read::Outline => "outline",
            Read::Neighbours => "neighbours",
            Read::RepoMap => "repo_map",
        }
    }
}

pub fn parse<T: serde::de::DeserializeOwned>(raw: &BTreeMap<String, String>) -> ApiResult<T> {
    let encoded = serde_urlencoded::to_string(raw).expect("string pairs encode");
    serde_urlencoded::from_str(&encoded)
        .map_err(|e| ApiError::bad_request(format!("bad query parameters: {e}")))
}

fn answer(
    read: Read,
    app: &App,
    tenant: &str,
    project: &str,
    raw: &BTreeMap<String, String>,
    budget: &Budget,
) -> ApiResult<Bytes> {
    let truncated = || budget.truncated();
    Ok(match read {
        Read::Search => {
            let q: SearchQuery = parse(raw)?;
            let results = run_search(app, tenant, project, &q, budget)?;
            if q.matches.unwrap_or(false) {
                to_bytes(&with_matches(app, tenant, project, &q.q, results, budget)?)
            } else {
                to_bytes(&results)
            }
        }
        Read::Symbols => {
            let results = run_symbols(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({ "results": results, "truncated": truncated() }))
        }
        Read::Callers | Read::Callees => {
            let q: SymbolQuery = parse(raw)?;
            let direction = if matches!(read, Read::Callers) {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            let (node, related) = run_calls(app, tenant, project, &q.symbol, direction, budget)?;
            to_bytes(&serde_json::json!({
                "symbol": node, "results": related, "truncated": truncated()
            }))
        }
        Read::Impact => {
            let (node, reached) = run_impact(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({
                "symbol": node, "results": reached, "truncated": truncated()
            }))
        }
        Read::Path => {
            let results = run_path(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({ "results": results, "truncated": truncated() }))
        }
        Read::Outline => {
            let results = run_outline(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({ "results": results, "truncated": truncated() }))
        }
        Read::RepoMap => {
            let results = run_repo_map(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({ "results": results, "truncated": truncated() }))
        }
        Read::Neighbours => {
            let graph = run_neighbours(app, tenant, project, &parse(raw)?, budget)?;
            to_bytes(&serde_json::json!({
                "nodes": graph.nodes, "edges": graph.edges, "truncated": truncated()
            }))
        }
    })
}

/// Every read route: the results tier first, then the query on the blocking pool.
pub async fn read(
    read: Read,
    app: Arc<App>,
    id: Identity,
    work: Work,
    project: String,
    raw: BTreeMap<String, String>,
) -> ApiResult<Response> {
    check_project_name(&project)?;
    // BTreeMap: parameters in a canonical order, so `?a=1&b=2` and `?b=2&a=1` share
    // an entry; encoded again, so a `&` or `=` inside a value cannot pass for another
    // parameter.
    let request = format!(
        "{}?{}",
        read.name(),
        serde_urlencoded::to_string(&raw).map_err(|e| ApiError::bad_request(e.to_string()))?
    );
    let key = ResultKey {
        project: ProjectKey {
            tenant: id.tenant.clone(),
            project: project.clone(),
        },
        request,
    };
    if let Some(bytes) = app.results.get(&key) {
        return Ok(json_response(StatusCode::OK, bytes, Some("hit")));
    }
    let seen = app.epoch();
    // In a cluster with a shared tier: the answer for the generation served here.
    #[cfg(feature = "redis")]
    let shared = match (&app.shared, &app.cluster) {
        (Some(shared), Some(c)) => c.replicas.get(&id.tenant, &project).map(|r| {
            let k = super::cluster::shared::SharedCache::key(
                &id.tenant,
                &project,
                r.generation,
                &key.request,
            );
            (Arc::clone(shared), k, r.generation)
        }),
        _ => None,
    };
    #[cfg(feature = "redis")]
    if let Some((tier, k, _)) = &shared
        && let Some(bytes) = tier.get(k).await
    {
        app.cache_result(seen, key, bytes.clone());
        return Ok(json_response(StatusCode::OK, bytes, Some("shared")));
    }
    let app2 = Arc::clone(&app);
    let (tenant, name) = (id.tenant.clone(), project.clone());
    let bytes = work
        .blocking(move |budget| answer(read, &app2, &tenant, &name, &raw, budget))
        .await?;
    app.cache_result(seen, key, bytes.clone());
    // Shared only if it was computed on the generation its key names (a swap may
    // have come between).
    #[cfg(feature = "redis")]
    if let Some((tier, k, generation)) = shared
        && let Some(c) = &app.cluster
        && c.replicas
            .get(&id.tenant, &project)
            .is_some_and(|r| r.generation == generation)
    {
        tier.put(k, bytes.clone());
    }
    Ok(json_response(StatusCode::OK, bytes, Some("miss")))
}

macro_rules! read_handler {
    ($name:ident, $read:expr) => {
        pub async fn $name(
            State(app): AppState,
            Extension(id): Extension<Identity>,
            Extension(work): Extension<Work>,
            path: Result<UrlPath<String>, axum::extract::rejection::PathRejection>,
            query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
        ) -> ApiResult<Response> {
            let UrlPath(project) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
            let Query(raw) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
            read($read, app, id, work, project, raw).await
        }
    };
}

read_handler!(search, Read::Search);
read_handler!(symbols, Read::Symbols);
read_handler!(callers, Read::Callers);
read_handler!(callees, Read::Callees);
read_handler!(impact, Read::Impact);
read_handler!(path, Read::Path);
read_handler!(outline, Read::Outline);
read_handler!(neighbours, Read::Neighbours);
read_handler!(repo_map, Read::RepoMap);

/// The deployment as this node sees it: in cluster mode the live nodes (from the
/// registry, so every node answers the same, within a heartbeat) and, with
/// `?project=NAME`, which of them own the caller's project; otherwise one process.
pub async fn cluster(
    State(app): AppState,
    Extension(id): Extension<Identity>,
    query: Result<Query<ClusterQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(p) = &q.project {
        check_project_name(p)?;
    }
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        use super::cluster::placement;
        let nodes = c
            .live_nodes()
            .await
            .map_err(ApiError::cluster_unavailable)?;
        // What each node serves, of the caller's projects only, by name.
        let shown: Vec<serde_json::Value> = nodes
            .iter()
            .map(|n| {
                let mut v = serde_json::to_value(&n.node).unwrap_or_default();
                v["seen_ms"] = n.seen_ms.into();
                v["serving"] = n
                    .serving
                    .iter()
                    .filter_map(|(key, generation)| {
                        let (tenant, project) = super::cluster::queue::names_of_key(key)?;
                        (tenant == id.tenant).then(|| (project, serde_json::json!(generation)))
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                v
            })
            .collect();
        let mut body = serde_json::json!({
            "mode": "cluster",
            "me": c.me.id,
            "nodes": shown,
        });
        if let Some(project) = q.project {
            let ids: Vec<String> = nodes.iter().map(|n| n.node.id.clone()).collect();
            let key = placement::project_key(&id.tenant, &project);
            let manifest = c
                .queue
                .refresh(&id.tenant, &project)
                .await
                .map_err(ApiError::cluster_unavailable)?
                .unwrap_or_default();
            let mkey = super::cluster::queue::manifest_key(&id.tenant, &project);
            let serving: Vec<&str> = nodes
                .iter()
                .filter(|n| n.serving.get(&mkey) == Some(&manifest.generation))
                .map(|n| n.node.address.as_str())
                .collect();
            body["project"] = serde_json::json!({
                "name": project,
                "owners": placement::owners(&key, &ids, placement::OWNERS),
                "generation": manifest.generation,
                "index": manifest.object,
                "serving": serving,
                "running": manifest.running,
            });
        }
        return Ok(json_response(StatusCode::OK, to_bytes(&body), None));
    }
    let _ = (&app, &id);
    let body = serde_json::json!({ "mode": "single", "version": env!("CARGO_PKG_VERSION") });
    Ok(json_response(StatusCode::OK, to_bytes(&body), None))
}

#[derive(Deserialize)]
pub struct ClusterQuery {
    project: Option<String>,
}

/// Most definitions one `repo_map` answer carries.
pub const MAX_REPO_MAP: usize = 500;

#[derive(Clone, Debug, Deserialize)]
pub struct RepoMapQuery {
    /// At most this many definitions (default 30).
    pub limit: Option<usize>,
}

/// The project's most central definitions, best first (`GET .../repo_map`).
pub fn run_repo_map(
    app: &App,
    tenant: &str,
    project: &str,
    q: &RepoMapQuery,
    budget: &Budget,
) -> ApiResult<Vec<codegraph::Ranked>> {
    let limit = q.limit.unwrap_or(30);
    if limit == 0 || limit > MAX_REPO_MAP {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_REPO_MAP}"
        )));
    }
    let store = project_store(app, tenant, project)?;
    let request = codegraph::RepoMapRequest {
        limit,
        ..codegraph::RepoMapRequest::default()
    };
    Ok(store.db.repo_map(project, &request, budget)?)
}

/// Longest matched line carried whole.
const MAX_MATCH_CHARS: usize = 2000;
/// Lines of a definition shown with a search hit.
const MAX_MATCHED_LINES: usize = 3;
/// Lines of a definition looked through for them.
const MAX_SCANNED_LINES: u32 = 400;
/// Hits given matched lines (the first of an answer; the rest get none).
const MAX_MATCHED_HITS: usize = 50;
/// Bytes of source one answer reads for its matched lines, over all its files.
const MAX_MATCH_BYTES: u64 = 32 * 1024 * 1024;
/// Query words looked for.
const MAX_MATCH_WORDS: usize = 16;

/// A line of a hit's definition that holds one of the query's words.
#[derive(Serialize)]
pub struct MatchedLine {
    pub line: u32,
    pub text: String,
}

#[derive(Serialize)]
struct HitWithMatches {
    #[serde(flatten)]
    hit: codegraph::Hit,
    matches: Vec<MatchedLine>,
}

/// `results` with matched lines: for each of the first hits, up to three lines of its
/// definition that hold a word of `query` (any case). The work is bounded: so many
/// hits, words, lines and bytes read in all, each line cut before it is compared, and
/// the request's stop flag checked between files. Without the source at hand, none.
pub fn with_matches(
    app: &App,
    tenant: &str,
    project: &str,
    query: &str,
    results: codegraph::SearchResults,
    budget: &Budget,
) -> ApiResult<serde_json::Value> {
    let store = project_store(app, tenant, project)?;
    let root = store.db.source_dir(project)?.filter(|d| d.is_dir());
    let words: Vec<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .take(MAX_MATCH_WORDS)
        .collect();
    let mut read_bytes = 0u64;
    // One file at a time: hits of a file are found together, the file then dropped.
    let mut matches: Vec<Vec<MatchedLine>> = results.results.iter().map(|_| Vec::new()).collect();
    if let Some(root) = &root
        && !words.is_empty()
    {
        let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, hit) in results.results.iter().enumerate().take(MAX_MATCHED_HITS) {
            by_file.entry(hit.path.as_str()).or_default().push(i);
        }
        for (path, hits) in by_file {
            budget.cancel().check()?;
            let Ok(bytes) = crate::project_file::read(&store.db, project, root, path) else {
                continue;
            };
            read_bytes += bytes.len() as u64;
            if read_bytes > MAX_MATCH_BYTES {
                break;
            }
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            for i in hits {
                let hit = &results.results[i];
                let last = hit
                    .end_line
                    .max(hit.line)
                    .min(hit.line.saturating_add(MAX_SCANNED_LINES));
                for n in hit.line..=last {
                    let Some(line) = (n as usize).checked_sub(1).and_then(|at| lines.get(at))
                    else {
                        break;
                    };
                    let cut: String = line.trim_end().chars().take(MAX_MATCH_CHARS).collect();
                    let lower = cut.to_lowercase();
                    if words.iter().any(|w| lower.contains(w.as_str())) {
                        matches[i].push(MatchedLine { line: n, text: cut });
                        if matches[i].len() == MAX_MATCHED_LINES {
                            break;
                        }
                    }
                }
            }
        }
    }
    let hits: Vec<HitWithMatches> = results
        .results
        .into_iter()
        .zip(matches)
        .map(|(hit, matches)| HitWithMatches { hit, matches })
        .collect();
    let mut value = serde_json::json!({
        "mode": results.mode,
        "results": hits,
        "truncated": results.truncated,
    });
    if !results.notes.is_empty() {
        value["notes"] = serde_json::json!(results.notes);
    }
    Ok(value)
}

/// `codegraph ui` serves one store read-only: nothing is analysed, removed or cancelled.
fn refuse_if_read_only(app: &App) -> ApiResult<()> {
    match app.settings.local {
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "`codegraph ui` serves its store read-only: index with `codegraph index`",
        )),
        None => Ok(()),
    }
}
