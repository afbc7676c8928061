//! `codegraph mcp`: the engine as a Model Context Protocol server for coding agents,
//! over stdio, with the index kept fresh by the watcher while the session lasts.
//!
//! The tools ([`tools`]) are the same wherever they are served; a [`tools::Scope`]
//! says which project a call may read and how fresh it is. Here that is the one
//! directory being watched: every call first waits (bounded) for the watcher to take
//! the files saved before it, so an answer reflects the editor's last save.

mod page;
pub mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Args;
use codegraph::{Db, DbOptions};
use rmcp::ErrorData;

use crate::cli::graph::DbArgs;
use crate::cli::input::InputArgs;
use crate::cli::run::{IndexArgs, Indexer};
use crate::cli::watch::{State, Wake};
use crate::options::ModelArgs;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// The directory to index and watch.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The store directory [default: PATH/.codegraph].
    #[arg(long, env = "CODEGRAPH_DB")]
    pub db: Option<PathBuf>,

    /// The project inside the store [default: the directory's name].
    #[arg(long, short = 'p', env = "CODEGRAPH_PROJECT")]
    pub project: Option<String>,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Do not compute embeddings (search is then by text alone).
    #[arg(long)]
    pub no_embed: bool,

    /// How long a tool call waits for files saved before it to be indexed, in
    /// milliseconds; past it the call answers from the index as it is and says so.
    #[arg(long, default_value_t = 10_000)]
    pub fresh_wait_ms: u64,
}

/// The watched directory as the tools see it.
struct Watched {
    db: Arc<Db>,
    project: String,
    root: PathBuf,
    wakes: Mutex<Sender<Wake>>,
    state: Arc<Mutex<State>>,
    wait: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn ago(t: SystemTime) -> String {
    let s = SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs();
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

impl Watched {
    fn describe(&self, waited_out: bool) -> String {
        let s = lock(&self.state);
        let mut line = String::from("index: ");
        match &s.last {
            Some((at, _)) => line += &format!("updated {}", ago(*at)),
            None => line += "first run not finished",
        }
        match (s.pending, s.running) {
            (Some(0), false) if !waited_out => line += "; up to date with saved files",
            (Some(n), _) if n > 0 => line += &format!("; {n} changed files not yet indexed"),
            (None, _) => line += "; files changed, not yet indexed",
            _ => {}
        }
        if s.running {
            line += "; an update is running";
        }
        if waited_out {
            line += &format!(
                " (waited {} ms; this answer may miss the latest saves)",
                self.wait.as_millis()
            );
        }
        if let Some(e) = &s.error {
            line += &format!("; last update failed: {e}");
        }
        line
    }
}

impl tools::Scope for Watched {
    fn open(
        &self,
        _request: &rmcp::model::Extensions,
        named: Option<&str>,
    ) -> Result<(Arc<dyn tools::Store>, String), ErrorData> {
        let db: Arc<dyn tools::Store> = Arc::clone(&self.db) as _;
        match named {
            None => Ok((db, self.project.clone())),
            Some(p) if p == self.project => Ok((db, self.project.clone())),
            Some(p) => Err(ErrorData::invalid_params(
                format!(
                    "this server serves project {:?} only (not {p:?}); start `codegraph mcp DIR` for another",
                    self.project
                ),
                None,
            )),
        }
    }

    fn root(&self, _store: &dyn tools::Store, _project: &str) -> Option<PathBuf> {
        Some(self.root.clone())
    }

    fn freshen(&self, _store: &dyn tools::Store, _project: &str) -> String {
        let (tx, rx) = channel();
        let sent = lock(&self.wakes).send(Wake::Sync(tx)).is_ok();
        let waited_out = !sent || rx.recv_timeout(self.wait).is_err();
        self.describe(waited_out)
    }

    fn status(&self, _store: &dyn tools::Store, _project: &str) -> Vec<String> {
        let mut out = vec![format!("root: {}", self.root.display())];
        {
            let s = lock(&self.state);
            out.push(format!("updates this session: {}", s.runs));
            if let Some((at, Some(r))) = &s.last {
                out.push(format!(
                    "last update {}: {} files parsed, {} unchanged, {} removed, {} resolved in {:.3} s",
                    ago(*at),
                    r.parsed,
                    r.unchanged,
                    r.removed,
                    r.resolved,
                    r.seconds
                ));
                if !r.skipped_files.is_empty() {
                    out.push(format!(
                        "{} files skipped (too large, generated, unreadable...)",
                        r.skipped_files.len()
                    ));
                }
            }
        }
        out.push(format!(
            "search: {}",
            match self.db.embedder() {
                Some(_) => "hybrid (text + embeddings)",
                None => "text (no embedding model configured)",
            }
        ));
        out
    }
}

pub fn mcp(args: McpArgs) -> anyhow::Result<ExitCode> {
    let root = args
        .path
        .canonicalize()
        .with_context(|| format!("cannot read {}", args.path.display()))?;
    if !root.is_dir() {
        bail!("{} is not a directory", root.display());
    }
    let db_dir = args.db.clone().unwrap_or_else(|| root.join(".codegraph"));
    let project = args
        .project
        .clone()
        .unwrap_or_else(|| crate::cli::index::default_project(&root));
    let options = DbOptions {
        long_lived: true,
        ..DbOptions::default()
    };
    let db = Db::open(&db_dir, options).with_context(|| {
        format!(
            "cannot open store {} (is a `codegraph index --watch` or another `codegraph mcp` holding it?)",
            db_dir.display()
        )
    })?;
    db.prepare(&project);
    let db = match (args.no_embed, args.model.load(false)?) {
        (false, Some(model)) => db.with_embedder(model),
        _ => db,
    };
    let db = Arc::new(db);
    let index_args = IndexArgs {
        input: InputArgs::directory(root.clone()),
        db: DbArgs {
            db: db_dir,
            project: Some(project.clone()),
        },
        force: false,
        watch: true,
        quiet: true,
        json: false,
        no_text: false,
        without_docs: false,
        model: args.model,
        no_embed: args.no_embed,
        scip: None,
    };
    let (tx, rx) = channel();
    let state: Arc<Mutex<State>> = Arc::default();
    let watcher = {
        let (db, project, state, tx) = (
            Arc::clone(&db),
            project.clone(),
            Arc::clone(&state),
            tx.clone(),
        );
        std::thread::Builder::new()
            .name("codegraph-watch".into())
            .spawn(move || {
                let mut indexer = Indexer::new(&db, &project, &index_args);
                if let Err(e) = crate::cli::watch::watch_with(&mut indexer, tx, rx, &state, false) {
                    eprintln!("codegraph: error: the watcher stopped: {e:#}");
                    lock(&state).error = Some(format!("the watcher stopped: {e:#}"));
                }
            })
            .context("cannot start a thread")?
    };
    let scope = Arc::new(Watched {
        db,
        project,
        root,
        wakes: Mutex::new(tx.clone()),
        state,
        wait: Duration::from_millis(args.fresh_wait_ms),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async move {
        use rmcp::ServiceExt;
        let server = tools::Tools::new(scope)
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP session did not start")?;
        server.waiting().await.context("the MCP session failed")?;
        anyhow::Ok(())
    });
    // The session is over (the client closed standard input): the watcher finishes
    // the run it is in, if any, and the store is closed cleanly.
    let _ = tx.send(Wake::Stop);
    let _ = watcher.join();
    served?;
    Ok(ExitCode::SUCCESS)
}
