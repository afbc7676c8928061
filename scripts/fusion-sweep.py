#!/usr/bin/env python3
"""Sweeps hybrid fusion settings offline, from each retriever's own top 100.

Runs `codegraph search --mode text` and `--mode semantic` once per package over the
docstring queries of scripts/retrieval-eval.py (same pairs, same indexes: run that
script with `--db-root DIR` first), then replays fusion in Python: reciprocal rank
fusion and weighted score sums with several normalisations, printing MRR@10 per
package and the mean. This is how the defaults in codegraph-server's `HybridWeights`
were chosen; `retrieval-eval.py --modes hybrid,hybrid:rrf` then checks the chosen ones
through the binary itself.

    CODEGRAPH_MODEL_DIR=... scripts/fusion-sweep.py --bin .../release/codegraph \
        --db-root DIR ~/.cache/codegraph/corpus/python/{flask-3.1.3,requests-2.34.2}
"""

import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

DEPTH = 100


def load_eval():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "retrieval-eval.py")
    spec = importlib.util.spec_from_file_location("retrieval_eval", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def search(binary, db, project, mode, items):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for q, _ in items:
            f.write(q.replace("\n", " ") + "\n")
    try:
        out = subprocess.run([binary, "search", "--db", db, "--project", project, "--mode", mode,
                              "--format", "jsonl", "--limit", str(DEPTH), "--queries-file", f.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    return [[((r["path"], r["line"]), r["score"]) for r in json.loads(l)["results"]]
            for l in out.splitlines()]


def rrf(wt, ws, k, depth=50):
    def fuse(t, s):
        score = collections.defaultdict(float)
        for w, hits in ((wt, t), (ws, s)):
            for rank, (key, _) in enumerate(hits[:depth], 1):
                score[key] += w / (k + rank)
        return sorted(score, key=lambda x: (-score[x], x))
    return fuse


def scale(hits, how):
    xs = [s for _, s in hits]
    if not xs:
        return {}
    if how == "best":
        top = max(xs) or 1.0
        return {key: s / top for key, s in hits}
    if how == "minmax":
        lo, hi = min(xs), max(xs)
        return {key: (s - lo) / ((hi - lo) or 1.0) for key, s in hits}
    if how == "z":
        mu = sum(xs) / len(xs)
        sd = (sum((x - mu) ** 2 for x in xs) / len(xs)) ** 0.5 or 1.0
        return {key: (s - mu) / sd for key, s in hits}
    return dict(hits)  # "raw"


def weighted(wt, ws, how_t, how_s, depth=50):
    def fuse(t, s):
        a, b = scale(t[:depth], how_t), scale(s[:depth], how_s)
        # Missing from a full list: below the cut (its lowest); from a short one: not found.
        fa = min(a.values(), default=0.0) if len(t) >= depth else 0.0
        fb = min(b.values(), default=0.0) if len(s) >= depth else 0.0
        keys = set(a) | set(b)
        score = {x: wt * a.get(x, fa) + ws * b.get(x, fb) for x in keys}
        return sorted(keys, key=lambda x: (-score[x], x))
    return fuse


def mrr(items, text, sem, fuse, k=10):
    total = 0.0
    for (_, (path, lines)), t, s in zip(items, text, sem):
        for rank, (p, line) in enumerate(fuse(t, s)[:k], 1):
            if p == path and line in lines:
                total += 1 / rank
                break
    return total / max(len(items), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--db-root", required=True, help="where retrieval-eval.py kept the indexes")
    ap.add_argument("packages", nargs="+")
    args = ap.parse_args()
    ev = load_eval()
    data = []
    for package in args.packages:
        name = os.path.basename(os.path.normpath(package))
        db = os.path.join(args.db_root, name)
        items = ev.pairs(package)
        data.append((name, items, search(args.bin, db, name, "text", items),
                     search(args.bin, db, name, "semantic", items)))
    print("setting".ljust(34), " ".join(n[:10].rjust(10) for n, *_ in data), "      mean")
    settings = [("text alone", lambda t, s: [k for k, _ in t]),
                ("semantic alone", lambda t, s: [k for k, _ in s])]
    for wt, ws, k in [(1, 1, 60), (1, 1.5, 20), (1, 1, 10)]:
        settings.append((f"rrf {wt},{ws},K={k}", rrf(wt, ws, k)))
    for how_t, how_s in [("best", "raw"), ("minmax", "minmax"), ("z", "z"), ("minmax", "raw")]:
        for wt in [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]:
            settings.append((f"sum {how_t}/{how_s} {wt},{round(1 - wt, 2)}",
                             weighted(wt, 1 - wt, how_t, how_s)))
    for label, fuse in settings:
        scores = [mrr(items, t, s, fuse) for _, items, t, s in data]
        print(label.ljust(34), " ".join(f"{v:10.3f}" for v in scores),
              f"{sum(scores) / len(scores):10.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
