//! The command line: clap arguments, printers, progress bars, the watcher and the
//! hand-off to it. Every command calls the engine ([`codegraph::Db`]); nothing here is
//! used by the HTTP server, nor uses it.

pub mod graph;
mod handoff;
pub mod index;
pub(crate) mod input;
mod progress;
pub mod run;
pub mod search;
pub mod symbols;
mod tags;
pub(crate) mod watch;
