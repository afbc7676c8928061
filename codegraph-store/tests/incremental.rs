//! Incremental re-indexing equals a clean rebuild: random edit sequences over a small
//! multi-language project, compared through full graph dumps after every step. (Go
//! files declare interfaces and call through them, so dispatch edges are compared too.)

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use codegraph_store::{IndexOptions, MemoryStore};
use common::{export, index_files, index_files_with};
use proptest::prelude::*;

const PY_PATHS: [&str; 4] = ["a.py", "b.py", "pkg/__init__.py", "pkg/c.py"];
const PY_MODULES: [&str; 4] = ["a", "b", "pkg", "pkg.c"];
const JS_PATHS: [&str; 3] = ["web/x.js", "web/y.ts", "web/index.js"];
const JS_MODULES: [&str; 3] = ["./x", "./y", "."];
const GO_PATHS: [&str; 3] = ["svc/s1.go", "svc/s2.go", "cmd/main.go"];
const NAMES: [&str; 4] = ["f0", "f1", "K0", "K1"];
const METHODS: [&str; 2] = ["m0", "m1"];

/// A call a body makes, drawn so that names collide across files.
#[derive(Clone, Debug)]
enum Call {
    Bare(usize),
    SelfMethod(usize),
    Qualified(usize, usize),
    Method(usize),
    /// `K0().m1()`, `f1().m0()`: a receiver typed by a constructor or a return type.
    Typed(usize, usize),
}

#[derive(Clone, Debug)]
enum Item {
    Import {
        module: usize,
        name: Option<usize>,
    },
    Func {
        name: usize,
        /// The class (index into `NAMES`) a Python function is declared to return.
        returns: usize,
        calls: Vec<Call>,
    },
    Class {
        name: usize,
        base: Option<usize>,
        methods: Vec<(usize, Vec<Call>)>,
    },
}

fn call() -> impl Strategy<Value = Call> + Clone {
    prop_oneof![
        (0..NAMES.len()).prop_map(Call::Bare),
        (0..METHODS.len()).prop_map(Call::SelfMethod),
        (0..4usize, 0..NAMES.len()).prop_map(|(m, n)| Call::Qualified(m, n)),
        (0..METHODS.len()).prop_map(Call::Method),
        (0..NAMES.len(), 0..METHODS.len()).prop_map(|(n, m)| Call::Typed(n, m)),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    let calls = prop::collection::vec(call(), 0..3);
    prop_oneof![
        (0..4usize, prop::option::of(0..NAMES.len()))
            .prop_map(|(module, name)| Item::Import { module, name }),
        (0..2usize, 2..4usize, calls.clone()).prop_map(|(name, returns, calls)| Item::Func {
            name,
            returns,
            calls
        }),
        (
            2..4usize,
            prop::option::of(2..4usize),
            prop::collection::vec((0..METHODS.len(), calls), 0..3)
        )
            .prop_map(|(name, base, methods)| Item::Class {
                name,
                base,
                methods
            }),
    ]
}

fn py_call(c: &Call) -> String {
    match c {
        Call::Bare(n) => format!("{}()", NAMES[*n]),
        Call::SelfMethod(m) => format!("self.{}()", METHODS[*m]),
        Call::Qualified(m, n) => format!("{}.{}()", PY_MODULES[*m].replace('.', "_"), NAMES[*n]),
        Call::Method(m) => format!("obj.{}()", METHODS[*m]),
        Call::Typed(n, m) => format!("{}().{}()", NAMES[*n], METHODS[*m]),
    }
}

fn python(items: &[Item]) -> String {
    let mut s = String::new();
    for it in items {
        match it {
            Item::Import {
                module,
                name: Some(n),
            } => {
                s += &format!("from {} import {}\n", PY_MODULES[*module], NAMES[*n]);
            }
            Item::Import { module, name: None } => {
                let m = PY_MODULES[*module];
                s += &format!("import {m} as {}\n", m.replace('.', "_"));
            }
            Item::Func {
                name,
                returns,
                calls,
            } => {
                // The declared return type types `f0().m1()` in other files.
                s += &format!(
                    "def {}() -> \"{}\":\n    pass\n",
                    NAMES[*name], NAMES[*returns]
                );
                for c in calls {
                    s += &format!("    {}\n", py_call(c));
                }
            }
            Item::Class {
                name,
                base,
                methods,
            } => {
                let base = base.map(|b| format!("({})", NAMES[b])).unwrap_or_default();
                s += &format!("class {}{base}:\n    pass\n", NAMES[*name]);
                for (m, calls) in methods {
                    s += &format!("    def {}(self):\n        pass\n", METHODS[*m]);
                    for c in calls {
                        s += &format!("        {}\n", py_call(c));
                    }
                }
            }
        }
    }
    s
}

fn js_call(c: &Call) -> String {
    match c {
        Call::Bare(n) => format!("{}();", NAMES[*n]),
        Call::SelfMethod(m) => format!("this.{}();", METHODS[*m]),
        Call::Qualified(m, n) => format!("mod{}.{}();", m % 3, NAMES[*n]),
        Call::Method(m) => format!("obj.{}();", METHODS[*m]),
        Call::Typed(n, m) => format!("{}().{}();", NAMES[*n], METHODS[*m]),
    }
}

fn javascript(items: &[Item]) -> String {
    let mut s = String::new();
    for it in items {
        match it {
            Item::Import {
                module,
                name: Some(n),
            } => {
                s += &format!(
                    "import {{ {} }} from '{}';\n",
                    NAMES[*n],
                    JS_MODULES[module % 3]
                );
            }
            Item::Import { module, name: None } => {
                s += &format!(
                    "import * as mod{} from '{}';\n",
                    module % 3,
                    JS_MODULES[module % 3]
                );
            }
            Item::Func { name, calls, .. } => {
                s += &format!("export function {}() {{\n", NAMES[*name]);
                for c in calls {
                    s += &format!("  {}\n", js_call(c));
                }
                s += "}\n";
            }
            Item::Class {
                name,
                base,
                methods,
            } => {
                let base = base
                    .map(|b| format!(" extends {}", NAMES[b]))
                    .unwrap_or_default();
                s += &format!("export class {}{base} {{\n", NAMES[*name]);
                for (m, calls) in methods {
                    s += &format!("  {}() {{\n", METHODS[*m]);
                    for c in calls {
                        s += &format!("    {}\n", js_call(c));
                    }
                    s += "  }\n";
                }
                s += "}\n";
            }
        }
    }
    s
}

fn go(path: &str, items: &[Item]) -> String {
    let package = if path.starts_with("cmd/") {
        "main"
    } else {
        "svc"
    };
    let mut s = format!("package {package}\n\n");
    let mut imported = false;
    for it in items {
        match it {
            Item::Import { .. } if package == "main" && !imported => {
                s += "import \"example.com/proj/svc\"\n\n";
                imported = true;
            }
            // An interface (`I0`, `I1`, declared in any file of the package), whose
            // callers get dispatch edges to every type with its methods: adding or
            // removing a method anywhere moves them.
            Item::Import { module, name } => {
                let methods: Vec<&str> = match name {
                    Some(n) => vec![METHODS[n % METHODS.len()]],
                    None => METHODS.to_vec(),
                };
                let elems: String = methods.iter().map(|m| format!("\t{m}()\n")).collect();
                s += &format!("type I{} interface {{\n{elems}}}\n", module % 2);
            }
            Item::Func { name, calls, .. } => {
                s += &format!("func {}() {{\n\tvar obj I0\n", NAMES[*name]);
                for c in calls {
                    let line = match c {
                        Call::Bare(n) => format!("{}()", NAMES[*n]),
                        Call::Qualified(_, n) if imported => format!("svc.{}()", NAMES[*n]),
                        Call::Qualified(_, n) => format!("{}()", NAMES[*n]),
                        Call::SelfMethod(m) | Call::Method(m) => format!("obj.{}()", METHODS[*m]),
                        Call::Typed(n, m) => format!("{}().{}()", NAMES[*n], METHODS[*m]),
                    };
                    s += &format!("\t{line}\n");
                }
                s += "}\n";
            }
            Item::Class {
                name,
                base,
                methods,
            } => {
                let embed = base
                    .map(|b| format!("\t{}\n", NAMES[b]))
                    .unwrap_or_default();
                s += &format!("type {} struct {{\n{embed}}}\n", NAMES[*name]);
                for (m, calls) in methods {
                    s += &format!("func (r *{}) {}() {{\n", NAMES[*name], METHODS[*m]);
                    for c in calls {
                        let line = match c {
                            Call::SelfMethod(m) => format!("r.{}()", METHODS[*m]),
                            Call::Bare(n) => format!("{}()", NAMES[*n]),
                            Call::Qualified(_, n) => format!("{}()", NAMES[*n]),
                            Call::Method(m) => format!("obj.{}()", METHODS[*m]),
                            Call::Typed(n, m) => format!("{}().{}()", NAMES[*n], METHODS[*m]),
                        };
                        s += &format!("\t{line}\n");
                    }
                    s += "}\n";
                }
            }
        }
    }
    s
}

/// One edit: set a file to new content, delete it, or push its code down by some
/// comment lines (every position moves, nothing else does).
#[derive(Clone, Debug)]
enum Edit {
    Write(usize, Vec<Item>),
    Delete(usize),
    Shift(usize, usize),
}

const ALL_PATHS: usize = PY_PATHS.len() + JS_PATHS.len() + GO_PATHS.len();

fn path(i: usize) -> &'static str {
    if i < PY_PATHS.len() {
        PY_PATHS[i]
    } else if i < PY_PATHS.len() + JS_PATHS.len() {
        JS_PATHS[i - PY_PATHS.len()]
    } else {
        GO_PATHS[i - PY_PATHS.len() - JS_PATHS.len()]
    }
}

fn render(i: usize, items: &[Item]) -> String {
    let p = path(i);
    if p.ends_with(".py") {
        python(items)
    } else if p.ends_with(".go") {
        go(p, items)
    } else {
        javascript(items)
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0..ALL_PATHS, prop::collection::vec(item(), 0..5))
            .prop_map(|(i, items)| Edit::Write(i, items)),
        1 => (0..ALL_PATHS).prop_map(Edit::Delete),
        2 => (0..ALL_PATHS, 1..4usize).prop_map(|(i, n)| Edit::Shift(i, n)),
    ]
}

fn initial() -> impl Strategy<Value = Vec<Vec<Item>>> {
    prop::collection::vec(prop::collection::vec(item(), 0..5), ALL_PATHS)
}

fn as_files<'a>(files: &'a BTreeMap<&'static str, String>) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(p, c)| (*p, c.as_str())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_rebuild(start in initial(), edits in prop::collection::vec(edit(), 1..7)) {
        let mut files: BTreeMap<&'static str, String> = BTreeMap::new();
        for (i, items) in start.iter().enumerate() {
            files.insert(path(i), render(i, items));
        }
        let live = MemoryStore::new();
        index_files(&live, "p", &as_files(&files));
        // The same runs in one long-lived process, keeping resolution's reads between
        // them (as `codegraph index --watch` does).
        let resident = MemoryStore::new();
        let cache = IndexOptions {
            resolve_cache: Some(Arc::default()),
            ..IndexOptions::default()
        };
        index_files_with(&resident, "p", &as_files(&files), &cache);
        for (step, e) in edits.iter().enumerate() {
            match e {
                Edit::Write(i, items) => {
                    files.insert(path(*i), render(*i, items));
                }
                Edit::Delete(i) => {
                    files.remove(path(*i));
                }
                Edit::Shift(i, n) => {
                    let p = path(*i);
                    let comment = if p.ends_with(".py") { "#" } else { "//" };
                    if let Some(content) = files.get_mut(p) {
                        *content = format!("{}{content}", format!("{comment} moved\n").repeat(*n));
                    }
                }
            }
            let report = index_files(&live, "p", &as_files(&files));
            prop_assert!(!report.full);
            let clean = MemoryStore::new();
            index_files(&clean, "p", &as_files(&files));
            let (got, want) = (export(&live, "p"), export(&clean, "p"));
            if got != want {
                let diff: Vec<String> = diff_lines(&want, &got);
                prop_assert!(false, "step {step} ({e:?}) differs from a clean rebuild:\n{}", diff.join("\n"));
            }
            prop_assert_eq!(
                main_language(&live),
                main_language(&clean),
                "step {} ({:?}): another main language than a clean rebuild", step, e
            );
            let kept = index_files_with(&resident, "p", &as_files(&files), &cache);
            prop_assert!(!kept.full);
            // The same work: the file records it kept match the store's.
            prop_assert_eq!(
                (kept.parsed, kept.unchanged, kept.removed, kept.resolved),
                (report.parsed, report.unchanged, report.removed, report.resolved),
                "step {} ({:?}): the runs with a cache did other work", step, e
            );
            let got = export(&resident, "p");
            if got != want {
                let diff: Vec<String> = diff_lines(&want, &got);
                prop_assert!(false, "step {step} ({e:?}) with a resolve cache differs from a clean rebuild:\n{}", diff.join("\n"));
            }
            prop_assert_eq!(main_language(&resident), main_language(&clean));
        }
    }
}

fn main_language(store: &MemoryStore) -> Option<codegraph_core::Language> {
    use codegraph_core::GraphStore;
    store.project("p").unwrap().and_then(|m| m.main_language)
}

/// The metadata names the language most files are in, so that the next process can
/// compile its query before it reads anything else. A store written before the field
/// existed gets it on its next run, even one that changes nothing.
#[test]
fn the_main_language_is_recorded_and_follows_the_files() {
    use codegraph_core::{GraphStore, Language};
    let store = MemoryStore::new();
    let py = [
        ("a.py", "def f():\n    pass\n"),
        ("b.py", "def g():\n    pass\n"),
    ];
    index_files(&store, "p", &py);
    assert_eq!(main_language(&store), Some(Language::Python));
    // Three Go files outnumber the two Python ones.
    let mut files = py.to_vec();
    files.extend([
        ("s1.go", "package s\n"),
        ("s2.go", "package s\n"),
        ("s3.go", "package s\n"),
    ]);
    index_files(&store, "p", &files);
    assert_eq!(main_language(&store), Some(Language::Go));
    let mut meta = store.project("p").unwrap().unwrap();
    meta.main_language = None;
    store.set_project(&meta).unwrap();
    let report = index_files(&store, "p", &files);
    assert_eq!(report.parsed, 0);
    assert_eq!(main_language(&store), Some(Language::Go));
    // Deleting two Go files hands the majority back.
    index_files(&store, "p", &files[..3]);
    assert_eq!(main_language(&store), Some(Language::Python));
    // Scripts are known by their first line, which an edit may change: a file parsed
    // again counts with the language it has now.
    let mut scripts = files[..3].to_vec();
    scripts.extend([
        ("tool1", "#!/usr/bin/env python3\nprint(1)\n"),
        ("tool2", "#!/usr/bin/env python3\nprint(2)\n"),
        ("tool3", "#!/usr/bin/env python3\nprint(3)\n"),
    ]);
    index_files(&store, "p", &scripts);
    assert_eq!(main_language(&store), Some(Language::Python));
    for (i, (path, _)) in scripts.clone().into_iter().enumerate().skip(3) {
        scripts[i] = (path, "#!/usr/bin/env node\nconsole.log(1);\n");
    }
    index_files(&store, "p", &scripts);
    assert_eq!(main_language(&store), Some(Language::JavaScript));
}

fn diff_lines(want: &str, got: &str) -> Vec<String> {
    let w: std::collections::BTreeSet<&str> = want.lines().collect();
    let g: std::collections::BTreeSet<&str> = got.lines().collect();
    let mut out: Vec<String> = w.difference(&g).map(|l| format!("- {l}")).collect();
    out.extend(g.difference(&w).map(|l| format!("+ {l}")));
    out
}

#[test]
fn unchanged_files_are_not_parsed_and_vanished_ones_are_removed() {
    let store = MemoryStore::new();
    let files = [
        ("a.py", "def f():\n    g()\n"),
        ("b.py", "def g():\n    pass\n"),
    ];
    let first = index_files(&store, "p", &files);
    assert_eq!((first.parsed, first.unchanged, first.full), (2, 0, true));
    let again = index_files(&store, "p", &files);
    assert_eq!((again.parsed, again.unchanged, again.resolved), (0, 2, 0));
    // Editing g's body affects nobody else: only b.py is resolved.
    let edited = index_files(
        &store,
        "p",
        &[files[0], ("b.py", "def g():\n    return 1\n")],
    );
    assert_eq!((edited.parsed, edited.resolved), (1, 1));
    // Removing g makes a.py's call unresolved: a.py depended on the name.
    let removed = index_files(&store, "p", &[files[0]]);
    assert_eq!((removed.removed, removed.resolved), (1, 1));
    assert!(
        export(&store, "p").contains(r#""resolution":"unresolved","line":2,"column":5,"name":"g""#)
    );
}

/// Files that import a module read its definitions and bindings, not its calls or
/// positions: moving its code or changing its calls re-resolves it alone.
#[test]
fn moving_code_or_changing_calls_reaches_no_importer() {
    let store = MemoryStore::new();
    let a = ("a.py", "from b import g\n\ndef f():\n    g()\n");
    let b = |body: &str| format!("def h():\n    pass\n\ndef g():\n    {body}\n");
    let first = b("h()");
    index_files(&store, "p", &[a, ("b.py", &first)]);
    for edited in [format!("# a comment\n\n{first}"), b("return h() + h()")] {
        let files = [a, ("b.py", edited.as_str())];
        let report = index_files(&store, "p", &files);
        assert_eq!((report.parsed, report.resolved), (1, 1), "{edited}");
        let clean = MemoryStore::new();
        index_files(&clean, "p", &files);
        assert_eq!(export(&store, "p"), export(&clean, "p"));
    }
    // A new binding is something an importer can read: it is re-resolved.
    let bound = format!("{}\nx = h()\n", b("h()"));
    let report = index_files(&store, "p", &[a, ("b.py", &bound)]);
    assert_eq!(report.resolved, 2);
}

/// A change that alters no definition, only a class's bases, must still reach the
/// files whose calls went through those bases.
#[test]
fn base_class_changes_reach_subclasses_in_other_files() {
    let store = MemoryStore::new();
    let z = (
        "z.py",
        "from x import K1\n\nclass Z(K1):\n    def run(self):\n        self.m0()\n",
    );
    index_files(
        &store,
        "p",
        &[
            (
                "x.py",
                "class Base:\n    def m0(self):\n        pass\n\nclass K1(Base):\n    pass\n",
            ),
            z,
        ],
    );
    assert!(export(&store, "p").contains(r#""resolution":"scope","line":5"#));
    let files = [
        (
            "x.py",
            "class Base:\n    def m0(self):\n        pass\n\nclass K1:\n    pass\n",
        ),
        z,
    ];
    let report = index_files(&store, "p", &files);
    assert_eq!(report.resolved, 2, "z.py read x.py's bases");
    let clean = MemoryStore::new();
    index_files(&clean, "p", &files);
    assert_eq!(export(&store, "p"), export(&clean, "p"));
}

#[test]
fn declared_type_changes_reach_receivers_in_other_files() {
    // `make` is found by its unique name, so y.py reads x.py only for its return type:
    // changing that annotation alone must still re-resolve y.py.
    let store = MemoryStore::new();
    let classes =
        "class A:\n    def go(self):\n        pass\n\nclass B:\n    def go(self):\n        pass\n";
    let y = ("y.py", "def use():\n    make().go()\n");
    let x_returning = |ty: &str| format!("{classes}\ndef make() -> {ty}:\n    pass\n");
    let first = x_returning("A");
    index_files(&store, "p", &[("x.py", &first), y]);
    assert!(export(&store, "p").contains(r#""resolution":"inferred""#));
    let second = x_returning("B");
    let files = [("x.py", second.as_str()), y];
    let report = index_files(&store, "p", &files);
    assert_eq!(report.resolved, 2, "y.py read x.py's return type");
    let clean = MemoryStore::new();
    index_files(&clean, "p", &files);
    assert_eq!(export(&store, "p"), export(&clean, "p"));
}

/// Files on disk are skipped by their stamp, and a `touch` that leaves the content as
/// it was is recorded without parsing anything again.
#[test]
fn stamps_skip_unread_files_and_follow_touches() {
    use codegraph_core::GraphStore;
    use codegraph_parse::source::DirectorySource;
    use codegraph_store::{IndexOptions, IndexProgress, index};
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), "def f():\n    g()\n").unwrap();
    std::fs::write(dir.path().join("b.py"), "def g():\n    pass\n").unwrap();
    let store = MemoryStore::new();
    let run = |window: Duration| {
        let mut source = DirectorySource::new(dir.path()).unwrap();
        index(
            &store,
            "p",
            &mut source,
            common::pipeline().racy_window(window),
            &IndexOptions::default(),
            &IndexProgress::default(),
        )
        .unwrap()
    };
    let stamp = |path: &str| store.file("p", path).unwrap().unwrap().stamp;

    // Files written this instant are not stamped under the real window...
    let first = run(codegraph_parse::RACY_WINDOW);
    assert_eq!((first.parsed, first.unchanged), (2, 0));
    assert_eq!(stamp("a.py"), None);
    // ...so the next run hashes them, finds them unchanged, and stamps them once their
    // times are old enough.
    let second = run(Duration::ZERO);
    assert_eq!((second.parsed, second.unchanged), (0, 2));
    let a = stamp("a.py").expect("stamped");
    assert_eq!(a.size, 17);

    // A touch: same content, new time. Nothing is parsed; the new stamp is recorded.
    let earlier = SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("a.py"))
        .unwrap()
        .set_modified(earlier)
        .unwrap();
    let touched = run(Duration::ZERO);
    assert_eq!((touched.parsed, touched.unchanged), (0, 2));
    let a2 = stamp("a.py").expect("stamped");
    assert_ne!(a2, a);

    // A real edit is parsed and resolved as ever.
    std::fs::write(dir.path().join("b.py"), "def h():\n    pass\n").unwrap();
    let edited = run(Duration::ZERO);
    assert_eq!((edited.parsed, edited.resolved), (1, 2));
}

/// A companion that records what it was shown, holding files as of its last commit.
#[derive(Default)]
struct Recorder {
    staged: std::sync::Mutex<BTreeMap<String, Option<u64>>>,
    held: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    shown: std::sync::Mutex<Vec<String>>,
}

impl codegraph_store::Companion for Recorder {
    fn held(&self, _: &str) -> codegraph_core::Result<std::collections::HashMap<String, u64>> {
        Ok(self.held.lock().unwrap().clone())
    }
    fn parsed(
        &self,
        _: &str,
        file: &codegraph_core::ParsedFile,
        _: &[u8],
    ) -> codegraph_core::Result<()> {
        self.shown.lock().unwrap().push(file.path.clone());
        self.staged
            .lock()
            .unwrap()
            .insert(file.path.clone(), Some(file.content_hash));
        Ok(())
    }
    fn removed(&self, _: &str, path: &str) -> codegraph_core::Result<()> {
        self.staged.lock().unwrap().insert(path.to_string(), None);
        Ok(())
    }
    fn commit(&self, _: &str) -> codegraph_core::Result<()> {
        let mut held = self.held.lock().unwrap();
        for (path, hash) in std::mem::take(&mut *self.staged.lock().unwrap()) {
            match hash {
                Some(h) => held.insert(path, h),
                None => held.remove(&path),
            };
        }
        Ok(())
    }
}

#[test]
fn companions_catch_up_together_and_all_lose_vanished_files() {
    use codegraph_store::{Companion, IndexOptions, IndexProgress, index_with};
    let run = |store: &MemoryStore, members: &[&Recorder], files: &[(&str, &str)]| {
        let files = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect();
        let mut source = codegraph_parse::source::MemorySource::new("p", files);
        let all: Vec<&dyn Companion> = members.iter().map(|m| *m as &dyn Companion).collect();
        index_with(
            store,
            &all,
            "p",
            &mut source,
            common::pipeline(),
            &IndexOptions::default(),
            &IndexProgress::default(),
        )
        .unwrap()
    };
    let store = MemoryStore::new();
    let (text, vectors) = (Recorder::default(), Recorder::default());
    let files = [
        ("a.py", "def f():\n    pass\n"),
        ("b.py", "def g():\n    f()\n"),
    ];
    run(&store, &[&text], &files);
    assert_eq!(text.held.lock().unwrap().len(), 2);
    // A second member joins: both files are shown to both again, although unchanged.
    let report = run(&store, &[&text, &vectors], &files);
    assert_eq!(report.parsed, 2);
    assert_eq!(vectors.held.lock().unwrap().len(), 2);
    // In step: nothing parsed.
    assert_eq!(run(&store, &[&text, &vectors], &files).parsed, 0);
    // b.py vanishes while only the text member is held to it: both lose it.
    vectors.held.lock().unwrap().remove("b.py");
    run(&store, &[&text, &vectors], &files[..1]);
    assert!(!text.held.lock().unwrap().contains_key("b.py"));
    assert!(!vectors.held.lock().unwrap().contains_key("b.py"));
    assert_eq!(text.held.lock().unwrap().len(), 1);
}

/// A binding moved out of the block that narrows its name (here out of a loop's body)
/// changes what other files read through it, though no definition or reference text
/// changed: they are resolved again, as a rebuild would.
#[test]
fn a_binding_moved_out_of_a_narrowing_block_reaches_its_readers() {
    let store = MemoryStore::new();
    let a = |body: &str| {
        format!(
            "class Text:\n    def render(self):\n        pass\n\n\
             class Holder:\n    def fill(self, items: list[Text]):\n        for t in items:\n{body}"
        )
    };
    let b = (
        "b.py",
        "from a import Holder\n\ndef use(h: Holder):\n    h.cur.render()\n",
    );
    let inside = a("            self.cur = t\n");
    index_files(&store, "p", &[("a.py", &inside), b]);
    assert!(export(&store, "p").contains("render"));
    let outside = a("            pass\n        self.cur = t\n");
    index_files(&store, "p", &[("a.py", &outside), b]);
    let clean = MemoryStore::new();
    index_files(&clean, "p", &[("a.py", &outside), b]);
    assert_eq!(export(&store, "p"), export(&clean, "p"));
}
