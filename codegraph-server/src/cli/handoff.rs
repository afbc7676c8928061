//! Handing a `codegraph index` run to the `codegraph index --watch` that holds the store.
//!
//! A watcher keeps the store, the full-text index with its writer and the compiled
//! queries open between runs, and listens on a Unix socket in the store directory
//! (`watch.sock`). A `codegraph index` that finds the socket sends its request there and
//! prints the report of the run the watcher makes for it, the same report it would have
//! printed itself; it never opens the store (it could not: the watcher holds the
//! store's lock). That saves the new process everything a one-file update spends
//! before and after its actual work: opening RocksDB and tantivy, compiling the
//! language's query, reading the walk and file-hash state, and flushing the memtables
//! (the watcher syncs its log instead and flushes when idle).
//!
//! A watcher only runs requests for the directory, project and options it watches
//! with, and refuses others with a clear reason. A socket left behind by a watcher that
//! died answers no one: the client then opens the store itself, as without a watcher.
//! The socket file is created with the process's umask, so under the usual 022 only its
//! owner may connect.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::run::{IndexArgs, Indexer, Ran};

/// What wakes a watcher: files changing, a `codegraph index` handing it a run, or
/// (in the same process) a reader asking that everything saved before now be indexed,
/// or the owner asking it to stop.
pub(crate) enum Wake {
    Files(notify::Result<notify::Event>),
    Client(std::os::unix::net::UnixStream),
    /// Answered once the files saved before the request are indexed (or the run
    /// failed: the watcher's `State` says so).
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    Sync(Sender<()>),
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    Stop,
}

const SOCKET: &str = "watch.sock";
/// Bumped whenever [`Request`] or [`Reply`] change, so that two versions of codegraph
/// refuse each other instead of misreading each other.
const PROTOCOL: u32 = 1;
/// A request is one line of JSON; anything longer is not one.
const MAX_REQUEST: u64 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    protocol: u32,
    /// The input directory, canonical.
    root: PathBuf,
    project: String,
    /// Every option that changes what a run indexes ([`options_key`]).
    options: String,
    force: bool,
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Ran(Box<Ran>),
    Refused(String),
    Failed(String),
}

/// The options that decide what is indexed and how; two runs that agree on them (and on
/// the directory and project) produce the same store. Output options (`--json`,
/// `--quiet`) and `--threads` do not count.
fn options_key(args: &IndexArgs) -> String {
    let i = &args.input;
    format!(
        "{:?}",
        (
            &i.languages,
            &i.exclude,
            i.max_file_size,
            i.no_ignore,
            i.hidden,
            i.include_vendored,
            i.include_generated,
            i.include_minified,
            (args.no_text, args.without_docs, args.no_embed, &args.model),
        )
    )
}

/// Hands the run to a watcher when one holds the store: `None` when there is none (no
/// socket, or one nobody listens on) or the run is not a directory's, so the caller
/// runs it itself.
pub fn try_hand_off(args: &IndexArgs, project: &str) -> Option<anyhow::Result<ExitCode>> {
    if args.watch || args.input.rev.is_some() || !args.input.path.is_dir() {
        return None;
    }
    let stream = UnixStream::connect(args.db.db.join(SOCKET)).ok()?;
    Some(hand_off(stream, args, project))
}

fn hand_off(stream: UnixStream, args: &IndexArgs, project: &str) -> anyhow::Result<ExitCode> {
    let db = args.db.db.display();
    let root = args
        .input
        .path
        .canonicalize()
        .with_context(|| format!("cannot read {}", args.input.path.display()))?;
    let request = Request {
        protocol: PROTOCOL,
        root,
        project: project.to_string(),
        options: options_key(args),
        force: args.force,
    };
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    (&stream)
        .write_all(&line)
        .with_context(|| format!("cannot reach the watcher holding {db}"))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .with_context(|| format!("no answer from the watcher holding {db}"))?;
    if answer.is_empty() {
        bail!("the watcher holding {db} hung up without answering (did it stop?)");
    }
    let reply: Reply = serde_json::from_str(&answer)
        .with_context(|| format!("cannot read the answer of the watcher holding {db}"))?;
    match reply {
        Reply::Ran(ran) => Ok(ran.print(args.json, args.quiet)),
        Reply::Refused(why) => bail!(
            "{db} is held by a `codegraph index --watch` that {why}; run this with the same \
             directory, project and options, or stop the watcher first"
        ),
        Reply::Failed(e) => bail!("the watcher holding {db} could not index: {e}"),
    }
}

/// The listening end; removes its socket when dropped.
pub struct Listener {
    path: PathBuf,
}

impl Listener {
    /// Listens in `db` (whose store this process holds), passing each connection to
    /// the watch loop through `wakes`.
    pub fn start(db: &Path, wakes: Sender<Wake>) -> anyhow::Result<Listener> {
        let path = db.join(SOCKET);
        // This process holds the store's lock, so a socket already here was left by a
        // watcher that is gone.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        std::thread::Builder::new()
            .name("codegraph-handoff".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if wakes.send(Wake::Client(stream)).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start a thread")?;
        Ok(Listener { path })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers one connection: reads its request, runs it when it matches what this
/// watcher indexes, replies. Returns the run, for the watcher's own log.
pub fn serve(client: UnixStream, indexer: &mut Indexer) -> Option<Ran> {
    // A client that connects and says nothing must not hold up the watch.
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let read = BufReader::new((&client).take(MAX_REQUEST)).read_line(&mut line);
    let reply = match read {
        Err(e) => Reply::Failed(format!("cannot read the request: {e}")),
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Failed(format!("not a request: {e}")),
            Ok(request) => match refusal(&request, indexer) {
                Some(why) => Reply::Refused(why),
                None => match indexer.run(request.force, false) {
                    Ok(ran) => Reply::Ran(Box::new(ran)),
                    Err(e) => Reply::Failed(format!("{e:#}")),
                },
            },
        },
    };
    if let Ok(mut answer) = serde_json::to_vec(&reply) {
        answer.push(b'\n');
        // A client that went away still got its run done; nothing to tell it.
        let _ = (&client).write_all(&answer);
    }
    match reply {
        Reply::Ran(ran) => Some(*ran),
        _ => None,
    }
}

/// Why a request is not this watcher's to run, if it is not.
fn refusal(request: &Request, indexer: &Indexer) -> Option<String> {
    if request.protocol != PROTOCOL {
        return Some(format!(
            "speaks another protocol ({PROTOCOL}, not {}: another codegraph version)",
            request.protocol
        ));
    }
    let args = indexer.args;
    let root = args
        .input
        .path
        .canonicalize()
        .unwrap_or_else(|_| args.input.path.clone());
    if request.root != root {
        return Some(format!("watches {}", root.display()));
    }
    if request.project != indexer.project {
        return Some(format!("indexes project {:?}", indexer.project));
    }
    if request.options != options_key(args) {
        return Some("indexes with other options".to_string());
    }
    None
}
