#!/bin/bash
# Connection setup of two `codegraph serve` binaries, alternated: wrk opens a new
# connection for every request (`Connection: close`) to /health, 8 connections for 8 s,
# three rounds. Prints requests (= connections) a second and the p99 of each run.
#
# Usage: scripts/conn-bench.sh OLD_BINARY NEW_BINARY [ROUNDS]
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
old=${1:?usage: scripts/conn-bench.sh OLD_BINARY NEW_BINARY [ROUNDS]}
new=${2:?usage: scripts/conn-bench.sh OLD_BINARY NEW_BINARY [ROUNDS]}
rounds=${3:-3}
for round in $(seq "$rounds"); do
  for bin in "$old" "$new"; do
    dir=$(mktemp -d)
    mkdir -p "$dir/root"
    CODEGRAPH_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') RUST_LOG=error \
      "$bin" serve --addr 127.0.0.1:0 --data-dir "$dir/data" --allow-root "$dir/root" \
      > "$dir/out" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
    url=$(sed -n 's/^codegraph: listening on //p' "$dir/out" | head -1)
    result=$(wrk -t2 -c8 -d8s --latency -H "Connection: close" "$url/health" \
      | awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} END {print rps " requests/s, p99 " p99}')
    echo "round $round $bin: $result"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
done
