//! SCIP out and in through the engine's API: an export decoded and checked against the
//! graph, and an index in the form scip-typescript writes taken as `precise` edges,
//! dropped for an edited file and taken again at the next import.
#![cfg(feature = "scip")]

use std::path::Path;

use codegraph::core::Resolution;
use codegraph::{
    Backend, Budget, Cancel, Db, DbOptions, IndexConfig, Input, Progress, ScipExportOptions,
};
use protobuf::{EnumOrUnknown, Message};
use scip::types::{Document, Index, Occurrence, PositionEncoding, SymbolRole};

const A: &str = "export class Runner {\n  run(): number { return 1; }\n}\n\nexport class Walker {\n  run(): number { return 2; }\n}\n\nexport function make(): any {\n  return new Runner();\n}\n";

const B: &str = "import { make, Walker } from './a';\n\nexport function go() {\n  const x = make();\n  x.run();\n  const w = new Walker();\n  w.run();\n  console.log('ok');\n  helper();\n}\n";

const C: &str = "export function helper() {}\n";

fn write(root: &Path, path: &str, text: &str) {
    std::fs::write(root.join(path), text).unwrap();
}

fn memory() -> DbOptions {
    DbOptions {
        backend: Backend::Memory,
        ..DbOptions::default()
    }
}

fn index(db: &Db, dir: &Path, scip: Option<&Path>) -> codegraph::IndexReport {
    db.index(
        "app",
        Input::directory(dir),
        &IndexConfig {
            text: false,
            embed: false,
            scip: scip.map(Path::to_path_buf),
            ..IndexConfig::default()
        },
        &Progress::default(),
        &Cancel::new(),
    )
    .unwrap()
}

/// The text a SCIP range covers (single-line ranges, byte columns).
fn covered<'a>(text: &'a str, range: &[i32]) -> &'a str {
    let line = text.lines().nth(range[0] as usize).unwrap();
    &line[range[1] as usize..range[2] as usize]
}

/// `(line, column)` (from 0) of the `nth` occurrence of `needle` in `text`.
fn at(text: &str, needle: &str, nth: usize) -> (i32, i32) {
    let offset = text.match_indices(needle).nth(nth).unwrap().0;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (line as i32, column as i32)
}

fn occurrence(pos: (i32, i32), len: i32, symbol: &str, definition: bool) -> Occurrence {
    Occurrence {
        range: vec![pos.0, pos.1, pos.1 + len],
        symbol: symbol.into(),
        symbol_roles: if definition {
            SymbolRole::Definition as i32
        } else {
            0
        },
        ..Default::default()
    }
}

/// `(caller, resolution)` of each call of `callee`.
fn callers(db: &Db, callee: &str) -> Vec<(String, Resolution)> {
    let budget = Budget::unlimited();
    let node = db.symbol("app", callee, &budget).unwrap();
    let mut out: Vec<(String, Resolution)> = db
        .callers("app", node.id, &budget)
        .unwrap()
        .into_iter()
        .map(|r| (r.node.name, r.resolution))
        .collect();
    out.sort();
    out
}

#[test]
fn an_export_decodes_and_its_occurrences_are_the_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let (src, store) = (dir.path().join("src"), dir.path().join("db"));
    std::fs::create_dir_all(&src).unwrap();
    write(&src, "a.ts", A);
    write(&src, "b.ts", B);
    write(&src, "c.ts", C);
    let db = Db::open(&store, memory()).unwrap();
    index(&db, &src, None);

    let export = |include_guesses: bool| {
        let mut bytes = Vec::new();
        let counts = db
            .export_scip(
                "app",
                &src,
                &ScipExportOptions { include_guesses },
                &mut bytes,
            )
            .unwrap();
        (Index::parse_from_bytes(&bytes).unwrap(), counts)
    };
    let (scip, counts) = export(false);
    assert_eq!(scip.metadata.tool_info.name, "codegraph");
    assert_eq!(counts.documents, 3);
    assert!(counts.stale_files.is_empty());
    let docs: Vec<&Document> = scip.documents.iter().collect();
    assert_eq!(docs[0].relative_path, "a.ts");
    assert_eq!(docs[0].language, "typescript");
    let text = |d: &Document| match d.relative_path.as_str() {
        "a.ts" => A,
        "b.ts" => B,
        _ => C,
    };

    // Every definition occurrence is on its name, and has its symbol information.
    let mut definitions = std::collections::HashMap::new();
    for d in &docs {
        for o in d.occurrences.iter().filter(|o| o.symbol_roles & 1 == 1) {
            let info = d.symbols.iter().find(|s| s.symbol == o.symbol).unwrap();
            assert_eq!(
                covered(text(d), &o.range),
                info.display_name,
                "{}",
                o.symbol
            );
            assert!(
                definitions
                    .insert(o.symbol.clone(), info.display_name.clone())
                    .is_none()
            );
        }
    }
    let mut names: Vec<&String> = definitions.values().collect();
    names.sort();
    assert_eq!(
        names,
        ["Runner", "Walker", "go", "helper", "make", "run", "run"]
    );

    // Every reference is on the name it refers to, and names a defined symbol.
    let refs = |scip: &Index| -> Vec<(String, (i32, i32), String)> {
        let mut out = Vec::new();
        for d in &scip.documents {
            for o in d.occurrences.iter().filter(|o| o.symbol_roles & 1 == 0) {
                let name = definitions
                    .get(&o.symbol)
                    .expect("a reference to a defined symbol");
                assert_eq!(covered(text(d), &o.range), name);
                out.push((
                    d.relative_path.clone(),
                    (o.range[0], o.range[1]),
                    o.symbol.clone(),
                ));
            }
        }
        out
    };
    let certain = refs(&scip);
    let walker_run = definitions
        .iter()
        .find(|(s, n)| *n == "run" && s.contains("Walker"))
        .unwrap()
        .0;
    assert!(certain.contains(&("b.ts".into(), at(B, "run", 1), walker_run.clone())));
    // `helper()`, not imported, is a guess by its unique name: left out unless asked
    // for.
    let guess = ("b.ts".to_string(), at(B, "helper", 0));
    assert!(
        !certain
            .iter()
            .any(|(p, pos, _)| (p, *pos) == (&guess.0, guess.1))
    );
    let (all, _) = export(true);
    assert!(
        refs(&all)
            .iter()
            .any(|(p, pos, _)| (p, *pos) == (&guess.0, guess.1))
    );
}

/// The index scip-typescript would write for the fixture: `x.run()` is `Runner.run`,
/// `console.log` is the runtime's.
fn typescript_index(path: &Path) {
    let sym = |s: &str| format!("scip-typescript npm app 1.0.0 {s}");
    let a = Document {
        relative_path: "a.ts".into(),
        language: "typescript".into(),
        position_encoding: EnumOrUnknown::new(PositionEncoding::UTF16CodeUnitOffsetFromLineStart),
        occurrences: vec![
            occurrence(at(A, "Runner", 0), 6, &sym("`a.ts`/Runner#"), true),
            occurrence(at(A, "run", 0), 3, &sym("`a.ts`/Runner#run()."), true),
            occurrence(at(A, "Walker", 0), 6, &sym("`a.ts`/Walker#"), true),
            occurrence(at(A, "run", 1), 3, &sym("`a.ts`/Walker#run()."), true),
            occurrence(at(A, "make", 0), 4, &sym("`a.ts`/make()."), true),
            occurrence(at(A, "Runner", 1), 6, &sym("`a.ts`/Runner#"), false),
        ],
        ..Default::default()
    };
    let b = Document {
        relative_path: "b.ts".into(),
        language: "typescript".into(),
        position_encoding: EnumOrUnknown::new(PositionEncoding::UTF16CodeUnitOffsetFromLineStart),
        occurrences: vec![
            occurrence(at(B, "make", 0), 4, &sym("`a.ts`/make()."), false),
            occurrence(at(B, "Walker", 0), 6, &sym("`a.ts`/Walker#"), false),
            occurrence(at(B, "go", 0), 2, &sym("`b.ts`/go()."), true),
            occurrence(at(B, "x", 1), 1, "local 0", true),
            occurrence(at(B, "make", 1), 4, &sym("`a.ts`/make()."), false),
            occurrence(at(B, "x.", 0), 1, "local 0", false),
            occurrence(at(B, "run", 0), 3, &sym("`a.ts`/Runner#run()."), false),
            occurrence(at(B, "Walker", 1), 6, &sym("`a.ts`/Walker#"), false),
            occurrence(at(B, "run", 1), 3, &sym("`a.ts`/Walker#run()."), false),
            occurrence(
                at(B, "log", 0),
                3,
                "scip-typescript npm typescript 5.6.3 lib/`lib.dom.d.ts`/Console#log().",
                false,
            ),
        ],
        ..Default::default()
    };
    // A document for a file the project does not have is ignored.
    let c = Document {
        relative_path: "gone.ts".into(),
        ..Default::default()
    };
    let index = Index {
        documents: vec![a, b, c],
        ..Default::default()
    };
    std::fs::write(path, index.write_to_bytes().unwrap()).unwrap();
}

#[test]
fn an_imported_index_gives_precise_edges_until_its_file_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let (src, store) = (dir.path().join("src"), dir.path().join("db"));
    std::fs::create_dir_all(&src).unwrap();
    write(&src, "a.ts", A);
    write(&src, "b.ts", B);
    let index_file = dir.path().join("index.scip");
    typescript_index(&index_file);
    let db = Db::open(&store, memory()).unwrap();

    // The heuristics alone cannot tell what `x.run()` calls.
    index(&db, &src, None);
    assert_eq!(callers(&db, "Runner.run"), []);

    let report = index(&db, &src, Some(&index_file));
    let scip = report.scip.expect("an import report");
    assert_eq!(
        (scip.documents, scip.covered_files, scip.unknown_files),
        (3, 2, 1)
    );
    assert_eq!(scip.definitions_matched, 6);
    // make (import and call), Walker (import and new), x.run, w.run, console.log; the
    // local `x` is the heuristics' own.
    assert_eq!(scip.external_sites, 1);
    assert!(scip.sites >= 5, "{scip:?}");
    assert_eq!(
        callers(&db, "Runner.run"),
        [("go".to_string(), Resolution::Precise)]
    );
    assert_eq!(
        callers(&db, "Walker.run"),
        [("go".to_string(), Resolution::Precise)]
    );
    assert_eq!(
        callers(&db, "make"),
        [("go".to_string(), Resolution::Precise)]
    );
    assert!(db.verify("app").unwrap().is_empty());

    // A second run keeps them, with no new import.
    index(&db, &src, None);
    assert_eq!(
        callers(&db, "Walker.run"),
        [("go".to_string(), Resolution::Precise)]
    );

    // An edit to the covered file: back to the heuristics for it.
    write(&src, "b.ts", &format!("{B}// edited\n"));
    index(&db, &src, None);
    assert_eq!(
        callers(&db, "Walker.run"),
        [("go".to_string(), Resolution::Inferred)]
    );
    assert_eq!(callers(&db, "Runner.run"), []);

    // The next import (the edit moved nothing the index places) takes it again.
    index(&db, &src, Some(&index_file));
    assert_eq!(
        callers(&db, "Runner.run"),
        [("go".to_string(), Resolution::Precise)]
    );

    // A precise edge's target removed: the edge goes with it.
    write(
        &src,
        "a.ts",
        &A.replace("  run(): number { return 1; }\n", ""),
    );
    index(&db, &src, None);
    assert!(
        db.symbol("app", "Runner.run", &Budget::unlimited())
            .is_err()
    );
    assert!(db.verify("app").unwrap().is_empty());
}

#[test]
fn a_file_that_is_no_scip_index_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (src, store) = (dir.path().join("src"), dir.path().join("db"));
    std::fs::create_dir_all(&src).unwrap();
    write(&src, "a.ts", A);
    let bogus = dir.path().join("bogus.scip");
    std::fs::write(&bogus, b"\xff\xff\xff\xff not protobuf").unwrap();
    let db = Db::open(&store, memory()).unwrap();
    let err = db
        .index(
            "app",
            Input::directory(&src),
            &IndexConfig {
                text: false,
                embed: false,
                scip: Some(bogus),
                ..IndexConfig::default()
            },
            &Progress::default(),
            &Cancel::new(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("is not a SCIP index"), "{err}");
    // The run before the import stands.
    assert!(db.symbol("app", "Runner", &Budget::unlimited()).is_ok());
}

#[test]
fn an_import_needs_a_directory_and_refuses_before_indexing() {
    let dir = tempfile::tempdir().unwrap();
    let index_file = dir.path().join("index.scip");
    typescript_index(&index_file);
    let db = Db::open(dir.path().join("db"), memory()).unwrap();
    let files = vec![("a.ts".to_string(), A.as_bytes().to_vec())];
    let err = db
        .index(
            "app",
            Input::source(codegraph::parse::source::MemorySource::new("test", files)),
            &IndexConfig {
                scip: Some(index_file),
                ..IndexConfig::default()
            },
            &Progress::default(),
            &Cancel::new(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("directory input"), "{err}");
    assert!(db.project("app").unwrap().is_none());
}
