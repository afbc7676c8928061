//! Opening the files a walk found, as the walk found them.
//!
//! A walk decides what each entry is from `lstat`, and a worker opens the file later. In
//! between, the file may be replaced: by a symbolic link, and reading through it would
//! read whatever it points at (`/etc/...` included), or by a FIFO, and `open` would wait
//! for a writer that may never come, blocking the worker and any shutdown waiting for
//! it. So files are opened without following a final symbolic link and without
//! blocking (`O_NOFOLLOW | O_NONBLOCK` on Unix), the open handle is examined (`fstat`),
//! and only regular files are read, never beyond the size limit however much the file
//! grew since it was examined.
//!
//! Elsewhere than on Unix, files are opened as usual and examined the same way: the
//! handle's metadata still keeps devices and directories out, but a symbolic link is
//! followed there.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// What opening a file found.
#[derive(Debug)]
pub enum Opened {
    /// A regular file, and its metadata from the open handle.
    Regular(File, Metadata),
    /// Anything else, which is not read: what it is, in words ("a symbolic link",
    /// "a FIFO", ...).
    NotRegular(&'static str),
}

/// What reading a file found.
#[derive(Debug)]
pub enum DiskRead {
    /// The whole file.
    Read {
        /// Its content.
        bytes: Vec<u8>,
        /// Its metadata from the open handle, taken before reading: an edit during
        /// the read changes the file's times after it.
        meta: Metadata,
    },
    /// Larger than the limit: its size when opened, or the bytes read before the read
    /// stopped when it grew past the limit since.
    TooLarge {
        /// How many bytes it has at least.
        size: u64,
    },
    /// Not a regular file (any more): what it is, in words.
    NotRegular(&'static str),
}

/// Opens `path` for reading if it is a regular file, not through a symbolic link in its
/// last component, and without waiting on a FIFO (see the module's notes).
///
/// # Errors
/// What the operating system said when the file cannot be opened or examined (a
/// missing file, no permission).
pub fn open_regular(path: &Path) -> io::Result<Opened> {
    open_checked(path, false)
}

/// Opens `path` like [`open_regular`], but following a symbolic link: for a file the
/// user named (an archive), where a link is the user's choice and a FIFO or device still
/// must not block the reader.
pub(crate) fn open_named(path: &Path) -> io::Result<Opened> {
    open_checked(path, true)
}

/// Reads the regular file at `path` if it holds at most `limit` bytes (see
/// [`open_regular`]). The size is checked on the open handle before reading and again
/// while reading, so a file that grows meanwhile costs at most `limit + 1` bytes.
///
/// # Errors
/// What the operating system said when the file cannot be opened or read.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<DiskRead> {
    let (file, meta) = match open_regular(path)? {
        Opened::Regular(file, meta) => (file, meta),
        Opened::NotRegular(kind) => return Ok(DiskRead::NotRegular(kind)),
    };
    if meta.len() > limit {
        return Ok(DiskRead::TooLarge { size: meta.len() });
    }
    let hint = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(DiskRead::TooLarge {
            size: bytes.len() as u64,
        });
    }
    Ok(DiskRead::Read { bytes, meta })
}

fn open_checked(path: &Path, follow: bool) -> io::Result<Opened> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A regular file reads the same with `O_NONBLOCK`; only FIFOs and devices
        // notice it, and those are not read.
        let mut flags = libc::O_NONBLOCK;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    #[cfg(not(unix))]
    let _ = follow;
    match options.open(path) {
        Ok(file) => {
            let meta = file.metadata()?;
            if meta.is_file() {
                Ok(Opened::Regular(file, meta))
            } else {
                Ok(Opened::NotRegular(kind(&meta.file_type())))
            }
        }
        // A link refused by `O_NOFOLLOW` fails with a code that differs between systems
        // (ELOOP on Linux and macOS, EMLINK on FreeBSD, EFTYPE on NetBSD), and so does a
        // socket (ENXIO): what the entry is now tells those apart from real errors.
        Err(err) => match std::fs::symlink_metadata(path) {
            // A dangling link, when following links: the error says it.
            Ok(meta) if meta.is_file() || (follow && meta.is_symlink()) => Err(err),
            Ok(meta) => Ok(Opened::NotRegular(kind(&meta.file_type()))),
            Err(_) => Err(err),
        },
    }
}

/// What a file that is not a regular file is, in words.
pub(crate) fn kind(file_type: &FileType) -> &'static str {
    if file_type.is_symlink() {
        return "a symbolic link";
    }
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        match read_regular(&file, 6).unwrap() {
            DiskRead::Read { bytes, meta } => {
                assert_eq!(bytes, b"x = 1\n");
                assert_eq!(meta.len(), 6);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_regular(&file, 5).unwrap(),
            DiskRead::TooLarge { size: 6 }
        ));
        assert!(matches!(
            read_regular(dir.path(), 5).unwrap(),
            DiskRead::NotRegular("a directory")
        ));
        let missing = read_regular(&dir.path().join("nope.py"), 5).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn a_named_file_may_be_a_link_but_not_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.tar");
        std::fs::write(&file, "x").unwrap();
        let link = dir.path().join("link.tar");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(open_named(&link).unwrap(), Opened::Regular(..)));
        assert!(matches!(
            open_regular(&link).unwrap(),
            Opened::NotRegular("a symbolic link")
        ));
        let dangling = dir.path().join("dangling.tar");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
        assert_eq!(
            open_named(&dangling).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
