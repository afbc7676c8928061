//! A git repository at a revision, read from the object store (never the work tree),
//! so uncommitted edits, untracked files and the checked-out branch do not matter.
//!
//! A repository is data from whoever wrote it, and git's objects are shared by
//! reference: a few small trees, each listing the next ten times over ten levels, make
//! 10^10 paths (a "git bomb"), and one small blob listed a million times is a million
//! files to read. So the listing is bounded as it is walked ([`GitLimits`]): a tree
//! that reaches too many entries, too many bytes of paths, or too many bytes of files
//! fails the run with a [`SourceError::Git`] that says so, long before memory or time
//! run out. Blobs over the file-size limit are skipped from their object header,
//! never read.

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use codegraph_core::{Language, SkipReason, SkippedFile};
use gix::bstr::{BStr, ByteSlice};
use gix::traverse::tree::{Visit, visit::Action};

use super::read::{Opened, kind, open_named};
use super::{Content, Sink, Source, SourceError, SourceFile, SourceItem, sanitize_relative_path};
use crate::filter::{Filter, PathDecision};

/// Bounds on what reading one revision may cost. The defaults leave room for the
/// largest real repositories (a few hundred thousand files) and refuse bombs in
/// seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GitLimits {
    /// Tree entries walked (files, directories, links, submodules), summed over every
    /// tree the revision reaches: a tree listed N times counts N times. Directories
    /// the filter refuses (vendored, excluded) are not walked and do not count.
    pub max_entries: u64,
    /// Bytes of the paths walked, summed: bounds the listing's memory when names are
    /// long.
    pub max_path_bytes: u64,
    /// Bytes of the files read from the object store, summed: a file within the size
    /// limit listed over and over would otherwise be read, and parsed, every time.
    pub max_total_bytes: u64,
}

impl Default for GitLimits {
    fn default() -> Self {
        GitLimits {
            max_entries: 1_000_000,
            max_path_bytes: 256 << 20,
            max_total_bytes: 4 << 30,
        }
    }
}

/// The largest object gix may allocate for in a confined repository. Trees and commits
/// of real repositories are far smaller and blobs over the file-size limit are never
/// read, but an object's header can claim any size, and a small compressed object can
/// inflate to gigabytes.
const CONFINED_ALLOC_LIMIT: u64 = 64 << 20;

/// Files and directories examined in a confined repository's git directories before it
/// is opened, at most.
const MAX_GIT_DIR_ENTRIES: u64 = 1_000_000;

/// Largest `alternates`, `commondir` or `.git` file read while checking a confined
/// repository: each holds a path or a few.
const MAX_POINTER_FILE: u64 = 64 * 1024;

/// Every blob in the tree of a revision (`HEAD`, a branch, a tag, a commit id, or any
/// revision expression gix understands such as `main~3`).
pub struct GitSource {
    path: PathBuf,
    rev: String,
    repo: gix::ThreadSafeRepository,
    tree_id: gix::ObjectId,
    commit: String,
    limits: GitLimits,
}

fn git_error(context: &str, err: impl std::fmt::Display) -> SourceError {
    SourceError::Git(format!("{context}: {err}"))
}

impl GitSource {
    /// Opens the repository at `path`, or the one that contains it (as `git` does from a
    /// subdirectory), with the default [`GitLimits`].
    pub fn open(path: &Path, rev: &str) -> Result<GitSource, SourceError> {
        let repo = gix::open(path)
            .or_else(|_| gix::discover(path))
            .map_err(|e| git_error(&format!("{} is not a git repository", path.display()), e))?;
        GitSource::at(path, repo, rev)
    }

    /// Opens the repository at exactly `path` (its work tree or its git directory),
    /// never one above it, and only if everything its objects may be read from lies
    /// under one of `roots` (canonical paths): a `.git` file, a linked work tree, an
    /// `alternates` entry (or one of its own alternates) or a symbolic link anywhere in
    /// the git directory, `objects/pack` included, can point anywhere. For callers that
    /// must keep to the directories they were given, such as a server.
    ///
    /// Before anything is opened, every file the object reader may open must be a
    /// regular file or directory (a FIFO would block it for good); the repository's
    /// configuration is read alone (no includes, which may name any file, and no
    /// global or system files); and gix allocates at most 64 MiB for one object.
    ///
    /// # Errors
    /// [`SourceError::OutsideRoots`] for anything leading outside `roots`, and
    /// [`SourceError::Git`] for a special file, a repository that cannot be opened, or a
    /// revision that does not resolve.
    pub fn open_confined(
        path: &Path,
        rev: &str,
        roots: &[PathBuf],
    ) -> Result<GitSource, SourceError> {
        Confinement::new(path, roots).check()?;
        let options = gix::open::Options::isolated().config_overrides([format!(
            "gitoxide.objects.allocLimit={CONFINED_ALLOC_LIMIT}"
        )]);
        let repo = gix::open_opts(path, options)
            .map_err(|e| git_error(&format!("{} is not a git repository", path.display()), e))?;
        // What gix itself resolved, in case it finds the directories differently from
        // the check above.
        for place in object_locations(&repo)? {
            let inside = place
                .canonicalize()
                .is_ok_and(|c| roots.iter().any(|r| c.starts_with(r)));
            if !inside {
                return Err(outside(path, &place));
            }
        }
        GitSource::at(path, repo, rev)
    }

    /// Reads within `limits` instead of the default ones.
    pub fn with_limits(mut self, limits: GitLimits) -> GitSource {
        self.limits = limits;
        self
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
            limits: GitLimits::default(),
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

        // Decide everything that needs no blob reads first, so the count is known.
        let mut lister = Lister::new(filter, self.limits);
        let walked = tree.traverse().breadthfirst(&mut lister);
        if let Some(exceeded) = lister.exceeded {
            return Err(SourceError::Git(format!(
                "refused: revision {} lists {exceeded} (a tree listed over and over, as in \
                 a git bomb?)",
                self.rev
            )));
        }
        walked.map_err(|e| git_error("cannot walk tree", e))?;
        let Lister {
            mut plan,
            mut skipped,
            ..
        } = lister;
        // In the order of the paths as stored, whatever order the walk took.
        plan.sort_by(|a, b| a.0.cmp(&b.0));
        skipped.sort_by(|a, b| a.0.cmp(&b.0));

        sink.expect((plan.len() + skipped.len()) as u64);
        for (_, item) in skipped {
            if sink.item(SourceItem::Skipped(item)).is_break() {
                return Ok(());
            }
        }
        let limit = filter.config().max_file_size;
        let mut total = 0u64;
        for (_, path, language, oid) in plan {
            let item = match repo.find_header(oid) {
                // From the header alone: a blob over the limit is never inflated.
                Ok(header) if header.size() > limit => SourceItem::Skipped(SkippedFile {
                    path,
                    reason: SkipReason::TooLarge {
                        size: header.size(),
                        limit,
                    },
                }),
                Ok(header) => {
                    total = total.saturating_add(header.size());
                    if total > self.limits.max_total_bytes {
                        return Err(SourceError::Git(format!(
                            "refused: the files of revision {} add up to more than {} bytes \
                             (the same files listed over and over?)",
                            self.rev, self.limits.max_total_bytes
                        )));
                    }
                    match repo.find_object(oid) {
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
                    }
                }
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

/// A file to read: the path as stored (the sort key), the path to report, the language
/// if the name tells, and the blob.
type Planned = (Vec<u8>, String, Option<Language>, gix::ObjectId);

/// Walks a tree, deciding each entry as it is reached and keeping only what becomes an
/// item, within [`GitLimits`]. Directories the filter refuses are reported and not
/// entered.
struct Lister<'a> {
    filter: &'a Filter,
    limits: GitLimits,
    /// The path of the entry being visited.
    path: Vec<u8>,
    /// The paths of the directories queued for the walk, in its order.
    queued: VecDeque<Vec<u8>>,
    entries: u64,
    path_bytes: u64,
    /// Which limit was passed, in words, once one was.
    exceeded: Option<String>,
    plan: Vec<Planned>,
    skipped: Vec<(Vec<u8>, SkippedFile)>,
}

impl<'a> Lister<'a> {
    fn new(filter: &'a Filter, limits: GitLimits) -> Lister<'a> {
        Lister {
            filter,
            limits,
            path: Vec::new(),
            queued: VecDeque::new(),
            entries: 0,
            path_bytes: 0,
            exceeded: None,
            plan: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Counts the entry being visited; `false` once a limit is passed.
    fn count(&mut self) -> bool {
        self.entries += 1;
        self.path_bytes = self.path_bytes.saturating_add(self.path.len() as u64);
        if self.entries > self.limits.max_entries {
            self.exceeded = Some(format!(
                "more than {} tree entries",
                self.limits.max_entries
            ));
        } else if self.path_bytes > self.limits.max_path_bytes {
            self.exceeded = Some(format!(
                "more than {} bytes of paths",
                self.limits.max_path_bytes
            ));
        }
        self.exceeded.is_none()
    }

    fn push_name(&mut self, name: &BStr) {
        if name.is_empty() {
            return;
        }
        if !self.path.is_empty() {
            self.path.push(b'/');
        }
        self.path.extend_from_slice(name);
    }
}

impl Visit for Lister<'_> {
    fn pop_back_tracked_path_and_set_current(&mut self) {
        self.path = self.queued.pop_back().unwrap_or_default();
    }

    fn pop_front_tracked_path_and_set_current(&mut self) {
        self.path = self.queued.pop_front().unwrap_or_default();
    }

    fn push_back_tracked_path_component(&mut self, component: &BStr) {
        self.push_name(component);
        self.queued.push_back(self.path.clone());
    }

    fn push_path_component(&mut self, component: &BStr) {
        self.push_name(component);
    }

    fn pop_path_component(&mut self) {
        match self.path.rfind_byte(b'/') {
            Some(at) => self.path.truncate(at),
            None => self.path.clear(),
        }
    }

    fn visit_tree(&mut self, _entry: &gix::objs::tree::EntryRef<'_>) -> Action {
        if !self.count() {
            return ControlFlow::Break(());
        }
        let raw = String::from_utf8_lossy(&self.path).into_owned();
        match self.filter.check_dir(&raw) {
            Some(reason) => {
                self.skipped.push((
                    self.path.clone(),
                    SkippedFile {
                        path: format!("{raw}/"),
                        reason,
                    },
                ));
                ControlFlow::Continue(false)
            }
            None => ControlFlow::Continue(true),
        }
    }

    fn visit_nontree(&mut self, entry: &gix::objs::tree::EntryRef<'_>) -> Action {
        if !self.count() {
            return ControlFlow::Break(());
        }
        let key = self.path.clone();
        let raw = String::from_utf8_lossy(&key).into_owned();
        let path = match sanitize_relative_path(&raw) {
            Ok(p) => p,
            Err(detail) => {
                let reason = SkipReason::Unsafe { detail };
                self.skipped.push((key, SkippedFile { path: raw, reason }));
                return ControlFlow::Continue(true);
            }
        };
        let decision = self.filter.check_path(&path, None);
        if !entry.mode.is_blob() {
            // Symlinks and submodules have no content of their own here.
            if !matches!(decision, PathDecision::Ignore) {
                let reason = SkipReason::NotRegular;
                self.skipped.push((key, SkippedFile { path, reason }));
            }
            return ControlFlow::Continue(true);
        }
        match decision {
            PathDecision::Ignore => {}
            PathDecision::Skip(reason) => self.skipped.push((key, SkippedFile { path, reason })),
            PathDecision::Parse(language) => {
                self.plan.push((key, path, language, entry.oid.to_owned()))
            }
        }
        ControlFlow::Continue(true)
    }
}

fn outside(repo: &Path, place: &Path) -> SourceError {
    SourceError::OutsideRoots(format!(
        "the repository at {} reads objects from {}, outside every allowed root",
        repo.display(),
        place.display()
    ))
}

/// The git directory, the common directory (of a linked work tree), the object store
/// and every alternate object store, as gix resolved them (not canonicalised).
fn object_locations(repo: &gix::Repository) -> Result<Vec<PathBuf>, SourceError> {
    let mut out = vec![
        repo.git_dir().to_path_buf(),
        repo.common_dir().to_path_buf(),
        repo.objects.store_ref().path().to_path_buf(),
    ];
    let alternates = repo
        .objects
        .store_ref()
        .alternate_db_paths()
        .map_err(|e| git_error("cannot read the alternate object stores", e))?;
    out.extend(alternates);
    Ok(out)
}

/// Whether reading objects and resolving revisions may open the entry `name` at the top
/// of a git directory: the object store, references and their logs, configuration and
/// pointer files, and pseudo-references (`HEAD`, `FETCH_HEAD`, ...). The rest (hooks,
/// the index, submodules' and linked work trees' own git directories, LFS objects) is
/// never read, so it is not examined: a hooks directory linked to a shared one is
/// common, and harmless here.
fn read_at_top(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const READ: [&str; 10] = [
        "objects",
        "refs",
        "logs",
        "info",
        "config",
        "config.worktree",
        "commondir",
        "gitdir",
        "packed-refs",
        "shallow",
    ];
    READ.contains(&name) || name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// The check [`GitSource::open_confined`] makes before gix opens anything, since
/// opening already reads the configuration, the `alternates` files (of alternates too)
/// and the pack directories: where the repository's directories are, found as gix
/// finds them, and what is in them.
struct Confinement<'a> {
    path: &'a Path,
    roots: &'a [PathBuf],
    /// Entries that may still be examined.
    budget: u64,
    /// Canonical directories examined.
    seen: HashSet<PathBuf>,
}

impl<'a> Confinement<'a> {
    fn new(path: &'a Path, roots: &'a [PathBuf]) -> Confinement<'a> {
        Confinement {
            path,
            roots,
            budget: MAX_GIT_DIR_ENTRIES,
            seen: HashSet::new(),
        }
    }

    fn check(mut self) -> Result<(), SourceError> {
        let Some(git_dir) = self.git_dir()? else {
            // Not a repository: opening it fails without reading anything.
            return Ok(());
        };
        self.git_directory(&git_dir)?;
        let commondir = git_dir.join("commondir");
        let common = match self.pointer(&commondir)? {
            Some(text) => {
                let common = git_dir.join(text.trim());
                self.git_directory(&common)?;
                common
            }
            None => git_dir,
        };
        self.alternates(&common.join("objects"))
    }

    /// Where the git directory is, as gix looks for it at exactly `path`: `path/.git`
    /// (a directory, or a file naming one), or `path` itself. `None` when there is none.
    fn git_dir(&mut self) -> Result<Option<PathBuf>, SourceError> {
        let dot_git = self.path.join(".git");
        let candidate = match std::fs::symlink_metadata(&dot_git) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.path.to_path_buf(),
            Err(e) => return Err(SourceError::io(&dot_git, e)),
            Ok(_) => {
                self.inside(&dot_git)?;
                match std::fs::metadata(&dot_git) {
                    Ok(meta) if meta.is_file() => {
                        let Some(text) = self.pointer(&dot_git)? else {
                            return Ok(None);
                        };
                        let Some(target) = text.trim().strip_prefix("gitdir:") else {
                            return Ok(None);
                        };
                        self.path.join(target.trim())
                    }
                    Ok(meta) if !meta.is_dir() => {
                        return Err(special(&dot_git, &meta));
                    }
                    _ => dot_git,
                }
            }
        };
        Ok(std::fs::symlink_metadata(candidate.join("HEAD"))
            .is_ok()
            .then_some(candidate))
    }

    /// `Err` unless `place` leads (through links) under one of the roots.
    fn inside(&self, place: &Path) -> Result<PathBuf, SourceError> {
        match place.canonicalize() {
            Ok(c) if self.roots.iter().any(|r| c.starts_with(r)) => Ok(c),
            _ => Err(outside(self.path, place)),
        }
    }

    /// The text of a small file that names a directory (`.git`, `commondir`,
    /// `alternates`), read without blocking; `None` when there is none.
    fn pointer(&mut self, file: &Path) -> Result<Option<String>, SourceError> {
        match std::fs::symlink_metadata(file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SourceError::io(file, e)),
            Ok(_) => {}
        }
        self.inside(file)?;
        let mut handle = match open_named(file).map_err(|e| SourceError::io(file, e))? {
            Opened::Regular(handle, _) => handle,
            Opened::NotRegular(what) => {
                return Err(SourceError::Git(format!(
                    "{} is {what}, not a regular file: refusing to read the repository",
                    file.display()
                )));
            }
        };
        let mut bytes = Vec::new();
        (&mut handle)
            .take(MAX_POINTER_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| SourceError::io(file, e))?;
        if bytes.len() as u64 > MAX_POINTER_FILE {
            return Err(SourceError::Git(format!(
                "{} is larger than {MAX_POINTER_FILE} bytes",
                file.display()
            )));
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// A git directory: inside the roots, and so is everything in it that may be read
    /// (see [`read_at_top`]).
    fn git_directory(&mut self, dir: &Path) -> Result<(), SourceError> {
        let canonical = self.inside(dir)?;
        if !self.seen.insert(canonical.clone()) {
            return Ok(());
        }
        for entry in read_dir(&canonical)? {
            let entry = entry.map_err(|e| SourceError::io(&canonical, e))?;
            if !read_at_top(&entry.file_name()) {
                continue;
            }
            let file_type = entry
                .file_type()
                .map_err(|e| SourceError::io(&entry.path(), e))?;
            self.entry(&entry.path(), file_type)?;
        }
        Ok(())
    }

    /// Everything under `dir`, which is inside the roots.
    fn tree(&mut self, dir: &Path) -> Result<(), SourceError> {
        let canonical = self.inside(dir)?;
        if !self.seen.insert(canonical.clone()) {
            return Ok(());
        }
        for entry in read_dir(&canonical)? {
            let entry = entry.map_err(|e| SourceError::io(&canonical, e))?;
            let file_type = entry
                .file_type()
                .map_err(|e| SourceError::io(&entry.path(), e))?;
            self.entry(&entry.path(), file_type)?;
        }
        Ok(())
    }

    /// One entry: a regular file or a directory (examined in turn), or a link leading
    /// under the roots to one of those.
    fn entry(&mut self, path: &Path, file_type: std::fs::FileType) -> Result<(), SourceError> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            SourceError::Git(format!(
                "the git directories of {} hold more than {MAX_GIT_DIR_ENTRIES} entries",
                self.path.display()
            ))
        })?;
        if file_type.is_file() {
            return Ok(());
        }
        if file_type.is_dir() {
            return self.tree(path);
        }
        if file_type.is_symlink() {
            let target = self.inside(path)?;
            let meta = std::fs::metadata(&target).map_err(|e| SourceError::io(path, e))?;
            if meta.is_file() {
                return Ok(());
            }
            if meta.is_dir() {
                return self.tree(&target);
            }
            return Err(special(path, &meta));
        }
        Err(SourceError::Git(format!(
            "{} is {}, not a regular file: refusing to read the repository",
            path.display(),
            kind(&file_type)
        )))
    }

    /// The object store `objects` and its alternates, and theirs, as gix resolves
    /// them (`gix_odb::alternate::resolve`): each relative entry, in any of the
    /// `alternates` files, is taken relative to the repository's own object store.
    fn alternates(&mut self, objects: &Path) -> Result<(), SourceError> {
        let mut stores = vec![objects.to_path_buf()];
        let mut visited = HashSet::new();
        while let Some(store) = stores.pop() {
            let canonical = self.inside(&store)?;
            if !visited.insert(canonical) {
                continue;
            }
            // Examined whole (the repository's own store already was, with its git
            // directory).
            self.tree(&store)?;
            let file = store.join("info").join("alternates");
            let Some(text) = self.pointer(&file)? else {
                continue;
            };
            let entries = gix::odb::alternate::parse(text.as_bytes())
                .map_err(|e| git_error(&format!("cannot parse {}", file.display()), e))?;
            stores.extend(entries.into_iter().rev().map(|p| objects.join(p)));
        }
        Ok(())
    }
}

fn read_dir(dir: &Path) -> Result<std::fs::ReadDir, SourceError> {
    std::fs::read_dir(dir).map_err(|e| SourceError::io(dir, e))
}

fn special(path: &Path, meta: &std::fs::Metadata) -> SourceError {
    SourceError::Git(format!(
        "{} is {}, not a regular file: refusing to read the repository",
        path.display(),
        kind(&meta.file_type())
    ))
}
