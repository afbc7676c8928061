//! `codegraph index --watch`: re-index as files change, and run the `codegraph index`
//! commands handed over by other processes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};

pub(crate) use super::handoff::Wake;
use super::run::{Indexer, Ran};

/// What a watcher is doing, for readers in the same process (the MCP server says it
/// beside every answer).
#[derive(Debug, Default)]
pub(crate) struct State {
    /// A run is under way.
    pub running: bool,
    /// Runs finished, the first included.
    pub runs: u64,
    /// When the last run finished, and its report (`None` when it failed).
    pub last: Option<(SystemTime, Option<codegraph::IndexReport>)>,
    /// The last run's error, if it failed.
    pub error: Option<String>,
    /// Files seen changing that no run has taken yet; `None` when events were lost
    /// (the next run walks everything).
    pub pending: Option<usize>,
}

/// Re-indexes whenever files under the input directory change, until interrupted, and
/// runs the `codegraph index` commands of the same project handed to it.
pub(crate) fn watch(indexer: &mut Indexer) -> anyhow::Result<ExitCode> {
    let (tx, rx) = std::sync::mpsc::channel();
    watch_with(indexer, tx, rx, &Arc::default(), true)
}

/// [`watch`] over a channel the caller may also send to ([`Wake::Sync`],
/// [`Wake::Stop`]), keeping `state` current; `print` writes each run's report.
pub(crate) fn watch_with(
    indexer: &mut Indexer,
    tx: Sender<Wake>,
    rx: Receiver<Wake>,
    state: &Arc<Mutex<State>>,
    print: bool,
) -> anyhow::Result<ExitCode> {
    use notify::{RecursiveMode, Watcher};
    use std::sync::mpsc::RecvTimeoutError;
    let args = indexer.args;
    let root = &args.input.path;
    if !root.is_dir() || args.input.rev.is_some() {
        bail!("--watch needs a directory (not an archive, a stream or a git revision)");
    }
    let events = tx.clone();
    // One run, with the state kept for readers.
    let run = |indexer: &mut Indexer, force: bool, bar: bool, changes: &Changes| {
        {
            let mut s = codegraph_lock(state);
            s.running = true;
            s.pending = changes.pending();
        }
        let ran: anyhow::Result<Ran> = indexer.run(force, bar);
        let mut s = codegraph_lock(state);
        s.running = false;
        s.runs += 1;
        s.pending = Some(0);
        match &ran {
            Ok(r) => {
                s.last = Some((SystemTime::now(), Some(r.report.clone())));
                s.error = None;
            }
            Err(e) => {
                s.last = Some((SystemTime::now(), None));
                s.error = Some(format!("{e:#}"));
            }
        }
        ran
    };
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Wake::Files(event));
    })
    .context("cannot watch files")?;
    // Events name paths under the watched directory as given: canonical, to compare.
    let watched = root.canonicalize().unwrap_or_else(|_| root.clone());
    watcher
        .watch(&watched, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    let db = args
        .db
        .db
        .canonicalize()
        .unwrap_or_else(|_| args.db.db.clone());
    // Written by the watcher when a `codegraph index` hands it a run, and watched by the
    // same inotify instance as the tree: once its event arrives, so have those of every
    // edit made before the client connected (one queue per instance, in order). In a
    // directory of its own, so that the store's writes wake nobody.
    let barrier_dir = db.join("watch");
    std::fs::create_dir_all(&barrier_dir)
        .with_context(|| format!("cannot create {}", barrier_dir.display()))?;
    let barrier = barrier_dir.join("barrier");
    let mut changes = Changes {
        watched,
        walked: root.clone(),
        db: db.clone(),
        paths: Vec::new(),
        unknown: false,
    };
    if !db.starts_with(&changes.watched) {
        watcher
            .watch(&barrier_dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", barrier_dir.display()))?;
    }
    // Listening before the first run: a `codegraph index` arriving meanwhile waits in
    // the queue for its turn instead of finding the store locked.
    let listening = match super::handoff::Listener::start(&args.db.db, tx.clone()) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!(
                "codegraph: note: other `codegraph index` runs cannot hand their work to this one: {e:#}"
            );
            None
        }
    };
    // Armed before the first run, so an edit made while it runs is not missed.
    let first = run(indexer, args.force, print && !args.quiet, &changes)?;
    if print {
        first.print(args.json, args.quiet);
        eprintln!("codegraph: watching {} (Ctrl-C to stop)", root.display());
    }
    // A run of what changed since the last, reported like the first.
    let update = |indexer: &mut Indexer, changes: &mut Changes| {
        indexer.set_changed(changes.take());
        match run(indexer, false, false, changes) {
            Ok(ran) if print => {
                ran.print(args.json, args.quiet);
            }
            Ok(_) => {}
            Err(e) => eprintln!("codegraph: error: {e:#}"),
        }
    };
    let mut synced: Vec<Sender<()>> = Vec::new();
    // The memtables are flushed once the store has been left alone this long: until
    // then a reader opening it replays the log (a few ms for a one-file update).
    const IDLE_FLUSH: Duration = Duration::from_millis(500);
    let mut flush_due: Option<Instant> = Some(Instant::now());
    let mut waiting: std::collections::VecDeque<std::os::unix::net::UnixStream> =
        Default::default();
    loop {
        let wake = if let Some(client) = waiting.pop_front() {
            Wake::Client(client)
        } else {
            match flush_due {
                Some(due) => match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                    Ok(wake) => wake,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = indexer.flush() {
                            eprintln!("codegraph: error: {e:#}");
                        }
                        flush_due = None;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(wake) => wake,
                    Err(_) => break,
                },
            }
        };
        let client = match wake {
            Wake::Stop => break,
            Wake::Client(client) => Some(client),
            Wake::Sync(reply) => {
                // Every edit saved before the request: noted, then run if any.
                if !catch_up(&rx, &tx, &barrier, &mut changes, &mut waiting, &mut synced) {
                    changes.unknown = true;
                }
                if changes.unknown || !changes.paths.is_empty() {
                    update(indexer, &mut changes);
                    flush_due = Some(Instant::now() + IDLE_FLUSH);
                }
                let _ = reply.send(());
                requeue(&tx, &mut synced);
                continue;
            }
            Wake::Files(first) => {
                // Editors write in bursts (temp file, rename, chmod): wait for quiet,
                // unless a `codegraph index` asks for a run, which covers the burst.
                let mut relevant = changes.note(&first);
                let mut client = None;
                let deadline = Instant::now() + Duration::from_millis(200);
                let mut stop = false;
                codegraph_lock(state).pending = changes.pending();
                while let Ok(wake) =
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    match wake {
                        Wake::Files(e) => relevant |= changes.note(&e),
                        Wake::Client(c) => {
                            client = Some(c);
                            break;
                        }
                        // A reader waiting: run this burst now; the reader's own
                        // catch-up follows it (`requeue`).
                        Wake::Sync(reply) => {
                            synced.push(reply);
                            break;
                        }
                        Wake::Stop => {
                            stop = true;
                            break;
                        }
                    }
                }
                if stop {
                    break;
                }
                if !relevant && client.is_none() {
                    requeue(&tx, &mut synced);
                    continue;
                }
                if client.is_none() {
                    update(indexer, &mut changes);
                    requeue(&tx, &mut synced);
                    flush_due = Some(Instant::now() + IDLE_FLUSH);
                }
                client
            }
        };
        if let Some(client) = client {
            if !catch_up(&rx, &tx, &barrier, &mut changes, &mut waiting, &mut synced) {
                changes.unknown = true;
            }
            indexer.set_changed(changes.take());
            codegraph_lock(state).running = true;
            // Logged like the watcher's own runs: one report per run.
            let ran = super::handoff::serve(client, indexer);
            {
                let mut s = codegraph_lock(state);
                s.running = false;
                s.runs += 1;
                match &ran {
                    Some(r) => {
                        s.pending = Some(0);
                        s.last = Some((SystemTime::now(), Some(r.report.clone())));
                        s.error = None;
                    }
                    // Refused or failed: what changed is still to be indexed.
                    None => s.pending = None,
                }
            }
            if let Some(ran) = ran
                && print
            {
                ran.print(args.json, args.quiet);
            }
            requeue(&tx, &mut synced);
            flush_due = Some(Instant::now() + IDLE_FLUSH);
        }
    }
    drop(listening);
    let _ = std::fs::remove_dir_all(&barrier_dir);
    Ok(ExitCode::SUCCESS)
}

/// What a watcher saw change since its last run.
struct Changes {
    /// The input directory as watched (canonical), and as walked (as given).
    watched: PathBuf,
    walked: PathBuf,
    /// The store's directory (canonical): what happens there is the watcher's own doing.
    db: PathBuf,
    paths: Vec<PathBuf>,
    /// Events were lost (the kernel's queue overflowed), could not be read, or named a
    /// path outside the input.
    unknown: bool,
}

impl Changes {
    /// Notes `event`; true when it is one a run should follow.
    fn note(&mut self, event: &notify::Result<notify::Event>) -> bool {
        let relevant = is_relevant(event, &self.db);
        match event {
            Ok(e) if e.need_rescan() => self.unknown = true,
            Ok(e) if relevant => {
                for path in e.paths.iter().filter(|p| !p.starts_with(&self.db)) {
                    match path.strip_prefix(&self.watched) {
                        Ok(rel) => self.paths.push(self.walked.join(rel)),
                        Err(_) => self.unknown = true,
                    }
                }
            }
            Ok(_) => {}
            Err(_) => self.unknown = true,
        }
        relevant
    }

    /// How many files the next run will take, `None` when not known.
    fn pending(&self) -> Option<usize> {
        if self.unknown {
            return None;
        }
        let mut paths: Vec<&PathBuf> = self.paths.iter().collect();
        paths.sort_unstable();
        paths.dedup();
        Some(paths.len())
    }

    /// The paths for the next run, `None` when they are not all known; starts over.
    fn take(&mut self) -> Option<Vec<PathBuf>> {
        let mut paths = std::mem::take(&mut self.paths);
        // A save is several events on one path (modified, closed after writing).
        paths.sort_unstable();
        paths.dedup();
        (!std::mem::take(&mut self.unknown)).then_some(paths)
    }
}

/// Makes sure every file event from before now has been noted: writes `barrier` and
/// notes events until its own arrives. Clients arriving meanwhile wait their turn.
/// False when the barrier's event did not come (then what changed is not known).
fn catch_up(
    rx: &std::sync::mpsc::Receiver<Wake>,
    tx: &Sender<Wake>,
    barrier: &Path,
    changes: &mut Changes,
    waiting: &mut std::collections::VecDeque<std::os::unix::net::UnixStream>,
    synced: &mut Vec<Sender<()>>,
) -> bool {
    if std::fs::write(barrier, b"").is_err() {
        return false;
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Ok(wake) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match wake {
            Wake::Files(event) => {
                let ours = event
                    .as_ref()
                    .is_ok_and(|e| e.paths.iter().any(|p| p == barrier));
                changes.note(&event);
                if ours {
                    return true;
                }
            }
            Wake::Client(client) => waiting.push_back(client),
            // Sent after the barrier was written: each gets a catch-up of its own once
            // this run is done (`requeue`).
            Wake::Sync(reply) => synced.push(reply),
            // Seen again by the loop after this run.
            Wake::Stop => {
                let _ = tx.send(Wake::Stop);
                return false;
            }
        }
    }
    false
}

/// Readers that asked for a sync while a run was being prepared: their requests go
/// back in the queue, each to be caught up with (barrier, then a run if anything
/// changed) in turn, since events of saves made just before they asked may still be
/// on their way.
fn requeue(tx: &Sender<Wake>, synced: &mut Vec<Sender<()>>) {
    for reply in synced.drain(..) {
        let _ = tx.send(Wake::Sync(reply));
    }
}

fn codegraph_lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_relevant(event: &notify::Result<notify::Event>, db: &Path) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    match event {
        // Reading a file or listing a directory is reported too, and indexing does both:
        // counting those would have every run set off the next, forever.
        Ok(e) if matches!(e.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write)) => {
            false
        }
        Ok(e) => e.paths.iter().any(|p| !p.starts_with(db)),
        Err(_) => true,
    }
}
