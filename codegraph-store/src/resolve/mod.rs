//! Cross-file resolution: references become edges to definitions.
//!
//! Each reference is tried in stages, and the first stage that finds anything wins:
//!
//! 1. **scope**: the lexical scopes around the reference, the enclosing class and its
//!    bases (`self.f()`, `this.f()`, `Self::f`, `super`), the enclosing Go method's type;
//! 2. **import**: the file's imports under the language's module rules (Rust `use`,
//!    `mod`, `crate::`/`super::`/`self::`; Python packages, relative imports, aliases;
//!    JS/TS relative specifiers, index files, re-exports; Go packages by directory and
//!    the file's own package; Java imports and the file's package; C++ includes and
//!    namespaces);
//! 3. **unique name**: the one definition of that name, of a fitting kind, in the
//!    project's language family; several become **ambiguous** edges, up to
//!    [`MAX_AMBIGUOUS`]; none leaves the reference **unresolved**.
//!
//! A call on a receiver (`x.f()`, `self.app.f()`) that no scope or import names is
//! resolved through the receiver's type, when one is known (**inferred**): a declared
//! type (`x: Foo`, a field's or a property's annotation, a function's return type) or the
//! call the variable was bound to (`x = Foo()`, `x = make()` with `make() -> Foo`).
//! Nothing is guessed beyond that: a call on a receiver whose type is unknown
//! (`x.append()`) stays unresolved.
//!
//! Resolution is a pure function of the file and the [`View`] it reads, and it notes
//! every read, so the indexer can tell which files a change can affect.

pub(crate) mod arity;
mod context;
mod lang;
mod rules;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

use codegraph_core::{
    Edge, FileResolution, Language, NodeId, NodeKind, Reference, ReferenceKind, Resolution, Result,
};

use crate::precise::PreciseFile;
use crate::view::{Def, FileData, Reads, Recorder, View};
use codegraph_parse::manifest::join_path as normalize_path;
use context::{FileCtx, Found, Target, weaker};
use lang::rules;
use rules::ResolveRules;

/// More candidates than this for one name make a reference unresolved rather than an
/// ambiguous fan of edges: a call to `get` with forty candidates says nothing.
pub const MAX_AMBIGUOUS: usize = 8;

/// How deep import chains (re-exports) and base-class walks are followed.
pub(crate) const MAX_DEPTH: usize = 12;

/// Languages that import each other's modules.
fn ecosystem(lang: Language) -> u8 {
    rules(lang).ecosystem()
}

/// Resolves files against a view, noting what it reads.
pub struct Resolver<'v, V: View + ?Sized> {
    rec: Recorder<'v, V>,
    /// Results of computations that finished without hitting a cycle guard, so they
    /// are the same whatever asked first. Each keeps the keys it read.
    memo: HashMap<MemoKey, (Vec<Target>, Arc<Reads>)>,
    /// Answers that hit the cycle guard, kept only while one reference is resolved. Such
    /// an answer depends on where the walk entered the cycle, so it must not outlive the
    /// reference that computed it; within it, reusing it is deterministic and keeps
    /// import cycles (barrel files re-exporting each other) from being walked again and
    /// again, which is exponential.
    scratch: HashMap<MemoKey, (Vec<Target>, Arc<Reads>)>,
    in_progress: HashSet<MemoKey>,
    /// Set when a computation hit the cycle guard; its result is then not memoised.
    truncated: bool,
    /// How deep receiver-type inference is nested (a type from a call's return type from
    /// an attribute's type ...); bounded so cycles end.
    type_depth: usize,
    /// Other files' contexts read while resolving the current file.
    contexts: HashMap<String, Arc<FileCtx>>,
    /// `direct_members` answers. The view does not change while a resolver lives, so
    /// they hold across files; a hit notes the name it read, as the lookup would.
    /// Keyed owner then name, so a hit is looked up by `&str` without allocating.
    direct: HashMap<NodeId, HashMap<String, Vec<Def>>>,
    /// The file and byte of the call whose receiver is being typed, while it is: a
    /// type parameter's bounds can depend on which `impl` the call is written in.
    use_site: Option<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum MemoKey {
    Import(NodeId),
    Bases(NodeId),
    /// The files of a Java package: asked for by every unqualified name in every file
    /// of the package, and hundreds of files long in large projects.
    JavaPackage(String),
    /// What a Rust module's globs re-export under a name: memoised so that modules
    /// re-exporting each other (`pub use a::*;` beside `use super::*;` in `a`) are
    /// walked once and cycles end.
    Glob(NodeId, String),
    /// The implementations of an interface's method, read from every method of its name.
    Implementations(NodeId),
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    pub fn new(view: &'v V) -> Self {
        Resolver {
            rec: Recorder::new(view),
            memo: HashMap::new(),
            scratch: HashMap::new(),
            in_progress: HashSet::new(),
            truncated: false,
            type_depth: 0,
            contexts: HashMap::new(),
            direct: HashMap::new(),
            use_site: None,
        }
    }

    /// Resolves every reference of one file, taking what `precise` (an imported index
    /// of the file's current content) says of the sites it covers.
    pub fn resolve_file(
        &mut self,
        path: &str,
        precise: Option<&Arc<PreciseFile>>,
    ) -> Result<FileResolution> {
        self.rec.take();
        // Memoised answers (and cached contexts) outlive the file that computed them: each
        // carries the keys its computation read and notes them again on every hit, so a
        // file's dependencies are complete however the cache was filled. Keeping them
        // matters for barrels (`export *` chains), which every importing file walks.
        let Some(data) = self.rec.file(path)? else {
            return Ok(FileResolution::default());
        };
        let Some(ctx) = file_context(data) else {
            return Ok(FileResolution::default());
        };
        let mut edges = Vec::new();
        let mut unresolved = Vec::new();
        for (i, r) in ctx.data.references.iter().enumerate() {
            self.in_progress.clear();
            self.scratch.clear();
            self.truncated = false;
            let imported = match precise.and_then(|p| p.site(r)) {
                Some(targets) => self.precise_targets(r, targets)?,
                None => None,
            };
            let found = match (imported, r.kind) {
                (Some(found), _) => found,
                (None, ReferenceKind::Import) => self.import_targets(&ctx, i)?,
                (None, ReferenceKind::Call) => self.resolve_call(&ctx, r)?,
                (None, ReferenceKind::Inherit | ReferenceKind::Implement) => {
                    self.resolve_type_ref(&ctx, r)?
                }
                // A declared type is a use of that type. The language's own types are
                // nobody's definitions, and there are many of them: skip the lookups.
                (None, ReferenceKind::Type)
                    if r.qualifier.is_none() && rules(ctx.language).is_builtin_type(&r.name) =>
                {
                    None
                }
                (None, ReferenceKind::Type) => self.resolve_type_ref(&ctx, r)?,
                // Only hints for typing receivers; a call is an edge of its own.
                (None, ReferenceKind::Assign | ReferenceKind::Value) => continue,
            };
            let found = match found {
                Some(f)
                    if f.how != Resolution::Precise
                        && rules(ctx.language).keeps_last_definition() =>
                {
                    Some(self.last_definitions(f)?)
                }
                other => other,
            };
            // A call never lands on a type alias or an interface (`type OK<T>` beside
            // `const OK = ...`), nor on a module beside a callable of its name (Rust's
            // `use codegraph_store::index;` imports the module and the function).
            let found = match (r.kind, found) {
                (ReferenceKind::Call, Some(mut f)) => {
                    f.targets.retain(|t| {
                        !matches!(t, Target::Def(d) if matches!(d.kind, NodeKind::TypeAlias | NodeKind::Interface))
                    });
                    let scope_like = |t: &Target| matches!(t, Target::Def(d) if matches!(d.kind, NodeKind::Module | NodeKind::Namespace | NodeKind::File));
                    if f.targets.iter().any(|t| !scope_like(t)) {
                        f.targets.retain(|t| !scope_like(t));
                    }
                    (!f.targets.is_empty()).then_some(f)
                }
                (_, other) => other,
            };
            // Overloads by the number of arguments (`Eq(x)` beside `Eq()`): of several
            // candidates, those that accept the call's, when any does.
            let found = match (found, r.arguments) {
                (Some(mut f), Some(n))
                    if f.targets.len() > 1 && rules(ctx.language).overloads_by_arity() =>
                {
                    let fits = |t: &Target| !matches!(t, Target::Def(d) if !d.accepts(n));
                    if f.targets.iter().any(fits) {
                        f.targets.retain(fits);
                    }
                    Some(f)
                }
                (other, _) => other,
            };
            let mut dsts: Vec<(NodeId, Resolution)> = Vec::new();
            if let Some(found) = found {
                // Several targets are a guess among candidates, except overloads of
                // one imported name (one qualified name), which are one callable.
                let names: HashSet<&str> = found
                    .targets
                    .iter()
                    .filter_map(|t| match t {
                        Target::Def(d) => Some(d.qualified_name.as_str()),
                        Target::Package(_) => None,
                    })
                    .collect();
                let how = if found.targets.len() > 1
                    && found.how != Resolution::Precise
                    && (found.how != Resolution::Import
                        || (r.kind != ReferenceKind::Import && names.len() > 1))
                {
                    Resolution::Ambiguous
                } else {
                    found.how
                };
                for t in &found.targets {
                    match t {
                        Target::Def(d) => dsts.push((d.id, how)),
                        Target::Package(files) => {
                            dsts.extend(files.iter().map(|f| (f.id, how)));
                        }
                    }
                }
                // A call known to name an interface's method may run any of its
                // implementations: each is a `dispatch` edge beside it.
                if r.kind == ReferenceKind::Call && !how.is_guess() {
                    for t in &found.targets {
                        if let Target::Def(d) = t
                            && d.kind == NodeKind::Method
                        {
                            for m in self.dispatch_targets(d)? {
                                dsts.push((m.id, Resolution::Dispatch));
                            }
                        }
                    }
                }
            }
            dsts.sort();
            dsts.dedup_by_key(|(id, _)| *id);
            // Recursion is a real call; an import binding naming itself is not an edge.
            if r.kind == ReferenceKind::Import {
                dsts.retain(|(id, _)| *id != r.source);
            }
            if dsts.is_empty() {
                // A declared type that is not the project's (`int`, `str`) is no loss.
                if r.kind != ReferenceKind::Type {
                    unresolved.push(i as u32);
                }
                continue;
            }
            let kind = r.kind.edge_kind();
            // `impl Trait for Type`: the type implements, not the enclosing module.
            let mut sources = vec![r.source];
            if r.kind != ReferenceKind::Type
                && let Some(subject) = r.subject.as_deref()
            {
                let subject_ref = Reference {
                    kind: ReferenceKind::Inherit,
                    subject: None,
                    qualifier: None,
                    name: subject.rsplit("::").next().unwrap_or(subject).to_string(),
                    ..r.clone()
                };
                if let Some(found) = self.resolve_type_ref(&ctx, &subject_ref)? {
                    let ids: Vec<NodeId> = found
                        .targets
                        .iter()
                        .filter_map(|t| match t {
                            Target::Def(d) => Some(d.id),
                            Target::Package(_) => None,
                        })
                        .collect();
                    if !ids.is_empty() {
                        sources = ids;
                    }
                }
            }
            for (src, (dst, how)) in sources
                .iter()
                .flat_map(|s| dsts.iter().map(move |d| (*s, *d)))
            {
                edges.push(Edge {
                    src,
                    dst,
                    kind,
                    resolution: how,
                    span: Some(r.span),
                });
            }
        }
        edges.sort_by(|a, b| {
            (a.src, a.kind, a.dst, a.span.map(|s| s.start_byte)).cmp(&(
                b.src,
                b.kind,
                b.dst,
                b.span.map(|s| s.start_byte),
            ))
        });
        edges.dedup_by(|a, b| {
            a.src == b.src
                && a.kind == b.kind
                && a.dst == b.dst
                && a.span.map(|s| s.start_byte) == b.span.map(|s| s.start_byte)
        });
        let mut dependencies: Vec<String> = self.rec.take().into_iter().collect();
        // A file never needs to be told about its own changes: it is re-resolved anyway.
        let own = crate::view::path_key(path);
        dependencies.retain(|k| *k != own);
        Ok(FileResolution {
            edges,
            unresolved,
            dependencies,
        })
    }

    // ---- memoised sub-computations ------------------------------------------------

    fn memoised(
        &mut self,
        key: MemoKey,
        compute: impl FnOnce(&mut Self) -> Result<Vec<Target>>,
    ) -> Result<Vec<Target>> {
        if let Some((targets, reads)) = self.memo.get(&key) {
            self.rec.note_all(reads);
            return Ok(targets.clone());
        }
        if let Some((targets, reads)) = self.scratch.get(&key) {
            self.rec.note_all(reads);
            // Still an answer cut short by a cycle: whatever uses it is too.
            self.truncated = true;
            return Ok(targets.clone());
        }
        if self.in_progress.contains(&key) || self.in_progress.len() > MAX_DEPTH * 4 {
            self.truncated = true;
            return Ok(Vec::new());
        }
        self.in_progress.insert(key.clone());
        let outer_truncated = std::mem::replace(&mut self.truncated, false);
        self.rec.push();
        let result = compute(self);
        let reads = self.rec.pop();
        self.in_progress.remove(&key);
        let targets = result?;
        if self.truncated {
            self.scratch.insert(key, (targets.clone(), reads));
        } else {
            self.memo.insert(key, (targets.clone(), reads));
        }
        self.truncated |= outer_truncated;
        Ok(targets)
    }

    /// What an import node binds, following re-exports.
    fn import_node_targets(&mut self, import: &Def) -> Result<Vec<Target>> {
        let import = import.clone();
        self.memoised(MemoKey::Import(import.id), |this| {
            // The file's context is shared: one file holds many imports and types, and
            // building a context is most of the cost of resolving a file.
            let Some(ctx) = this.file_ctx(&import.path)? else {
                return Ok(Vec::new());
            };
            let Some(&i) = ctx.import_ref.get(&import.id) else {
                return Ok(Vec::new());
            };
            Ok(this
                .import_targets(&ctx, i)?
                .map(|f| f.targets)
                .unwrap_or_default())
        })
    }

    /// Bases of a type: what its inherit and implement references resolve to.
    fn bases(&mut self, ty: &Def) -> Result<Vec<Def>> {
        let ty = ty.clone();
        let targets = self.memoised(MemoKey::Bases(ty.id), |this| {
            let mut out = Vec::new();
            let Some(ctx) = this.file_ctx(&ty.path)? else {
                return Ok(out);
            };
            let refs: Vec<Reference> = ctx
                .data
                .references
                .iter()
                .filter(|r| {
                    matches!(r.kind, ReferenceKind::Inherit | ReferenceKind::Implement)
                        && (r.source == ty.id
                            || r.subject.as_deref().is_some_and(|s| {
                                s == ty.name || s.ends_with(&format!("::{}", ty.name))
                            }))
                })
                .cloned()
                .collect();
            for r in refs {
                if let Some(found) = this.resolve_type_ref(&ctx, &r)? {
                    out.extend(found.targets);
                }
            }
            // Rust impls in other files: `impl Trait for Type` anywhere in the crate.
            Ok(out)
        })?;
        Ok(targets
            .into_iter()
            .filter_map(|t| match t {
                Target::Def(d) if d.kind.is_type() && d.id != ty.id => Some(d),
                _ => None,
            })
            .collect())
    }

    // ---- members --------------------------------------------------------------------

    /// Members named `name` of a type, then of its bases, breadth first.
    fn type_members(&mut self, ty: &Def, name: &str) -> Result<Vec<Def>> {
        let mut seen = HashSet::new();
        let mut level = vec![ty.clone()];
        for _ in 0..MAX_DEPTH {
            let mut found = Vec::new();
            let mut next = Vec::new();
            for t in &level {
                if !seen.insert(t.id) {
                    continue;
                }
                found.extend(self.direct_members(t, name)?);
                next.extend(self.bases(t)?);
            }
            if !found.is_empty() {
                found.sort();
                found.dedup();
                return Ok(found);
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Ok(Vec::new())
    }

    /// What an imported index says reference `r` names: `Some(None)` for something
    /// outside the project (no edge, and no guess either); `None` when none of its
    /// targets is still a definition of that name, so the heuristics decide. Targets
    /// are read by name, so the edge depends on the name as a resolved one would.
    fn precise_targets(
        &mut self,
        r: &Reference,
        targets: &[NodeId],
    ) -> Result<Option<Option<Found>>> {
        if targets.is_empty() {
            return Ok(Some(None));
        }
        let named = self.rec.named(&r.name)?;
        let found: Vec<Target> = named
            .iter()
            .filter(|d| targets.contains(&d.id))
            .map(|d| Target::Def(d.clone()))
            .collect();
        if found.is_empty() {
            return Ok(None);
        }
        let found = Found {
            targets: found,
            how: Resolution::Precise,
        };
        // `new Foo()` named as the class calls its constructor, as resolved ones do.
        Ok(Some(Some(match r.kind {
            ReferenceKind::Call => self.constructors(found)?,
            _ => found,
        })))
    }

    /// Members named `name` declared in a type or module itself: children by parent,
    /// or (for methods defined away from their type: Rust impls, Go receivers, C++
    /// `A::f`) by qualified name.
    fn direct_members(&mut self, owner: &Def, name: &str) -> Result<Vec<Def>> {
        if let Some(hit) = self.direct.get(&owner.id).and_then(|m| m.get(name)) {
            let hit = hit.clone();
            self.rec.note(name.to_string());
            // The fallback for methods defined in other modules also read the type's
            // namesakes: a hit depends on them.
            if owner.kind.is_type() && rules(owner.language).impls_in_other_modules() {
                self.rec.note(owner.name.clone());
            }
            return Ok(hit);
        }
        let found = self.direct_members_uncached(owner, name)?;
        self.direct
            .entry(owner.id)
            .or_default()
            .insert(name.to_string(), found.clone());
        Ok(found)
    }

    fn direct_members_uncached(&mut self, owner: &Def, name: &str) -> Result<Vec<Def>> {
        let sep = owner.language.path_separator();
        let qualified = format!("{}{sep}{name}", owner.qualified_name);
        let named = self.rec.named(name)?;
        let found: Vec<Def> = named
            .iter()
            .filter(|d| {
                d.kind != NodeKind::File
                    && ecosystem(d.language) == ecosystem(owner.language)
                    // A namespace block is also the parent of what is defined in it
                    // through another type (`namespace ns { int C::f() {} }`), which is
                    // `ns::C::f`, not a member of `ns`: there, names decide, except that
                    // an out-of-line constructor `C::C` says `ns::C` exists when the class
                    // itself was not read. (Names also let any block of a reopened
                    // namespace stand for all.)
                    && ((d.parent == Some(owner.id)
                        && (owner.kind != NodeKind::Namespace
                            || d.kind == NodeKind::Constructor))
                        || (owner.kind != NodeKind::File && d.qualified_name == qualified))
            })
            // A module's imports are its members (`pub use` re-exports, in a file or an
            // inline `mod sync { .. }`); a function's or a type's are not.
            .filter(|d| {
                !matches!(d.kind, NodeKind::Import)
                    || matches!(owner.kind, NodeKind::File | NodeKind::Module)
            })
            .cloned()
            .collect();
        // A Rust module that both defines and imports a name does so under different
        // `cfg`s (tokio's `cfg_taskdump! { use ..::trace_leaf }` beside
        // `cfg_not_taskdump! { fn trace_leaf }`): the definition is taken, as before
        // inline modules' imports were members.
        let mut found = found;
        // (A module is in another namespace: `mod block_on; use block_on::block_on;`
        // imports the function.)
        if owner.language == Language::Rust
            && found.iter().any(|d| d.kind == NodeKind::Import)
            && found
                .iter()
                .any(|d| !matches!(d.kind, NodeKind::Import | NodeKind::Module))
        {
            found.retain(|d| d.kind != NodeKind::Import);
        }
        if !found.is_empty()
            || !owner.kind.is_type()
            || !rules(owner.language).impls_in_other_modules()
        {
            return Ok(found);
        }
        self.members_elsewhere(owner, name, &named)
    }

    /// Members named `name` of a package (a Go package, a Java package directory): the
    /// definitions of that name whose parent is one of its files. Asking each file in
    /// turn cost a lookup per file per reference, which on packages of hundreds of files
    /// left one thread resolving for seconds.
    fn package_members(&mut self, files: &[Def], name: &str) -> Result<Vec<Def>> {
        let Some(first) = files.first() else {
            return Ok(Vec::new());
        };
        let named = self.rec.named(name)?;
        Ok(named
            .iter()
            .filter(|d| {
                // A method is its receiver type's member, never its package's.
                !matches!(d.kind, NodeKind::File | NodeKind::Method)
                    && ecosystem(d.language) == ecosystem(first.language)
                    && d.parent.is_some_and(|p| files.iter().any(|f| f.id == p))
            })
            .cloned()
            .collect())
    }

    /// Members of a resolved target: a module's definitions (following import nodes
    /// that re-export), a package's, or a type's with its bases.
    fn members(&mut self, target: &Target, name: &str, depth: usize) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        match target {
            Target::Def(d) if d.kind.is_type() => {
                out.extend(self.type_members(d, name)?.into_iter().map(Target::Def));
            }
            Target::Def(d) => {
                for m in self.direct_members(d, name)? {
                    out.extend(self.follow(m, depth)?);
                }
                if out.is_empty() && d.kind == NodeKind::File {
                    out.extend(self.submodule(d, name)?);
                }
                if out.is_empty() && d.language == Language::Rust && depth < MAX_DEPTH {
                    out.extend(self.glob_members(d, name, depth)?);
                }
                // `core.f()` after `import * as core from './index'`, where the index
                // file re-exports `export * from './api'`. (From the top only: the
                // walk itself goes level by level.)
                if out.is_empty()
                    && depth == 0
                    && d.kind == NodeKind::File
                    && ecosystem(d.language) == ecosystem(Language::JavaScript)
                {
                    out.extend(self.star_exported(target, name)?);
                    // A CommonJS module's value is its `module.exports = { f() {..}, g }`
                    // object: `utils.f()` after `const utils = require('./utils')`.
                    if out.is_empty() {
                        for exports in self.direct_members(d, "exports")? {
                            if exports.kind == NodeKind::Variable {
                                for m in self.direct_members(&exports, name)? {
                                    out.extend(self.follow(m, depth)?);
                                }
                            }
                        }
                    }
                }
            }
            Target::Package(files) => {
                for m in self.package_members(files, name)? {
                    out.extend(self.follow(m, depth)?);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Members named `name` that a Rust module re-exports with a glob (`pub(crate) use
    /// self::std::*;` in tokio's `loom`, which makes `crate::loom::sync` the `sync`
    /// module of `loom/std`).
    fn glob_members(&mut self, module: &Def, name: &str, depth: usize) -> Result<Vec<Target>> {
        let key = MemoKey::Glob(module.id, name.to_string());
        let module = module.clone();
        let name = name.to_string();
        self.memoised(key, move |this| {
            this.glob_members_uncached(&module, &name, depth)
        })
    }

    fn glob_members_uncached(
        &mut self,
        module: &Def,
        name: &str,
        depth: usize,
    ) -> Result<Vec<Target>> {
        let globs: Vec<Def> = self
            .rec
            .named("*")?
            .iter()
            .filter(|g| g.kind == NodeKind::Import && g.parent == Some(module.id))
            .cloned()
            .collect();
        // Two globs bringing one name are an error in Rust unless `cfg` keeps one of
        // them out (`use self::std::*` beside a test-only `use self::mocked::*` in
        // tokio): syntax cannot tell which, so both, and the caller's edges say
        // `ambiguous`.
        let mut out = Vec::new();
        for g in globs {
            for t in self.import_node_targets(&g)? {
                out.extend(self.members(&t, name, depth + 1)?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// An import node stands for what it imports; anything else for itself.
    fn follow(&mut self, def: Def, depth: usize) -> Result<Vec<Target>> {
        if def.kind != NodeKind::Import {
            return Ok(vec![Target::Def(def)]);
        }
        if depth > MAX_DEPTH {
            return Ok(Vec::new());
        }
        self.import_node_targets(&def)
    }

    /// `pkg.sub` where `pkg` is a Python package or a Rust module directory.
    fn submodule(&mut self, module: &Def, name: &str) -> Result<Vec<Target>> {
        let candidates = rules(module.language).submodule_paths(&module.path, name);
        let mut out = Vec::new();
        for c in candidates {
            let c = c.trim_start_matches('/').to_string();
            if let Some(f) = self.file_node(&c)? {
                out.push(Target::Def(f));
            }
        }
        Ok(out)
    }

    fn file_node(&mut self, path: &str) -> Result<Option<Def>> {
        if !self.rec.has_file(path) {
            return Ok(None);
        }
        self.rec.file_node(path)
    }

    // ---- imports ----------------------------------------------------------------------

    /// What import reference `i` of `ctx` refers to.
    fn import_targets(&mut self, ctx: &FileCtx, i: usize) -> Result<Option<Found>> {
        let r = &ctx.data.references[i];
        let targets = self.language_import(ctx, r)?;
        Ok(Found::new(targets, Resolution::Import))
    }

    // ---- names in a file's scope ------------------------------------------------------

    /// Resolves a bare name as seen from node `from` in `ctx`: lexical scopes, the
    /// enclosing types (for languages whose members are in scope), the file's imports,
    /// the language's implicit module scope.
    fn lookup_name(&mut self, ctx: &FileCtx, from: NodeId, name: &str) -> Result<Option<Found>> {
        let members_in_scope = rules(ctx.language).members_in_scope();
        // Lexical scopes, innermost first.
        let mut cur = ctx.node(from).cloned();
        while let Some(scope) = cur {
            let is_type = scope.kind.is_type();
            if !is_type || members_in_scope {
                let bare_methods = rules(ctx.language).bare_names_find_methods();
                let mut here: Vec<Def> = ctx
                    .children_named(scope.id, name)
                    // A definition does not name itself (`class A(A)` names an outer
                    // `A`), except that a function calling its own name recurses.
                    .filter(|d| d.id != from || d.kind.is_callable())
                    .filter(|d| bare_methods || d.kind != NodeKind::Method)
                    .cloned()
                    .collect();
                if is_type && here.is_empty() {
                    here = self.type_members(&scope, name)?;
                    here.retain(|d| bare_methods || d.kind != NodeKind::Method);
                }
                // `const X = require('./X')` is a variable holding an import (the
                // import is its child): the name stands for what is imported.
                for d in &mut here {
                    if is_value(d.kind)
                        && let Some(import) = ctx
                            .children_named(d.id, name)
                            .find(|c| c.kind == NodeKind::Import)
                    {
                        *d = import.clone();
                    }
                }
                if !here.is_empty() {
                    let mut targets = Vec::new();
                    let mut how = Resolution::Scope;
                    for d in here {
                        if d.kind == NodeKind::Import {
                            how = Resolution::Import;
                            targets.extend(self.import_node_targets(&d)?);
                        } else if d.kind == NodeKind::Module
                            && rules(ctx.language).modules_in_files()
                            && d.parent == Some(ctx.file_node.id)
                            && let sub = self.submodule(&ctx.file_node, name)?
                            && !sub.is_empty()
                        {
                            // `mod x;`: the module is another file.
                            how = Resolution::Import;
                            targets.extend(sub);
                        } else {
                            targets.push(Target::Def(d));
                        }
                    }
                    targets.sort();
                    targets.dedup();
                    if let Some(f) = Found::new(targets, how) {
                        return Ok(Some(f));
                    }
                }
            }
            cur = scope.parent.and_then(|p| ctx.node(p)).cloned();
        }
        // The language's implicit module scope and wildcard imports.
        let mut targets = self.implicit_scope(ctx, name)?;
        targets.retain(|t| !matches!(t, Target::Def(d) if d.path == ctx.data.path));
        if targets.is_empty() {
            for import in ctx.wildcards.clone() {
                for m in self.import_node_targets(&import)? {
                    targets.extend(self.members(&m, name, 1)?);
                    targets.extend(self.wildcard_extras(ctx, &m, name)?);
                }
            }
        }
        targets.sort();
        targets.dedup();
        Ok(Found::new(targets, Resolution::Import))
    }

    /// Resolves a qualifier (`np`, `os.path`, `Foo`, `crate::a`, `geo::Shape`) to what
    /// it names.
    fn lookup_qualifier(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        qualifier: &str,
    ) -> Result<Option<Found>> {
        let sep = ctx.language.path_separator();
        if let Some(t) = self.rooted_qualifier(ctx, from, qualifier)? {
            return Ok(Found::new(t, Resolution::Import));
        }
        let segments: Vec<&str> = qualifier.split(sep).collect();
        if segments.iter().any(|s| !is_identifier(s)) {
            return Ok(None);
        }
        let Some(mut found) = self.lookup_name(ctx, from, segments[0])? else {
            if let Some(t) = self.unbound_qualifier(ctx, from, qualifier, &segments)? {
                return Ok(Found::new(t, Resolution::Import));
            }
            return Ok(None);
        };
        // Inside a Java or C++ class its constructors share its name: as a qualifier
        // (`Arrays.copyOf` in `Arrays`) the name is the class.
        if found
            .targets
            .iter()
            .any(|t| matches!(t, Target::Def(d) if d.kind == NodeKind::Constructor))
        {
            let mut types = Vec::new();
            for t in std::mem::take(&mut found.targets) {
                match t {
                    Target::Def(d) if d.kind == NodeKind::Constructor => {
                        if let Some(parent) = self.parent_def(&d)?
                            && parent.kind.is_type()
                        {
                            types.push(Target::Def(parent));
                        }
                    }
                    other => types.push(other),
                }
            }
            types.sort();
            types.dedup();
            found.targets = types;
            if found.targets.is_empty() {
                return Ok(None);
            }
        }
        for seg in &segments[1..] {
            let mut next = Vec::new();
            let mut namespaces = HashSet::new();
            for t in &found.targets {
                // C++ reopens a namespace in every file that adds to it, and each block
                // finds every member by qualified name: one block stands for all. Asking
                // each of a thousand blocks gave a thousand copies of every member to
                // sort, for every reference through the namespace.
                if let Target::Def(d) = t
                    && d.kind == NodeKind::Namespace
                    && !namespaces.insert(d.qualified_name.clone())
                {
                    continue;
                }
                next.extend(self.members(t, seg, 0)?);
            }
            next.sort();
            next.dedup();
            found = match Found::new(next, weaker(found.how, Resolution::Import)) {
                Some(f) => f,
                None => return Ok(None),
            };
        }
        Ok(Some(found))
    }

    // ---- references ---------------------------------------------------------------------

    fn resolve_call(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Option<Found>> {
        let lang = rules(ctx.language);
        match r.qualifier.as_deref() {
            None => {
                // Python's `super()` only finds the bases; `super().f()` is the call.
                if lang.super_is_proxy() && r.name == "super" {
                    return Ok(None);
                }
                // `Self(x)` in Rust: the impl's own tuple struct.
                if lang.is_self_type(&r.name) {
                    let Some(ty) = ctx.enclosing_type(r.source).cloned() else {
                        return Ok(None);
                    };
                    return match Found::new(vec![Target::Def(ty)], Resolution::Scope) {
                        Some(found) => Ok(Some(self.constructors(found)?)),
                        None => Ok(None),
                    };
                }
                if matches!(r.name.as_str(), "super" | "this") {
                    // `super(...)` / `this(...)` in a constructor.
                    let Some(ty) = ctx.enclosing_type(r.source).cloned() else {
                        return Ok(None);
                    };
                    let owners = if r.name == "super" {
                        self.bases(&ty)?
                    } else {
                        vec![ty]
                    };
                    let mut out = Vec::new();
                    for b in owners {
                        out.extend(self.constructor_of(&b)?);
                    }
                    return Ok(Found::new(out, Resolution::Scope));
                }
                // A parameter or local variable of an enclosing function hides what
                // the name would find outside it (`function f(Class) { new Class() }`),
                // where the language has one namespace for values and functions.
                // Bound before the call: a later `Car = other` does not hide `Car()`.
                let local = match lang.locals_hide_functions() {
                    true => self
                        .local_binding_scope(ctx, r.source, &r.name)
                        .filter(|&s| ctx.node(s).is_some_and(|n| n.kind.is_callable()))
                        // A local `const X = require('./x')` holds what it imports.
                        .filter(|&s| {
                            !ctx.children_named(s, &r.name)
                                .any(|d| d.kind == NodeKind::Import)
                        })
                        .filter(|&s| {
                            ctx.bindings_of(s, &r.name).iter().any(|&i| {
                                ctx.data.references[i].span.start_byte < r.span.start_byte
                            })
                        }),
                    false => None,
                };
                // `append = text.append; append(x)`: the local holds a bound method.
                if let Some(scope) = local
                    && lang.binds_methods()
                    && let Some(found) = self.bound_method_call(ctx, scope, r)?
                {
                    return Ok(Some(found));
                }
                if let Some(found) = self.lookup_name(ctx, r.source, &r.name)? {
                    let hidden = local.is_some_and(|scope| {
                        !found
                            .targets
                            .iter()
                            .any(|t| matches!(t, Target::Def(d) if ctx.encloses(scope, d.id)))
                    });
                    if hidden {
                        return Ok(None);
                    }
                    return Ok(Some(self.constructors(found)?));
                }
                // A name the file binds itself (an import from outside the project, a
                // local variable) or a builtin is not some other file's definition.
                if self.bound_in_scope(ctx, r.source, &r.name) || lang.is_builtin_function(&r.name)
                {
                    return Ok(None);
                }
                self.unique_name(ctx, &r.name, CallKind::Call)
            }
            // C++ `::f()`: the global `f`, looked up from the file, never a member.
            Some(q) if lang.global_qualifier() == Some(q) => {
                let file = ctx.file_node.id;
                match self.lookup_name(ctx, file, &r.name)? {
                    Some(found) => Ok(Some(self.constructors(found)?)),
                    None => Ok(None),
                }
            }
            Some(q) => {
                let self_like = lang.is_self_like(q) || lang.is_self_type(q);
                let super_like = matches!(q, "super" | "super()");
                if self_like || super_like {
                    let Some(ty) = ctx.enclosing_type(r.source).cloned() else {
                        return self.detached_self_call(ctx, r, q);
                    };
                    let owners = if super_like {
                        self.bases(&ty)?
                    } else {
                        vec![ty]
                    };
                    let mut out = Vec::new();
                    for o in owners {
                        out.extend(self.type_members(&o, &r.name)?.into_iter().map(Target::Def));
                    }
                    out.sort();
                    out.dedup();
                    return Ok(Found::new(out, Resolution::Scope));
                }
                // A local variable shadows whatever the file's scopes would name.
                let head = q.split('.').next().unwrap_or(q);
                let local = self.local_binding_scope(ctx, r.source, head).is_some();
                if !local && let Some(found) = self.lookup_qualifier(ctx, r.source, q)? {
                    let mut out = Vec::new();
                    for t in &found.targets {
                        out.extend(self.members(t, &r.name, 0)?);
                    }
                    out.sort();
                    out.dedup();
                    if !out.is_empty() {
                        let how = weaker(found.how, Resolution::Scope);
                        return Ok(Some(self.constructors(Found { targets: out, how })?));
                    }
                }
                if let Some(found) = self.inferred_call(ctx, r, q)? {
                    return Ok(Some(found));
                }
                if let Some(found) = self.receiver_call(ctx, r)? {
                    return Ok(Some(found));
                }
                // The receiver's type is unknown (`x.append()`): a name-only guess was
                // wrong about half the time against jedi (docs/PERFORMANCE.md), so the
                // call stays unresolved rather than invent an edge.
                Ok(None)
            }
        }
    }

    /// A bare call of a local variable whose nearest binding before the call reads a
    /// method off a value (`append = text.append`): the call of that method.
    fn bound_method_call(
        &mut self,
        ctx: &FileCtx,
        scope: NodeId,
        r: &Reference,
    ) -> Result<Option<Found>> {
        let nearest = ctx
            .bindings_of(scope, &r.name)
            .iter()
            .map(|&i| &ctx.data.references[i])
            .filter(|b| b.span.start_byte < r.span.start_byte)
            .max_by_key(|b| b.span.start_byte);
        let Some(b) = nearest else {
            return Ok(None);
        };
        if b.kind != ReferenceKind::Value || b.qualifier.is_none() {
            return Ok(None);
        }
        let call = Reference {
            kind: ReferenceKind::Call,
            source: r.source,
            subject: None,
            qualifier: b.qualifier.clone(),
            name: b.name.clone(),
            alias: None,
            span: r.span,
            arguments: r.arguments,
        };
        let Some(mut found) = self.resolve_call(ctx, &call)? else {
            return Ok(None);
        };
        found
            .targets
            .retain(|t| matches!(t, Target::Def(d) if d.kind.is_callable() || d.kind.is_type()));
        Ok((!found.targets.is_empty()).then_some(found))
    }

    /// `Foo()` / `new Foo()` name the class: the call goes to its constructor when it
    /// declares one.
    fn constructors(&mut self, found: Found) -> Result<Found> {
        let mut out = Vec::new();
        for t in found.targets {
            match t {
                Target::Def(d) if d.kind.is_type() => {
                    let ctors = self.constructor_of(&d)?;
                    if ctors.is_empty() {
                        out.push(Target::Def(d));
                    } else {
                        out.extend(ctors);
                    }
                }
                other => out.push(other),
            }
        }
        // A call names something callable: never an enum member, and a field or
        // variable only when no function or method has the name (Java's `registry()`
        // beside its field `registry`). A variable beside a type of its name is kept:
        // TypeScript's `interface X` and `const X` are one merged symbol.
        // (Rust's tuple variants are called: `Op::Add(x)`.)
        out.retain(|t| {
            !matches!(t, Target::Def(d) if d.kind == NodeKind::EnumMember
                && !rules(d.language).calls_enum_members())
        });
        if out
            .iter()
            .any(|t| matches!(t, Target::Def(d) if d.kind.is_callable()))
        {
            out.retain(|t| !matches!(t, Target::Def(d) if is_value(d.kind)));
        }
        out.sort();
        out.dedup();
        Ok(Found {
            targets: out,
            how: found.how,
        })
    }

    fn constructor_of(&mut self, ty: &Def) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for n in rules(ty.language).constructor_names(&ty.name) {
            for m in self.direct_members(ty, n)? {
                if m.kind == NodeKind::Constructor || m.kind == NodeKind::Method {
                    out.push(Target::Def(m));
                }
            }
        }
        Ok(out)
    }

    fn resolve_type_ref(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Option<Found>> {
        // A base named by a template's name is the primary template, never one of its
        // specialisations (C++ `struct formatter<X> : formatter<Y>`): which one the
        // arguments pick is the compiler's to say. A value of the type may be any.
        let base = matches!(r.kind, ReferenceKind::Inherit | ReferenceKind::Implement);
        let keep = |f: Found| {
            let targets = f
                .targets
                .into_iter()
                .filter(|t| matches!(t, Target::Def(d) if names_type(d)))
                .filter(|t| !base || is_primary(t))
                .collect();
            Found::new(targets, f.how)
        };
        let found = self.lookup_type_name(ctx, r)?.and_then(keep);
        match found {
            Some(f) => Ok(Some(f)),
            None if r.qualifier.is_none() => {
                let kind = if base { CallKind::Base } else { CallKind::Type };
                self.unique_name(ctx, &r.name, kind)
            }
            None => Ok(None),
        }
    }

    /// The types a declared type names through aliases (`type ParseStream<'a> =
    /// &'a ParseBuffer<'a>`, `using Map = std::map<..>`), for a type reference that
    /// names no type itself. An alias defined twice to stand for different types
    /// (`using Group = GroupSse2Impl;` under one `#if`, `GroupPortableImpl` under
    /// another) stands for none: the build picks one, and syntax cannot tell which.
    fn aliased_types(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Def>> {
        let Some(found) = self.lookup_type_name(ctx, r)? else {
            return Ok(Vec::new());
        };
        let mut agreed: Option<Vec<Def>> = None;
        for t in found.targets {
            if let Target::Def(d) = t
                && d.kind == NodeKind::TypeAlias
                && !names_type(&d)
            {
                let types = self.value_types(&d)?;
                match &agreed {
                    Some(earlier) if *earlier != types => return Ok(Vec::new()),
                    _ => agreed = Some(types),
                }
            }
        }
        Ok(agreed.unwrap_or_default())
    }

    /// The traits a type parameter named like `r` is bounded by, in the nearest scope
    /// that bounds one of that name: the function, the type, or (for an `impl`'s
    /// parameters, the impl being no definition) the file. A value of type `R` then
    /// has the methods of `R: Read<'de>`'s `Read`; several bounds are several
    /// candidates.
    fn parameter_bounds(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Def>> {
        if !rules(ctx.language).type_parameters_have_bounds() {
            return Ok(Vec::new());
        }
        let mut cur = ctx.node(r.source);
        while let Some(scope) = cur {
            let bounds: Vec<usize> = ctx
                .bindings_of(scope.id, &r.name)
                .iter()
                .copied()
                .filter(|&i| ctx.data.references[i].kind == ReferenceKind::Type)
                .collect();
            // At the file level the bounds come from every `impl` header of the file
            // (an impl is no definition to bind in): `impl<C: Consumer<T>>` in one and
            // `impl<C: Folder<T>>` in the next name different traits for one `C`, and
            // syntax does not say which impl a field's value is used in; then none.
            let mut bounds = bounds;
            if scope.kind == NodeKind::File {
                let mut names = bounds.iter().map(|&i| &ctx.data.references[i].name);
                let first = names.next();
                if names.any(|n| Some(n) != first) {
                    // Except that a call written in this file is inside the impl whose
                    // header is the nearest before it: `self.base.full()` in `impl<C:
                    // Consumer<T>> .. { .. }` calls `Consumer::full`.
                    // A parameter's or return type's impl is the one around it; only a
                    // field's type (a struct is outside every impl) takes the call's.
                    let in_callable = ctx.node(r.source).is_some_and(|d| d.kind.is_callable());
                    let at = match &self.use_site {
                        _ if in_callable => r.span.start_byte,
                        Some((path, at)) if *path == ctx.data.path => *at,
                        _ => return Ok(Vec::new()),
                    };
                    let nearest = bounds
                        .iter()
                        .copied()
                        .filter(|&i| ctx.data.references[i].span.end_byte <= at)
                        .max_by_key(|&i| ctx.data.references[i].span.start_byte);
                    match nearest {
                        Some(i) => bounds = vec![i],
                        None => return Ok(Vec::new()),
                    }
                }
            }
            if !bounds.is_empty() {
                let mut out = Vec::new();
                self.type_depth += 1;
                for i in bounds {
                    let bound = ctx.data.references[i].clone();
                    match self.type_of_ref(ctx, &bound) {
                        Ok(types) => out.extend(types),
                        Err(e) => {
                            self.type_depth -= 1;
                            return Err(e);
                        }
                    }
                }
                self.type_depth -= 1;
                out.sort();
                out.dedup();
                return Ok(out);
            }
            cur = scope.parent.and_then(|p| ctx.node(p));
        }
        Ok(Vec::new())
    }

    /// What a type reference's name finds in scope, of any kind.
    fn lookup_type_name(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Option<Found>> {
        Ok(match r.qualifier.as_deref() {
            None => self.lookup_name(ctx, r.source, &r.name)?,
            Some(q) => match self.lookup_qualifier(ctx, r.source, q)? {
                Some(f) => {
                    let mut out = Vec::new();
                    for t in &f.targets {
                        out.extend(self.members(t, &r.name, 0)?);
                    }
                    Found::new(out, weaker(f.how, Resolution::Scope))
                }
                None => None,
            },
        })
    }

    /// The last stage: the definitions of that name in the project's language family.
    fn unique_name(&mut self, ctx: &FileCtx, name: &str, kind: CallKind) -> Result<Option<Found>> {
        let eco = ecosystem(ctx.language);
        let candidates: Vec<Target> = self
            .rec
            .named(name)?
            .iter()
            .filter(|d| ecosystem(d.language) == eco)
            .filter(|d| match kind {
                // A bare `f()` reaches a method only from inside a class in Java and
                // C++; elsewhere it names a function or a class.
                CallKind::Call => {
                    (d.kind.is_callable() || d.kind.is_type())
                        && (rules(ctx.language).members_in_scope()
                            || !matches!(d.kind, NodeKind::Method | NodeKind::Constructor))
                }
                CallKind::Type => d.kind.is_type(),
                CallKind::Base => d.kind.is_type() && !is_specialisation(d),
            })
            .cloned()
            .map(Target::Def)
            .collect();
        if candidates.is_empty() || candidates.len() > MAX_AMBIGUOUS {
            return Ok(None);
        }
        let how = if candidates.len() == 1 {
            Resolution::UniqueName
        } else {
            Resolution::Ambiguous
        };
        let found = Found {
            targets: candidates,
            how,
        };
        if kind == CallKind::Call {
            return self.constructors(found).map(Some);
        }
        Ok(Some(found))
    }

    // ---- receiver types ---------------------------------------------------------------

    /// Another file's context, built once per resolved file. The read is noted every
    /// time, so dependencies stay complete.
    fn file_ctx(&mut self, path: &str) -> Result<Option<Arc<FileCtx>>> {
        if let Some(c) = self.contexts.get(path) {
            self.rec.note(crate::view::path_key(path));
            return Ok(Some(c.clone()));
        }
        let Some(data) = self.rec.file(path)? else {
            return Ok(None);
        };
        let Some(ctx) = file_context(data) else {
            return Ok(None);
        };
        let ctx = Arc::new(ctx);
        self.contexts.insert(path.to_string(), ctx.clone());
        Ok(Some(ctx))
    }

    /// The innermost scope around `from` (the file excluded) that binds `name` through a
    /// type or assign reference.
    fn local_binding_scope(&self, ctx: &FileCtx, from: NodeId, name: &str) -> Option<NodeId> {
        let mut cur = ctx.node(from);
        while let Some(scope) = cur {
            if scope.kind == NodeKind::File {
                // Variables of anonymous functions (`describe(() => { let x: T })`)
                // bind in the file, having no definition of their own to bind in. A
                // module-level definition of that name is looked up as one instead.
                let bound = !ctx.bindings_of(scope.id, name).is_empty()
                    && ctx.children_named(scope.id, name).next().is_none();
                return bound.then_some(scope.id);
            }
            if !ctx.bindings_of(scope.id, name).is_empty() {
                return Some(scope.id);
            }
            cur = scope.parent.and_then(|p| ctx.node(p));
        }
        None
    }

    /// Whether `name` is bound around `from` without naming a project definition: an
    /// import binding (whose module is outside the project) or a local variable.
    fn bound_in_scope(&self, ctx: &FileCtx, from: NodeId, name: &str) -> bool {
        if self.local_binding_scope(ctx, from, name).is_some() {
            return true;
        }
        let mut cur = ctx.node(from);
        while let Some(scope) = cur {
            if ctx
                .children_named(scope.id, name)
                .any(|d| d.kind == NodeKind::Import)
            {
                return true;
            }
            cur = scope.parent.and_then(|p| ctx.node(p));
        }
        false
    }

    /// `q.name()` through the types `q` may hold.
    fn inferred_call(&mut self, ctx: &FileCtx, r: &Reference, q: &str) -> Result<Option<Found>> {
        let site = (ctx.data.path.clone(), r.span.start_byte);
        let outer = self.use_site.replace(site);
        let types = self.receiver_types(ctx, r.source, q, Some(r.span.start_byte));
        self.use_site = outer;
        let types = types?;
        let mut out = Vec::new();
        for ty in &types {
            for m in self.type_members(ty, &r.name)? {
                if m.kind.is_callable() || m.kind.is_type() {
                    out.push(Target::Def(m));
                }
            }
        }
        out.sort();
        out.dedup();
        match Found::new(out, Resolution::Inferred) {
            Some(f) => Ok(Some(self.constructors(f)?)),
            None => Ok(None),
        }
    }

    /// The types a receiver expression (`x`, `self.app`, `ctx.app.config`) may hold,
    /// as far as declarations and bindings tell; empty when unknown. `at` is where the
    /// expression is written, for languages where a later binding hides an earlier one.
    fn receiver_types(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        q: &str,
        at: Option<u32>,
    ) -> Result<Vec<Def>> {
        Ok(self.receiver_pair(ctx, from, q, at)?.of)
    }

    /// [`Self::receiver_types`], with the types the value holds when it is a wrapper
    /// or a collection (Rust `Option<T>`, `Vec<T>`), which `?`, `.unwrap()`, a
    /// pattern or a loop reach.
    fn receiver_pair(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        q: &str,
        at: Option<u32>,
    ) -> Result<Types> {
        if self.type_depth >= MAX_TYPE_DEPTH {
            return Ok(Types::default());
        }
        self.type_depth += 1;
        let result = self.receiver_pair_inner(ctx, from, q, at);
        self.type_depth -= 1;
        result
    }

    fn receiver_pair_inner(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        q: &str,
        at: Option<u32>,
    ) -> Result<Types> {
        let q = q.replace("->", ".");
        // `&mut self.x`, `*guard`: a borrow or a dereference has the same methods.
        let q = q.trim_start_matches(['&', '*']).trim_start();
        let q = q.strip_prefix("mut ").unwrap_or(q);
        // `a.b().c`: each segment a name, called or not.
        let holders = rules(ctx.language).has_holders();
        let Some(segments) = receiver_segments(q, rules(ctx.language)) else {
            return Ok(Types::default());
        };
        let first = segments[0];
        let head = first.name;
        let mut types = if first.called {
            // `T::new(x).f()`: a path call heads the chain (Rust, C++); `f(|x| ..)`,
            // `T::f(|x| ..)`: what the function passes its closure.
            let (qualifier, name) = match head.rsplit_once("::") {
                Some((q, n)) => (Some(q.to_string()), n),
                None => (None, head),
            };
            let call = Reference {
                kind: match first.closure {
                    Some(_) => ReferenceKind::Call,
                    None => ReferenceKind::Assign,
                },
                source: from,
                subject: None,
                qualifier,
                name: name.to_string(),
                alias: None,
                span: codegraph_core::Span {
                    start_byte: at.unwrap_or(0),
                    end_byte: at.unwrap_or(0),
                    ..Default::default()
                },
                arguments: None,
            };
            match first.closure {
                Some(_) => {
                    let mut out = Types::default();
                    if let Some(found) = self.resolve_call(ctx, &call)? {
                        for t in found.targets {
                            if let Target::Def(d) = t
                                && d.kind.is_callable()
                            {
                                let mut pair = self.closure_pair(&d, first.closure)?;
                                // `T::f(&x, |a| ..)` calls the method `f(&self, g: G)`
                                // with its receiver as the first argument: the closure
                                // is its parameter one before.
                                if let Some((i, j)) = first.closure
                                    && pair.is_empty()
                                    && i > 0
                                    && d.kind == NodeKind::Method
                                    && call.qualifier.is_some()
                                {
                                    pair = self.closure_pair(&d, Some((i - 1, j)))?;
                                }
                                out.add(pair);
                            }
                        }
                    }
                    out
                }
                None => self.call_types(ctx, &call)?,
            }
        } else if let Some(types) = self.narrowed_types(ctx, from, head, at)? {
            types
        } else if let Some(scope) = self.local_binding_scope(ctx, from, head) {
            // An annotated `self` (a method assembled outside its class) counts too.
            self.bound_pair_at(ctx, scope, head, at)?
        } else if rules(ctx.language).is_self_like(head) {
            Types {
                of: ctx.enclosing_type(from).cloned().into_iter().collect(),
                held: Vec::new(),
            }
        } else if head.contains("::") || segments.get(1).is_some_and(|s| is_position(s.name)) {
            // `Op::Add.0`, `Wrapper.0` (what a tuple pattern binds), `Self::MAX.f()`,
            // `crate::CONFIG.f()`: a path's values have their types; a tuple struct or
            // variant stands for itself before a position.
            let positional = segments.get(1).is_some_and(|s| is_position(s.name));
            let found = match head.strip_prefix("Self::") {
                Some(rest) if rules(ctx.language).is_self_type("Self") && is_identifier(rest) => {
                    match ctx.enclosing_type(from).cloned() {
                        Some(ty) => {
                            let members = self.type_members(&ty, rest)?;
                            Found::new(
                                members.into_iter().map(Target::Def).collect(),
                                Resolution::Scope,
                            )
                        }
                        None => None,
                    }
                }
                _ if head.contains("::") => self.lookup_qualifier(ctx, from, head)?,
                _ => self.lookup_name(ctx, from, head)?,
            };
            let mut out = Types::default();
            for t in found.map(|f| f.targets).unwrap_or_default() {
                let Target::Def(d) = t else { continue };
                if is_value(d.kind) {
                    out.add(self.value_pair(&d, holders)?);
                } else if positional && (d.kind == NodeKind::EnumMember || d.kind.is_type()) {
                    out.of.push(d);
                }
            }
            out
        } else {
            // A module-level variable, here or imported.
            let mut out = Types::default();
            if let Some(found) = self.lookup_name(ctx, from, head)? {
                for t in found.targets {
                    if let Target::Def(d) = t
                        && is_value(d.kind)
                    {
                        out.add(self.value_pair(&d, holders)?);
                    }
                }
            }
            out
        };
        if first.unwrap {
            types = self.unwrapped(ctx, types, first.index)?;
        }
        for seg in &segments[1..] {
            if types.is_empty() {
                break;
            }
            let mut next = Types::default();
            let mut defined_anywhere = false;
            for ty in &types.of {
                if seg.called {
                    let mut defined = false;
                    for m in self.type_members(ty, seg.name)? {
                        if m.kind.is_callable() {
                            defined = true;
                            next.add(match seg.closure {
                                Some(_) => self.closure_pair(&m, seg.closure)?,
                                None => self.value_pair(&m, holders)?,
                            });
                        }
                    }
                    defined_anywhere |= defined;
                    // `self.delay.as_mut().reset(..)` on a `Pin<Box<Sleep>>`: the
                    // standard library's view is still a `Sleep`.
                    if !defined && rules(ctx.language).passes_through(seg.name) {
                        next.of.push(ty.clone());
                    }
                } else {
                    next.add(self.attribute_pair(ty, seg.name, holders)?);
                }
            }
            // `v.iter().map(|x| ..)`, `opt.map_or(0, |x| ..)`: the standard library's
            // adaptors and combinators pass their closures what the receiver holds.
            if let Some((argument, parameter)) = seg.closure {
                if !defined_anywhere
                    && rules(ctx.language).closure_gets_item(seg.name, argument, parameter)
                {
                    next.of.extend(types.held.iter().cloned());
                }
            } else if seg.called && KEEPS_CONTENT.contains(&seg.name) {
                next.held.extend(types.held.iter().cloned());
            }
            next.normalise();
            types = next;
            if seg.unwrap {
                types = self.unwrapped(ctx, types, seg.index)?;
            }
        }
        types.normalise();
        if types.of.len() > MAX_AMBIGUOUS {
            types.of.clear();
        }
        if types.held.len() > MAX_AMBIGUOUS {
            types.held.clear();
        }
        Ok(types)
    }

    /// What a value holds, taken out (`x?`, `for t in x`, `x[i]`): what its declaration
    /// says it holds, and for a project type, what its index method declares it returns
    /// when `index` (Python's `__getitem__`), else what its iteration method's declared
    /// result holds (`__iter__` returning `Iterator[Text]`).
    fn unwrapped(&mut self, ctx: &FileCtx, mut types: Types, index: bool) -> Result<Types> {
        let lang = rules(ctx.language);
        for ty in types.of.clone() {
            // An index asks the index method, then (where it says nothing) iteration.
            let mut held = Vec::new();
            if let Some(method) = lang.index_method().filter(|_| index) {
                for m in self.type_members(&ty, method)? {
                    if m.kind.is_callable() {
                        held.extend(self.value_types(&m)?);
                    }
                }
            }
            if let Some(method) = lang.iteration_method().filter(|_| held.is_empty()) {
                for m in self.type_members(&ty, method)? {
                    if m.kind.is_callable() {
                        held.extend(self.value_held(&m)?);
                    }
                }
            }
            types.held.extend(held);
        }
        Ok(types.unwrapped())
    }

    /// What `name` holds at byte `at` inside a block that narrows it (`if isinstance(x,
    /// T):`, `for x in xs:`, a Rust closure's body), bound as `name!` over the block in
    /// a scope around `from`: the innermost such binding, unless the name is bound
    /// again inside it before `at` (then its ordinary bindings count). `None` outside
    /// every such block.
    fn narrowed_types(
        &mut self,
        ctx: &FileCtx,
        from: NodeId,
        name: &str,
        at: Option<u32>,
    ) -> Result<Option<Types>> {
        let Some(at) = at else {
            return Ok(None);
        };
        if !rules(ctx.language).narrows() {
            return Ok(None);
        }
        let key = format!("{name}!");
        let mut cur = ctx.node(from);
        while let Some(scope) = cur {
            let narrowed = ctx
                .bindings_of(scope.id, &key)
                .iter()
                .map(|&i| &ctx.data.references[i])
                .filter(|r| r.span.start_byte <= at && at < r.span.end_byte)
                .max_by_key(|r| r.span.start_byte)
                .cloned();
            if let Some(mut r) = narrowed {
                // What the block's binding reads of the name itself is read just before
                // the block: `for node in node.children:` reads the outer `node`. Other
                // names are read inside it, where the names of the clauses before are
                // narrowed too: `[c for r in rows for c in r.cells]`.
                let head = r
                    .name
                    .split(['.', '(', '[', '?'])
                    .next()
                    .unwrap_or_default();
                if head == name {
                    r.span.start_byte = r.span.start_byte.saturating_sub(1);
                }
                let rebound = ctx.bindings_of(scope.id, name).iter().any(|&i| {
                    let b = &ctx.data.references[i].span;
                    r.span.start_byte < b.start_byte && b.end_byte <= at
                });
                if rebound {
                    return Ok(None);
                }
                let mut out = self.ref_types(ctx, &r)?;
                out.normalise();
                return Ok(Some(out));
            }
            cur = scope.parent.and_then(|p| ctx.node(p));
        }
        Ok(None)
    }

    /// What the type and assign references binding `name` in `scope` make of it.
    fn bound_types(&mut self, ctx: &FileCtx, scope: NodeId, name: &str) -> Result<Vec<Def>> {
        Ok(self.bound_pair_at(ctx, scope, name, None)?.of)
    }

    /// What the references binding `name` in `scope` make of it, as seen at byte `at`,
    /// with what it holds (bound as `name?`: see `Rules::see_through`). Where a later
    /// binding hides an earlier one (Rust's `let` shadowing, a match arm's pattern),
    /// only the nearest binding completed before `at` counts, so `v` in each arm of
    /// `A(v) => v.f(), B(v) => v.f()` has its own arm's type. With none before `at`, or
    /// no `at`, all count.
    fn bound_pair_at(
        &mut self,
        ctx: &FileCtx,
        scope: NodeId,
        name: &str,
        at: Option<u32>,
    ) -> Result<Types> {
        let all = ctx.bindings_of(scope, name);
        let held_refs = if rules(ctx.language).has_holders() {
            ctx.bindings_of(scope, &format!("{name}?"))
        } else {
            &[]
        };
        // The nearest binding's start; a declaration binds the name and what it holds
        // (`x: Option<T>`) from one place.
        let nearest = match at {
            Some(at) if rules(ctx.language).later_bindings_hide() => all
                .iter()
                .chain(held_refs)
                .map(|&i| &ctx.data.references[i].span)
                .filter(|span| span.end_byte <= at)
                .map(|span| span.start_byte)
                .max(),
            _ => None,
        };
        let mut out = Types::default();
        match nearest {
            Some(start) => {
                let at_start = |refs: &[usize]| -> Vec<Reference> {
                    refs.iter()
                        .map(|&i| &ctx.data.references[i])
                        .filter(|r| r.span.start_byte == start)
                        .cloned()
                        .collect()
                };
                for r in at_start(all) {
                    out.add(self.ref_types(ctx, &r)?);
                }
                for r in at_start(held_refs) {
                    out.held.extend(self.type_of_ref(ctx, &r)?);
                }
            }
            None => {
                for i in ctx.declared_first(all) {
                    let r = ctx.data.references[i].clone();
                    out.add(self.ref_types(ctx, &r)?);
                }
                for &i in held_refs {
                    let r = ctx.data.references[i].clone();
                    out.held.extend(self.type_of_ref(ctx, &r)?);
                }
            }
        }
        out.normalise();
        Ok(out)
    }

    /// What one binding reference makes of its name, with what that holds.
    fn ref_types(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Types> {
        match r.kind {
            ReferenceKind::Value => {
                let written = match &r.qualifier {
                    Some(q) => format!("{q}.{}", r.name),
                    None => r.name.clone(),
                };
                self.receiver_pair(ctx, r.source, &written, Some(r.span.start_byte))
            }
            ReferenceKind::Type => Ok(Types {
                of: self.type_of_ref(ctx, r)?,
                held: Vec::new(),
            }),
            _ => self.call_types(ctx, r),
        }
    }

    /// What a call returns, with what that holds. `q.unwrap()` and its kin return
    /// what `q` holds.
    fn call_types(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Types> {
        if let Some(q) = &r.qualifier
            && rules(ctx.language).unwraps(&r.name)
        {
            let written = format!("{q}.{}()", r.name);
            return self.receiver_pair(ctx, r.source, &written, Some(r.span.start_byte));
        }
        let Some(found) = self.resolve_call(ctx, r)? else {
            return Ok(Types::default());
        };
        self.found_types(found, rules(ctx.language).has_holders())
    }

    /// The types resolved targets give a value: a class itself, the class a
    /// constructor makes, what a function returns or a variable holds.
    fn found_types(&mut self, found: Found, holders: bool) -> Result<Types> {
        let mut out = Types::default();
        for t in found.targets {
            let Target::Def(d) = t else { continue };
            if names_type(&d) {
                out.of.push(d);
            } else if d.kind == NodeKind::Constructor
                || (d.kind == NodeKind::Method && matches!(d.name.as_str(), "__init__"))
            {
                if let Some(parent) = self.parent_def(&d)?
                    && parent.kind.is_type()
                {
                    out.of.push(parent);
                }
            } else if d.kind.is_callable() || is_value(d.kind) {
                out.add(self.value_pair(&d, holders)?);
            }
        }
        Ok(out)
    }

    /// The types a type or assign reference stands for: a declared class, the class a
    /// constructor call makes, or what a called function is declared to return.
    fn type_of_ref(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Def>> {
        let found = match r.kind {
            ReferenceKind::Type
                if r.qualifier.is_none() && rules(ctx.language).is_builtin_type(&r.name) =>
            {
                return Ok(Vec::new());
            }
            // `-> Self`, `x: Self`: the impl's type.
            ReferenceKind::Type
                if r.qualifier.is_none() && rules(ctx.language).is_self_type(&r.name) =>
            {
                return Ok(ctx.enclosing_type(r.source).cloned().into_iter().collect());
            }
            ReferenceKind::Type => match self.resolve_type_ref(ctx, r)? {
                Some(found) => Some(found),
                None if self.type_depth < MAX_TYPE_DEPTH => {
                    let aliased = self.aliased_types(ctx, r)?;
                    if !aliased.is_empty() || r.qualifier.is_some() {
                        return Ok(aliased);
                    }
                    return self.parameter_bounds(ctx, r);
                }
                None => None,
            },
            ReferenceKind::Value => return Ok(self.ref_types(ctx, r)?.of),
            _ => return Ok(self.call_types(ctx, r)?.of),
        };
        let Some(found) = found else {
            return Ok(Vec::new());
        };
        Ok(self.found_types(found, false)?.of)
    }

    fn parent_def(&mut self, d: &Def) -> Result<Option<Def>> {
        let Some(parent) = d.parent else {
            return Ok(None);
        };
        let Some(c) = self.file_ctx(&d.path)? else {
            return Ok(None);
        };
        Ok(c.node(parent).cloned())
    }

    /// A definition's own type: a function's or property's return type, a variable's or
    /// field's declared or assigned type.
    fn value_types(&mut self, d: &Def) -> Result<Vec<Def>> {
        if self.type_depth >= MAX_TYPE_DEPTH {
            return Ok(Vec::new());
        }
        let Some(c) = self.file_ctx(&d.path)? else {
            return Ok(Vec::new());
        };
        // A function's (or a property getter's) type is its return type, and an alias's
        // the type it stands for, bound under the empty name; a variable's, field's or
        // declared property's is bound under its own.
        self.type_depth += 1;
        let mut result = Ok(Vec::new());
        if d.kind.is_callable() || matches!(d.kind, NodeKind::Property | NodeKind::TypeAlias) {
            result = self.bound_types(&c, d.id, "");
        }
        if !d.kind.is_callable() && matches!(&result, Ok(t) if t.is_empty()) {
            result = self.bound_types(&c, d.id, &d.name);
        }
        self.type_depth -= 1;
        result
    }

    /// What function `d` passes as parameter `j` of the closure it takes as argument
    /// `i` (bound in it as `#i.j` by its closure type's declaration), with what that
    /// holds.
    fn closure_pair(&mut self, d: &Def, closure: Option<(usize, usize)>) -> Result<Types> {
        let Some((i, j)) = closure else {
            return Ok(Types::default());
        };
        if self.type_depth >= MAX_TYPE_DEPTH {
            return Ok(Types::default());
        }
        let Some(c) = self.file_ctx(&d.path)? else {
            return Ok(Types::default());
        };
        self.type_depth += 1;
        let result = self.bound_pair_at(&c, d.id, &format!("#{i}.{j}"), None);
        self.type_depth -= 1;
        result
    }

    /// A definition's value's types, with what it holds where the language has holders.
    fn value_pair(&mut self, d: &Def, holders: bool) -> Result<Types> {
        Ok(Types {
            of: self.value_types(d)?,
            held: if holders {
                self.value_held(d)?
            } else {
                Vec::new()
            },
        })
    }

    /// What a definition's value holds (bound as `name?`, or `?` for a function's
    /// return type): `T` of a field `Option<T>` or of `fn f() -> Vec<T>`.
    fn value_held(&mut self, d: &Def) -> Result<Vec<Def>> {
        if self.type_depth >= MAX_TYPE_DEPTH {
            return Ok(Vec::new());
        }
        let Some(c) = self.file_ctx(&d.path)? else {
            return Ok(Vec::new());
        };
        let name = if d.kind.is_callable() || matches!(d.kind, NodeKind::TypeAlias) {
            "?".to_string()
        } else {
            format!("{}?", d.name)
        };
        self.type_depth += 1;
        let result = self.bound_types(&c, d.id, &name);
        self.type_depth -= 1;
        result
    }

    /// The types of attribute `attr` of an instance of `ty`, with what it holds when
    /// `holders`: a field's or property's type, or what the type's methods (or its
    /// bases') assign to `self.attr` (`self.items = items`, `self._lines: list[Text] =
    /// []`).
    fn attribute_pair(&mut self, ty: &Def, attr: &str, holders: bool) -> Result<Types> {
        let mut out = Types::default();
        // A tuple struct's or variant's field, bound under its position.
        if is_position(attr) {
            if let Some(c) = self.file_ctx(&ty.path)? {
                self.type_depth += 1;
                let types = self.bound_types(&c, ty.id, attr);
                let held = match holders {
                    true => self.bound_types(&c, ty.id, &format!("{attr}?")),
                    false => Ok(Vec::new()),
                };
                self.type_depth -= 1;
                out.of = types?;
                out.held = held?;
            }
            return Ok(out);
        }
        for m in self.type_members(ty, attr)? {
            if is_value(m.kind) {
                out.add(self.value_pair(&m, holders)?);
            }
        }
        if !out.of.is_empty() {
            return Ok(out);
        }
        let held_attr = format!("{attr}?");
        let mut level = vec![ty.clone()];
        let mut seen = HashSet::new();
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for t in &level {
                if !seen.insert(t.id) {
                    continue;
                }
                if let Some(c) = self.file_ctx(&t.path)? {
                    let refs = c
                        .attribute_bindings
                        .get(&(t.id, attr.to_string()))
                        .map_or(&[][..], |v| v.as_slice());
                    for i in c.declared_first(refs) {
                        let r = c.data.references[i].clone();
                        self.type_depth += 1;
                        let types = match holders {
                            true => self.ref_types(&c, &r),
                            false => self.type_of_ref(&c, &r).map(|of| Types {
                                of,
                                held: Vec::new(),
                            }),
                        };
                        self.type_depth -= 1;
                        out.add(types?);
                    }
                    if holders {
                        let refs = c
                            .attribute_bindings
                            .get(&(t.id, held_attr.clone()))
                            .map_or(&[][..], |v| v.as_slice());
                        for &i in refs {
                            let r = c.data.references[i].clone();
                            self.type_depth += 1;
                            let types = self.type_of_ref(&c, &r);
                            self.type_depth -= 1;
                            out.held.extend(types?);
                        }
                    }
                }
                next.extend(self.bases(t)?);
            }
            if !out.is_empty() || next.is_empty() {
                break;
            }
            level = next;
        }
        out.normalise();
        Ok(out)
    }

    /// Python keeps the last of several definitions of one name in one scope: `@overload`
    /// stubs before the implementation, or a redefinition. TypeScript overload
    /// signatures come before their implementation too.
    fn last_definitions(&mut self, found: Found) -> Result<Found> {
        let mut groups: HashMap<(String, String, NodeKind), Vec<usize>> = HashMap::new();
        for (i, t) in found.targets.iter().enumerate() {
            if let Target::Def(d) = t {
                groups
                    .entry((d.path.clone(), d.qualified_name.clone(), d.kind))
                    .or_default()
                    .push(i);
            }
        }
        if groups.values().all(|g| g.len() < 2) {
            return Ok(found);
        }
        let mut drop = HashSet::new();
        for ((path, _, _), members) in groups {
            if members.len() < 2 {
                continue;
            }
            let Some(c) = self.file_ctx(&path)? else {
                continue;
            };
            let position = |i: usize| match &found.targets[i] {
                Target::Def(d) => c.by_id.get(&d.id).copied().unwrap_or(0),
                Target::Package(_) => 0,
            };
            let last = members.iter().copied().max_by_key(|&i| position(i));
            drop.extend(members.into_iter().filter(|&i| Some(i) != last));
        }
        let targets = found
            .targets
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, t)| t)
            .collect();
        Ok(Found {
            targets,
            how: found.how,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallKind {
    /// A bare call: a function, or a class being constructed.
    Call,
    /// A type.
    Type,
    /// A base type: never a template's specialisation.
    Base,
}

/// A file's context under its language's rules; `None` for a file without nodes.
fn file_context(data: Arc<FileData>) -> Option<FileCtx> {
    let language = data.nodes.first()?.language;
    FileCtx::new(data, rules(language))
}

/// How many inferences may stack: a variable's type from a call's return type from an
/// attribute's type, and so on.
const MAX_TYPE_DEPTH: usize = 4;

/// Kinds that hold a value of some type.
/// A definition a declared type can name: a type, or a Go defined type such as `type
/// lazyFlag uint64`, which has methods of its own. Elsewhere an alias (Rust's
/// associated `type Deserializer = ...`, a TypeScript `type X = ...`) is no type to
/// look members up in, nor a base.
fn names_type(d: &Def) -> bool {
    d.kind.is_type() || (d.kind == NodeKind::TypeAlias && rules(d.language).aliases_name_types())
}

fn is_value(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Field | NodeKind::Property | NodeKind::Variable | NodeKind::Constant
    )
}

/// What a receiver value's chain (`types.of`) and what it holds (`types.held`) may be.
#[derive(Default)]
struct Types {
    of: Vec<Def>,
    held: Vec<Def>,
}

impl Types {
    fn is_empty(&self) -> bool {
        self.of.is_empty() && self.held.is_empty()
    }

    fn add(&mut self, other: Types) {
        self.of.extend(other.of);
        self.held.extend(other.held);
    }

    /// The value taken out of its wrapper (`?`, `.unwrap()`).
    fn unwrapped(self) -> Types {
        Types {
            of: self.held,
            held: Vec::new(),
        }
    }

    fn normalise(&mut self) {
        self.of.sort();
        self.of.dedup();
        self.held.sort();
        self.held.dedup();
    }
}

/// Methods of Rust's holders whose result holds what the receiver holds: `Option`'s
/// and `Result`'s views and conversions, and collections' iterators and accessors
/// (which give an `Option` of an element).
const KEEPS_CONTENT: &[&str] = &[
    "as_ref",
    "as_mut",
    "as_deref",
    "as_deref_mut",
    "as_pin_mut",
    "as_pin_ref",
    "take",
    "clone",
    "cloned",
    "copied",
    "ok",
    "iter",
    "iter_mut",
    "into_iter",
    "drain",
    "get",
    "get_mut",
    "get_unchecked",
    "get_unchecked_mut",
    "first",
    "first_mut",
    "last",
    "last_mut",
    "pop",
    "pop_front",
    "pop_back",
    "front",
    "front_mut",
    "back",
    "back_mut",
    "values",
    "values_mut",
    "into_values",
    "next",
    "next_back",
    "peek",
    "rev",
    "by_ref",
    // Pairs each item with its index: a pair pattern's second name gets the item.
    "enumerate",
    // Iterator adaptors that pass the items on (`for a in args.filter(|a| ..)`), and
    // the searches that give one of them.
    "filter",
    "skip",
    "skip_while",
    "take_while",
    "step_by",
    "peekable",
    "fuse",
    "inspect",
    "cycle",
    "find",
    "rfind",
    "nth",
    "min",
    "max",
    "min_by",
    "max_by",
    "min_by_key",
    "max_by_key",
    "remove",
    "swap_remove",
];

/// One name of a receiver chain: whether it is called, and whether what it gives is
/// taken out of its wrapper (`x?`, `x.unwrap()`, `x[i]`).
#[derive(Clone, Copy)]
struct Segment<'q> {
    name: &'q str,
    called: bool,
    unwrap: bool,
    /// Taken out by indexing (`x[i]`), which a type's index method answers.
    index: bool,
    /// `f(#1.0)`, last in a chain: not what `f` returns but what it passes to the
    /// closure given as its argument 1, as that closure's parameter 0.
    closure: Option<(usize, usize)>,
}

/// A receiver expression split into names, each with whether it is called:
/// `a.b(x, y).c` is `a`, `b()`, `c`. The first may be a called path (`T::new(x).c`,
/// `T::<U>::new()`); Rust's `.await` passes the value on, and `?`, `.unwrap()` and
/// indexing take it out of its wrapper. `None` for anything else (literals,
/// operators).
fn receiver_segments<'q>(q: &'q str, lang: &dyn ResolveRules) -> Option<Vec<Segment<'q>>> {
    fn segment(seg: &str, first: bool) -> Option<Segment<'_>> {
        let mut seg = seg.trim();
        let mut unwrap = false;
        let mut index = false;
        if let Some(rest) = seg.strip_suffix('?') {
            seg = rest.trim_end();
            unwrap = true;
        }
        // `items[i]`: an element of what `items` holds.
        if seg.ends_with(']')
            && let Some(open) = seg.find('[')
        {
            seg = seg[..open].trim_end();
            unwrap = true;
            index = true;
        }
        let mut closure = None;
        let (name, called) = match seg.find('(') {
            Some(open) if seg.ends_with(')') => {
                let name = seg[..open].trim();
                closure = seg[open + 1..seg.len() - 1]
                    .strip_prefix('#')
                    .and_then(|p| p.split_once('.'))
                    .and_then(|(i, j)| Some((i.parse().ok()?, j.parse().ok()?)));
                // `new Plugin().apply(c)`: the constructor call makes the class's value.
                let name = match name.strip_prefix("new ") {
                    Some(rest) if first => rest.trim_start(),
                    _ => name,
                };
                // The turbofish says nothing about which function is called.
                let name = match name.find("::<") {
                    Some(t) if name.ends_with('>') => &name[..t],
                    _ => name,
                };
                (name, true)
            }
            Some(_) => return None,
            None => (seg, false),
        };
        let named = if first {
            is_path(name)
        } else {
            is_identifier(name) || (!called && is_position(name))
        };
        named.then_some(Segment {
            name,
            called,
            unwrap,
            index,
            closure,
        })
    }
    fn push<'q>(out: &mut Vec<Segment<'q>>, seg: &'q str, lang: &dyn ResolveRules) -> Option<()> {
        let trimmed = seg.trim();
        if let Some(prev) = out.last_mut() {
            // `.await` passes the value on; `.await?` unwraps it.
            if trimmed.trim_end_matches('?').trim_end() == "await" {
                prev.unwrap |= trimmed.ends_with('?');
                return Some(());
            }
            let s = segment(seg, false)?;
            if s.called && s.closure.is_none() && !prev.unwrap && lang.unwraps(s.name) {
                prev.unwrap = true;
                return Some(());
            }
            out.push(s);
        } else {
            out.push(segment(seg, true)?);
        }
        Some(())
    }
    let mut out = Vec::new();
    let mut depth = 0i32;
    // Angle brackets count only as a turbofish opens them (`::<`): elsewhere `<` and
    // `>` are comparisons and arrows (`a.f(x => x.y).g()`).
    let mut angles = 0i32;
    let mut start = 0;
    let bytes = q.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'<' if i >= 2 && &bytes[i - 2..i] == b"::" => angles += 1,
            b'>' if angles > 0 => angles -= 1,
            b'.' if depth == 0 && angles == 0 => {
                push(&mut out, &q[start..i], lang)?;
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    push(&mut out, &q[start..], lang)?;
    let closure_last = out.iter().rev().skip(1).all(|s| s.closure.is_none());
    (depth == 0 && angles == 0 && !out.is_empty() && closure_last).then_some(out)
}

/// `a`, `a::b`, `crate::a::B`: identifiers joined by `::`.
fn is_path(s: &str) -> bool {
    s.split("::").all(is_identifier)
}

/// `0`, `1`: a tuple field.
fn is_position(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a target is no template specialisation.
fn is_primary(t: &Target) -> bool {
    match t {
        Target::Def(d) => !is_specialisation(d),
        Target::Package(_) => true,
    }
}

/// A template specialisation's qualified name ends with its arguments, which its name
/// leaves out (C++ `formatter<long>` is named `formatter`).
fn is_specialisation(d: &Def) -> bool {
    d.qualified_name.ends_with('>') && !d.name.ends_with('>')
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `dir` followed by `sep` unless empty.
fn join_dir(dir: &str, sep: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}{sep}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize_path("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(normalize_path("a", "./x/y").as_deref(), Some("a/x/y"));
        assert_eq!(normalize_path("", "../x"), None);
    }
}
