//! A project's built index as one immutable object, as Glean ships its databases:
//! the worker builds the project's store in a directory of its own (RocksDB files,
//! text/, vectors/, the walk cache), closes it, and packs the directory into a tar
//! file whose SHA-256 the manifest records. An owner fetches the object, checks the
//! digest before it unpacks a byte, and opens the result read-only.
//!
//! Plain tar, not compressed: RocksDB's blocks and tantivy's doc store are already
//! compressed, and the time to unpack is the time a new owner makes a client wait.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A packed store, ready to upload.
#[derive(Debug)]
pub struct Packed {
    pub file: PathBuf,
    /// SHA-256 of the file, lower-case hex.
    pub checksum: String,
    pub bytes: u64,
}

/// Why an object could not be made into a store.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the index object is damaged: its SHA-256 is {got}, the manifest says {want}")]
    Checksum { want: String, got: String },
}

fn io(what: &'static str) -> impl FnOnce(io::Error) -> ArtifactError {
    move |source| ArtifactError::Io { what, source }
}

/// Counts and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Packs the closed store in `dir` into the file `into`.
pub fn pack(dir: &Path, into: &Path) -> Result<Packed, ArtifactError> {
    let file = File::create(into).map_err(io("cannot create the index object"))?;
    let out = Hashing {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut tar = tar::Builder::new(out);
    // No owner, times or modes of this node in the object.
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)
        .map_err(io("cannot pack the index"))?;
    let mut out = tar.into_inner().map_err(io("cannot pack the index"))?;
    out.flush().map_err(io("cannot write the index object"))?;
    let checksum = hex(&out.hasher.finalize_reset());
    let bytes = out.bytes;
    out.inner
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(io("cannot write the index object"))?;
    Ok(Packed {
        file: into.to_path_buf(),
        checksum,
        bytes,
    })
}

/// The SHA-256 of a file, lower-case hex.
pub fn checksum(file: &Path) -> Result<String, ArtifactError> {
    let mut f = BufReader::new(File::open(file).map_err(io("cannot read the index object"))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io("cannot read the index object"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Unpacks `file` into `dir` (which must not exist) if its digest is `want`;
/// nothing is left behind when it is not, or when unpacking fails.
pub fn unpack(file: &Path, want: &str, dir: &Path) -> Result<(), ArtifactError> {
    let got = checksum(file)?;
    if got != want {
        return Err(ArtifactError::Checksum {
            want: want.to_string(),
            got,
        });
    }
    let f = File::open(file).map_err(io("cannot read the index object"))?;
    let mut archive = tar::Archive::new(BufReader::new(f));
    archive.set_preserve_permissions(false);
    archive.set_overwrite(false);
    // `unpack` refuses entries that would land outside `dir`.
    let unpacked = std::fs::create_dir_all(dir)
        .and_then(|()| archive.unpack(dir))
        .map_err(io("cannot unpack the index object"));
    if unpacked.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    unpacked
}

/// Copies a store directory (a replica this node serves, read-only) as the start
/// of a build: files are copied, never linked, since the build writes to them.
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), ArtifactError> {
    fn walk(from: &Path, to: &Path) -> io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &target)?;
            } else if kind.is_file() {
                std::fs::copy(entry.path(), &target)?;
            }
        }
        Ok(())
    }
    walk(from, to).map_err(io("cannot copy the project's index"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) {
        std::fs::create_dir_all(dir.join("text/p")).unwrap();
        std::fs::write(dir.join("CURRENT"), "MANIFEST-000001\n").unwrap();
        std::fs::write(dir.join("text/p/meta.json"), "{}").unwrap();
        std::fs::write(dir.join("000010.sst"), vec![7u8; 100_000]).unwrap();
    }

    #[test]
    fn a_packed_store_unpacks_to_the_same_files_and_the_same_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        store(&src);
        let a = pack(&src, &tmp.path().join("a.tar")).unwrap();
        let b = pack(&src, &tmp.path().join("b.tar")).unwrap();
        assert_eq!(a.checksum, b.checksum, "no times or owners in the object");
        assert_eq!(a.bytes, std::fs::metadata(&a.file).unwrap().len());
        assert_eq!(checksum(&a.file).unwrap(), a.checksum);
        let out = tmp.path().join("out");
        unpack(&a.file, &a.checksum, &out).unwrap();
        assert_eq!(
            std::fs::read(out.join("000010.sst")).unwrap(),
            vec![7u8; 100_000]
        );
        assert_eq!(std::fs::read(out.join("text/p/meta.json")).unwrap(), b"{}");
        let copy = tmp.path().join("copy");
        copy_dir(&out, &copy).unwrap();
        assert_eq!(
            std::fs::read(copy.join("CURRENT")).unwrap(),
            b"MANIFEST-000001\n"
        );
        assert_eq!(std::fs::read(copy.join("text/p/meta.json")).unwrap(), b"{}");
    }

    #[test]
    fn a_damaged_object_is_refused_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        store(&src);
        let a = pack(&src, &tmp.path().join("a.tar")).unwrap();
        let mut bytes = std::fs::read(&a.file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&a.file, bytes).unwrap();
        let out = tmp.path().join("out");
        let err = unpack(&a.file, &a.checksum, &out).unwrap_err();
        assert!(matches!(err, ArtifactError::Checksum { .. }), "{err}");
        assert!(!out.exists());
    }
}
