#!/usr/bin/env bash
# A test suite we did not write: schemathesis (from PyPI) generates requests from the
# server's own OpenAPI document and checks every answer against it (no 5xx, status
# codes and bodies as documented, the JSON error format, stateful links followed).
#
#   scripts/schemathesis.sh [path/to/codegraph] [MAX_EXAMPLES]
#
# Starts `codegraph serve` on a free loopback port with a fresh data directory and a
# random secret, analyses a small project so that the read routes have something to
# read, runs schemathesis with a valid token, and stops the server. schemathesis is
# installed into a virtualenv under ~/.cache/codegraph on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/codegraph}"
examples="${2:-30}"
venv="$HOME/.cache/codegraph/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis>=4.3,<5'
fi
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root/demo" "$work/data"
cat >"$work/root/demo/app.py" <<'PY'
def helper(x):
    """Add one."""
    return x + 1


def main():
    return helper(2)


class Greeter:
    def greet(self, name):
        return helper(len(name))
PY
secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
token="$(python3 - "$secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"tenant": "st", "sub": "schemathesis", "exp": int(time.time()) + 3600}).encode())
sig = hmac.new(sys.argv[1].encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
print(f"{head}.{claims}.{b64(sig)}")
PY
)"
CODEGRAPH_JWT_SECRET="$secret" RUST_LOG=error "$bin" serve --addr 127.0.0.1:0 \
    --data-dir "$work/data" --allow-root "st=$work/root" \
    --rate-limit 100000 --rate-burst 100000 >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.1
done
base="$(sed -n 's/^codegraph: listening on //p' "$work/out")"
[ -n "$base" ] || { cat "$work/err" >&2; echo "the server did not start" >&2; exit 1; }
curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"project\":\"demo\",\"path\":\"$work/root/demo\"}" "$base/api/v1/analyze" >/dev/null
for _ in $(seq 1 100); do
    curl -sf -H "Authorization: Bearer $token" "$base/api/v1/projects/demo" >/dev/null && break
    sleep 0.1
done

# A request the schema refuses may also be refused as too large (413, 414): the server
# caps bodies and query strings whatever the schema says of the fields inside them.
cat >"$work/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "406", "409", "413", "414", "415", "422", "428", "429", "5xx"]
TOML
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks all \
    `# DELETE /api/v1/jobs/{id} cancels a job; its record stays readable (the job's` \
    `# history, listed by GET /api/v1/jobs): "deleted resource still available" does not apply` \
    --exclude-checks use_after_free \
    --max-examples "$examples" \
    --phases examples,coverage,fuzzing,stateful \
    --workers 1 \
    --seed 1 \
    --no-color
