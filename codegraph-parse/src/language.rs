//! Which grammar parses which file.

use codegraph_core::Language;

/// The tree-sitter grammar for a language.
pub fn grammar(language: Language) -> tree_sitter::Language {
    match language {
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
        Language::Java => tree_sitter_java::LANGUAGE.into(),
        Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
    }
}

/// File extensions (lowercase, without the dot) and the language each one selects.
///
/// `.h` is C++: a C header parses fine with the C++ grammar, while C++ headers would
/// lose their classes and namespaces under a C grammar.
pub const EXTENSIONS: &[(&str, Language)] = &[
    ("rs", Language::Rust),
    ("py", Language::Python),
    ("pyi", Language::Python),
    ("js", Language::JavaScript),
    ("jsx", Language::JavaScript),
    ("mjs", Language::JavaScript),
    ("cjs", Language::JavaScript),
    ("ts", Language::TypeScript),
    ("mts", Language::TypeScript),
    ("cts", Language::TypeScript),
    ("tsx", Language::Tsx),
    ("go", Language::Go),
    ("java", Language::Java),
    ("cc", Language::Cpp),
    ("cpp", Language::Cpp),
    ("cxx", Language::Cpp),
    ("c++", Language::Cpp),
    ("h", Language::Cpp),
    ("hh", Language::Cpp),
    ("hpp", Language::Cpp),
    ("hxx", Language::Cpp),
    ("h++", Language::Cpp),
    ("ipp", Language::Cpp),
    ("tpp", Language::Cpp),
];

/// Interpreters named on a `#!` line and the language each one selects.
const INTERPRETERS: &[(&str, Language)] = &[
    ("python", Language::Python),
    ("node", Language::JavaScript),
    ("nodejs", Language::JavaScript),
    ("deno", Language::TypeScript),
    ("ts-node", Language::TypeScript),
    ("tsx", Language::TypeScript),
    ("bun", Language::JavaScript),
];

/// The language of a file from its extension, or else from a `#!` first line.
///
/// `first_line` may be empty when only the path is known; files without a recognised
/// extension are then not source code.
pub fn detect(path: &str, first_line: &[u8]) -> Option<Language> {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    // Manifests name crates and path aliases (see `manifest`).
    if file_name == "Cargo.toml" {
        return Some(Language::Rust);
    }
    // A package's name is for JavaScript and TypeScript alike (one ecosystem).
    if file_name == crate::manifest::PACKAGE_JSON {
        return Some(Language::JavaScript);
    }
    if crate::manifest::is_ts_config(file_name) {
        return Some(match file_name.starts_with("jsconfig") {
            true => Language::JavaScript,
            false => Language::TypeScript,
        });
    }
    if let Some((stem, ext)) = file_name.rsplit_once('.')
        && !stem.is_empty()
        && let Some((_, lang)) = EXTENSIONS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(ext))
    {
        return Some(*lang);
    }
    detect_shebang(first_line)
}

/// Whether a path has an extension that selects a language, so a walker can decide
/// without reading the file.
pub fn has_known_extension(path: &str) -> bool {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    match file_name.rsplit_once('.') {
        Some((_, ext)) => EXTENSIONS
            .iter()
            .any(|(known, _)| known.eq_ignore_ascii_case(ext)),
        None => false,
    }
}

/// Whether a path has no extension at all, so its first line may hold a shebang.
pub fn may_have_shebang(path: &str) -> bool {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    !file_name.contains('.')
}

fn detect_shebang(first_line: &[u8]) -> Option<Language> {
    let rest = first_line.strip_prefix(b"#!")?;
    let line = String::from_utf8_lossy(rest);
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        // `#!/usr/bin/env -S node --flags`: skip env's own options.
        program = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
    }
    // `python3.11` and `python3` are both Python.
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS
        .iter()
        .find(|(name, _)| *name == base)
        .map(|(_, lang)| *lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(detect("src/main.rs", b""), Some(Language::Rust));
        assert_eq!(detect("a/b/C.JAVA", b""), Some(Language::Java));
        assert_eq!(detect("x.tsx", b""), Some(Language::Tsx));
        assert_eq!(detect("x.d.ts", b""), Some(Language::TypeScript));
        assert_eq!(detect("include/a.hpp", b""), Some(Language::Cpp));
        assert_eq!(detect("README.md", b""), None);
        assert_eq!(detect("crates/a/Cargo.toml", b""), Some(Language::Rust));
        assert_eq!(detect("pyproject.toml", b""), None);
        assert_eq!(
            detect("tsconfig.base.json", b""),
            Some(Language::TypeScript)
        );
        assert_eq!(detect("web/jsconfig.json", b""), Some(Language::JavaScript));
        assert_eq!(
            detect("packages/ui/package.json", b""),
            Some(Language::JavaScript)
        );
        assert_eq!(detect("package-lock.json", b""), None);
        assert_eq!(detect(".rs", b""), None);
    }

    #[test]
    fn shebangs() {
        assert_eq!(
            detect("bin/tool", b"#!/usr/bin/env python3"),
            Some(Language::Python)
        );
        assert_eq!(
            detect("bin/tool", b"#!/usr/bin/python3.11 -u"),
            Some(Language::Python)
        );
        assert_eq!(
            detect("bin/tool", b"#!/usr/bin/env -S node --no-warnings"),
            Some(Language::JavaScript)
        );
        assert_eq!(detect("bin/tool", b"#!/bin/sh"), None);
        assert_eq!(detect("bin/tool", b"#!"), None);
        assert_eq!(detect("bin/tool", b"#!\xff\xfe"), None);
    }
}
