#!/usr/bin/env python3
"""Go call-pair oracle: go/types (Debian's Go toolchain) answers every call under ROOT.

    scripts/oracles/go.py ROOT OUT

Builds scripts/oracles/go/oracle.go (standard library only, GO111MODULE=off) into
~/.cache/codegraph/oracles/bin once per source version, then runs it. How ROOT's import
paths are found:

- under `.../gocode/src/<import path>` (a Debian golang-*-dev package): that import path;
  the package's own gocode/src, the gocode/src of its sibling corpus packages and
  /usr/share/gocode/src resolve third-party imports (whatever is absent is ignored);
- under `.../src/<dir>` where GOROOT/src/<dir> exists (a copy of some of the standard
  library), or at such a `src` itself: the standard library, imports outside ROOT from GOROOT;
- with a go.mod: its module path;
- otherwise: paths relative to ROOT.

Files that codegraph's default filter skips (generated: `Code generated ... DO NOT EDIT`
headers, *.pb.go...; vendored dirs; over 2 MB) are checked but not answered, and a callee
declared in one is not a target (a site left without targets is written as external):
both sides see the same files. GO_ORACLE_ALL_FILES=1 answers for every file.
GO_ORACLE_GOPATH (colon-separated src dirs) adds more places for imports.
GO_ORACLE_DEBUG=1 adds a "how" field to each pair (callee kind and receiver shape), for
grouping misses. See scripts/oracles/README.md for the pair format. Standard library only.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "go" / "oracle.go"
CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
GO = os.environ.get("GO", "go")


def go_env():
    env = dict(os.environ)
    env["GO111MODULE"] = "off"
    env["GOFLAGS"] = ""
    env["GOCACHE"] = str(CACHE / "go-build")
    env.setdefault("GOPATH", str(CACHE / "gopath"))
    env["CGO_ENABLED"] = "0"
    return env


def build():
    src = SOURCE.read_bytes()
    digest = hashlib.sha256(src).hexdigest()[:16]
    binary = CACHE / "oracles" / "bin" / f"go-oracle-{digest}"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        tmp = binary.with_suffix(".tmp")
        subprocess.run([GO, "build", "-o", str(tmp), str(SOURCE)], check=True, env=go_env())
        tmp.rename(binary)
        for old in binary.parent.glob("go-oracle-*"):  # builds of older sources
            if old != binary:
                old.unlink(missing_ok=True)
    return binary


def goroot():
    out = subprocess.run([GO, "env", "GOROOT"], capture_output=True, text=True, env=go_env())
    return Path(out.stdout.strip())


def layout(root):
    """(import prefix, stdlib?, [gopath src dirs]) for ROOT."""
    s = str(root)
    gopaths = []
    m = re.search(r"^(.*)/gocode/src(?:/(.*))?$", s)
    if m:
        gopaths.append(m.group(1) + "/gocode/src")
        # <corpus>/<package>/usr/share/gocode/src/...: the sibling packages too.
        pkgdir = Path(m.group(1)).parent.parent
        if m.group(1).endswith("/usr/share"):
            for sib in sorted(pkgdir.parent.glob("*/usr/share/gocode/src")):
                if str(sib) not in gopaths:
                    gopaths.append(str(sib))
        prefix, std = (m.group(2) or ""), False
    else:
        prefix, std = None, False
        gr = goroot() / "src"
        parts = root.parts
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] != "src":
                continue
            rest = "/".join(parts[i + 1 :])
            if rest and (gr / rest).is_dir():
                prefix, std = rest, True
                break
            if not rest and any((root / d).is_dir() and (gr / d).is_dir() for d in
                                ("fmt", "strings", "net", "bytes", "io", "os", "sort", "go")):
                prefix, std = "", True
                break
        if prefix is None:
            prefix = ""
            gomod = root / "go.mod"
            if gomod.exists():
                mm = re.search(r"^module\s+(\S+)", gomod.read_text(errors="replace"), re.M)
                if mm:
                    prefix = mm.group(1).strip('"')
    if Path("/usr/share/gocode/src").is_dir() and "/usr/share/gocode/src" not in gopaths:
        gopaths.append("/usr/share/gocode/src")
    for extra in os.environ.get("GO_ORACLE_GOPATH", "").split(":"):
        if extra:
            gopaths.append(extra)
    return prefix, std, gopaths


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root = Path(os.path.abspath(sys.argv[1]))
    out = Path(os.path.abspath(sys.argv[2]))
    if not root.is_dir():
        sys.exit(f"go oracle: {root} is not a directory")
    binary = build()
    prefix, std, gopaths = layout(root)
    cmd = [str(binary), "-root", str(root), "-out", str(out), "-prefix", prefix]
    if std:
        cmd.append("-stdlib")
    if os.environ.get("GO_ORACLE_ALL_FILES"):
        cmd.append("-all-files")
    for gp in gopaths:
        cmd += ["-gopath", gp]
    print(f"go oracle: {root} as {prefix or '(top level)'}{' (stdlib)' if std else ''}",
          file=sys.stderr)
    env = go_env()
    env["GOROOT"] = str(goroot())
    proc = subprocess.run(cmd, env=env)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
