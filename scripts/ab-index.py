#!/usr/bin/env python3
"""Two or more `codegraph` binaries side by side on a full index of the fetched corpus,
alternated run by run so that a slow spell of the machine hits them alike, and the
JSON-lines export of each binary's graph compared byte for byte.

    scripts/fetch-corpus.sh
    scripts/ab-index.py OLD_BINARY NEW_BINARY [--runs 3] [--no-text]

Each run indexes the whole corpus as one project into a fresh store (`codegraph index
CORPUS --json -q`). Prints, per binary, the minimum and median wall-clock time of the
process, lines per second at the median, and the SHA-256 of its export; exits with
status 1 when the exports differ. Everything is written under a temporary directory.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CORPUS = os.environ.get(
    "CODEGRAPH_CORPUS_DIR", os.path.expanduser("~/.cache/codegraph/corpus")
)


def index(binary, store, no_text):
    shutil.rmtree(store, ignore_errors=True)
    cmd = [binary, "index", CORPUS, "--db", store, "--project", "corpus", "--json", "-q"]
    if no_text:
        cmd.append("--no-text")
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    wall = time.perf_counter() - start
    return wall, json.loads(out)


def export_digest(binary, store, path):
    subprocess.run(
        [binary, "export", "--db", store, "--project", "corpus", "-o", path], check=True
    )
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-text", action="store_true", help="graph only, no full-text index")
    args = ap.parse_args()
    if not os.path.isdir(CORPUS):
        sys.exit(f"no corpus at {CORPUS}: run scripts/fetch-corpus.sh")
    binaries = [os.path.abspath(b) for b in args.binaries]
    work = tempfile.mkdtemp(prefix="codegraph-ab-index-")
    try:
        walls = {b: [] for b in binaries}
        lines = {}
        digests = {}
        for run in range(args.runs):
            order = binaries if run % 2 == 0 else list(reversed(binaries))
            for i, b in enumerate(order):
                store = os.path.join(work, f"store-{binaries.index(b)}")
                wall, report = index(b, store, args.no_text)
                walls[b].append(wall)
                lines[b] = report["lines"]
                print(f"run {run} {os.path.basename(b)}: {wall:.2f} s", file=sys.stderr)
                if b not in digests:
                    out = os.path.join(work, f"export-{binaries.index(b)}.jsonl")
                    digests[b] = export_digest(b, store, out)
                    os.remove(out)
        rows = []
        for b in binaries:
            median = statistics.median(walls[b])
            rows.append(
                {
                    "binary": b,
                    "lines": lines[b],
                    "wall_min_s": round(min(walls[b]), 3),
                    "wall_median_s": round(median, 3),
                    "lines_per_s_median": round(lines[b] / median),
                    "export_sha256": digests[b][0],
                    "export_bytes": digests[b][1],
                }
            )
        base = rows[0]["wall_median_s"]
        for row in rows:
            row["median_vs_first"] = round(row["wall_median_s"] / base, 3)
            print(json.dumps(row))
        identical = len({d for d, _ in digests.values()}) == 1
        print(json.dumps({"exports_identical": identical}))
        sys.exit(0 if identical else 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
