#!/usr/bin/env bash
# Fetch a pinned corpus of real third-party source code in 7 languages, for
# measuring CodeGraph's symbol extractor against universal-ctags (recall) and
# for speed comparisons. Nothing here is committed: sources are fetched at run
# time with the ordinary package clients (cargo, pip, npm, apt-get download)
# into a cache directory, laid out as
#
#   <cache>/<lang>/<package-name-version>/...
#
# lang is one of: rust python javascript typescript go java cpp.
# Each finished package directory holds a marker file recording its pin; a
# package whose marker is present is never fetched again, so a second run is a
# fast, offline no-op. Debian packages are only downloaded and unpacked with
# `dpkg-deb -x`, never installed. See scripts/corpus.md for what is fetched and why.
#
# Usage: scripts/fetch-corpus.sh [--heldout] [--lang L]... [--print-dir]
#   --heldout    the held-out set instead: other packages, never looked at while
#                tuning the extractor or the resolver, measured beside the corpus
#   --lang L     fetch only language L (repeatable; default: all seven)
#   --print-dir  print the cache directory and exit
# Environment: CODEGRAPH_CORPUS_DIR overrides the cache directory
#   (default: $HOME/.cache/codegraph/corpus), CODEGRAPH_HELDOUT_DIR the held-out one
#   (default: $HOME/.cache/codegraph/heldout).
set -euo pipefail

CACHE="${CODEGRAPH_CORPUS_DIR:-$HOME/.cache/codegraph/corpus}"
ALL_LANGS=(rust python javascript typescript go java cpp)
MARK=.codegraph-corpus-complete

# ---------------------------------------------------------------- pins ----
# Rust: crates.io, fetched with `cargo vendor` from a throwaway project.
RUST_CRATES=(
  serde@1.0.229 serde_json@1.0.154 syn@2.0.119 regex@1.13.2
  regex-syntax@0.8.12 tokio@1.54.1 clap_builder@4.6.7 clap_derive@4.6.9
  rayon@1.12.0 rayon-core@1.13.0 hashbrown@0.15.5 anyhow@1.0.105
)
# Python: PyPI, pure-Python wheels (a wheel is a zip of the .py sources).
PY_WHEELS=(
  django==5.2.19 requests==2.34.2 flask==3.1.3 werkzeug==3.1.9
  jinja2==3.1.6 jedi==0.20.1 parso==0.8.7
)
# JavaScript: npm tarballs of packages that ship hand-written JS.
JS_PKGS=(webpack@5.90.3 eslint@8.57.0 lodash@4.17.21 express@4.21.2)
# TypeScript: npm packages that ship their .ts/.tsx sources (src/).
TS_PKGS=(
  rxjs@7.8.1 @reduxjs/toolkit@2.2.7 @tanstack/query-core@5.59.0
  @tanstack/react-query@5.59.0 @tanstack/react-router@1.58.3
  @tanstack/table-core@8.20.5 zod@3.25.76 @tiptap/core@2.8.0
  @trpc/server@11.0.0 mobx@6.13.5
)
# Go: a subset of the Go 1.19 standard library plus some golang-*-dev
# packages (sources under /usr/share/gocode). testdata/ dirs are dropped.
GO_STDLIB_DEB=golang-1.19-src=1.19.8-2
GO_STDLIB_DIRS=(go net/http encoding fmt strings bytes regexp strconv sort bufio)
GO_DEBS=(
  golang-github-spf13-cobra-dev=1.6.1-1
  golang-github-stretchr-testify-dev=1.8.1-1
  golang-github-gin-gonic-gin-dev=1.8.1-1
  golang-gopkg-yaml.v3-dev=3.0.1-3
  golang-github-google-go-cmp-dev=0.5.9-1
  golang-github-sirupsen-logrus-dev=1.9.0-1
  golang-github-gorilla-mux-dev=1.8.0-1
)
# Java: a subset of the OpenJDK 17 class library sources (lib/src.zip).
# openjdk-17-source is updated by Debian security releases; when the pinned
# version has left the mirror the current candidate is used (with a warning).
JAVA_DEB=openjdk-17-source=17.0.21.1+2-1~deb12u1
JAVA_ZIP_PATTERNS=(
  'java.base/java/util/*' 'java.net.http/*'
  'jdk.compiler/com/sun/tools/javac/parser/*'
  'jdk.compiler/com/sun/tools/javac/tree/*'
)
# C++: Debian -dev packages with genuinely C++ headers / sources.
CPP_DEBS=(
  googletest=1.12.1-0.2 nlohmann-json3-dev=3.11.2-2 libfmt-dev=9.1.0+ds1-2
  libspdlog-dev=1:1.10.0+ds-0.4 libabsl-dev=20220623.1-1+deb12u2
  librange-v3-dev=0.12.0-1 libcli11-dev=2.1.2+ds-1
)

# C++ from PyPI source distributions: SPEC|the subtree kept.
CPP_SDISTS=()

# ------------------------------------------------------------- held-out ----
# Packages of the same kinds as the corpus, chosen by name and never read while
# working: only their scores are looked at. Other releases of libraries in the
# corpus where the issue asks for them (abseil through grpcio's source).
heldout_pins() {
  CACHE="${CODEGRAPH_HELDOUT_DIR:-$HOME/.cache/codegraph/heldout}"
  RUST_CRATES=(itertools@0.13.0 nom@7.1.3 bytes@1.7.1 indexmap@2.5.0 smallvec@1.13.2)
  PY_WHEELS=(click==8.1.7 rich==13.7.1 attrs==24.2.0 httpx==0.27.2)
  JS_PKGS=(axios@1.7.7 commander@12.1.0 ws@8.18.0)
  TS_PKGS=(
    immer@10.1.1 @trpc/client@11.0.0 prosemirror-model@1.22.3
    prosemirror-transform@1.10.0 @tanstack/form-core@0.33.0 @effect/schema@0.75.5
  )
  GO_STDLIB_DEB=""
  GO_DEBS=(
    golang-github-pkg-errors-dev=0.9.1-2 golang-github-google-uuid-dev=1.3.0-1
    golang-github-spf13-pflag-dev=1.0.6~git20210604-d5e0c0615ace-1
    golang-github-gorilla-websocket-dev=1.5.0-2 golang-github-urfave-cli-dev=1.22.9-2
  )
  JAVA_ZIP_PATTERNS=(
    'java.logging/*' 'java.sql/*' 'jdk.httpserver/*' 'java.base/java/time/*'
  )
  CPP_DEBS=(
    libgoogle-glog-dev=0.6.0-2 libbenchmark-dev=1.7.1-1 libyaml-cpp-dev=0.7.0+dfsg-8+b1
    libtbb-dev=2021.8.0-2+deb12u1 libgflags-dev=2.2.2-2 libleveldb-dev=1.23-4
  )
  CPP_SDISTS=('grpcio==1.66.1|third_party/abseil-cpp')
}

# ------------------------------------------------------------- helpers ----
log() { printf '[corpus] %s\n' "$*" >&2; }
warn() { printf '[corpus] WARNING: %s\n' "$*" >&2; }
die() { printf '[corpus] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

LANGS=()
PRINT_DIR=0
while (($#)); do
  case "$1" in
    --heldout) heldout_pins; shift ;;
    --lang) (($# >= 2)) || die "--lang needs an argument"; LANGS+=("$2"); shift 2 ;;
    --lang=*) LANGS+=("${1#--lang=}"); shift ;;
    --print-dir) PRINT_DIR=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if ((PRINT_DIR)); then printf '%s\n' "$CACHE"; exit 0; fi
((${#LANGS[@]})) || LANGS=("${ALL_LANGS[@]}")
for l in "${LANGS[@]}"; do
  [[ " ${ALL_LANGS[*]} " == *" $l "* ]] || die "unknown language '$l' (one of: ${ALL_LANGS[*]})"
done

START=$SECONDS
mkdir -p "$CACHE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/codegraph-corpus.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
FAILED=()

# is_done LANG SPEC: some package dir of LANG is complete and was fetched for SPEC.
is_done() {
  local m
  for m in "$CACHE/$1"/*/"$MARK"; do
    [[ -f "$m" ]] && grep -qxF "pin: $2" "$m" && return 0
  done
  return 1
}

# finish LANG SPEC STAGING NAME SOURCE: publish STAGING as <cache>/LANG/NAME.
finish() {
  local lang=$1 spec=$2 staging=$3 name=$4 source=$5 dest="$CACHE/$1/$4"
  printf 'pin: %s\nsource: %s\nfetched: %s\n' "$spec" "$source" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$staging/$MARK"
  rm -rf "$dest"
  mv "$staging" "$dest"
  log "$lang: $name ready"
}

# new_staging LANG: an empty directory on the cache's filesystem (so that the
# final mv is atomic); removed by the next run if we die half-way.
new_staging() {
  mkdir -p "$CACHE/$1"
  mktemp -d "$CACHE/$1/.partial.XXXXXX"
}

# prune LANG SPEC...: drop leftovers of interrupted runs and package dirs whose
# pin is no longer in the list (so the corpus always matches this script).
prune() {
  local lang=$1 d pin; shift
  local keep=" $* "
  [[ -d "$CACHE/$lang" ]] || return 0
  rm -rf "$CACHE/$lang"/.partial.*
  for d in "$CACHE/$lang"/*/; do
    [[ -d "$d" ]] || continue
    if [[ -f "$d/$MARK" ]]; then
      pin="$(sed -n 's/^pin: //p' "$d/$MARK")"
      if [[ "$keep" != *" $pin "* ]]; then
        log "$lang: removing $(basename "$d") (pin '$pin' no longer listed)"
        rm -rf "$d"
      fi
    else
      warn "$lang: $(basename "$d") was not made by this script; left in place (and counted)"
    fi
  done
}

need() { command -v "$1" >/dev/null 2>&1; }

# zip_extract ZIP DEST [PATTERN...]: unzip (or python3's zipfile when unzip is
# missing); PATTERNs are shell globs on member names, as for unzip.
zip_extract() {
  local zip=$1 dest=$2; shift 2
  if need unzip; then
    unzip -q "$zip" "$@" -d "$dest"
  else
    python3 - "$zip" "$dest" "$@" <<'PY'
import fnmatch, sys, zipfile
zf, dest, pats = zipfile.ZipFile(sys.argv[1]), sys.argv[2], sys.argv[3:]
zf.extractall(dest, [n for n in zf.namelist()
                     if not pats or any(fnmatch.fnmatchcase(n, p) for p in pats)])
PY
  fi
}

# --- Debian packages: download (never install) ---------------------------
APT_UPDATED=0
APT_OPTS=()
[[ $(id -u) -eq 0 ]] && APT_OPTS=(-o APT::Sandbox::User=root)
apt_download() { (cd "$1" && apt-get -q "${APT_OPTS[@]}" download "$2") >"$WORK/apt.log" 2>&1; }
apt_update_once() {
  ((APT_UPDATED)) && return 0
  APT_UPDATED=1
  if [[ $(id -u) -eq 0 ]]; then
    log "running apt-get update"
    apt-get -q update >"$WORK/apt-update.log" 2>&1 || warn "apt-get update failed"
  else
    warn "package lists may be stale and 'apt-get update' needs root"
  fi
}
# deb_fetch SPEC(pkg=ver): sets DEB to the downloaded .deb, DEB_NAME to
# "<pkg>-<version without epoch>". Falls back to the candidate version when the
# pinned one is gone from the mirror.
deb_fetch() {
  local spec=$1 pkg=${1%%=*} dir
  dir="$(mktemp -d "$WORK/deb.XXXXXX")"
  need apt-get && need dpkg-deb || { warn "apt-get/dpkg-deb not found"; return 1; }
  if ! apt_download "$dir" "$spec"; then
    apt_update_once
    if ! apt_download "$dir" "$spec"; then
      warn "$spec is not available; falling back to the current candidate of $pkg"
      apt_download "$dir" "$pkg" || { cat "$WORK/apt.log" >&2; return 1; }
    fi
  fi
  DEB="$(ls "$dir"/*.deb)"
  local ver; ver="$(dpkg-deb -f "$DEB" Version)"
  DEB_NAME="$pkg-${ver#*:}"
}

# deb_unpack LANG SPEC...: whole package unpacked (dpkg-deb -x) per package.
deb_unpack() {
  local lang=$1 spec st; shift
  for spec in "$@"; do
    is_done "$lang" "$spec" && continue
    if deb_fetch "$spec"; then
      st="$(new_staging "$lang")"
      dpkg-deb -x "$DEB" "$st"
      [[ "$lang" == go ]] && find "$st" -type d -name testdata -prune -exec rm -rf {} +
      finish "$lang" "$spec" "$st" "$DEB_NAME" "debian:$(basename "$DEB")"
      rm -f "$DEB"
    else
      FAILED+=("$lang:$spec")
    fi
  done
}

# ------------------------------------------------------------ fetchers ----
fetch_rust() {
  prune rust "${RUST_CRATES[@]}"
  local c missing=()
  for c in "${RUST_CRATES[@]}"; do is_done rust "$c" || missing+=("$c"); done
  ((${#missing[@]})) || return 0
  need cargo || { warn "cargo not found"; FAILED+=("rust:all"); return 0; }
  local proj="$WORK/cargo"
  mkdir -p "$proj/src"
  : >"$proj/src/lib.rs"
  {
    printf '[package]\nname = "codegraph-corpus"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n'
    for c in "${missing[@]}"; do
      printf '%s = { version = "=%s", default-features = false }\n' "${c%@*}" "${c#*@}"
    done
  } >"$proj/Cargo.toml"
  log "rust: cargo vendor (${#missing[@]} crates)"
  if ! cargo vendor --versioned-dirs --manifest-path "$proj/Cargo.toml" "$proj/vendor" \
      >/dev/null 2>"$WORK/cargo.log"; then
    cat "$WORK/cargo.log" >&2
    FAILED+=("rust:cargo-vendor"); return 0
  fi
  local name st
  for c in "${missing[@]}"; do
    name="${c%@*}-${c#*@}"
    if [[ -d "$proj/vendor/$name" ]]; then
      st="$(new_staging rust)"
      cp -a "$proj/vendor/$name/." "$st/"
      finish rust "$c" "$st" "$name" "crates.io:$name"
    else
      warn "rust: $name missing from the vendor dir"; FAILED+=("rust:$c")
    fi
  done
}

fetch_python() {
  prune python "${PY_WHEELS[@]}"
  local spec dir whl name st
  for spec in "${PY_WHEELS[@]}"; do
    is_done python "$spec" && continue
    dir="$(mktemp -d "$WORK/pip.XXXXXX")"
    # Pure-Python wheel only, independent of the local interpreter's version.
    if PIP_ROOT_USER_ACTION=ignore python3 -m pip download --quiet --disable-pip-version-check \
        --no-deps --only-binary=:all: --platform any --implementation py --abi none \
        --python-version 3.12 -d "$dir" "$spec" >"$WORK/pip.log" 2>&1; then
      whl="$(ls "$dir"/*.whl)"
      name="$(basename "$whl" | cut -d- -f1-2)"
      st="$(new_staging python)"
      zip_extract "$whl" "$st"
      finish python "$spec" "$st" "$name" "pypi:$(basename "$whl")"
    else
      cat "$WORK/pip.log" >&2; FAILED+=("python:$spec")
    fi
  done
}

# npm_unpack LANG SPEC...
npm_unpack() {
  local lang=$1 spec dir tgz st; shift
  prune "$lang" "$@"
  for spec in "$@"; do
    is_done "$lang" "$spec" && continue
    need npm || { warn "npm not found"; FAILED+=("$lang:$spec"); continue; }
    dir="$(mktemp -d "$WORK/npm.XXXXXX")"
    if npm pack --silent --pack-destination "$dir" "$spec" >"$WORK/npm.log" 2>&1; then
      tgz="$(ls "$dir"/*.tgz)"
      st="$(new_staging "$lang")"
      tar -xzf "$tgz" -C "$st" --strip-components=1 --no-same-owner
      chmod -R u+rwX "$st"
      finish "$lang" "$spec" "$st" "$(basename "$tgz" .tgz)" "npm:$spec"
    else
      cat "$WORK/npm.log" >&2; FAILED+=("$lang:$spec")
    fi
  done
}

fetch_go() {
  prune go $GO_STDLIB_DEB "${GO_DEBS[@]}"
  if [[ -n "$GO_STDLIB_DEB" ]] && ! is_done go "$GO_STDLIB_DEB"; then
    if deb_fetch "$GO_STDLIB_DEB"; then
      local x="$WORK/gosrc" st d root
      mkdir -p "$x"
      dpkg-deb -x "$DEB" "$x"
      root="$(ls -d "$x"/usr/share/go-*/src | head -n1)"
      st="$(new_staging go)"
      for d in "${GO_STDLIB_DIRS[@]}"; do
        mkdir -p "$st/src/$(dirname "$d")"
        cp -a "$root/$d" "$st/src/$d"
      done
      find "$st" -type d -name testdata -prune -exec rm -rf {} +
      finish go "$GO_STDLIB_DEB" "$st" "$DEB_NAME" \
        "debian:$(basename "$DEB") subset: ${GO_STDLIB_DIRS[*]}"
      rm -rf "$x" "$DEB"
    else
      FAILED+=("go:$GO_STDLIB_DEB")
    fi
  fi
  deb_unpack go "${GO_DEBS[@]}"
}

fetch_java() {
  prune java "$JAVA_DEB"
  is_done java "$JAVA_DEB" && return 0
  if deb_fetch "$JAVA_DEB"; then
    local x="$WORK/jdk" st zip
    mkdir -p "$x"
    dpkg-deb -x "$DEB" "$x"
    zip="$(find "$x" -name src.zip | head -n1)"
    st="$(new_staging java)"
    zip_extract "$zip" "$st" "${JAVA_ZIP_PATTERNS[@]}"
    finish java "$JAVA_DEB" "$st" "$DEB_NAME" \
      "debian:$(basename "$DEB") src.zip subset: ${JAVA_ZIP_PATTERNS[*]}"
    rm -rf "$x" "$DEB"
  else
    FAILED+=("java:$JAVA_DEB")
  fi
}

fetch_cpp() {
  local sd spec keep dir tgz st
  local pins=("${CPP_DEBS[@]}")
  for sd in "${CPP_SDISTS[@]}"; do pins+=("${sd%%|*}"); done
  prune cpp "${pins[@]}"
  deb_unpack cpp "${CPP_DEBS[@]}"
  for sd in "${CPP_SDISTS[@]}"; do
    spec="${sd%%|*}" keep="${sd#*|}"
    is_done cpp "$spec" && continue
    dir="$(mktemp -d "$WORK/sdist.XXXXXX")"
    # pip download of an sdist would build its metadata (a C++ build for grpcio):
    # take the file PyPI lists instead, and check its digest.
    if python3 - "$spec" "$dir" >"$WORK/pip.log" 2>&1 <<'PY'
import hashlib, json, sys, urllib.request
name, version = sys.argv[1].split("==")
# The simple index's JSON form (PEP 691), as pip reads it.
req = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
files = json.load(urllib.request.urlopen(req))["files"]
sdist = next(f for f in files if f["filename"] == f"{name}-{version}.tar.gz")
data = urllib.request.urlopen(sdist["url"]).read()
if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
    sys.exit("sha256 mismatch")
open(f"{sys.argv[2]}/{sdist['filename']}", "wb").write(data)
PY
    then
      tgz="$(ls "$dir"/*.tar.gz)"
      st="$(new_staging cpp)"
      # The subtree becomes the package root: under `third_party/` it would be
      # skipped as vendored code.
      tar -xzf "$tgz" -C "$dir" --no-same-owner --wildcards "*/$keep/*"
      mv "$dir"/*/"$keep"/* "$st"/
      finish cpp "$spec" "$st" "$(basename "$tgz" .tar.gz)" "pypi:$(basename "$tgz") subset: $keep"
    else
      cat "$WORK/pip.log" >&2; FAILED+=("cpp:$spec")
    fi
  done
}

for l in "${LANGS[@]}"; do
  case "$l" in
    rust) fetch_rust ;;
    python) fetch_python ;;
    javascript) npm_unpack javascript "${JS_PKGS[@]}" ;;
    typescript) npm_unpack typescript "${TS_PKGS[@]}" ;;
    go) fetch_go ;;
    java) fetch_java ;;
    cpp) fetch_cpp ;;
  esac
done

# --------------------------------------------------------------- table ----
# find(1) predicates for the source files counted for each language.
exts() {
  case "$1" in
    rust) echo '-name *.rs' ;;
    python) echo '-name *.py' ;;
    javascript) echo '-name *.js -o -name *.jsx -o -name *.mjs -o -name *.cjs' ;;
    typescript) echo '( -name *.ts -o -name *.tsx -o -name *.mts -o -name *.cts ) ! -name *.d.ts ! -name *.d.mts ! -name *.d.cts' ;;
    go) echo '-name *.go' ;;
    java) echo '-name *.java' ;;
    cpp) echo '-name *.cc -o -name *.cpp -o -name *.cxx -o -name *.h -o -name *.hpp -o -name *.hh' ;;
  esac
}
# count LANG 'PREDICATES': prints "files lines long" where long = files with a
# line over 1000 characters (minified / generated code).
count() {
  local lang=$1 list="$WORK/list" files lines long
  local -a pred
  set -f; read -r -a pred <<<"$2"; set +f
  find "$CACHE/$lang" -type f \( "${pred[@]}" \) -print0 >"$list" 2>/dev/null || true
  files="$(tr -cd '\0' <"$list" | wc -c)"
  if ((files)); then
    lines="$(xargs -0 cat <"$list" | wc -l)"
    long="$(xargs -0 awk 'length($0) > 1000 { print FILENAME; nextfile }' <"$list" | wc -l)"
  else
    lines=0 long=0
  fi
  echo "$files $lines $long"
}

total=0
printf '\n%-11s %5s %7s %10s  %s\n' language pkgs files lines "notes"
printf '%-11s %5s %7s %10s  %s\n' ----------- ----- ------- ---------- -----
for l in "${ALL_LANGS[@]}"; do
  [[ -d "$CACHE/$l" ]] || continue
  pkgs="$(find "$CACHE/$l" -mindepth 2 -maxdepth 2 -name "$MARK" | wc -l)"
  read -r f n long <<<"$(count "$l" "$(exts "$l")")"
  note=""
  ((long)) && note="$long file(s) with a line >1000 chars (minified/generated)"
  if [[ "$l" == typescript ]]; then
    read -r df dn _ <<<"$(count "$l" '-name *.d.ts -o -name *.d.mts -o -name *.d.cts')"
    note="${note:+$note; }excl. $df .d.ts files / $dn lines"
  fi
  printf '%-11s %5s %7s %10s  %s\n' "$l" "$pkgs" "$f" "$n" "$note"
  total=$((total + n))
done
printf '%-11s %5s %7s %10s\n' total "" "" "$total"
printf '\ncache: %s (%s)   elapsed: %ss\n' "$CACHE" "$(du -sh "$CACHE" 2>/dev/null | cut -f1)" "$((SECONDS - START))"

if ((${#FAILED[@]})); then
  warn "failed: ${FAILED[*]}"
  exit 1
fi
