#!/usr/bin/env python3
"""One-file updates of Django, whole `codegraph index` processes, two ways side by side:

  - `alone`: no watcher; the process opens the store, runs, flushes, exits;
  - `handed`: a `codegraph index --watch` holds another store of the same copy, and
    `codegraph index` hands it the run (see codegraph-server/src/handoff.rs).

Each round appends a comment line to one file, runs the handed-over update at once
(before the watcher's own debounce would pick the edit up), then the lone one, and
waits for the watcher to settle (its idle flush). Both must parse exactly one file.

    scripts/fetch-corpus.sh --lang python
    scripts/bench-watch.py BINARY [--runs 20] [--files django/contrib/postgres/apps.py,...]

Prints, per file and way, the minimum and median wall-clock time of the process and the
median of the phase times the run reported.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

CORPUS = os.environ.get(
    "CODEGRAPH_CORPUS_DIR", os.path.expanduser("~/.cache/codegraph/corpus")
)
REPO = os.path.join(CORPUS, "python", "django-5.2.19")
FILES = "django/contrib/postgres/apps.py,django/db/models/query.py"
PHASES = ["walk_seconds", "parse_seconds", "write_seconds", "resolve_seconds",
          "commit_seconds", "seconds"]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def index(binary, repo, db, extra=()):
    start = time.perf_counter()
    out = subprocess.run(
        [binary, "index", repo, "--db", db, "--project", "django", "-q", "--json", *extra],
        check=True, capture_output=True,
    ).stdout
    return (time.perf_counter() - start) * 1000, json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--files", default=FILES)
    args = ap.parse_args()
    if not os.path.isdir(REPO):
        sys.exit(f"{REPO} is missing: run scripts/fetch-corpus.sh --lang python")
    work = tempfile.mkdtemp(prefix="codegraph-watch-")
    watcher = None
    try:
        repo = os.path.join(work, "repo")
        shutil.copytree(REPO, repo, symlinks=True)
        alone, handed = os.path.join(work, "alone"), os.path.join(work, "handed")
        for db in (alone, handed):
            index(args.binary, repo, db)
        watcher = subprocess.Popen(
            [args.binary, "index", repo, "--db", handed, "--project", "django", "-q",
             "--watch"],
            stderr=subprocess.DEVNULL,
        )
        while not os.path.exists(os.path.join(handed, "watch.sock")):
            if watcher.poll() is not None:
                sys.exit("the watcher stopped")
            time.sleep(0.1)
        for rel in args.files.split(","):
            target = os.path.join(repo, rel)
            walls = {"handed": [], "alone": []}
            phases = {"handed": {p: [] for p in PHASES}, "alone": {p: [] for p in PHASES}}
            for run in range(args.runs + 1):
                with open(target, "a", encoding="utf-8") as f:
                    f.write(f"# edit {run}\n")
                for way, db in (("handed", handed), ("alone", alone)):
                    wall, report = index(args.binary, repo, db)
                    if report["parsed"] != 1:
                        sys.exit(f"{way}: {rel}: parsed {report['parsed']} files, not 1")
                    if run > 0:  # the first round warms caches
                        walls[way].append(wall)
                        for p in PHASES:
                            phases[way][p].append(report[p] * 1000)
                time.sleep(1.5)
            for way in ("alone", "handed"):
                print(json.dumps({
                    "file": rel,
                    "way": way,
                    "runs": len(walls[way]),
                    "wall_min_ms": round(min(walls[way]), 1),
                    "wall_median_ms": round(median(walls[way]), 1),
                    "run_median_ms": {p.replace("_seconds", "").replace("seconds", "total"):
                                      round(median(v), 1) for p, v in phases[way].items()},
                }), flush=True)
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
