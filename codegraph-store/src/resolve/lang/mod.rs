//! What resolution needs to know of each language: facts the generic stages ask about
//! ([`ResolveRules`], one unit struct per language, as `codegraph_parse::lang::Rules`
//! does for extraction), and each language's module rules (imports, packages, implicit
//! scopes) as an `impl Resolver` block in the language's file.
//!
//! The module rules need the resolver, which is generic over its view, so they cannot be
//! trait methods of a `&'static dyn ResolveRules`: the dispatch methods at the end of
//! this file match on the language instead, and they are the only matches on it.

use codegraph_core::{Language, Reference, Result};

use super::Resolver;
use super::context::{FileCtx, Found, Target};
use crate::view::View;

mod cpp;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

/// Language-specific decisions of the generic stages. The defaults are those of a
/// language with none of the feature in question.
pub(super) trait ResolveRules: Sync {
    /// Languages that import each other's modules share a number, and only definitions
    /// of the same number are candidates for a name.
    fn ecosystem(&self) -> u8;

    /// `self`, `this`, `cls`: the receiver that is the enclosing type's instance.
    fn is_self_like(&self, head: &str) -> bool;

    /// A qualifier naming the enclosing type itself (Rust `Self::f`).
    fn is_self_type(&self, _qualifier: &str) -> bool {
        false
    }

    /// Types the language itself provides, which no project definition can be the
    /// target of a declaration naming them.
    fn is_builtin_type(&self, _name: &str) -> bool {
        false
    }

    /// Builtin functions and classes: a bare call of one of these names that no scope
    /// or import binds is the builtin, never a project definition of that name.
    fn is_builtin_function(&self, _name: &str) -> bool {
        false
    }

    /// Whether a bare `super()` only finds the bases (Python) rather than calling a
    /// base's constructor (Java, JavaScript).
    fn super_is_proxy(&self) -> bool {
        false
    }

    /// Whether a type's members are in scope inside it without `this.` (Java, C++).
    fn members_in_scope(&self) -> bool {
        false
    }

    /// Whether an import without a qualifier brings a whole file into scope (C++
    /// `#include`).
    fn bare_import_is_wildcard(&self) -> bool {
        false
    }

    /// Whether only the last of several definitions of one name in one scope counts:
    /// Python's `@overload` stubs and redefinitions, TypeScript's overload signatures.
    fn keeps_last_definition(&self) -> bool {
        false
    }

    /// The files that may hold submodule `name` of the module in file `module_path`, in
    /// the order they are tried.
    fn submodule_paths(&self, _module_path: &str, _name: &str) -> Vec<String> {
        Vec::new()
    }

    /// Whether a module declared in a file may have its body in a file of its own (Rust
    /// `mod x;`).
    fn modules_in_files(&self) -> bool {
        false
    }

    /// The names of a type's constructors, given the type's name; none where
    /// constructors are ordinary functions (Rust, Go).
    fn constructor_names<'a>(&self, _type_name: &'a str) -> Vec<&'a str> {
        Vec::new()
    }
}

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
            Language::Cpp => self.cpp_include(ctx, r)?,
        })
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
        qualifier: &str,
    ) -> Result<Option<Vec<Target>>> {
        match ctx.language {
            Language::Rust => self.rust_rooted_path(ctx, qualifier),
            _ => Ok(None),
        }
    }

    /// A qualifier whose first segment no scope names, when the language still knows
    /// what it names as a whole.
    pub(super) fn unbound_qualifier(
        &mut self,
        ctx: &FileCtx,
        qualifier: &str,
        segments: &[&str],
    ) -> Result<Option<Vec<Target>>> {
        match ctx.language {
            Language::Python => self.python_dotted_import(ctx, qualifier, segments),
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
