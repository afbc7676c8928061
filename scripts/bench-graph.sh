#!/usr/bin/env bash
# Whole-process graph timings of the `codegraph` binary, for docs/PERFORMANCE.md:
#   - full index of the whole corpus (>= 1M lines, seven languages): lines per second;
#   - one-file incremental update of a ~150k-line repository (Django), as a user runs
#     it: `codegraph index` after one file changed, process start to exit.
#
#   scripts/fetch-corpus.sh
#   scripts/bench-graph.sh [path/to/codegraph]
#
# The binary defaults to target/release/codegraph (`cargo build --release -p
# codegraph-server`). Everything is written under a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-target}/release/codegraph}"
corpus="${CODEGRAPH_CORPUS_DIR:-$HOME/.cache/codegraph/corpus}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

echo "== full index of the corpus ($corpus)"
start=$(now)
"$bin" index "$corpus" --db "$work/all" --project corpus --json -q >"$work/all.json"
end=$(now)
python3 - "$work/all.json" "$(elapsed "$start" "$end")" "$work/all" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1])); wall = float(sys.argv[2])
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[3]) for f in fs)
print(json.dumps({"bench": "full_index_process", "files": r["parsed"], "lines": r["lines"],
    "edges": r["edges_written"], "wall_seconds": wall, "loc_per_second": round(r["lines"] / wall),
    "disk_bytes": size, "disk_bytes_per_kloc": round(size / (r["lines"] / 1000))}))
PY

repo="$corpus/python/django-5.2.19"
echo "== one-file incremental update of $repo"
cp -r "$repo" "$work/repo"
"$bin" index "$work/repo" --db "$work/inc" --project django -q
file="$work/repo/django/db/models/query.py"
cp "$file" "$work/original.py"
for i in 1 2 3 4 5 6 7 8 9 10 11; do
    cp "$work/original.py" "$file"
    printf '\n# edit %s\n' "$i" >>"$file"
    start=$(now)
    "$bin" index "$work/repo" --db "$work/inc" --project django --json -q >"$work/inc.json"
    end=$(now)
    echo "$(elapsed "$start" "$end") $(python3 -c "import json;r=json.load(open('$work/inc.json'));print(r['parsed'],r['resolved'])")"
done | python3 -c '
import json, sys
rows = [l.split() for l in sys.stdin]
times = sorted(float(r[0]) for r in rows[1:])  # the first run warms the page cache
print(json.dumps({"bench": "incremental_one_file_process", "file": "django/db/models/query.py",
    "parsed": int(rows[-1][1]), "resolved": int(rows[-1][2]),
    "median_ms": round(times[len(times)//2] * 1000, 1), "min_ms": round(times[0] * 1000, 1),
    "max_ms": round(times[-1] * 1000, 1)}))'
# A body-only edit to a leaf module: nothing else depends on what changed.
leaf="$work/repo/django/utils/text.py"
cp "$leaf" "$work/leaf.py"
for i in 1 2 3 4 5 6; do
    cp "$work/leaf.py" "$leaf"
    printf '\n# edit %s\n' "$i" >>"$leaf"
    start=$(now)
    "$bin" index "$work/repo" --db "$work/inc" --project django --json -q >"$work/inc.json"
    end=$(now)
    echo "$(elapsed "$start" "$end")"
done | python3 -c '
import json, sys
times = sorted(float(l) for l in list(sys.stdin)[1:])
print(json.dumps({"bench": "incremental_one_file_process", "file": "django/utils/text.py",
    "median_ms": round(times[len(times)//2] * 1000, 1), "min_ms": round(times[0] * 1000, 1)}))'
start=$(now)
"$bin" index "$work/repo" --db "$work/inc" --project django -q
end=$(now)
echo "{\"bench\": \"no_change_process\", \"ms\": $(python3 -c "print(round(($end - $start) * 1000, 1))")}"
