//! The walk cache never changes what a directory walk yields: after any sequence of
//! edits (files and directories added, removed, edited; ignore files written inside and
//! above the tree; `#!` scripts), a walk from the cache equals a full walk.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{Content, DirectorySource, Sink, Source, SourceItem, WalkKind};
use proptest::prelude::*;

/// Short enough for a quick test, long enough for the file system's clock tick: a
/// stamp this old cannot hide an edit made after it was taken.
const WINDOW: Duration = Duration::from_millis(40);

struct Collect(Vec<String>);

impl Sink for Collect {
    fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
        self.0.push(match item {
            SourceItem::File(f) => {
                let stamp = match &f.content {
                    Content::Disk { stamp, .. } => format!("{stamp:?}"),
                    Content::Bytes(_) => "bytes".into(),
                };
                format!("file {} {} {stamp}", f.path, f.language)
            }
            SourceItem::Skipped(s) => format!("skip {} {:?}", s.path, s.reason),
        });
        ControlFlow::Continue(())
    }
}

fn walk(source: &mut DirectorySource) -> Vec<String> {
    let filter = Filter::new(FilterConfig::default()).unwrap();
    let mut sink = Collect(Vec::new());
    source.run(&filter, &mut sink).unwrap();
    sink.0
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every directory under `root` (itself included), sorted.
fn dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(&out[i])
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        children.sort();
        out.extend(children);
        i += 1;
    }
    out
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dirs(root)
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

#[derive(Clone, Debug)]
enum Op {
    AddFile { dir: usize, name: usize },
    RemoveFile(usize),
    EditFile(usize),
    AddDir { dir: usize, name: usize },
    RemoveDir(usize),
    Gitignore { dir: usize, rule: usize },
    ParentGitignore(usize),
    Script { dir: usize, python: bool },
}

const NAMES: [&str; 8] = [
    "a.py",
    "b.rs",
    "gen_c.py",
    "d.txt",
    "e.js",
    "node_modules",
    "sub",
    "f.go",
];
const RULES: [&str; 5] = ["*.js\n", "sub/\n", "gen_*\n", "!e.js\n", ""];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..20usize, 0..8usize).prop_map(|(dir, name)| Op::AddFile { dir, name }),
        (0..40usize).prop_map(Op::RemoveFile),
        (0..40usize).prop_map(Op::EditFile),
        (0..20usize, 0..8usize).prop_map(|(dir, name)| Op::AddDir { dir, name }),
        (1..20usize).prop_map(Op::RemoveDir),
        (0..20usize, 0..5usize).prop_map(|(dir, rule)| Op::Gitignore { dir, rule }),
        (0..5usize).prop_map(Op::ParentGitignore),
        (0..20usize, any::<bool>()).prop_map(|(dir, python)| Op::Script { dir, python }),
    ]
}

/// Applies `op`; true when it touched an ignore file (which sends a cached walk back
/// to a full one).
fn apply(root: &Path, op: &Op, step: usize) -> bool {
    let ds = dirs(root);
    let fs = files(root);
    let is_rule = |p: &Path| p.file_name().is_some_and(|n| n == ".gitignore");
    match *op {
        Op::AddFile { dir, name } => {
            let d = &ds[dir % ds.len()];
            write(
                &d.join(NAMES[name]).with_extension("py"),
                "def f():\n    pass\n",
            );
            write(&d.join(format!("n{step}_{}", NAMES[name])), "x = 1\n");
        }
        Op::RemoveFile(i) if !fs.is_empty() => {
            let f = &fs[i % fs.len()];
            std::fs::remove_file(f).unwrap();
            return is_rule(f);
        }
        Op::EditFile(i) if !fs.is_empty() => {
            let f = &fs[i % fs.len()];
            let mut text = std::fs::read_to_string(f).unwrap_or_default();
            text.push_str(&format!("\n# edit {step}\n"));
            std::fs::write(f, text).unwrap();
            return is_rule(f);
        }
        Op::AddDir { dir, name } => {
            let d = ds[dir % ds.len()].join(format!("{}{step}", NAMES[name]));
            write(&d.join("m.py"), "def m():\n    pass\n");
            write(&d.join("deeper/n.rs"), "fn n() {}\n");
        }
        Op::RemoveDir(i) if ds.len() > 1 => {
            let d = &ds[1 + i % (ds.len() - 1)];
            let had_rules = files(d).iter().any(|f| is_rule(f));
            std::fs::remove_dir_all(d).unwrap();
            return had_rules;
        }
        Op::Gitignore { dir, rule } => {
            write(&ds[dir % ds.len()].join(".gitignore"), RULES[rule]);
            return true;
        }
        Op::ParentGitignore(rule) => {
            write(&root.parent().unwrap().join(".gitignore"), RULES[rule]);
            return true;
        }
        Op::Script { dir, python } => {
            let text = if python {
                "#!/usr/bin/env python3\ndef s():\n    pass\n"
            } else {
                "plain text\n"
            };
            write(&ds[dir % ds.len()].join("script"), text);
        }
        _ => {}
    }
    false
}

/// [`initial_tree`] in a fresh temporary directory, its stamps aged past the racy
/// window, with a walk cache file beside it (outside the root).
struct Tree {
    top: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

fn tree() -> Tree {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("repo");
    initial_tree(&root);
    std::thread::sleep(WINDOW * 2);
    Tree {
        cache: top.path().join("walk.bin"),
        root,
        top,
    }
}

/// What a full walk of `root` yields, the reference every other walk must equal.
fn full(root: &Path) -> Vec<String> {
    walk(&mut DirectorySource::new(root).unwrap())
}

/// A source with a walk cache in `cache` and the test's short racy window.
fn cached_source(root: &Path, cache: &Path) -> DirectorySource {
    DirectorySource::new(root)
        .unwrap()
        .with_walk_cache(cache.to_path_buf())
        .with_racy_window(WINDOW)
}

fn initial_tree(root: &Path) {
    write(&root.join("setup.py"), "def setup():\n    pass\n");
    write(&root.join("pkg/mod.py"), "def mod():\n    pass\n");
    write(&root.join("pkg/sub/deep.rs"), "fn deep() {}\n");
    write(&root.join("pkg/sub/README.md"), "# text\n");
    write(&root.join("web/app.js"), "function app() {}\n");
    write(
        &root.join("web/node_modules/dep/index.js"),
        "function dep() {}\n",
    );
    write(&root.join(".hidden/h.py"), "def h():\n    pass\n");
    write(
        &root.join("tools/run"),
        "#!/usr/bin/env python3\ndef run():\n    pass\n",
    );
    write(&root.join("tools/notes"), "just notes\n");
    write(&root.join(".gitignore"), "*.gen.py\nbuild/\n");
    write(&root.join("build/out.py"), "def out():\n    pass\n");
    write(&root.join("pkg/.gitignore"), "private_*\n");
    write(&root.join("pkg/private_x.py"), "def private():\n    pass\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn cached_walks_equal_full_walks(ops in prop::collection::vec(op(), 1..7)) {
        let Tree { root, cache, .. } = &tree();
        let cached = |root: &Path| cached_source(root, cache);
        let mut first = cached(root);
        prop_assert_eq!(walk(&mut first), full(root));
        prop_assert_eq!(first.last_walk(), Some(WalkKind::Full));
        let mut used_cache = 0;
        let mut rule_edits = 0;
        for (step, op) in ops.iter().enumerate() {
            rule_edits += usize::from(apply(root, op, step));
            std::thread::sleep(WINDOW * 2);
            let mut source = cached(root);
            let got = walk(&mut source);
            prop_assert_eq!(got, full(root), "after {:?}", op);
            if matches!(source.last_walk(), Some(WalkKind::Cached { .. })) {
                used_cache += 1;
            }
        }
        // Unchanged since the last walk: nothing is listed again.
        let mut again = cached(root);
        let got = walk(&mut again);
        prop_assert_eq!(got, full(root));
        prop_assert_eq!(again.last_walk(), Some(WalkKind::Cached { relisted: 0 }));
        // Edits of files and directories inside the tree are answered from the cache
        // (only edits of ignore files change that); the test would mean little
        // otherwise.
        prop_assert!(used_cache > 0 || rule_edits == ops.len(), "the cache was never used");
    }
}

/// Every path under `root` with what an edit would change about it (is a directory,
/// size, modification time).
type Entries = std::collections::BTreeMap<PathBuf, (bool, u64, std::time::SystemTime)>;

/// What a watcher of the tree is told of is the paths whose entry differs between two
/// of these.
fn entries(root: &Path) -> Entries {
    let mut out = std::collections::BTreeMap::new();
    for d in dirs(root) {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            out.insert(
                e.path(),
                (meta.is_dir(), meta.len(), meta.modified().unwrap()),
            );
        }
    }
    out
}

fn touched(before: &Entries, after: &Entries) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = before
        .iter()
        .filter(|(p, e)| after.get(*p) != Some(e))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(after.keys().filter(|p| !before.contains_key(*p)).cloned());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A long-lived source told what changed (as a watcher would be: the paths under
    /// the root, never the ignore files above it) yields what a full walk yields.
    #[test]
    fn walks_told_what_changed_equal_full_walks(ops in prop::collection::vec(op(), 1..7)) {
        let Tree { root, cache, .. } = &tree();
        let mut source = cached_source(root, cache).remember();
        prop_assert_eq!(walk(&mut source), full(root));
        for (step, op) in ops.iter().enumerate() {
            let before = entries(root);
            apply(root, op, step);
            let changed = touched(&before, &entries(root));
            std::thread::sleep(WINDOW * 2);
            source.set_changed(changed.clone());
            let got = walk(&mut source);
            prop_assert_eq!(got, full(root), "after {:?} (changed: {:?})", op, changed);
        }
    }
}

#[test]
fn an_edit_in_place_is_looked_at_alone() {
    let Tree { top, root, cache } = tree();
    let mut source = cached_source(&root, &cache).remember();
    walk(&mut source);
    let edited = root.join("pkg/mod.py");
    let appended = |path: &Path| {
        let mut text = std::fs::read_to_string(path).unwrap_or_default();
        text.push_str("\ndef more():\n    pass\n");
        std::fs::write(path, text).unwrap();
    };
    appended(&edited);
    // Files no walk yields may come and go: a log, an editor's swap file.
    write(&root.join("pkg/notes.txt"), "notes\n");
    source.set_changed(vec![edited.clone(), root.join("pkg/notes.txt")]);
    let got = walk(&mut source);
    assert_eq!(got, full(&root));
    assert_eq!(source.last_walk(), Some(WalkKind::Changed { examined: 2 }));
    assert!(
        got.iter().any(|i| i.starts_with("file pkg/mod.py")),
        "{got:?}"
    );

    // Told nothing: the usual walk, from the cache.
    appended(&edited);
    let got = walk(&mut source);
    assert_eq!(got, full(&root));
    assert!(matches!(source.last_walk(), Some(WalkKind::Cached { .. })));

    // What events alone cannot settle goes to the usual walk too: a new file that may
    // be source, a removal, an ignore file, an ignore file above the tree (which a
    // watcher of the tree never hears of).
    type Change<'a> = Box<dyn Fn() -> Vec<PathBuf> + 'a>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "new source",
            Box::new(|| {
                write(&root.join("pkg/new.py"), "def new():\n    pass\n");
                vec![root.join("pkg/new.py")]
            }),
        ),
        (
            "removal",
            Box::new(|| {
                std::fs::remove_file(root.join("pkg/new.py")).unwrap();
                vec![root.join("pkg/new.py")]
            }),
        ),
        (
            "directory removed",
            Box::new(|| {
                std::fs::remove_dir_all(root.join("pkg/sub")).unwrap();
                vec![root.join("pkg/sub")]
            }),
        ),
        (
            "ignore file",
            Box::new(|| {
                write(&root.join("web/.gitignore"), "app.js\n");
                vec![root.join("web/.gitignore")]
            }),
        ),
        (
            "above the tree",
            Box::new(|| {
                write(&top.path().join(".gitignore"), "setup.py\n");
                appended(&edited);
                vec![edited.clone()]
            }),
        ),
    ];
    for (what, change) in cases {
        std::thread::sleep(WINDOW * 2);
        let changed = change();
        std::thread::sleep(WINDOW * 2);
        source.set_changed(changed);
        let got = walk(&mut source);
        assert_eq!(got, full(&root), "{what}");
        assert!(
            !matches!(source.last_walk(), Some(WalkKind::Changed { .. })),
            "{what}: {:?}",
            source.last_walk()
        );
    }
}

#[test]
fn a_damaged_or_foreign_cache_file_means_a_full_walk() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("repo");
    initial_tree(&root);
    let cache = top.path().join("walk.bin");
    let want = full(&root);
    for junk in [&b""[..], b"CGWALK01", &[0xff; 100]] {
        std::fs::write(&cache, junk).unwrap();
        let mut source = DirectorySource::new(&root)
            .unwrap()
            .with_walk_cache(cache.clone());
        assert_eq!(walk(&mut source), want);
        assert_eq!(source.last_walk(), Some(WalkKind::Full));
    }
    // Another filter configuration does not use this one's snapshot.
    std::thread::sleep(Duration::from_millis(100));
    let mut source = DirectorySource::new(&root)
        .unwrap()
        .with_walk_cache(cache.clone())
        .with_racy_window(Duration::from_millis(50));
    walk(&mut source);
    let filter = Filter::new(FilterConfig {
        include_hidden: true,
        ..FilterConfig::default()
    })
    .unwrap();
    let mut sink = Collect(Vec::new());
    let mut source = DirectorySource::new(&root)
        .unwrap()
        .with_walk_cache(cache.clone())
        .with_racy_window(Duration::from_millis(50));
    source.run(&filter, &mut sink).unwrap();
    assert_eq!(source.last_walk(), Some(WalkKind::Full));
    assert!(sink.0.iter().any(|l| l.contains(".hidden/h.py")));
}
