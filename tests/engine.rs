//! The engine through its public API: `Db` indexing, searching and answering graph
//! queries, on both backends.

use std::path::Path;

use codegraph::parse::source::MemorySource;
use codegraph::{
    Backend, Budget, Cancel, Db, DbOptions, Error, Filters, IndexConfig, IndexReport, Input, Match,
    Mode, Progress, SearchRequest,
};

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn sample(root: &Path) {
    write(root, "app/__init__.py", "");
    write(
        root,
        "app/config.py",
        "def load_settings(path):\n    \"\"\"Read the settings file from disk.\"\"\"\n    return open(path).read()\n",
    );
    write(
        root,
        "app/main.py",
        "from app.config import load_settings\n\ndef main():\n    return load_settings('app.toml')\n",
    );
}

fn memory() -> DbOptions {
    DbOptions {
        backend: Backend::Memory,
        ..DbOptions::default()
    }
}

fn index(db: &Db, dir: &Path) -> codegraph::Result<IndexReport> {
    db.index(
        "app",
        Input::directory(dir),
        &IndexConfig::default(),
        &Progress::default(),
        &Cancel::new(),
    )
}

fn caller_names(db: &Db, symbol: &str) -> Vec<String> {
    let node = db.symbol("app", symbol, &Budget::unlimited()).unwrap();
    let mut names: Vec<String> = db
        .callers("app", node.id, &Budget::unlimited())
        .unwrap()
        .into_iter()
        .map(|r| r.node.qualified_name)
        .collect();
    names.sort();
    names
}

fn each_backend(test: impl Fn(DbOptions)) {
    test(memory());
    test(DbOptions::default());
}

#[test]
fn indexes_searches_and_answers_on_both_backends() {
    each_backend(|options| {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        sample(&src);
        let db = Db::open(tmp.path().join("db"), options).unwrap();
        let first = index(&db, &src).unwrap();
        assert_eq!((first.parsed, first.full), (3, true));
        assert_eq!(
            first.walk.map(|_| ()),
            Some(()),
            "a directory reports its walk"
        );
        assert_eq!(db.projects().unwrap(), ["app"]);
        assert_eq!(caller_names(&db, "load_settings"), ["app.main.main"]);

        let hits = db
            .find(
                "app",
                "load",
                Match::Prefix,
                &Filters::default(),
                10,
                &Budget::unlimited(),
            )
            .unwrap();
        assert_eq!(hits[0].node.qualified_name, "app.config.load_settings");

        let found = db
            .search(
                "app",
                &SearchRequest::new("read settings file").mode(Mode::Text),
            )
            .unwrap();
        assert_eq!(found.mode, Mode::Text);
        assert_eq!(found.results[0].name, "load_settings");

        // An edit: only the changed file is parsed, and the graph follows it.
        write(
            &src,
            "app/cli.py",
            "from app.config import load_settings\n\ndef run():\n    load_settings('x')\n",
        );
        let second = index(&db, &src).unwrap();
        assert_eq!((second.parsed, second.unchanged), (1, 3));
        assert_eq!(
            caller_names(&db, "load_settings"),
            ["app.cli.run", "app.main.main"]
        );
        std::fs::remove_file(src.join("app/cli.py")).unwrap();
        let third = index(&db, &src).unwrap();
        assert_eq!(third.removed, 1);
        assert_eq!(caller_names(&db, "load_settings"), ["app.main.main"]);
        assert!(db.verify("app").unwrap().is_empty());
    });
}

#[test]
fn a_hybrid_search_without_a_model_says_it_answered_from_text() {
    let tmp = tempfile::tempdir().unwrap();
    sample(&tmp.path().join("src"));
    let db = Db::open(tmp.path().join("db"), memory()).unwrap();
    index(&db, &tmp.path().join("src")).unwrap();
    let hybrid = db.search("app", &SearchRequest::new("settings")).unwrap();
    assert_eq!(hybrid.mode, Mode::Text);
    assert!(hybrid.notes[0].contains("falls back"), "{:?}", hybrid.notes);
    let semantic = db.search("app", &SearchRequest::new("settings").mode(Mode::Semantic));
    assert!(
        matches!(semantic, Err(Error::Unsupported(_))),
        "{semantic:?}"
    );
    let bad_glob = SearchRequest {
        path_glob: Some("[".into()),
        ..SearchRequest::new("settings")
    };
    // Not a glob: matched literally (no path is called `[`), as every filter does.
    let none = db.search("app", &bad_glob).unwrap();
    assert!(none.results.is_empty(), "{:?}", none.results);
    assert!(matches!(
        db.search("nope", &SearchRequest::new("x")),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn a_second_writer_is_told_who_holds_the_store_and_readers_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    sample(&tmp.path().join("src"));
    let dir = tmp.path().join("db");
    let db = Db::open(&dir, DbOptions::default()).unwrap();
    index(&db, &tmp.path().join("src")).unwrap();
    match Db::open(&dir, DbOptions::default()) {
        Err(Error::Busy { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("expected Busy, got {:?}", other.map(|_| ())),
    }
    let reader = Db::open_read_only(&dir, DbOptions::default()).unwrap();
    assert_eq!(caller_names(&reader, "load_settings"), ["app.main.main"]);
    assert!(
        index(&reader, &tmp.path().join("src")).is_err(),
        "readers never write"
    );
}

#[test]
fn a_cancelled_run_stops_and_the_next_one_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    sample(&src);
    let db = Db::open(tmp.path().join("db"), DbOptions::default()).unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let stopped = db.index(
        "app",
        Input::directory(&src),
        &IndexConfig::default(),
        &Progress::default(),
        &cancel,
    );
    assert!(matches!(stopped, Err(Error::Stopped)), "{stopped:?}");
    let done = index(&db, &src).unwrap();
    assert_eq!(done.parsed, 3);
    assert_eq!(caller_names(&db, "load_settings"), ["app.main.main"]);
}

#[test]
fn any_source_indexes_and_a_removed_project_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path().join("db"), DbOptions::default()).unwrap();
    let files = vec![
        (
            "lib.rs".to_string(),
            b"pub fn area() -> u32 { 6 }\n".to_vec(),
        ),
        ("../escape.rs".to_string(), b"fn x() {}\n".to_vec()),
    ];
    let report = db
        .index(
            "mem",
            Input::source(MemorySource::new("test", files)),
            &IndexConfig::default(),
            &Progress::default(),
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!((report.parsed, report.skipped), (1, 1));
    assert_eq!(report.walk, None);
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "project",
        "parsed",
        "skipped_files",
        "seconds",
        "disk_bytes",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    let text = SearchRequest::new("area").mode(Mode::Text);
    assert_eq!(db.search("mem", &text).unwrap().results.len(), 1);
    db.remove_project("mem").unwrap();
    assert!(db.projects().unwrap().is_empty());
    assert!(db.search("mem", &text).is_err());
    // Indexed again, the full-text index holds nothing from before.
    let again = db
        .index(
            "mem",
            Input::source(MemorySource::new("test", Vec::new())),
            &IndexConfig::default(),
            &Progress::default(),
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(again.parsed, 0);
    assert!(db.search("mem", &text).unwrap().results.is_empty());
}

#[test]
fn a_long_lived_db_looks_at_just_the_paths_it_is_told_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    sample(&src);
    let options = DbOptions {
        long_lived: true,
        ..DbOptions::default()
    };
    let db = Db::open(tmp.path().join("db"), options).unwrap();
    index(&db, &src).unwrap();
    write(
        &src,
        "app/main.py",
        "from app.config import load_settings\n\ndef main():\n    pass\n",
    );
    let told = db
        .index(
            "app",
            Input::Directory {
                path: src.clone(),
                changed: Some(vec![src.join("app/main.py")]),
            },
            &IndexConfig::default(),
            &Progress::default(),
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(told.parsed, 1);
    assert_eq!(
        told.walk,
        Some(codegraph::WalkReport::Changed { examined: 1 })
    );
    let all = Budget::unlimited();
    let node = db.symbol("app", "load_settings", &all).unwrap();
    assert!(db.callers("app", node.id, &all).unwrap().is_empty());
    db.flush().unwrap();
}

#[test]
fn projects_of_one_db_index_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    sample(&src);
    let db = Db::open(tmp.path().join("db"), DbOptions::default()).unwrap();
    std::thread::scope(|s| {
        for project in ["one", "two"] {
            let (db, src) = (&db, &src);
            s.spawn(move || {
                let report = db
                    .index(
                        project,
                        Input::directory(src),
                        &IndexConfig::default(),
                        &Progress::default(),
                        &Cancel::new(),
                    )
                    .unwrap();
                assert_eq!(report.parsed, 3);
            });
        }
    });
    assert_eq!(db.projects().unwrap(), ["one", "two"]);
    for project in ["one", "two"] {
        assert!(db.verify(project).unwrap().is_empty());
        let found = db
            .search(project, &SearchRequest::new("settings").mode(Mode::Text))
            .unwrap();
        assert_eq!(found.results[0].name, "load_settings");
    }
}

#[test]
fn the_repo_map_ranks_what_everything_calls_and_follows_a_focus() {
    each_backend(|options| {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        // `core` is called from every module; `leaf` from one; `lonely` from none.
        write(&src, "app/__init__.py", "");
        write(
            &src,
            "app/base.py",
            "def core():\n    return 1\n\ndef leaf():\n    return 2\n\ndef lonely():\n    return 3\n",
        );
        for name in ["a", "b", "c", "d"] {
            write(
                &src,
                &format!("app/{name}.py"),
                &format!("from app.base import core\n\ndef use_{name}():\n    return core()\n"),
            );
        }
        write(
            &src,
            "app/e.py",
            "from app.base import leaf\n\ndef use_e():\n    return leaf()\n",
        );
        let db = Db::open(tmp.path().join("store"), options).unwrap();
        index(&db, &src).unwrap();
        let names = |request: &codegraph::RepoMapRequest| -> Vec<String> {
            db.repo_map("app", request, &Budget::unlimited())
                .unwrap()
                .into_iter()
                .map(|r| r.node.name)
                .collect()
        };
        let everything = codegraph::RepoMapRequest {
            limit: 100,
            ..Default::default()
        };
        let ranked = names(&everything);
        assert_eq!(ranked[0], "core", "{ranked:?}");
        let at = |n: &str| ranked.iter().position(|x| x == n).unwrap();
        assert!(at("leaf") < at("lonely"), "{ranked:?}");
        // Ranks are shares of one whole.
        let total: f64 = db
            .repo_map("app", &everything, &Budget::unlimited())
            .unwrap()
            .iter()
            .map(|r| r.rank)
            .sum();
        assert!(total > 0.0 && total <= 1.0 + 1e-9, "{total}");
        // Around app/e.py: what it uses comes first, its own definitions are left out.
        let focused = names(&codegraph::RepoMapRequest {
            focus_paths: vec!["app/e.py".into()],
            limit: 100,
            ..Default::default()
        });
        assert_eq!(focused[0], "leaf", "{focused:?}");
        assert!(!focused.contains(&"use_e".to_string()), "{focused:?}");
        // A change is seen: the kept graph is dropped when the project is indexed.
        write(
            &src,
            "app/f.py",
            "from app.base import lonely\n\ndef f1():\n    return lonely()\n\ndef f2():\n    return lonely()\n",
        );
        for name in ["g", "h", "i", "j", "k"] {
            write(
                &src,
                &format!("app/{name}.py"),
                &format!("from app.base import lonely\n\ndef use_{name}():\n    return lonely()\n"),
            );
        }
        index(&db, &src).unwrap();
        let ranked = names(&everything);
        assert_eq!(ranked[0], "lonely", "{ranked:?}");
        // A stopped request stops.
        let stopped = Budget::new(u64::MAX, Cancel::new());
        stopped.cancel().cancel();
        assert!(matches!(
            db.repo_map("app", &everything, &stopped),
            Err(Error::Stopped)
        ));
    });
}
