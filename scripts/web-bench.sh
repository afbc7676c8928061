#!/usr/bin/env bash
# The web view on a Django-sized project: the page's size, the time to the project
# page, and the time from typing a query to its first result (docs/PERFORMANCE.md).
#
#   scripts/fetch-corpus.sh --lang python
#   scripts/web-bench.sh target/release/codegraph            # text search
#   CODEGRAPH_MODEL_DIR=.../all-MiniLM-L6-v2 scripts/web-bench.sh target/release/codegraph
#
# Needs node, Debian's chromium and playwright-core in ~/.cache/codegraph/playwright
# (as .ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:?usage: web-bench.sh CODEGRAPH_BINARY}")"
repo="$HOME/.cache/codegraph/corpus/python/django-5.2.19"
[ -d "$repo" ] || { echo "no $repo: run scripts/fetch-corpus.sh --lang python" >&2; exit 1; }
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
mode=text
embed=(--no-embed)
if [ -n "${CODEGRAPH_MODEL_DIR:-}" ]; then mode=hybrid; embed=(); fi
start=$SECONDS
"$bin" index "$repo" --db "$work/db" --project django -q "${embed[@]}"
echo "indexed in $((SECONDS - start)) s ($mode)" >&2
RUST_LOG=error "$bin" ui --db "$work/db" --addr 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.1
done
base="$(sed -n 's/^codegraph: listening on //p' "$work/out")"
[ -n "$base" ] || { cat "$work/err" >&2; exit 1; }
CODEGRAPH_BASE="$base" CODEGRAPH_PROJECT=django CODEGRAPH_MODE="$mode" \
    CODEGRAPH_PLAYWRIGHT="${CODEGRAPH_PLAYWRIGHT:-$HOME/.cache/codegraph/playwright}" \
    CHROMIUM="${CHROMIUM:-$(command -v chromium)}" \
    CODEGRAPH_QUERIES="${CODEGRAPH_QUERIES:-queryset filter|migration autodetector|template render context|password hasher|url resolver reverse|cache backend|form field validation|middleware request|model field deconstruct|session store}" \
    node codegraph-server/tests/web/measure.mjs
