//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`. Written out rather than
//! derived: it is the contract, and a test checks that it names every route the
//! router serves (and no other).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use codegraph_core::{Language, NodeKind};
use serde_json::{Value, json};

use super::state::App;

/// The names the server takes for projects and tenants (`auth::valid_name`): 1 to 64
/// of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
const NAME_PATTERN: &str = "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$";
/// One to 64 project names, comma-separated (`GET /api/v1/search`).
const PROJECTS_PATTERN: &str =
    "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(,[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){0,63}$";

/// A comma-separated list of `names`, as the server reads it: spaces around names and
/// empty items are ignored (an empty list filters nothing).
fn list_pattern(names: &[&str]) -> String {
    let one = format!("(?:{})", names.join("|"));
    format!("^[ ,]*(?:{one} *(?:,[ ,]*{one} *)*)?[ ,]*$")
}

/// Hybrid weights `TEXT,SEMANTIC,GRAPH[,K]`: numbers from 0 to under a million, K at
/// least 1 (`HybridWeights::parse`).
const WEIGHTS_PATTERN: &str = "^ *[0-9]{1,6}(?:\\.[0-9]{1,6})? *(?:, *[0-9]{1,6}(?:\\.[0-9]{1,6})? *){2}(?:, *[1-9][0-9]{0,5}(?:\\.[0-9]{1,6})? *)?$";

/// A revision `check_rev` accepts: no history search (`:/text`, `^{/text}`), no
/// control characters.
const REV_PATTERN: &str = "^(?!:)(?!.*\\^\\{/)(?!.*@\\{/)[^\\x00-\\x1f\\x7f-\\x9f]{1,256}$";

pub async fn handler(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document(app.embedder.is_some()).to_string(),
    )
        .into_response()
}

fn error_responses(codes: &[u16]) -> serde_json::Map<String, Value> {
    codes
        .iter()
        .map(|c| {
            (
                c.to_string(),
                json!({
                    "description": match c {
                        400 => "Bad request (codes: bad_request, invalid_json, semantic_unavailable)",
                        401 => "Missing or invalid token (code: unauthorized)",
                        403 => "Forbidden (codes: forbidden, path_not_allowed, project_limit)",
                        404 => "Not found (codes: project_not_found, job_not_found, symbol_not_found, file_not_found)",
                        409 => "Ambiguous symbol (code: ambiguous_symbol)",
                        413 => "Body too large (code: payload_too_large)",
                        414 => "Query string over 8 KiB (code: uri_too_long)",
                        415 => "Unsupported body (codes: unsupported_media_type, bad_archive)",
                        422 => "Unreadable path or revision (codes: path_unreadable, bad_revision)",
                        503 => "Timed out, shutting down, or (cluster mode) the shared queue out of reach (codes: timeout, shutting_down, cluster_unavailable)",
                        429 => "Rate limited, queue full or overloaded (codes: rate_limited, queue_full, tenant_queue_full, overloaded, tenant_overloaded); see Retry-After",
                        _ => "Error",
                    },
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }),
            )
        })
        .collect()
}

fn param(name: &str, location: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": location, "required": required, "schema": schema, "description": description})
}

fn project_param() -> Value {
    param(
        "project",
        "path",
        true,
        json!({"type": "string", "pattern": NAME_PATTERN}),
        "Project name",
    )
}

/// What names a symbol: text a person types, never empty.
fn symbol_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 1024})
}

fn symbol_param() -> Value {
    param(
        "symbol",
        "query",
        true,
        symbol_schema(),
        "A name, qualified name, 16-digit node id or path:line",
    )
}

fn read_op(id: &str, summary: &str, params: Vec<Value>, schema: Value) -> Value {
    let mut responses = error_responses(&[400, 401, 404, 409, 414, 429, 503]);
    responses.insert(
        "200".into(),
        json!({
            "description": "OK (header x-cache: hit, miss, or shared: from the cluster's Redis tier)",
            "content": {"application/json": {"schema": schema}}
        }),
    );
    let mut parameters = vec![project_param()];
    parameters.extend(params);
    json!({"get": {"operationId": id, "summary": summary, "parameters": parameters, "responses": responses}})
}

/// A list answer. `truncated`: the request's work budget (`--query-budget`) ran out,
/// and the list holds what was found until then.
fn list_of(item: &str) -> Value {
    json!({"type": "object", "properties": {
        "results": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "truncated": {"type": "boolean"}}})
}

/// The document of this server: `semantic` says whether it has a model, without which
/// semantic search is not offered (hybrid search then answers from text).
pub fn document(semantic: bool) -> Value {
    // Apart: inline, its nesting passes json!'s recursion limit.
    let cluster_op = json!({"get": {"operationId": "cluster", "summary": "The deployment: one process, or the live nodes of a cluster", "parameters": [{"name": "project", "in": "query", "required": false, "schema": {"type": "string", "pattern": NAME_PATTERN}, "description": "Also say which live nodes own this project of the caller's"}], "responses": {"200": {"description": "mode (single or cluster); in cluster mode this node's id and the live nodes", "content": {"application/json": {"schema": {"type": "object", "required": ["mode"], "properties": {"mode": {"type": "string", "enum": ["single", "cluster"]}, "version": {"type": "string"}, "me": {"type": "string"}, "nodes": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "address": {"type": "string"}, "started_ms": {"type": "integer"}, "version": {"type": "string"}, "seen_ms": {"type": "integer"}, "serving": {"type": "object", "description": "Generation of each project the node serves, by manifest key", "additionalProperties": {"type": "integer"}}}}}, "project": {"type": "object", "properties": {"name": {"type": "string"}, "owners": {"type": "array", "items": {"type": "string"}}, "generation": {"type": "integer"}, "index": {"type": ["object", "null"], "description": "The current index object: name, checksum (SHA-256), bytes, schema, built_on, files, source"}, "serving": {"type": "array", "items": {"type": "string"}, "description": "Addresses of the live nodes serving the current generation"}, "running": {"type": ["string", "null"]}}}}}}}}, "400": {"description": "Bad request (code: bad_request)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "401": {"description": "Missing or invalid token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "429": {"description": "Rate limited or overloaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "503": {"description": "The cluster's shared state is out of reach (code: cluster_unavailable)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}});
    let modes: &[&str] = if semantic {
        &["text", "semantic", "hybrid"]
    } else {
        &["text", "hybrid"]
    };
    let limit = param(
        "limit",
        "query",
        false,
        json!({"type": "integer", "minimum": 1, "maximum": 1000}),
        "Results",
    );
    let languages: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
    let kinds: Vec<&str> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
    let lang = param(
        "lang",
        "query",
        false,
        json!({"type": "string", "pattern": list_pattern(&languages)}),
        "Languages, comma-separated",
    );
    let kind = param(
        "kind",
        "query",
        false,
        json!({"type": "string", "pattern": list_pattern(&kinds)}),
        "Kinds, comma-separated",
    );
    let glob = param(
        "path",
        "query",
        false,
        json!({"type": "string"}),
        "Path glob",
    );
    let mut analyze_responses = error_responses(&[400, 401, 403, 413, 415, 422, 429, 503]);
    analyze_responses.insert("200".into(), json!({"description": "Already analysed with this content: the earlier job, with \"cached\": true", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}));
    analyze_responses.insert("202".into(), json!({"description": "Queued", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"type": "object", "properties": {"job_id": {"type": "string"}, "status": {"type": "string"}}}}},
        "links": {
            "GetJob": {"operationId": "getJob", "parameters": {"id": "$response.body#/job_id"}},
            "CancelJob": {"operationId": "cancelJob", "parameters": {"id": "$response.body#/job_id"}}}}));
    let mut job_responses = error_responses(&[401, 404, 429, 503]);
    job_responses.insert("200".into(), json!({"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}));
    let mut cancel_responses = job_responses.clone();
    cancel_responses.insert("202".into(), json!({"description": "Running: asked to stop at its next file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}));
    let job_id = param("id", "path", true, json!({"type": "string"}), "Job id");
    let mut projects_responses = error_responses(&[401, 429]);
    projects_responses.insert(
        "200".into(),
        json!({"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {"projects": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}},
            // Every read route takes a project: schemathesis and other clients follow these.
            "links": {
                "GetProject": {"operationId": "getProject", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Search": {"operationId": "search", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Symbols": {"operationId": "symbols", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Callers": {"operationId": "callers", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Callees": {"operationId": "callees", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Impact": {"operationId": "impact", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Path": {"operationId": "path", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Outline": {"operationId": "outline", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Neighbours": {"operationId": "neighbours", "parameters": {"project": "$response.body#/projects/0/name"}},
                "RepoMap": {"operationId": "repoMap", "parameters": {"project": "$response.body#/projects/0/name"}},
                "Source": {"operationId": "source", "parameters": {"project": "$response.body#/projects/0/name"}}}}),
    );
    let node = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
        "qualified_name": {"type": "string"}, "language": {"type": "string"},
        "path": {"type": "string"}, "line": {"type": "integer"}, "end_line": {"type": "integer"},
        "signature": {"type": ["string", "null"]}}});
    let mut project_item = read_op(
        "getProject",
        "A project's summary",
        vec![],
        json!({"type": "object"}),
    );
    let mut delete_responses = error_responses(&[400, 401, 404, 409, 429, 503]);
    delete_responses.insert("200".into(), json!({"description": "Removed: its graph, full text, embeddings (and in a cluster its index object and every node's copy)", "content": {"application/json": {"schema": {"type": "object", "properties": {"removed": {"type": "string"}}}}}}));
    project_item["delete"] = json!({"operationId": "deleteProject", "summary": "Remove a project (409 project_busy while a job analyses it)", "parameters": [project_param()], "responses": delete_responses});
    let search_params: Vec<Value> = vec![
        param(
            "q",
            "query",
            true,
            json!({"type": "string", "maxLength": 1024, "pattern": "\\S"}),
            "The query",
        ),
        param(
            "mode",
            "query",
            false,
            json!({"type": "string", "enum": modes}),
            "Default hybrid",
        ),
        limit.clone(),
        lang.clone(),
        kind.clone(),
        glob.clone(),
        param(
            "strategy",
            "query",
            false,
            json!({"type": "string", "enum": ["exact", "balanced", "fast", "compact"]}),
            "Vector index",
        ),
        param(
            "near",
            "query",
            false,
            json!({"type": "string", "maxLength": 1024}),
            "Boost results in this path or near this symbol",
        ),
        param(
            "fusion",
            "query",
            false,
            json!({"type": "string", "enum": ["scores", "rrf", "min-max"]}),
            "How hybrid search fuses its lists (default: the server's --fusion)",
        ),
        param(
            "weights",
            "query",
            false,
            json!({"type": "string", "pattern": WEIGHTS_PATTERN}),
            "Hybrid weights TEXT,SEMANTIC,GRAPH[,K] over the fusion's defaults",
        ),
        param(
            "matches",
            "query",
            false,
            json!({"type": "boolean"}),
            "Add each hit's lines that hold the query's words (`matches`: line, text), when the source is at hand",
        ),
    ];
    let mut source_responses = error_responses(&[400, 401, 404, 429, 503]);
    source_responses.insert("410".into(), json!({"description": "The file changed on disk so that it cannot be read as indexed (code: file_unreadable)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
    source_responses.insert("200".into(), json!({"description": "Lines of the file as it is on disk now", "content": {"application/json": {"schema": {"type": "object", "properties": {
        "path": {"type": "string"}, "language": {"type": "string"}, "start_line": {"type": "integer"},
        "total_lines": {"type": "integer"}, "lines": {"type": "array", "items": {"type": "string"}},
        "truncated": {"type": "boolean"}}}}}}));
    let source_op = json!({"get": {"operationId": "source", "summary": "Lines of one of the project's files (when it was indexed from a directory on this server; otherwise 404 source_unavailable)", "parameters": [
        project_param(),
        param("path", "query", true, json!({"type": "string", "minLength": 1}), "Repository-relative path of an indexed file"),
        param("start", "query", false, json!({"type": "integer", "minimum": 0, "maximum": 4294967295u64}), "First line, 1-based (default 1)"),
        param("end", "query", false, json!({"type": "integer", "minimum": 0, "maximum": 4294967295u64}), "Last line, inclusive (default: at most 5000 lines from start; before start: no lines)")],
        "responses": source_responses}});
    let mut jobs_responses = error_responses(&[400, 401, 429]);
    jobs_responses.insert("501".into(), json!({"description": "Cluster mode: jobs are read one by one (code: not_in_cluster_mode)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
    jobs_responses.insert("200".into(), json!({"description": "The caller's jobs, newest first", "content": {"application/json": {"schema": {"type": "object", "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}}}}}));
    let jobs_op = json!({"get": {"operationId": "listJobs", "summary": "The caller's jobs, newest first, running ones with their progress", "parameters": [
        param("project", "query", false, json!({"type": "string"}), "Only this project's"),
        param("limit", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 200}), "Default 20")],
        "responses": jobs_responses}});
    let hit = json!({"type": "object", "properties": {"id": {"type": "string"}, "path": {"type": "string"}, "line": {"type": "integer"}, "end_line": {"type": "integer"}, "name": {"type": "string"}, "qualified_name": {"type": "string"}, "kind": {"type": "string"}, "language": {"type": "string"}, "signature": {"type": "string"}, "score": {"type": "number"}, "matches": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "text": {"type": "string"}}}}}});
    let repo_map_op = read_op(
        "repoMap",
        "The project's most central definitions, best first (PageRank over its graph)",
        vec![param(
            "limit",
            "query",
            false,
            json!({"type": "integer", "minimum": 1, "maximum": 500}),
            "Default 30",
        )],
        json!({"type": "object", "properties": {"results": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Node"}, {"type": "object", "properties": {"rank": {"type": "number"}}}]}}, "truncated": {"type": "boolean"}}}),
    );
    let index_op = json!({"get": {"summary": "The web view (no token: the page asks for one and reads /api/v1 with it)", "security": [], "responses": {"200": {"description": "HTML"}}}});
    let asset_op = json!({"get": {"summary": "The web view's scripts and styles (no token)", "security": [], "parameters": [param("file", "path", true, json!({"type": "string"}), "File name")], "responses": {"200": {"description": "JavaScript or CSS"}, "404": {"description": "No such file (code: asset_not_found)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}});
    let search_schema = json!({"type": "object", "properties": {"mode": {"type": "string"}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}, "notes": {"type": "array", "items": {"type": "string"}}, "truncated": {"type": "boolean"}}});
    let mut fanout_params = search_params.clone();
    fanout_params.push(param(
        "projects",
        "query",
        false,
        json!({"type": "string", "pattern": PROJECTS_PATTERN}),
        "Comma-separated project names, at most 64 (default: all of the caller's)",
    ));
    let mut fanout_responses = error_responses(&[400, 401, 429, 503]);
    fanout_responses.insert("200".into(), json!({"description": "Hits of every project that answered, each with its project; `partial` and `missing` name those that did not", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array"}, "projects": {"type": "array", "items": {"type": "string"}}, "partial": {"type": "boolean"}, "missing": {"type": "array"}}}}}}));
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "CodeGraph",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Code intelligence: analyse repositories into a code graph, then search and query it. Every /api/v1 route needs `Authorization: Bearer <JWT>`; the token's `tenant` claim scopes everything."
        },
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Node": node,
                "Hit": hit,
                "SymbolHit": {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}, "score": {"type": "number"}}},
                "Related": {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}, "edge": {"type": "string"}, "resolution": {"type": "string"}, "site_path": {"type": ["string", "null"]}, "site_line": {"type": ["integer", "null"]}}},
                "Reached": {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}, "depth": {"type": "integer"}}},
                "Impacted": {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}, "depth": {"type": "integer"}, "certain": {"type": "boolean"}}},
                "Job": {"type": "object", "properties": {
                    "job_id": {"type": "string"}, "project": {"type": "string"},
                    "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
                    "source": {"type": "object"}, "progress": {"type": ["object", "null"]},
                    "result": {"type": ["object", "null"]}, "error": {"type": ["object", "null"]},
                    "cached": {"type": "boolean"},
                    "node": {"type": "string", "description": "Cluster mode: the address of the node that runs or ran it"}}}
            }
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness (no token)", "security": [], "responses": {"200": {"description": "OK"}}}},
            "/ready": {"get": {"summary": "Readiness (no token); 503 while shutting down", "security": [], "responses": {"200": {"description": "Ready"}, "503": {"description": "Shutting down"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (no token)", "security": [], "responses": {"200": {"description": "Text exposition format"}}}},
            "/api/v1/analyze": {"post": {
                "operationId": "analyze",
                "summary": "Analyse a directory, a git revision or an uploaded archive",
                "parameters": [param("project", "query", false, json!({"type": "string", "pattern": NAME_PATTERN}), "Project name, for archive uploads")],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"type": "object", "required": ["project", "path"], "additionalProperties": false, "properties": {
                        "project": {"type": "string", "pattern": NAME_PATTERN},
                        "path": {"type": "string", "pattern": "^/", "description": "An absolute directory under one of the tenant's roots"},
                        "rev": {"type": "string", "pattern": REV_PATTERN, "description": "Read this git revision of the repository at path: a ref, a commit id, or navigation such as main~3 (not a history search such as :/text)"},
                        "scip": {"type": "string", "pattern": "^/", "description": "A SCIP index of the directory (scip-typescript, scip-python, rust-analyzer, scip-java...), an absolute file under one of the tenant's roots: the sites it covers get edges resolved `precise`; not with rev"}}}},
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                    "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                    "application/x-tar": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": analyze_responses}},
            "/api/v1/jobs/{id}": {
                "get": {"operationId": "getJob", "summary": "A job's status, progress and result", "parameters": [job_id.clone()], "responses": job_responses},
                "delete": {"operationId": "cancelJob", "summary": "Cancel a job", "parameters": [job_id], "responses": cancel_responses}},
            "/api/v1/projects": {"get": {"operationId": "listProjects", "summary": "The caller's projects", "responses": projects_responses}},
            "/api/v1/projects/{project}": project_item,
            "/api/v1/projects/{project}/search": read_op("search", "Search definitions", search_params.clone(), search_schema),
            "/api/v1/search": {"get": {"operationId": "searchProjects", "summary": "Search several projects at once (merged by rank; partial when a project does not answer)", "parameters": fanout_params, "responses": fanout_responses}},
            "/api/v1/projects/{project}/symbols": read_op("symbols", "Definitions by name", vec![
                param("name", "query", true, symbol_schema(), "Name or qualified name"),
                param("match", "query", false, json!({"type": "string", "enum": ["exact", "prefix", "fuzzy"]}), "Default exact"),
                kind, lang, glob, limit], list_of("SymbolHit")),
            "/api/v1/projects/{project}/callers": read_op("callers", "Who calls a symbol", vec![symbol_param()], list_of("Related")),
            "/api/v1/projects/{project}/callees": read_op("callees", "What a symbol calls", vec![symbol_param()], list_of("Related")),
            "/api/v1/projects/{project}/impact": read_op("impact", "What depends on a symbol", vec![symbol_param(),
                param("depth", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 10}), "Default 2"),
                param("min_confidence", "query", false, json!({"type": "string", "enum": ["any", "certain"]}), "certain: follow no edge found by name alone")], list_of("Impacted")),
            "/api/v1/projects/{project}/path": read_op("path", "Shortest path between two symbols", vec![
                param("from", "query", true, symbol_schema(), "Start symbol"),
                param("to", "query", true, symbol_schema(), "End symbol"),
                param("max_depth", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 10}), "Default 10")], list_of("Node")),
            "/api/v1/projects/{project}/outline": read_op("outline", "A file's definitions", vec![
                param("path", "query", true, json!({"type": "string", "minLength": 1}), "Repository-relative path")], list_of("Reached")),
            "/api/v1/projects/{project}/neighbours": read_op("neighbours", "The subgraph around a symbol", vec![symbol_param(),
                param("radius", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 10}), "Default 1"),
                param("max_nodes", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 5000}), "Default 200")],
                json!({"type": "object", "properties": {"nodes": {"type": "array"}, "edges": {"type": "array"}, "truncated": {"type": "boolean"}}})),
            "/api/v1/graphql": {"post": {"operationId": "graphql", "summary": "The read API over GraphQL", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["query"], "properties": {"query": {"type": "string", "pattern": "\\S"}, "variables": {"type": ["object", "null"]}}}}}}, "responses": {"200": {"description": "A GraphQL response (errors carry extensions.code; extensions.truncated when the request's work budget ran out)"}, "400": {"description": "Not a GraphQL request (codes: invalid_json, bad_request)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "401": {"description": "Missing or invalid token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "413": {"description": "Body over 64 KiB (code: payload_too_large)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "429": {"description": "Rate limited or overloaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
            "/api/v1/cluster": cluster_op,
            "/api/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}, "401": {"description": "Missing or invalid token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "429": {"description": "Rate limited or overloaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}
        }
    });
    // Apart: one more entry in the literal above passes json!'s recursion limit.
    let paths = doc["paths"].as_object_mut().expect("paths is an object");
    paths.insert("/api/v1/projects/{project}/repo_map".into(), repo_map_op);
    paths.insert("/api/v1/projects/{project}/source".into(), source_op);
    paths.insert("/api/v1/jobs".into(), jobs_op);
    paths.insert("/".into(), index_op);
    paths.insert("/ui/{file}".into(), asset_op);
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_names_every_route_and_method() {
        let doc = super::document(true);
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = 0;
        for (path, item) in paths {
            documented += item.as_object().unwrap().len();
            assert!(
                super::super::ROUTES.iter().any(|(_, p)| p == path),
                "{path} is documented but not served"
            );
        }
        for (method, path) in super::super::ROUTES {
            let item = &paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} is not documented"));
            assert!(
                item.get(method.to_lowercase()).is_some(),
                "{method} {path} is not documented"
            );
        }
        assert_eq!(documented, super::super::ROUTES.len());
    }
}
