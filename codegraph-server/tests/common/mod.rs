//! Helpers shared by the command-line tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `codegraph` binary under test, with no embedding model configured from the
/// environment (tests that want one pass it).
pub fn codegraph() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codegraph"));
    for var in [
        "CODEGRAPH_MODEL_DIR",
        "CODEGRAPH_MAX_TOKENS",
        "CODEGRAPH_EMBED_URL",
        "CODEGRAPH_EMBED_MODEL",
        "CODEGRAPH_EMBED_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs a command that must succeed; its stderr is shown when it does not.
pub fn run(cmd: &mut Command) -> Output {
    let output = cmd.output().expect("codegraph runs");
    assert!(
        output.status.success(),
        "codegraph failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard output as JSON lines.
pub fn jsonl(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes a file under `root`, creating its directories.
pub fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}
