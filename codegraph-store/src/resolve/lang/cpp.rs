//! C++: includes relative to the includer or anywhere their path ends, an include
//! bringing the whole file and its namespaces into scope; using-declarations by
//! qualified name; members in scope inside a class; constructors named after their
//! class.

use codegraph_core::{Language, NodeId, NodeKind, Reference, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{Resolver, is_identifier, join_dir, normalize_path};
use crate::view::{Def, View, dir_of};

pub(super) struct CppRules;

impl ResolveRules for CppRules {
    fn overloads_by_arity(&self) -> bool {
        true
    }

    fn ecosystem(&self) -> u8 {
        5
    }

    fn global_qualifier(&self) -> Option<&'static str> {
        Some("::")
    }

    fn is_self_like(&self, head: &str) -> bool {
        head == "this"
    }

    fn members_in_scope(&self) -> bool {
        true
    }

    fn bare_import_is_wildcard(&self) -> bool {
        true
    }

    fn constructor_names<'a>(&self, type_name: &'a str) -> Vec<&'a str> {
        vec![type_name]
    }

    /// Standard containers hold their elements, reached by a range-for or an index
    /// (`codegraph_parse`'s C++ `see_through`).
    fn has_holders(&self) -> bool {
        true
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    /// An include, or a using-declaration (`using ::testing::Range;`), which binds the
    /// name to what the qualified name declares, whether or not the file that declares
    /// it is among the includes found: include directories are not known.
    pub(super) fn cpp_import(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        let Some(scope) = r.qualifier.as_deref() else {
            return self.cpp_include(ctx, r);
        };
        if r.name == "*" {
            // `using namespace`: the includes bring the namespaces' members.
            return Ok(Vec::new());
        }
        let rooted = scope.trim().starts_with("::");
        let scope = without_template_arguments(scope.trim().trim_start_matches("::"));
        let qualified = if scope.is_empty() {
            r.name.clone()
        } else {
            format!("{scope}::{}", r.name)
        };
        self.cpp_declared(ctx, r.source, &qualified, rooted, |_| true)
    }

    /// A qualifier no scope in the file names (`fmt_helper::pad2(..)` inside `namespace
    /// spdlog::details`, whose header came through an include directory), or one
    /// written from the global namespace (`::testing::UnitTest::GetInstance()`): the
    /// namespaces or types of that qualified name, relative to the namespaces around
    /// `from` as C++ looks names up.
    pub(super) fn cpp_qualifier(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        qualifier: &str,
    ) -> Result<Option<Vec<Target>>> {
        let rooted = qualifier.starts_with("::");
        let qualified = without_template_arguments(qualifier.trim_start_matches("::"));
        if qualified.is_empty() || !qualified.split("::").all(is_identifier) {
            return Ok(None);
        }
        let found = self.cpp_declared(ctx, from, &qualified, rooted, |d| {
            d.kind == NodeKind::Namespace || d.kind.is_type()
        })?;
        Ok((!found.is_empty()).then_some(found))
    }

    /// The definitions of `qualified` (which `wanted` admits) as seen from node `from`:
    /// nested in the innermost namespace around `from` that declares it, else at the
    /// top, else (unless `rooted`) in any namespace whose name ends with it.
    fn cpp_declared(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        qualified: &str,
        rooted: bool,
        wanted: impl Fn(&Def) -> bool,
    ) -> Result<Vec<Target>> {
        let last = qualified.rsplit("::").next().unwrap_or(qualified);
        let named = self.rec.named(last)?;
        let candidates: Vec<&Def> = named
            .iter()
            .filter(|d| {
                d.language == Language::Cpp
                    && !matches!(d.kind, NodeKind::Import | NodeKind::File)
                    && wanted(d)
            })
            .collect();
        let exactly = |full: &str| -> Vec<Target> {
            candidates
                .iter()
                .filter(|d| d.qualified_name == full)
                .map(|&d| Target::Def(d.clone()))
                .collect()
        };
        if !rooted {
            let mut around = ctx.node(from).and_then(|d| d.parent);
            while let Some(s) = around.and_then(|p| ctx.node(p)) {
                if s.kind == NodeKind::Namespace {
                    let found = exactly(&format!("{}::{qualified}", s.qualified_name));
                    if !found.is_empty() {
                        return Ok(found);
                    }
                }
                around = s.parent;
            }
        }
        let found = exactly(qualified);
        if !found.is_empty() || rooted || !qualified.contains("::") {
            return Ok(found);
        }
        let nested = format!("::{qualified}");
        Ok(candidates
            .iter()
            .filter(|d| d.qualified_name.ends_with(&nested))
            .map(|&d| Target::Def(d.clone()))
            .collect())
    }

    fn cpp_include(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        let raw = r.name.as_str();
        let (system, inner) = if let Some(s) = raw.strip_prefix('<') {
            (true, s.trim_end_matches('>'))
        } else {
            (false, raw.trim_matches('"'))
        };
        if !system
            && let Some(p) = normalize_path(dir_of(&ctx.data.path), &format!("./{inner}"))
            && let Some(f) = self.file_node(&p)?
        {
            return Ok(vec![Target::Def(f)]);
        }
        // Include directories are unknown: any file whose path ends with the include.
        let (dir, file) = match inner.rfind('/') {
            Some(i) => (&inner[..i], &inner[i + 1..]),
            None => ("", inner),
        };
        let dirs = if dir.is_empty() {
            // Only the includer's own tree; a bare `<vector>` stays external.
            if system {
                return Ok(Vec::new());
            }
            vec![dir_of(&ctx.data.path).to_string()]
        } else {
            self.rec.dirs_ending_with(dir)
        };
        let mut out = Vec::new();
        for d in dirs {
            if let Some(f) = self.file_node(&format!("{}{file}", join_dir(&d, "/")))? {
                out.push(Target::Def(f));
            }
        }
        Ok(out)
    }

    /// Definitions named `name` in the namespaces an included C++ file declares.
    pub(super) fn cpp_namespace_members(
        &mut self,
        file: &Target,
        name: &str,
    ) -> Result<Vec<Target>> {
        let Target::Def(f) = file else {
            return Ok(Vec::new());
        };
        Ok(self
            .rec
            .named(name)?
            .iter()
            .filter(|d| d.path == f.path && d.kind != NodeKind::Import)
            .cloned()
            .map(Target::Def)
            .collect())
    }
}

/// `Base<T>::Inner<U>` as `Base::Inner`: definitions are named without their template
/// arguments.
fn without_template_arguments(scope: &str) -> String {
    let mut out = String::with_capacity(scope.len());
    let mut depth = 0usize;
    for c in scope.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}
