//! Archives (`.tar`, `.tar.gz`, `.zip` and their aliases) and tar streams.
//!
//! Archives come from strangers, so every entry is checked before it is trusted:
//! names that would escape the root (`../`, absolute paths, drive letters) are
//! refused, links and devices are skipped, no entry is read past the file-size limit
//! whatever its header claims, and the whole archive may not expand beyond
//! [`ArchiveLimits::max_total_bytes`] (every byte read or inflated counts, whether the
//! entry turns out readable or not) or hold more than [`ArchiveLimits::max_entries`]
//! entries. A name longer than [`ArchiveLimits::max_name_bytes`] refuses the archive
//! as soon as its length is known, before it is read. Zip entries whose compression
//! ratio is typical of bombs are refused without being inflated, and a zip whose
//! entries share bytes (one compressed stream listed many times) is refused before
//! anything is inflated.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use codegraph_core::{SkipReason, SkippedFile};

use super::{
    Content, MAX_REPORTED_NAME, Opened, Sink, Source, SourceError, SourceFile, SourceItem,
    sanitize_relative_path, shorten,
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
    /// Longest entry name or link target, in bytes. Tar's long names (GNU `L` and `K`
    /// entries, PAX `path` and `linkpath` records) and zip names beyond it refuse the
    /// archive before the name is held in memory. Linux paths stop at 4096 bytes.
    pub max_name_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_total_bytes: 4 << 30,
            max_entries: 1_000_000,
            max_ratio: 200,
            max_name_bytes: 4096,
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

/// The offset of the "another block follows" flag in a GNU sparse extension block,
/// after its 21 sparse records of 24 bytes.
const SPARSE_EXTENDED_FLAG: usize = 21 * 24;

/// The tar stream as the tar crate sees it. Entries are read raw, so that long names
/// are measured before they are read; raw reading does not know the extension blocks
/// that follow a GNU sparse entry's header, so when asked this reader consumes them
/// unseen, and the crate finds the entry's data and the next header where it expects.
struct TarStream<R> {
    inner: R,
    /// Set once a sparse entry's header with extension blocks has been handed out:
    /// they are the next bytes in the stream.
    sparse_blocks: Arc<AtomicBool>,
}

impl<R: Read> TarStream<R> {
    fn skip_sparse_blocks(&mut self) -> io::Result<()> {
        let mut block = [0u8; 512];
        loop {
            self.inner.read_exact(&mut block)?;
            if block[SPARSE_EXTENDED_FLAG] != 1 {
                return Ok(());
            }
        }
    }
}

impl<R: Read> Read for TarStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.sparse_blocks.swap(false, Ordering::Relaxed) {
            self.skip_sparse_blocks()?;
        }
        self.inner.read(buf)
    }
}

/// What the extension entries before a tar member said about it.
#[derive(Default)]
struct Pending {
    /// A GNU long name (`L`), its trailing NUL removed.
    long_name: Option<Vec<u8>>,
    /// Whether a GNU long link name (`K`) was seen; links are never followed, so its
    /// text is not kept.
    long_link: bool,
    /// What a PAX extended header (`x`) said.
    pax: Option<Pax>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && !self.long_link && self.pax.is_none()
    }
}

/// What a PAX extended header says that reading the entry after it depends on.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pax {
    /// The first well-formed `path` record.
    path: Option<Vec<u8>>,
    /// The size the tar crate would give the entry from a `size` record: the first
    /// `size` record's number, unless a malformed record comes before it.
    size: Option<u64>,
}

/// Why a tar's extension entry stops the archive.
#[derive(Debug)]
enum Refusal {
    /// Reading failed (a truncated stream, or the budget ran out).
    Io(io::Error),
    /// A name over the limit: which kind of record, and its length as far as known.
    LongName { what: &'static str, bytes: u64 },
    /// Not something the tar crate would read either; the text says what.
    Corrupt(String),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        Refusal::Io(e)
    }
}

fn corrupt(count: u64, detail: impl std::fmt::Display) -> SourceError {
    SourceError::Archive(format!("corrupt tar after {count} entries: {detail}"))
}

fn long_name_error(entry: u64, what: &str, bytes: u64, limit: u64) -> SourceError {
    SourceError::Archive(format!(
        "refused: entry {entry} has a name longer than the limit of {limit} bytes \
         (a {what} of {bytes} bytes)"
    ))
}

/// How much of a PAX record line [`read_capped_line`] read.
enum Line {
    /// The whole line, this long without its newline; 0 at an empty line or the end
    /// of the header.
    Whole(u64),
    /// The first `cap` bytes; the rest of the line is still to be read.
    Long,
}

/// Reads one PAX record line into `line`, up to `cap` bytes of it.
fn read_capped_line(reader: &mut impl BufRead, line: &mut Vec<u8>, cap: usize) -> io::Result<Line> {
    line.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(Line::Whole(line.len() as u64));
        }
        let room = cap - line.len();
        match available.iter().position(|&b| b == b'\n') {
            Some(end) if end <= room => {
                line.extend_from_slice(&available[..end]);
                reader.consume(end + 1);
                return Ok(Line::Whole(line.len() as u64));
            }
            None if available.len() <= room => {
                let n = available.len();
                line.extend_from_slice(available);
                reader.consume(n);
            }
            _ => {
                line.extend_from_slice(&available[..room]);
                reader.consume(room);
                return Ok(Line::Long);
            }
        }
    }
}

/// Reads and drops the rest of a line; returns its length without the newline.
fn skip_line(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(skipped);
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(skipped + end as u64);
            }
            None => {
                let n = available.len();
                reader.consume(n);
                skipped += n as u64;
            }
        }
    }
}

/// The start of a PAX record line, `LEN KEY=`.
enum Head<'a> {
    Parsed {
        /// The length the record gives itself, newline included.
        declared: u64,
        key: &'a [u8],
        /// Where the value starts in the line.
        value_start: usize,
    },
    /// No length, or no `=`: the tar crate skips such a line, and stops looking for
    /// `size` there.
    Malformed,
    /// The part held does not show the key: only a length padded with thousands of
    /// zeros or a key of thousands of bytes does that, and no real archive has either.
    Unseen,
}

/// Parses the start of a record line; `whole` when `line` is all of it.
fn parse_pax_head(line: &[u8], whole: bool) -> Head<'_> {
    let Some(space) = line.iter().position(|&b| b == b' ') else {
        return if whole { Head::Malformed } else { Head::Unseen };
    };
    let Some(declared) = std::str::from_utf8(&line[..space])
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
    else {
        return Head::Malformed;
    };
    let rest = &line[space + 1..];
    match rest.iter().position(|&b| b == b'=') {
        Some(eq) => Head::Parsed {
            declared,
            key: &rest[..eq],
            value_start: space + 1 + eq + 1,
        },
        None if whole => Head::Malformed,
        None => Head::Unseen,
    }
}

/// Reads a PAX extended header's records as the tar crate parses them (lines of
/// `LEN KEY=VALUE`, where LEN counts the whole line and its newline; an empty line
/// ends them), keeping only what the entry after it needs. No line is held beyond
/// `max_name` bytes and a little for its key: a `path` or `linkpath` record longer
/// than `max_name` refuses the archive as soon as that many bytes of it are seen, and
/// a long record of another kind (an extended attribute) is read through, not kept.
fn read_pax(reader: impl Read, max_name: u64) -> Result<Pax, Refusal> {
    // Room for the length, the key and the separators besides the value.
    const KEY_ROOM: usize = 64;
    let cap = usize::try_from(max_name)
        .unwrap_or(usize::MAX)
        .saturating_add(KEY_ROOM);
    let mut reader = BufReader::with_capacity(8 * 1024, reader);
    let mut pax = Pax::default();
    // The tar crate takes the first `size` record, and gives up at a malformed one.
    let mut size_decided = false;
    let mut line = Vec::new();
    loop {
        let whole = match read_capped_line(&mut reader, &mut line, cap)? {
            Line::Whole(0) => return Ok(pax),
            Line::Whole(_) => true,
            Line::Long => false,
        };
        let (declared, key, value_start) = match parse_pax_head(&line, whole) {
            Head::Parsed {
                declared,
                key,
                value_start,
            } => (declared, key, value_start),
            Head::Malformed => {
                size_decided = true;
                if !whole {
                    skip_line(&mut reader)?;
                }
                continue;
            }
            Head::Unseen => {
                return Err(Refusal::Corrupt(format!(
                    "a PAX record whose length and key take over {cap} bytes"
                )));
            }
        };
        if key == b"path" || key == b"linkpath" {
            let held = (line.len() - value_start) as u64;
            if !whole || held > max_name {
                return Err(Refusal::LongName {
                    what: if key == b"path" {
                        "PAX path record"
                    } else {
                        "PAX linkpath record"
                    },
                    bytes: declared.saturating_sub(value_start as u64 + 1).max(held),
                });
            }
        }
        if !whole && key == b"size" && !size_decided {
            return Err(Refusal::Corrupt(format!(
                "a PAX size record over {cap} bytes"
            )));
        }
        let length = match whole {
            true => line.len() as u64,
            false => line.len() as u64 + skip_line(&mut reader)?,
        };
        if declared != length + 1 {
            size_decided = true;
            continue;
        }
        if key == b"path" && pax.path.is_none() {
            pax.path = Some(line[value_start..].to_vec());
        } else if key == b"size" && !size_decided {
            size_decided = true;
            pax.size = std::str::from_utf8(&line[value_start..])
                .ok()
                .and_then(|v| v.parse::<u64>().ok());
        }
    }
}

/// Handles one extension entry (GNU long name or link name, PAX extended header),
/// recording what it says about the member that follows.
fn read_extension<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    pending: &mut Pending,
    limits: &ArchiveLimits,
) -> Result<(), Refusal> {
    let entry_type = entry.header().entry_type();
    let declared = entry.header().entry_size()?;
    // A GNU long name ends with a NUL that is not part of it.
    let name_too_long = declared > limits.max_name_bytes.saturating_add(1);
    if entry_type.is_gnu_longname() {
        if pending.long_name.is_some() {
            return Err(Refusal::Corrupt(
                "two long name entries describing the same member".into(),
            ));
        }
        if name_too_long {
            return Err(Refusal::LongName {
                what: "GNU long name",
                bytes: declared,
            });
        }
        let mut name = Vec::with_capacity(declared.min(64 * 1024) as usize);
        entry.take(declared).read_to_end(&mut name)?;
        if name.last() == Some(&0) {
            name.pop();
        }
        pending.long_name = Some(name);
    } else if entry_type.is_gnu_longlink() {
        if pending.long_link {
            return Err(Refusal::Corrupt(
                "two long name entries describing the same member".into(),
            ));
        }
        if name_too_long {
            return Err(Refusal::LongName {
                what: "GNU long link name",
                bytes: declared,
            });
        }
        // Left unread: the next entry skips it.
        pending.long_link = true;
    } else {
        if pending.pax.is_some() {
            return Err(Refusal::Corrupt(
                "two pax extensions entries describing the same member".into(),
            ));
        }
        pending.pax = Some(read_pax(entry, limits.max_name_bytes)?);
    }
    Ok(())
}

fn read_tar(
    reader: Box<dyn Read + '_>,
    filter: &Filter,
    sink: &mut dyn Sink,
    limits: ArchiveLimits,
) -> Result<(), SourceError> {
    let exceeded = Arc::new(AtomicBool::new(false));
    let sparse_blocks = Arc::new(AtomicBool::new(false));
    let stream = TarStream {
        inner: Budget {
            inner: reader,
            read: 0,
            limit: limits.max_total_bytes,
            exceeded: Arc::clone(&exceeded),
        },
        sparse_blocks: Arc::clone(&sparse_blocks),
    };
    let mut archive = tar::Archive::new(stream);
    // Raw: the crate's own reading of long names and PAX headers holds them whole in
    // memory, however long they say they are; here they are measured first.
    let entries = archive
        .entries()
        .map_err(|e| SourceError::Archive(format!("not a tar archive: {e}")))?
        .raw(true);
    let max_file = filter.config().max_file_size;
    let mut count = 0u64;
    let mut pending = Pending::default();
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(_) if exceeded.load(Ordering::Relaxed) => return Err(bomb_error(&limits)),
            Err(e) => return Err(corrupt(count, e)),
        };
        let entry_type = entry.header().entry_type();
        // As the tar crate does: only headers in a format that has these types are
        // extensions; an old-style header of the same type is an ordinary entry.
        let recognized = entry.header().as_gnu().is_some() || entry.header().as_ustar().is_some();
        if recognized
            && (entry_type.is_gnu_longname()
                || entry_type.is_gnu_longlink()
                || entry_type.is_pax_local_extensions())
        {
            match read_extension(&mut entry, &mut pending, &limits) {
                Ok(()) => continue,
                Err(_) if exceeded.load(Ordering::Relaxed) => return Err(bomb_error(&limits)),
                Err(Refusal::Io(e)) => return Err(corrupt(count, e)),
                Err(Refusal::Corrupt(detail)) => return Err(corrupt(count, detail)),
                Err(Refusal::LongName { what, bytes }) => {
                    return Err(long_name_error(
                        count + 1,
                        what,
                        bytes,
                        limits.max_name_bytes,
                    ));
                }
            }
        }
        let described = std::mem::take(&mut pending);
        count += 1;
        if count > limits.max_entries {
            return Err(SourceError::Archive(format!(
                "refused: more than {} entries",
                limits.max_entries
            )));
        }
        if entry_type.is_pax_global_extensions() {
            continue;
        }
        let header_size = entry.header().entry_size().map_err(|e| corrupt(count, e))?;
        let pax = described.pax.unwrap_or_default();
        // The tar crate would take the entry's size from the PAX record, and a raw read
        // cannot; two readers disagreeing on where an entry ends is how archives smuggle
        // content, so the archive is refused rather than read either way.
        if let Some(size) = pax.size
            && size != header_size
        {
            return Err(SourceError::Archive(format!(
                "refused: entry {count} has a PAX size ({size} bytes) other than its \
                 header's ({header_size} bytes)"
            )));
        }
        if entry_type.is_gnu_sparse() {
            match entry.header().as_gnu() {
                Some(gnu) if gnu.is_extended() => sparse_blocks.store(true, Ordering::Relaxed),
                Some(_) => {}
                None => {
                    return Err(corrupt(
                        count,
                        "sparse entry type listed but not GNU header",
                    ));
                }
            }
        }
        let name = match (described.long_name, pax.path) {
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => entry.header().path_bytes().into_owned(),
        };
        if name.len() as u64 > limits.max_name_bytes {
            return Err(long_name_error(
                count,
                "name",
                name.len() as u64,
                limits.max_name_bytes,
            ));
        }
        let raw = String::from_utf8_lossy(&name).into_owned();
        if entry_type.is_dir() {
            continue;
        }
        let path = match sanitize_relative_path(&raw) {
            Ok(path) => path,
            Err(detail) => {
                if sink
                    .item(SourceItem::Skipped(SkippedFile {
                        path: shorten(&raw, MAX_REPORTED_NAME),
                        reason: SkipReason::Unsafe { detail },
                    }))
                    .is_break()
                {
                    return Ok(());
                }
                continue;
            }
        };
        let size = Some(header_size);
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
                    match read_bounded(&mut entry, max_file, header_size) {
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
    if !pending.is_empty() {
        return Err(corrupt(
            count,
            "members found describing a future member but no future member found",
        ));
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

/// Refuses, before anything is inflated, a zip with a name over the limit, or whose
/// entries share bytes: the local header and compressed data of each entry (where the
/// central directory puts them) must not overlap another entry's, nor run into the
/// central directory. Entries that share one compressed stream cost its whole
/// inflation each, so a small archive listing one stream thousands of times inflates
/// without end; no zip tool writes one.
fn check_zip_layout<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    limits: &ArchiveLimits,
) -> Result<(), SourceError> {
    let directory = zip.central_directory_start();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        // An entry whose local header cannot be read is reported as unreadable when
        // its turn comes, and nothing of it is inflated.
        let Ok(entry) = zip.by_index_raw(index) else {
            continue;
        };
        let name = entry.name_raw().len() as u64;
        if name > limits.max_name_bytes {
            return Err(long_name_error(
                index as u64 + 1,
                "zip name",
                name,
                limits.max_name_bytes,
            ));
        }
        let Some(data) = entry.data_start() else {
            continue;
        };
        // The zip crate refuses to open an entry whose data end overflows.
        let end = data.saturating_add(entry.compressed_size());
        ranges.push((entry.header_start(), end, index));
    }
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let ((_, end, first), (start, _, second)) = (pair[0], pair[1]);
        if end > start {
            let (a, b) = (first.min(second) + 1, first.max(second) + 1);
            return Err(SourceError::Archive(format!(
                "refused: entries {a} and {b} overlap (entries sharing compressed data: \
                 a zip bomb?)"
            )));
        }
    }
    if let Some(&(_, _, index)) = ranges.iter().find(|(_, end, _)| *end > directory) {
        return Err(SourceError::Archive(format!(
            "refused: entry {} overlaps the central directory (a zip bomb?)",
            index + 1
        )));
    }
    Ok(())
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
    check_zip_layout(&mut zip, &limits)?;
    let max_file = filter.config().max_file_size;
    let exceeded = Arc::new(AtomicBool::new(false));
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
                            path: shorten(&raw, MAX_REPORTED_NAME),
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
                                    // Every byte inflated counts, whether the entry then
                                    // proves too large or fails its checksum: a stream
                                    // that fails at its end costs as much as one that
                                    // does not.
                                    let mut counted = Budget {
                                        inner: &mut entry,
                                        read: 0,
                                        limit: limits.max_total_bytes.saturating_sub(total),
                                        exceeded: Arc::clone(&exceeded),
                                    };
                                    let read = read_bounded(&mut counted, max_file, size);
                                    total = total.saturating_add(counted.read);
                                    if exceeded.load(Ordering::Relaxed)
                                        || total > limits.max_total_bytes
                                    {
                                        return Err(bomb_error(&limits));
                                    }
                                    match read {
                                        Ok(Bounded::Fits(bytes)) => resolve_language(
                                            filter, &path, language, &bytes,
                                        )
                                        .map(|language| {
                                            SourceItem::File(SourceFile {
                                                path,
                                                language,
                                                content: Content::Bytes(bytes),
                                            })
                                        }),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A PAX record, `LEN KEY=VALUE\n`, whose LEN counts itself.
    fn record(key: &str, value: &[u8]) -> Vec<u8> {
        let rest = 1 + key.len() + 1 + value.len() + 1;
        let mut len = rest + 1;
        while len.to_string().len() + rest != len {
            len = len.to_string().len() + rest;
        }
        let mut out = format!("{len} {key}=").into_bytes();
        out.extend_from_slice(value);
        out.push(b'\n');
        out
    }

    fn pax(records: &[Vec<u8>]) -> Result<Pax, Refusal> {
        read_pax(io::Cursor::new(records.concat()), 4096)
    }

    /// What the tar crate makes of the same bytes, to compare with.
    fn tar_crate(records: &[Vec<u8>]) -> (Option<Vec<u8>>, Option<u64>) {
        let bytes = records.concat();
        let mut path = None;
        let mut size = None;
        let mut size_decided = false;
        for record in tar::PaxExtensions::new(&bytes) {
            match record {
                Ok(r) => {
                    if r.key_bytes() == b"path" && path.is_none() {
                        path = Some(r.value_bytes().to_vec());
                    }
                    if r.key_bytes() == b"size" && !size_decided {
                        size_decided = true;
                        size = r.value().ok().and_then(|v| v.parse().ok());
                    }
                }
                Err(_) => size_decided = true,
            }
        }
        (path, size)
    }

    #[test]
    fn pax_records_are_read_as_the_tar_crate_reads_them() {
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![record("path", b"a/b.py"), record("size", b"12")],
            vec![record("path", b"first.py"), record("path", b"second.py")],
            vec![b"5 path=x\n".to_vec(), record("path", b"good.py")],
            vec![b"garbage\n".to_vec(), record("size", b"5")],
            vec![record("size", b"not a number"), record("size", b"5")],
            vec![
                record("size", b"7"),
                b"\n".to_vec(),
                record("path", b"late.py"),
            ],
            vec![
                record("SCHILY.xattr.user.big", &vec![b'x'; 100_000]),
                record("path", b"after.py"),
                record("size", b"3"),
            ],
            vec![
                b"99999 SCHILY.xattr.a=".to_vec(),
                vec![b'y'; 10_000],
                b"\n".to_vec(),
                record("size", b"3"),
            ],
            vec![record("mtime", b"1.5"), b"12 path=tail".to_vec()],
        ];
        for records in cases {
            let ours = pax(&records).unwrap_or_else(|e| panic!("{e:?}"));
            let (path, size) = tar_crate(&records);
            assert_eq!(
                (ours.path, ours.size),
                (path, size),
                "{:?}",
                String::from_utf8_lossy(&records.concat())
            );
        }
    }

    #[test]
    fn long_pax_names_are_refused_unread() {
        for key in ["path", "linkpath"] {
            let err = pax(&[record(key, &vec![b'a'; 5000])]).unwrap_err();
            assert!(
                matches!(err, Refusal::LongName { bytes: 5000, .. }),
                "{err:?}"
            );
            // Exactly at the limit is fine.
            assert!(pax(&[record(key, &vec![b'a'; 4096])]).is_ok());
        }
        // A record announcing a gigabyte stops being read at the limit.
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(b'.');
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
        }
        let head = io::Cursor::new(b"1073741835 path=".to_vec());
        let mut endless = Endless(0);
        let err = read_pax(head.chain(&mut endless), 4096).unwrap_err();
        assert!(
            matches!(
                err,
                Refusal::LongName {
                    bytes: 1073741818,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(endless.0 < 64 * 1024, "read {}", endless.0);
        // A length padded beyond reason, or a size record of kilobytes: corrupt.
        let padded = format!("{}12 path=a\n", "0".repeat(5000)).into_bytes();
        assert!(matches!(pax(&[padded]), Err(Refusal::Corrupt(_))));
        let huge_size = record("size", &vec![b'0'; 5000]);
        assert!(matches!(pax(&[huge_size]), Err(Refusal::Corrupt(_))));
    }
}
