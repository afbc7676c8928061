//! Rust: `use` and `mod` paths from the crate root, `crate::`, `super::` and `self::`,
//! modules in files of their own, `Self`, impls of a type in other files.

use codegraph_core::{Language, NodeKind, Reference, Resolution, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Found, Target};
use crate::resolve::{Resolver, join_dir};
use crate::view::{Def, View, dir_of};

pub(super) struct RustRules;

impl ResolveRules for RustRules {
    fn ecosystem(&self) -> u8 {
        1
    }

    fn is_self_like(&self, head: &str) -> bool {
        head == "self"
    }

    fn is_self_type(&self, qualifier: &str) -> bool {
        qualifier == "Self"
    }

    fn type_parameters_have_bounds(&self) -> bool {
        true
    }

    fn bare_names_find_methods(&self) -> bool {
        false
    }

    fn submodule_paths(&self, module_path: &str, name: &str) -> Vec<String> {
        let dir = dir_of(module_path);
        let base = if module_path.ends_with("/mod.rs")
            || module_path.ends_with("/lib.rs")
            || module_path.ends_with("/main.rs")
        {
            dir.to_string()
        } else {
            module_path.trim_end_matches(".rs").to_string()
        };
        vec![format!("{base}/{name}.rs"), format!("{base}/{name}/mod.rs")]
    }

    fn modules_in_files(&self) -> bool {
        true
    }

    fn impls_in_other_modules(&self) -> bool {
        true
    }

    fn calls_enum_members(&self) -> bool {
        true
    }

    fn later_bindings_hide(&self) -> bool {
        true
    }

    fn has_holders(&self) -> bool {
        true
    }

    /// A closure's parameter holds inside the closure alone.
    fn narrows(&self) -> bool {
        true
    }

    fn passes_through(&self, method: &str) -> bool {
        matches!(
            method,
            "as_ref"
                | "as_mut"
                | "as_deref"
                | "as_deref_mut"
                | "borrow"
                | "borrow_mut"
                | "by_ref"
                | "clone"
                | "to_owned"
                | "deref"
                | "deref_mut"
                | "get_mut"
                | "get_ref"
        )
    }

    fn unwraps(&self, method: &str) -> bool {
        matches!(
            method,
            "unwrap"
                | "expect"
                | "unwrap_unchecked"
                | "unwrap_or_default"
                | "unwrap_or"
                | "unwrap_or_else"
        )
    }

    fn closure_gets_item(&self, method: &str, argument: usize, parameter: usize) -> bool {
        match (argument, parameter) {
            (0, 0) => matches!(
                method,
                "map"
                    | "filter"
                    | "for_each"
                    | "try_for_each"
                    | "any"
                    | "all"
                    | "find"
                    | "rfind"
                    | "filter_map"
                    | "flat_map"
                    | "find_map"
                    | "position"
                    | "rposition"
                    | "take_while"
                    | "skip_while"
                    | "map_while"
                    | "inspect"
                    | "and_then"
                    | "is_some_and"
                    | "is_ok_and"
                    | "is_none_or"
                    | "take_if"
                    | "max_by_key"
                    | "min_by_key"
                    | "max_by"
                    | "min_by"
                    | "reduce"
                    | "retain"
                    | "retain_mut"
                    | "partition"
                    | "partition_point"
                    | "sort_by"
                    | "sort_unstable_by"
                    | "sort_by_key"
                    | "sort_unstable_by_key"
                    | "sort_by_cached_key"
                    | "binary_search_by"
                    | "dedup_by"
                    | "dedup_by_key"
                    | "is_sorted_by"
                    | "is_sorted_by_key"
            ),
            // The second of two compared items.
            (0, 1) => matches!(
                method,
                "max_by"
                    | "min_by"
                    | "reduce"
                    | "sort_by"
                    | "sort_unstable_by"
                    | "dedup_by"
                    | "is_sorted_by"
            ),
            (1, 0) => matches!(method, "map_or" | "map_or_else" | "binary_search_by_key"),
            // `fold(init, |acc, x| ..)`: the item after the accumulator.
            (1, 1) => matches!(method, "fold" | "try_fold" | "rfold" | "scan"),
            _ => false,
        }
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    /// Methods of type `owner` named `name` in an `impl` in another module, which
    /// qualifies them with that module (`error::Error::msg` for `struct Error` in
    /// lib.rs): any impl method of a type of that name in the same crate. `named` is
    /// every definition called `name`.
    pub(super) fn rust_impl_members(
        &mut self,
        owner: &Def,
        name: &str,
        named: &[Def],
    ) -> Result<Vec<Def>> {
        let suffix = format!("::{}::{name}", owner.name);
        let crate_dir = crate_dir(&owner.path);
        // Only when the type's name is its own in the crate: two `ParserBuilder`s in
        // two modules would take each other's methods.
        let namesakes = self
            .rec
            .named(&owner.name)?
            .iter()
            .filter(|d| d.kind.is_type() && self::crate_dir(&d.path) == crate_dir)
            .count();
        if namesakes > 1 {
            return Ok(Vec::new());
        }
        Ok(named
            .iter()
            .filter(|d| {
                d.kind == NodeKind::Method
                    && d.language == Language::Rust
                    && (d.qualified_name.ends_with(&suffix)
                        || d.qualified_name == format!("{}::{name}", owner.name))
                    && self::crate_dir(&d.path) == crate_dir
            })
            .cloned()
            .collect())
    }

    /// The root files of the crates named `name` by a `Cargo.toml` in the project
    /// (`codegraph_parse::manifest`: a module node in the manifest standing for the
    /// crate's root file).
    /// A dependency renamed in the manifest of the crate a file in `from` belongs to
    /// (`store = { package = "graph-store" }`) is that crate.
    fn rust_crate(&mut self, name: &str, from: &str) -> Result<Vec<Target>> {
        let crate_dir = self::crate_dir(from);
        let mut names = vec![name.to_string()];
        names.extend(
            self.rec
                .named(name)?
                .iter()
                .filter(|d| {
                    let manifest_dir = join_dir(dir_of(&d.path), "/");
                    // A package's rename holds for its crate; a workspace's for the
                    // crates below it.
                    let holds = match d
                        .qualified_name
                        .strip_prefix(codegraph_parse::manifest::WORKSPACE_RENAME)
                    {
                        Some(_) => crate_dir.starts_with(&manifest_dir),
                        None => manifest_dir == crate_dir,
                    };
                    d.kind == NodeKind::Import
                        && d.language == Language::Rust
                        && codegraph_parse::manifest::is_manifest(&d.path)
                        && holds
                })
                .filter_map(|d| d.stands_for.clone()),
        );
        let mut roots: Vec<String> = Vec::new();
        for name in names {
            roots.extend(
                self.rec
                    .named(&name)?
                    .iter()
                    .filter(|d| {
                        d.kind == NodeKind::Module
                            && d.language == Language::Rust
                            && codegraph_parse::manifest::is_manifest(&d.path)
                    })
                    .filter_map(|d| d.stands_for.clone()),
            );
        }
        let mut out = Vec::new();
        for root in roots {
            if let Some(file) = self.file_node(&root)? {
                out.push(Target::Def(file));
            }
        }
        Ok(out)
    }

    /// `codegraph_store::index_with`: a path through another crate of the workspace.
    pub(super) fn rust_crate_path(
        &mut self,
        ctx: &FileCtx,
        qualifier: &str,
        segments: &[&str],
    ) -> Result<Option<Vec<Target>>> {
        if matches!(segments[0], "std" | "core" | "alloc")
            || self.rust_crate(segments[0], &ctx.data.path)?.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(self.rust_path(ctx, qualifier)?))
    }

    pub(super) fn rust_import(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        let Some(q) = r.qualifier.as_deref() else {
            // `use foo;` / `mod foo;`
            return self.rust_path(ctx, &r.name);
        };
        if r.name == "*" {
            return self.rust_path(ctx, q);
        }
        let mut out = Vec::new();
        for m in self.rust_path(ctx, q)? {
            out.extend(self.members(&m, &r.name, 0)?);
        }
        Ok(out)
    }

    /// A Rust path such as `crate::a::b`, `super::x`, `self::y` or `a::b` (a module
    /// declared in scope, else one at the crate root), to modules or items.
    fn rust_path(&mut self, ctx: &FileCtx, path: &str) -> Result<Vec<Target>> {
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let Some((&first, rest)) = segments.split_first() else {
            return Ok(Vec::new());
        };
        let root = rust_crate_root(&ctx.data.path);
        let mut current: Vec<Target> = match first {
            "crate" => self.rust_crate_root_file(&root)?,
            "self" => vec![Target::Def(ctx.file_node.clone())],
            "super" => self.rust_parent_module(&ctx.file_node)?,
            "std" | "core" | "alloc" => return Ok(Vec::new()),
            name => {
                // A module or item declared in this file, then one at the crate root.
                let local: Vec<Target> = ctx
                    .children_named(ctx.file_node.id, name)
                    .cloned()
                    .map(Target::Def)
                    .collect();
                let mut found = Vec::new();
                for t in local {
                    match t {
                        Target::Def(d) if d.kind == NodeKind::Import => {
                            found.extend(self.follow(d, 1)?)
                        }
                        Target::Def(d) if d.kind == NodeKind::Module => {
                            let sub = self.submodule(&ctx.file_node, name)?;
                            if sub.is_empty() {
                                found.push(Target::Def(d));
                            } else {
                                found.extend(sub);
                            }
                        }
                        other => found.push(other),
                    }
                }
                if found.is_empty() {
                    for r in self.rust_crate_root_file(&root)? {
                        found.extend(self.members(&r, name, 0)?);
                    }
                }
                // Another crate of the workspace, by its manifest's name.
                if found.is_empty() {
                    found = self.rust_crate(name, &ctx.data.path)?;
                }
                found
            }
        };
        for seg in rest {
            let mut next = Vec::new();
            for t in &current {
                if *seg == "super" {
                    if let Target::Def(d) = t {
                        next.extend(self.rust_parent_module(d)?);
                    }
                    continue;
                }
                let members = self.members(t, seg, 0)?;
                // `mod x;` declares a module node whose body is another file.
                for m in members {
                    match m {
                        Target::Def(d) if d.kind == NodeKind::Module => {
                            let parent_file = match t {
                                Target::Def(p) if p.kind == NodeKind::File => Some(p.clone()),
                                _ => None,
                            };
                            let sub = match parent_file {
                                Some(p) => self.submodule(&p, seg)?,
                                None => Vec::new(),
                            };
                            if sub.is_empty() {
                                next.push(Target::Def(d));
                            } else {
                                next.extend(sub);
                            }
                        }
                        other => next.push(other),
                    }
                }
                if let Target::Def(d) = t
                    && d.kind == NodeKind::File
                    && next.is_empty()
                {
                    next.extend(self.submodule(d, seg)?);
                }
            }
            next.sort();
            next.dedup();
            current = next;
            if current.is_empty() {
                break;
            }
        }
        Ok(current)
    }

    fn rust_crate_root_file(&mut self, root: &str) -> Result<Vec<Target>> {
        for cand in ["lib.rs", "main.rs"] {
            let path = format!("{}{cand}", join_dir(root, "/"));
            if let Some(f) = self.file_node(&path)? {
                return Ok(vec![Target::Def(f)]);
            }
        }
        Ok(Vec::new())
    }

    fn rust_parent_module(&mut self, module: &Def) -> Result<Vec<Target>> {
        if module.kind != NodeKind::File {
            return Ok(Vec::new());
        }
        let dir = dir_of(&module.path);
        let is_dir_module = ["/mod.rs", "/lib.rs", "/main.rs"]
            .iter()
            .any(|s| module.path.ends_with(s));
        let parent_dir = if is_dir_module { dir_of(dir) } else { dir };
        let parent_dir_name = parent_dir.rsplit('/').next().unwrap_or(parent_dir);
        let mut cands = vec![
            format!("{}mod.rs", join_dir(parent_dir, "/")),
            format!("{}lib.rs", join_dir(parent_dir, "/")),
            format!("{}main.rs", join_dir(parent_dir, "/")),
        ];
        if !parent_dir.is_empty() {
            cands.push(format!(
                "{}{parent_dir_name}.rs",
                join_dir(dir_of(parent_dir), "/")
            ));
        }
        for c in cands {
            if let Some(f) = self.file_node(&c)? {
                return Ok(vec![Target::Def(f)]);
            }
        }
        Ok(Vec::new())
    }

    /// `Self::new()` / `self.f()` in a Rust impl of a type defined in another file.
    pub(super) fn rust_self_type_call(
        &mut self,
        ctx: &FileCtx,
        r: &Reference,
    ) -> Result<Option<Found>> {
        let Some(src) = ctx.node(r.source) else {
            return Ok(None);
        };
        let Some((ty_qname, _)) = src.qualified_name.rsplit_once("::") else {
            return Ok(None);
        };
        let ty_name = ty_qname.rsplit("::").next().unwrap_or(ty_qname);
        let types: Vec<Def> = self
            .rec
            .named(ty_name)?
            .iter()
            .filter(|d| d.kind.is_type() && d.qualified_name == ty_qname)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for t in &types {
            out.extend(self.type_members(t, &r.name)?.into_iter().map(Target::Def));
        }
        if out.is_empty() {
            // Methods in impl blocks of the same type, wherever they are.
            let qualified = format!("{ty_qname}::{}", r.name);
            out.extend(
                self.rec
                    .named(&r.name)?
                    .iter()
                    .filter(|d| d.qualified_name == qualified && d.language == Language::Rust)
                    .cloned()
                    .map(Target::Def),
            );
        }
        out.sort();
        out.dedup();
        Ok(Found::new(out, Resolution::Scope))
    }

    /// A qualifier starting at `crate`, `super` or `self`.
    pub(super) fn rust_rooted_path(
        &mut self,
        ctx: &FileCtx,
        qualifier: &str,
    ) -> Result<Option<Vec<Target>>> {
        if let Some(first) = qualifier.split("::").next()
            && matches!(first, "crate" | "super" | "self")
        {
            return Ok(Some(self.rust_path(ctx, qualifier)?));
        }
        Ok(None)
    }
}

/// The directory holding a Rust file's crate root (`src/`, or the file's own directory
/// for files outside `src/`).
fn rust_crate_root(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts[..parts.len().saturating_sub(1)]
        .iter()
        .rposition(|c| *c == "src")
    {
        Some(i) => parts[..=i].join("/"),
        None => dir_of(path).to_string(),
    }
}

/// The directory a Rust file's crate lives in: everything before its `src/`, `tests/`,
/// `benches/` or `examples/`.
fn crate_dir(path: &str) -> &str {
    let mut root: Option<&str> = None;
    for dir in ["src/", "tests/", "benches/", "examples/"] {
        if path.starts_with(dir) {
            return "";
        }
        // The outermost: `a/src/tests/x.rs` is crate `a/`.
        if let Some(i) = path.find(&format!("/{dir}"))
            && root.is_none_or(|r| i + 1 < r.len())
        {
            root = Some(&path[..=i]);
        }
    }
    root.unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_dirs() {
        assert_eq!(crate_dir("src/error.rs"), "");
        assert_eq!(crate_dir("tests/it.rs"), "");
        assert_eq!(crate_dir("crates/a/src/x/y.rs"), "crates/a/");
        assert_eq!(crate_dir("crates/a/benches/b.rs"), "crates/a/");
        assert_eq!(crate_dir("build.rs"), "");
        assert_eq!(crate_dir("a/src/tests/x.rs"), "a/");
    }

    #[test]
    fn crate_roots() {
        assert_eq!(rust_crate_root("crates/x/src/a/b.rs"), "crates/x/src");
        assert_eq!(rust_crate_root("tests/it.rs"), "tests");
    }
}
