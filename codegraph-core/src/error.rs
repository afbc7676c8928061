//! The error type shared by every seam.

use std::path::PathBuf;

/// Errors crossing a seam. Backends wrap their own errors in [`Error::Backend`] so a
/// caller can match on the kind of failure without knowing which backend it used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed; build it with [`Error::io`].
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on, so the message names it.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The caller passed something malformed (an unparsable id, an unknown name for a
    /// kind or language, a path glob that does not compile, vectors of the wrong
    /// length). Retrying the same call fails the same way. The string says what was
    /// wrong.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// What was asked for does not exist (a project, a node, a file). The string
    /// names it.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is well formed but this build or configuration cannot serve it (a
    /// feature compiled out, an input kind a source does not read, an index written
    /// by an incompatible version). The string says what is missing.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Stored data failed a consistency check (truncated, misaligned or mismatched
    /// files). Rebuilding the affected index or store is the usual remedy. The string
    /// says which file and what was wrong with it.
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
    /// A failure inside a backend library (tree-sitter, RocksDB, tantivy, an embedding
    /// provider) that fits none of the kinds above; build it with [`Error::backend`].
    #[error("{backend}: {message}")]
    Backend {
        /// Which backend failed, such as `rocksdb` or `tree-sitter`.
        backend: &'static str,
        /// The backend's error in words, with whatever context the caller added.
        message: String,
        /// The backend's own error, when there is one, for callers that walk the
        /// error chain.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// An [`Error::Io`] for an operation on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Backend`] wrapping `source`, whose message becomes the error's
    /// message. Use the variant directly to add context to the message.
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

/// The result type of every seam, with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
