//! The `GraphStore` contract, held by every implementation: the same writes give the
//! same reads, in memory and in RocksDB.

mod common;

use codegraph_core::{
    Direction, Edge, EdgeKind, FileRecord, FileResolution, FileUpdate, GraphStore, Language, Node,
    NodeId, NodeKind, ProjectMeta, Reference, ReferenceKind, Resolution, Span, Visibility,
};
use codegraph_store::MemoryStore;

fn span(line: u32) -> Span {
    Span {
        start_byte: line * 10,
        end_byte: line * 10 + 5,
        start_line: line,
        start_column: 1,
        end_line: line,
        end_column: 6,
    }
}

/// A file with a file node and `names.len()` functions, each calling the next.
fn file(path: &str, names: &[&str]) -> (FileUpdate, FileResolution) {
    let file_id = NodeId::for_file(path);
    let mut nodes = vec![Node {
        id: file_id,
        kind: NodeKind::File,
        language: Language::Python,
        name: path.to_string(),
        qualified_name: path.to_string(),
        path: path.to_string(),
        span: span(1),
        name_span: span(1),
        signature: None,
        doc: None,
        visibility: Visibility::Public,
        parent: None,
    }];
    for (i, n) in names.iter().enumerate() {
        nodes.push(Node {
            id: NodeId::new(path, n, NodeKind::Function, ""),
            kind: NodeKind::Function,
            language: Language::Python,
            name: n.to_string(),
            qualified_name: format!("{path}.{n}"),
            path: path.to_string(),
            span: span(i as u32 + 2),
            name_span: span(i as u32 + 2),
            signature: Some(format!("def {n}()")),
            doc: None,
            visibility: Visibility::Public,
            parent: Some(file_id),
        });
    }
    let references: Vec<Reference> = nodes[1..]
        .windows(2)
        .map(|w| Reference {
            kind: ReferenceKind::Call,
            source: w[0].id,
            subject: None,
            qualifier: None,
            name: w[1].name.clone(),
            alias: None,
            span: w[0].span,
            arguments: None,
        })
        .collect();
    let edges: Vec<Edge> = nodes[1..]
        .windows(2)
        .map(|w| Edge {
            src: w[0].id,
            dst: w[1].id,
            kind: EdgeKind::Calls,
            resolution: Resolution::Scope,
            span: Some(w[0].span),
        })
        .collect();
    let update = FileUpdate {
        file: FileRecord {
            path: path.to_string(),
            language: Language::Python,
            content_hash: names.len() as u64,
            stamp: None,
            lines: names.len() as u32 + 1,
            has_errors: false,
            node_ids: nodes.iter().map(|n| n.id).collect(),
        },
        nodes,
        references,
    };
    let resolution = FileResolution {
        edges,
        unresolved: Vec::new(),
        dependencies: names.iter().map(|n| n.to_string()).collect(),
    };
    (update, resolution)
}

fn contract(store: &dyn GraphStore) {
    let (a, ra) = file("a.py", &["f", "g", "h"]);
    store.write_file("p", &a).unwrap();
    store.write_resolution("p", "a.py", &ra).unwrap();
    store
        .set_project(&ProjectMeta {
            name: "p".into(),
            source: Some("test".into()),
            dirty: false,
            main_language: Some(codegraph_core::Language::Python),
            indexed_ms: Some(1),
        })
        .unwrap();
    assert_eq!(store.projects().unwrap(), ["p"]);
    assert_eq!(store.file("p", "a.py").unwrap().unwrap(), a.file);
    assert_eq!(store.references("p", "a.py").unwrap(), a.references);
    assert_eq!(store.resolution("p", "a.py").unwrap().unwrap(), ra);
    let g = a.nodes[2].id;
    assert_eq!(store.node("p", g).unwrap().unwrap(), a.nodes[2]);
    // Both ends of an edge see it; `contains` edges come from parents.
    let out = store.edges("p", g, Direction::Outgoing, None).unwrap();
    assert_eq!(out, vec![ra.edges[1].clone()]);
    let inc = store.edges("p", g, Direction::Incoming, None).unwrap();
    assert_eq!(inc.len(), 2, "{inc:?}");
    assert_eq!(
        store
            .edges("p", g, Direction::Incoming, Some(EdgeKind::Calls))
            .unwrap(),
        vec![ra.edges[0].clone()]
    );
    assert_eq!(
        store.neighbours("p", g, Direction::Incoming, None).unwrap(),
        {
            let mut v = vec![a.nodes[0].id, a.nodes[1].id];
            v.sort();
            v
        }
    );
    // Names: exact and prefix, in name order.
    let found: Vec<String> = store
        .find_by_name("p", "", false, 10)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(found, ["a.py", "f", "g", "h"]);
    assert_eq!(
        store.find_by_name("p", "g", true, 10).unwrap(),
        [("g".to_string(), g)]
    );
    assert_eq!(store.find_by_name("p", "a", false, 10).unwrap().len(), 1);
    assert_eq!(store.dependents("p", "h").unwrap(), ["a.py"]);
    // Another project sees nothing of this one.
    assert!(store.node("q", g).unwrap().is_none());
    assert!(store.files("q").unwrap().is_empty());
    assert!(store.find_by_name("q", "", false, 10).unwrap().is_empty());
    // Rewriting the file with fewer nodes drops the old nodes, names, edges and deps.
    let (a2, ra2) = file("a.py", &["f"]);
    store.write_file("p", &a2).unwrap();
    assert!(store.node("p", g).unwrap().is_none());
    assert!(store.resolution("p", "a.py").unwrap().is_none());
    assert!(
        store
            .edges("p", g, Direction::Incoming, None)
            .unwrap()
            .is_empty()
    );
    assert!(store.dependents("p", "h").unwrap().is_empty());
    assert!(store.find_by_name("p", "g", true, 10).unwrap().is_empty());
    store.write_resolution("p", "a.py", &ra2).unwrap();
    // Removal leaves nothing behind.
    store.remove_file("p", "a.py").unwrap();
    store.remove_file("p", "absent.py").unwrap();
    assert!(store.files("p").unwrap().is_empty());
    assert!(store.find_by_name("p", "", false, 10).unwrap().is_empty());
    store.remove_project("p").unwrap();
    assert!(store.projects().unwrap().is_empty());
    store.flush().unwrap();
}

#[test]
fn memory_store_keeps_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn inconsistent_updates_are_refused() {
    let (mut a, _) = file("a.py", &["f"]);
    a.file.node_ids.pop();
    let err = MemoryStore::new().write_file("p", &a).unwrap_err();
    assert!(err.to_string().contains("node ids"), "{err}");
}

#[cfg(feature = "rocksdb")]
mod rocks {
    use super::*;
    use codegraph_store::RocksStore;
    use proptest::prelude::*;

    /// Everything a store answers about a project, for comparing two stores.
    fn dump(store: &dyn GraphStore, project: &str) -> String {
        let mut out = String::new();
        for f in store.files(project).unwrap() {
            out += &format!("{f:?}\n{:?}\n", store.references(project, &f.path).unwrap());
            out += &format!("{:?}\n", store.resolution(project, &f.path).unwrap());
            for id in &f.node_ids {
                out += &format!("{:?}\n", store.node(project, *id).unwrap());
                for d in [Direction::Outgoing, Direction::Incoming] {
                    out += &format!("{:?}\n", store.edges(project, *id, d, None).unwrap());
                }
            }
        }
        out += &format!(
            "{:?}\n",
            store.find_by_name(project, "", false, usize::MAX).unwrap()
        );
        for name in ["a", "b", "ab", "b_c", "zé", "x\u{0}y", "c"] {
            out += &format!("{name}: {:?}\n", store.dependents(project, name).unwrap());
        }
        out
    }

    #[test]
    fn rocks_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract(&RocksStore::open(dir.path().join("db")).unwrap());
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (a, ra) = file("a.py", &["f", "g"]);
        {
            let store = RocksStore::open(dir.path()).unwrap();
            store.write_file("p", &a).unwrap();
            store.write_resolution("p", "a.py", &ra).unwrap();
            store.flush().unwrap();
        }
        let store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.file("p", "a.py").unwrap().unwrap(), a.file);
        assert_eq!(store.resolution("p", "a.py").unwrap().unwrap(), ra);
    }

    #[test]
    fn foreign_directories_are_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let err = RocksStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("holds no CodeGraph store"), "{err}");

        let file = dir.path().join("notes.txt");
        let err = RocksStore::open(&file).err().unwrap().to_string();
        assert!(err.contains("not a directory"), "{err}");

        // A RocksDB database that is not ours.
        let other = dir.path().join("other");
        {
            let mut opts = rocksdb::Options::default();
            opts.create_if_missing(true);
            let db = rocksdb::DB::open(&opts, &other).unwrap();
            db.put(b"k", b"v").unwrap();
        }
        // Its files (but RocksDB's own info log) as they are: names and contents.
        let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
            let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("LOG"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&p).unwrap())
                })
                .collect();
            out.sort();
            out
        };
        let before = files(&other);
        let err = RocksStore::open(&other).err().unwrap().to_string();
        assert!(err.contains("not a CodeGraph store"), "{err}");
        let err = RocksStore::open_read_only(&other)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not a CodeGraph store"), "{err}");
        // Refused before anything was written in it (its log was not even replayed).
        assert!(files(&other) == before, "the foreign database was modified");
    }

    #[test]
    fn a_store_missing_a_column_family_gets_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let (a, ra) = file("a.py", &["f"]);
        {
            let store = RocksStore::open(dir.path()).unwrap();
            store.write_file("p", &a).unwrap();
            store.write_resolution("p", "a.py", &ra).unwrap();
            store.flush().unwrap();
        }
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
        let dropped = cfs
            .iter()
            .find(|c| c.as_str() == "edges_in")
            .unwrap()
            .clone();
        {
            let mut db =
                rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), &cfs).unwrap();
            db.drop_cf(&dropped).unwrap();
        }
        let store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.file("p", "a.py").unwrap().unwrap(), a.file);
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
        assert!(cfs.contains(&dropped), "{cfs:?}");
    }

    #[test]
    fn corrupt_stores_fail_to_open_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = RocksStore::open(dir.path()).unwrap();
            let (a, _) = file("a.py", &["f"]);
            store.write_file("p", &a).unwrap();
            store.flush().unwrap();
        }
        // Wreck the manifest the CURRENT file points to.
        let current = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
        std::fs::write(dir.path().join(current.trim()), b"garbage").unwrap();
        let err = RocksStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.starts_with("rocksdb:"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The same random writes give the same answers from both stores.
        #[test]
        fn rocks_and_memory_agree(ops in prop::collection::vec(
            (0..4usize, prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "b_c", "zé", "x\u{0}y"]), 0..5), any::<bool>()),
            1..12,
        )) {
            let dir = tempfile::tempdir().unwrap();
            let rocks = RocksStore::open(dir.path()).unwrap();
            let memory = MemoryStore::new();
            for (file_no, names, remove) in &ops {
                let path = format!("f{file_no}.py");
                let mut names = names.clone();
                names.sort();
                names.dedup();
                let (update, resolution) = file(&path, &names);
                for store in [&rocks as &dyn GraphStore, &memory] {
                    if *remove {
                        store.remove_file("p", &path).unwrap();
                    } else {
                        store.write_file("p", &update).unwrap();
                        store.write_resolution("p", &path, &resolution).unwrap();
                    }
                }
            }
            prop_assert_eq!(dump(&rocks, "p"), dump(&memory, "p"));
        }

        /// A bulk load gives the same answers as the same writes one file at a time,
        /// including for an edge written twice (the later write wins); a load into a
        /// project that already has files does the same through batches.
        #[test]
        fn bulk_load_equals_writes_one_file_at_a_time(
            files in prop::collection::btree_map(
                0..6usize,
                prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "b_c", "zé"]), 0..5),
                0..6,
            ),
            second in prop::collection::btree_map(
                0..6usize,
                prop::collection::vec(prop::sample::select(vec!["a", "c"]), 0..3),
                0..3,
            ),
            twice in any::<bool>(),
        ) {
            let build = |files: &std::collections::BTreeMap<usize, Vec<&str>>| -> (Vec<FileUpdate>, Vec<(String, FileResolution)>) {
                files
                    .iter()
                    .map(|(file_no, names)| {
                        let path = format!("f{file_no}.py");
                        let mut names = names.clone();
                        names.sort();
                        names.dedup();
                        let (update, mut resolution) = file(&path, &names);
                        if twice && let Some(first) = resolution.edges.first().cloned() {
                            resolution.edges.push(Edge { resolution: Resolution::UniqueName, ..first });
                        }
                        (update, (path, resolution))
                    })
                    .unzip()
            };
            let dir = tempfile::tempdir().unwrap();
            let rocks = RocksStore::open(dir.path()).unwrap();
            let memory = MemoryStore::new();
            for batch in [build(&files), build(&second)] {
                rocks.load("p", &batch.0, &batch.1).unwrap();
                for update in &batch.0 {
                    memory.write_file("p", update).unwrap();
                }
                for (path, resolution) in &batch.1 {
                    memory.write_resolution("p", path, resolution).unwrap();
                }
                prop_assert_eq!(dump(&rocks, "p"), dump(&memory, "p"));
            }
            // Nothing left in the store's directory but RocksDB's own files.
            prop_assert!(!dir.path().join("load").exists());
            drop(rocks);
            let reopened = RocksStore::open(dir.path()).unwrap();
            prop_assert_eq!(dump(&reopened, "p"), dump(&memory, "p"));
        }
    }
}
