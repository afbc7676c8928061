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
    let half = search(&db, &["--mode", "semantic", "--embed-model", "m", "date"]);
    assert!(!half.status.success());
    assert!(String::from_utf8_lossy(&half.stderr).contains("needs --embed-url"));
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

#[test]
fn near_boosts_what_the_caller_is_looking_at() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    let body = "def load_settings(path):\n    return open(path).read()\n";
    write(&src, "alpha/config.py", body);
    write(&src, "beta/config.py", body);
    write(
        &src,
        "beta/app.py",
        "from beta.config import load_settings\n\ndef start():\n    load_settings('x')\n",
    );
    index(&src, &db, &[]);
    let first = |extra: &[&str]| -> String {
        let mut args = vec!["--mode", "text", "--format", "jsonl", "load settings"];
        args.extend_from_slice(extra);
        ok_jsonl(&search(&db, &args))[0]["results"][0]["path"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Equal text scores: ties go by node id, whichever that is; --near decides.
    assert_eq!(first(&["--near", "alpha"]), "alpha/config.py");
    assert_eq!(first(&["--near", "beta/"]), "beta/config.py");
    // A symbol: its graph neighbourhood (start calls beta's load_settings).
    assert_eq!(first(&["--near", "start"]), "beta/config.py");
    // Naming nothing boosts nothing: the search still answers, and says so.
    let nowhere = search(&db, &["--mode", "text", "--near", "nowhere", "x"]);
    assert!(nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("neither a path"));
}

/// Needs a sentence-transformer directory in `CODEGRAPH_MODEL_DIR` (`.ci/run` fetches
/// all-MiniLM-L6-v2 with pip):
/// `cargo test -p codegraph-server --test search_cli -- --ignored`.
#[test]
#[ignore = "needs CODEGRAPH_MODEL_DIR"]
fn semantic_and_hybrid_search_with_a_local_model() {
    let model = std::env::var("CODEGRAPH_MODEL_DIR").expect("set CODEGRAPH_MODEL_DIR");
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    let model_args = ["--model-dir", model.as_str(), "--max-tokens", "64"];
    let report = index(&src, &db, &model_args);
    let embeddings = &report["embeddings"];
    // parse_http_response, ConnectionPool, acquire, formatDate.
    assert_eq!(embeddings["vectors"], 4, "{report}");
    assert_eq!(embeddings["embedded"], 4, "{report}");

    let names = |mode: &str, q: &str| -> Vec<String> {
        let mut args = vec!["--mode", mode, "--format", "jsonl", "--limit", "2"];
        args.extend_from_slice(&model_args);
        args.push(q);
        ok_jsonl(&search(&db, &args))[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    // No word of these queries is in the code it should find.
    assert_eq!(
        names("semantic", "convert a timestamp to text")[0],
        "formatDate"
    );
    assert_eq!(
        names("semantic", "reuse network sockets")[0],
        "ConnectionPool"
    );
    assert_eq!(names("hybrid", "format date")[0], "formatDate");
    let filtered = {
        let mut args = vec![
            "--mode", "semantic", "--format", "jsonl", "--lang", "python",
        ];
        args.extend_from_slice(&model_args);
        args.push("convert a timestamp to text");
        ok_jsonl(&search(&db, &args))
    };
    assert!(
        filtered[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["path"].as_str().unwrap().ends_with(".py"))
    );

    // Nothing changed: nothing embedded. One function edited: only it.
    let again = index(&src, &db, &model_args);
    assert_eq!(again["parsed"], 0, "{again}");
    write(
        &src,
        "web/format.ts",
        "export function formatDate(d: Date): string {\n  return d.toUTCString();\n}\n",
    );
    let edited = index(&src, &db, &model_args);
    assert_eq!(edited["embeddings"]["embedded"], 1, "{edited}");
    assert_eq!(edited["embeddings"]["vectors"], 4, "{edited}");

    // Queries embedded by another configuration are refused, not silently compared.
    let other = search(
        &db,
        &[
            "--mode",
            "semantic",
            "--model-dir",
            &model,
            "--max-tokens",
            "32",
            "x",
        ],
    );
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("index again"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
}

#[test]
fn embeddings_from_an_http_provider_are_kept_in_step_and_searched() {
    let (url, seen) = common::fake_embedding_api(std::time::Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    let api = ["--embed-url", url.as_str(), "--embed-model", "fake-model"];
    let run_index = || -> serde_json::Value {
        let out = run(codegraph()
            .env("CODEGRAPH_EMBED_API_KEY", "secret-key")
            .arg("index")
            .arg(&src)
            .arg("--db")
            .arg(&db)
            .args(["--project", "demo", "--json", "-q"])
            .args(api));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let report = run_index();
    assert_eq!(report["embeddings"]["vectors"], 4, "{report}");
    assert_eq!(report["embeddings"]["embedded"], 4, "{report}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|h| h.contains("Bearer secret-key"))
    );

    let first = |mode: &str, q: &str| -> String {
        let mut args = vec!["--mode", mode, "--format", "jsonl"];
        args.extend_from_slice(&api);
        args.push(q);
        ok_jsonl(&search(&db, &args))[0]["results"][0]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        first("semantic", "formatDate(d: Date): string"),
        "formatDate"
    );
    assert_eq!(
        first("hybrid", "parse http response"),
        "parse_http_response"
    );
    // Both fusions; weights that zero one list give the other's ranking. On "split
    // data" the two lists disagree at the top.
    let top = |extra: &[&str], q: &str| -> String {
        let mut args = vec!["--format", "jsonl"];
        args.extend_from_slice(&api);
        args.extend_from_slice(extra);
        args.push(q);
        ok_jsonl(&search(&db, &args))[0]["results"][0]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hybrid_rrf = ["--mode", "hybrid", "--fusion", "rrf"];
    assert_eq!(
        top(&hybrid_rrf, "parse http response"),
        "parse_http_response"
    );
    let (text, semantic) = (
        top(&["--mode", "text"], "split data"),
        top(&["--mode", "semantic"], "split data"),
    );
    assert_ne!(text, semantic);
    for fusion in ["scores", "rrf", "min-max"] {
        let weighted = |w: &str| {
            top(
                &["--mode", "hybrid", "--fusion", fusion, "--weights", w],
                "split data",
            )
        };
        assert_eq!(weighted("1,0,0"), text, "{fusion}");
        assert_eq!(weighted("0,1,0"), semantic, "{fusion}");
    }
    let bad = search(&db, &["--mode", "hybrid", "--weights", "1,2", "x"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--weights"), "{stderr}");

    // Unchanged: nothing parsed, nothing sent. One file gone: its vectors go too.
    let before = seen.lock().unwrap().len();
    assert_eq!(run_index()["parsed"], 0);
    assert_eq!(seen.lock().unwrap().len(), before);
    std::fs::remove_file(src.join("web/format.ts")).unwrap();
    let after = run_index();
    assert_eq!(after["embeddings"]["vectors"], 3, "{after}");
    assert_eq!(after["embeddings"]["embedded"], 0, "{after}");
    assert_ne!(
        first("semantic", "formatDate(d: Date): string"),
        "formatDate"
    );
}
