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
//! A directory on the way may be replaced too, by a link to `/etc`. A file known to lie
//! beneath a root (the walk's) is therefore opened relative to that root without
//! following a link in any component: on Linux with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, one call; where that is missing (older
//! kernels, other Unix systems, sandboxes that refuse the call) one directory at a
//! time with `openat` and `O_NOFOLLOW | O_DIRECTORY`.
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
    read_opened(open_regular(path)?, limit)
}

/// Reads the regular file at `path` like [`read_regular`], and when `root` is given
/// (a directory `path` lies beneath), without following a symbolic link in any
/// component after `root` (see [`open_beneath`]).
///
/// # Errors
/// What the operating system said when the file cannot be opened or read.
pub fn read_beneath(root: Option<&Path>, path: &Path, limit: u64) -> io::Result<DiskRead> {
    match root {
        Some(root) => read_opened(open_beneath(root, path)?, limit),
        None => read_regular(path, limit),
    }
}

/// Opens `path`, which lies beneath the directory `root`, like [`open_regular`], and
/// without following a symbolic link in any component after `root`: a directory on
/// the way that is a link (now) makes the file "a symbolic link", not read. `root`
/// itself is opened as named. A `path` not beneath `root` is opened as
/// [`open_regular`] opens it.
///
/// # Errors
/// What the operating system said when the file cannot be opened or examined.
pub fn open_beneath(root: &Path, path: &Path) -> io::Result<Opened> {
    let rel = match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel,
        _ => return open_regular(path),
    };
    #[cfg(unix)]
    {
        beneath::open(root, rel, path)
    }
    #[cfg(not(unix))]
    {
        let _ = rel;
        open_regular(path)
    }
}

#[cfg(unix)]
mod beneath {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Component, Path};

    use super::{Opened, examine, refused};

    /// The flags the file itself is opened with (see the module's notes).
    const FILE_FLAGS: libc::c_int =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;

    /// Whether `openat2` may work here; cleared at its first ENOSYS or EPERM, so that
    /// a system without it pays for the failed call once, not once per file.
    #[cfg(target_os = "linux")]
    static OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

    pub(super) fn open(root: &Path, rel: &Path, path: &Path) -> io::Result<Opened> {
        let dir = File::open(root)?;
        #[cfg(target_os = "linux")]
        if OPENAT2.load(std::sync::atomic::Ordering::Relaxed) {
            match openat2(dir.as_raw_fd(), rel) {
                Ok(file) => return examine(file),
                // Not there, or refused by a sandbox: one directory at a time instead.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    OPENAT2.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => return loop_or(path, e),
            }
        }
        by_component(dir, rel, path)
    }

    /// Opens `rel` beneath `dir` one directory at a time, none through a link.
    pub(super) fn by_component(dir: File, rel: &Path, path: &Path) -> io::Result<Opened> {
        let components: Vec<Component<'_>> = rel.components().collect();
        let mut current = OwnedFd::from(dir);
        for (i, component) in components.iter().enumerate() {
            let Component::Normal(name) = component else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} does not lie beneath its root", path.display()),
                ));
            };
            let last = i + 1 == components.len();
            let flags = if last {
                FILE_FLAGS
            } else {
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC
            };
            let name = CString::new(name.as_bytes())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            // SAFETY: `current` is an open directory and `name` a NUL-terminated string
            // that outlives the call.
            let fd = unsafe { libc::openat(current.as_raw_fd(), name.as_ptr(), flags) };
            if fd < 0 {
                let err = io::Error::last_os_error();
                // A link to a directory fails `O_DIRECTORY | O_NOFOLLOW` with ENOTDIR,
                // as a file would: what the entry is tells them apart (only the words
                // of the answer depend on it; nothing is read).
                let entry = path.ancestors().nth(components.len() - 1 - i);
                if !last
                    && err.raw_os_error() == Some(libc::ENOTDIR)
                    && entry
                        .and_then(|e| std::fs::symlink_metadata(e).ok())
                        .is_some_and(|m| m.is_symlink())
                {
                    return Ok(Opened::NotRegular("a symbolic link"));
                }
                return loop_or(path, err);
            }
            // SAFETY: `fd` was just opened and is owned by nothing else.
            let next = unsafe { OwnedFd::from_raw_fd(fd) };
            if last {
                return examine(File::from(next));
            }
            current = next;
        }
        unreachable!("a non-empty relative path has a last component")
    }

    /// A link on the way, refused by `O_NOFOLLOW` or `RESOLVE_NO_SYMLINKS` (ELOOP; a
    /// directory that is a link to a file fails `O_DIRECTORY` with ENOTDIR, and is
    /// told apart by what the path is now).
    fn loop_or(path: &Path, err: io::Error) -> io::Result<Opened> {
        if err.raw_os_error() == Some(libc::ELOOP) {
            return Ok(Opened::NotRegular("a symbolic link"));
        }
        refused(path, err, false)
    }

    #[cfg(target_os = "linux")]
    fn openat2(dir: RawFd, rel: &Path) -> io::Result<File> {
        /// `struct open_how` of `linux/openat2.h`.
        #[repr(C)]
        struct OpenHow {
            flags: u64,
            mode: u64,
            resolve: u64,
        }
        let how = OpenHow {
            flags: FILE_FLAGS as u64,
            mode: 0,
            resolve: libc::RESOLVE_BENEATH
                | libc::RESOLVE_NO_SYMLINKS
                | libc::RESOLVE_NO_MAGICLINKS,
        };
        let rel = CString::new(rel.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `dir` is open, `rel` is NUL-terminated and `how` is the kernel's
        // `open_how`, passed with its size; all outlive the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                rel.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = RawFd::try_from(fd).map_err(io::Error::other)?;
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }
}

fn read_opened(opened: Opened, limit: u64) -> io::Result<DiskRead> {
    let (file, meta) = match opened {
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
        Ok(file) => examine(file),
        Err(err) => refused(path, err, follow),
    }
}

/// What an open handle is: read only if a regular file.
fn examine(file: File) -> io::Result<Opened> {
    let meta = file.metadata()?;
    if meta.is_file() {
        Ok(Opened::Regular(file, meta))
    } else {
        Ok(Opened::NotRegular(kind(&meta.file_type())))
    }
}

/// What a failed open means. A link refused by `O_NOFOLLOW` fails with a code that
/// differs between systems (ELOOP on Linux and macOS, EMLINK on FreeBSD, EFTYPE on
/// NetBSD), and so does a socket (ENXIO): what the entry is now tells those apart from
/// real errors.
fn refused(path: &Path, err: io::Error, follow: bool) -> io::Result<Opened> {
    match std::fs::symlink_metadata(path) {
        // A dangling link, when following links: the error says it.
        Ok(meta) if meta.is_file() || (follow && meta.is_symlink()) => Err(err),
        Ok(meta) => Ok(Opened::NotRegular(kind(&meta.file_type()))),
        Err(_) => Err(err),
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

    /// A directory on the way swapped for a link after the walk: the file beneath it
    /// is not read through it, by `openat2` or one directory at a time.
    #[cfg(unix)]
    #[test]
    fn no_directory_beneath_the_root_is_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.py"), "password = 1\n").unwrap();
        std::fs::create_dir_all(root.path().join("real/pkg")).unwrap();
        std::fs::write(root.path().join("real/pkg/a.py"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("real/swapped")).unwrap();
        let read = |rel: &str| read_beneath(Some(root.path()), &root.path().join(rel), 1 << 20);
        assert!(matches!(
            read("real/pkg/a.py").unwrap(),
            DiskRead::Read { bytes, .. } if bytes == b"x = 1\n"
        ));
        assert!(matches!(
            read("real/swapped/secret.py").unwrap(),
            DiskRead::NotRegular("a symbolic link")
        ));
        // The same through the fallback, one directory at a time.
        let by_component = |rel: &str| {
            let dir = File::open(root.path()).unwrap();
            beneath::by_component(dir, Path::new(rel), &root.path().join(rel))
        };
        assert!(matches!(
            by_component("real/swapped/secret.py").unwrap(),
            Opened::NotRegular("a symbolic link")
        ));
        assert!(matches!(
            by_component("real/pkg/a.py").unwrap(),
            Opened::Regular(..)
        ));
        assert!(matches!(
            by_component("real/pkg").unwrap(),
            Opened::NotRegular("a directory")
        ));
        // Followed without a root, as before: only the last component is checked.
        assert!(matches!(
            read_beneath(None, &root.path().join("real/swapped/secret.py"), 1 << 20).unwrap(),
            DiskRead::Read { .. }
        ));
        // The root itself may be reached through a link: it is the user's choice.
        let via = outside.path().join("via");
        std::os::unix::fs::symlink(root.path(), &via).unwrap();
        assert!(matches!(
            read_beneath(Some(&via), &via.join("real/pkg/a.py"), 1 << 20).unwrap(),
            DiskRead::Read { .. }
        ));
        let missing = read("real/pkg/nope.py").unwrap_err();
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
