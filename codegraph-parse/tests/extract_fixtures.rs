//! Extraction pinned on hand-written fixtures, one directory per language.
//!
//! Two kinds of checks: explicit assertions on the idioms each language must handle
//! (so a reader sees what matters), and a snapshot of everything extracted (so no
//! change goes unnoticed). Regenerate snapshots after an intended change with
//! `CODEGRAPH_BLESS=1 cargo test -p codegraph-parse --test extract_fixtures`, then
//! review the diff.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use codegraph_core::{Language, NodeKind, ParsedFile, ReferenceKind, Visibility};
use codegraph_parse::{ExtractOptions, extract::extract, language};

fn fixture_dir(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(lang)
}

/// Every file of a fixture directory, parsed with its path relative to the directory.
fn parse_fixture(lang: &str) -> Vec<ParsedFile> {
    let root = fixture_dir(lang);
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let language = language::detect(&rel, b"")?;
            let bytes = std::fs::read(&path).unwrap();
            Some(extract(language, &rel, &bytes, &ExtractOptions::default()).unwrap())
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A compact, reviewable rendering of everything extracted.
fn render(files: &[ParsedFile]) -> String {
    let mut out = String::new();
    for file in files {
        let names: HashMap<_, _> = file
            .nodes
            .iter()
            .map(|n| (n.id, n.qualified_name.as_str()))
            .collect();
        writeln!(
            out,
            "file {} {} lines={} errors={}",
            file.path, file.language, file.lines, file.has_errors
        )
        .unwrap();
        for n in &file.nodes[1..] {
            let s = n.span;
            writeln!(
                out,
                "  {} {} [{}:{}-{}:{}] name@{}:{} {} parent={}{}{}",
                n.kind,
                n.qualified_name,
                s.start_line,
                s.start_column,
                s.end_line,
                s.end_column,
                n.name_span.start_line,
                n.name_span.start_column,
                n.visibility,
                n.parent.and_then(|p| names.get(&p)).unwrap_or(&"?"),
                n.signature
                    .as_deref()
                    .map(|sig| format!(" sig={sig:?}"))
                    .unwrap_or_default(),
                n.doc
                    .as_deref()
                    .map(|doc| format!(" doc={doc:?}"))
                    .unwrap_or_default(),
            )
            .unwrap();
        }
        for r in &file.references {
            writeln!(
                out,
                "  ref {} from={} {}{}{}@{}:{}",
                r.kind,
                names.get(&r.source).unwrap_or(&"?"),
                r.subject
                    .as_deref()
                    .map(|s| format!("subject={s} "))
                    .unwrap_or_default(),
                r.qualifier
                    .as_deref()
                    .map(|q| format!("{q} :: "))
                    .unwrap_or_default(),
                r.name,
                r.span.start_line,
                r.span.start_column,
            )
            .unwrap();
            if let Some(alias) = &r.alias {
                out.pop();
                writeln!(out, " as {alias}").unwrap();
            }
        }
    }
    out
}

fn check_snapshot(lang: &str, files: &[ParsedFile]) {
    let rendered = render(files);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{lang}.snap"));
    if std::env::var_os("CODEGRAPH_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing {}; run with CODEGRAPH_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != rendered {
        let diff: Vec<String> = expected
            .lines()
            .zip(rendered.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "{lang} extraction differs from {} ({} vs {} lines); first differences:\n{}\n\
             If the change is intended, rerun with CODEGRAPH_BLESS=1 and review the diff.",
            path.display(),
            expected.lines().count(),
            rendered.lines().count(),
            diff.join("\n")
        );
    }
}

/// Finds the one node with this qualified name and kind.
fn node<'a>(files: &'a [ParsedFile], qname: &str, kind: NodeKind) -> &'a codegraph_core::Node {
    let found: Vec<_> = files
        .iter()
        .flat_map(|f| &f.nodes)
        .filter(|n| n.qualified_name == qname && n.kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} {qname}, found {found:?}"
    );
    found[0]
}

fn has_node(files: &[ParsedFile], qname: &str, kind: NodeKind) -> bool {
    files
        .iter()
        .flat_map(|f| &f.nodes)
        .any(|n| n.qualified_name == qname && n.kind == kind)
}

/// `(kind, source qualified name, qualifier, name, alias)` of a reference.
type RefRow = (
    ReferenceKind,
    String,
    Option<String>,
    String,
    Option<String>,
);

/// Every reference as a [`RefRow`].
fn refs(files: &[ParsedFile]) -> Vec<RefRow> {
    files
        .iter()
        .flat_map(|f| {
            let names: HashMap<_, _> = f
                .nodes
                .iter()
                .map(|n| (n.id, n.qualified_name.clone()))
                .collect();
            f.references.iter().map(move |r| {
                (
                    r.kind,
                    names[&r.source].clone(),
                    r.qualifier.clone(),
                    r.name.clone(),
                    r.alias.clone(),
                )
            })
        })
        .collect()
}

fn has_ref(
    files: &[ParsedFile],
    kind: ReferenceKind,
    from: &str,
    qualifier: Option<&str>,
    name: &str,
) -> bool {
    refs(files)
        .iter()
        .any(|(k, f, q, n, _)| *k == kind && f == from && q.as_deref() == qualifier && n == name)
}

#[test]
fn rust() {
    let files = parse_fixture("rust");
    check_snapshot("rust", &files);
    let new = node(&files, "Circle::new", NodeKind::Method);
    assert_eq!((new.span.start_line, new.span.end_line), (37, 41));
    assert_eq!(new.doc.as_deref(), Some("Makes a circle."));
    assert_eq!(
        new.signature.as_deref(),
        Some("pub fn new(radius: f64) -> Self")
    );
    assert_eq!(new.visibility, Visibility::Public);
    // Methods in `impl Trait for Type` are qualified by the type and belong to it.
    let fmt = node(&files, "Circle::fmt", NodeKind::Method);
    assert_eq!(
        fmt.parent,
        Some(node(&files, "Circle", NodeKind::Struct).id)
    );
    assert_eq!(fmt.visibility, Visibility::Public);
    assert_eq!(
        node(&files, "Shape::area", NodeKind::Method).doc.as_deref(),
        Some("The area.")
    );
    assert_eq!(
        node(&files, "util::helper", NodeKind::Function).visibility,
        Visibility::Internal
    );
    // Module paths come from the file path.
    assert!(has_node(&files, "store::Store::push", NodeKind::Method));
    assert!(has_node(&files, "square", NodeKind::Macro));
    assert!(has_node(&files, "Kind::Square", NodeKind::EnumMember));
    // References.
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "Circle::new",
        Some("util"),
        "helper"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "Circle::scale",
        Some("Self"),
        "new"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "uses_macro",
        None,
        "square"
    ));
    // Import references come from their import node, named by the path imported.
    assert!(refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
        && r.1 == "std::collections::hash_map::Entry"
        && r.2.as_deref() == Some("std::collections::hash_map")
        && r.4.as_deref() == Some("MapEntry")));
    assert!(has_ref(
        &files,
        ReferenceKind::Import,
        "crate::store::*",
        Some("crate::store"),
        "*"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "Shape",
        Some("fmt"),
        "Debug"
    ));
    let implements: Vec<_> = files
        .iter()
        .flat_map(|f| &f.references)
        .filter(|r| r.kind == ReferenceKind::Implement)
        .map(|r| (r.subject.clone().unwrap(), r.name.clone()))
        .collect();
    assert_eq!(
        implements,
        vec![
            ("Circle".into(), "Display".into()),
            ("Circle".into(), "Shape".into())
        ]
    );
}

#[test]
fn python() {
    let files = parse_fixture("python");
    check_snapshot("python", &files);
    let class = node(&files, "shapes.core.Shape", NodeKind::Class);
    assert_eq!(class.doc.as_deref(), Some("A shape."));
    assert!(has_node(
        &files,
        "shapes.core.Shape.__init__",
        NodeKind::Constructor
    ));
    // Decorated definitions: @property is a property, @staticmethod still a method.
    assert!(has_node(
        &files,
        "shapes.core.Shape.label",
        NodeKind::Property
    ));
    assert!(has_node(&files, "shapes.core.Shape.unit", NodeKind::Method));
    // Nested definitions qualify through their parents.
    assert!(has_node(
        &files,
        "shapes.core.Shape._private.inner",
        NodeKind::Function
    ));
    assert!(has_node(&files, "shapes.core.Shape.Meta", NodeKind::Class));
    assert_eq!(
        node(&files, "shapes.core.Shape._private", NodeKind::Method).visibility,
        Visibility::Private
    );
    assert!(has_node(&files, "shapes.core.LIMIT", NodeKind::Constant));
    assert!(has_node(
        &files,
        "shapes.core.Circle.fetch",
        NodeKind::Method
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "shapes.core.Circle",
        Some("mixins"),
        "Serializable"
    ));
    assert!(
        !refs(&files)
            .iter()
            .any(|r| r.3 == "ABCMeta" && r.0 == ReferenceKind::Inherit),
        "metaclass= is not a base"
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Import,
        "..base.Base",
        Some("..base"),
        "Base"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Import,
        "typing.*",
        Some("typing"),
        "*"
    ));
    assert!(refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
        && r.3 == "os.path"
        && r.4.as_deref() == Some("osp")));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "shapes.core.helper",
        Some("osp"),
        "join"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "shapes.core.Shape.__init__",
        Some("super()"),
        "__init__"
    ));
}

#[test]
fn javascript() {
    let files = parse_fixture("javascript");
    check_snapshot("javascript", &files);
    assert_eq!(
        node(&files, "Shape", NodeKind::Class).doc.as_deref(),
        Some("Base shape.")
    );
    assert!(has_node(&files, "Shape.constructor", NodeKind::Constructor));
    assert!(
        has_node(&files, "Shape.handler", NodeKind::Method),
        "arrow-function class field"
    );
    assert!(has_node(&files, "Shape.count", NodeKind::Field));
    assert_eq!(
        node(&files, "Shape.#secret", NodeKind::Field).visibility,
        Visibility::Private
    );
    assert!(
        has_node(&files, "Shape.label", NodeKind::Property),
        "getter"
    );
    assert!(
        has_node(&files, "square", NodeKind::Function),
        "arrow function in a const"
    );
    assert!(
        has_node(&files, "cube", NodeKind::Function),
        "function expression in a const"
    );
    assert!(
        has_node(&files, "Legacy.describe", NodeKind::Method),
        "prototype member"
    );
    assert!(
        has_node(&files, "Legacy.create", NodeKind::Method),
        "static member by assignment"
    );
    assert!(
        has_node(&files, "helper", NodeKind::Function),
        "module.exports member"
    );
    assert!(
        has_node(&files, "api.fetch", NodeKind::Method),
        "object-literal method"
    );
    assert!(
        has_node(&files, "api.post", NodeKind::Method),
        "object-literal function value"
    );
    assert!(has_node(&files, "main.local", NodeKind::Function));
    // A named function expression is a definition where nothing else names it.
    assert!(has_node(&files, "ip", NodeKind::Function), "named callback");
    assert!(has_node(&files, "bound", NodeKind::Function));
    assert!(
        !files
            .iter()
            .flat_map(|f| &f.nodes)
            .any(|n| n.name == "boundName"),
        "a function expression bound by a declaration is that declaration"
    );
    assert_eq!(
        node(&files, "MAX_SIZE", NodeKind::Constant).visibility,
        Visibility::Public
    );
    assert_eq!(
        node(&files, "add", NodeKind::Function).doc.as_deref(),
        Some("Adds two numbers.")
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "Circle",
        Some("mixins"),
        "Round"
    ));
    assert!(
        has_ref(&files, ReferenceKind::Call, "Shape.create", None, "Shape"),
        "new Shape()"
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "Component",
        None,
        "useLocalState"
    ));
    assert!(refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
        && r.2.as_deref() == Some("react")
        && r.3 == "useState"
        && r.4.as_deref() == Some("useLocalState")));
    assert!(
        refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
            && r.2.as_deref() == Some("path")
            && r.3 == "resolve"
            && r.4.as_deref() == Some("resolvePath")),
        "destructured require"
    );
    assert!(
        refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
            && r.2.as_deref() == Some("./helpers")
            && r.3 == "helper"),
        "re-export"
    );
}

#[test]
fn typescript() {
    let files = parse_fixture("typescript");
    check_snapshot("typescript", &files);
    assert_eq!(
        files
            .iter()
            .find(|f| f.path.ends_with(".tsx"))
            .unwrap()
            .language,
        Language::Tsx
    );
    assert!(has_node(&files, "Repository", NodeKind::Interface));
    assert!(has_node(&files, "Repository.get", NodeKind::Method));
    assert!(has_node(&files, "Repository.size", NodeKind::Property));
    assert!(has_node(&files, "Color.Green", NodeKind::EnumMember));
    assert!(has_node(&files, "Id", NodeKind::TypeAlias));
    assert!(has_node(&files, "Utils.Inner.helper", NodeKind::Function));
    assert_eq!(
        node(&files, "Service.emit", NodeKind::Method).visibility,
        Visibility::Private
    );
    assert_eq!(
        node(&files, "Service.load", NodeKind::Method).visibility,
        Visibility::Protected
    );
    assert!(has_node(&files, "Service.onChange", NodeKind::Method));
    // Overloads are separate nodes with distinct ids.
    let overloads: Vec<_> = files
        .iter()
        .flat_map(|f| &f.nodes)
        .filter(|n| n.qualified_name == "overloaded")
        .collect();
    assert_eq!(overloads.len(), 3);
    assert_ne!(overloads[0].id, overloads[1].id);
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "Service",
        None,
        "Base"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Implement,
        "Service",
        None,
        "Repository"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Implement,
        "Service",
        Some("Other"),
        "Thing"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "Repository",
        None,
        "Iterable"
    ));
    assert!(
        has_ref(&files, ReferenceKind::Call, "App", None, "Button"),
        "JSX component"
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "App",
        Some("Layout"),
        "Header"
    ));
}

#[test]
fn go() {
    let files = parse_fixture("go");
    check_snapshot("go", &files);
    let serve = node(&files, "server.Server.Serve", NodeKind::Method);
    assert_eq!(
        serve.parent,
        Some(node(&files, "server.Server", NodeKind::Struct).id)
    );
    assert_eq!(serve.doc.as_deref(), Some("Serve serves."));
    assert_eq!(
        node(&files, "server.Server.init", NodeKind::Method).visibility,
        Visibility::Internal
    );
    assert!(has_node(&files, "server.Handler", NodeKind::Interface));
    assert!(has_node(&files, "server.Handler.Serve", NodeKind::Method));
    assert!(has_node(&files, "server.Mode.String", NodeKind::Method));
    assert!(has_node(&files, "server.ID", NodeKind::TypeAlias));
    assert!(has_node(&files, "server.modeB", NodeKind::Constant));
    assert_eq!(
        node(&files, "server.MaxConns", NodeKind::Constant)
            .doc
            .as_deref(),
        Some("MaxConns is the connection limit.")
    );
    assert!(
        has_ref(
            &files,
            ReferenceKind::Inherit,
            "server.Server",
            Some("store"),
            "Store"
        ),
        "embedded struct"
    );
    assert!(
        has_ref(
            &files,
            ReferenceKind::Inherit,
            "server.Handler",
            Some("fmt"),
            "Stringer"
        ),
        "embedded interface"
    );
    assert!(refs(&files).iter().any(|r| r.0 == ReferenceKind::Import
        && r.3 == "net/http"
        && r.4.as_deref() == Some("nethttp")));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "server.Server.Serve",
        Some("nethttp"),
        "ListenAndServe"
    ));
}

#[test]
fn java() {
    let files = parse_fixture("java");
    check_snapshot("java", &files);
    assert!(has_node(&files, "com.example", NodeKind::Package));
    let ctors: Vec<_> = files
        .iter()
        .flat_map(|f| &f.nodes)
        .filter(|n| {
            n.qualified_name == "com.example.Shapes.Shapes" && n.kind == NodeKind::Constructor
        })
        .collect();
    assert_eq!(ctors.len(), 2, "both constructors");
    assert_ne!(ctors[0].id, ctors[1].id);
    assert_eq!(ctors[0].doc.as_deref(), Some("Makes an empty collection."));
    assert!(
        has_node(&files, "com.example.Shapes.Circle.area", NodeKind::Method),
        "nested class"
    );
    assert!(has_node(
        &files,
        "com.example.Shapes.Kind.SQUARE",
        NodeKind::EnumMember
    ));
    assert!(
        has_node(&files, "com.example.Shapes.Point", NodeKind::Class),
        "record"
    );
    assert!(has_node(
        &files,
        "com.example.Shapes.LIMIT",
        NodeKind::Constant
    ));
    assert_eq!(
        node(&files, "com.example.Shapes.count", NodeKind::Field).visibility,
        Visibility::Internal
    );
    assert_eq!(
        node(&files, "com.example.Shapes.Shape.area", NodeKind::Method).visibility,
        Visibility::Public
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "com.example.Shapes",
        None,
        "Base"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Implement,
        "com.example.Shapes",
        Some("java.io"),
        "Serializable"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "com.example.Shapes.items",
        None,
        "ArrayList"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Import,
        "java.lang.Math.PI",
        Some("java.lang.Math"),
        "PI"
    ));
}

#[test]
fn cpp() {
    let files = parse_fixture("cpp");
    check_snapshot("cpp", &files);
    // Out-of-line definitions qualify like their in-class declarations.
    assert!(has_node(&files, "geo::Shape::make", NodeKind::Method));
    let ctor_count = files
        .iter()
        .flat_map(|f| &f.nodes)
        .filter(|n| n.qualified_name == "geo::Shape::Shape" && n.kind == NodeKind::Constructor)
        .count();
    assert_eq!(
        ctor_count, 4,
        "two declared in the header, two defined out of line"
    );
    assert!(has_node(&files, "geo::Shape::operator==", NodeKind::Method));
    assert!(has_node(&files, "geo::Point::operator+", NodeKind::Method));
    assert!(
        has_node(&files, "geo::Box", NodeKind::Class),
        "class template"
    );
    assert!(
        has_node(&files, "geo::max_of", NodeKind::Function),
        "function template"
    );
    assert!(has_node(&files, "geo::detail::helper", NodeKind::Function));
    assert!(has_node(&files, "geo::Color::Green", NodeKind::EnumMember));
    assert!(has_node(&files, "geo::Bits", NodeKind::Union));
    assert!(has_node(&files, "SQUARE", NodeKind::Macro));
    let header = files.iter().find(|f| f.path.ends_with("shapes.h")).unwrap();
    let touch = header
        .nodes
        .iter()
        .find(|n| n.qualified_name == "geo::Shape::touch")
        .unwrap();
    assert_eq!(touch.visibility, Visibility::Protected);
    let sides = header
        .nodes
        .iter()
        .find(|n| n.qualified_name == "geo::Shape::sides_")
        .unwrap();
    assert_eq!(sides.visibility, Visibility::Private);
    assert_eq!(
        node(&files, "hidden", NodeKind::Function).visibility,
        Visibility::Private,
        "anonymous namespace"
    );
    assert_eq!(
        node(&files, "geo::Shape", NodeKind::Class).doc.as_deref(),
        Some("A shape.")
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Inherit,
        "geo::Shape",
        None,
        "Named"
    ));
    assert!(has_ref(
        &files,
        ReferenceKind::Call,
        "main",
        Some("geo::Shape"),
        "make"
    ));
    assert!(
        has_ref(&files, ReferenceKind::Call, "geo::Shape::make", None, "Box"),
        "new Box<int>()"
    );
    assert!(has_ref(
        &files,
        ReferenceKind::Import,
        "std::*",
        Some("std"),
        "*"
    ));
    assert!(
        refs(&files)
            .iter()
            .any(|r| r.0 == ReferenceKind::Import && r.3 == "<vector>")
    );
}

#[test]
fn ids_are_stable_across_runs_and_independent_of_unrelated_edits() {
    let src = b"fn a() {}\nfn b() { a(); }\n";
    let one = extract(Language::Rust, "src/x.rs", src, &ExtractOptions::default()).unwrap();
    let two = extract(Language::Rust, "src/x.rs", src, &ExtractOptions::default()).unwrap();
    assert_eq!(one, two);
    // Editing a body or adding a definition above keeps every other id.
    let edited = b"fn z() {}\nfn a() { let _ = 1; }\nfn b() { a(); }\n";
    let three = extract(
        Language::Rust,
        "src/x.rs",
        edited,
        &ExtractOptions::default(),
    )
    .unwrap();
    let id = |f: &ParsedFile, q: &str| f.nodes.iter().find(|n| n.qualified_name == q).unwrap().id;
    assert_eq!(id(&one, "x::a"), id(&three, "x::a"));
    assert_eq!(id(&one, "x::b"), id(&three, "x::b"));
    // The same definition at another path is another entity.
    let moved = extract(Language::Rust, "src/y.rs", src, &ExtractOptions::default()).unwrap();
    assert_ne!(id(&one, "x::a"), id(&moved, "y::a"));
}

#[test]
fn broken_code_yields_what_can_be_recovered() {
    let src =
        b"def ok():\n    pass\n\ndef broken(:\n    return\n\nclass Fine:\n    def m(self): pass\n";
    let parsed = extract(Language::Python, "b.py", src, &ExtractOptions::default()).unwrap();
    assert!(parsed.has_errors);
    let names: Vec<_> = parsed
        .definitions()
        .map(|n| n.qualified_name.as_str())
        .collect();
    assert!(names.contains(&"b.ok"), "{names:?}");
    assert!(names.contains(&"b.Fine.m"), "{names:?}");
}

#[test]
fn invalid_utf8_is_read_lossily() {
    let src = b"fn caf\xe9() {}\nfn ok() {}\n";
    let parsed = extract(Language::Rust, "u.rs", src, &ExtractOptions::default()).unwrap();
    assert!(parsed.definitions().any(|n| n.name == "ok"));
}

#[test]
fn rust_macro_arguments_and_item_macros_are_read_as_code() {
    let src = br#"macro_rules! tri { ($e:expr) => { $e? }; }
fn helper(x: u32) -> u32 { x }
fn caller() {
    assert!(helper(1) == 1, "{}", helper(2));
    let v = vec![helper(3), tri!(helper(4))];
    assert_eq!(matches!(Some(1), Some(_)), helper(5) > 0);
    println!("{}", format!("{x}", x = helper(6)));
    let grid = vec![0; helper(8) as usize];
}
cfg_rt! {
    pub fn spawned() { helper(7); }
}
bitflags! { pub struct F: u32 { const A = 1; } }
impl_op!(Add, add);
ast_struct! {
    pub struct ItemConst #full {
        pub vis: u8,
    }
}
"#;
    let file = extract(
        Language::Rust,
        "src/lib.rs",
        src,
        &ExtractOptions::default(),
    )
    .unwrap();
    assert!(!file.has_errors);
    let files = [file];
    let calls = |from: &str, name: &str| {
        refs(&files)
            .iter()
            .filter(|(k, f, _, n, _)| *k == ReferenceKind::Call && f == from && n == name)
            .count()
    };
    // Arguments of `assert!`, `vec![]`, nested `tri!` and `format!` are calls.
    assert_eq!(calls("caller", "helper"), 6, "{:?}", refs(&files));
    // The macros themselves are still referenced.
    for name in [
        "assert",
        "vec",
        "tri",
        "assert_eq",
        "matches",
        "println",
        "format",
    ] {
        assert!(calls("caller", name) >= 1, "{name}");
    }
    // `vec![x; n]` is no call: its arguments stay unread rather than misread.
    assert_eq!(calls("caller", "helper") + calls("spawned", "helper"), 7);
    // The items an item macro wraps are definitions of the module.
    let spawned = node(&files, "spawned", NodeKind::Function);
    assert_eq!(spawned.span.start_line, 11);
    assert_eq!(spawned.signature.as_deref(), Some("pub fn spawned()"));
    assert!(
        refs(&files)
            .iter()
            .any(|(k, _, _, n, _)| *k == ReferenceKind::Call && n == "cfg_rt")
    );
    // A macro with a language of its own is left as it was.
    assert!(!has_node(&files, "F", NodeKind::Struct));
    // The macro's own `#full` marker is set aside; the struct and its field stand.
    assert!(has_node(&files, "ItemConst", NodeKind::Struct));
    assert!(has_node(&files, "ItemConst::vis", NodeKind::Field));
}
