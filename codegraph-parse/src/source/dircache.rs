//! What a directory walk found, kept between runs so that the next walk reads only the
//! directories whose listing changed (git's "untracked cache" idea).
//!
//! A directory's list of names changes only when an entry is created, removed or
//! renamed in it, and each of those changes the directory's modification time. So a
//! walk records, per directory it entered: its stamp (size, times, inode), the names
//! that mattered (subdirectories entered, directories pruned, files that became items,
//! files without an extension that were checked for a `#!` line), and the stamps of
//! the ignore files in it. The next walk stats each recorded directory instead of
//! reading it; only where a stamp differs is the directory listed again, with the same
//! ignore rules as a full walk (ancestors' ignore files included).
//!
//! Everything that could change a recorded decision without changing a directory's
//! stamp sends the walk back to a full one:
//!
//! - the filter configuration, the root, or git's configuration environment (`key`);
//! - an ignore file edited in place (its stamp is checked), or one added or removed in
//!   a directory whose listing changed (its rules then apply to recorded subtrees);
//! - ignore files outside the tree: the root's ancestors', `.git/info/exclude`, git's
//!   global configuration and excludes file (`outside`);
//! - a recorded name that is gone though its directory's stamp is unchanged;
//! - more than [`MAX_RELISTED`] directories changed (a checkout): one parallel walk
//!   is then faster than listing each on its own.
//!
//! Stamps younger than `RACY_WINDOW` at the time they were taken are not trusted (an
//! edit within the same clock tick would not move them); such directories are listed
//! again next time. The file format is private to this module: versioned by its magic,
//! checked by a trailing xxh3, and any file that does not decode is ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codegraph_core::{FileStamp, Language};

use super::{stamp_of, trusted_stamp};

const MAGIC: &[u8; 8] = b"CGWALK01";

/// Directories whose listing changed beyond which a cached walk gives way to a full
/// one.
pub(crate) const MAX_RELISTED: usize = 64;

/// Ignore files read in every directory when ignore files are honoured, relative to
/// the directory.
pub(crate) const RULE_FILES: [&str; 4] = [
    ".gitignore",
    ".ignore",
    ".codegraphignore",
    ".git/info/exclude",
];

/// A file that mattered to the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Its name decides what it is (a source extension, or a special file that looks
    /// like source): re-examined from a fresh `lstat` on every walk.
    Named(String),
    /// No extension: its first line was read for `#!`. The decision stands while the
    /// file's stamp does.
    Shebang {
        name: String,
        stamp: FileStamp,
        language: Option<Language>,
    },
}

impl Entry {
    pub(crate) fn name(&self) -> &str {
        match self {
            Entry::Named(name) | Entry::Shebang { name, .. } => name,
        }
    }
}

/// One directory as a walk found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DirRecord {
    pub stamp: Option<FileStamp>,
    /// False when the stamp was too young to vouch for the listing.
    pub trusted: bool,
    /// Ignore files present, relative to the directory, with their stamps.
    pub rules: Vec<(String, FileStamp)>,
    pub subdirs: Vec<String>,
    /// Subdirectories the filter refused (reported as skipped, not entered).
    pub pruned: Vec<String>,
    pub files: Vec<Entry>,
}

/// A file or directory outside the tree whose content affects the walk, with its
/// stamp (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    pub path: PathBuf,
    pub stamp: Option<FileStamp>,
}

impl Probe {
    pub(crate) fn take(path: PathBuf) -> Probe {
        let stamp = std::fs::symlink_metadata(&path).ok().map(|m| stamp_of(&m));
        Probe { path, stamp }
    }

    /// Whether the path is as it was (absent and still absent, or the same stamp).
    pub(crate) fn holds(&self) -> bool {
        let now = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| stamp_of(&m));
        now == self.stamp
    }
}

/// What one walk recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub key: u64,
    pub outside: Vec<Probe>,
    /// By repository-relative path, `""` for the root.
    pub dirs: BTreeMap<String, DirRecord>,
}

/// A directory's stamp, if it can vouch for the listing read after it.
pub(crate) fn dir_stamp(meta: &std::fs::Metadata, window: Duration) -> (FileStamp, bool) {
    let trusted = trusted_stamp(meta, window).is_some();
    (stamp_of(meta), trusted)
}

/// The ignore files present in `dir`, with their stamps, and whether all of those
/// stamps were old enough to vouch for the content just read.
pub(crate) fn rules_in(dir: &Path, window: Duration) -> (Vec<(String, FileStamp)>, bool) {
    let mut trusted = true;
    let rules = RULE_FILES
        .iter()
        .filter_map(|name| {
            let meta = std::fs::symlink_metadata(dir.join(name)).ok()?;
            trusted &= trusted_stamp(&meta, window).is_some();
            Some((name.to_string(), stamp_of(&meta)))
        })
        .collect();
    (rules, trusted)
}

/// Whether every ignore file recorded for `dir` is still as it was. (One added beside
/// them changes the directory's stamp, so it is caught there.)
pub(crate) fn rules_hold(dir: &Path, rules: &[(String, FileStamp)]) -> bool {
    rules.iter().all(|(name, stamp)| {
        std::fs::symlink_metadata(dir.join(name))
            .ok()
            .is_some_and(|m| stamp_of(&m) == *stamp)
    })
}

/// Files and directories outside the tree that feed its ignore rules: the ignore files
/// of every ancestor of `root`, and git's global configuration and excludes file.
pub(crate) fn outside_inputs(root: &Path) -> Vec<Probe> {
    let mut paths = Vec::new();
    for dir in root.ancestors().skip(1) {
        for name in RULE_FILES {
            paths.push(dir.join(name));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    if let Some(h) = &home {
        paths.push(h.join(".gitconfig"));
    }
    if let Some(x) = &xdg {
        paths.push(x.join("git/config"));
        paths.push(x.join("git/ignore"));
    }
    paths.push(PathBuf::from("/etc/gitconfig"));
    for var in ["GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            paths.push(PathBuf::from(p));
        }
    }
    if let Some(p) = ignore::gitignore::gitconfig_excludes_path() {
        paths.push(p);
    }
    paths.into_iter().map(Probe::take).collect()
}

/// The environment git's ignore rules depend on, for the snapshot's key.
pub(crate) fn environment_key() -> String {
    [
        "HOME",
        "XDG_CONFIG_HOME",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
    ]
    .iter()
    .map(|v| format!("{v}={:?};", std::env::var_os(v)))
    .collect()
}

// ---------------------------------------------------------------------------------
// The file.

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: usize) {
        self.0
            .extend_from_slice(&u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn stamp(&mut self, s: &FileStamp) {
        self.u64(s.size);
        self.u64(s.mtime_ns as u64);
        self.u64(s.ctime_ns as u64);
        self.u64(s.inode);
    }
    fn opt_stamp(&mut self, s: &Option<FileStamp>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.stamp(s);
            }
            None => self.u8(0),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count of items that take at least `min_bytes` each, refused when the rest of
    /// the file cannot hold them (so a corrupt count allocates nothing).
    fn count(&mut self, min_bytes: usize) -> Option<usize> {
        let n = self.u32()?;
        (n.checked_mul(min_bytes)? <= self.0.len()).then_some(n)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn stamp(&mut self) -> Option<FileStamp> {
        Some(FileStamp {
            size: self.u64()?,
            mtime_ns: self.u64()? as i64,
            ctime_ns: self.u64()? as i64,
            inode: self.u64()?,
        })
    }
    fn opt_stamp(&mut self) -> Option<Option<FileStamp>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.stamp()?)),
            _ => None,
        }
    }
    fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.count(4)?;
        (0..n).map(|_| self.str()).collect()
    }
}

pub(crate) fn encode(s: &Snapshot) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 * s.dirs.len() + 64));
    w.0.extend_from_slice(MAGIC);
    w.u64(s.key);
    w.u32(s.outside.len());
    for p in &s.outside {
        w.str(&p.path.to_string_lossy());
        w.opt_stamp(&p.stamp);
    }
    w.u32(s.dirs.len());
    for (rel, d) in &s.dirs {
        w.str(rel);
        w.opt_stamp(&d.stamp);
        w.u8(u8::from(d.trusted));
        w.u32(d.rules.len());
        for (name, stamp) in &d.rules {
            w.str(name);
            w.stamp(stamp);
        }
        for list in [&d.subdirs, &d.pruned] {
            w.u32(list.len());
            for name in list {
                w.str(name);
            }
        }
        w.u32(d.files.len());
        for f in &d.files {
            match f {
                Entry::Named(name) => {
                    w.u8(0);
                    w.str(name);
                }
                Entry::Shebang {
                    name,
                    stamp,
                    language,
                } => {
                    w.u8(1);
                    w.str(name);
                    w.stamp(stamp);
                    w.str(language.map_or("", |l| l.as_str()));
                }
            }
        }
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&w.0);
    w.u64(sum);
    w.0
}

/// The snapshot in `bytes`, or `None` if they are not one this build wrote intact.
pub(crate) fn decode(bytes: &[u8]) -> Option<Snapshot> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let key = r.u64()?;
    let n = r.count(5)?;
    let mut outside = Vec::with_capacity(n);
    for _ in 0..n {
        outside.push(Probe {
            path: PathBuf::from(r.str()?),
            stamp: r.opt_stamp()?,
        });
    }
    let n = r.count(22)?;
    // Collected, then built in one go: inserting thousands of records one by one was
    // most of a cached walk's time.
    let mut dirs = Vec::with_capacity(n);
    for _ in 0..n {
        let rel = r.str()?;
        let stamp = r.opt_stamp()?;
        let trusted = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let rules_n = r.count(36)?;
        let mut rules = Vec::with_capacity(rules_n);
        for _ in 0..rules_n {
            rules.push((r.str()?, r.stamp()?));
        }
        let subdirs = r.strings()?;
        let pruned = r.strings()?;
        let files_n = r.count(5)?;
        let mut files = Vec::with_capacity(files_n);
        for _ in 0..files_n {
            files.push(match r.u8()? {
                0 => Entry::Named(r.str()?),
                1 => Entry::Shebang {
                    name: r.str()?,
                    stamp: r.stamp()?,
                    language: match r.str()?.as_str() {
                        "" => None,
                        l => Some(l.parse().ok()?),
                    },
                },
                _ => return None,
            });
        }
        dirs.push((
            rel,
            DirRecord {
                stamp,
                trusted,
                rules,
                subdirs,
                pruned,
                files,
            },
        ));
    }
    let dirs = BTreeMap::from_iter(dirs);
    r.0.is_empty().then_some(Snapshot { key, outside, dirs })
}

/// Reads the snapshot at `path` if it is intact and was made under `key`. Only a
/// regular file is read: anything else in its place (a FIFO would block the walk) means a
/// full walk, whose snapshot then replaces it.
pub(crate) fn load(path: &Path, key: u64) -> Option<Snapshot> {
    use std::io::Read;
    let super::Opened::Regular(mut file, meta) = super::open_regular(path).ok()? else {
        return None;
    };
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).ok()?;
    decode(&bytes).filter(|s| s.key == key)
}

/// Writes the snapshot at `path` (a temporary file renamed over the old one). A cache:
/// failing to write it only costs the next run a full walk, so errors are returned for
/// the caller to ignore or report.
pub(crate) fn save(path: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, encode(snapshot))?;
    std::fs::rename(&tmp, path)
}

/// Decodes arbitrary bytes as a snapshot, as they are and with a valid checksum
/// appended (so the fuzzer reaches the parser behind the checksum); for the fuzz
/// target. Never panics; whatever decodes encodes back to itself.
#[doc(hidden)]
pub fn fuzz_decode(bytes: &[u8]) -> bool {
    let mut summed = bytes.to_vec();
    summed.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(bytes).to_le_bytes());
    let mut any = false;
    for candidate in [bytes, &summed[..]] {
        if let Some(s) = decode(candidate) {
            assert_eq!(
                decode(&encode(&s)),
                Some(s),
                "a snapshot survives a round trip"
            );
            any = true;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: u64) -> FileStamp {
        FileStamp {
            size: n,
            mtime_ns: n as i64 * 7,
            ctime_ns: -(n as i64),
            inode: n * 3,
        }
    }

    #[test]
    fn snapshots_round_trip_and_damage_is_refused() {
        let mut dirs = BTreeMap::new();
        dirs.insert(
            String::new(),
            DirRecord {
                stamp: Some(stamp(1)),
                trusted: true,
                rules: vec![(".gitignore".into(), stamp(2))],
                subdirs: vec!["src".into()],
                pruned: vec!["node_modules".into()],
                files: vec![
                    Entry::Named("setup.py".into()),
                    Entry::Shebang {
                        name: "run".into(),
                        stamp: stamp(3),
                        language: Some(Language::Python),
                    },
                    Entry::Shebang {
                        name: "LICENSE".into(),
                        stamp: stamp(4),
                        language: None,
                    },
                ],
            },
        );
        dirs.insert("src".into(), DirRecord::default());
        let s = Snapshot {
            key: 42,
            outside: vec![
                Probe {
                    path: "/home/u/.gitconfig".into(),
                    stamp: None,
                },
                Probe {
                    path: "/x/.gitignore".into(),
                    stamp: Some(stamp(5)),
                },
            ],
            dirs,
        };
        let bytes = encode(&s);
        assert_eq!(decode(&bytes), Some(s.clone()));
        // Every truncation and every flipped byte is refused, never a panic.
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n]), None, "truncated at {n}");
            let mut bad = bytes.clone();
            bad[n] ^= 0x40;
            assert_eq!(decode(&bad), None, "byte {n} flipped");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("walk/p.bin");
        save(&path, &s).unwrap();
        assert_eq!(load(&path, 42), Some(s));
        assert_eq!(load(&path, 43), None, "another key");
    }
}
