//! C++: includes relative to the includer or anywhere their path ends, an include
//! bringing the whole file and its namespaces into scope; members in scope inside a
//! class; constructors named after their class.

use codegraph_core::{NodeKind, Reference, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{Resolver, join_dir, normalize_path};
use crate::view::{View, dir_of};

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
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    pub(super) fn cpp_include(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
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
