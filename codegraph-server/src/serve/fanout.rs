//! Search over several projects at once (`GET /api/v1/search?q=...&projects=a,b`):
//! each project's search runs as its own request through the whole router, so that
//! in cluster mode it goes to a node serving that project (as zoekt's frontend asks
//! every replica), and the answers are merged here.
//!
//! Scores from different indexes are not comparable (BM25 statistics, min-max
//! normalisation and fused scores are all per index), so the merge is by rank:
//! the first hit of every project, then the second of every project, and so on,
//! which is reciprocal-rank fusion when each hit is in one list. Within one rank,
//! projects keep the order the request named them in.
//!
//! A project that does not answer in time, or answers an error, is left out and
//! named under `missing`, with `"partial": true`: one slow owner never fails the
//! whole search.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tower::ServiceExt;

use super::api;
use super::auth::Identity;
use super::error::ApiError;
use super::error::ApiResult;
use super::state::App;
use super::work::Work;

/// The router itself, for the sub-requests (set once it is built).
pub type Inner = Arc<OnceLock<axum::Router>>;

/// Marks a sub-request of a fan-out: the caller's token was checked and its rate
/// counted once, for the whole search.
#[derive(Clone, Copy, Debug)]
pub struct SubRequest;

/// At most this many projects per search.
pub const MAX_PROJECTS: usize = 64;
/// Projects searched at once: each takes an in-flight slot of the caller's tenant.
const CONCURRENCY: usize = 4;

pub async fn search(
    State(app): State<Arc<App>>,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    Extension(inner): Extension<Inner>,
    query: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> ApiResult<Response> {
    let Query(mut raw) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let named = raw.remove("projects");
    let projects: Vec<String> = match named {
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            // Exactly names and commas, as the OpenAPI document's pattern says.
            for p in list.split(',') {
                api::check_project_name(p)?;
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
            }
            out
        }
        None => {
            let app = Arc::clone(&app);
            let tenant = id.tenant.clone();
            work.blocking(move |_| api::list_projects(&app, &tenant))
                .await?
                .into_iter()
                .map(|p| p.name)
                .collect()
        }
    };
    if projects.is_empty() {
        return Err(ApiError::bad_request(
            "no project to search: name them in `projects`, or analyse one first",
        ));
    }
    if projects.len() > MAX_PROJECTS {
        return Err(ApiError::bad_request(format!(
            "{} projects named; a search covers at most {MAX_PROJECTS}",
            projects.len()
        )));
    }
    if raw.get("q").is_none_or(|q| q.trim().is_empty()) {
        return Err(ApiError::bad_request("`q` is empty"));
    }
    // Checked once here, as each project would check them: a bad request is a 400,
    // not a partial answer with every project missing.
    let _: api::SearchQuery = api::parse(&raw)?;
    let limit = api::check_limit(raw.get("limit").and_then(|l| l.parse().ok()), 10)?;
    let query =
        serde_urlencoded::to_string(&raw).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Some(router) = inner.get().cloned() else {
        return Err(ApiError::internal("the router is not ready"));
    };
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    // Each project's answer within the request's time, less a margin to merge.
    let deadline = app
        .settings
        .request_timeout
        .saturating_sub(Duration::from_millis(250));
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    for (i, project) in projects.iter().enumerate() {
        let uri = format!("/api/v1/projects/{project}/search?{query}");
        let (router, authorization) = (router.clone(), authorization.clone());
        let slots = Arc::clone(&slots);
        running.spawn(async move {
            let answer = tokio::time::timeout(deadline, async {
                let _slot = slots.acquire_owned().await;
                one(router, uri, authorization).await
            })
            .await
            .unwrap_or_else(|_| {
                Err(serde_json::json!({"code": "timeout", "message": "no answer in time"}))
            });
            (i, answer)
        });
    }
    // The sub-requests stop with this request: dropping the set aborts them.
    let mut answers = Vec::with_capacity(projects.len());
    while let Some(done) = running.join_next().await {
        if let Ok(answer) = done {
            answers.push(answer);
        }
    }
    let mut lists: Vec<Vec<Value>> = vec![Vec::new(); projects.len()];
    let mut missing = Vec::new();
    let mut answered = vec![false; projects.len()];
    for (i, _) in &answers {
        answered[*i] = true;
    }
    for (i, _) in answered.iter().enumerate().filter(|(_, a)| !**a) {
        missing.push(serde_json::json!({"project": projects[i], "error": {"code": "internal", "message": "the search failed"}}));
    }
    let mut modes = BTreeMap::new();
    for (i, answer) in answers {
        match answer {
            Ok(mut body) => {
                if let Some(mode) = body.get("mode").cloned() {
                    modes.insert(projects[i].clone(), mode);
                }
                lists[i] = match body.get_mut("results").map(Value::take) {
                    Some(Value::Array(hits)) => hits,
                    _ => Vec::new(),
                };
            }
            Err(error) => missing.push(serde_json::json!({"project": projects[i], "error": error})),
        }
    }
    // Every project refused the request itself (a bad glob, bad weights): so is it.
    if missing.len() == projects.len()
        && let Some(first) = missing.first()
        && missing.iter().all(|m| m["error"]["code"] == "bad_request")
    {
        let message = first["error"]["message"].as_str().unwrap_or("bad request");
        return Err(ApiError::bad_request(message.to_string()));
    }
    let results = merge_by_rank(&projects, lists, limit);
    let body = serde_json::json!({
        "results": results,
        "projects": projects,
        "modes": modes,
        "partial": !missing.is_empty(),
        "missing": missing,
    });
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// One project's search through the router: its body, or its error.
async fn one(
    router: axum::Router,
    uri: String,
    authorization: Option<HeaderValue>,
) -> Result<Value, Value> {
    let mut builder = Request::builder().method("GET").uri(uri);
    if let Some(a) = authorization {
        builder = builder.header(header::AUTHORIZATION, a);
    }
    let mut req = builder
        .body(Body::empty())
        .map_err(|e| serde_json::json!({"code": "bad_request", "message": e.to_string()}))?;
    req.extensions_mut().insert(SubRequest);
    let response = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .map_err(|e| serde_json::json!({"code": "internal", "message": e.to_string()}))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status == StatusCode::OK {
        Ok(body)
    } else {
        Err(body.get("error").cloned().unwrap_or_else(
            || serde_json::json!({"code": "internal", "message": status.to_string()}),
        ))
    }
}

/// The first hit of each project, then the second of each, ..., each marked with
/// its project, until `limit`.
fn merge_by_rank(projects: &[String], lists: Vec<Vec<Value>>, limit: usize) -> Vec<Value> {
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    'ranks: loop {
        let mut any = false;
        for (i, hits) in iters.iter_mut().enumerate() {
            let Some(mut hit) = hits.next() else {
                continue;
            };
            any = true;
            if let Value::Object(map) = &mut hit {
                map.insert("project".into(), Value::String(projects[i].clone()));
            }
            out.push(hit);
            if out.len() >= limit {
                break 'ranks;
            }
        }
        if !any {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_interleave_by_rank_and_keep_their_project() {
        let projects = vec!["a".to_string(), "b".to_string()];
        let hit = |n: &str| serde_json::json!({ "name": n });
        let lists = vec![vec![hit("a1"), hit("a2"), hit("a3")], vec![hit("b1")]];
        let merged = merge_by_rank(&projects, lists.clone(), 10);
        let names: Vec<_> = merged.iter().map(|h| h["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a1", "b1", "a2", "a3"]);
        assert_eq!(merged[1]["project"], "b");
        assert_eq!(merge_by_rank(&projects, lists, 2).len(), 2);
        assert!(merge_by_rank(&projects, vec![vec![], vec![]], 5).is_empty());
    }
}
