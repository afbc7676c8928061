//! JavaScript and TypeScript: relative specifiers with their extensions and index
//! files, `tsconfig.json` path aliases, default exports, `export *` re-exports;
//! `this`; the builtin types.

use std::collections::{HashMap, HashSet};

use codegraph_core::{NodeKind, Reference, Result};

use super::ResolveRules;
use crate::resolve::context::{FileCtx, Target};
use crate::resolve::{MAX_DEPTH, Resolver, join_dir, normalize_path};
use crate::view::{Def, View, dir_of};

pub(super) struct JavaScriptRules;

impl ResolveRules for JavaScriptRules {
    fn ecosystem(&self) -> u8 {
        0
    }

    fn is_self_like(&self, head: &str) -> bool {
        head == "this"
    }

    fn is_builtin_type(&self, name: &str) -> bool {
        matches!(
            name,
            "string"
                | "number"
                | "boolean"
                | "any"
                | "unknown"
                | "void"
                | "never"
                | "object"
                | "symbol"
                | "bigint"
                | "undefined"
                | "null"
                | "this"
                | "Promise"
                | "Array"
                | "Record"
                | "Partial"
                | "Readonly"
                | "Map"
                | "Set"
                | "Date"
                | "Error"
                | "Function"
                | "RegExp"
                | "ReadonlyArray"
        )
    }

    fn keeps_last_definition(&self) -> bool {
        true
    }

    fn constructor_names<'a>(&self, _type_name: &'a str) -> Vec<&'a str> {
        vec!["constructor"]
    }
}

impl<'v, V: View + ?Sized> Resolver<'v, V> {
    fn js_module(&mut self, ctx: &FileCtx, spec: &str) -> Result<Vec<Target>> {
        if !(spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == "..") {
            // A path alias of a `tsconfig.json` around the file, else a package from
            // node_modules: outside the project.
            for base in self.js_aliased(ctx, spec)? {
                let found = self.js_file(base)?;
                if !found.is_empty() {
                    return Ok(found);
                }
            }
            // Another package of the project, by the name its `package.json` gives.
            for base in self.js_package(spec)? {
                let found = self.js_file(base)?;
                if !found.is_empty() {
                    return Ok(found);
                }
            }
            return Ok(Vec::new());
        }
        let Some(base) = normalize_path(dir_of(&ctx.data.path), spec) else {
            return Ok(Vec::new());
        };
        self.js_file(base)
    }

    /// Where a bare specifier points through the path aliases of the `tsconfig.json`s
    /// (or `jsconfig.json`s) whose directory holds the importing file
    /// (`codegraph_parse::manifest`): `@/components/x` through `"@/*": ["src/*"]` is
    /// `src/components/x`, and `utils/x` through `baseUrl` (the alias `baseUrl`) is under
    /// it. As TypeScript does, the pattern with the longest prefix wins; of several
    /// configurations, the nearest the file is tried first.
    fn js_aliased(&mut self, ctx: &FileCtx, spec: &str) -> Result<Vec<String>> {
        // A specifier comes from the file: one this long or this deep is no alias.
        if spec.len() > 256 || spec.matches('/').count() > 16 {
            return Ok(Vec::new());
        }
        let mut patterns = specifier_patterns(spec);
        patterns.push((codegraph_parse::manifest::BASE_URL.to_string(), spec));
        let file_dir = dir_of(&ctx.data.path).to_string();
        // What the configurations above the file extend, read only when an alias of a
        // configuration not above it turns up (most bare imports, `react`, have none).
        let mut extended: Option<HashMap<String, usize>> = None;
        // Nearness: the directory length of the configuration above the file, and
        // whether the alias is its own (before one it extends).
        let mut out: Vec<((usize, bool), String)> = Vec::new();
        for (pattern, rest) in patterns {
            let aliases: Vec<Def> = self
                .rec
                .named(&pattern)?
                .iter()
                .filter(|d| {
                    let config = d.path.rsplit('/').next().unwrap_or(&d.path);
                    d.kind == NodeKind::Module && codegraph_parse::manifest::is_ts_config(config)
                })
                .cloned()
                .collect();
            for d in aliases {
                // A configuration above the file, or one such a configuration extends
                // (as near as the one extending it).
                let nearness = if covers(dir_of(&d.path), &file_dir) {
                    Some((dir_of(&d.path).len(), true))
                } else {
                    if extended.is_none() {
                        extended = Some(self.extended_configs(&file_dir)?);
                    }
                    extended
                        .as_ref()
                        .and_then(|e| e.get(d.path.as_str()))
                        .map(|&n| (n, false))
                };
                if let (Some(nearness), Some(target)) = (nearness, &d.stands_for) {
                    out.push((nearness, target.replacen('*', rest, 1)));
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(out.into_iter().map(|(_, target)| target).collect())
    }

    /// The configurations that those above a file in `file_dir` extend (`"extends":
    /// "../../tsconfig.base.json"`), through chains of them, each with the directory
    /// length of the configuration above the file that leads to it.
    fn extended_configs(&mut self, file_dir: &str) -> Result<HashMap<String, usize>> {
        let links: Vec<(String, String)> = self
            .rec
            .named(codegraph_parse::manifest::EXTENDS)?
            .iter()
            .filter(|d| {
                d.kind == NodeKind::Module
                    && codegraph_parse::manifest::is_ts_config(
                        d.path.rsplit('/').next().unwrap_or(&d.path),
                    )
            })
            .filter_map(|d| Some((d.path.clone(), d.stands_for.clone()?)))
            .collect();
        let mut out: HashMap<String, usize> = HashMap::new();
        let mut frontier: Vec<(String, usize)> = links
            .iter()
            .filter(|(config, _)| covers(dir_of(config), file_dir))
            .map(|(config, _)| (config.clone(), dir_of(config).len()))
            .collect();
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for (config, nearness) in &frontier {
                for (from, to) in &links {
                    // The nearest configuration that leads to it counts.
                    if from == config && out.get(to).is_none_or(|n| n < nearness) {
                        out.insert(to.clone(), *nearness);
                        next.push((to.clone(), *nearness));
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(out)
    }

    /// Where a bare specifier points in a package of the project (a monorepo's
    /// packages import each other by name): the entry its `package.json` gives for the
    /// specifier's subpath (`codegraph_parse::manifest`), the most specific pattern
    /// first. An entry into built output that is not indexed (`dist/index.js`,
    /// `lib/x.d.ts`) is looked for under `src/` too, and a package's `.` under its
    /// `src/index` and `index`.
    fn js_package(&mut self, spec: &str) -> Result<Vec<String>> {
        if spec.len() > 256 || spec.matches('/').count() > 16 || spec.starts_with('/') {
            return Ok(Vec::new());
        }
        let patterns = specifier_patterns(spec);
        let mut out = Vec::new();
        for (pattern, rest) in patterns {
            let exact = rest.is_empty();
            for d in self.rec.named(&pattern)?.iter() {
                let manifest = d.path.rsplit('/').next().unwrap_or(&d.path);
                if d.kind != NodeKind::Module
                    || manifest != codegraph_parse::manifest::PACKAGE_JSON
                    || is_test_data(&d.path)
                {
                    continue;
                }
                let Some(target) = &d.stands_for else {
                    continue;
                };
                let target = target.replacen('*', rest, 1);
                let package_dir = dir_of(&d.path);
                out.push(target.clone());
                // `dist/x.js`, `lib/x.d.ts`: built from `src/x.ts` by convention.
                let inside = target
                    .strip_prefix(package_dir)
                    .map(|t| t.trim_start_matches('/'))
                    .unwrap_or(&target);
                if let Some((top, below)) = inside.split_once('/')
                    && matches!(top, "dist" | "lib" | "build" | "out" | "esm" | "cjs")
                {
                    let below = below.strip_suffix(".d.ts").unwrap_or(below);
                    out.push(format!("{}src/{below}", join_dir(package_dir, "/")));
                }
                let root = match pattern.strip_prefix('@') {
                    Some(scoped) => scoped.matches('/').count() == 1,
                    None => !pattern.contains('/'),
                };
                if exact && root {
                    out.push(format!("{}src/index", join_dir(package_dir, "/")));
                    out.push(format!("{}index", join_dir(package_dir, "/")));
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// The file a module path names: itself, with a script extension, or its index.
    fn js_file(&mut self, base: String) -> Result<Vec<Target>> {
        let stripped = ["js", "mjs", "cjs", "jsx"]
            .iter()
            .find_map(|e| base.strip_suffix(&format!(".{e}")))
            .map(str::to_string);
        let mut cands = vec![base.clone()];
        for stem in std::iter::once(base.clone()).chain(stripped) {
            for ext in ["ts", "tsx", "d.ts", "js", "jsx", "mjs", "cjs"] {
                cands.push(format!("{stem}.{ext}"));
            }
            for ext in ["ts", "tsx", "js", "jsx"] {
                cands.push(format!("{}index.{ext}", join_dir(&stem, "/")));
            }
        }
        for c in cands {
            if let Some(f) = self.file_node(&c)? {
                return Ok(vec![Target::Def(f)]);
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn js_import(&mut self, ctx: &FileCtx, r: &Reference) -> Result<Vec<Target>> {
        if r.qualifier.is_none() && r.alias.as_deref() == Some("default") {
            // `export default named`: the file's own definition, exported as `default`.
            return Ok(self
                .lookup_name(ctx, r.source, &r.name)?
                .map(|f| f.targets)
                .unwrap_or_default());
        }
        let Some(spec) = r.qualifier.as_deref() else {
            // `import './x'`, `x = require('./x')`
            let module = self.js_module(ctx, &r.name)?;
            // A CommonJS module's value is what it assigns to `module.exports`, by
            // convention a definition named like the binding (`const Chunk =
            // require('./Chunk')`), as for default exports.
            if let Some(alias) = r.alias.as_deref() {
                let mut named = Vec::new();
                for m in &module {
                    named.extend(self.members(m, alias, 0)?);
                }
                if !named.is_empty() {
                    return Ok(named);
                }
            }
            return Ok(module);
        };
        let module = self.js_module(ctx, spec)?;
        if r.name == "*" {
            return Ok(module);
        }
        let mut out = Vec::new();
        for m in &module {
            let name = if r.name == "default" {
                // Default exports carry no name of their own in the syntax tree; the
                // conventional default is a definition named like the binding.
                r.alias.as_deref().unwrap_or("default")
            } else {
                r.name.as_str()
            };
            out.extend(self.members(m, name, 0)?);
            if out.is_empty() && r.name == "default" && name != "default" {
                // An anonymous default export is the definition named `default`.
                out.extend(self.members(m, "default", 0)?);
            }
            if out.is_empty() {
                out.extend(self.star_exported(m, name)?);
            }
        }
        Ok(out)
    }

    /// `name` as re-exported by `export * from './y'` in `module`, through chains of
    /// such index files (`index.ts` re-exporting `core/index.ts` re-exporting
    /// `core/parse.ts`), nearest first.
    pub(in crate::resolve) fn star_exported(
        &mut self,
        module: &Target,
        name: &str,
    ) -> Result<Vec<Target>> {
        let mut level = vec![module.clone()];
        let mut seen = HashSet::new();
        for depth in 1..=MAX_DEPTH {
            let mut next = Vec::new();
            for m in &level {
                let Target::Def(file) = m else { continue };
                if !seen.insert(file.id) {
                    continue;
                }
                next.extend(self.named_wildcards(file)?);
            }
            // Two barrels re-exporting one module name it twice: look it up once.
            next.sort();
            next.dedup();
            let mut out = Vec::new();
            for star in &next {
                out.extend(self.members(star, name, depth)?);
            }
            if !out.is_empty() || next.is_empty() {
                return Ok(out);
            }
            level = next;
        }
        Ok(Vec::new())
    }

    /// Modules a file imports wholesale (`export * from`, `from x import *`).
    fn named_wildcards(&mut self, file: &Def) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for imp in self.rec.named("*")?.iter() {
            if imp.path == file.path && imp.kind == NodeKind::Import {
                out.extend(self.import_node_targets(imp)?);
            }
        }
        Ok(out)
    }
}

/// The patterns a bare specifier may match, most specific first, each with what its `*`
/// stands for: `a/b/c` itself, then `a/b/*` (`c`), then `a/*` (`b/c`).
fn specifier_patterns(spec: &str) -> Vec<(String, &str)> {
    let mut patterns: Vec<(String, &str)> = vec![(spec.to_string(), "")];
    for (i, _) in spec
        .match_indices('/')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        patterns.push((format!("{}*", &spec[..=i]), &spec[i + 1..]));
    }
    patterns
}

/// Whether a configuration in `config_dir` applies to a file in `file_dir`: it is
/// that directory or above it.
fn covers(config_dir: &str, file_dir: &str) -> bool {
    config_dir.is_empty()
        || file_dir == config_dir
        || file_dir
            .strip_prefix(config_dir)
            .is_some_and(|r| r.starts_with('/'))
}

/// Whether a path is in a directory of test data (`test/fixtures/react/package.json`),
/// whose packages are named like the real ones they stand in for and are no package a
/// bare import of the project means.
fn is_test_data(path: &str) -> bool {
    path.split('/').any(|part| {
        matches!(
            part,
            "fixtures" | "__fixtures__" | "__mocks__" | "test" | "tests" | "__tests__" | "testdata"
        )
    })
}
