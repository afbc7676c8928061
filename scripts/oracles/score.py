#!/usr/bin/env python3
"""Scores CodeGraph's edges against an oracle's call pairs (see README.md).

    scripts/oracles/score.py ROOT PAIRS [--codegraph BIN] [--details N] [--json]

ROOT is indexed with `codegraph index`, its graph exported, and every edge at a site the
oracle judged is counted right or wrong. Standard library only.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Resolutions that guess by name: an edge with one of them is a candidate, not a fact.
GUESSES = {"unique_name", "ambiguous"}
# CodeGraph edge kinds that answer each oracle edge kind.
EDGE_KINDS = {
    "calls": {"calls"},
    "inherits": {"inherits", "implements"},
    "imports": {"imports"},
}
CONSTRUCTOR_NAMES = {"__init__", "__new__", "constructor", "new"}


def last_name(written):
    """`a.b.c`, `A::b`, `p->f`, `new Foo<T>` and `f()` all end in one identifier."""
    written = re.sub(r"<[^<>]*>", "", written or "")
    written = written.replace("()", "")
    parts = re.split(r"\.|::|->|/", written.strip())
    name = parts[-1].strip() if parts else ""
    if name.startswith("new "):
        name = name[4:].strip()
    return name


def export_graph(binary, root, work):
    db = Path(work) / "db"
    subprocess.run(
        [binary, "index", str(root), "--db", str(db), "--project", "p", "-q"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    proc = subprocess.run(
        [binary, "export", "--db", str(db), "--project", "p"],
        check=True,
        capture_output=True,
        text=True,
    )
    nodes, edges = {}, []
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        if row["type"] == "node":
            nodes[row["id"]] = row
        elif row["kind"] != "contains":
            edges.append(row)
    return nodes, edges


def read_pairs(path):
    """Oracle sites keyed by (edge, path, line, name); answers for one key are merged."""
    sites = {}
    with open(path) as f:
        for line in f:
            p = json.loads(line)
            key = (p.get("edge", "calls"), p["path"], p["line"], p["name"])
            site = sites.setdefault(key, {"targets": set(), "external": False})
            site["targets"].update((t["path"], t["line"]) for t in p.get("targets", ()))
            site["external"] |= bool(p.get("external")) and not p.get("targets")
    for site in sites.values():
        # One resolution of the name inside the package wins over another outside it.
        if site["targets"]:
            site["external"] = False
    return sites


class Sources:
    """The line a callee's name is on: an edge gives where its reference starts (`a` in
    `a\n  .b()`), an oracle where the name is."""

    LOOKAHEAD = 2000

    def __init__(self, root):
        self.root = Path(root)
        self.files = {}

    def name_line(self, path, line, column, name, called=True):
        if path not in self.files:
            try:
                text = (self.root / path).read_bytes()
            except OSError:
                text = None
            starts = [0]
            if text is not None:
                starts += [m.end() for m in re.finditer(b"\n", text)]
            self.files[path] = (text, starts)
        text, starts = self.files[path]
        if text is None or not name or line - 1 >= len(starts):
            return line
        # Columns are 1-based bytes of the line.
        start = starts[line - 1] + max(column - 1, 0)
        word = rb"(?<![A-Za-z0-9_$])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_$])"
        # The name as called (`f(`, `f::<T>(`, `f<T>(`) before any mention of it, as
        # in `g(spliterator).spliterator()`.
        end = start + self.LOOKAHEAD
        m = None
        if called:
            # Type arguments on one line, with at most one level of parentheses
            # (`cast::<()>(`), never across a body or a statement.
            generics = rb"(?:<[^()\n{};]*(?:\([^()\n]*\)[^()\n{};]*)*>)?"
            m = re.compile(word + rb"\s*(?:::)?\s*" + generics + rb"\s*\(").search(text, start, end)
        m = m or re.compile(word).search(text, start, end)
        if m is None:
            return line
        return line + text.count(b"\n", starts[line - 1], m.start())


class Spots:
    """Where a node may be named by an oracle: its own name line, its overloads' (same
    qualified name in the same file), and for a constructor its class's."""

    def __init__(self, nodes, strict_overloads=False):
        self.nodes = nodes
        self.strict_overloads = strict_overloads
        self.by_qname = collections.defaultdict(set)
        for n in nodes.values():
            self.by_qname[(n["path"], n["qualified_name"])].add((n["path"], n["name_line"]))

    def of(self, node):
        spots = {(node["path"], node["name_line"])}
        if not self.strict_overloads:
            spots |= self.by_qname.get((node["path"], node["qualified_name"]), set())
        parent = self.nodes.get(node.get("parent"))
        if parent is not None and (
            node["name"] in CONSTRUCTOR_NAMES or node["name"] == parent["name"]
        ):
            spots.add((parent["path"], parent["name_line"]))
        return spots


def score(binary, root, pairs_path, details=0, strict_overloads=False):
    root = Path(root)
    oracle = read_pairs(pairs_path)
    with tempfile.TemporaryDirectory() as work:
        nodes, edges = export_graph(binary, root, work)
    spots = Spots(nodes, strict_overloads)

    sources = Sources(root)
    ours = collections.defaultdict(list)  # key -> [(dst node or None, resolution)]
    for e in edges:
        src = nodes.get(e["src"])
        if src is None or e.get("line") is None:
            continue
        name = last_name(e.get("name"))
        line = sources.name_line(
            src["path"], e["line"], e.get("column") or 1, name, called=e["kind"] == "calls"
        )
        for edge_kind, ours_kinds in EDGE_KINDS.items():
            if e["kind"] in ours_kinds:
                key = (edge_kind, src["path"], line, name)
                ours[key].append((nodes.get(e["dst"]) if e["dst"] else None, e["resolution"]))

    s = collections.Counter()
    by_res = collections.defaultdict(collections.Counter)
    wrong, missed = [], []
    for key, truth in oracle.items():
        edge_kind = key[0]
        s[f"{edge_kind}.judged"] += 1
        found = [(n, r) for n, r in ours.get(key, ()) if n is not None]
        good = False
        for node, resolution in found:
            ok = bool(spots.of(node) & truth["targets"])
            good |= ok
            s[f"{edge_kind}.edges"] += 1
            s[f"{edge_kind}.edges_correct"] += ok
            by_res[f"{edge_kind}.{resolution}"]["edges"] += 1
            by_res[f"{edge_kind}.{resolution}"]["correct"] += ok
            if resolution not in GUESSES:
                s[f"{edge_kind}.certain"] += 1
                s[f"{edge_kind}.certain_correct"] += ok
            if not ok and len(wrong) < details:
                answer = sorted(truth["targets"]) or "outside the package"
                wrong.append(
                    f"{key[1]}:{key[2]} {key[3]} -> {node['qualified_name']} "
                    f"({node['path']}:{node['name_line']}) [{resolution}]; oracle: {answer}"
                )
        if truth["targets"]:
            s[f"{edge_kind}.truth"] += 1
            s[f"{edge_kind}.recalled"] += good
            if not good and len(missed) < details:
                had = "no reference" if key not in ours else (
                    "unresolved" if not found else "wrong target"
                )
                missed.append(f"{key[1]}:{key[2]} {key[3]} ({had}); oracle: {sorted(truth['targets'])}")
        else:
            s[f"{edge_kind}.external"] += 1
    judged = {k for k in oracle}
    s["calls.unjudged_edges"] = sum(
        1
        for key, found in ours.items()
        if key[0] == "calls" and key not in judged
        for n, _ in found
        if n is not None
    )
    return summarise(s, by_res), wrong, missed


def ratio(a, b):
    return round(a / b, 4) if b else None


def summarise(s, by_res):
    out = {}
    for kind in EDGE_KINDS:
        if not s[f"{kind}.judged"]:
            continue
        out[kind] = {
            "precision": ratio(s[f"{kind}.edges_correct"], s[f"{kind}.edges"]),
            "recall": ratio(s[f"{kind}.recalled"], s[f"{kind}.truth"]),
            "certain_precision": ratio(s[f"{kind}.certain_correct"], s[f"{kind}.certain"]),
            "sites_judged": s[f"{kind}.judged"],
            "sites_in_package": s[f"{kind}.truth"],
            "sites_external": s[f"{kind}.external"],
            "edges": s[f"{kind}.edges"],
            "edges_wrong": s[f"{kind}.edges"] - s[f"{kind}.edges_correct"],
            "certain_edges": s[f"{kind}.certain"],
            "by_resolution": {
                k.split(".", 1)[1]: {
                    "edges": v["edges"],
                    "precision": ratio(v["correct"], v["edges"]),
                }
                for k, v in sorted(by_res.items())
                if k.startswith(kind + ".")
            },
        }
    if "calls" in out:
        out["calls"]["unjudged_edges"] = s["calls.unjudged_edges"]
    out["_counts"] = dict(s)
    out["_by_resolution"] = {k: dict(v) for k, v in by_res.items()}
    return out


def merge(rows):
    """Totals over packages, from the raw counts each row keeps."""
    s = collections.Counter()
    by_res = collections.defaultdict(collections.Counter)
    for r in rows:
        s.update(r["_counts"])
        for k, v in r["_by_resolution"].items():
            by_res[k].update(v)
    return summarise(s, by_res)


def print_row(name, row):
    for kind in EDGE_KINDS:
        r = row.get(kind)
        if not r:
            continue

        def f(x):
            return "  -  " if x is None else f"{x:.3f}"

        print(
            f"{name:38} {kind:8} precision {f(r['precision'])}  recall {f(r['recall'])}  "
            f"certain {f(r['certain_precision'])}  ({r['edges']} edges, "
            f"{r['sites_in_package']} sites in package, {r['sites_external']} outside)"
        )
        res = ", ".join(
            f"{k} {v['edges']}@{f(v['precision'])}" for k, v in r["by_resolution"].items()
        )
        if res:
            print(f"{'':38} {'':8} by resolution: {res}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root")
    parser.add_argument("pairs")
    parser.add_argument("--codegraph", default=os.environ.get("CODEGRAPH_BIN", "codegraph"))
    parser.add_argument("--details", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    row, wrong, missed = score(args.codegraph, args.root, args.pairs, args.details)
    if args.json:
        json.dump(row, sys.stdout)
        print()
    else:
        print_row(os.path.basename(args.root.rstrip("/")), row)
        for w in wrong:
            print("  wrong:", w)
        for m in missed:
            print("  missed:", m)


if __name__ == "__main__":
    main()
