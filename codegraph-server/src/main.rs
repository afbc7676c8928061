//! `codegraph`: the command-line tool and reference server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod input;
mod progress;
mod symbols;
mod tags;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Symbols(args) => symbols::run(args),
        Command::Ast(args) => symbols::ast(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("codegraph: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
