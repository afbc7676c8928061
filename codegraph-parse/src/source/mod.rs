//! Where files come from: a directory, a git revision, an archive, or a stream.
//!
//! Every input implements [`Source`], which hands the pipeline one [`SourceItem`] at a
//! time: a file to parse (its repository-relative path and its bytes, or where to read
//! them), or a file it refused and why. The pipeline does not know which kind of input
//! it is reading, so every input gets the same filtering, parsing and reporting.
//!
//! A source stops only for failures of the whole input (an unreadable directory root,
//! a revision that does not exist, an archive that is not an archive). Anything wrong
//! with one file becomes a [`SourceItem::Skipped`] and the run goes on.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codegraph_core::{FileStamp, Language, SkippedFile};

use crate::filter::Filter;

#[cfg(feature = "archive")]
mod archive;
mod dircache;
mod directory;
#[cfg(feature = "git")]
mod git;
mod memory;
mod read;
mod stamp;

#[cfg(feature = "archive")]
pub use archive::{ArchiveFormat, ArchiveLimits, ArchiveSource, StreamSource};
#[doc(hidden)]
pub use dircache::fuzz_decode as fuzz_walk_cache;
pub use directory::{DirectorySource, WalkKind};
#[cfg(feature = "git")]
pub use git::{GitLimits, GitSource};
pub use memory::MemorySource;
pub use read::{DiskRead, Opened, open_beneath, open_regular, read_beneath, read_regular};
pub use stamp::{RACY_WINDOW, stamp_of, trusted_stamp};

/// A file's bytes, or where to read them. Directory sources hand out paths so that
/// workers read files in parallel; archive and git sources must decompress in order
/// and hand out bytes.
#[derive(Debug)]
pub enum Content {
    /// The whole file, already read (from an archive, a git object, memory).
    Bytes(Vec<u8>),
    /// A file on disk for a worker to read, if it is still a regular file when opened:
    /// a symbolic link or a FIFO in its place is skipped as not regular, never read
    /// through or waited on (see [`read_regular`]).
    Disk {
        /// Where to read it, as the walk found it under the source's root (not the
        /// repository-relative path).
        path: PathBuf,
        /// The file's stamp when the walk saw it, if it was taken then.
        stamp: Option<FileStamp>,
        /// The directory `path` was found beneath: no directory between it and the
        /// file may be a symbolic link when the file is opened either, so that a
        /// directory swapped for a link after the walk leads nowhere (see
        /// [`read_beneath`]). `None`: only the file itself is checked.
        beneath: Option<Arc<Path>>,
    },
}

/// A file to parse.
#[derive(Debug)]
pub struct SourceFile {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// The language to parse it as, chosen from its extension or `#!` line.
    pub language: Language,
    /// Its bytes, or where to read them.
    pub content: Content,
}

/// What a source produces.
#[derive(Debug)]
pub enum SourceItem {
    /// A file that passed the path rules, to be read (if needed), checked and parsed.
    File(SourceFile),
    /// A file or directory the source refused, and why; reported, never parsed.
    Skipped(SkippedFile),
}

/// Receives a source's items.
pub trait Sink {
    /// The number of items to expect, when the source knows it before sending them.
    fn expect(&mut self, _files: u64) {}

    /// One item. `Break` asks the source to stop early.
    fn item(&mut self, item: SourceItem) -> ControlFlow<()>;
}

/// An input of files.
pub trait Source: Send {
    /// What is being read, for messages: `directory ./repo`, `git ./repo at v1.2 (3f2a…)`.
    fn describe(&self) -> String;

    /// Sends every file to `sink`, applying `filter`'s path rules.
    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError>;
}

/// A failure of a whole input.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input itself could not be opened or read (a missing root, an unreadable
    /// archive file).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A directory walk failed as a whole. The string is the message.
    #[error("{0}")]
    Walk(String),
    /// The repository could not be opened, the revision did not resolve, an object
    /// could not be read, or the revision was refused for exceeding its `GitLimits`
    /// (feature `git`). The string is the message, with its context.
    #[error("git: {0}")]
    Git(String),
    /// Not an archive of a known format, malformed, or refused for exceeding its
    /// `ArchiveLimits` (feature `archive`). The string is the message.
    #[error("archive: {0}")]
    Archive(String),
    /// The input needs something this build or machine lacks (a compiled-out
    /// feature, worker threads). The string says what.
    #[error("{0}")]
    Unsupported(String),
    /// The input would read from outside the directories the caller confined it to.
    #[error("{0}")]
    OutsideRoots(String),
    /// The caller asked the run to stop; what was read before is consistent.
    #[error("stopped on request")]
    Stopped,
}

impl SourceError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to read, as a user names it on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// A directory or a single file.
    Path(PathBuf),
    /// A git repository (work tree or bare) at a revision.
    Git {
        /// The repository (its work tree or git directory), or a directory inside it.
        repo: PathBuf,
        /// The revision: `HEAD`, a branch, a tag, a commit id, or an expression such
        /// as `main~3`.
        rev: String,
    },
    /// An archive file.
    Archive(PathBuf),
    /// A tar stream (optionally gzip-compressed) on standard input.
    Stdin,
}

impl InputSpec {
    /// Interprets a command-line path: `-` is standard input, a file with an archive
    /// extension is an archive, and anything with `rev` is a git repository.
    pub fn from_arg(path: &Path, rev: Option<&str>) -> InputSpec {
        if let Some(rev) = rev {
            return InputSpec::Git {
                repo: path.to_path_buf(),
                rev: rev.to_string(),
            };
        }
        if path == Path::new("-") {
            return InputSpec::Stdin;
        }
        #[cfg(feature = "archive")]
        if path.is_file() && ArchiveFormat::from_path(path).is_some() {
            return InputSpec::Archive(path.to_path_buf());
        }
        InputSpec::Path(path.to_path_buf())
    }

    /// Opens the input.
    pub fn open(&self) -> Result<Box<dyn Source>, SourceError> {
        match self {
            InputSpec::Path(path) => Ok(Box::new(DirectorySource::new(path)?)),
            #[cfg(feature = "git")]
            InputSpec::Git { repo, rev } => Ok(Box::new(GitSource::open(repo, rev)?)),
            #[cfg(not(feature = "git"))]
            InputSpec::Git { .. } => Err(SourceError::Unsupported(
                "this build has no git support (feature `git`)".into(),
            )),
            #[cfg(feature = "archive")]
            InputSpec::Archive(path) => Ok(Box::new(ArchiveSource::open(
                path,
                ArchiveLimits::default(),
            )?)),
            #[cfg(feature = "archive")]
            InputSpec::Stdin => Ok(Box::new(StreamSource::new(
                "standard input",
                Box::new(std::io::stdin()),
                ArchiveLimits::default(),
            ))),
            #[cfg(not(feature = "archive"))]
            InputSpec::Archive(_) | InputSpec::Stdin => Err(SourceError::Unsupported(
                "this build has no archive support (feature `archive`)".into(),
            )),
        }
    }
}

/// Turns an archive or tree entry name into a safe repository-relative path: `/`
/// separators, no `.` components, and nothing that could escape the root (absolute
/// paths, `..`, drive letters). `Err` says why a name is refused, without repeating
/// the name: callers report it beside the reason, and a hostile name may be long.
pub fn sanitize_relative_path(raw: &str) -> Result<String, String> {
    let raw = raw.replace('\\', "/");
    if raw.starts_with('/') {
        return Err("absolute path".into());
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err("parent-directory component".into()),
            c if c.len() >= 2 && c.as_bytes()[1] == b':' && parts.is_empty() => {
                return Err("drive prefix".into());
            }
            c if c.contains('\0') => return Err("NUL byte".into()),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err("empty path".into());
    }
    Ok(parts.join("/"))
}

/// The longest refused name, in bytes, that a source reports whole; longer ones are
/// cut (see [`shorten`]). A refused name is never used as a path, and reporting it
/// whole lets a small archive of long names fill memory and job records.
pub const MAX_REPORTED_NAME: usize = 256;

/// `text` cut to at most `max` bytes on a character boundary, marked with how long it
/// was when cut; unchanged when it fits.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_paths() {
        assert_eq!(sanitize_relative_path("a/./b.rs").unwrap(), "a/b.rs");
        assert_eq!(sanitize_relative_path("a\\b.rs").unwrap(), "a/b.rs");
        assert!(sanitize_relative_path("../etc/passwd").is_err());
        assert!(sanitize_relative_path("a/../../b").is_err());
        assert!(sanitize_relative_path("/etc/passwd").is_err());
        assert!(sanitize_relative_path("C:/x.rs").is_err());
        assert!(sanitize_relative_path("").is_err());
        assert!(sanitize_relative_path("./").is_err());
    }

    #[test]
    fn refusals_do_not_repeat_the_name() {
        let long = "../".repeat(20_000);
        let why = sanitize_relative_path(&long).unwrap_err();
        assert_eq!(why, "parent-directory component");
    }

    #[test]
    fn shortening_keeps_characters_whole() {
        assert_eq!(shorten("short", 10), "short");
        let cut = shorten(&"é".repeat(100), 5);
        assert_eq!(cut, "éé… (200 bytes)");
        assert!(shorten(&"x".repeat(100_000), MAX_REPORTED_NAME).len() < MAX_REPORTED_NAME + 32);
    }
}
