//! Helpers shared by the command-line tests.
#![allow(dead_code)]

pub mod server;
pub mod services;

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

/// A stand-in for an OpenAI-compatible embeddings API: character-trigram counts folded
/// into 32 dimensions (similar text, similar vectors). Records the headers it saw, and
/// answers each request after `delay` (a slow provider).
pub fn fake_embedding_api(
    delay: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut head, mut length) = (String::new(), 0);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(head);
            std::thread::sleep(delay);
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let data: Vec<serde_json::Value> = request["input"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut v = vec![0f32; 32];
                    for w in t.as_str().unwrap().to_lowercase().as_bytes().windows(3) {
                        let h = w
                            .iter()
                            .fold(7u32, |h, b| h.wrapping_mul(31) ^ u32::from(*b));
                        v[(h % 32) as usize] += 1.0;
                    }
                    serde_json::json!({"index": i, "embedding": v})
                })
                .collect();
            let answer = serde_json::json!({ "data": data }).to_string();
            let _ = std::io::Write::write_all(
                &mut stream,
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            );
        }
    });
    (url, seen)
}
