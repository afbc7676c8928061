//! The read API over GraphQL at `POST /api/v1/graphql`: the same queries as the REST
//! routes (and the same code behind them), typed, scoped to the caller's tenant.

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, Object, Schema, SimpleObject,
};
use axum::Extension;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use codegraph::{Impacted, NodeSummary, Reached, Related};
use codegraph_core::{Budget, Direction};

use super::api;
use super::auth::Identity;
use super::error::ApiError;
use super::state::App;
use super::work::Work;

pub type GraphSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The largest GraphQL request body.
const MAX_QUERY_BYTES: usize = api::MAX_JSON_BODY;

/// Blocking queries one request runs at once. Aliases let one request ask for many
/// fields, which async-graphql resolves concurrently; one request counts once against
/// the in-flight limit, so it may not take more than this many blocking threads.
const RESOLVERS_PER_REQUEST: usize = 2;

/// The complexity of one query field (a search, a graph walk), against the limit of
/// [`MAX_COMPLEXITY`] per request: every alias of a field counts again, so one request
/// holds at most nine queries. The work they do together is bounded by the request's
/// one budget besides.
const QUERY: usize = 100;
const MAX_COMPLEXITY: usize = 1000;

pub fn schema(app: Arc<App>) -> GraphSchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .data(app)
        .limit_depth(8)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

pub async fn handler(
    Extension(schema): Extension<GraphSchema>,
    Extension(id): Extension<Identity>,
    Extension(work): Extension<Work>,
    body: axum::body::Body,
) -> Response {
    // A query is text a person wrote: reading stops as soon as the body passes
    // MAX_QUERY_BYTES, chunked or not, before anything is parsed.
    let body = match api::read_body(body, MAX_QUERY_BYTES).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("a GraphQL request is JSON {{\"query\", \"variables\"}}: {e}"),
            )
            .into_response();
        }
    };
    if request.query.trim().is_empty() {
        return ApiError::bad_request("a GraphQL request has a `query`").into_response();
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(RESOLVERS_PER_REQUEST));
    let mut response = schema
        .execute(request.data(id).data(permits).data(work.clone()))
        .await;
    // The request's fields share one budget: when it ran out, some answers are partial.
    if work.budget().truncated() {
        response
            .extensions
            .insert("truncated".to_string(), async_graphql::Value::Boolean(true));
    }
    let mut r = (
        StatusCode::OK,
        serde_json::to_vec(&response).expect("responses serialise"),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn gql_error(e: ApiError) -> async_graphql::Error {
    async_graphql::Error::new(e.message.clone()).extend_with(|_, ext| {
        ext.set("code", e.code);
        ext.set("status", e.status.as_u16());
    })
}

/// Runs a blocking query about `project`. In cluster mode one GraphQL request may
/// name several projects, so it is not forwarded: a project this node does not
/// serve at its current generation is restored here first (within the request's
/// time), as REST does when no node serves it.
#[cfg_attr(not(feature = "cluster"), allow(unused_variables))]
async fn call_on<T: Send + 'static>(
    ctx: &Context<'_>,
    project: &str,
    f: impl FnOnce(&App, &str, &Budget) -> Result<T, ApiError> + Send + 'static,
) -> async_graphql::Result<T> {
    #[cfg(feature = "cluster")]
    if let Some(c) = &ctx.data::<Arc<App>>()?.cluster {
        let tenant = &ctx.data::<Identity>()?.tenant;
        let unavailable = |e| gql_error(ApiError::cluster_unavailable(e));
        if c.route(tenant, project)
            .await
            .map_err(unavailable)?
            .is_some()
        {
            let timeout = ctx.data::<Arc<App>>()?.settings.request_timeout;
            if let Err(e) = c.restore_within(tenant, project, timeout).await {
                return Err(gql_error(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "project_unavailable",
                    format!("project {project:?} cannot be served on this node now: {e}"),
                )));
            }
        }
    }
    call(ctx, f).await
}

/// Runs a blocking query for the caller's tenant, with the request's budget.
async fn call<T: Send + 'static>(
    ctx: &Context<'_>,
    f: impl FnOnce(&App, &str, &Budget) -> Result<T, ApiError> + Send + 'static,
) -> async_graphql::Result<T> {
    let app = Arc::clone(ctx.data::<Arc<App>>()?);
    let tenant = ctx.data::<Identity>()?.tenant.clone();
    let work = ctx.data::<Work>()?;
    let permits = Arc::clone(ctx.data::<Arc<tokio::sync::Semaphore>>()?);
    let permit = permits
        .acquire_owned()
        .await
        .map_err(|e| async_graphql::Error::new(format!("a query failed: {e}")))?;
    work.blocking(move |budget| {
        // Held by the work, which may outlive the request.
        let _permit = permit;
        f(&app, &tenant, budget)
    })
    .await
    .map_err(gql_error)
}

#[derive(SimpleObject)]
pub struct GqlNode {
    id: String,
    kind: String,
    name: String,
    qualified_name: String,
    language: String,
    path: String,
    line: u32,
    end_line: u32,
    signature: Option<String>,
}

impl From<NodeSummary> for GqlNode {
    fn from(n: NodeSummary) -> GqlNode {
        GqlNode {
            id: n.id.to_string(),
            kind: n.kind.to_string(),
            name: n.name,
            qualified_name: n.qualified_name,
            language: n.language.to_string(),
            path: n.path,
            line: n.line,
            end_line: n.end_line,
            signature: n.signature,
        }
    }
}

#[derive(SimpleObject)]
pub struct GqlRelated {
    node: GqlNode,
    edge: String,
    resolution: String,
    site_path: Option<String>,
    site_line: Option<u32>,
}

impl From<Related> for GqlRelated {
    fn from(r: Related) -> GqlRelated {
        GqlRelated {
            node: r.node.into(),
            edge: r.edge.to_string(),
            resolution: r.resolution.to_string(),
            site_path: r.site_path,
            site_line: r.site_line,
        }
    }
}

#[derive(SimpleObject)]
pub struct GqlReached {
    node: GqlNode,
    depth: u32,
}

impl From<Reached> for GqlReached {
    fn from(r: Reached) -> GqlReached {
        GqlReached {
            node: r.node.into(),
            depth: r.depth,
        }
    }
}

#[derive(SimpleObject)]
pub struct GqlImpacted {
    node: GqlNode,
    depth: u32,
    /// False when a name-only guess led to it.
    certain: bool,
}

impl From<Impacted> for GqlImpacted {
    fn from(r: Impacted) -> GqlImpacted {
        GqlImpacted {
            node: r.node.into(),
            depth: r.depth,
            certain: r.certain,
        }
    }
}

#[derive(SimpleObject)]
pub struct GqlHit {
    path: String,
    line: u32,
    name: String,
    qualified_name: String,
    kind: String,
    score: f32,
}

#[derive(SimpleObject)]
pub struct GqlSearch {
    /// What answered (hybrid falls back to text without vectors).
    mode: String,
    results: Vec<GqlHit>,
}

#[derive(SimpleObject)]
pub struct GqlProject {
    name: String,
    source: Option<String>,
    files: usize,
    dirty: bool,
}

/// A string argument naming one of an enum's values, read with the same names the
/// REST query string takes (the enum's serde names).
fn one_of<T: serde::de::DeserializeOwned>(
    value: Option<String>,
    expected: &str,
) -> async_graphql::Result<Option<T>> {
    value
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v))
                .map_err(|_| async_graphql::Error::new(expected))
        })
        .transpose()
}

fn to_usize(v: Option<i32>) -> Option<usize> {
    v.map(|n| n.max(0) as usize)
}

fn to_u32(v: Option<i32>) -> Option<u32> {
    v.map(|n| n.max(0) as u32)
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The caller's projects.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn projects(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<GqlProject>> {
        call(ctx, |app, tenant, _| {
            Ok(api::list_projects(app, tenant)?
                .into_iter()
                .map(|p| GqlProject {
                    name: p.name,
                    source: p.source,
                    files: p.files,
                    dirty: p.dirty,
                })
                .collect())
        })
        .await
    }

    // One Rust argument per GraphQL argument.
    #[allow(clippy::too_many_arguments)]
    /// Full-text, semantic or hybrid search (mode: text, semantic, hybrid; fusion:
    /// scores, rrf, min-max; weights: TEXT,SEMANTIC,GRAPH[,K]).
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        project: String,
        q: String,
        mode: Option<String>,
        limit: Option<i32>,
        fusion: Option<String>,
        weights: Option<String>,
    ) -> async_graphql::Result<GqlSearch> {
        let mode = one_of(mode, "mode must be text, semantic or hybrid")?;
        let fusion = one_of(fusion, "fusion must be scores, rrf or min-max")?;
        let query = api::SearchQuery {
            q,
            mode,
            limit: to_usize(limit),
            lang: None,
            kind: None,
            path: None,
            strategy: None,
            matches: None,
            near: None,
            fusion,
            weights,
        };
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            let a = api::run_search(app, tenant, &project, &query, budget)?;
            Ok(GqlSearch {
                mode: a.mode.to_string(),
                results: a
                    .results
                    .into_iter()
                    .map(|h| GqlHit {
                        path: h.path,
                        line: h.line,
                        name: h.name,
                        qualified_name: h.qualified_name,
                        kind: h.kind.to_string(),
                        score: h.score,
                    })
                    .collect(),
            })
        })
        .await
    }

    /// Definitions by name (match: exact, prefix, fuzzy).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn symbols(
        &self,
        ctx: &Context<'_>,
        project: String,
        name: String,
        #[graphql(name = "match")] how: Option<String>,
        kind: Option<String>,
        lang: Option<String>,
        path: Option<String>,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<GqlNode>> {
        let query = api::SymbolsQuery {
            name,
            how,
            kind,
            lang,
            path,
            limit: to_usize(limit),
        };
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            Ok(api::run_symbols(app, tenant, &project, &query, budget)?
                .into_iter()
                .map(|h| h.node.into())
                .collect())
        })
        .await
    }

    /// Who calls `symbol`, one entry per call site.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn callers(
        &self,
        ctx: &Context<'_>,
        project: String,
        symbol: String,
    ) -> async_graphql::Result<Vec<GqlRelated>> {
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            let (_, r) =
                api::run_calls(app, tenant, &project, &symbol, Direction::Incoming, budget)?;
            Ok(r.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// What `symbol` calls, one entry per call site.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn callees(
        &self,
        ctx: &Context<'_>,
        project: String,
        symbol: String,
    ) -> async_graphql::Result<Vec<GqlRelated>> {
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            let (_, r) =
                api::run_calls(app, tenant, &project, &symbol, Direction::Outgoing, budget)?;
            Ok(r.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// Everything depending on `symbol`, up to `depth` steps; `min_confidence: "certain"`
    /// follows no edge found by name alone.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn impact(
        &self,
        ctx: &Context<'_>,
        project: String,
        symbol: String,
        depth: Option<i32>,
        min_confidence: Option<String>,
    ) -> async_graphql::Result<Vec<GqlImpacted>> {
        let q = api::SymbolQuery {
            symbol,
            depth: to_u32(depth),
            radius: None,
            max_nodes: None,
            min_confidence,
        };
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            let (_, r) = api::run_impact(app, tenant, &project, &q, budget)?;
            Ok(r.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// The shortest chain of edges from one symbol to another.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn path(
        &self,
        ctx: &Context<'_>,
        project: String,
        from: String,
        to: String,
        max_depth: Option<i32>,
    ) -> async_graphql::Result<Vec<GqlNode>> {
        let q = api::PathQuery {
            from,
            to,
            max_depth: to_u32(max_depth),
        };
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            Ok(api::run_path(app, tenant, &project, &q, budget)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    /// A file's definitions, with their nesting depth.
    #[graphql(complexity = "QUERY + child_complexity")]
    async fn outline(
        &self,
        ctx: &Context<'_>,
        project: String,
        path: String,
    ) -> async_graphql::Result<Vec<GqlReached>> {
        let q = api::OutlineQuery { path };
        call_on(ctx, &project.clone(), move |app, tenant, budget| {
            Ok(api::run_outline(app, tenant, &project, &q, budget)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }
}
