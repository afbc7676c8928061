//! A directory on disk, walked like ripgrep walks it (the `ignore` crate).
//!
//! With a walk cache ([`DirectorySource::with_walk_cache`]), a walk records what it
//! found and the next one lists only the directories whose stamps moved; see
//! `dircache.rs` for what is recorded and when the cache is not trusted.
//!
//! A long-lived source that remembers its walks ([`DirectorySource::remember`]) can
//! be told which paths changed since the last one by a caller that watches the tree
//! ([`DirectorySource::set_changed`]); it then looks at those paths alone when they
//! are files it already yielded, edited in place, which is what an editor's save is.
//!
//! The walker reads each directory's ignore files itself as it enters it; a directory
//! where one of them is a FIFO or a device (which would block the walk, or never end)
//! is not entered and is reported as unsafe, and such a file in the root or above it
//! fails the walk. The files found are read later, by the pipeline's workers, as
//! `read.rs` describes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codegraph_core::{FileStamp, Language, SkipReason, SkippedFile};

use super::dircache::{self, DirRecord, Entry, Snapshot};
use super::{Content, Sink, Source, SourceError, SourceFile, SourceItem};
use super::{Opened, RACY_WINDOW, open_regular, stamp_of};
use crate::filter::{Filter, PathDecision};

/// Files under a directory (or a single file), honouring `.gitignore`, `.ignore` and
/// `.codegraphignore` files. Vendored and excluded directories are not entered; each is
/// reported once, as a whole.
pub struct DirectorySource {
    root: PathBuf,
    cache: Option<PathBuf>,
    racy_window: Duration,
    last_walk: Option<WalkKind>,
    remember: bool,
    memory: Option<Memory>,
    changed: Option<Vec<PathBuf>>,
}

/// What the last walk yielded, kept by a source that remembers.
struct Memory {
    /// [`DirectorySource::cache_key`] of the walk.
    key: u64,
    /// Ignore files outside the tree, as they were before the walk.
    outside: Vec<dircache::Probe>,
    items: BTreeMap<String, Remembered>,
}

enum Remembered {
    File {
        language: Language,
        path: PathBuf,
        stamp: Option<FileStamp>,
    },
    Skipped(SkipReason),
}

/// How the last run found the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkKind {
    /// Every directory was listed.
    Full,
    /// The walk cache held; only directories whose stamps moved were listed.
    Cached {
        /// How many directories were listed again.
        relisted: usize,
    },
    /// Only the paths named by [`DirectorySource::set_changed`] were looked at.
    Changed {
        /// How many paths were looked at.
        examined: usize,
    },
}

impl DirectorySource {
    /// A source over `root`, a directory or a single file. Yielded paths are relative
    /// to it.
    ///
    /// # Errors
    /// [`SourceError::Io`] when `root` does not exist or cannot be examined.
    pub fn new(root: &Path) -> Result<DirectorySource, SourceError> {
        std::fs::metadata(root).map_err(|e| SourceError::io(root, e))?;
        Ok(DirectorySource {
            root: root.to_path_buf(),
            cache: None,
            racy_window: RACY_WINDOW,
            last_walk: None,
            remember: false,
            memory: None,
            changed: None,
        })
    }

    /// Keeps what each walk yields in memory, for a source that is run again and again
    /// by one process (`codegraph index --watch`), so that [`DirectorySource::set_changed`]
    /// can spare the next walk.
    pub fn remember(mut self) -> DirectorySource {
        self.remember = true;
        self
    }

    /// Every path created, written, removed or renamed under the root since the last
    /// run, as a caller watching the tree saw it; for the next run only. The caller
    /// vouches that nothing else changed. When each path is a file the last walk
    /// yielded, still a regular file (edited in place), or a file no walk could yield
    /// (by its name), the run looks at those paths and nothing else; anything else (a
    /// directory, an ignore file, a file that may be new source, a removal) means the
    /// usual walk. Without [`DirectorySource::remember`] it changes nothing.
    pub fn set_changed(&mut self, paths: Vec<PathBuf>) {
        self.changed = Some(paths);
    }

    /// Keeps what each walk found in `file`, so the next walk of the same root with the
    /// same filter lists only the directories that changed. The items are the same as
    /// without the cache (tested against full walks after random edits). A missing,
    /// stale or damaged file only means a full walk.
    pub fn with_walk_cache(mut self, file: PathBuf) -> DirectorySource {
        self.cache = Some(file);
        self
    }

    /// How old a directory's or ignore file's times must be for the walk cache to
    /// vouch for them ([`RACY_WINDOW`] by default; tests shorten it).
    pub fn with_racy_window(mut self, window: Duration) -> DirectorySource {
        self.racy_window = window;
        self
    }

    /// How the last run walked, once it has run.
    pub fn last_walk(&self) -> Option<WalkKind> {
        self.last_walk
    }

    fn builder(&self, dir: &Path, filter: &Filter, skipped: &NotEntered) -> ignore::WalkBuilder {
        let config = filter.config();
        let mut builder = ignore::WalkBuilder::new(dir);
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
        let root = self.root.clone();
        let filter = filter.clone();
        let skipped = skipped.clone();
        builder.filter_entry(move |entry| {
            if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let rel = relative(&root, entry.path());
            if filter.check_dir(&rel).is_some() {
                skipped
                    .pruned
                    .lock()
                    .expect("no panics while holding the lock")
                    .push(rel);
                return false;
            }
            // The walker reads a directory's ignore files as it enters it, before
            // anything here sees its entries: this is the last moment to keep it from
            // opening a FIFO among them.
            if filter.config().respect_ignore_files
                && let Err(detail) = ignore_files_readable(entry.path())
            {
                skipped
                    .refused
                    .lock()
                    .expect("no panics while holding the lock")
                    .push((rel, detail));
                return false;
            }
            true
        });
        builder
    }

    /// Lists everything, on all cores, recording a snapshot when `record` is set.
    fn full_walk(&self, filter: &Filter, record: bool) -> (Vec<SourceItem>, Option<Snapshot>) {
        let skipped = NotEntered::default();
        let mut builder = self.builder(&self.root, filter, &skipped);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let collected: Mutex<Vec<SourceItem>> = Mutex::new(Vec::new());
        let recorder = record.then(Recorder::default);
        builder.threads(threads).build_parallel().run(|| {
            let root = &self.root;
            let collected = &collected;
            let recorder = recorder.as_ref();
            Box::new(move |result| {
                let item = match result {
                    Ok(entry) => visit(root, filter, entry, recorder, self.racy_window),
                    Err(err) => {
                        if let Some(r) = recorder {
                            r.incomplete();
                        }
                        Some(walk_error(root, &err))
                    }
                };
                if let Some(item) = item {
                    collected
                        .lock()
                        .expect("no panics while holding the lock")
                        .push(item);
                }
                ignore::WalkState::Continue
            })
        });
        let mut items = collected.into_inner().expect("walk finished");
        let (pruned, refused) = skipped.take();
        if let Some(r) = &recorder
            && !refused.is_empty()
        {
            // Not entered for now; the next walk looks again.
            r.incomplete();
        }
        let snapshot = recorder.and_then(|r| r.finish(&pruned));
        items.extend(
            pruned
                .into_iter()
                .filter_map(|rel| pruned_item(filter, rel)),
        );
        items.extend(refused.into_iter().map(|(rel, detail)| {
            SourceItem::Skipped(SkippedFile {
                path: format!("{rel}/"),
                reason: SkipReason::Unsafe { detail },
            })
        }));
        (items, snapshot)
    }

    /// Walks from `snapshot`, listing only directories whose stamps moved; `None` when
    /// the snapshot cannot be trusted for this walk (then a full walk follows).
    fn cached_walk(
        &self,
        filter: &Filter,
        snapshot: Snapshot,
    ) -> Option<(Vec<SourceItem>, Snapshot, usize, bool)> {
        if !snapshot.outside.iter().all(|p| p.holds()) {
            return None;
        }
        let Snapshot {
            key,
            outside,
            dirs: mut old_dirs,
        } = snapshot;
        let recorded = old_dirs.len();
        let mut items = Vec::new();
        let mut pruned_all = Vec::new();
        // Records move from the old snapshot to the new one (in walk order, sorted once
        // at the end) instead of being copied: most of them hold.
        let mut dirs: Vec<(String, DirRecord)> = Vec::with_capacity(recorded);
        let mut relisted = 0;
        let mut changed = false;
        let mut stack = vec![String::new()];
        while let Some(rel) = stack.pop() {
            let dir = join(&self.root, &rel);
            let meta = std::fs::symlink_metadata(&dir).ok()?;
            if !meta.is_dir() {
                // Its parent's stamp held, yet it is no longer a directory.
                return None;
            }
            let (stamp, trusted) = dircache::dir_stamp(&meta, self.racy_window);
            let old = old_dirs.remove(&rel);
            let record = match old {
                Some(mut record)
                    if record.trusted
                        && record.stamp == Some(stamp)
                        && dircache::rules_hold(&dir, &record.rules) =>
                {
                    let old_files = std::mem::take(&mut record.files);
                    for entry in &old_files {
                        let path = dir.join(entry.name());
                        // Gone without its directory's stamp moving: not to be trusted.
                        let meta = std::fs::symlink_metadata(&path).ok()?;
                        let file_rel = child(&rel, entry.name());
                        let (item, cached) = examine(filter, &file_rel, path, &meta, Some(entry));
                        // Unreadable now: a full walk reports it properly.
                        if item.is_some() && cached.is_none() {
                            return None;
                        }
                        items.extend(item);
                        record.files.extend(cached);
                    }
                    // A `#!` file edited in place: its new decision is kept.
                    changed |= record.files != old_files;
                    record
                }
                old => {
                    relisted += 1;
                    if relisted > dircache::MAX_RELISTED {
                        return None;
                    }
                    let record = self.relist(filter, &rel, &dir, stamp, trusted, &mut items)?;
                    // Ignore rules added, removed or edited here would change decisions
                    // recorded below here.
                    if old.is_some_and(|old| old.rules != record.rules) {
                        return None;
                    }
                    record
                }
            };
            stack.extend(record.subdirs.iter().rev().map(|name| child(&rel, name)));
            pruned_all.extend(record.pruned.iter().map(|name| child(&rel, name)));
            dirs.push((rel, record));
        }
        items.extend(
            pruned_all
                .into_iter()
                .filter_map(|rel| pruned_item(filter, rel)),
        );
        // Directories recorded and not reached any more (removed) also change it.
        changed |= relisted > 0 || dirs.len() != recorded;
        let snapshot = Snapshot {
            key,
            outside,
            dirs: BTreeMap::from_iter(dirs),
        };
        Some((items, snapshot, relisted, changed))
    }

    /// Lists one directory with the ignore rules a full walk would apply to it.
    fn relist(
        &self,
        filter: &Filter,
        rel: &str,
        dir: &Path,
        stamp: codegraph_core::FileStamp,
        trusted: bool,
        items: &mut Vec<SourceItem>,
    ) -> Option<DirRecord> {
        let skipped = NotEntered::default();
        let (rules, rules_trusted) = if filter.config().respect_ignore_files {
            // The walker below reads the ignore files of `dir` and of every directory
            // above it; those above the root were checked before the walk.
            for above in dir.ancestors().take_while(|a| a.starts_with(&self.root)) {
                if ignore_files_readable(above).is_err() {
                    return None;
                }
            }
            dircache::rules_in(dir, self.racy_window)
        } else {
            (Vec::new(), true)
        };
        // Ignore rules read within the racy window may differ from what their stamps
        // say; they decide for the whole subtree, so only a full walk will do.
        if !rules_trusted {
            return None;
        }
        let mut record = DirRecord {
            stamp: Some(stamp),
            trusted,
            rules,
            ..DirRecord::default()
        };
        let mut builder = self.builder(dir, filter, &skipped);
        builder.max_depth(Some(1));
        for result in builder.build() {
            // An entry that cannot be read: leave it to a full walk to report.
            let entry = result.ok()?;
            if entry.depth() == 0 {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                record.subdirs.push(name);
                continue;
            }
            let meta = entry.metadata().ok()?;
            let file_rel = child(rel, &name);
            let (item, cached) = examine(filter, &file_rel, entry.into_path(), &meta, None);
            if item.is_some() && cached.is_none() {
                return None;
            }
            items.extend(item);
            record.files.extend(cached);
        }
        let (pruned, refused) = skipped.take();
        // A full walk reports the directory it may not enter.
        if !refused.is_empty() {
            return None;
        }
        record.pruned = pruned
            .iter()
            .map(|r| r.rsplit('/').next().unwrap_or(r).to_string())
            .collect();
        record.subdirs.sort();
        record.pruned.sort();
        Some(record)
    }
}

/// Directories a walk did not enter, gathered from the walk's threads.
#[derive(Clone, Default)]
struct NotEntered {
    /// Refused by the filter's rules (vendored, excluded), reported from those rules.
    pruned: Arc<Mutex<Vec<String>>>,
    /// Holding an ignore file the walker cannot read safely, with why.
    refused: Arc<Mutex<Vec<(String, String)>>>,
}

impl NotEntered {
    fn take(&self) -> (Vec<String>, Vec<(String, String)>) {
        fn drain<T>(list: &Mutex<Vec<T>>) -> Vec<T> {
            std::mem::take(&mut *list.lock().expect("walk finished"))
        }
        (drain(&self.pruned), drain(&self.refused))
    }
}

/// What a full walk saw, by directory, gathered from the walk's threads.
#[derive(Default)]
struct Recorder {
    dirs: Mutex<BTreeMap<String, DirRecord>>,
    /// An entry could not be read: the snapshot would be missing it.
    failed: std::sync::atomic::AtomicBool,
}

impl Recorder {
    fn incomplete(&self) {
        self.failed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn with_dir(&self, rel: &str, f: impl FnOnce(&mut DirRecord)) {
        let mut dirs = self.dirs.lock().expect("no panics while holding the lock");
        f(dirs.entry(rel.to_string()).or_default());
    }

    fn finish(self, pruned: &[String]) -> Option<Snapshot> {
        if self.failed.into_inner() {
            return None;
        }
        let mut dirs = self.dirs.into_inner().expect("walk finished");
        for rel in pruned {
            let (parent, name) = split(rel);
            dirs.entry(parent.to_string())
                .or_default()
                .pruned
                .push(name.to_string());
        }
        for d in dirs.values_mut() {
            // Every directory recorded was entered and stamped; one that was not is a
            // walk this snapshot cannot describe.
            d.stamp?;
            d.subdirs.sort();
            d.pruned.sort();
            d.files.sort_by(|a, b| a.name().cmp(b.name()));
        }
        Some(Snapshot {
            key: 0,
            outside: Vec::new(),
            dirs,
        })
    }
}

/// `rel`'s parent directory and name.
fn split(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", rel),
    }
}

fn child(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

fn join(root: &Path, rel: &str) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    }
}

fn pruned_item(filter: &Filter, rel: String) -> Option<SourceItem> {
    let reason = filter.check_dir(&rel)?;
    Some(SourceItem::Skipped(SkippedFile {
        path: format!("{rel}/"),
        reason,
    }))
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
        // Walk first, then send: the walk takes a small fraction of the time parsing
        // does, and knowing the count up front gives progress a real bar. Streaming
        // instead would block the walk on the bounded channel, so the count would only
        // be known at the end. Items are sorted afterwards, so the order is the same on
        // every run, cached or not.
        let root_is_dir = std::fs::metadata(&self.root).is_ok_and(|m| m.is_dir());
        let key = self.cache_key(filter);
        let changed = self.changed.take();
        if let Some(changed) = changed
            && root_is_dir
            && let Some(items) = self.changed_walk(filter, key, &changed)
        {
            self.last_walk = Some(WalkKind::Changed {
                examined: changed.len(),
            });
            return send(items, Some(&Arc::from(self.root.as_path())), sink);
        }
        if root_is_dir && filter.config().respect_ignore_files {
            // The walker reads the ignore files of the root and of every directory
            // above it before anything else.
            let canonical = self
                .root
                .canonicalize()
                .map_err(|e| SourceError::io(&self.root, e))?;
            for dir in canonical.ancestors() {
                ignore_files_readable(dir).map_err(|detail| {
                    SourceError::Walk(format!("cannot walk {}: {detail}", self.root.display()))
                })?;
            }
        }
        // Taken before the walk, so an edit during it shows next time.
        let outside = self.remember.then(|| dircache::outside_inputs(&self.root));
        let cache = self.cache.clone().filter(|_| root_is_dir);
        let (mut items, kind) = match cache {
            None => (self.full_walk(filter, false).0, WalkKind::Full),
            Some(file) => {
                let cached = dircache::load(&file, key)
                    .and_then(|snapshot| self.cached_walk(filter, snapshot));
                match cached {
                    Some((items, snapshot, relisted, changed)) => {
                        if changed {
                            let _ = dircache::save(&file, &snapshot);
                        }
                        (items, WalkKind::Cached { relisted })
                    }
                    None => {
                        // Taken before the walk, so an edit during it shows next time.
                        let outside = dircache::outside_inputs(&self.root);
                        let (items, snapshot) = self.full_walk(filter, true);
                        match snapshot {
                            Some(mut s) => {
                                s.key = key;
                                s.outside = outside;
                                let _ = dircache::save(&file, &s);
                            }
                            // Unreadable entries: walk in full again next time.
                            None => {
                                let _ = std::fs::remove_file(&file);
                            }
                        }
                        (items, WalkKind::Full)
                    }
                }
            }
        };
        self.last_walk = Some(kind);
        items.sort_by(|a, b| item_path(a).cmp(item_path(b)));
        self.memory = outside.filter(|_| root_is_dir).and_then(|outside| {
            let items = items.iter().map(remembered).collect::<Option<_>>()?;
            Some(Memory {
                key,
                outside,
                items,
            })
        });
        // A root that is a file is the one file read, as named.
        let beneath = root_is_dir.then(|| Arc::from(self.root.as_path()));
        send(items, beneath.as_ref(), sink)
    }
}

/// Sends the walk's items, each file to be opened beneath `root` (see
/// [`Content::Disk`]).
fn send(
    items: Vec<SourceItem>,
    root: Option<&Arc<Path>>,
    sink: &mut dyn Sink,
) -> Result<(), SourceError> {
    sink.expect(items.len() as u64);
    for mut item in items {
        if let SourceItem::File(SourceFile {
            content: Content::Disk { beneath, .. },
            ..
        }) = &mut item
        {
            *beneath = root.cloned();
        }
        if sink.item(item).is_break() {
            break;
        }
    }
    Ok(())
}

fn remembered(item: &SourceItem) -> Option<(String, Remembered)> {
    match item {
        SourceItem::File(SourceFile {
            path: rel,
            language,
            content: Content::Disk { path, stamp, .. },
        }) => Some((
            rel.clone(),
            Remembered::File {
                language: *language,
                path: path.clone(),
                stamp: *stamp,
            },
        )),
        SourceItem::File(_) => None,
        SourceItem::Skipped(s) => Some((s.path.clone(), Remembered::Skipped(s.reason.clone()))),
    }
}

impl DirectorySource {
    /// The last walk's items with `changed` looked at again, when that is enough (see
    /// [`DirectorySource::set_changed`]); `None` sends the run to the usual walk.
    fn changed_walk(
        &mut self,
        filter: &Filter,
        key: u64,
        changed: &[PathBuf],
    ) -> Option<Vec<SourceItem>> {
        let memory = self.memory.as_mut()?;
        if memory.key != key || !memory.outside.iter().all(|p| p.holds()) {
            return None;
        }
        let mut updates = Vec::new();
        for path in changed {
            let Ok(under) = path.strip_prefix(&self.root) else {
                continue;
            };
            let rel = relative(&self.root, path);
            if under.as_os_str().is_empty()
                || under.components().any(|c| {
                    let c = c.as_os_str();
                    c == ".git" || dircache::RULE_FILES.iter().any(|r| c == *r)
                })
            {
                return None;
            }
            let known = memory.items.contains_key(&rel);
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.is_file() && known => {
                    // Named for its extension (not a `#!` script): the name decides
                    // again, from a fresh `lstat`.
                    match examine(filter, &rel, path.clone(), &meta, None) {
                        (Some(item), Some(Entry::Named(_))) => updates.push(remembered(&item)?),
                        _ => return None,
                    }
                }
                Ok(meta) if !known && !meta.is_dir() => {
                    // No walk yields what its name rules out, wherever it is.
                    if !matches!(filter.check_path(&rel, None), PathDecision::Ignore) {
                        return None;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let inside = format!("{rel}/");
                    let held = known
                        || memory
                            .items
                            .range(inside.clone()..)
                            .next()
                            .is_some_and(|(k, _)| k.starts_with(&inside));
                    if held {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        memory.items.extend(updates);
        Some(
            memory
                .items
                .iter()
                .map(|(rel, item)| match item {
                    Remembered::File {
                        language,
                        path,
                        stamp,
                    } => SourceItem::File(SourceFile {
                        path: rel.clone(),
                        language: *language,
                        content: Content::Disk {
                            path: path.clone(),
                            stamp: *stamp,
                            beneath: None,
                        },
                    }),
                    Remembered::Skipped(reason) => SourceItem::Skipped(SkippedFile {
                        path: rel.clone(),
                        reason: reason.clone(),
                    }),
                })
                .collect(),
        )
    }
}

impl DirectorySource {
    /// What a snapshot must have been made under to be used: the root, the filter and
    /// git's configuration environment.
    fn cache_key(&self, filter: &Filter) -> u64 {
        let text = format!(
            "{}\0{:?}\0{}",
            self.root.display(),
            filter.config(),
            dircache::environment_key()
        );
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    }
}

fn item_path(item: &SourceItem) -> &str {
    match item {
        SourceItem::File(f) => &f.path,
        SourceItem::Skipped(s) => &s.path,
    }
}

fn walk_error(root: &Path, err: &ignore::Error) -> SourceItem {
    let path = error_path(err)
        .map(|p| relative(root, &p))
        .unwrap_or_else(|| root.display().to_string());
    SourceItem::Skipped(SkippedFile {
        path,
        reason: SkipReason::Unreadable {
            error: err.to_string(),
        },
    })
}

/// What one walk entry becomes, if anything; directories and files are noted in the
/// recorder when there is one.
fn visit(
    root: &Path,
    filter: &Filter,
    entry: ignore::DirEntry,
    recorder: Option<&Recorder>,
    racy_window: Duration,
) -> Option<SourceItem> {
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        if let Some(r) = recorder {
            let rel = if entry.depth() == 0 {
                String::new()
            } else {
                relative(root, entry.path())
            };
            let meta = entry.metadata().ok();
            let (rules, rules_trusted) = if filter.config().respect_ignore_files {
                dircache::rules_in(entry.path(), racy_window)
            } else {
                (Vec::new(), true)
            };
            match meta {
                Some(meta) => {
                    let (stamp, trusted) = dircache::dir_stamp(&meta, racy_window);
                    // Rules read within the racy window cannot be vouched for, and
                    // they decide for the whole subtree: no snapshot this time.
                    if !rules_trusted {
                        r.incomplete();
                    }
                    r.with_dir(&rel, |d| {
                        d.stamp = Some(stamp);
                        d.trusted = trusted;
                        d.rules = rules;
                    });
                }
                None => r.incomplete(),
            }
            if entry.depth() > 0 {
                let (parent, name) = split(&rel);
                let name = name.to_string();
                r.with_dir(parent, |d| d.subdirs.push(name));
            }
        }
        return None;
    }
    let rel = relative(root, entry.path());
    // Most files in a tree are not source; decide from the name before paying for a
    // `stat`.
    if file_type.is_file() && matches!(filter.check_path(&rel, None), PathDecision::Ignore) {
        return None;
    }
    let meta = match entry.metadata() {
        Ok(meta) => meta,
        Err(e) => {
            if let Some(r) = recorder {
                r.incomplete();
            }
            return Some(SourceItem::Skipped(SkippedFile {
                path: rel,
                reason: SkipReason::Unreadable {
                    error: e.to_string(),
                },
            }));
        }
    };
    let (item, cached) = examine(filter, &rel, entry.into_path(), &meta, None);
    if let Some(r) = recorder {
        match cached {
            Some(cached) => r.with_dir(split(&rel).0, |d| d.files.push(cached)),
            // Reported as unreadable: a snapshot would lose it.
            None if item.is_some() => r.incomplete(),
            None => {}
        }
    }
    item
}

/// What a non-directory entry becomes, from its metadata, and what a walk cache keeps
/// of it (nothing for files that do not matter). `known` is what the cache kept last
/// time: a `#!` decision is reused while the file's stamp holds.
fn examine(
    filter: &Filter,
    rel: &str,
    path: PathBuf,
    meta: &std::fs::Metadata,
    known: Option<&Entry>,
) -> (Option<SourceItem>, Option<Entry>) {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
    if !meta.is_file() {
        // Symlinks, sockets, devices: only report those that look like source.
        if matches!(filter.check_path(rel, None), PathDecision::Ignore) {
            return (None, None);
        }
        let item = SourceItem::Skipped(SkippedFile {
            path: rel.to_string(),
            reason: SkipReason::NotRegular,
        });
        return (Some(item), Some(Entry::Named(name)));
    }
    let stamp = stamp_of(meta);
    let language = match filter.check_path(rel, Some(meta.len())) {
        PathDecision::Ignore => return (None, None),
        PathDecision::Skip(reason) => {
            let item = SourceItem::Skipped(SkippedFile {
                path: rel.to_string(),
                reason,
            });
            return (Some(item), Some(Entry::Named(name)));
        }
        PathDecision::Parse(Some(language)) => language,
        PathDecision::Parse(None) => {
            let language = match known {
                Some(Entry::Shebang {
                    stamp: s, language, ..
                }) if *s == stamp => *language,
                _ => match first_line(&path) {
                    Ok(Some(line)) => filter.shebang_language(rel, &line),
                    // Replaced since its `lstat` (by a link, a FIFO, ...): reported, and
                    // not recorded, so the next walk looks again.
                    Ok(None) => {
                        let item = SourceItem::Skipped(SkippedFile {
                            path: rel.to_string(),
                            reason: SkipReason::NotRegular,
                        });
                        return (Some(item), None);
                    }
                    Err(e) => {
                        let item = SourceItem::Skipped(SkippedFile {
                            path: rel.to_string(),
                            reason: SkipReason::Unreadable {
                                error: e.to_string(),
                            },
                        });
                        return (Some(item), None);
                    }
                },
            };
            let cached = Entry::Shebang {
                name,
                stamp,
                language,
            };
            let Some(language) = language else {
                return (None, Some(cached));
            };
            return (Some(disk_file(rel, language, path, stamp)), Some(cached));
        }
    };
    (
        Some(disk_file(rel, language, path, stamp)),
        Some(Entry::Named(name)),
    )
}

/// A file the walk found, to be read from disk with the stamp taken before reading.
fn disk_file(
    rel: &str,
    language: codegraph_core::Language,
    path: PathBuf,
    stamp: codegraph_core::FileStamp,
) -> SourceItem {
    SourceItem::File(SourceFile {
        path: rel.to_string(),
        language,
        content: Content::Disk {
            stamp: Some(stamp),
            path,
            // Set for every file when the walk's items are sent.
            beneath: None,
        },
    })
}

/// The start of a file, enough for a `#!` line; `None` when it is no longer a regular
/// file.
fn first_line(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match open_regular(path)? {
        Opened::Regular(file, _) => file,
        Opened::NotRegular(_) => return Ok(None),
    };
    let mut head = Vec::with_capacity(256);
    file.take(256).read_to_end(&mut head)?;
    Ok(Some(head))
}

/// Whether the walker can read the ignore rules it looks for in `dir` without blocking
/// or reading without end: `.ignore`, `.gitignore`, `.codegraphignore` and git's
/// `info/exclude` (found through a `.git` file as the walker finds it) must each be a
/// regular file, through links, or absent. A FIFO among them would block the walk for
/// good, and `/dev/zero` would never end. `Err` says which is not.
fn ignore_files_readable(dir: &Path) -> Result<(), String> {
    for name in [".ignore", ".gitignore", ".codegraphignore"] {
        readable(dir, &dir.join(name))?;
    }
    let dot_git = dir.join(".git");
    match std::fs::metadata(&dot_git) {
        Ok(meta) if meta.is_dir() => readable(dir, &dot_git.join("info").join("exclude")),
        Ok(meta) if meta.is_file() => {
            // A linked work tree's exclude file is in its common directory, named by
            // the `.git` file and then the git directory's `commondir` file; the
            // walker reads both to find it, and resolves them as below.
            let Some(line) = first_line_of(dir, &dot_git)? else {
                return Ok(());
            };
            let Some(git_dir) = line.strip_prefix("gitdir: ") else {
                return Ok(());
            };
            let git_dir = PathBuf::from(git_dir);
            let commondir = git_dir.join("commondir");
            let Some(line) = first_line_of(dir, &commondir)? else {
                return Ok(());
            };
            let common = if line.starts_with('.') {
                git_dir.join(line)
            } else {
                PathBuf::from(line)
            };
            readable(dir, &common.join("info").join("exclude"))
        }
        _ => Ok(()),
    }
}

/// `Err` when `path` exists and is neither a regular file nor a directory (which the
/// walker fails to read at once), through links.
fn readable(dir: &Path, path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(format!(
            "{} is {}, which the walker would read as ignore rules",
            path.strip_prefix(dir).unwrap_or(path).display(),
            super::read::kind(&meta.file_type())
        )),
        _ => Ok(()),
    }
}

/// The first line of a small file the walker reads for its ignore rules, read safely;
/// `None` when it cannot be read (the walker then reads nothing further either).
fn first_line_of(dir: &Path, path: &Path) -> Result<Option<String>, String> {
    use std::io::{BufRead, Read};
    readable(dir, path)?;
    let file = match super::read::open_named(path) {
        Ok(Opened::Regular(file, _)) => file,
        Ok(Opened::NotRegular(kind)) => {
            return Err(format!(
                "{} is {kind}",
                path.strip_prefix(dir).unwrap_or(path).display()
            ));
        }
        Err(_) => return Ok(None),
    };
    let mut line = String::new();
    match std::io::BufReader::new(file.take(64 * 1024)).read_line(&mut line) {
        // As `BufRead::lines`, which the walker uses, ends a line.
        Ok(_) => {
            let line = line.strip_suffix('\n').unwrap_or(&line);
            Ok(Some(line.strip_suffix('\r').unwrap_or(line).to_string()))
        }
        Err(_) => Ok(None),
    }
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
