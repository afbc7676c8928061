//! Reading one of a project's files from the directory it was indexed from: the MCP
//! `snippet` tool and the HTTP `source` route read through here, with the same checks.

use std::path::Path;

use codegraph::Db;
use codegraph::parse::source::{DiskRead, read_beneath};

/// The largest file whose source is read.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be read, in words a client can show.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path is absolute or climbs out of the project.
    #[error("{0:?}: not a path inside the project")]
    OutsideProject(String),
    /// The graph has no such file.
    #[error("no file {path:?} in project {project}")]
    NotIndexed { path: String, project: String },
    /// The file is no longer readable as it was indexed.
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] codegraph_core::Error),
}

/// The bytes of `path`, a file of `project` indexed from `root`. The path must be one
/// the graph holds; the file is read beneath `root` without following a link, must
/// be a regular file, and no larger than the indexer reads: a file swapped since the
/// run for a link, a FIFO or a device gets an error, not what it points at.
pub fn read(db: &Db, project: &str, root: &Path, path: &str) -> Result<Vec<u8>, FileError> {
    if path.split('/').any(|c| c == "..") || path.starts_with('/') {
        return Err(FileError::OutsideProject(path.to_string()));
    }
    if db.graph().file(project, path)?.is_none() {
        return Err(FileError::NotIndexed {
            path: path.to_string(),
            project: project.to_string(),
        });
    }
    let unreadable = |reason: String| FileError::Unreadable {
        path: path.to_string(),
        reason,
    };
    match read_beneath(Some(root), &root.join(path), MAX_SOURCE_BYTES)
        .map_err(|e| unreadable(e.to_string()))?
    {
        DiskRead::Read { bytes, .. } => Ok(bytes),
        DiskRead::TooLarge { size } => Err(unreadable(format!(
            "it is {size} bytes now, more than this server reads"
        ))),
        DiskRead::NotRegular(what) => Err(unreadable(format!("it is {what} now, not a file"))),
    }
}
