#!/usr/bin/env python3
"""Runs each language's oracle over its packages and scores CodeGraph against it.

    scripts/oracles/run.py --lang python [--packages flask-3.1.3] [--details 20]
    scripts/oracles/run.py --all [--json results.jsonl] [--codegraph BIN]
    scripts/oracles/run.py --lang cpp --heldout
    scripts/oracles/run.py --all --smoke --min-certain 0.85   # CI: one package each

--min-precision and --min-certain make the run fail when a language's call edges fall
below them (quality floors, not timings).

Packages come from scripts/fetch-corpus.sh (the tuned corpus) or, with --heldout, from
scripts/fetch-corpus.sh --heldout (packages never looked at while working on the resolver). An
oracle's pairs are cached per package and per version of the oracle's own files, so a
second run only re-indexes and re-scores. Without --codegraph the release binary is
built first.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
CORPUS = Path(os.environ.get("CODEGRAPH_CORPUS_DIR", CACHE / "corpus"))
HELDOUT = Path(os.environ.get("CODEGRAPH_HELDOUT_DIR", CACHE / "heldout"))
PAIRS = CACHE / "oracles" / "pairs"

# language -> the oracle script and the files it depends on (for the cache key)
ORACLES = {
    "python": ("python.py", []),
    "typescript": ("typescript.py", []),
    "javascript": ("typescript.py", []),
    "go": ("go.py", ["go"]),
    "java": ("java.py", ["java"]),
    "cpp": ("cpp.py", []),
    "rust": ("rust.py", []),
}

# language -> [(package dir, root inside it that both codegraph and the oracle read)]
PACKAGES = {
    "python": [
        ("flask-3.1.3", "."),
        ("requests-2.34.2", "."),
        ("jinja2-3.1.6", "."),
        ("werkzeug-3.1.9", "."),
        ("parso-0.8.7", "."),
        ("jedi-0.20.1", "."),
    ],
    "typescript": [
        ("mobx-6.13.5", "src"),
        ("zod-3.25.76", "src"),
        ("rxjs-7.8.1", "src"),
        ("trpc-server-11.0.0", "src"),
        ("tanstack-query-core-5.59.0", "src"),
        ("tiptap-core-2.8.0", "src"),
    ],
    "javascript": [
        ("express-4.21.2", "."),
        ("eslint-8.57.0", "lib"),
        ("webpack-5.90.3", "lib"),
    ],
    "go": [
        ("golang-github-gorilla-mux-dev-1.8.0-1", "usr/share/gocode/src/github.com/gorilla/mux"),
        ("golang-1.19-src-1.19.8-2", "src"),
        ("golang-github-spf13-cobra-dev-1.6.1-1", "usr/share/gocode/src/github.com/spf13/cobra"),
        ("golang-github-sirupsen-logrus-dev-1.9.0-1", "usr/share/gocode/src/github.com/sirupsen/logrus"),
        ("golang-github-stretchr-testify-dev-1.8.1-1", "usr/share/gocode/src/github.com/stretchr/testify"),
        ("golang-gopkg-yaml.v3-dev-3.0.1-3", "usr/share/gocode/src/gopkg.in/yaml.v3"),
        ("golang-github-gin-gonic-gin-dev-1.8.1-1", "usr/share/gocode/src/github.com/gin-gonic/gin"),
        ("golang-github-google-go-cmp-dev-0.5.9-1", "usr/share/gocode/src/github.com/google/go-cmp"),
    ],
    "java": [
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "java.net.http"),
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "java.base"),
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "jdk.compiler"),
    ],
    "cpp": [
        ("nlohmann-json3-dev-3.11.2-2", "usr/include/nlohmann"),
        ("libfmt-dev-9.1.0+ds1-2", "usr/include/fmt"),
        ("libspdlog-dev-1.10.0+ds-0.4", "usr/include/spdlog"),
        ("libcli11-dev-2.1.2+ds-1", "usr/include/CLI"),
        ("libabsl-dev-20220623.1-1+deb12u2", "usr/include/absl"),
        ("googletest-1.12.1-0.2", "usr/src/googletest"),
        ("librange-v3-dev-0.12.0-1", "usr/include"),
    ],
    "rust": [
        (crate, ".")
        for crate in (
            "anyhow-1.0.105",
            "serde-1.0.229",
            "serde_json-1.0.154",
            "regex-1.13.2",
            "regex-syntax-0.8.12",
            "clap_builder-4.6.7",
            "clap_derive-4.6.9",
            "hashbrown-0.15.5",
            "rayon-1.12.0",
            "rayon-core-1.13.0",
            "syn-2.0.119",
            "tokio-1.54.1",
        )
    ],
}

# Never looked at while working on the resolver: only their totals are read.
HELDOUT_PACKAGES = {
    "python": [("click-8.1.7", "."), ("rich-13.7.1", "."), ("attrs-24.2.0", "."), ("httpx-0.27.2", ".")],
    "typescript": [
        ("immer-10.1.1", "src"),
        ("trpc-client-11.0.0", "src"),
        ("prosemirror-model-1.22.3", "src"),
        ("prosemirror-transform-1.10.0", "src"),
        ("tanstack-form-core-0.33.0", "src"),
        ("effect-schema-0.75.5", "src"),
    ],
    "javascript": [("axios-1.7.7", "lib"), ("commander-12.1.0", "lib"), ("ws-8.18.0", "lib")],
    "go": [
        ("golang-github-pkg-errors-dev-0.9.1-2", "usr/share/gocode/src/github.com/pkg/errors"),
        ("golang-github-google-uuid-dev-1.3.0-1", "usr/share/gocode/src/github.com/google/uuid"),
        ("golang-github-spf13-pflag-dev-1.0.6~git20210604-d5e0c0615ace-1", "usr/share/gocode/src/github.com/spf13/pflag"),
        ("golang-github-gorilla-websocket-dev-1.5.0-2", "usr/share/gocode/src/github.com/gorilla/websocket"),
        ("golang-github-urfave-cli-dev-1.22.9-2", "usr/share/gocode/src/github.com/urfave/cli"),
    ],
    "java": [
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "java.logging"),
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "java.sql"),
        ("openjdk-17-source-17.0.21.1+2-1~deb12u1", "jdk.httpserver"),
    ],
    "cpp": [
        ("grpcio-1.66.1", "absl"),
        ("libyaml-cpp-dev-0.7.0+dfsg-8+b1", "usr/include/yaml-cpp"),
        ("libtbb-dev-2021.8.0-2+deb12u1", "usr/include/oneapi"),
    ],
    "rust": [
        (crate, ".")
        for crate in ("itertools-0.13.0", "nom-7.1.3", "bytes-1.7.1", "indexmap-2.5.0", "smallvec-1.13.2")
    ],
}


def oracle_version(lang):
    script, extra = ORACLES[lang]
    h = hashlib.sha256()
    for rel in [script, *extra]:
        path = HERE / rel
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(HERE).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def pairs_for(lang, pkg, root):
    out = PAIRS / lang / f"{pkg}-{root.replace('/', '_')}-{oracle_version(lang)}.jsonl"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        script = HERE / ORACLES[lang][0]
        subprocess.run([sys.executable, str(script), str(root_dir(pkg, root, lang)), str(tmp)], check=True)
        tmp.rename(out)
    return out


def root_dir(pkg, root, lang):
    base = HELDOUT if ARGS.heldout else CORPUS
    return (base / lang / pkg / root).resolve()


def codegraph_binary(args):
    if args.codegraph:
        return args.codegraph
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "codegraph-server"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", ROOT / "target")
    return str(Path(target) / "release" / "codegraph")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", action="append", choices=sorted(PACKAGES))
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--packages", help="comma-separated package dirs (default: all of the language)")
    parser.add_argument("--heldout", action="store_true", help="the held-out packages")
    parser.add_argument("--codegraph", help="a built codegraph binary")
    parser.add_argument("--details", type=int, default=0)
    parser.add_argument(
        "--strict-overloads",
        action="store_true",
        help="an edge to another overload of the same name in the same file counts as wrong "
        "(by default the choice among one file's overloads is not judged)",
    )
    parser.add_argument("--json", help="append one JSON row per package and language total")
    parser.add_argument("--smoke", action="store_true", help="only the first package of each language")
    parser.add_argument("--min-precision", type=float, help="fail below this call-edge precision")
    parser.add_argument("--min-certain", type=float, help="fail below this certain-edge precision")
    ARGS = args = parser.parse_args()
    langs = sorted(PACKAGES) if args.all else (args.lang or parser.error("--lang or --all"))
    binary = codegraph_binary(args)
    table = HELDOUT_PACKAGES if args.heldout else PACKAGES
    wanted = set(args.packages.split(",")) if args.packages else None
    json_out = open(args.json, "a") if args.json else None
    failures = []
    for lang in langs:
        rows = []
        for pkg, root in table[lang][:1] if args.smoke else table[lang]:
            if wanted and pkg not in wanted:
                continue
            directory = root_dir(pkg, root, lang)
            if not directory.is_dir():
                fetch = "fetch-corpus.sh --heldout" if args.heldout else "fetch-corpus.sh"
                print(f"{lang}/{pkg}: {directory} is missing; run scripts/{fetch} --lang {lang}", file=sys.stderr)
                continue
            pairs = pairs_for(lang, pkg, root)
            row, wrong, missed = score.score(binary, directory, pairs, args.details, args.strict_overloads)
            rows.append(row)
            label = pkg if root in (".", "src") else f"{pkg}:{root.rsplit('/', 1)[-1]}"
            score.print_row(f"{lang}/{label}", row)
            for w in wrong:
                print("  wrong:", w)
            for m in missed:
                print("  missed:", m)
            if json_out:
                json_out.write(json.dumps({"language": lang, "package": pkg, "root": root, "heldout": args.heldout, **row}) + "\n")
        if not rows:
            continue
        total = score.merge(rows)
        if len(rows) > 1:
            score.print_row(f"{lang} (total)", total)
            if json_out:
                json_out.write(json.dumps({"language": lang, "package": "total", "heldout": args.heldout, **total}) + "\n")
        calls = total.get("calls", {})
        for key, floor in (("precision", args.min_precision), ("certain_precision", args.min_certain)):
            if floor is not None and (calls.get(key) is None or calls[key] < floor):
                failures.append(f"{lang}: call-edge {key} {calls.get(key)} is below {floor}")
    if json_out:
        json_out.close()
    for f in failures:
        print("FLOOR MISSED:", f, file=sys.stderr)
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
