//! `codegraph search`, driven as a user and an evaluation script drive it.

mod common;

use std::path::Path;
use std::process::Output;

use common::{codegraph, jsonl, run, write};

fn project(root: &Path) {
    write(
        root,
        "net/http.py",
        "def parse_http_response(data):\n    \"\"\"Split a raw HTTP response into status, headers and body.\"\"\"\n    return data.split(b'\\r\\n')\n\n\nclass ConnectionPool:\n    \"\"\"Keeps idle sockets for reuse.\"\"\"\n\n    def acquire(self):\n        return self.idle.pop()\n",
    );
    write(
        root,
        "web/format.ts",
        "export function formatDate(d: Date): string {\n  return d.toISOString();\n}\n",
    );
}

fn index(src: &Path, db: &Path, extra: &[&str]) -> serde_json::Value {
    let out = run(codegraph()
        .arg("index")
        .arg(src)
        .arg("--db")
        .arg(db)
        .args(["--project", "demo", "--json", "-q"])
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn search(db: &Path, args: &[&str]) -> Output {
    codegraph()
        .arg("search")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok_jsonl(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    jsonl(output)
}

#[test]
fn text_search_answers_in_order_with_locations() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    index(&src, &db, &[]);

    let queries = dir.path().join("queries.txt");
    std::fs::write(
        &queries,
        "format a date\nhttp response\nnothing matches zzzz\n",
    )
    .unwrap();
    let out = search(
        &db,
        &[
            "--mode",
            "text",
            "--format",
            "jsonl",
            "--limit",
            "3",
            "--queries-file",
            queries.to_str().unwrap(),
        ],
    );
    let lines = ok_jsonl(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["query"], "format a date");
    let top = &lines[0]["results"][0];
    assert_eq!(top["path"], "web/format.ts");
    assert_eq!(top["line"], 1);
    assert_eq!(top["name"], "formatDate");
    assert_eq!(top["kind"], "function");
    assert!(top["score"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[1]["results"][0]["name"], "parse_http_response");
    assert_eq!(lines[2]["results"].as_array().unwrap().len(), 0);

    // Filters.
    let out = search(
        &db,
        &[
            "--mode", "text", "--format", "jsonl", "--kind", "class", "sockets",
        ],
    );
    let lines = ok_jsonl(&out);
    assert_eq!(lines[0]["results"][0]["name"], "ConnectionPool");
    let out = search(
        &db,
        &[
            "--mode",
            "text",
            "--format",
            "jsonl",
            "--path",
            "web/**",
            "http response",
        ],
    );
    assert!(ok_jsonl(&out)[0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn modes_without_a_model_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    index(&src, &db, &[]);
    let semantic = search(&db, &["--mode", "semantic", "date"]);
    assert!(!semantic.status.success());
    assert!(
        String::from_utf8_lossy(&semantic.stderr).contains("embedding model"),
        "{}",
        String::from_utf8_lossy(&semantic.stderr)
    );
    let hybrid = search(
        &db,
        &["--mode", "hybrid", "--format", "jsonl", "format date"],
    );
    assert!(String::from_utf8_lossy(&hybrid.stderr).contains("falls back to BM25"));
    assert_eq!(ok_jsonl(&hybrid)[0]["results"][0]["name"], "formatDate");
}

#[test]
fn the_text_index_follows_edits_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    // Built without the text index first: the next run must fill it in, although no
    // file changed.
    index(&src, &db, &["--no-text"]);
    let missing = search(&db, &["--mode", "text", "date"]);
    assert!(!missing.status.success());
    let report = index(&src, &db, &[]);
    assert_eq!(report["parsed"], 2, "{report}");
    let found = |q: &str| -> Vec<String> {
        ok_jsonl(&search(&db, &["--mode", "text", "--format", "jsonl", q]))[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(found("format date")[0], "formatDate");
    // A run with nothing changed parses nothing now that both indexes agree.
    assert_eq!(index(&src, &db, &[])["parsed"], 0);

    write(
        &src,
        "web/format.ts",
        "export function formatTime(d: Date): string {\n  return d.toTimeString();\n}\n",
    );
    std::fs::remove_file(src.join("net/http.py")).unwrap();
    index(&src, &db, &[]);
    assert_eq!(found("format time"), ["formatTime"]);
    assert!(found("http response").is_empty());
}
