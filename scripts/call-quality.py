#!/usr/bin/env python3
"""Call-edge quality of `codegraph index` against a type-aware oracle.

For each package of the corpus (scripts/fetch-corpus.sh), index it, export the graph,
and ask the oracle where every call site's callee is defined: jedi's goto-definition
for Python, the TypeScript compiler's language service (getDefinitionAtPosition) for
TypeScript. The oracle's answer is the truth:

- a call site counts for recall when jedi resolves it to a function, method or class
  defined in the package; codegraph recalls it when one of its edges from that site
  goes there (a call of a class may land on its `__init__`);
- every codegraph call edge at a site jedi resolves counts for precision: correct when
  jedi agrees, wrong otherwise (including when jedi says the callee is a builtin, the
  standard library or a third-party package). Sites jedi cannot resolve are left out of
  both.

jedi is installed with pip into a virtual environment, and typescript with npm, under
~/.cache/codegraph, never into the system.

    scripts/call-quality.py                       # the default Python packages
    scripts/call-quality.py --packages flask-3.1.3 --details 20
    scripts/call-quality.py --lang typescript     # the default TypeScript packages
    scripts/call-quality.py --json                # one JSON object per package + total
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
CORPUS = Path(os.environ.get("CODEGRAPH_CORPUS_DIR", CACHE / "corpus"))
VENV = CACHE / "venv-jedi"
JEDI = "jedi==0.20.1"
TS_DIR = CACHE / "node-typescript"
TYPESCRIPT = "typescript@5.6.3"
DEFAULT_PACKAGES = {
    "python": [
        "flask-3.1.3",
        "requests-2.34.2",
        "jinja2-3.1.6",
        "werkzeug-3.1.9",
        "parso-0.8.7",
    ],
    "typescript": ["zod-3.25.76", "mobx-6.13.5", "rxjs-7.8.1"],
}


def ensure_jedi():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import jedi"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", JEDI], check=True
        )
    return python


# The oracle runs inside the venv: reads sites as JSON on stdin, writes answers.
ORACLE = r"""
import json, sys
import jedi
root = sys.argv[1]
project = jedi.Project(root, added_sys_path=[root])
scripts = {}
out = []
for site in json.load(sys.stdin):
    path = site["abs"]
    if path not in scripts:
        try:
            scripts[path] = jedi.Script(path=path, project=project)
        except Exception:
            scripts[path] = None
    script = scripts[path]
    answer = []
    if script is not None:
        try:
            defs = script.goto(site["line"], site["col"], follow_imports=True)
        except Exception:
            defs = []
        for d in defs:
            answer.append({
                "path": str(d.module_path) if d.module_path else None,
                "line": d.line,
                "type": d.type,
                "builtin": d.in_builtin_module(),
            })
    out.append(answer)
json.dump(out, sys.stdout)
"""


def ensure_typescript():
    module = TS_DIR / "node_modules" / "typescript"
    if not module.exists():
        TS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-save", "--prefix", str(TS_DIR), TYPESCRIPT],
            check=True,
        )
    return str(module)


# The TypeScript oracle: a language service over the package's sources.
ORACLE_TS = r"""
const fs = require('fs'), path = require('path');
const ts = require(process.argv[1]);
const root = process.argv[2];
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); }
    else if (/\.(ts|tsx|js|jsx|mjs|cjs)$/.test(e.name)) files.push(p);
  }
})(root);
const options = { allowJs: true, checkJs: false, target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.Preserve, skipLibCheck: true, noEmit: true };
const host = {
  getScriptFileNames: () => files, getScriptVersion: () => '1',
  getScriptSnapshot: f => fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, 'utf8')) : undefined,
  getCurrentDirectory: () => root, getCompilationSettings: () => options,
  getDefaultLibFileName: o => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists, readFile: ts.sys.readFile, readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists, getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
const program = service.getProgram();
const sites = JSON.parse(fs.readFileSync(0, 'utf8'));
const kinds = { function: 'function', method: 'function', 'local function': 'function',
  constructor: 'function', class: 'class', 'local class': 'class' };
const out = sites.map(site => {
  const sf = program.getSourceFile(site.abs);
  if (!sf) return [];
  let pos;
  try { pos = sf.getPositionOfLineAndCharacter(site.line - 1, site.col); } catch (e) { return []; }
  let defs;
  try { defs = service.getDefinitionAtPosition(site.abs, pos) || []; } catch (e) { return []; }
  return defs.map(d => {
    const target = program.getSourceFile(d.fileName);
    const line = target ? target.getLineAndCharacterOfPosition(d.textSpan.start).line + 1 : 0;
    return { path: d.fileName.endsWith('.d.ts') ? null : d.fileName, line,
             type: kinds[d.kind] || d.kind, builtin: d.fileName.includes('node_modules') };
  });
});
process.stdout.write(JSON.stringify(out));
"""


def codegraph_binary(args):
    if args.codegraph:
        return args.codegraph
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "codegraph-server"],
        cwd=ROOT,
        check=True,
    )
    target = os.environ.get("CARGO_TARGET_DIR", ROOT / "target")
    return str(Path(target) / "release" / "codegraph")


def export(binary, pkg_dir, work):
    db = work / "db"
    subprocess.run(
        [binary, "index", str(pkg_dir), "--db", str(db), "--project", "p", "-q"],
        check=True,
    )
    out = subprocess.run(
        [binary, "export", "--db", str(db), "--project", "p"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    nodes, edges = {}, []
    for line in out.splitlines():
        row = json.loads(line)
        if row["type"] == "node":
            nodes[row["id"]] = row
        elif row["kind"] == "calls":
            edges.append(row)
    return nodes, edges


def category(written):
    if written.startswith(("self.", "cls.", "this.")):
        return "self.method()"
    if written.startswith("super"):
        return "super().method()"
    if "." not in written:
        return "name()"
    head = written.split(".")[0]
    if "(" in written or "[" in written:
        return "expr.method()"
    return "obj.attr()" if head[:1].islower() else "Type.attr()"


def evaluate(oracle, binary, lang, pkg, details):
    pkg_dir = CORPUS / lang / pkg
    if (pkg_dir / "src").is_dir():
        # Sources only: not the compiled dist/ next to them.
        pkg_dir = pkg_dir / "src"
    with tempfile.TemporaryDirectory() as tmp:
        nodes, edges = export(binary, pkg_dir, Path(tmp))
    NODES_BY_ID.clear()
    NODES_BY_ID.update(nodes)
    SPOTS_BY_QNAME.clear()
    for n in nodes.values():
        SPOTS_BY_QNAME[(n["path"], n["qualified_name"])].add((n["path"], n["name_line"]))

    # Call sites: (path, line, column) -> written name and codegraph's targets.
    sites = {}
    for e in edges:
        src = nodes.get(e["src"])
        if src is None or e.get("line") is None:
            continue
        # `A(x).b()` and `A(x)` start at the same column: the written name tells them apart.
        key = (src["path"], e["line"], e["column"], e.get("name") or "")
        site = sites.setdefault(key, {"name": e.get("name") or "", "targets": []})
        if e["dst"] is not None:
            site["targets"].append((nodes[e["dst"]], e["resolution"]))

    # Where the callee's name is: jedi wants the name, not the start of the call.
    queries, keys = [], []
    lines_cache = {}
    skipped_multiline = 0
    for key, site in sites.items():
        path, line, col, _ = key
        if path not in lines_cache:
            lines_cache[path] = (pkg_dir / path).read_text(errors="replace").splitlines()
        text = lines_cache[path][line - 1] if line - 1 < len(lines_cache[path]) else ""
        name = site["name"].rsplit(".", 1)[-1].rstrip("()")
        if not name:
            continue
        start = max(col - 1, 0)
        idx = text.find(name + "(", start)
        if idx < 0:
            idx = text.find(name, start)
        if idx < 0:
            skipped_multiline += 1
            continue
        queries.append({"abs": str(pkg_dir / path), "line": line, "col": idx})
        keys.append(key)

    answers = json.loads(
        subprocess.run(
            oracle + [str(pkg_dir)],
            input=json.dumps(queries),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    def in_project(d):
        return d["path"] is not None and d["path"].startswith(str(pkg_dir) + "/")

    stats = collections.Counter()
    missed = collections.Counter()
    wrong_kinds = collections.Counter()
    examples = collections.defaultdict(list)
    for key, answer in zip(keys, answers):
        site = sites[key]
        if not answer:
            stats["oracle_unknown"] += 1
            continue
        truth = {
            (os.path.relpath(d["path"], pkg_dir), d["line"])
            for d in answer
            if in_project(d) and d["type"] in ("function", "class")
        }
        if not truth and any(in_project(d) for d in answer):
            # A variable, parameter or attribute in the package: jedi could not
            # follow it to a definition either.
            stats["oracle_unknown"] += 1
            continue
        stats["sites"] += 1

        def hits(node):
            # Overloads (`@overload` stubs, TypeScript signatures) and the implementation
            # are one callable: the oracle may name any of them.
            spots = set(SPOTS_BY_QNAME.get((node["path"], node["qualified_name"]), ()))
            spots.add((node["path"], node["name_line"]))
            # `Foo()` calls `Foo.__init__`; jedi names the class.
            if node["name"] in ("__init__", "__new__") and node.get("parent") in NODES_BY_ID:
                parent = NODES_BY_ID[node["parent"]]
                spots.add((parent["path"], parent["name_line"]))
            return bool(spots & truth)

        good = False
        for node, resolution in site["targets"]:
            ok = hits(node)
            good |= ok
            stats["edges"] += 1
            stats["edges_correct" if ok else "edges_wrong"] += 1
            if resolution != "ambiguous":
                stats["edges_unambiguous"] += 1
                stats["edges_unambiguous_correct" if ok else "edges_unambiguous_wrong"] += 1
            if not ok:
                wrong_kinds[resolution] += 1
                if len(examples["wrong"]) < details:
                    examples["wrong"].append(
                        f"{key[0]}:{key[1]} {site['name']} -> {node['qualified_name']} "
                        f"[{resolution}]; jedi: {sorted(truth) or 'outside the package'}"
                    )
        if truth:
            stats["truth_sites"] += 1
            if good:
                stats["recalled"] += 1
            else:
                cat = category(site["name"])
                missed[cat] += 1
                if len(examples["missed"]) < details:
                    examples["missed"].append(
                        f"{key[0]}:{key[1]} {site['name']} ({cat}); jedi: {sorted(truth)}"
                    )
    stats["multiline_skipped"] = skipped_multiline
    return stats, missed, wrong_kinds, examples


SPOTS_BY_QNAME = collections.defaultdict(set)
NODES_BY_ID = {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=sorted(DEFAULT_PACKAGES), default="python")
    parser.add_argument("--packages", help="comma-separated corpus package directories")
    parser.add_argument("--codegraph", help="path of a built codegraph binary")
    parser.add_argument("--details", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.lang == "python":
        oracle = [str(ensure_jedi()), "-c", ORACLE]
    else:
        oracle = ["node", "-e", ORACLE_TS, ensure_typescript()]
    binary = codegraph_binary(args)
    total = collections.Counter()
    total_missed = collections.Counter()
    packages = args.packages.split(",") if args.packages else DEFAULT_PACKAGES[args.lang]
    for pkg in packages:
        stats, missed, wrong_kinds, examples = evaluate(oracle, binary, args.lang, pkg, args.details)
        total.update(stats)
        total_missed.update(missed)
        report(pkg, stats, missed, wrong_kinds, examples, args.json)
    report("total", total, total_missed, collections.Counter(), {}, args.json)


def ratio(a, b):
    return a / b if b else 0.0


def report(name, s, missed, wrong_kinds, examples, as_json):
    row = {
        "package": name,
        "precision": round(ratio(s["edges_correct"], s["edges"]), 4),
        "precision_unambiguous": round(
            ratio(s["edges_unambiguous_correct"], s["edges_unambiguous"]), 4
        ),
        "recall": round(ratio(s["recalled"], s["truth_sites"]), 4),
        "call_sites_judged": s["sites"],
        "sites_with_project_callee": s["truth_sites"],
        "edges": s["edges"],
        "edges_wrong": s["edges_wrong"],
        "oracle_unknown": s["oracle_unknown"],
        "missed_by_form": dict(missed.most_common()),
        "wrong_by_resolution": dict(wrong_kinds.most_common()),
    }
    if as_json:
        print(json.dumps(row))
        return
    print(
        f"{name}: precision {row['precision']:.3f} "
        f"(unambiguous edges {row['precision_unambiguous']:.3f}), "
        f"recall {row['recall']:.3f}; {row['edges']} edges at {row['call_sites_judged']} "
        f"judged sites, {row['sites_with_project_callee']} with a callee in the package, "
        f"{row['oracle_unknown']} the oracle could not resolve"
    )
    if missed:
        print("  missed, by call form: " + ", ".join(f"{k} {v}" for k, v in missed.most_common()))
    if wrong_kinds:
        print("  wrong, by resolution: " + ", ".join(f"{k} {v}" for k, v in wrong_kinds.most_common()))
    for kind in ("wrong", "missed"):
        for line in examples.get(kind, []):
            print(f"  {kind}: {line}")


if __name__ == "__main__":
    main()
