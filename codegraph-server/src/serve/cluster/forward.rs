//! Queries for a project answered by a node serving its index: a node that gets
//! one for a project it does not serve passes the HTTP request on over NATS
//! request/reply (`cg.node.<id>.http`) and returns the answer as it came.
//!
//! The forwarded request keeps its `Authorization` header and goes through the
//! other node's whole stack (token check, rate and in-flight limits, budget), so a
//! forward grants nothing the client's token does not; it is marked `Forwarded` (an
//! extension, which no client can set) so that it is never passed on again.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use futures_util::StreamExt;
use tower::ServiceExt;

use super::Cluster;

/// Marks a request that came from another node.
#[derive(Clone, Copy, Debug)]
pub struct Forwarded;

const METHOD: &str = "cg-method";
const URI: &str = "cg-uri";
const STATUS: &str = "cg-status";
/// The answering node's `x-cache`, passed back to the client as it was.
const CACHE: &str = "x-cache";

/// A header of a NATS message, as text.
fn header_of(message: &async_nats::Message, name: &str) -> Option<String> {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
}

fn subject(node: &str) -> String {
    format!("cg.node.{node}.http")
}

/// A JSON error answer, as every other error of the API.
fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl Cluster {
    /// Answers the requests other nodes forward here, each through `router`,
    /// concurrently; until the process ends.
    pub fn spawn_forwarded(self: &Arc<Self>, router: axum::Router) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            let mut requests = match cluster.client.subscribe(subject(&cluster.me.id)).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot take forwarded requests");
                    return;
                }
            };
            while let Some(message) = requests.next().await {
                let (cluster, router) = (Arc::clone(&cluster), router.clone());
                tokio::spawn(async move {
                    let Some(reply) = message.reply.clone() else {
                        return;
                    };
                    let (headers, payload) = cluster.answer(router, message).await;
                    if let Err(e) = cluster
                        .client
                        .publish_with_headers(reply, headers, payload)
                        .await
                    {
                        tracing::warn!(error = %e, "cannot answer a forwarded request");
                    }
                });
            }
        })
    }

    async fn answer(
        &self,
        router: axum::Router,
        message: async_nats::Message,
    ) -> (async_nats::HeaderMap, bytes::Bytes) {
        let get = |name: &str| header_of(&message, name);
        let mut builder = Request::builder()
            .method(get(METHOD).as_deref().unwrap_or("GET"))
            .uri(get(URI).unwrap_or_default());
        for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
            if let Some(v) = get(name.as_str()) {
                builder = builder.header(name, v);
            }
        }
        if let Some(v) = get("x-request-id") {
            builder = builder.header("x-request-id", v);
        }
        let response = match builder.body(Body::from(message.payload)) {
            Ok(mut req) => {
                req.extensions_mut().insert(Forwarded);
                match router.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                }
            }
            Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string()),
        };
        // The answer travels as one NATS message, within the server's payload limit.
        let limit = self.client.max_payload().saturating_sub(4096);
        let (parts, body) = response.into_parts();
        let cache = parts.headers.get(CACHE).cloned();
        let (status, content_type, body) = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => (
                parts.status,
                parts.headers.get(header::CONTENT_TYPE).cloned(),
                bytes,
            ),
            Err(_) => {
                let r = error(
                    StatusCode::BAD_GATEWAY,
                    "answer_too_large",
                    "the answer is larger than a cluster message may be; ask for fewer results",
                );
                let (p, b) = r.into_parts();
                let bytes = axum::body::to_bytes(b, limit).await.unwrap_or_default();
                (
                    p.status,
                    p.headers.get(header::CONTENT_TYPE).cloned(),
                    bytes,
                )
            }
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(STATUS, status.as_u16().to_string().as_str());
        if let Some(ct) = content_type.and_then(|v| v.to_str().ok().map(String::from)) {
            headers.insert(header::CONTENT_TYPE.as_str(), ct.as_str());
        }
        if let Some(c) = cache.and_then(|v| v.to_str().ok().map(String::from)) {
            headers.insert(CACHE, c.as_str());
        }
        (headers, body)
    }

    /// Reads a request to pass on (its body whole, within a message's size), so
    /// that it can be sent to one node and, if that one does not answer, another.
    pub async fn outgoing(&self, req: Request<Body>) -> Result<Outgoing, Response<Body>> {
        let (parts, body) = req.into_parts();
        let limit = self.client.max_payload().saturating_sub(4096);
        let Ok(body) = axum::body::to_bytes(body, limit).await else {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than a cluster message may be",
            ));
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(METHOD, parts.method.as_str());
        let uri = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        headers.insert(URI, uri.as_str());
        for name in [
            header::AUTHORIZATION.as_str(),
            header::CONTENT_TYPE.as_str(),
            "x-request-id",
        ] {
            if let Some(v) = parts.headers.get(name).and_then(|v| v.to_str().ok()) {
                headers.insert(name, v);
            }
        }
        Ok(Outgoing {
            headers,
            body,
            parts,
        })
    }

    /// Sends a request to node `node` and returns its answer; `Err` with the
    /// reason when it does not answer within `timeout` (a node that is gone has
    /// no subscriber, and NATS says so at once).
    pub async fn send(
        &self,
        node: &str,
        out: &Outgoing,
        timeout: Duration,
    ) -> Result<Response<Body>, String> {
        let request = async_nats::Request::new()
            .headers(out.headers.clone())
            .payload(out.body.clone())
            .timeout(Some(timeout));
        let answer = self
            .client
            .send_request(subject(node), request)
            .await
            .map_err(|e| e.to_string())?;
        let status = header_of(&answer, STATUS)
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = header_of(&answer, header::CONTENT_TYPE.as_str())
            .and_then(|v| HeaderValue::from_str(&v).ok());
        let cache = header_of(&answer, CACHE).and_then(|v| HeaderValue::from_str(&v).ok());
        let mut r = Response::new(Body::from(answer.payload));
        *r.status_mut() = status;
        if let Some(ct) = content_type {
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        if let Some(c) = cache {
            r.headers_mut().insert(CACHE, c);
        }
        Ok(r)
    }
}

/// A request ready to pass on.
pub struct Outgoing {
    headers: async_nats::HeaderMap,
    body: bytes::Bytes,
    /// The request as it came, extensions included (the caller's identity).
    parts: axum::http::request::Parts,
}

impl Outgoing {
    /// The request again, at `uri`, to answer it here after all.
    pub fn into_request(self, uri: axum::http::Uri) -> Request<Body> {
        let mut parts = self.parts;
        parts.uri = uri;
        Request::from_parts(parts, Body::from(self.body))
    }
}

/// The answer when no node serving a project answers.
pub fn unavailable() -> Response<Body> {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "project_unavailable",
        "no node serving this project's index answers; try again shortly",
    )
}
