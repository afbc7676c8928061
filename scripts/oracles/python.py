#!/usr/bin/env python3
"""Python call pairs from jedi (README.md has the format).

    scripts/oracles/python.py ROOT OUT

Every call (`ast.Call`) in ROOT's .py files is asked to jedi's `goto` at the callee's
name, following imports; every class statement's bases the same way, as `inherits`; every
name a `from m import a` brings in, as `imports` (a module so imported is not judged).
jedi is installed with pip into ~/.cache/codegraph/venv-jedi.
"""

import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
VENV = CACHE / "venv-jedi"
JEDI = "jedi==0.20.1"

# Runs inside the venv.
ORACLE = r"""
import ast, json, os, sys
import jedi

root, out_path = sys.argv[1], sys.argv[2]
project = jedi.Project(root, added_sys_path=[root])
failed = 0
written = 0


def name_position(node):
    # The identifier being called: `f` in `f()`, `c` in `a.b.c()`.
    if isinstance(node, ast.Name):
        return node.id, node.lineno, node.col_offset
    if isinstance(node, ast.Attribute) and node.end_lineno is not None:
        return node.attr, node.end_lineno, node.end_col_offset - len(node.attr)
    return None


def in_root(path):
    return path is not None and str(path).startswith(root + os.sep)


with open(out_path, "w") as out:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if not fname.endswith(".py"):
                continue
            path = os.path.join(dirpath, fname)
            rel = os.path.relpath(path, root)
            try:
                source = open(path, encoding="utf-8").read()
                tree = ast.parse(source)
                lines = source.splitlines()
                script = jedi.Script(code=source, path=path, project=project)
            except Exception:
                failed += 1
                continue
            sites = []
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    sites.append(("calls", node.func))
                elif isinstance(node, ast.ClassDef):
                    sites.extend(("inherits", b) for b in node.bases)
                elif isinstance(node, ast.ImportFrom):
                    sites.extend(("imports", a) for a in node.names if a.name != "*")
            for edge, func in sites:
                if isinstance(func, ast.alias):
                    pos = (func.name, func.lineno, func.col_offset)
                else:
                    pos = name_position(func)
                if pos is None:
                    continue
                name, line, col = pos
                # ast counts UTF-8 bytes; jedi counts characters.
                text = lines[line - 1] if line - 1 < len(lines) else ""
                col = len(text.encode("utf-8")[:col].decode("utf-8", "replace"))
                try:
                    defs = script.goto(line, col, follow_imports=True)
                except Exception:
                    continue
                if not defs:
                    continue
                targets, external, unknown = [], False, False
                for d in defs:
                    if d.in_builtin_module() or not in_root(d.module_path):
                        external = True
                    elif d.type in ("function", "class"):
                        targets.append({"path": os.path.relpath(str(d.module_path), root),
                                        "line": d.line})
                    else:
                        # A variable, parameter or attribute: jedi could not follow it
                        # to a definition either.
                        unknown = True
                if not targets and (unknown or not external):
                    continue
                out.write(json.dumps({"edge": edge, "path": rel, "line": line, "name": name,
                                      "targets": targets, "external": not targets}) + "\n")
                written += 1
print(f"python oracle: {written} sites, {failed} files not parsed", file=sys.stderr)
"""


def ensure_jedi():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import jedi"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", JEDI], check=True)
    return python


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root = os.path.abspath(sys.argv[1])
    python = ensure_jedi()
    subprocess.run([str(python), "-c", ORACLE, root, sys.argv[2]], check=True)


if __name__ == "__main__":
    main()
