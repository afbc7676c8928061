#!/usr/bin/env python3
"""Two or more `codegraph` binaries side by side on the small-run paths, alternated run
by run so that a slow spell of the machine hits them alike:

  - `nochange`: `codegraph index` of Django with nothing changed;
  - `update`: the same after `django/db/models/query.py` gains a comment line (one file
    parsed, one re-resolved).

    scripts/fetch-corpus.sh --lang python
    scripts/ab-update.py OLD_BINARY NEW_BINARY [--runs 40] [--mode nochange,update]

Prints, per binary and mode, the wall-clock minimum and median of whole processes and
the median CPU time (user + system) they took. Everything is written under a
temporary directory; each binary gets its own store, built once before timing.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

CORPUS = os.environ.get(
    "CODEGRAPH_CORPUS_DIR", os.path.expanduser("~/.cache/codegraph/corpus")
)
REPO = os.path.join(CORPUS, "python", "django-5.2.19")
EDITED = os.path.join("django", "db", "models", "query.py")


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, out


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--mode", default="nochange,update")
    args = ap.parse_args()
    if not os.path.isdir(REPO):
        sys.exit(f"{REPO} is missing: run scripts/fetch-corpus.sh --lang python")
    work = tempfile.mkdtemp(prefix="codegraph-ab-")
    try:
        repo = os.path.join(work, "repo")
        shutil.copytree(REPO, repo, symlinks=True)
        target = os.path.join(repo, EDITED)
        original = open(target, encoding="utf-8").read()
        dbs = {}
        for i, binary in enumerate(args.binaries):
            dbs[binary] = os.path.join(work, f"db{i}")
            subprocess.run(
                [binary, "index", repo, "--db", dbs[binary], "--project", "django", "-q"],
                check=True,
            )
        for mode in args.mode.split(","):
            walls = {b: [] for b in args.binaries}
            cpus = {b: [] for b in args.binaries}
            for run in range(args.runs + 1):
                # Every other round in reverse order, so that no binary always runs
                # right after another's writes.
                order = args.binaries if run % 2 == 0 else args.binaries[::-1]
                for binary in order:
                    if mode == "update":
                        with open(target, "w", encoding="utf-8") as f:
                            f.write(f"{original}# edit {run}\n")
                    else:
                        # The store of each binary has seen the current content.
                        subprocess.run(
                            [binary, "index", repo, "--db", dbs[binary], "-q",
                             "--project", "django"],
                            check=True,
                        )
                    wall, cpu, out = timed(
                        [binary, "index", repo, "--db", dbs[binary], "--project",
                         "django", "-q", "--json"]
                    )
                    report = json.loads(out)
                    expected = 1 if mode == "update" else 0
                    if report["parsed"] != expected:
                        sys.exit(f"{binary}: {mode} run parsed {report['parsed']} files")
                    if run > 0:  # the first round warms the page cache
                        walls[binary].append(wall)
                        cpus[binary].append(cpu)
            for binary in args.binaries:
                print(json.dumps({
                    "mode": mode,
                    "binary": binary,
                    "runs": len(walls[binary]),
                    "wall_min_ms": round(min(walls[binary]), 1),
                    "wall_median_ms": round(median(walls[binary]), 1),
                    "cpu_median_ms": round(median(cpus[binary]), 1),
                }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
