//! A directory on disk, walked like ripgrep walks it (the `ignore` crate).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use codegraph_core::{SkipReason, SkippedFile};

use super::{Content, Sink, Source, SourceError, SourceFile, SourceItem};
use crate::filter::{Filter, PathDecision};
use crate::pipeline::stamp_of;

/// Files under a directory (or a single file), honouring `.gitignore`, `.ignore` and
/// `.codegraphignore` files. Vendored and excluded directories are not entered; each is
/// reported once, as a whole.
pub struct DirectorySource {
    root: PathBuf,
}

impl DirectorySource {
    pub fn new(root: &Path) -> Result<DirectorySource, SourceError> {
        std::fs::metadata(root).map_err(|e| SourceError::io(root, e))?;
        Ok(DirectorySource {
            root: root.to_path_buf(),
        })
    }
}

/// `path` relative to `root`, `/`-separated; lossy for non-UTF-8 names.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let text = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if text.is_empty() {
        // The root itself is a file.
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        text
    }
}

impl Source for DirectorySource {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let config = filter.config();
        let pruned: Arc<Mutex<Vec<SkippedFile>>> = Arc::default();
        let mut builder = ignore::WalkBuilder::new(&self.root);
        builder
            .hidden(!config.include_hidden)
            .ignore(config.respect_ignore_files)
            .git_ignore(config.respect_ignore_files)
            .git_exclude(config.respect_ignore_files)
            .git_global(config.respect_ignore_files)
            .parents(config.respect_ignore_files)
            // A .gitignore means the same inside an unpacked tarball as in a checkout.
            .require_git(false)
            .follow_links(false);
        if config.respect_ignore_files {
            builder.add_custom_ignore_filename(".codegraphignore");
        }
        {
            let root = self.root.clone();
            let filter = filter.clone();
            let pruned = Arc::clone(&pruned);
            builder.filter_entry(move |entry| {
                if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                    return true;
                }
                let rel = relative(&root, entry.path());
                match filter.check_dir(&rel) {
                    Some(reason) => {
                        pruned
                            .lock()
                            .expect("no panics while holding the lock")
                            .push(SkippedFile {
                                path: format!("{rel}/"),
                                reason,
                            });
                        false
                    }
                    None => true,
                }
            });
        }

        // Walk first, then send: the walk takes a small fraction of the time parsing
        // does, and knowing the count up front gives progress a real bar. Streaming
        // instead would block the walk on the bounded channel, so the count would only
        // be known at the end. The walk runs on all cores (a re-index that finds
        // nothing changed is mostly walk) and its items are sorted afterwards, so the
        // order is the same on every run.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let collected: Mutex<Vec<SourceItem>> = Mutex::new(Vec::new());
        builder.threads(threads).build_parallel().run(|| {
            let root = &self.root;
            let collected = &collected;
            Box::new(move |result| {
                if let Some(item) = visit(root, filter, result) {
                    collected
                        .lock()
                        .expect("no panics while holding the lock")
                        .push(item);
                }
                ignore::WalkState::Continue
            })
        });
        let mut items = collected.into_inner().expect("walk finished");
        items.sort_by(|a, b| item_path(a).cmp(item_path(b)));
        let pruned = std::mem::take(&mut *pruned.lock().expect("walk finished"));
        items.extend(pruned.into_iter().map(SourceItem::Skipped));
        sink.expect(items.len() as u64);
        for item in items {
            if sink.item(item).is_break() {
                break;
            }
        }
        Ok(())
    }
}

fn item_path(item: &SourceItem) -> &str {
    match item {
        SourceItem::File(f) => &f.path,
        SourceItem::Skipped(s) => &s.path,
    }
}

/// What one walk entry becomes, if anything.
fn visit(
    root: &Path,
    filter: &Filter,
    result: Result<ignore::DirEntry, ignore::Error>,
) -> Option<SourceItem> {
    let entry = match result {
        Ok(entry) => entry,
        Err(err) => {
            let path = error_path(&err)
                .map(|p| relative(root, &p))
                .unwrap_or_else(|| root.display().to_string());
            return Some(SourceItem::Skipped(SkippedFile {
                path,
                reason: SkipReason::Unreadable {
                    error: err.to_string(),
                },
            }));
        }
    };
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return None;
    }
    let rel = relative(root, entry.path());
    if !file_type.is_file() {
        // Symlinks, sockets, devices: only report those that look like source.
        if matches!(filter.check_path(&rel, None), PathDecision::Ignore) {
            return None;
        }
        return Some(SourceItem::Skipped(SkippedFile {
            path: rel,
            reason: SkipReason::NotRegular,
        }));
    }
    // Most files in a tree are not source; decide from the name before paying for a
    // `stat`.
    if matches!(filter.check_path(&rel, None), PathDecision::Ignore) {
        return None;
    }
    let meta = entry.metadata().ok();
    let language = match filter.check_path(&rel, meta.as_ref().map(|m| m.len())) {
        PathDecision::Ignore => return None,
        PathDecision::Skip(reason) => {
            return Some(SourceItem::Skipped(SkippedFile { path: rel, reason }));
        }
        PathDecision::Parse(Some(language)) => language,
        PathDecision::Parse(None) => match first_line(entry.path()) {
            Ok(line) => filter.shebang_language(&rel, &line)?,
            Err(e) => {
                return Some(SourceItem::Skipped(SkippedFile {
                    path: rel,
                    reason: SkipReason::Unreadable {
                        error: e.to_string(),
                    },
                }));
            }
        },
    };
    Some(SourceItem::File(SourceFile {
        path: rel,
        language,
        content: Content::Disk {
            stamp: meta.as_ref().map(stamp_of),
            path: entry.into_path(),
        },
    }))
}

/// The start of a file, enough for a `#!` line.
fn first_line(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    std::fs::File::open(path)?
        .take(256)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errors) => errors.iter().find_map(error_path),
        _ => None,
    }
}
