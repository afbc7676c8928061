//! JavaScript and TypeScript: relative specifiers with their extensions and index
//! files, default exports, `export *` re-exports; `this`; the builtin types.

use std::collections::HashSet;

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
            // A package from node_modules: outside the project.
            return Ok(Vec::new());
        }
        let Some(base) = normalize_path(dir_of(&ctx.data.path), spec) else {
            return Ok(Vec::new());
        };
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
