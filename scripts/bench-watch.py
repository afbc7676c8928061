#!/usr/bin/env python3
"""One-file updates of Django, whole `codegraph index` processes, two ways side by side:

  - `alone`: no watcher; the process opens the store, runs, flushes, exits;
  - `handed`: a `codegraph index --watch` holds another store of the same copy, and
    `codegraph index` hands it the run (see codegraph-server/src/handoff.rs).

Each round appends a comment line to one file in each way's own copy of Django just
before that way's run (so the watcher's own debounce never picks the edit up first),
which way first alternating, and waits for the watcher to settle (its idle flush). Both must parse exactly one file.

    scripts/fetch-corpus.sh --lang python
    scripts/bench-watch.py BINARY [--runs 20] [--files django/contrib/postgres/apps.py,...]
                                  [--no-text] [--pause 1.5] [--only handed|alone]

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
    ap.add_argument("--no-text", action="store_true",
                    help="the graph alone, without the full-text index")
    ap.add_argument("--pause", type=float, default=1.5,
                    help="seconds between rounds (the watcher flushes after 0.5 s idle)")
    ap.add_argument("--only", choices=["handed", "alone"],
                    help="run one way only (edits back to back with a short --pause)")
    args = ap.parse_args()
    extra = ["--no-text"] if args.no_text else []
    if not os.path.isdir(REPO):
        sys.exit(f"{REPO} is missing: run scripts/fetch-corpus.sh --lang python")
    work = tempfile.mkdtemp(prefix="codegraph-watch-")
    watcher = None
    try:
        # One copy each: an edit is made just before the run that takes it, so the
        # watcher's own debounce (200 ms) never gets to it first.
        repos = {way: os.path.join(work, "repo-" + way) for way in ("alone", "handed")}
        dbs = {way: os.path.join(work, "db-" + way) for way in ("alone", "handed")}
        for way in ("alone", "handed"):
            shutil.copytree(REPO, repos[way], symlinks=True)
            index(args.binary, repos[way], dbs[way], extra)
        log = open(os.path.join(work, "watcher.log"), "wb")
        watcher = subprocess.Popen(
            [args.binary, "index", repos["handed"], "--db", dbs["handed"], "--project",
             "django", "-q", "--watch", *extra],
            stderr=log,
        )
        # The socket exists before the watcher's first run; an edit made during that
        # run is that run's, and the handed-over run after it would parse nothing.
        # The watcher says "watching" once its first run is done.
        while b"codegraph: watching" not in open(log.name, "rb").read():
            if watcher.poll() is not None:
                sys.exit("the watcher stopped")
            time.sleep(0.05)
        for rel in args.files.split(","):
            walls = {"handed": [], "alone": []}
            phases = {"handed": {p: [] for p in PHASES}, "alone": {p: [] for p in PHASES}}
            for run in range(args.runs + 1):
                # Which way goes first alternates: the first process after the pause
                # meets idle CPUs (a VM's vCPUs wake slowly), the second does not.
                ways = [args.only] if args.only else ["handed", "alone"]
                for way in ways if run % 2 else ways[::-1]:
                    with open(os.path.join(repos[way], rel), "a", encoding="utf-8") as f:
                        f.write(f"# edit {run}\n")
                    wall, report = index(args.binary, repos[way], dbs[way], extra)
                    if report["parsed"] != 1:
                        sys.exit(f"{way}: {rel}: parsed {report['parsed']} files, not 1")
                    if run > 0:  # the first round warms caches
                        walls[way].append(wall)
                        for p in PHASES:
                            phases[way][p].append(report[p] * 1000)
                time.sleep(args.pause)
            for way in [args.only] if args.only else ["alone", "handed"]:
                print(json.dumps({
                    "file": rel,
                    "text": not args.no_text,
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
