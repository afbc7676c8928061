//! Errors as the API reports them: an HTTP status and a JSON body
//! `{"error": {"code": "...", "message": "..."}}` whose `code` is stable (clients match
//! on it; messages may change).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503 answers.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 503 `cluster_unavailable`: the cluster's shared state (NATS) is out of reach.
    #[cfg(feature = "cluster")]
    pub fn cluster_unavailable(why: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_unavailable",
            why.to_string(),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// The JSON body alone (GraphQL puts it in its own error list).
    pub fn body(&self) -> String {
        serde_json::to_string(&Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        })
        .expect("strings serialise")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Library errors reach clients as 4xx where they describe the request, 500 otherwise;
/// the message of a 500 is logged, and the client gets only its request id.
impl From<codegraph_core::Error> for ApiError {
    fn from(e: codegraph_core::Error) -> ApiError {
        use codegraph_core::Error as E;
        match e {
            E::InvalidInput(m) => ApiError::bad_request(m),
            E::NotFound(m) => ApiError::not_found("not_found", m),
            // The request ended (timed out, or its client left) and its work stopped:
            // nobody reads this answer; the timeout's own answer was sent.
            E::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stopped",
                "the request ended before its work did",
            ),
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal("internal error (see the server log)")
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        // Errors the searcher raises for bad requests (a bad glob, no model) come
        // through anyhow; the library error inside tells which they are.
        if let Some(core) = e.downcast_ref::<codegraph_core::Error>() {
            match core {
                codegraph_core::Error::InvalidInput(_) => {
                    return ApiError::bad_request(format!("{e:#}"));
                }
                codegraph_core::Error::NotFound(_) => {
                    return ApiError::not_found("not_found", format!("{e:#}"));
                }
                _ => {}
            }
        }
        tracing::error!(error = %format!("{e:#}"), "internal error");
        ApiError::internal("internal error (see the server log)")
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;
