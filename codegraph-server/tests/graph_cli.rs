//! `codegraph index`, `query`, `export` and `check`, driven as a user drives them.

mod common;

use std::path::Path;

use common::{codegraph, run, stdout, write};

fn project(root: &Path) {
    write(root, "app/__init__.py", "");
    write(
        root,
        "app/core.py",
        "class Engine:\n    def start(self):\n        return self.check()\n\n    def check(self):\n        return helper()\n\ndef helper():\n    return 1\n",
    );
    write(
        root,
        "app/main.py",
        "from app.core import Engine, helper\n\ndef main():\n    e = Engine()\n    e.start()\n    helper()\n",
    );
}

fn index(src: &Path, db: &Path) -> serde_json::Value {
    let out = run(codegraph().arg("index").arg(src).arg("--db").arg(db).args([
        "--project",
        "demo",
        "--json",
        "-q",
    ]));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

fn query(db: &Path, args: &[&str]) -> String {
    stdout(&run(codegraph()
        .arg("query")
        .arg("--db")
        .arg(db)
        .args(args)))
}

#[test]
fn index_then_query_then_update() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    let first = index(&src, &db);
    assert_eq!(first["parsed"], 3);
    assert_eq!(first["full"], true);

    let callers = query(&db, &["callers", "helper"]);
    assert!(
        callers.contains("app/core.py:6  method app.core.Engine.check"),
        "{callers}"
    );
    assert!(
        callers.contains("app/main.py:6  function app.main.main"),
        "{callers}"
    );
    let callees = query(&db, &["--format", "jsonl", "callees", "app.main.main"]);
    let names: Vec<String> = callees
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["qualified_name"].to_string()
        })
        .collect();
    assert_eq!(
        names,
        // `e = Engine()` types `e`, so `e.start()` is an (inferred) edge.
        [
            "\"app.core.Engine\"",
            "\"app.core.Engine.start\"",
            "\"app.core.helper\""
        ]
    );
    let impact = query(&db, &["impact", "app.core.helper", "--depth", "3"]);
    assert!(impact.contains("method app.core.Engine.check"), "{impact}");
    assert!(
        impact.contains("  method app.core.Engine.start"),
        "{impact}"
    );
    let path = query(&db, &["path", "app.main.main", "app.core.helper"]);
    assert_eq!(path.lines().count(), 2, "{path}");
    let outline = query(&db, &["outline", "app/core.py"]);
    assert!(
        outline.contains("class app.core.Engine  app/core.py:1\n  method app.core.Engine.start"),
        "{outline}"
    );
    let fuzzy = query(&db, &["find", "--fuzzy", "hlpr"]);
    assert!(fuzzy.starts_with("function app.core.helper"), "{fuzzy}");
    let prefix = query(&db, &["--format", "json", "find", "--prefix", "st"]);
    assert!(
        prefix.contains("\"qualified_name\": \"app.core.Engine.start\""),
        "{prefix}"
    );
    let dot = query(&db, &["--format", "dot", "neighbours", "app.core.helper"]);
    assert!(dot.starts_with("digraph codegraph {"), "{dot}");
    assert!(dot.contains("[label=\"calls\""), "{dot}");

    // Export is deterministic and documents every edge.
    let export = || stdout(&run(codegraph().arg("export").arg("--db").arg(&db)));
    let (e1, e2) = (export(), export());
    assert_eq!(e1, e2);
    let first_node: serde_json::Value = serde_json::from_str(e1.lines().next().unwrap()).unwrap();
    for field in [
        "type",
        "id",
        "kind",
        "name",
        "qualified_name",
        "language",
        "path",
        "line",
        "end_line",
    ] {
        assert!(
            first_node.get(field).is_some(),
            "{field} missing: {first_node}"
        );
    }
    let call_edge = e1
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "edge" && v["kind"] == "calls")
        .unwrap();
    for field in ["src", "dst", "resolution", "line"] {
        assert!(
            call_edge.get(field).is_some(),
            "{field} missing: {call_edge}"
        );
    }

    // Nothing changed: nothing parsed.
    let again = index(&src, &db);
    assert_eq!(
        (again["parsed"].clone(), again["resolved"].clone()),
        (0.into(), 0.into())
    );
    // One file changed: it alone is parsed; a file it affects is resolved again.
    write(
        &src,
        "app/core.py",
        "class Engine:\n    def start(self):\n        return self.check()\n\n    def check(self):\n        return 0\n\ndef helper():\n    return 1\n\ndef extra():\n    helper()\n",
    );
    let update = index(&src, &db);
    assert_eq!(update["parsed"], 1);
    assert_eq!(update["full"], false);
    let callers = query(&db, &["callers", "helper"]);
    assert!(!callers.contains("Engine.check"), "{callers}");
    assert!(callers.contains("app.core.extra"), "{callers}");
    // A vanished file disappears from the graph.
    std::fs::remove_file(src.join("app/main.py")).unwrap();
    let removal = index(&src, &db);
    assert_eq!(removal["removed"], 1);
    let callers = query(&db, &["callers", "helper"]);
    assert!(!callers.contains("app/main.py"), "{callers}");
    run(codegraph().arg("check").arg("--db").arg(&db));
}

#[test]
fn bad_stores_and_symbols_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "junk/notes.txt", "not a store");
    let out = codegraph()
        .args(["query", "--db"])
        .arg(dir.path().join("junk"))
        .args(["find", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no CodeGraph store"), "{err}");

    let out = codegraph()
        .args(["query", "--db"])
        .arg(dir.path().join("missing"))
        .args(["find", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));

    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    index(&src, &db);
    let out = codegraph()
        .arg("query")
        .arg("--db")
        .arg(&db)
        .args(["callers", "no_such_symbol"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no symbol \"no_such_symbol\""));
}

/// A project big enough that indexing takes a while: 1,500 modules calling each other.
fn big_project(root: &Path) {
    for i in 0..1500 {
        let next = (i + 1) % 1500;
        let mut text = format!("from m{next} import f{next}\n\n");
        for j in 0..20 {
            text += &format!(
                "def g{i}_{j}(x):\n    return f{next}(x) + g{i}_{}(x)\n\n",
                (j + 1) % 20
            );
        }
        text += &format!("def f{i}(x):\n    return g{i}_0(x)\n");
        write(root, &format!("m{i}.py"), &text);
    }
}

#[test]
fn kill_during_indexing_leaves_a_sound_store_and_the_next_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    big_project(&src);
    // Kill at several points: early (parsing), later (writing or resolving).
    for delay_ms in [150u64, 600, 1200] {
        let _ = std::fs::remove_dir_all(&db);
        let mut child = codegraph()
            .arg("index")
            .arg(&src)
            .arg("--db")
            .arg(&db)
            .args(["--project", "big", "-q"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SIGKILL: no destructors, no flush.
        let _ = child.kill();
        let _ = child.wait();
        if !db.join("CURRENT").exists() {
            continue;
        }
        let check = codegraph()
            .arg("check")
            .arg("--db")
            .arg(&db)
            .args(["--project", "big"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&check.stderr);
        // The store opens; when the project exists, it has no dangling edge.
        if !stderr.contains("no project") && !stderr.contains("holds no project") {
            assert!(
                check.status.success(),
                "after a kill at {delay_ms} ms:\n{}\n{stderr}",
                stdout(&check)
            );
        }
        // The next run finishes the work and equals a clean build.
        let report = index_named(&src, &db, "big");
        assert!(report["source_error"].is_null());
        run(codegraph()
            .arg("check")
            .arg("--db")
            .arg(&db)
            .args(["--project", "big"]));
        let clean = dir.path().join(format!("clean{delay_ms}"));
        index_named(&src, &clean, "big");
        let export = |db: &Path| stdout(&run(codegraph().arg("export").arg("--db").arg(db)));
        assert!(
            export(&db) == export(&clean),
            "after a kill at {delay_ms} ms the graph differs from a clean build"
        );
    }
}

fn index_named(src: &Path, db: &Path, project: &str) -> serde_json::Value {
    let out = run(codegraph().arg("index").arg(src).arg("--db").arg(db).args([
        "--project",
        project,
        "--json",
        "-q",
    ]));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn watch_applies_edits_as_they_happen() {
    use std::io::{BufRead, BufReader, Write as _};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let db = dir.path().join("db");
    project(&src);
    let mut child = codegraph()
        .arg("index")
        .arg(&src)
        .arg("--db")
        .arg(&db)
        .args(["--project", "demo", "--json", "-q", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // One JSON report per run: the first index, then one per burst of edits.
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_report = |what: &str| -> serde_json::Value {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no report after {what}"));
        serde_json::from_str(&line).unwrap()
    };
    let first = next_report("starting");
    assert_eq!(first["parsed"], 3, "{first}");
    // The watch is armed before the first run, so this edit cannot fall in a gap.
    write(
        &src,
        "app/extra.py",
        "from app.core import helper\n\ndef extra():\n    return helper()\n",
    );
    let second = next_report("adding a file");
    assert_eq!(second["parsed"], 1, "{second}");
    // Indexing reads files and lists directories, which the watch is told of too: those
    // must not set off run after run.
    if let Ok(line) = rx.recv_timeout(Duration::from_millis(1500)) {
        panic!("a run with nothing changed: {line}");
    }
    // Readers open the store read-only, so they answer while the watcher holds it.
    let callers = query(&db, &["--project", "demo", "callers", "app.core.helper"]);
    assert!(callers.contains("app.extra.extra"), "{callers}");

    // `codegraph index` of the same directory, project and options hands its run to
    // the watcher (it cannot open the store the watcher holds) and prints its report.
    write(
        &src,
        "app/more.py",
        "from app.extra import extra\n\ndef more():\n    return extra()\n",
    );
    let handed = index(&src, &db);
    assert_eq!(handed["parsed"], 1, "{handed}");
    assert_eq!(handed["unchanged"], 4, "{handed}");
    let callers = query(&db, &["--project", "demo", "callers", "app.extra.extra"]);
    assert!(callers.contains("app.more.more"), "{callers}");
    // The watcher logs the run it made for the other process.
    let logged = next_report("a handed-over run");
    assert_eq!(logged["parsed"], 1, "{logged}");
    // A file edited in place: the watcher has seen its events (it waits for them before
    // running), so it looks at that file alone, and no run of its own follows.
    std::fs::OpenOptions::new()
        .append(true)
        .open(src.join("app/more.py"))
        .unwrap()
        .write_all(b"\ndef most():\n    return more()\n")
        .unwrap();
    let edited = index(&src, &db);
    assert_eq!(edited["parsed"], 1, "{edited}");
    assert_eq!(edited["unchanged"], 4, "{edited}");
    assert_eq!(edited["walk"]["kind"], "changed", "{edited}");
    assert_eq!(edited["walk"]["examined"], 1, "{edited}");
    let callers = query(&db, &["--project", "demo", "callers", "app.more.more"]);
    assert!(callers.contains("app.more.most"), "{callers}");
    assert_eq!(next_report("an edit handed over")["parsed"], 1);
    if let Ok(line) = rx.recv_timeout(Duration::from_millis(1000)) {
        panic!("a run of the watcher's own after a handed-over one: {line}");
    }
    // A removal is not answered from events alone: the directory is looked at again.
    std::fs::remove_file(src.join("app/more.py")).unwrap();
    let removed = index(&src, &db);
    assert_eq!(removed["removed"], 1, "{removed}");
    assert_eq!(removed["walk"]["kind"], "cached", "{removed}");
    next_report("a removal handed over");
    // Anything else is refused, with the reason.
    let refused = |args: &[&str]| {
        let out = codegraph()
            .arg("index")
            .arg(&src)
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&["--project", "other", "-q"]);
    assert!(
        err.contains("held by a `codegraph index --watch` that indexes project \"demo\""),
        "{err}"
    );
    let err = refused(&["--project", "demo", "--no-text", "-q"]);
    assert!(err.contains("indexes with other options"), "{err}");

    // A watcher killed outright leaves its socket behind; nobody answers there, so the
    // next `codegraph index` opens the store itself.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(db.join("watch.sock").exists());
    write(
        &src,
        "app/more.py",
        "from app.core import helper\n\ndef more():\n    return helper()\n",
    );
    let alone = index(&src, &db);
    assert_eq!(alone["parsed"], 1, "{alone}");
    let callers = query(&db, &["--project", "demo", "callers", "app.core.helper"]);
    assert!(callers.contains("app.more.more"), "{callers}");
}

/// A `codegraph index` finding the store held by another writer says who holds it and
/// waits for it instead of failing.
#[test]
fn a_store_held_by_another_writer_is_waited_for() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    project(&src);
    index(&src, &db);
    // This test process is the other writer.
    let held = codegraph::store::RocksStore::open(&db).unwrap();
    write(&src, "app/extra.py", "def extra():\n    return 1\n");
    let mut child = codegraph()
        .arg("index")
        .arg(&src)
        .arg("--db")
        .arg(&db)
        .args(["--project", "demo", "--json", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert!(said.contains("waiting"), "{said}");
    assert!(
        said.contains(&format!(
            "open for writing by process {}",
            std::process::id()
        )),
        "{said}"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["parsed"], 1, "{report}");
}

/// A `codegraph index` arriving while a watcher makes its first run (which can take
/// minutes on a large tree) waits for its turn and is then answered by the watcher.
#[test]
fn a_run_arriving_during_a_watchers_first_run_waits_for_it() {
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let (src, db) = (dir.path().join("src"), dir.path().join("db"));
    big_project(&src);
    let mut watcher = codegraph()
        .arg("index")
        .arg(&src)
        .arg("--db")
        .arg(&db)
        .args(["--project", "big", "-q", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the store exists the watcher holds it and is in its first run (1,500 files).
    let start = std::time::Instant::now();
    while !db.join("CURRENT").exists() {
        assert!(
            start.elapsed().as_secs() < 60,
            "the watcher never opened the store"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let report = index_named(&src, &db, "big");
    watcher.kill().unwrap();
    watcher.wait().unwrap();
    assert_eq!(report["source_error"], serde_json::Value::Null, "{report}");
    assert_eq!(
        report["parsed"].as_u64().unwrap() + report["unchanged"].as_u64().unwrap(),
        1500,
        "{report}"
    );
    run(codegraph()
        .arg("check")
        .arg("--db")
        .arg(&db)
        .args(["--project", "big"]));
}
