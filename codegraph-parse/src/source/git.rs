//! A git repository at a revision, read from the object store (never the work tree),
//! so uncommitted edits, untracked files and the checked-out branch do not matter.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use codegraph_core::{SkipReason, SkippedFile};

use super::{Content, Sink, Source, SourceError, SourceFile, SourceItem, sanitize_relative_path};
use crate::filter::{Filter, PathDecision};

/// Every blob in the tree of a revision (`HEAD`, a branch, a tag, a commit id, or any
/// revision expression gix understands such as `main~3`).
pub struct GitSource {
    path: PathBuf,
    rev: String,
    repo: gix::ThreadSafeRepository,
    tree_id: gix::ObjectId,
    commit: String,
}

fn git_error(context: &str, err: impl std::fmt::Display) -> SourceError {
    SourceError::Git(format!("{context}: {err}"))
}

impl GitSource {
    /// Opens the repository at `path`, or the one that contains it (as `git` does from a
    /// subdirectory).
    pub fn open(path: &Path, rev: &str) -> Result<GitSource, SourceError> {
        let repo = gix::open(path)
            .or_else(|_| gix::discover(path))
            .map_err(|e| git_error(&format!("{} is not a git repository", path.display()), e))?;
        GitSource::at(path, repo, rev)
    }

    /// Opens the repository at exactly `path` (its work tree or its git directory),
    /// never one above it, and only if every directory its objects may be read from
    /// lies under one of `roots` (canonical paths): a `.git` file, a linked work tree
    /// or an `alternates` entry can point anywhere. For callers that must keep to the
    /// directories they were given, such as a server.
    pub fn open_confined(
        path: &Path,
        rev: &str,
        roots: &[PathBuf],
    ) -> Result<GitSource, SourceError> {
        let repo = gix::open(path)
            .map_err(|e| git_error(&format!("{} is not a git repository", path.display()), e))?;
        for place in object_locations(&repo) {
            let inside = place
                .canonicalize()
                .is_ok_and(|c| roots.iter().any(|r| c.starts_with(r)));
            if !inside {
                return Err(SourceError::OutsideRoots(format!(
                    "the repository at {} reads objects from {}, outside every allowed root",
                    path.display(),
                    place.display()
                )));
            }
        }
        GitSource::at(path, repo, rev)
    }

    fn at(path: &Path, repo: gix::Repository, rev: &str) -> Result<GitSource, SourceError> {
        let id = repo
            .rev_parse_single(rev)
            .map_err(|e| git_error(&format!("cannot resolve revision {rev:?}"), e))?;
        let commit = id.to_hex().to_string();
        let object = id
            .object()
            .map_err(|e| git_error(&format!("cannot read {commit}"), e))?;
        let tree = object
            .peel_to_tree()
            .map_err(|e| git_error(&format!("revision {rev:?} does not name a tree"), e))?;
        let tree_id = tree.id;
        drop(tree);
        Ok(GitSource {
            path: path.to_path_buf(),
            rev: rev.to_string(),
            repo: repo.into_sync(),
            tree_id,
            commit,
        })
    }

    /// The full id of the commit (or tree, or tag) the revision resolved to.
    pub fn resolved(&self) -> &str {
        &self.commit
    }
}

impl Source for GitSource {
    fn describe(&self) -> String {
        format!(
            "git {} at {} ({})",
            self.path.display(),
            self.rev,
            &self.commit[..self.commit.len().min(12)]
        )
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let repo = self.repo.to_thread_local();
        let tree = repo
            .find_tree(self.tree_id)
            .map_err(|e| git_error("cannot read tree", e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| git_error("cannot walk tree", e))?;

        // Decide everything that needs no object reads first, so the count is known.
        let mut plan: Vec<(String, Option<codegraph_core::Language>, gix::ObjectId)> = Vec::new();
        let mut skipped: Vec<SkippedFile> = Vec::new();
        let mut pruned_dirs: Vec<String> = Vec::new();
        let mut records = recorder.records;
        records.sort_by(|a, b| a.filepath.cmp(&b.filepath));
        for entry in records {
            let raw = String::from_utf8_lossy(&entry.filepath).into_owned();
            if entry.mode.is_tree() {
                if pruned_dirs.iter().any(|d| raw.starts_with(d.as_str())) {
                    continue;
                }
                if let Some(reason) = filter.check_dir(&raw) {
                    pruned_dirs.push(format!("{raw}/"));
                    skipped.push(SkippedFile {
                        path: format!("{raw}/"),
                        reason,
                    });
                }
                continue;
            }
            if pruned_dirs.iter().any(|d| raw.starts_with(d.as_str())) {
                continue;
            }
            let path = match sanitize_relative_path(&raw) {
                Ok(p) => p,
                Err(detail) => {
                    skipped.push(SkippedFile {
                        path: raw,
                        reason: SkipReason::Unsafe { detail },
                    });
                    continue;
                }
            };
            let decision = filter.check_path(&path, None);
            if !entry.mode.is_blob() {
                // Symlinks and submodules have no content of their own here.
                if !matches!(decision, PathDecision::Ignore) {
                    skipped.push(SkippedFile {
                        path,
                        reason: SkipReason::NotRegular,
                    });
                }
                continue;
            }
            match decision {
                PathDecision::Ignore => {}
                PathDecision::Skip(reason) => skipped.push(SkippedFile { path, reason }),
                PathDecision::Parse(language) => plan.push((path, language, entry.oid)),
            }
        }

        sink.expect((plan.len() + skipped.len()) as u64);
        for item in skipped {
            if sink.item(SourceItem::Skipped(item)).is_break() {
                return Ok(());
            }
        }
        let limit = filter.config().max_file_size;
        for (path, language, oid) in plan {
            let item = match repo.find_header(oid) {
                Ok(header) if header.size() > limit => SourceItem::Skipped(SkippedFile {
                    path,
                    reason: SkipReason::TooLarge {
                        size: header.size(),
                        limit,
                    },
                }),
                Ok(_) => match repo.find_object(oid) {
                    Ok(object) => {
                        let bytes = object.detach().data;
                        match language.or_else(|| filter.shebang_language(&path, &bytes)) {
                            Some(language) => SourceItem::File(SourceFile {
                                path,
                                language,
                                content: Content::Bytes(bytes),
                            }),
                            None => continue,
                        }
                    }
                    Err(e) => unreadable(path, e),
                },
                Err(e) => unreadable(path, e),
            };
            if let ControlFlow::Break(()) = sink.item(item) {
                break;
            }
        }
        Ok(())
    }
}

fn unreadable(path: String, err: impl std::fmt::Display) -> SourceItem {
    SourceItem::Skipped(SkippedFile {
        path,
        reason: SkipReason::Unreadable {
            error: err.to_string(),
        },
    })
}

/// The git directory, the common directory (of a linked work tree) and every alternate
/// object store, as configured (not canonicalised).
fn object_locations(repo: &gix::Repository) -> Vec<PathBuf> {
    let objects = repo.common_dir().join("objects");
    let mut out = vec![
        repo.git_dir().to_path_buf(),
        repo.common_dir().to_path_buf(),
        objects.clone(),
    ];
    if let Ok(text) = std::fs::read_to_string(objects.join("info").join("alternates")) {
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                out.push(objects.join(line));
            }
        }
    }
    out
}
