//! The error type shared by every seam.

use std::path::PathBuf;

/// Errors crossing a seam. Backends wrap their own errors in [`Error::Backend`] so a
/// caller can match on the kind of failure without knowing which backend it used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The caller asked a long operation to stop (a cancelled job, a shutdown). What
    /// was done before stands, and is consistent.
    #[error("stopped on request")]
    Stopped,
    /// Another process holds what this needs for itself (a store open for writing):
    /// the same call may succeed once it lets go.
    #[error("busy: {message}")]
    Busy {
        /// What is held, and by whom, in words.
        message: String,
        /// The process holding it, when the platform tells.
        pid: Option<u32>,
    },
    #[error("{backend}: {message}")]
    Backend {
        backend: &'static str,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn backend(
        backend: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Backend {
            backend,
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
