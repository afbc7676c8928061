//! Python: packages and `__init__.py`, absolute imports from where `sys.path` would
//! start, relative imports, `import a.b` binding `a`; builtins; `self` and `cls`.

use codegraph_core::{Reference, ReferenceKind, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{Resolver, join_dir};
use crate::view::{View, dir_of};

pub(super) struct PythonRules;

impl ResolveRules for PythonRules {
    fn ecosystem(&self) -> u8 {
        2
    }

    /// Annotated collections hold their elements (`list[Text]`: `codegraph_parse`'s
    /// Python `see_through`), which a `for` loop or an index reaches.
    fn has_holders(&self) -> bool {
        true
    }

    fn narrows(&self) -> bool {
        true
    }

    fn binds_methods(&self) -> bool {
        true
    }

    fn iteration_method(&self) -> Option<&'static str> {
        Some("__iter__")
    }

    fn index_method(&self) -> Option<&'static str> {
        Some("__getitem__")
    }

    fn is_self_like(&self, head: &str) -> bool {
        matches!(head, "self" | "cls")
    }

    fn is_builtin_type(&self, name: &str) -> bool {
        matches!(
            name,
            "int"
                | "str"
                | "float"
                | "bool"
                | "bytes"
                | "dict"
                | "list"
                | "set"
                | "tuple"
                | "object"
                | "None"
                | "Any"
                | "type"
                | "complex"
                | "frozenset"
                | "bytearray"
        )
    }

    fn is_builtin_function(&self, name: &str) -> bool {
        PYTHON_BUILTINS.contains(&name)
    }

    fn super_is_proxy(&self) -> bool {
        true
    }

    fn keeps_last_definition(&self) -> bool {
        true
    }

    fn submodule_paths(&self, module_path: &str, name: &str) -> Vec<String> {
        if !module_path.ends_with("__init__.py") {
            return Vec::new();
        }
        let dir = dir_of(module_path);
        vec![
            format!("{}/{name}.py", join_dir(dir, "")),
            format!("{}/{name}/__init__.py", join_dir(dir, "")),
        ]
    }

    fn constructor_names<'a>(&self, _type_name: &'a str) -> Vec<&'a str> {
        vec!["__init__"]
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    /// A module given as an absolute dotted Python path.
    pub(super) fn python_module(&mut self, ctx: &FileCtx, dotted: &str) -> Result<Vec<Target>> {
        let rel = dotted.replace('.', "/");
        let mut out = Vec::new();
        // Absolute imports start where `sys.path` would: above the importing file's
        // outermost package, or at the repository root. (Not at any ancestor: `import
        // json` inside the package `flask.json` is the standard library's.) Then any
        // directory that ends with the path and is a top-level package there (`src/`
        // layouts, vendored trees).
        let mut roots = vec![self.python_root(&ctx.data.path)];
        if !roots[0].is_empty() {
            roots.push(String::new());
        }
        for root in &roots {
            for cand in [
                format!("{}{rel}.py", join_dir(root, "/")),
                format!("{}{rel}/__init__.py", join_dir(root, "/")),
                format!("{}{rel}.pyi", join_dir(root, "/")),
            ] {
                if let Some(f) = self.file_node(&cand)? {
                    out.push(Target::Def(f));
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
        // `src/pkg/mod.py` imported as `pkg.mod` from outside `src/`.
        let (parent, last) = match rel.rfind('/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => ("", rel.as_str()),
        };
        let dirs = if parent.is_empty() {
            Vec::new()
        } else {
            self.rec.dirs_ending_with(parent)
        };
        for dir in dirs {
            // `dir` ends with `parent`; the package the import names first sits at `top`.
            let top = dir[..dir.len() - parent.len()].trim_end_matches('/');
            let first = format!("{}{}", join_dir(top, "/"), first_segment(parent));
            if !self.is_top_level_package(&first) {
                continue;
            }
            for cand in [
                format!("{dir}/{last}.py"),
                format!("{dir}/{last}/__init__.py"),
            ] {
                if let Some(f) = self.file_node(&cand)? {
                    out.push(Target::Def(f));
                }
            }
        }
        if parent.is_empty() {
            for dir in self.rec.dirs_ending_with(last) {
                if !self.is_top_level_package(&dir) {
                    continue;
                }
                if let Some(f) = self.file_node(&format!("{dir}/__init__.py"))? {
                    out.push(Target::Def(f));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The directory `sys.path` would hold for a file: the one above its outermost
    /// package (a package being a directory with `__init__.py`).
    fn python_root(&mut self, path: &str) -> String {
        let mut d = dir_of(path).to_string();
        while !d.is_empty() && self.rec.has_file(&format!("{d}/__init__.py")) {
            d = dir_of(&d).to_string();
        }
        d
    }

    /// Whether `dir` is a package importable by its own name: its parent is no package.
    fn is_top_level_package(&mut self, dir: &str) -> bool {
        let parent = dir_of(dir);
        parent.is_empty() || !self.rec.has_file(&format!("{parent}/__init__.py"))
    }

    pub(super) fn python_import(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        match r.qualifier.as_deref() {
            // `import a.b.c [as x]`
            None => {
                let name = r.name.as_str();
                self.python_module(ctx, name)
            }
            Some(q) => {
                let module = if q.starts_with('.') {
                    let Some(abs) = python_relative(&ctx.data.path, q) else {
                        return Ok(Vec::new());
                    };
                    // `from . import x`: the package itself.
                    if abs.is_empty() {
                        let dir = dir_of(&ctx.data.path).to_string();
                        let init = join_dir(&dir, "/") + "__init__.py";
                        let mut out = Vec::new();
                        if let Some(f) = self.file_node(&init)? {
                            out.push(Target::Def(f));
                        }
                        if r.name != "*" {
                            let cand = format!("{}{}.py", join_dir(&dir, "/"), r.name);
                            if let Some(f) = self.file_node(&cand)? {
                                return Ok(vec![Target::Def(f)]);
                            }
                        }
                        out
                    } else {
                        self.python_module_from(&abs)?
                    }
                } else {
                    self.python_module(ctx, q)?
                };
                if r.name == "*" {
                    return Ok(module);
                }
                let mut out = Vec::new();
                for m in &module {
                    out.extend(self.members(m, &r.name, 0)?);
                }
                Ok(out)
            }
        }
    }

    /// A relative Python module, given as a path relative to the repository root.
    fn python_module_from(&mut self, rel: &str) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for cand in [format!("{rel}.py"), format!("{rel}/__init__.py")] {
            if let Some(f) = self.file_node(&cand)? {
                out.push(Target::Def(f));
            }
        }
        Ok(out)
    }

    /// Python `import a.b` binds `a`, but the whole dotted path is the module.
    pub(super) fn python_dotted_import(
        &mut self,
        ctx: &FileCtx,
        qualifier: &str,
        segments: &[&str],
    ) -> Result<Option<Vec<Target>>> {
        if segments.len() > 1 {
            let has_import = ctx.data.references.iter().any(|r| {
                r.kind == ReferenceKind::Import && r.qualifier.is_none() && r.name == qualifier
            });
            if has_import {
                return Ok(Some(self.python_module(ctx, qualifier)?));
            }
        }
        Ok(None)
    }
}

/// Python's builtin functions and classes: a bare call of one of these names that no
/// scope or import binds is the builtin, never a project definition of that name.
const PYTHON_BUILTINS: &[&str] = &[
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "__import__",
];

fn first_segment(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

/// `from ..a.b import x` in `pkg/sub/mod.py`: the module `pkg/a/b`, as a path without
/// extension relative to the repository root (empty for the file's own package).
fn python_relative(path: &str, qualifier: &str) -> Option<String> {
    let dots = qualifier.chars().take_while(|c| *c == '.').count();
    let rest = &qualifier[dots..];
    let mut dir: Vec<&str> = dir_of(path).split('/').filter(|s| !s.is_empty()).collect();
    for _ in 1..dots {
        dir.pop()?;
    }
    let mut parts: Vec<String> = dir.iter().map(|s| s.to_string()).collect();
    parts.extend(
        rest.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    if rest.is_empty() && dots == 1 {
        return Some(String::new());
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_python_modules() {
        assert_eq!(python_relative("pkg/sub/mod.py", ".").as_deref(), Some(""));
        assert_eq!(
            python_relative("pkg/sub/mod.py", ".util").as_deref(),
            Some("pkg/sub/util")
        );
        assert_eq!(
            python_relative("pkg/sub/mod.py", "..base").as_deref(),
            Some("pkg/base")
        );
        assert_eq!(python_relative("mod.py", "...x"), None);
    }
}
