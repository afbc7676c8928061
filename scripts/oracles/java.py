#!/usr/bin/env python3
"""Java call-pair oracle: javac's tree API (JDK 17), see README.md for the pair format.

    scripts/oracles/java.py ROOT OUT

Every .java file under ROOT is parsed and attributed in one javac task (java/Oracle.java,
compiled once into ~/.cache/codegraph/oracles/java-classes/<hash>/). javac errors are
collected and ignored: a file that does not type-check still gives the sites javac could
attribute. A source root whose directory is named after a module of the running JDK
(`java.base`, `jdk.compiler`...) is compiled as a patch of that module (--patch-module),
so that JDK sources resolve to themselves instead of clashing with the system image.
Standard library only.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "java" / "Oracle.java"
CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
TIMEOUT = int(os.environ.get("CODEGRAPH_JAVA_ORACLE_TIMEOUT", "900"))
SKIP_DIRS = {".git", "node_modules", "target", "build", "out", ".gradle", ".idea"}

PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)
COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def tool(name):
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / name).exists():
        return str(Path(home) / "bin" / name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"java oracle: {name} not found (install openjdk-17-jdk-headless)")
    return found


def compiled_classes():
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    out = CACHE / "oracles" / "java-classes" / digest
    if not (out / "Oracle.class").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=out.parent))
        try:
            subprocess.run([tool("javac"), "-nowarn", "-d", str(tmp), str(SOURCE)], check=True)
            tmp.rename(out)
        except OSError:
            if not (out / "Oracle.class").exists():  # not another run getting there first
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def java_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.endswith(".java") and f != "module-info.java":
                yield Path(dirpath) / f


def source_root(path):
    """The directory the file's package path starts from (its own directory if unsure)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return path.parent
    m = PACKAGE.search(COMMENTS.sub(" ", text[:200000]))
    if not m:
        return path.parent
    parts = m.group(1).split(".")
    d = path.parent
    if list(d.parts[-len(parts):]) != parts:
        return path.parent
    for _ in parts:
        d = d.parent
    return d


def system_modules():
    try:
        out = subprocess.run(
            [tool("java"), "--list-modules"], capture_output=True, text=True, check=True
        ).stdout
    except (subprocess.CalledProcessError, OSError):
        return set()
    return {line.split("@")[0].strip() for line in out.splitlines() if line.strip()}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: java.py ROOT OUT")
    root = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2]).resolve()
    files = list(java_files(root))
    if not files:
        out.write_text("")
        print("java oracle: no .java files", file=sys.stderr)
        return
    roots = sorted({source_root(f) for f in files})
    modules = system_modules()
    options = [
        "-proc:none", "-implicit:none", "-nowarn", "-Xlint:none", "-encoding", "UTF-8",
        "-Xmaxerrs", "100000", "-XDshould-stop.ifError=FLOW", "-XDshould-stop.at=FLOW",
    ]
    patched, plain = {}, []
    for r in roots:
        if r.name in modules:
            patched.setdefault(r.name, []).append(str(r))
        else:
            plain.append(str(r))
    for name, dirs in sorted(patched.items()):
        options += ["--patch-module", f"{name}={os.pathsep.join(dirs)}"]
    jars = sorted(str(p) for p in root.rglob("*.jar"))[:200]
    if jars:
        options += ["-classpath", os.pathsep.join(jars)]
    if patched:
        print(f"java oracle: patching module(s) {', '.join(sorted(patched))}", file=sys.stderr)
    classes = compiled_classes()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lst:
        lst.write("\n".join(str(f) for f in files) + "\n")
    try:
        cmd = [tool("java"), "-Xss64m", "-XX:+UseParallelGC", "-cp", str(classes), "Oracle",
               str(root), str(out), lst.name] + options
        subprocess.run(cmd, check=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        sys.exit(f"java oracle: timed out after {TIMEOUT}s on {root}")
    finally:
        os.unlink(lst.name)


if __name__ == "__main__":
    main()
