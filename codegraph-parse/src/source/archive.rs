//! Archives (`.tar`, `.tar.gz`, `.zip` and their aliases) and tar streams.
//!
//! Archives come from strangers, so every entry is checked before it is trusted:
//! names that would escape the root (`../`, absolute paths, drive letters) are
//! refused, links and devices are skipped, no entry is read past the file-size limit
//! whatever its header claims, and the whole archive may not expand beyond
//! [`ArchiveLimits::max_total_bytes`] or hold more than [`ArchiveLimits::max_entries`]
//! entries. Zip entries whose compression ratio is typical of bombs are refused
//! without being inflated.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use codegraph_core::{SkipReason, SkippedFile};

use super::{
    Content, Opened, Sink, Source, SourceError, SourceFile, SourceItem, sanitize_relative_path,
};
use crate::filter::{Filter, PathDecision};

/// The container formats understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An uncompressed tar (`.tar`).
    Tar,
    /// A gzip-compressed tar (`.tar.gz`, `.tgz`, `.crate`).
    TarGz,
    /// A zip (`.zip`, `.whl`, `.jar`). Never read from a stream: its index is at the end.
    Zip,
}

impl ArchiveFormat {
    /// The format an archive's name implies. `.crate` files are gzipped tars, and
    /// `.whl` and `.jar` files are zips.
    pub fn from_path(path: &Path) -> Option<ArchiveFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".crate") {
            Some(ArchiveFormat::TarGz)
        } else if name.ends_with(".tar") {
            Some(ArchiveFormat::Tar)
        } else if name.ends_with(".zip") || name.ends_with(".whl") || name.ends_with(".jar") {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }

    /// The format the first bytes imply.
    pub fn sniff(head: &[u8]) -> Option<ArchiveFormat> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveFormat::TarGz)
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(ArchiveFormat::Zip)
        } else if head.len() >= 262 && &head[257..262] == b"ustar" {
            Some(ArchiveFormat::Tar)
        } else {
            None
        }
    }
}

/// Bounds on what one archive may cost.
#[derive(Clone, Copy, Debug)]
pub struct ArchiveLimits {
    /// Total uncompressed bytes read from the archive, skipped entries included.
    pub max_total_bytes: u64,
    /// Entries the archive may hold, directories and skipped entries included.
    pub max_entries: u64,
    /// Largest uncompressed/compressed ratio accepted for a zip entry over 1 MiB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_total_bytes: 4 << 30,
            max_entries: 1_000_000,
            max_ratio: 200,
        }
    }
}

/// An archive file on disk, or an archive already in memory (an upload).
pub struct ArchiveSource {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
    format: ArchiveFormat,
    limits: ArchiveLimits,
}

impl ArchiveSource {
    /// An archive file on disk, read within `limits`. The format comes from the
    /// first bytes, or else from the file name; the file is read again from the start
    /// by each run.
    ///
    /// # Errors
    /// [`SourceError::Io`] when the file cannot be read, and [`SourceError::Archive`]
    /// when it is not a regular file (a FIFO would block the reader) or is in no known
    /// format.
    pub fn open(path: &Path, limits: ArchiveLimits) -> Result<ArchiveSource, SourceError> {
        let mut file = open_archive(path)?;
        let mut head = [0u8; 512];
        let n = read_up_to(&mut file, &mut head).map_err(|e| SourceError::io(path, e))?;
        let format = ArchiveFormat::sniff(&head[..n])
            .or_else(|| ArchiveFormat::from_path(path))
            .ok_or_else(|| {
                SourceError::Archive(format!(
                    "{} is not a tar, tar.gz or zip archive",
                    path.display()
                ))
            })?;
        Ok(ArchiveSource {
            path: path.to_path_buf(),
            bytes: None,
            format,
            limits,
        })
    }

    /// An archive held in memory, such as an upload; `name` is for messages. The
    /// format comes from the bytes.
    pub fn from_bytes(
        name: &str,
        bytes: Vec<u8>,
        limits: ArchiveLimits,
    ) -> Result<ArchiveSource, SourceError> {
        let format = ArchiveFormat::sniff(&bytes[..bytes.len().min(512)]).ok_or_else(|| {
            SourceError::Archive(format!("{name} is not a tar, tar.gz or zip archive"))
        })?;
        Ok(ArchiveSource {
            path: PathBuf::from(name),
            bytes: Some(bytes),
            format,
            limits,
        })
    }
}

/// The archive file at `path`, through a link if it is one (the user named it), but
/// only if it is a regular file: a FIFO would block the run until something writes to
/// it, and a device might never end.
fn open_archive(path: &Path) -> Result<File, SourceError> {
    match super::read::open_named(path).map_err(|e| SourceError::io(path, e))? {
        Opened::Regular(file, _) => Ok(file),
        Opened::NotRegular(kind) => Err(SourceError::Archive(format!(
            "{} is {kind}, not an archive file",
            path.display()
        ))),
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Source for ArchiveSource {
    fn describe(&self) -> String {
        format!("archive {}", self.path.display())
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        if let Some(bytes) = &self.bytes {
            let reader = std::io::Cursor::new(bytes.as_slice());
            return match self.format {
                ArchiveFormat::Tar => read_tar(Box::new(reader), filter, sink, self.limits),
                ArchiveFormat::TarGz => read_tar(
                    Box::new(flate2::read::MultiGzDecoder::new(reader)),
                    filter,
                    sink,
                    self.limits,
                ),
                ArchiveFormat::Zip => read_zip(reader, filter, sink, self.limits),
            };
        }
        let file = open_archive(&self.path)?;
        match self.format {
            ArchiveFormat::Tar => {
                read_tar(Box::new(BufReader::new(file)), filter, sink, self.limits)
            }
            ArchiveFormat::TarGz => read_tar(
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
                filter,
                sink,
                self.limits,
            ),
            ArchiveFormat::Zip => read_zip(BufReader::new(file), filter, sink, self.limits),
        }
    }
}

/// A tar stream, optionally gzip-compressed, such as standard input.
pub struct StreamSource {
    name: String,
    reader: Option<Box<dyn Read + Send>>,
    limits: ArchiveLimits,
}

impl StreamSource {
    /// A source over the tar stream `reader`, gzip-compressed or not (sniffed from
    /// its first bytes), read within `limits`; `name` is for messages. A stream can
    /// be read only once: a second run fails.
    pub fn new(name: &str, reader: Box<dyn Read + Send>, limits: ArchiveLimits) -> StreamSource {
        StreamSource {
            name: name.to_string(),
            reader: Some(reader),
            limits,
        }
    }
}

impl Source for StreamSource {
    fn describe(&self) -> String {
        format!("tar stream from {}", self.name)
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| SourceError::Archive("the stream was already read".into()))?;
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let head = reader
            .fill_buf()
            .map_err(|e| SourceError::Archive(format!("cannot read {}: {e}", self.name)))?;
        match ArchiveFormat::sniff(head) {
            Some(ArchiveFormat::TarGz) => read_tar(
                Box::new(flate2::read::MultiGzDecoder::new(reader)),
                filter,
                sink,
                self.limits,
            ),
            Some(ArchiveFormat::Zip) => Err(SourceError::Archive(
                "a zip archive cannot be read as a stream (its index is at the end); pass it as a file".into(),
            )),
            _ if head.is_empty() => Err(SourceError::Archive(format!("{} is empty", self.name))),
            _ => read_tar(Box::new(reader), filter, sink, self.limits),
        }
    }
}

/// Counts bytes through a reader and fails once they pass a limit, so a decompression
/// bomb costs at most the limit.
struct Budget<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(io::Error::other(format!(
                "archive expands beyond {} bytes",
                self.limit
            )));
        }
        Ok(n)
    }
}

fn bomb_error(limits: &ArchiveLimits) -> SourceError {
    SourceError::Archive(format!(
        "refused: expands beyond the limit of {} bytes (a decompression bomb?)",
        limits.max_total_bytes
    ))
}

fn read_tar(
    reader: Box<dyn Read + '_>,
    filter: &Filter,
    sink: &mut dyn Sink,
    limits: ArchiveLimits,
) -> Result<(), SourceError> {
    let exceeded = Arc::new(AtomicBool::new(false));
    let budget = Budget {
        inner: reader,
        read: 0,
        limit: limits.max_total_bytes,
        exceeded: Arc::clone(&exceeded),
    };
    let mut archive = tar::Archive::new(budget);
    let entries = archive
        .entries()
        .map_err(|e| SourceError::Archive(format!("not a tar archive: {e}")))?;
    let max_file = filter.config().max_file_size;
    let mut count = 0u64;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) if exceeded.load(Ordering::Relaxed) => {
                let _ = e;
                return Err(bomb_error(&limits));
            }
            Err(e) => {
                return Err(SourceError::Archive(format!(
                    "corrupt tar after {count} entries: {e}"
                )));
            }
        };
        count += 1;
        if count > limits.max_entries {
            return Err(SourceError::Archive(format!(
                "refused: more than {} entries",
                limits.max_entries
            )));
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type.is_dir() || entry_type.is_pax_global_extensions() {
            continue;
        }
        let path = match sanitize_relative_path(&raw) {
            Ok(path) => path,
            Err(detail) => {
                if sink
                    .item(SourceItem::Skipped(SkippedFile {
                        path: raw,
                        reason: SkipReason::Unsafe { detail },
                    }))
                    .is_break()
                {
                    return Ok(());
                }
                continue;
            }
        };
        let size = entry.header().size().ok();
        let decision = filter.check_path(&path, size);
        let item = if !(entry_type.is_file() || entry_type.is_contiguous()) {
            match decision {
                PathDecision::Ignore => continue,
                _ => SourceItem::Skipped(SkippedFile {
                    path,
                    reason: SkipReason::NotRegular,
                }),
            }
        } else {
            match decision {
                PathDecision::Ignore => continue,
                PathDecision::Skip(reason) => SourceItem::Skipped(SkippedFile { path, reason }),
                PathDecision::Parse(language) => {
                    match read_bounded(&mut entry, max_file, size.unwrap_or(0)) {
                        Ok(Bounded::Fits(bytes)) => {
                            match resolve_language(filter, &path, language, &bytes) {
                                Some(language) => SourceItem::File(SourceFile {
                                    path,
                                    language,
                                    content: Content::Bytes(bytes),
                                }),
                                None => continue,
                            }
                        }
                        Ok(Bounded::TooLarge(seen)) => SourceItem::Skipped(SkippedFile {
                            path,
                            reason: SkipReason::TooLarge {
                                size: seen,
                                limit: max_file,
                            },
                        }),
                        Err(_) if exceeded.load(Ordering::Relaxed) => {
                            return Err(bomb_error(&limits));
                        }
                        Err(e) => SourceItem::Skipped(SkippedFile {
                            path,
                            reason: SkipReason::Unreadable {
                                error: e.to_string(),
                            },
                        }),
                    }
                }
            }
        };
        if let ControlFlow::Break(()) = sink.item(item) {
            return Ok(());
        }
    }
    if exceeded.load(Ordering::Relaxed) {
        return Err(bomb_error(&limits));
    }
    Ok(())
}

/// The language of a file whose extension did not tell: from its `#!` line, or
/// `None` for a file that is not source code.
pub(super) fn resolve_language(
    filter: &Filter,
    path: &str,
    language: Option<codegraph_core::Language>,
    bytes: &[u8],
) -> Option<codegraph_core::Language> {
    language.or_else(|| filter.shebang_language(path, bytes))
}

enum Bounded {
    Fits(Vec<u8>),
    /// More than the limit; the number is how much was seen before stopping.
    TooLarge(u64),
}

/// Reads at most `limit` bytes, never trusting `declared` beyond using it as a
/// capacity hint.
fn read_bounded(reader: &mut impl Read, limit: u64, declared: u64) -> io::Result<Bounded> {
    let mut bytes = Vec::with_capacity(declared.min(limit) as usize);
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        Ok(Bounded::TooLarge(bytes.len() as u64))
    } else {
        Ok(Bounded::Fits(bytes))
    }
}

fn read_zip(
    reader: impl Read + std::io::Seek,
    filter: &Filter,
    sink: &mut dyn Sink,
    limits: ArchiveLimits,
) -> Result<(), SourceError> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| SourceError::Archive(format!("not a zip archive: {e}")))?;
    if zip.len() as u64 > limits.max_entries {
        return Err(SourceError::Archive(format!(
            "refused: {} entries is more than {}",
            zip.len(),
            limits.max_entries
        )));
    }
    let max_file = filter.config().max_file_size;
    let mut total = 0u64;
    for index in 0..zip.len() {
        let item = match zip.by_index(index) {
            Err(e) => {
                let name = format!("<entry {index}>");
                Some(SourceItem::Skipped(SkippedFile {
                    path: name,
                    reason: SkipReason::Unreadable {
                        error: e.to_string(),
                    },
                }))
            }
            Ok(mut entry) => {
                if entry.is_dir() {
                    None
                } else {
                    let raw = match entry.name() {
                        Ok(name) => name.into_owned(),
                        Err(e) => {
                            let item = SourceItem::Skipped(SkippedFile {
                                path: format!("<entry {index}>"),
                                reason: SkipReason::Unsafe {
                                    detail: format!("undecodable name: {e}"),
                                },
                            });
                            if sink.item(item).is_break() {
                                return Ok(());
                            }
                            continue;
                        }
                    };
                    match sanitize_relative_path(&raw) {
                        Err(detail) => Some(SourceItem::Skipped(SkippedFile {
                            path: raw,
                            reason: SkipReason::Unsafe { detail },
                        })),
                        Ok(path) => {
                            let size = entry.size();
                            match filter.check_path(&path, Some(size)) {
                                PathDecision::Ignore => None,
                                PathDecision::Skip(reason) => {
                                    Some(SourceItem::Skipped(SkippedFile { path, reason }))
                                }
                                _ if entry.is_symlink() => Some(SourceItem::Skipped(SkippedFile {
                                    path,
                                    reason: SkipReason::NotRegular,
                                })),
                                PathDecision::Parse(_)
                                    if size > 1 << 20
                                        && size
                                            > entry.compressed_size().max(1) * limits.max_ratio =>
                                {
                                    Some(SourceItem::Skipped(SkippedFile {
                                        path,
                                        reason: SkipReason::Unsafe {
                                            detail: format!(
                                                "compression ratio above {}:1",
                                                limits.max_ratio
                                            ),
                                        },
                                    }))
                                }
                                PathDecision::Parse(language) => {
                                    match read_bounded(&mut entry, max_file, size) {
                                        Ok(Bounded::Fits(bytes)) => {
                                            total += bytes.len() as u64;
                                            if total > limits.max_total_bytes {
                                                return Err(bomb_error(&limits));
                                            }
                                            resolve_language(filter, &path, language, &bytes).map(
                                                |language| {
                                                    SourceItem::File(SourceFile {
                                                        path,
                                                        language,
                                                        content: Content::Bytes(bytes),
                                                    })
                                                },
                                            )
                                        }
                                        Ok(Bounded::TooLarge(seen)) => {
                                            Some(SourceItem::Skipped(SkippedFile {
                                                path,
                                                reason: SkipReason::TooLarge {
                                                    size: seen,
                                                    limit: max_file,
                                                },
                                            }))
                                        }
                                        Err(e) => Some(SourceItem::Skipped(SkippedFile {
                                            path,
                                            reason: SkipReason::Unreadable {
                                                error: e.to_string(),
                                            },
                                        })),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        if let Some(item) = item
            && sink.item(item).is_break()
        {
            return Ok(());
        }
    }
    Ok(())
}
