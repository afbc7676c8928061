#!/usr/bin/env bash
# Two `codegraph` binaries side by side on everything a behaviour-preserving change of
# the engine must leave alone (issue 22), in one run, for docs/PERFORMANCE.md:
#   1. full index of the corpus, alternated, and the JSON-lines exports compared byte
#      for byte (scripts/ab-index.py; fails when they differ);
#   2. the one-file update of Django in its own process, and a run with nothing changed
#      (scripts/ab-update.py);
#   3. the one-file update handed to a watcher (scripts/bench-watch.py --only handed),
#      old, new, old, new;
#   4. cached and uncached search p50/p99 of the HTTP server under wrk
#      (scripts/load-test.py --search-only), old, new, old, new.
#
#   scripts/fetch-corpus.sh
#   scripts/ab-engine.sh OLD_BINARY NEW_BINARY [OUT_DIR]
#
# Each part prints its own figures; the search runs' JSON goes to OUT_DIR (default: a
# temporary directory, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
old="$(realpath "$1")"
new="$(realpath "$2")"
out="${3:-$(mktemp -d)}"
mkdir -p "$out"

echo "== 1. full index of the corpus, exports compared"
scripts/ab-index.py "$old" "$new" --runs "${INDEX_RUNS:-3}"

echo "== 2. one-file update and no change, own process"
scripts/ab-update.py "$old" "$new" --runs "${UPDATE_RUNS:-40}"

echo "== 3. one-file update handed to a watcher"
for round in 1 2; do
  for b in "$old" "$new"; do
    echo "-- round $round: $b"
    scripts/bench-watch.py "$b" --runs "${WATCH_RUNS:-10}" --only handed
  done
done

echo "== 4. cached and uncached search"
for round in 1 2; do
  for which in old new; do
    b="$old"; [ "$which" = new ] && b="$new"
    scripts/load-test.py --binary "$b" --search-only --duration "${SEARCH_SECONDS:-10}" \
      --json "$out/search-$which-$round.json" >/dev/null
  done
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
for which in ("old", "new"):
    for run in ("cached", "cached_8_connections", "uncached"):
        p99 = []
        rps = []
        for rnd in (1, 2):
            r = json.load(open(os.path.join(out, f"search-{which}-{rnd}.json")))[run]
            p99.append(round(r["p99_ms"], 2))
            rps.append(round(r["rps"]))
        print(json.dumps({"binary": which, "run": run, "p99_ms": p99, "rps": rps}))
PY
echo "search reports in $out"
