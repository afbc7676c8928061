//! `codegraph`: the command-line tool and reference server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
#[cfg(feature = "mcp")]
mod mcp;
mod options;
mod project_file;
#[cfg(feature = "serve")]
mod serve;

use cli::{graph, index, search, symbols};

/// Code intelligence for real codebases: definitions, references and their graph.
#[derive(Debug, Parser)]
#[command(name = "codegraph", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every definition in a directory, git revision, archive or tar stream.
    Symbols(symbols::SymbolsArgs),
    /// Print a file's syntax tree (for writing and debugging query files).
    Ast(symbols::AstArgs),
    /// Build or update the code graph of a directory, git revision or archive.
    Index(cli::run::IndexArgs),
    /// Ask the graph: find, callers, callees, impact, path, outline, neighbours.
    Query(graph::QueryArgs),
    /// Write a project's whole graph as JSON lines.
    Export(graph::ExportArgs),
    /// List (or remove) the projects in a store.
    Projects(graph::ProjectsArgs),
    /// Verify a project's graph: no missing nodes, no dangling or half-indexed edges.
    Check(graph::CheckArgs),
    /// Search definitions by text (BM25), meaning (embeddings) or both.
    Search(search::SearchArgs),
    /// Serve a directory's graph to coding agents over MCP (stdio), re-indexing as
    /// files change.
    #[cfg(feature = "mcp")]
    Mcp(mcp::McpArgs),
    /// Run the HTTP server: analysis jobs, search and graph APIs, metrics.
    #[cfg(feature = "serve")]
    Serve(Box<serve::config::ServeArgs>),
    /// Browse a local store in the web browser: search, definitions with their
    /// callers and callees, the call graph (loopback, no token).
    #[cfg(feature = "serve")]
    Ui(Box<serve::config::UiArgs>),
}

// Parsing allocates and frees millions of small syntax-tree nodes on every worker;
// mimalloc makes a whole `symbols` run about 6% faster than glibc's allocator (see
// docs/PERFORMANCE.md). Library users keep whatever allocator they chose.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Routes tree-sitter's C allocations to mimalloc too; they are most of them.
fn use_mimalloc_for_tree_sitter() {
    // SAFETY: called first thing in main, before any tree-sitter object exists, so
    // nothing allocated by one allocator is ever freed by the other; the functions have
    // the C signatures tree-sitter expects.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
}

/// Turns transparent huge pages off for this process. mimalloc asks the kernel for huge
/// pages on its arenas, and every first touch of a fresh 2 MiB region then zeroes all of
/// it: in a one-file `index` run that was half of all CPU samples, and a full index of
/// the 2.2M-line corpus took 17.7-18.3 s with them and 17.2-17.4 s without (sys time
/// 2.5-3.1 s against 1.3 s; docs/PERFORMANCE.md). Child processes inherit the setting.
/// Best effort: kernels without the call simply keep their default.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Has mimalloc keep freed memory for `ms` before giving it back to the kernel (its
/// default: one second). For a process that does the same work again every few seconds
/// (`index --watch`): memory given back is faulted in and zeroed again on the next run,
/// and on this project's 2-vCPU VM a one-file update spent a third of its time there
/// (docs/PERFORMANCE.md). The cost is keeping the last run's peak resident that long.
fn keep_freed_memory_for(ms: i64) {
    // `mi_option_purge_delay`, which the bindings do not name: the 16th option in both
    // mimalloc 2 and 3 (`mimalloc.h`).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set takes plain integers; it is called before any other thread
    // exists, as it must be (it is not thread-safe).
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, ms as std::ffi::c_long) }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    use_mimalloc_for_tree_sitter();
    let cli = Cli::parse();
    let long_lived = match &cli.command {
        Command::Index(args) => args.watch,
        #[cfg(feature = "mcp")]
        Command::Mcp(_) => true,
        _ => false,
    };
    if long_lived {
        // Before any other thread exists: the option is not set atomically.
        keep_freed_memory_for(30_000);
    }
    let result = match cli.command {
        Command::Symbols(args) => symbols::run(args),
        Command::Ast(args) => symbols::ast(args),
        Command::Index(args) => index::index(args),
        Command::Query(args) => graph::query(args),
        Command::Export(args) => graph::export(args),
        Command::Projects(args) => graph::projects(args),
        Command::Check(args) => graph::check(args),
        Command::Search(args) => search::search(args),
        #[cfg(feature = "mcp")]
        Command::Mcp(args) => mcp::mcp(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::serve(*args),
        #[cfg(feature = "serve")]
        Command::Ui(args) => serve::ui(*args),
    };
    match result {
        Ok(code) => code,
        // `codegraph symbols . | head` closes the pipe early; that is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("codegraph: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
