#!/usr/bin/env python3
"""Retrieval quality of `codegraph search` on real code: docstring queries.

For every function and method with a docstring in the given packages, the query is
the docstring's first sentence and the answer is the function. The code is indexed
with `--text-without-docs`, so neither the doc field nor the docstring inside the body
is searchable: the query has to be matched through names, signatures and code.
Prints MRR@10 and recall@10 per mode, as one JSON line each.

    scripts/fetch-corpus.sh --lang python
    CODEGRAPH_MODEL_DIR=... scripts/retrieval-eval.py [--bin target/release/codegraph] \
        [--modes text,semantic,hybrid] \
        ~/.cache/codegraph/corpus/python/{flask-3.1.3,requests-2.34.2,jinja2-3.1.6}

Semantic and hybrid modes need an embedding model (CODEGRAPH_MODEL_DIR, and
CODEGRAPH_MAX_TOKENS to cut inputs shorter); indexing then embeds every definition.
A mode `hybrid@T/S/G` runs hybrid search with those fusion weights (`--weights T,S,G`),
`hybrid:rrf` (or `hybrid:rrf@T/S/G/K`) with rank fusion instead of score fusion, and
`hybrid:min-max` with both lists min-max scaled (for a model tuned for code).

Queries shorter than three words, and queries that more than one function shares
(`Return the value.`), are left out: they have no single right answer.
"""

import argparse
import ast
import collections
import json
import os
import re
import subprocess
import sys
import tempfile


def first_sentence(doc):
    text = " ".join(doc.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text).strip()


def pairs(package):
    """(query, path, lines) for every documented function, read with Python's own `ast`
    (an oracle independent of CodeGraph's extractor). `lines` holds the `def` line and
    the first decorator's, either of which a hit may report."""
    by_query = collections.defaultdict(list)
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            full = os.path.join(root, name)
            rel = os.path.relpath(full, package).replace(os.sep, "/")
            try:
                tree = ast.parse(open(full, "rb").read())
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                q = first_sentence(doc)
                if len(q.split()) < 3:
                    continue
                lines = {node.lineno} | {d.lineno for d in node.decorator_list}
                by_query[q].append((rel, lines))
    return [(q, answers[0]) for q, answers in sorted(by_query.items()) if len(answers) == 1]


def evaluate(binary, db, project, mode, items, k):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for q, _ in items:
            f.write(q.replace("\n", " ") + "\n")
        queries = f.name
    try:
        base, _, weights = mode.partition("@")
        base, _, fusion = base.partition(":")
        cmd = [binary, "search", "--db", db, "--project", project, "--mode", base,
               "--format", "jsonl", "--limit", str(k), "--queries-file", queries]
        if fusion:
            cmd += ["--fusion", fusion]
        if weights:
            cmd += ["--weights", weights.replace("/", ",")]
        run = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(queries)
    if run.returncode != 0:
        return {"mode": mode, "error": run.stderr.strip()}
    lines = run.stdout.splitlines()
    assert len(lines) == len(items), (len(lines), len(items))
    rr = hits = 0.0
    for (q, answer), line in zip(items, lines):
        result = json.loads(line)
        assert result["query"] == q.replace("\n", " ")
        for rank, r in enumerate(result["results"][:k], 1):
            if r["path"] == answer[0] and r["line"] in answer[1]:
                rr += 1 / rank
                hits += 1
                break
    n = max(len(items), 1)
    return {"mode": mode, "queries": n, f"mrr@{k}": round(rr / n, 4),
            f"recall@{k}": round(hits / n, 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "codegraph"))
    ap.add_argument("--modes", default="text")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--db-root", help="keep the indexes here (re-runs are incremental) "
                    "instead of in a temporary directory")
    ap.add_argument("packages", nargs="+")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.db_root or tmp
        for package in args.packages:
            name = os.path.basename(os.path.normpath(package))
            db = os.path.join(work, name)
            run = subprocess.run([args.bin, "index", package, "--db", db, "--project", name,
                                  "-q", "--json", "--without-docs"],
                                 check=True, capture_output=True, text=True)
            report = json.loads(run.stdout)
            print(json.dumps({"package": name, "index_seconds": round(report["seconds"], 2),
                              "embeddings": report.get("embeddings")}), flush=True)
            items = pairs(package)
            for mode in args.modes.split(","):
                row = evaluate(args.bin, db, name, mode, items, args.k)
                print(json.dumps({"package": name, **row}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
