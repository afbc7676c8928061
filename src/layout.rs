//! Where a store directory keeps each of its parts.
//!
//! ```text
//! <db>/                RocksDB's files (the graph; absent with the memory backend)
//! <db>/text/           the full-text index, one tantivy index per project
//! <db>/vectors/        the embeddings, one directory per project
//! <db>/walk/<h>.bin    a directory walk cache per project (h: xxh3-64 of its name)
//! <db>/precise/<h>.json resolutions imported from a SCIP index, per project
//! <db>/watch/          a watcher's barrier file (`codegraph index --watch`)
//! <db>/watch.sock      a watcher's socket for handed runs
//! ```
//!
//! RocksDB ignores names it does not own, so they all live side by side.

use std::path::{Path, PathBuf};

/// The full-text index of a store.
pub fn text_dir(db: &Path) -> PathBuf {
    db.join("text")
}

/// The embeddings of a store.
pub fn vectors_dir(db: &Path) -> PathBuf {
    db.join("vectors")
}

/// A project's directory walk cache.
pub fn walk_cache_file(db: &Path, project: &str) -> PathBuf {
    db.join("walk").join(format!(
        "{:016x}.bin",
        xxhash_rust::xxh3::xxh3_64(project.as_bytes())
    ))
}

/// A project's resolutions imported from a SCIP index (`codegraph index --scip`).
pub fn precise_file(db: &Path, project: &str) -> PathBuf {
    db.join("precise").join(format!(
        "{:016x}.json",
        xxhash_rust::xxh3::xxh3_64(project.as_bytes())
    ))
}

/// Bytes on disk under `dir`, zero when it is absent.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
