#!/usr/bin/env python3
"""Fidelity and speed of `codegraph symbols` against universal-ctags.

Fidelity: for each language, run `codegraph symbols` over the corpus fetched by
scripts/fetch-corpus.sh, then run ctags over exactly the files codegraph parsed.
Every ctags definition of a compared kind (functions, methods, classes, structs,
interfaces/traits, enums) counts as found when codegraph reports a definition in
the same file whose first line or name line is the line ctags reports. Recall is
found / ctags definitions; misses are grouped so the reasons can be read.

Speed (--speed): both tools as whole processes over the same files of every
language, alternating runs, median wall time, and the ratio.

Standard library only. Usage:
    scripts/fetch-corpus.sh
    cargo build --release -p codegraph-server
    scripts/compare-ctags.py [--langs rust,go] [--details 15] [--speed] [--json out.json]
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# codegraph language -> (codegraph --lang values, ctags language, ctags langmap, kinds compared)
LANGS = {
    "rust": ("rust", "Rust", None, {"function", "method", "struct", "interface", "enum"}),
    "python": ("python", "Python", None, {"class", "function", "member"}),
    "javascript": (
        "javascript",
        "JavaScript",
        "JavaScript:+.cjs",
        {"function", "class", "method", "generator"},
    ),
    "typescript": (
        "typescript,tsx",
        "TypeScript",
        "TypeScript:+.tsx.mts.cts",
        {"function", "class", "interface", "enum", "method"},
    ),
    "go": ("go", "Go", None, {"func", "struct", "interface"}),
    "java": ("java", "Java", None, {"class", "interface", "enum", "method"}),
    "cpp": ("cpp", "C++", "C++:+.tpp.ipp", {"function", "class", "struct", "enum"}),
}


def corpus_dir():
    return os.environ.get(
        "CODEGRAPH_CORPUS_DIR", os.path.expanduser("~/.cache/codegraph/corpus")
    )


def run_codegraph(binary, lang_dir, langs, workdir):
    out = os.path.join(workdir, "symbols.jsonl")
    files = os.path.join(workdir, "files.jsonl")
    subprocess.run(
        [binary, "symbols", lang_dir, "--lang", langs, "-q", "-o", out, "--files-report", files],
        check=True,
    )
    with open(files) as f:
        parsed = [json.loads(line)["path"] for line in f]
    by_file = collections.defaultdict(list)
    with open(out) as f:
        for line in f:
            d = json.loads(line)
            by_file[d["path"]].append(d)
    return parsed, by_file


def run_ctags(lang_dir, files, ctags_lang, langmap, workdir):
    listing = os.path.join(workdir, "ctags-files.txt")
    with open(listing, "w") as f:
        f.write("\n".join(files) + "\n")
    cmd = [
        "ctags",
        "--output-format=json",
        "--fields=+nKzZ",
        "-f",
        "-",
        f"--languages={ctags_lang}",
        "-L",
        listing,
    ]
    if langmap:
        cmd.insert(1, f"--langmap={langmap}")
    proc = subprocess.run(
        cmd, cwd=lang_dir, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    tags = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if d.get("_type") == "tag":
            tags.append(d)
    return tags


def is_anonymous(tag):
    """ctags names anonymous functions, lambdas and unnamed types itself
    (`AnonymousFunction1a2b`, `__anon1a2b`); they have no name in the source, so
    they are not definitions a user could look up."""
    name = tag["name"]
    return name.startswith("AnonymousFunction") or name.startswith("__anon")


def classify_miss(tag, ours_in_file):
    """A short reason for a missed ctags definition, to group disagreements."""
    same_name = [d for d in ours_in_file if d["name"] == tag["name"]]
    if same_name:
        lines = sorted({d["line"] for d in same_name})
        return f"same name at other line(s) {lines[:3]}"
    return f"no definition named {tag['name']!r} in file"


def fidelity(binary, lang, details):
    langs, ctags_lang, langmap, kinds = LANGS[lang]
    lang_dir = os.path.join(corpus_dir(), lang)
    if not os.path.isdir(lang_dir):
        sys.exit(f"{lang_dir} is missing; run scripts/fetch-corpus.sh first")
    with tempfile.TemporaryDirectory() as work:
        parsed, ours = run_codegraph(binary, lang_dir, langs, work)
        tags = run_ctags(lang_dir, parsed, ctags_lang, langmap, work)
    compared = [t for t in tags if t.get("kind") in kinds]
    anonymous = sum(1 for t in compared if is_anonymous(t))
    compared = [t for t in compared if not is_anonymous(t)]
    found = 0
    misses = []
    by_kind = collections.Counter()
    found_by_kind = collections.Counter()
    by_package = collections.Counter()
    found_by_package = collections.Counter()
    for t in compared:
        by_kind[t["kind"]] += 1
        package = t["path"].split("/")[0]
        by_package[package] += 1
        in_file = ours.get(t["path"], [])
        if any(t["line"] in (d["line"], d["name_line"]) for d in in_file):
            found += 1
            found_by_kind[t["kind"]] += 1
            found_by_package[package] += 1
        else:
            misses.append(t)
    ours_total = sum(len(v) for v in ours.values())
    result = {
        "language": lang,
        "files": len(parsed),
        "ctags_definitions": len(compared),
        "ctags_anonymous_excluded": anonymous,
        "found": found,
        "recall": found / len(compared) if compared else 1.0,
        "codegraph_definitions": ours_total,
        "by_kind": {
            k: {"ctags": by_kind[k], "found": found_by_kind[k]} for k in sorted(by_kind)
        },
        "by_package": {
            k: {"ctags": by_package[k], "found": found_by_package[k]} for k in sorted(by_package)
        },
        "misses": [
            {
                "path": t["path"],
                "line": t["line"],
                "name": t["name"],
                "kind": t["kind"],
                "why": classify_miss(t, ours.get(t["path"], [])),
            }
            for t in misses
        ],
    }
    print(
        f"{lang:11} files {len(parsed):5}  ctags {len(compared):6}  found {found:6}  "
        f"recall {result['recall']:.4f}  ({anonymous} anonymous excluded; codegraph reports "
        f"{ours_total} definitions of all kinds)"
    )
    for k, v in result["by_kind"].items():
        print(f"    {k:10} {v['found']:6}/{v['ctags']:<6} {v['found'] / max(v['ctags'], 1):.4f}")
    for k, v in result["by_package"].items():
        print(f"    {k:40} {v['found']:6}/{v['ctags']:<6} {v['found'] / max(v['ctags'], 1):.4f}")
    if details:
        for m in result["misses"][:details]:
            print(f"    miss {m['kind']:9} {m['path']}:{m['line']} {m['name']}  ({m['why']})")
    return result


def count_lines(lang_dir, files):
    total = 0
    for rel in files:
        with open(os.path.join(lang_dir, rel), "rb") as f:
            total += f.read().count(b"\n")
    return total


def speed(binary, langs, runs):
    """codegraph symbols vs ctags -R over the same files, whole processes."""
    corpus = corpus_dir()
    with tempfile.TemporaryDirectory() as work:
        # The files codegraph parses, per language, are the common input.
        listing = []
        lines = 0
        for lang in langs:
            lang_dir = os.path.join(corpus, lang)
            parsed, _ = run_codegraph(binary, lang_dir, LANGS[lang][0], work)
            listing += [os.path.join(lang, p) for p in parsed]
            lines += count_lines(lang_dir, parsed)
        # Hard-link the files into one tree so both tools walk the same directory.
        tree = os.path.join(work, "tree")
        for rel in listing:
            dst = os.path.join(tree, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.link(os.path.join(corpus, rel), dst)
        ctags_maps = [m for l in langs for m in [LANGS[l][2]] if m]
        ctags_cmd = ["ctags", "-R", "-f", os.path.join(work, "tags.ctags")]
        ctags_cmd += [f"--langmap={m}" for m in ctags_maps]
        ctags_cmd += [f"--languages={','.join(LANGS[l][1] for l in langs)}", tree]
        ours_cmd = [
            binary,
            "symbols",
            tree,
            "--format",
            "ctags",
            "-q",
            "-o",
            os.path.join(work, "tags.codegraph"),
            # The tree holds only files codegraph already accepted; do not filter again.
            "--include-generated",
            "--include-minified",
            "--include-vendored",
        ]
        times = {"codegraph": [], "ctags": []}
        for i in range(runs):
            for name, cmd in (("codegraph", ours_cmd), ("ctags", ctags_cmd)):
                start = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - start)
        ours = statistics.median(times["codegraph"])
        theirs = statistics.median(times["ctags"])
        with open(os.path.join(work, "tags.codegraph"), "rb") as f:
            our_tags = sum(1 for line in f if not line.startswith(b"!_"))
        with open(os.path.join(work, "tags.ctags"), "rb") as f:
            their_tags = sum(1 for line in f if not line.startswith(b"!_"))
    result = {
        "files": len(listing),
        "lines": lines,
        "runs": runs,
        "codegraph_seconds": ours,
        "ctags_seconds": theirs,
        "ratio": ours / theirs,
        "codegraph_tags": our_tags,
        "ctags_tags": their_tags,
        "cores": os.cpu_count(),
    }
    print(
        f"speed: {len(listing)} files, {lines} lines; codegraph {ours:.2f} s, ctags {theirs:.2f} s "
        f"(median of {runs}); codegraph/ctags = {ours / theirs:.2f}x; "
        f"{lines / ours:,.0f} vs {lines / theirs:,.0f} lines/s; tags {our_tags} vs {their_tags}"
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codegraph", default=os.path.join(ROOT, "target/release/codegraph"))
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument("--details", type=int, default=0, help="misses to print per language")
    parser.add_argument("--speed", action="store_true", help="also compare wall time")
    parser.add_argument("--no-fidelity", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write all results here")
    args = parser.parse_args()
    langs = [l for l in args.langs.split(",") if l]
    for l in langs:
        if l not in LANGS:
            sys.exit(f"unknown language {l}; known: {', '.join(LANGS)}")
    if not os.access(args.codegraph, os.X_OK):
        sys.exit(f"{args.codegraph} missing; cargo build --release -p codegraph-server")
    results = {"fidelity": [], "speed": None}
    if not args.no_fidelity:
        for lang in langs:
            results["fidelity"].append(fidelity(args.codegraph, lang, args.details))
    if args.speed:
        results["speed"] = speed(args.codegraph, langs, args.runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
