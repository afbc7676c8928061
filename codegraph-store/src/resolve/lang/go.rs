//! Go: packages by directory, the file's own package in scope, methods through their
//! receiver's type.

use std::collections::HashSet;

use codegraph_core::{NodeId, NodeKind, Reference, ReferenceKind, Resolution, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Found, Target};
use crate::resolve::{MAX_DEPTH, MemoKey, Resolver, is_identifier};
use crate::view::{Def, View, dir_of};

/// More implementations than this make an interface too general for its calls to say
/// anything about them (`String()` of `fmt.Stringer` in a large tree): the call keeps its
/// edge to the interface's method alone.
pub(crate) const MAX_DISPATCH: usize = 32;

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

    /// Slices, arrays, maps and channels hold their element (`see_through` in
    /// codegraph-parse's `lang/go.rs`).
    fn has_holders(&self) -> bool {
        true
    }

    /// `switch x := v.(type) { case *T: .. }`: `x` is a `*T` in that case alone.
    fn narrows(&self) -> bool {
        true
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

    /// The methods named like `method`, a method of an interface, of every type in the
    /// project that has all of the interface's methods (by name: Go's method sets,
    /// embedded fields and interfaces included), where the method takes and returns as
    /// many values as the interface's. A type that gets the method itself only by
    /// promotion from an embedded field is not found. None when the interface's method
    /// set is not all known (it embeds a type that is no project interface), or when
    /// more types than [`MAX_DISPATCH`] have it.
    pub(super) fn go_implementations(&mut self, method: &Def) -> Result<Vec<Def>> {
        let method = method.clone();
        let found = self.memoised(MemoKey::Implementations(method.id), |this| {
            let Some(iface) = this.interface_of(&method)? else {
                return Ok(Vec::new());
            };
            let mut seen = HashSet::new();
            let Some(names) = this.go_method_set(&iface, 0, &mut seen)? else {
                return Ok(Vec::new());
            };
            let candidates: Vec<Def> = this
                .rec
                .named(&method.name)?
                .iter()
                .filter(|d| {
                    d.kind == NodeKind::Method && d.language == method.language && d.id != method.id
                })
                .cloned()
                .collect();
            let mut out = Vec::new();
            for candidate in candidates {
                // A method elem of another interface is no implementation, nor a method
                // taking or returning other counts (`FailNow(msg string)` for
                // `FailNow()`, `Flush() error` for `Flush()`).
                if differ(candidate.arity, method.arity)
                    || differ(candidate.results, method.results)
                {
                    continue;
                }
                // Found by name, as the call's other lookups are: reading each
                // candidate's file would tie every such call to all of those files.
                let Some(receiver) = this.go_receiver_type(&candidate)? else {
                    continue;
                };
                if receiver.kind == NodeKind::Interface {
                    continue;
                }
                let mut has_all = true;
                for name in names.iter().filter(|n| **n != method.name) {
                    let members = this.type_members(&receiver, name)?;
                    if !members.iter().any(|m| m.kind == NodeKind::Method) {
                        has_all = false;
                        break;
                    }
                }
                if has_all {
                    out.push(Target::Def(candidate));
                    if out.len() > MAX_DISPATCH {
                        return Ok(Vec::new());
                    }
                }
            }
            Ok(out)
        })?;
        Ok(found
            .into_iter()
            .filter_map(|t| match t {
                Target::Def(d) => Some(d),
                Target::Package(_) => None,
            })
            .collect())
    }

    /// The interface that declares `method`, when one does.
    fn interface_of(&mut self, method: &Def) -> Result<Option<Def>> {
        let Some(parent) = method.parent else {
            return Ok(None);
        };
        let Some(ctx) = self.file_ctx(&method.path)? else {
            return Ok(None);
        };
        Ok(ctx
            .node(parent)
            .filter(|p| p.kind == NodeKind::Interface)
            .cloned())
    }

    /// The names of an interface's methods, its embedded interfaces' included; None when
    /// an embedded element is not an interface of the project.
    fn go_method_set(
        &mut self,
        iface: &Def,
        depth: usize,
        seen: &mut HashSet<NodeId>,
    ) -> Result<Option<Vec<String>>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        // An interface reached again (embedded along two paths) adds nothing: without
        // this, layers of interfaces each embedding the next layer's would be walked
        // once per path.
        if !seen.insert(iface.id) {
            return Ok(Some(Vec::new()));
        }
        let Some(ctx) = self.file_ctx(&iface.path)? else {
            return Ok(None);
        };
        let mut names: Vec<String> = ctx
            .data
            .nodes
            .iter()
            .filter(|d| d.parent == Some(iface.id) && d.kind == NodeKind::Method)
            .map(|d| d.name.clone())
            .collect();
        let embedded: Vec<Reference> = ctx
            .data
            .references
            .iter()
            .filter(|r| r.kind == ReferenceKind::Inherit && r.source == iface.id)
            .cloned()
            .collect();
        for r in embedded {
            let bases: Vec<Def> = self
                .resolve_type_ref(&ctx, &r)?
                .into_iter()
                .flat_map(|f| f.targets)
                .filter_map(|t| match t {
                    Target::Def(d) if d.kind == NodeKind::Interface => Some(d),
                    _ => None,
                })
                .collect();
            let [base] = bases.as_slice() else {
                return Ok(None);
            };
            match self.go_method_set(base, depth + 1, seen)? {
                Some(more) => names.extend(more),
                None => return Ok(None),
            }
        }
        names.sort();
        names.dedup();
        Ok(Some(names))
    }

    /// The type a Go method is declared on: `T` of `func (t *T) m()`, in its package.
    fn go_receiver_type(&mut self, method: &Def) -> Result<Option<Def>> {
        let Some((ty_qname, _)) = method.qualified_name.rsplit_once('.') else {
            return Ok(None);
        };
        let ty_name = ty_qname.rsplit('.').next().unwrap_or(ty_qname);
        let dir = dir_of(&method.path);
        Ok(self
            .rec
            .named(ty_name)?
            .iter()
            .find(|d| d.kind.is_type() && d.qualified_name == ty_qname && dir_of(&d.path) == dir)
            .cloned())
    }
}

/// Whether two counts read from signatures are both known and not equal.
fn differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}
