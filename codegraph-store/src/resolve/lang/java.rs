//! Java: imports by qualified name, packages (memoised: hundreds of files long), the
//! file's own package in scope; members in scope inside a class; constructors named
//! after their class.

use std::collections::BTreeSet;

use codegraph_core::{Language, NodeKind, Reference, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{MemoKey, Resolver};
use crate::view::{Def, View};

pub(super) struct JavaRules;

impl ResolveRules for JavaRules {
    fn overloads_by_arity(&self) -> bool {
        true
    }

    fn locals_hide_functions(&self) -> bool {
        false
    }

    fn ecosystem(&self) -> u8 {
        4
    }

    fn is_self_like(&self, head: &str) -> bool {
        head == "this"
    }

    fn members_in_scope(&self) -> bool {
        true
    }

    fn constructor_names<'a>(&self, type_name: &'a str) -> Vec<&'a str> {
        vec![type_name]
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    pub(super) fn java_import(&mut self, r: &Reference) -> Result<Vec<Target>> {
        let Some(q) = r.qualifier.as_deref() else {
            return Ok(Vec::new());
        };
        if r.name == "*" {
            return Ok(self.java_package(q)?.into_iter().collect());
        }
        // `import a.b.C` or `import static a.b.C.m`.
        let qualified = format!("{q}.{}", r.name);
        Ok(self
            .rec
            .named(&r.name)?
            .iter()
            .filter(|d| d.language == Language::Java && d.qualified_name == qualified)
            .filter(|d| d.kind != NodeKind::Import)
            .cloned()
            .map(Target::Def)
            .collect())
    }

    /// The files declaring a Java package.
    fn java_package(&mut self, package: &str) -> Result<Option<Target>> {
        let key = MemoKey::JavaPackage(package.to_string());
        let package = package.to_string();
        let found = self.memoised(key, move |this| {
            // Package nodes are named by the whole dotted name.
            let files: Vec<Def> = this
                .rec
                .named(&package)?
                .iter()
                .filter(|d| {
                    d.kind == NodeKind::Package
                        && d.language == Language::Java
                        && d.qualified_name == package
                })
                .map(|d| d.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter_map(|p| this.file_node(&p).transpose())
                .collect::<Result<_>>()?;
            Ok(if files.is_empty() {
                Vec::new()
            } else {
                vec![Target::Package(files)]
            })
        })?;
        Ok(found.into_iter().next())
    }

    /// Members named `name` of the file's own package, which is in scope without an
    /// import.
    pub(super) fn java_package_members(
        &mut self,
        ctx: &FileCtx,
        name: &str,
    ) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        let package = ctx
            .data
            .nodes
            .iter()
            .find(|d| d.kind == NodeKind::Package)
            .map(|d| d.qualified_name.clone());
        if let Some(p) = package
            && let Some(pkg) = self.java_package(&p)?
        {
            targets.extend(self.members(&pkg, name, 0)?);
        }
        Ok(targets)
    }
}
