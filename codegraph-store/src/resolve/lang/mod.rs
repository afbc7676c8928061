//! What resolution needs to know of each language: facts the generic stages ask about
//! ([`ResolveRules`], one unit struct per language, as `codegraph_parse::lang::Rules`
//! does for extraction), and each language's module rules (imports, packages, implicit
//! scopes) as an `impl Resolver` block in the language's file.
//!
//! The module rules need the resolver, which is generic over its view, so they cannot be
//! trait methods of a `&'static dyn ResolveRules`: the dispatch methods at the end of
//! this file match on the language instead, and they are the only matches on it.

use codegraph_core::{Language, NodeId, Reference, Result};

use super::Resolver;
use super::context::{FileCtx, Found, Target};
pub(super) use super::rules::ResolveRules;
use crate::view::{Def, View};

mod cpp;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

/// The rules for a language.
pub(super) fn rules(language: Language) -> &'static dyn ResolveRules {
    match language {
        Language::Rust => &rust::RustRules,
        Language::Python => &python::PythonRules,
        Language::JavaScript | Language::TypeScript | Language::Tsx => &javascript::JavaScriptRules,
        Language::Go => &go::GoRules,
        Language::Java => &java::JavaRules,
        Language::Cpp => &cpp::CppRules,
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    /// What import reference `r` of `ctx` refers to, under the language's module rules.
    pub(super) fn language_import(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        Ok(match ctx.language {
            Language::Python => self.python_import(ctx, r)?,
            Language::Rust => self.rust_import(ctx, r)?,
            Language::JavaScript | Language::TypeScript | Language::Tsx => {
                self.js_import(ctx, r)?
            }
            Language::Go => self.go_package(ctx, &r.name)?.into_iter().collect(),
            Language::Java => self.java_import(r)?,
            Language::Cpp => self.cpp_import(ctx, r)?,
        })
    }

    /// The methods a call resolved to `method` may run besides it: where `method` is
    /// declared by an interface, its implementations (Go's found by method sets).
    pub(super) fn dispatch_targets(&mut self, method: &Def) -> Result<Vec<Def>> {
        match method.language {
            Language::Go => self.go_implementations(method),
            _ => Ok(Vec::new()),
        }
    }

    /// Definitions named `name` in the module a file is part of without importing it
    /// (its Go or Java package).
    pub(super) fn implicit_scope(&mut self, ctx: &FileCtx, name: &str) -> Result<Vec<Target>> {
        match ctx.language {
            Language::Go => self.go_package_members(ctx, name),
            Language::Java => self.java_package_members(ctx, name),
            _ => Ok(Vec::new()),
        }
    }

    /// What a module `m` that `ctx` imports wholesale brings into scope under `name`
    /// beyond its members (the namespaces a C++ include declares).
    pub(super) fn wildcard_extras(
        &mut self,
        ctx: &FileCtx,
        m: &Target,
        name: &str,
    ) -> Result<Vec<Target>> {
        match ctx.language {
            Language::Cpp => self.cpp_namespace_members(m, name),
            _ => Ok(Vec::new()),
        }
    }

    /// A qualifier that starts at a root the language names by keyword (Rust `crate::`,
    /// `super::`, `self::`); `None` when it does not.
    pub(super) fn rooted_qualifier(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        qualifier: &str,
    ) -> Result<Option<Vec<Target>>> {
        match ctx.language {
            Language::Rust => self.rust_rooted_path(ctx, qualifier),
            // `::testing::UnitTest`: from the global namespace.
            Language::Cpp if qualifier.len() > 2 && qualifier.starts_with("::") => Ok(Some(
                self.cpp_qualifier(ctx, from, qualifier)?
                    .unwrap_or_default(),
            )),
            _ => Ok(None),
        }
    }

    /// A qualifier whose first segment no scope names, when the language still knows
    /// what it names as a whole.
    pub(super) fn unbound_qualifier(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        qualifier: &str,
        segments: &[&str],
    ) -> Result<Option<Vec<Target>>> {
        match ctx.language {
            Language::Python => self.python_dotted_import(ctx, qualifier, segments),
            Language::Cpp => self.cpp_qualifier(ctx, from, qualifier),
            Language::Rust => self.rust_crate_path(ctx, qualifier, segments),
            _ => Ok(None),
        }
    }

    /// A call on `self` (or `Self`) with no type around it.
    pub(super) fn detached_self_call(
        &mut self,
        ctx: &FileCtx,
        r: &Reference,
        q: &str,
    ) -> Result<Option<Found>> {
        match ctx.language {
            // Rust methods of a type defined in another file hang off the file;
            // their qualified name still names the type.
            Language::Rust => self.rust_self_type_call(ctx, r),
            // A method assembled outside its class: `def f(self: "Cls")`.
            _ => self.inferred_call(ctx, r, q),
        }
    }

    /// Members of type `owner` named `name` defined away from the type's own module
    /// (Rust impls), when the language has them. `named` is every definition called
    /// `name`.
    pub(super) fn members_elsewhere(
        &mut self,
        owner: &Def,
        name: &str,
        named: &[Def],
    ) -> Result<Vec<Def>> {
        match owner.language {
            Language::Rust => self.rust_impl_members(owner, name, named),
            _ => Ok(Vec::new()),
        }
    }

    /// A call on a receiver whose type inference did not find, when the language can
    /// still tell it (a Go method's receiver).
    pub(super) fn receiver_call(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Option<Found>> {
        match ctx.language {
            Language::Go => self.go_receiver_call(ctx, r),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only JavaScript and TypeScript (with TSX) import each other's modules.
    #[test]
    fn ecosystems() {
        let family = |l: Language| match l {
            Language::JavaScript | Language::TypeScript | Language::Tsx => Language::JavaScript,
            other => other,
        };
        for &a in Language::ALL {
            for &b in Language::ALL {
                assert_eq!(
                    rules(a).ecosystem() == rules(b).ecosystem(),
                    family(a) == family(b),
                    "{a} and {b}"
                );
            }
        }
    }
}
