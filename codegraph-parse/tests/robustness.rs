//! No input makes extraction or archive reading panic, and what comes out always keeps
//! the model's invariants.

use std::collections::HashSet;
use std::path::Path;

use codegraph_core::{Language, NodeKind, ParsedFile};
use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{ArchiveLimits, StreamSource};
use codegraph_parse::{ExtractOptions, Pipeline, PipelineStats, extract::extract};
use proptest::prelude::*;

/// The invariants every `ParsedFile` keeps, whatever the input.
fn check_invariants(file: &ParsedFile, len: usize) {
    assert_eq!(file.nodes[0].kind, NodeKind::File);
    assert_eq!(file.size as usize, len);
    let mut seen = HashSet::new();
    for node in &file.nodes {
        assert!(
            seen.insert(node.id),
            "duplicate id {} ({})",
            node.id,
            node.qualified_name
        );
        if node.kind != NodeKind::File {
            let parent = node.parent.expect("every definition has a parent");
            assert!(
                seen.contains(&parent),
                "parent of {} comes first",
                node.qualified_name
            );
        }
        for span in [node.span, node.name_span] {
            assert!(span.start_byte <= span.end_byte && span.end_byte as usize <= len);
            assert!(span.start_line >= 1 && span.start_line <= span.end_line);
        }
    }
    for reference in &file.references {
        assert!(
            seen.contains(&reference.source),
            "reference source is a node"
        );
        assert!(reference.span.end_byte as usize <= len);
    }
}

fn code_tokens(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &[
            "fn",
            "impl",
            "trait",
            "struct",
            "enum",
            "mod",
            "use",
            "pub",
            "for",
            "{",
            "}",
            "(",
            ")",
            "<",
            ">",
            "::",
            ";",
            "x",
            "T",
            "#[a]",
            "///d\n",
            "'a",
            "\"s\"",
            "=>",
            "->",
            "macro_rules!",
            "\n",
        ],
        Language::Python => &[
            "def",
            "class",
            "import",
            "from",
            "as",
            "@p",
            ":",
            "(",
            ")",
            "x",
            "self",
            ".",
            "=",
            "\n",
            "    ",
            "\"\"\"d\"\"\"",
            "pass",
            "return",
            "async",
            "lambda",
            ",",
        ],
        Language::JavaScript | Language::TypeScript | Language::Tsx => &[
            "function",
            "class",
            "extends",
            "export",
            "import",
            "from",
            "const",
            "=",
            "=>",
            "{",
            "}",
            "(",
            ")",
            "x",
            ".",
            "prototype",
            ";",
            "new",
            "<A>",
            "</A>",
            "interface",
            ":",
            "string",
            "/** d */",
            "\n",
            "`t${",
            "}`",
        ],
        Language::Go => &[
            "package",
            "func",
            "type",
            "struct",
            "interface",
            "import",
            "(",
            ")",
            "{",
            "}",
            "*",
            "x",
            ".",
            "\n",
            "[T any]",
            "var",
            "const",
            "=",
            "//d\n",
        ],
        Language::Java => &[
            "package",
            "class",
            "interface",
            "enum",
            "record",
            "extends",
            "implements",
            "public",
            "void",
            "x",
            "(",
            ")",
            "{",
            "}",
            ";",
            "@A",
            "<T>",
            "new",
            ".",
            "import",
            "/** d */",
        ],
        Language::Cpp => &[
            "namespace",
            "class",
            "struct",
            "template",
            "<",
            ">",
            "typename",
            "::",
            "operator",
            "==",
            "(",
            ")",
            "{",
            "}",
            ";",
            "x",
            "~",
            "virtual",
            "public:",
            "#define",
            "#include",
            "\"h\"",
            "\n",
            "EXPORT_API",
            "A::f",
        ],
    }
}

fn token_soup() -> impl Strategy<Value = (Language, Vec<u8>)> {
    prop::sample::select(Language::ALL.to_vec()).prop_flat_map(|language| {
        let tokens = code_tokens(language);
        prop::collection::vec(prop::sample::select(tokens), 0..200)
            .prop_map(move |parts| (language, parts.join(" ").into_bytes()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        language in prop::sample::select(Language::ALL.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let file = extract(language, "fuzz/input", &bytes, &ExtractOptions::default()).unwrap();
        check_invariants(&file, bytes.len());
    }

    #[test]
    fn code_like_input_never_panics((language, bytes) in token_soup()) {
        let file = extract(language, "src/soup", &bytes, &ExtractOptions::default()).unwrap();
        check_invariants(&file, bytes.len());
    }

    #[test]
    fn arbitrary_tar_streams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut source = StreamSource::new("fuzz", Box::new(std::io::Cursor::new(bytes)), ArchiveLimits::default());
        let pipeline = Pipeline::new(Filter::new(FilterConfig::default()).unwrap(), ExtractOptions::default());
        let _ = pipeline.run(&mut source, &PipelineStats::default(), &|_| {});
    }
}

/// Every prefix of every fixture: truncated files are the commonest broken input.
#[test]
fn truncated_fixtures_keep_invariants() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut stack = vec![root.clone()];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let Some(language) = codegraph_parse::language::detect(&rel, b"") else {
                continue;
            };
            let bytes = std::fs::read(&path).unwrap();
            for cut in (0..=bytes.len()).step_by(7) {
                let file =
                    extract(language, &rel, &bytes[..cut], &ExtractOptions::default()).unwrap();
                check_invariants(&file, cut);
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "checked {checked} prefixes");
}

/// Nesting thousands deep (macro token trees, `use` trees) is walked without recursing
/// once per level, so a crafted file cannot exhaust a worker's stack.
#[test]
fn deep_nesting_in_rust_macros_and_use_trees_is_survived() {
    let depth = 20_000;
    let mut src = String::from("fn f() {\n    m!(");
    src.push_str(&"(".repeat(depth));
    src.push_str(&")".repeat(depth));
    src.push_str(");\n}\nuse a::");
    src.push_str(&"{a::".repeat(depth));
    src.push('b');
    src.push_str(&"}".repeat(depth));
    src.push_str(";\n");
    // On a thread with a small stack, as the pipeline's workers have.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let file = extract(
                Language::Rust,
                "src/lib.rs",
                src.as_bytes(),
                &ExtractOptions::default(),
            )
            .unwrap();
            check_invariants(&file, src.len());
        })
        .unwrap();
    handle.join().expect("extraction survives deep nesting");
}
