//! The `codegraph` binary, driven as a user drives it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{codegraph, jsonl, run};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegraph-parse/tests/fixtures")
}

#[test]
fn symbols_jsonl_has_the_documented_fields() {
    let out = run(codegraph().arg("symbols").arg(fixtures()));
    let rows = jsonl(&out);
    assert!(rows.len() > 150, "{} rows", rows.len());
    for row in &rows {
        for field in [
            "path",
            "name",
            "qualified_name",
            "kind",
            "language",
            "line",
            "end_line",
            "id",
        ] {
            assert!(row.get(field).is_some(), "{field} missing in {row}");
        }
        assert!(!row["path"].as_str().unwrap().contains('\\'));
        assert!(row["line"].as_u64().unwrap() >= 1);
        assert!(row["end_line"].as_u64() >= row["line"].as_u64());
        assert_ne!(row["kind"], "import");
        assert_ne!(row["kind"], "file");
    }
    let new = rows
        .iter()
        .find(|r| r["qualified_name"] == "Circle::new")
        .expect("Circle::new");
    assert_eq!(new["path"], "rust/src/lib.rs");
    assert_eq!(new["kind"], "method");
    assert_eq!(new["language"], "rust");
    assert_eq!(new["line"], 37);
    assert_eq!(new["end_line"], 41);
    // Sorted by path, then position.
    let keys: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The summary goes to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("files") && stderr.contains("definitions"),
        "{stderr}"
    );
}

#[test]
fn output_is_deterministic() {
    let one = run(codegraph().args(["symbols", "-q"]).arg(fixtures()));
    let two = run(codegraph()
        .args(["symbols", "-q", "-j", "1"])
        .arg(fixtures()));
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn language_and_kind_filters() {
    let out = run(codegraph()
        .args(["symbols", "-q", "--lang", "go,java", "--kind", "method"])
        .arg(fixtures()));
    let rows = jsonl(&out);
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| (r["language"] == "go" || r["language"] == "java") && r["kind"] == "method")
    );
    let bad = codegraph()
        .args(["symbols", "--lang", "cobol"])
        .arg(fixtures())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cobol"));
}

#[test]
fn json_is_one_array() {
    let out = run(codegraph()
        .args(["symbols", "-q", "--format", "json", "--doc"])
        .arg(fixtures().join("go")));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = value.as_array().unwrap();
    assert!(rows.iter().any(|r| r["doc"] == "Serve serves."));
}

#[test]
fn ctags_output_is_sorted_for_vim() {
    let dir = tempfile::tempdir().unwrap();
    let tags = dir.path().join("tags");
    run(codegraph()
        .args(["symbols", "-q", "--format", "ctags", "-o"])
        .arg(&tags)
        .arg(fixtures()));
    let text = std::fs::read_to_string(&tags).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("!_TAG_FILE_FORMAT\t2"));
    assert!(text.contains("!_TAG_FILE_SORTED\t1"));
    let tag_lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("!_")).collect();
    let mut sorted = tag_lines.clone();
    sorted.sort_unstable();
    assert_eq!(
        tag_lines, sorted,
        "byte-sorted, as vim's binary search needs"
    );
    let new = tag_lines
        .iter()
        .find(|l| l.starts_with("new\trust/src/lib.rs\t"))
        .expect("tag for Circle::new");
    let fields: Vec<&str> = new.split('\t').collect();
    assert_eq!(fields[2], "37;\"");
    assert!(fields.contains(&"kind:method"));
    assert!(fields.contains(&"struct:Circle"));
    assert!(tag_lines.iter().all(|l| l.split('\t').count() >= 4));
}

#[test]
fn etags_output_for_emacs() {
    let out = run(codegraph()
        .args(["symbols", "-q", "--format", "etags"])
        .arg(fixtures().join("python")));
    let text = String::from_utf8(out.stdout).unwrap();
    let sections: Vec<&str> = text.split('\x0c').filter(|s| !s.is_empty()).collect();
    assert!(!sections.is_empty());
    for section in sections {
        let mut lines = section.trim_start_matches('\n').splitn(2, '\n');
        let header = lines.next().unwrap();
        let (_, size) = header.rsplit_once(',').unwrap();
        let body = lines.next().unwrap_or("");
        assert_eq!(
            size.parse::<usize>().unwrap(),
            body.len(),
            "section size in {header}"
        );
        for entry in body.lines() {
            assert!(
                entry.contains('\x7f') && entry.contains('\x01'),
                "{entry:?}"
            );
        }
    }
    assert!(text.contains("def area_of\x7farea_of\x0111,"), "{text}");
}

fn tar_of_fixtures() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_dir_all("src", fixtures().join("python"))
        .unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn tar_on_standard_input() {
    let mut child = codegraph()
        .args(["symbols", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&tar_of_fixtures())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = jsonl(&out);
    assert!(
        rows.iter()
            .any(|r| r["path"] == "src/shapes/core.py" && r["name"] == "area_of")
    );
}

#[test]
fn archives_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    std::fs::write(&path, tar_of_fixtures()).unwrap();
    let rows = jsonl(&run(codegraph().args(["symbols", "-q"]).arg(&path)));
    assert!(
        rows.iter()
            .any(|r| r["qualified_name"] == "shapes.core.Shape.area")
    );
}

#[test]
fn skipped_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.py"), "def ok(): pass\n").unwrap();
    std::fs::write(dir.path().join("blob.py"), b"\x00\x01\x02def x(): pass").unwrap();
    let report = dir.path().join("skipped.jsonl");
    let out = run(codegraph()
        .arg("symbols")
        .arg(dir.path())
        .arg("--skipped-report")
        .arg(&report));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("blob.py: binary"), "{stderr}");
    let report = std::fs::read_to_string(report).unwrap();
    let row: serde_json::Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
    assert_eq!(row["path"], "blob.py");
    assert_eq!(row["reason"], "binary");
}

#[test]
fn bad_inputs_fail_with_clear_messages() {
    let out = codegraph()
        .args(["symbols", "/no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/no/such/dir"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out = codegraph()
        .args(["symbols", "--rev", "HEAD"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
}

#[test]
fn ast_prints_the_tree() {
    let out = run(codegraph()
        .arg("ast")
        .arg(fixtures().join("go/server/server.go")));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("source_file"));
    assert!(text.contains("name: field_identifier"));
}
