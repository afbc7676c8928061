//! Go: packages by directory, the file's own package in scope, methods through their
//! receiver's type.

use codegraph_core::{NodeKind, Reference, ReferenceKind, Resolution, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Found, Target};
use crate::resolve::{Resolver, is_identifier};
use crate::view::{Def, View, dir_of};

pub(super) struct GoRules;

impl ResolveRules for GoRules {
    fn ecosystem(&self) -> u8 {
        3
    }

    fn aliases_name_types(&self) -> bool {
        true
    }

    fn is_self_like(&self, _head: &str) -> bool {
        false
    }

    fn bare_names_find_methods(&self) -> bool {
        false
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    /// A Go import path to the package directory's files (the file's own package when
    /// `import_path` is empty).
    pub(super) fn go_package(
        &mut self,
        ctx: &FileCtx,
        import_path: &str,
    ) -> Result<Option<Target>> {
        let dirs = if import_path.is_empty() {
            vec![dir_of(&ctx.data.path).to_string()]
        } else {
            // The module prefix (from go.mod) is unknown: the longest directory suffix of
            // the import path that exists wins.
            let segs: Vec<&str> = import_path.split('/').collect();
            let mut found = Vec::new();
            for start in 0..segs.len() {
                let suffix = segs[start..].join("/");
                let dirs = self.rec.dirs_ending_with(&suffix);
                if !dirs.is_empty() {
                    found = dirs;
                    break;
                }
            }
            // The module's own root package (`github.com/sirupsen/logrus` imported from
            // `logrus/hooks`, indexed as the project root): no directory is named after
            // it, but the root's files declare its package name.
            // Go has no self-imports, so a file of the root itself never means it, and a
            // one-element path is the standard library's (`"errors"`).
            if found.is_empty()
                && segs.len() > 1
                && !dir_of(&ctx.data.path).is_empty()
                && let Some(last) = segs.last()
                && self
                    .rec
                    .named(last)?
                    .iter()
                    .any(|d| d.kind == NodeKind::Package && dir_of(&d.path).is_empty())
            {
                found.push(String::new());
            }
            found
        };
        let mut files = Vec::new();
        for dir in dirs {
            for path in self.rec.files_in_dir(&dir) {
                if !path.ends_with(".go") || path.ends_with("_test.go") && !import_path.is_empty() {
                    continue;
                }
                if let Some(f) = self.file_node(&path)? {
                    files.push(f);
                }
            }
        }
        files.sort();
        Ok(if files.is_empty() {
            None
        } else {
            Some(Target::Package(files))
        })
    }

    /// `s.init()` inside a Go method: the receiver's type has the method.
    pub(super) fn go_receiver_call(
        &mut self,
        ctx: &FileCtx,
        r: &Reference,
    ) -> Result<Option<Found>> {
        let Some(src) = ctx.node(r.source) else {
            return Ok(None);
        };
        if src.kind != NodeKind::Method {
            return Ok(None);
        }
        let Some(q) = r.qualifier.as_deref() else {
            return Ok(None);
        };
        if !is_identifier(q) {
            return Ok(None);
        }
        let Some((ty_qname, _)) = src.qualified_name.rsplit_once('.') else {
            return Ok(None);
        };
        let ty_name = ty_qname.rsplit('.').next().unwrap_or(ty_qname);
        // Only the receiver itself (`func (s *T) f()`: `s`, declared in the method with
        // the receiver's type); any other variable's type is not the method's.
        let is_receiver = ctx.bindings_of(src.id, q).iter().any(|&i| {
            let b = &ctx.data.references[i];
            b.kind == ReferenceKind::Type && b.name == ty_name
        });
        if !is_receiver {
            return Ok(None);
        }
        let dir = dir_of(&ctx.data.path).to_string();
        let types: Vec<Def> = self
            .rec
            .named(ty_name)?
            .iter()
            .filter(|d| d.kind.is_type() && d.qualified_name == ty_qname && dir_of(&d.path) == dir)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for t in &types {
            out.extend(self.type_members(t, &r.name)?.into_iter().map(Target::Def));
        }
        Ok(Found::new(out, Resolution::Scope))
    }

    /// Members named `name` of the file's own package, which is in scope without an
    /// import.
    pub(super) fn go_package_members(&mut self, ctx: &FileCtx, name: &str) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        if let Some(pkg) = self.go_package(ctx, "")? {
            targets.extend(self.members(&pkg, name, 0)?);
        }
        Ok(targets)
    }
}
