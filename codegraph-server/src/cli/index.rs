//! `codegraph index`: open the store (or hand the run to a watcher holding it), run it,
//! and with `--watch` keep running.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use codegraph::{Db, DbOptions};

use super::run::{IndexArgs, Indexer};

/// A project's name when none is given: its directory's.
pub(crate) fn default_project(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

pub fn index(args: IndexArgs) -> anyhow::Result<ExitCode> {
    let project = args
        .db
        .project
        .clone()
        .unwrap_or_else(|| default_project(&args.input.path));
    // Checked before the store is opened, so a bad pattern costs nothing.
    args.input.filter()?;
    let mut waited = false;
    let db = loop {
        // A watcher holding the store does the run itself, with everything already open.
        if let Some(done) = super::handoff::try_hand_off(&args, &project) {
            return done;
        }
        let options = DbOptions {
            long_lived: args.watch,
            ..DbOptions::default()
        };
        match Db::open(&args.db.db, options) {
            // Another writer: wait for it as cargo waits for its build directory, and
            // ask again for a watcher (one may be starting, its socket not yet there).
            Err(codegraph::Error::Busy { message, .. }) => {
                if !waited {
                    eprintln!("codegraph: waiting: {message}");
                    waited = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            opened => {
                break opened
                    .with_context(|| format!("cannot open store {}", args.db.db.display()))?;
            }
        }
    };
    // The query of the project's main language compiles while the full-text index
    // opens and the file records are read: for a one-file update it is the largest
    // single cost of the process (see docs/PERFORMANCE.md).
    db.prepare(&project);
    let db = match (args.no_embed, args.model.load(false)?) {
        (false, Some(model)) => db.with_embedder(model),
        _ => db,
    };
    let mut indexer = Indexer::new(&db, &project, &args);
    if !args.watch {
        let ran = indexer.run(args.force, !args.quiet)?;
        return Ok(ran.print(args.json, args.quiet));
    }
    super::watch::watch(&mut indexer)
}
