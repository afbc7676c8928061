//! The BM25 index through its public API: ranking, filters, file replacement,
//! persistence and hostile queries.
#![cfg(feature = "tantivy")]

use codegraph_core::{Language, NodeId, NodeKind, TextIndex, TextQuery};
use codegraph_parse::ExtractOptions;
use codegraph_parse::extract::extract;
use codegraph_vector::{DocumentOptions, TantivyText, text_documents};

const PY: &str = r#"
class ResponseParser:
    """Turns raw bytes into responses."""

    def parse_http_response(self, data):
        """Parse an HTTP response from bytes."""
        return data.split(b"\r\n")

def open_connection(host, port):
    """Open a TCP connection to a host."""
    return (host, port)
"#;

const TS: &str = r#"
export function parseHttpResponse(raw: string): Response {
  return new Response(raw);
}
export class ConnectionPool {
  acquire(): Connection { return this.idle.pop(); }
}
"#;

fn parse(path: &str, source: &str) -> codegraph_core::ParsedFile {
    let language = codegraph_parse::language::detect(path, source.as_bytes()).unwrap();
    extract(
        language,
        path,
        source.as_bytes(),
        &ExtractOptions::default(),
    )
    .unwrap()
}

fn index_file(text: &TantivyText, path: &str, source: &str) {
    let parsed = parse(path, source);
    let docs = text_documents(&parsed, source.as_bytes(), &DocumentOptions::default());
    text.replace_file("p", path, parsed.content_hash, &docs)
        .unwrap();
}

fn hits(text: &TantivyText, query: TextQuery) -> Vec<NodeId> {
    text.search("p", &query)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn sorted(mut ids: Vec<NodeId>) -> Vec<NodeId> {
    ids.sort();
    ids
}

fn query(text: &str) -> TextQuery {
    TextQuery {
        text: text.into(),
        limit: 10,
        ..TextQuery::default()
    }
}

fn id_of(path: &str, source: &str, name: &str) -> NodeId {
    parse(path, source)
        .nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .id
}

#[test]
fn ranks_split_identifiers_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let text = TantivyText::open(dir.path()).unwrap();
    index_file(&text, "net/parser.py", PY);
    index_file(&text, "web/http.ts", TS);
    text.commit("p").unwrap();

    let py_parse = id_of("net/parser.py", PY, "parse_http_response");
    let ts_parse = id_of("web/http.ts", TS, "parseHttpResponse");
    let open = id_of("net/parser.py", PY, "open_connection");
    let found = hits(&text, query("parse http response"));
    assert!(found.len() >= 2, "{found:?}");
    assert!(
        found[..2].contains(&py_parse) && found[..2].contains(&ts_parse),
        "{found:?}"
    );

    // The exact identifier, and inflected words against a name and a docstring.
    assert_eq!(hits(&text, query("open_connection"))[0], open);
    assert_eq!(hits(&text, query("opens connections"))[0], open);

    let only_ts = TextQuery {
        languages: vec![Language::TypeScript],
        ..query("parse http response")
    };
    assert_eq!(hits(&text, only_ts), [ts_parse]);
    let only_methods = TextQuery {
        kinds: vec![NodeKind::Method],
        ..query("parse http response")
    };
    assert_eq!(hits(&text, only_methods), [py_parse]);
    let under_net = TextQuery {
        path_glob: Some("net/**".into()),
        ..query("parse")
    };
    let found = hits(&text, under_net);
    assert!(found.contains(&py_parse) && !found.contains(&ts_parse));
    let nowhere = TextQuery {
        path_glob: Some("vendor/**".into()),
        ..query("parse")
    };
    assert!(hits(&text, nowhere).is_empty());
    let bad_glob = TextQuery {
        path_glob: Some("a[".into()),
        ..query("parse")
    };
    // Not a glob: matched literally, as the graph store's filters do; no path is
    // called `a[`.
    assert!(hits(&text, bad_glob).is_empty());
}

#[test]
fn files_are_replaced_whole_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let edited = PY.replace("def open_connection(host, port):", "def close_all():");
    {
        let text = TantivyText::open(dir.path()).unwrap();
        index_file(&text, "net/parser.py", PY);
        index_file(&text, "web/http.ts", TS);
        text.commit("p").unwrap();
        // A new version of the file without `open_connection`.
        index_file(&text, "net/parser.py", &edited);
        text.remove_file("p", "web/http.ts").unwrap();
        text.commit("p").unwrap();
        let open = id_of("net/parser.py", PY, "open_connection");
        let close = id_of("net/parser.py", &edited, "close_all");
        assert!(!hits(&text, query("open_connection")).contains(&open));
        assert_eq!(hits(&text, query("close_all"))[0], close);
        let ts_parse = id_of("web/http.ts", TS, "parseHttpResponse");
        assert!(!hits(&text, query("parse http response")).contains(&ts_parse));
    }
    let text = TantivyText::open(dir.path()).unwrap();
    let hashes = text.file_hashes("p").unwrap();
    assert_eq!(
        hashes.get("net/parser.py"),
        Some(&parse("net/parser.py", &edited).content_hash)
    );
    assert_eq!(hashes.len(), 1, "{hashes:?}");
    assert!(!hits(&text, query("close_all")).is_empty());
    assert!(text.file_hashes("other").unwrap().is_empty());
}

/// Four rounds of edits to project `p`: files added, edited, removed, added back (`None`
/// removes).
fn rounds() -> [Vec<(&'static str, Option<String>)>; 4] {
    let (py, ts) = (PY.to_string(), TS.to_string());
    [
        vec![
            ("net/parser.py", Some(py.clone())),
            ("web/http.ts", Some(ts.clone())),
        ],
        vec![
            (
                "net/parser.py",
                Some(py.replace("open_connection", "connect")),
            ),
            ("web/http.ts", None),
        ],
        vec![
            ("web/http.ts", Some(ts.clone())),
            ("web/other.ts", Some(ts)),
        ],
        vec![("net/parser.py", None)],
    ]
}

fn apply(text: &TantivyText, changes: &[(&str, Option<String>)]) {
    for (path, source) in changes {
        match source {
            Some(source) => index_file(text, path, source),
            None => text.remove_file("p", path).unwrap(),
        }
    }
}

/// A long-lived writer keeps the file hashes in memory between commits; what it answers
/// must be what the index holds, as read back by a fresh reader.
#[test]
fn file_hashes_kept_by_a_writer_match_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = || {
        TantivyText::open(dir.path())
            .unwrap()
            .file_hashes("p")
            .unwrap()
    };
    let text = TantivyText::open(dir.path()).unwrap();
    let pairs = |h: std::collections::HashMap<String, u64>| {
        let mut v: Vec<(String, u64)> = h.into_iter().collect();
        v.sort();
        v
    };
    for (round, changes) in rounds().iter().enumerate() {
        let before = text.file_hashes("p").unwrap();
        apply(&text, changes);
        // Uncommitted changes do not count yet.
        assert_eq!(
            pairs(text.file_hashes("p").unwrap()),
            pairs(before),
            "round {round}"
        );
        text.commit("p").unwrap();
        assert_eq!(
            pairs(text.file_hashes("p").unwrap()),
            pairs(fresh()),
            "round {round}"
        );
    }
    let last = pairs(fresh());
    let paths: Vec<&str> = last.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["web/http.ts", "web/other.ts"]);
}

#[test]
fn a_long_lived_writer_answers_like_new_processes() {
    // One index written by a watcher (one long-lived writer, which sets up each next
    // segment right after a commit), one by a new process per round.
    let watcher_dir = tempfile::tempdir().unwrap();
    let rounds_dir = tempfile::tempdir().unwrap();
    let watcher = TantivyText::open(watcher_dir.path()).unwrap().long_lived();
    let queries = ["open connection", "connect", "parse", "http", "request"];
    for (round, changes) in rounds().iter().enumerate() {
        let process = TantivyText::open(rounds_dir.path()).unwrap();
        for text in [&watcher, &process] {
            apply(text, changes);
            text.commit("p").unwrap();
        }
        // The same documents; their order may differ where scores nearly tie: tantivy's
        // BM25 counts deleted documents, and the watcher's index holds one more per
        // commit (the set-up document) until a merge drops them, as it does the old
        // versions of replaced files.
        for q in queries {
            assert_eq!(
                sorted(hits(&watcher, query(q))),
                sorted(hits(&process, query(q))),
                "round {round}, {q:?}"
            );
        }
        assert_eq!(
            watcher.file_hashes("p").unwrap(),
            process.file_hashes("p").unwrap()
        );
    }
    // Reopened, as the next process finds it.
    drop(watcher);
    let reopened = TantivyText::open(watcher_dir.path()).unwrap();
    let process = TantivyText::open(rounds_dir.path()).unwrap();
    for q in queries {
        assert_eq!(
            sorted(hits(&reopened, query(q))),
            sorted(hits(&process, query(q))),
            "{q:?}"
        );
    }
    assert!(!hits(&reopened, query("http")).is_empty());
}

#[test]
fn a_commit_with_nothing_to_commit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        TantivyText::open(dir.path()).unwrap(),
        TantivyText::open(dir.path()).unwrap().long_lived(),
    ] {
        index_file(&text, "net/parser.py", PY);
        text.commit("p").unwrap();
        let meta = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|d| d.path().join("meta.json"))
            .find(|p| p.exists())
            .unwrap();
        let before = std::fs::read(&meta).unwrap();
        // A run that changed nothing still commits; no new opstamp is written.
        text.commit("p").unwrap();
        assert_eq!(std::fs::read(&meta).unwrap(), before);
    }
}

#[test]
fn any_query_string_is_safe() {
    let dir = tempfile::tempdir().unwrap();
    let text = TantivyText::open(dir.path()).unwrap();
    index_file(&text, "net/parser.py", PY);
    text.commit("p").unwrap();
    for q in [
        "",
        "   ",
        "(((",
        "foo(",
        "a:b",
        "\"unclosed",
        "-",
        "*",
        "über straße",
        "\u{0}",
        "AND OR NOT",
    ] {
        text.search("p", &query(q)).unwrap();
    }
    let zero = TextQuery {
        limit: 0,
        ..query("parse")
    };
    assert!(text.search("p", &zero).unwrap().is_empty());
    // Project names are whatever a user typed.
    for project in ["../../etc", "a/b", "", "名前"] {
        text.search(project, &query("parse")).unwrap();
    }
}
