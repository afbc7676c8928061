//! A tantivy directory that syncs a commit's new files together, not one by one.
//!
//! tantivy's [`MmapDirectory`] syncs each file it writes when the file is finished: a
//! one-file update's commit finishes seven or eight (a segment's six files, a deletion
//! bitset) one after another on one thread, a millisecond or more each, then syncs
//! the directory and writes `meta.json`. Durability only needs them all on disk before
//! `meta.json` names them. [`CommitSync`] writes files the same way but leaves them
//! unsynced when finished; the next [`Directory::sync_directory`] (which tantivy calls
//! right before it writes `meta.json`) syncs every one of them and the directory at the
//! same time, on a thread each, so the file system can commit them in one journal
//! transaction. A `meta.json` written with files still unsynced (no directory sync
//! first) syncs them before it is written. Either way no `meta.json` is written before
//! the files it may name are on disk, which is [`MmapDirectory`]'s guarantee too.
//!
//! Everything else (reads through memory maps, atomic writes with their own sync,
//! locks, deletes, watches) is [`MmapDirectory`]'s.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

const META: &str = "meta.json";

#[derive(Clone, Debug)]
pub(crate) struct CommitSync {
    inner: MmapDirectory,
    root: PathBuf,
    /// Files finished but not yet synced. Locked for the whole of a sync, so that two
    /// callers cannot both return before the files either of them took are on disk.
    unsynced: Arc<Mutex<Vec<File>>>,
}

impl CommitSync {
    pub(crate) fn open(root: &Path) -> Result<CommitSync, OpenDirectoryError> {
        Ok(CommitSync {
            inner: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
            unsynced: Arc::default(),
        })
    }

    fn unsynced(&self) -> MutexGuard<'_, Vec<File>> {
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Syncs every finished file, and the directory when `directory` is true, in
    /// parallel. A file whose sync fails stays unsynced for the next call.
    fn sync_all(&self, directory: bool) -> io::Result<()> {
        let mut files = self.unsynced();
        let dir = if directory {
            Some(File::open(&self.root)?)
        } else {
            None
        };
        let all: Vec<&File> = files.iter().chain(dir.as_ref()).collect();
        let results: Vec<io::Result<()>> = match all.as_slice() {
            [] => Vec::new(),
            [one] => vec![one.sync_data()],
            many => std::thread::scope(|s| {
                let syncs: Vec<_> = many.iter().map(|f| s.spawn(|| f.sync_data())).collect();
                syncs
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked")))
                    })
                    .collect()
            }),
        };
        let failed = results.into_iter().find_map(Result::err);
        match failed {
            None => {
                files.clear();
                Ok(())
            }
            Some(e) => Err(e),
        }
    }
}

impl Directory for CommitSync {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        // As MmapDirectory: a new file only, its directory entry made durable by the
        // directory sync before the commit that names it.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    OpenWriteError::FileAlreadyExists(path.to_path_buf())
                } else {
                    OpenWriteError::wrap_io_error(e, path.to_path_buf())
                }
            })?;
        Ok(io::BufWriter::new(Box::new(Unsynced {
            file: Some(file),
            unsynced: Arc::clone(&self.unsynced),
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(META) {
            self.sync_all(false)?;
        }
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.sync_all(true)
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

/// A file being written; once finished it waits in the directory's list for the sync.
struct Unsynced {
    file: Option<File>,
    unsynced: Arc<Mutex<Vec<File>>>,
}

impl Unsynced {
    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("write to a finished file"))
    }
}

impl Write for Unsynced {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Buffered by the BufWriter around it; nothing of its own.
        Ok(())
    }
}

impl TerminatingWrite for Unsynced {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("a file finished twice"))?;
        self.unsynced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &CommitSync, name: &str, data: &[u8]) {
        let mut w = dir.open_write(Path::new(name)).unwrap();
        w.write_all(data).unwrap();
        w.terminate().unwrap();
    }

    #[test]
    fn finished_files_wait_for_the_commit_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CommitSync::open(tmp.path()).unwrap();
        write(&dir, "a.idx", b"alpha");
        write(&dir, "b.pos", b"beta");
        assert_eq!(dir.unsynced().len(), 2);
        // Readable before the sync, as with MmapDirectory.
        let a = dir.open_read(Path::new("a.idx")).unwrap();
        assert_eq!(a.read_bytes().unwrap().as_slice(), b"alpha");
        dir.sync_directory().unwrap();
        assert!(dir.unsynced().is_empty());
        write(&dir, "c.del", b"gamma");
        // meta.json is never written ahead of the files it can name.
        dir.atomic_write(Path::new(META), b"{}").unwrap();
        assert!(dir.unsynced().is_empty());
        assert_eq!(dir.atomic_read(Path::new(META)).unwrap(), b"{}");
        // Other atomic writes (`.managed.json`) leave the commit's files for it.
        write(&dir, "d.store", b"delta");
        dir.atomic_write(Path::new(".managed.json"), b"[]").unwrap();
        assert_eq!(dir.unsynced().len(), 1);
    }

    #[test]
    fn a_file_is_created_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CommitSync::open(tmp.path()).unwrap();
        write(&dir, "a.idx", b"alpha");
        assert!(matches!(
            dir.open_write(Path::new("a.idx")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));
    }
}
