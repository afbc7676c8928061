//! File stamps: what the file system says about a file, and when to trust it in place
//! of reading the file (see [`FileStamp`]).

use std::time::{Duration, SystemTime};

use codegraph_core::FileStamp;

/// File times younger than this are not trusted for a stamp: file systems keep times
/// in ticks (as coarse as 2 s on FAT), and an edit within the tick of a read would
/// leave the stamp as it was.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The stamp of a file as it is now.
pub fn stamp_of(meta: &std::fs::Metadata) -> FileStamp {
    let nanos = |t: SystemTime| match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    };
    let mtime_ns = meta.modified().map(nanos).unwrap_or(0);
    #[cfg(unix)]
    let (ctime_ns, inode) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ctime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.ctime_nsec()),
            meta.ino(),
        )
    };
    #[cfg(not(unix))]
    let (ctime_ns, inode) = (0, 0);
    FileStamp {
        size: meta.len(),
        mtime_ns,
        ctime_ns,
        inode,
    }
}

/// The stamp of a file about to be read, or `None` when its times are less than
/// `window` old (see [`RACY_WINDOW`]).
pub fn trusted_stamp(meta: &std::fs::Metadata, window: Duration) -> Option<FileStamp> {
    let stamp = stamp_of(meta);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let now = i64::try_from(now).ok()?;
    let window = i64::try_from(window.as_nanos()).unwrap_or(i64::MAX);
    let old_enough = |t: i64| t != 0 && t <= now - window;
    let ctime_ok = !cfg!(unix) || old_enough(stamp.ctime_ns);
    (old_enough(stamp.mtime_ns) && ctime_ok).then_some(stamp)
}
