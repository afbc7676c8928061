#!/usr/bin/env python3
"""TypeScript and JavaScript call pairs from the TypeScript compiler (README.md has the
format).

    scripts/oracles/typescript.py ROOT OUT

One program over ROOT's .ts/.tsx/.js/.jsx/.mjs/.cjs files (allowJs, so CommonJS
`require` is followed too); for every call and `new`, the checker's symbol at the
callee's name, aliases followed to their declarations; for every class's `extends` and
`implements`, the base type's; for every name an `import { }` or `export { } from` brings
in, and every default import, the declaration it stands for (`imports`). typescript is installed with npm into
~/.cache/codegraph/node-typescript.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
TS_DIR = CACHE / "node-typescript"
TYPESCRIPT = "typescript@5.6.3"

ORACLE = r"""
const fs = require('fs'), path = require('path');
const ts = require(process.argv[1]);
const root = path.resolve(process.argv[2]), outPath = process.argv[3];
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(p); }
    else if (/\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(e.name) && !/\.d\.[mc]?ts$/.test(e.name)) files.push(p);
  }
})(root);
const program = ts.createProgram(files, {
  allowJs: true, checkJs: false, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler, jsx: ts.JsxEmit.Preserve,
  skipLibCheck: true, noEmit: true, noResolve: false,
});
const checker = program.getTypeChecker();
const inRoot = f => f.startsWith(root + path.sep) && !/\.d\.[mc]?ts$/.test(f) && !f.includes(path.sep + 'node_modules' + path.sep);
const isFunctionLike = n => n && (ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isClassExpression(n));

// A declaration that is a callable definition (what a code graph calls a function,
// method or class), or undefined.
function callable(decl) {
  if (ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl) || ts.isMethodSignature(decl) ||
      ts.isClassDeclaration(decl) || ts.isConstructorDeclaration(decl) || ts.isGetAccessor(decl) ||
      ts.isSetAccessor(decl) || ts.isInterfaceDeclaration(decl)) return decl;
  if ((ts.isFunctionExpression(decl) || ts.isClassExpression(decl)) && decl.name) return decl;
  if ((ts.isVariableDeclaration(decl) || ts.isPropertyDeclaration(decl) || ts.isPropertyAssignment(decl)) &&
      isFunctionLike(decl.initializer)) return decl;
  return undefined;
}

function spot(decl) {
  const sf = decl.getSourceFile();
  const at = decl.name ? decl.name.getStart(sf) : decl.getStart(sf);
  return { path: path.relative(root, sf.fileName), line: sf.getLineAndCharacterOfPosition(at).line + 1 };
}

function answer(nameNode, isNew) {
  let symbol = checker.getSymbolAtLocation(nameNode);
  if (!symbol) return null;
  if (symbol.flags & ts.SymbolFlags.Alias) {
    try { symbol = checker.getAliasedSymbol(symbol); } catch (e) { return null; }
  }
  const decls = symbol.declarations || [];
  if (!decls.length) return null;
  const targets = [];
  let external = false, unknown = false;
  for (const d of decls) {
    const file = d.getSourceFile().fileName;
    if (!inRoot(file)) { external = true; continue; }
    const c = callable(d);
    if (!c) { unknown = true; continue; }
    targets.push(spot(c));
    if (isNew && (ts.isClassDeclaration(c) || ts.isClassExpression(c))) {
      for (const m of c.members) if (ts.isConstructorDeclaration(m)) targets.push(spot(m));
    }
    if (ts.isConstructorDeclaration(c)) targets.push(spot(c.parent));
  }
  if (!targets.length && (unknown || !external)) return null;
  return { targets, external: !targets.length };
}

function calleeName(expr) {
  while (ts.isParenthesizedExpression(expr) || ts.isNonNullExpression(expr)) expr = expr.expression;
  if (ts.isIdentifier(expr)) return expr;
  if (ts.isPropertyAccessExpression(expr)) return expr.name;
  return null;
}

const out = fs.openSync(outPath, 'w');
let written = 0, failed = 0;
for (const file of files) {
  const sf = program.getSourceFile(file);
  if (!sf) { failed++; continue; }
  const rel = path.relative(root, file);
  // `written` is the identifier as the source names it, where it differs from the one
  // the checker is asked at (`a` in `import { a as b }`, asked at `b`).
  // A default import names the module's `default`, whatever it binds it to.
  const emit = (edge, nameNode, isNew, writtenNode, writtenName) => {
    if (!nameNode || ts.isPrivateIdentifier(nameNode)) return;
    let a;
    try { a = answer(nameNode, isNew); } catch (e) { return; }
    if (!a) return;
    const shown = writtenNode || nameNode;
    const line = sf.getLineAndCharacterOfPosition(shown.getStart(sf)).line + 1;
    const name = writtenName || shown.text;
    fs.writeSync(out, JSON.stringify({ edge, path: rel, line, name, ...a }) + '\n');
    written++;
  };
  const visit = node => {
    if (ts.isCallExpression(node)) emit('calls', calleeName(node.expression), false);
    else if (ts.isNewExpression(node)) emit('calls', calleeName(node.expression), true);
    else if ((ts.isClassDeclaration(node) || ts.isClassExpression(node) || ts.isInterfaceDeclaration(node)) && node.heritageClauses) {
      for (const clause of node.heritageClauses)
        for (const t of clause.types) emit('inherits', calleeName(t.expression), false);
    }
    // Type-only imports too: an import of a type is an import.
    else if (ts.isImportSpecifier(node)) emit('imports', node.name, false, node.propertyName);
    else if (ts.isImportClause(node) && node.name) emit('imports', node.name, false, node.name, 'default');
    else if (ts.isExportSpecifier(node) && node.parent.parent.moduleSpecifier)
      emit('imports', node.propertyName || node.name, false);
    ts.forEachChild(node, visit);
  };
  try { visit(sf); } catch (e) { failed++; }
}
fs.closeSync(out);
process.stderr.write(`typescript oracle: ${written} sites, ${failed} files failed, ${files.length} files\n`);
"""


def ensure_typescript():
    module = TS_DIR / "node_modules" / "typescript"
    if not module.exists():
        TS_DIR.mkdir(parents=True, exist_ok=True)
        # A registry hiccup failed a CI run once: try again before giving up, and
        # let npm say why.
        for attempt in range(3):
            done = subprocess.run(
                ["npm", "install", "--loglevel=error", "--no-audit", "--no-fund", "--no-save",
                 "--prefix", str(TS_DIR), TYPESCRIPT],
            )
            if done.returncode == 0:
                break
            if attempt == 2:
                sys.exit(f"npm could not install {TYPESCRIPT}")
            time.sleep(5 * (attempt + 1))
    return str(module)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    module = ensure_typescript()
    subprocess.run(
        ["node", "--max-old-space-size=6144", "-e", ORACLE, module, sys.argv[1], sys.argv[2]],
        check=True,
    )


if __name__ == "__main__":
    main()
