//! C++: includes relative to the includer or anywhere their path ends, an include
//! bringing the whole file and its namespaces into scope; using-declarations by
//! qualified name; members in scope inside a class; constructors named after their
//! class.

use codegraph_core::{Language, NodeKind, Reference, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{Resolver, join_dir, normalize_path};
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
        let scope = without_template_arguments(scope.trim().trim_start_matches("::"));
        let qualified = if scope.is_empty() {
            r.name.clone()
        } else {
            format!("{scope}::{}", r.name)
        };
        let nested = format!("::{qualified}");
        let named = self.rec.named(&r.name)?;
        let declared = |d: &&Def| {
            d.language == Language::Cpp && !matches!(d.kind, NodeKind::Import | NodeKind::File)
        };
        let exact: Vec<Target> = named
            .iter()
            .filter(declared)
            .filter(|d| d.qualified_name == qualified)
            .cloned()
            .map(Target::Def)
            .collect();
        if !exact.is_empty() || scope.is_empty() {
            return Ok(exact);
        }
        // Named relative to an enclosing namespace (`using internal::F;` inside
        // `namespace testing`): the innermost that declares it, else any.
        let mut around = ctx.node(r.source).and_then(|d| d.parent);
        while let Some(s) = around.and_then(|p| ctx.node(p)) {
            if s.kind == NodeKind::Namespace {
                let full = format!("{}::{qualified}", s.qualified_name);
                let found: Vec<Target> = named
                    .iter()
                    .filter(declared)
                    .filter(|d| d.qualified_name == full)
                    .cloned()
                    .map(Target::Def)
                    .collect();
                if !found.is_empty() {
                    return Ok(found);
                }
            }
            around = s.parent;
        }
        Ok(named
            .iter()
            .filter(declared)
            .filter(|d| d.qualified_name.ends_with(&nested))
            .cloned()
            .map(Target::Def)
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
