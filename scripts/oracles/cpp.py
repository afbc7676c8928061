#!/usr/bin/env python3
"""C++ call pairs from libclang (README.md has the format).

    scripts/oracles/cpp.py ROOT OUT

libclang (Debian's python3-clang-14 and libclang1-14; the script re-runs itself under the
system python3 when its own python lacks the bindings) compiles ROOT from a
compile_commands.json written to a temporary directory: every .cc/.cpp is a translation
unit, and the headers no source includes are compiled in batches of eight (a generated .cc
including them; a batch whose headers clash is redone one header at a time). Each file is
walked in exactly one unit, the first in a fixed order whose `#include` closure holds it,
so the answer does not depend on scheduling.

Every `CALL_EXPR` in ROOT's C++ files is answered with its referenced declaration, at the
callee's NAME as written (`f` in `ns::f(x)`, `foo` in `p->foo()`, `A` in `A(1)`,
`new A(1)`, `A{1}` and `: A(1)`), plus every redeclaration of it seen in any unit (by USR:
a declaration in a header, its definition in a .cc or an -inl.h) and, for an explicit
specialization, its primary template. A constructor call also lists the class, and the
alias when it is written through one (`json(x)`). Every base class as written
(`CXX_BASE_SPECIFIER`) is an `inherits` site answered with the class (and alias) it names.
Callees declared outside ROOT (std, libc, builtins, a sibling package) are `external`.

Left out, and counted on stderr: operators and functor calls, destructors, implicit calls
(conversions, `A a(1);`, where no name is written for the constructor), calls a macro body
makes (a call written inside a macro ARGUMENT is kept: `EXPECT_TRUE(f(x))`), calls through
variables (function pointers, range-v3's niebloids), calls clang leaves unresolved in
uninstantiated templates (`t.f()` on a dependent `t`, an unresolved overload set), bases
that are template parameters or that a macro writes (`TEST_F`), and answers that a macro
declares (no definition is written under that name).

Include directories: the `include` directory above ROOT, every `include` directory inside
ROOT and its parent, ROOT itself; after the system headers, the `usr/include` (and
`usr/src/*/*/include`) of sibling packages in the corpus layout (spdlog uses the separate
fmt package, absl's test helpers gtest); and CODEGRAPH_CPP_FLAGS. CODEGRAPH_CPP_DIRS=a,b
(paths under ROOT) keeps only the units whose main file is under one of them. Two processes.
"""

import collections
import ctypes
import glob
import json
import multiprocessing
import os
import re
import shlex
import sys
import tempfile
import time

LIBCLANG = "/usr/lib/llvm-14/lib/libclang-14.so.1"
# clang's own headers (stddef.h, intrinsics); libstdc++ is found by the driver.
RESOURCE_DIR = (sorted(glob.glob("/usr/lib/llvm-14/lib/clang/14*")) or [""])[-1]
SYSTEM_PYTHON = "/usr/bin/python3"
SOURCES = (".cc", ".cpp", ".cxx", ".c++")
HEADERS = (".h", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tpp")
STD = os.environ.get("CODEGRAPH_CPP_STD", "c++17")
WORKERS = 2
# Headers parsed together in one unit (see plan).
BATCH = int(os.environ.get("CODEGRAPH_CPP_BATCH", "8"))
# CXTranslationUnit_KeepGoing: a missing include is not fatal.
PARSE_KEEP_GOING = 0x200
INCLUDE_RE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.M)
IDENT_RE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
QUALIFIED_RE = re.compile(rb"(?:[A-Za-z_][A-Za-z0-9_]*\s*::\s*)*([A-Za-z_][A-Za-z0-9_]*)")
CONFLICT_RE = re.compile(r"error: (redefinition|conflicting|typedef redefinition)")
# `x-inl.h` and `x.h` include each other: the unit is `x.h`, which includes `x-inl.h` where
# the library means it to.
IMPL_RE = re.compile(r"[-_.](inl|impl|inc|ipp|tpp)[^/]*$")
# A base as written: access and `virtual`, then a possibly qualified name, cut at `<`. A `(`
# after the name is a macro call, not a base.
BASE_RE = re.compile(
    rb"(?:\s*(?:public|private|protected|virtual)\b)*\s*"
    rb"((?:::\s*)?[A-Za-z_]\w*(?:\s*::\s*(?:template\s+)?[A-Za-z_]\w*)*)\s*([<(])?"
)

try:
    import clang.cindex as ci
except ImportError:
    ci = None


def ensure_bindings():
    """python3-clang-14 is installed for the system python3, not for a pyenv or venv one."""
    if ci is not None:
        return
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(
        SYSTEM_PYTHON
    ):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("cpp oracle: python3-clang-14 is not installed (apt-get install python3-clang-14)")


# ---------------------------------------------------------------------------- planning


def is_source(path):
    return path.endswith(SOURCES)


def is_cpp(path):
    return path.endswith(SOURCES) or path.endswith(HEADERS)


def list_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            if is_cpp(f) and os.path.isfile(p):
                out.append(p)
    return out


def include_dirs(root):
    """(own, dependencies): -I and -isystem directories, in search order."""
    own = []
    d = root
    while d != os.path.dirname(d):
        if os.path.basename(d) == "include":
            own.append(d)
            break
        d = os.path.dirname(d)
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
        if os.path.basename(dirpath) == "include":
            own += [dirpath, os.path.dirname(dirpath)]
    own.append(root)
    deps = []
    # The corpus layout: <corpus>/cpp/<package>/usr/include; a package's dependencies are
    # its siblings (Debian's spdlog uses the separate fmt package).
    d = root
    while d != os.path.dirname(d):
        if os.path.isdir(os.path.join(d, "usr", "include")) and (root + "/").startswith(
            os.path.join(d, "usr") + "/"
        ):
            parent = os.path.dirname(d)
            for sib in sorted(os.listdir(parent)):
                if sib == os.path.basename(d):
                    continue
                inc = os.path.join(parent, sib, "usr", "include")
                if os.path.isdir(inc):
                    deps.append(inc)
                # Sources shipped under usr/src (googletest): their include directories.
                src = os.path.join(parent, sib, "usr", "src")
                for dirpath, dirnames, _ in os.walk(src):
                    dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
                    if dirpath.count(os.sep) - src.count(os.sep) >= 3:
                        dirnames[:] = []
                    if os.path.basename(dirpath) == "include":
                        deps.append(dirpath)
                        dirnames[:] = []
            break
        d = os.path.dirname(d)
    seen, own_u = set(), []
    for x in own:
        if x not in seen:
            seen.add(x)
            own_u.append(x)
    return own_u, [x for x in deps if x not in seen]


def include_graph(files, search):
    """Static `#include` edges between files under ROOT (conditionals ignored)."""
    fileset = set(files)
    graph = {}
    for f in files:
        try:
            text = open(f, "rb").read()
        except OSError:
            text = b""
        edges = set()
        for quote, name in INCLUDE_RE.findall(text):
            name = name.decode("utf-8", "replace").strip()
            cands = ([os.path.dirname(f)] if quote == b'"' else []) + search
            for d in cands:
                p = os.path.normpath(os.path.join(d, name))
                if os.path.exists(p):
                    if p in fileset:
                        edges.add(p)
                    break
        graph[f] = edges
    return graph


def closure(graph, start):
    seen, stack = {start}, [start]
    while stack:
        for n in graph.get(stack.pop(), ()):
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return seen


def plan(files, graph, keep_main, batch):
    """Translation units covering `files`: [(members, owned)], each owning the files it
    walks.

    Sources first (path order), each a unit; then the headers no chosen unit includes,
    widest first, `batch` of them to a unit (one generated .cc including them: parsing a
    header-only library's common core once per header would dominate the run). A file is
    owned by the first unit whose static include closure holds it."""
    files = set(files)
    closures = {f: closure(graph, f) for f in files}
    # A source that only includes others (`gtest-all.cc`, `gmock_all_test.cc`) goes first and
    # takes them all, so that none is parsed twice.
    groups = [
        [f]
        for f in sorted(
            (f for f in files if is_source(f) and keep_main(f)),
            key=lambda f: (not only_includes(f), f),
        )
    ]
    covered = set()
    for (f,) in groups:
        covered |= closures[f]
    headers = sorted(
        (f for f in files if not is_source(f) and keep_main(f)),
        key=lambda f: (-len(closures[f] & files), bool(IMPL_RE.search(f)), f),
    )
    chosen = []
    for f in headers:
        if f not in covered:
            chosen.append(f)
            covered |= closures[f]
    if chosen:
        size = max(1, min(batch, -(-len(chosen) // WORKERS)))
        groups += [chosen[i:i + size] for i in range(0, len(chosen), size)]
    units, owned = [], set()
    for members in groups:
        reach = set().union(*(closures[f] for f in members)) & files
        mine = sorted(reach - owned)
        owned.update(mine)
        # `gmock_all_test.cc` only includes sources that are units of their own already.
        if mine and not all(only_includes(f) for f in mine):
            units.append((members, mine))
    return units


def only_includes(path):
    """True when a file holds nothing but comments and preprocessor lines."""
    try:
        text = open(path, "rb").read()
    except OSError:
        return False
    text = re.sub(rb"/\*.*?\*/", b"", text, flags=re.S)
    text = re.sub(rb"//[^\n]*", b"", text)
    text = re.sub(rb"\\\n", b"", text)
    return all(not l.strip() or l.lstrip().startswith(b"#") for l in text.splitlines())


def compile_db(units, root, flags, work, tag):
    """[(main, args, owned)] for libclang, through a compile_commands.json in `work`."""
    entries, mains = [], []
    for i, (members, owned) in enumerate(units):
        if len(members) == 1:
            main = members[0]
            lang = [] if is_source(main) else ["-x", "c++-header"]
        else:
            main = os.path.join(work, f"unit-{tag}-{i}.cc")
            with open(main, "w") as f:
                f.writelines(f'#include "{m}"\n' for m in members)
            lang = []
        mains.append((main, owned))
        entries.append(
            {
                "directory": root,
                "file": main,
                "arguments": ["clang++"] + lang + flags + ["-c", main],
            }
        )
    with open(os.path.join(work, "compile_commands.json"), "w") as f:
        json.dump(entries, f, indent=1)
    db = ci.CompilationDatabase.fromDirectory(work)
    out = []
    for main, owned in mains:
        cmds = list(db.getCompileCommands(main) or ())
        args = list(cmds[0].arguments)[1:] if cmds else []
        # The compiler is gone; drop `-c FILE` too: libclang takes the file on its own.
        clean, skip = [], False
        for a in args:
            if skip:
                skip = False
                continue
            if a == "-c":
                skip = True
                continue
            if a == main:
                continue
            clean.append(a)
        out.append((main, clean, owned))
    return out


# ---------------------------------------------------------------------------- the walk

_state = {}


def _init_worker(root):
    lib = ci.conf.lib
    lib.clang_getFileLocation.argtypes = [
        ci.SourceLocation,
        ctypes.POINTER(ci.c_object_p),
        ctypes.POINTER(ctypes.c_uint),
        ctypes.POINTER(ctypes.c_uint),
        ctypes.POINTER(ctypes.c_uint),
    ]
    lib.clang_getFileLocation.restype = None
    _state["index"] = ci.Index.create()
    _state["root"] = root
    _state["texts"] = {}
    _state["norm"] = {}


def _norm(name):
    cache = _state["norm"]
    p = cache.get(name)
    if p is None:
        p = cache[name] = os.path.normpath(name)
    return p


def file_location(loc):
    """Where a location is written: a macro argument's own place, a macro body's expansion."""
    f = ci.c_object_p()
    line, col, off = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    ci.conf.lib.clang_getFileLocation(
        loc, ctypes.byref(f), ctypes.byref(line), ctypes.byref(col), ctypes.byref(off)
    )
    if not f:
        return None
    return _norm(ci.File(f).name), line.value, col.value, off.value


def text_of(path):
    texts = _state["texts"]
    t = texts.get(path)
    if t is None:
        try:
            t = open(path, "rb").read()
        except OSError:
            t = b""
        texts[path] = t
    return t


def ident_at(path, offset):
    m = IDENT_RE.match(text_of(path), offset)
    return m.group(0).decode() if m else None


def called_at(path, offset):
    """Whether the text after a callee's name opens its arguments: `(`, `{` or `<...>(`."""
    text = text_of(path)
    n = len(text)
    i = offset
    while i < n and text[i] in b" \t\r\n":
        i += 1
    if i < n and text[i:i + 1] == b"<":
        depth = 0
        while i < n:
            c = text[i:i + 1]
            if c == b"<":
                depth += 1
            elif c == b">":
                depth -= 1
                if depth == 0:
                    break
            elif c in b";{}":
                return False
            i += 1
        i += 1
        while i < n and text[i] in b" \t\r\n":
            i += 1
    return i < n and text[i:i + 1] in (b"(", b"{")


def after_template_args(text, i):
    """The text after the `<...>` that starts at `i`, from its first non-space byte."""
    depth = 0
    for j in range(i, min(len(text), i + 2000)):
        c = text[j:j + 1]
        if c == b"<":
            depth += 1
        elif c == b">":
            depth -= 1
            if depth == 0:
                return text[j + 1:j + 200].lstrip()
    return b""


def in_root(path):
    root = _state["root"]
    return path is not None and path.startswith(root + os.sep)


def rel(path):
    return os.path.relpath(path, _state["root"])


def decl_spots(decl):
    """What a reference to `decl` may be answered with: (path, line) of its name and of its
    definition's, inside ROOT, and ("usr", USR) items that stand for every redeclaration
    seen in any unit (a declaration in a header, its definition in a .cc or an -inl.h the
    unit did not include); and whether it lies outside ROOT. An explicit specialization
    answers with its primary template too."""
    spots, outside = set(), False
    decls = [decl, decl.get_definition()]
    primary = ci.conf.lib.clang_getSpecializedCursorTemplate(decl)
    if primary is not None:
        decls += [primary, primary.get_definition()]
    for i, d in enumerate(decls):
        if d is None:
            continue
        fl = file_location(d.location)
        if fl is None:
            continue
        if in_root(fl[0]):
            if ident_at(fl[0], fl[3]) != d.spelling.split("<", 1)[0]:
                # Declared by a macro's body (`GMOCK_DEFINE_..._(T, 0)` defines `Exists`):
                # no definition is written under that name.
                continue
            spots.add((rel(fl[0]), fl[1]))
            usr = d.get_usr()
            if usr:
                spots.add(("usr", usr))
        elif i == 0:
            outside = True
    return spots, outside


def callee_name_location(call):
    """The DECL_REF_EXPR / MEMBER_REF_EXPR naming the function called."""
    K = ci.CursorKind
    node = call
    for _ in range(8):
        children = list(node.get_children())
        if not children:
            return None
        node = children[0]
        k = node.kind
        if k in (K.MEMBER_REF_EXPR, K.DECL_REF_EXPR):
            return node.location
        if k not in (K.UNEXPOSED_EXPR, K.PAREN_EXPR):
            return None
    return None


def _fn_kinds():
    K = ci.CursorKind
    return {K.FUNCTION_DECL, K.CXX_METHOD, K.FUNCTION_TEMPLATE}


def walk_unit(main, args, owned):
    """Pairs for the files `owned` that this unit actually includes."""
    K = ci.CursorKind
    stats = collections.Counter()
    pairs = {}
    try:
        tu = _state["index"].parse(main, args=args, options=PARSE_KEEP_GOING)
    except ci.TranslationUnitLoadError:
        stats["units_failed"] += 1
        return main, pairs, {}, stats, [], []
    errors = [str(d) for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    stats["units"] += 1
    if errors:
        stats["units_with_errors"] += 1
    if any(CONFLICT_RE.search(e) for e in errors):
        # Headers parsed together that cannot be (two test helpers define one class).
        stats["conflicts"] += 1
    owned = set(owned)
    seen_files = {main} | {_norm(i.include.name) for i in tu.get_includes()}
    walked = sorted(owned & seen_files)
    walk_set = set(walked)
    fn_kinds = _fn_kinds()
    decl_cache = {}

    def spots_of(decl):
        key = decl.hash
        r = decl_cache.get(key)
        if r is None:
            r = decl_cache[key] = decl_spots(decl)
        return set(r[0]), r[1]

    def emit(edge, fl, name, targets, outside):
        path, line = rel(fl[0]), fl[1]
        key = (edge, path, line, name)
        site = pairs.setdefault(key, [set(), False])
        site[0].update(targets)
        site[1] |= outside

    def on_call(c):
        ref = c.referenced
        if ref is None or ref.kind == K.OVERLOADED_DECL_REF:
            stats["calls_unresolved"] += 1
            return
        rk = ref.kind
        if rk == K.CONSTRUCTOR:
            on_constructor(c, ref)
            return
        if rk == K.DESTRUCTOR or rk == K.CONVERSION_FUNCTION:
            return
        if rk not in fn_kinds:
            stats["calls_through_variables"] += 1
            return
        name = ref.spelling
        if name.startswith("operator"):
            return
        loc = callee_name_location(c)
        if loc is None:
            stats["calls_no_name"] += 1
            return
        fl = file_location(loc)
        if fl is None or not in_root(fl[0]) or not is_cpp(fl[0]):
            return
        if ident_at(fl[0], fl[3]) != name or not called_at(fl[0], fl[3] + len(name)):
            # A call a macro body makes (also when the name is the macro's argument:
            # `CLI11_ERROR_SIMPLE(ConversionError)`), or a name clang corrected.
            stats["calls_in_macros"] += 1
            return
        if name.startswith(("__builtin", "__sync_", "__atomic_")):
            # A compiler builtin, implicitly declared where it is first used.
            emit("calls", fl, name, set(), True)
            return
        targets, outside = spots_of(ref)
        emit("calls", fl, name, targets, outside and not targets)

    def on_constructor(c, ref):
        fl = file_location(c.location)
        if fl is None or not in_root(fl[0]) or not is_cpp(fl[0]):
            return
        m = QUALIFIED_RE.match(text_of(fl[0]), fl[3])
        if not m:
            return
        name = m.group(1).decode()
        # The class as written, or an alias of it: `A(1)`, `new ns::A`, `json(x)`, `: Base(x)`.
        # Not `A a(1);` or `: member_(x)`, where what is written there is a variable.
        alias = c.type.get_declaration()
        if alias is not None and alias.kind not in (K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL):
            alias = None
        if name != ref.spelling and (alias is None or name != alias.spelling):
            stats["constructors_unnamed"] += 1
            return
        before = text_of(fl[0])[max(0, fl[3] - 40):fl[3]]
        if not called_at(fl[0], m.end(1)) and not re.search(rb"\bnew\s*$", before):
            stats["calls_in_macros"] += 1
            return
        targets, outside = spots_of(ref)
        cls = ref.semantic_parent
        if cls is not None:
            t, o = spots_of(cls)
            targets |= t
            outside |= o
        if alias is not None:
            # `json(x)` names the class through an alias: the alias is an answer too.
            targets |= spots_of(alias)[0]
        emit("calls", fl, name, targets, outside and not targets)

    def on_base(c, cls):
        fl = file_location(c.extent.start)
        if fl is None or not in_root(fl[0]):
            return
        text = text_of(fl[0])
        m = BASE_RE.match(text, fl[3])
        cls_at = file_location(cls.location)
        if (
            not m
            or m.group(2) == b"("
            or cls_at is None
            or ident_at(cls_at[0], cls_at[3]) != cls.spelling.split("<", 1)[0]
        ):
            # Not written here: a macro's body declares the class (`TEST_F(Suite, Name)`).
            stats["bases_in_macros"] += 1
            return
        if m.group(2) == b"<" and after_template_args(text, m.end(2) - 1).startswith(b"::"):
            # `Impl<T>::type`: a member of a template, known once instantiated.
            stats["bases_unresolved"] += 1
            return
        last = list(IDENT_RE.finditer(m.group(1)))[-1]
        name = last.group(0).decode()
        off = m.start(1) + last.start()
        ref = None
        for ch in c.get_children():
            if ch.kind in (K.TYPE_REF, K.TEMPLATE_REF):
                chl = file_location(ch.location)
                if chl and chl[0] == fl[0] and chl[3] == off:
                    ref = ch.referenced
                    break
        if ref is None or ref.kind == K.TEMPLATE_TYPE_PARAMETER:
            stats["bases_unresolved"] += 1
            return
        targets, outside = spots_of(ref)
        if ref.kind in (K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL):
            real = c.type.get_canonical().get_declaration()
            if real is not None and real.kind != K.NO_DECL_FOUND:
                t, o = spots_of(real)
                targets |= t
                outside |= o
        line = text.count(b"\n", 0, off) + 1
        emit("inherits", (fl[0], line), name, targets, outside and not targets)

    is_decl_cache = {}
    usrs = {}
    target_kinds = {
        K.FUNCTION_DECL, K.CXX_METHOD, K.CONSTRUCTOR, K.FUNCTION_TEMPLATE, K.CLASS_DECL,
        K.STRUCT_DECL, K.UNION_DECL, K.CLASS_TEMPLATE, K.CLASS_TEMPLATE_PARTIAL_SPECIALIZATION,
        K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL, K.TYPE_ALIAS_TEMPLATE_DECL,
    }
    stack = [tu.cursor]
    while stack:
        node = stack.pop()
        for ch in node.get_children():
            try:
                k = ch.kind
            except ValueError:
                # A kind newer than the bindings (BuiltinBitCastExpr): look inside it.
                stack.append(ch)
                continue
            d = is_decl_cache.get(k)
            if d is None:
                d = is_decl_cache[k] = k.is_declaration() or k == K.LINKAGE_SPEC
            if d:
                f = ch.location.file
                if f is None or _norm(f.name) not in walk_set:
                    continue
                if k in target_kinds:
                    usr = ch.get_usr()
                    fl = usr and file_location(ch.location)
                    if (
                        fl
                        and in_root(fl[0])
                        and ident_at(fl[0], fl[3]) == ch.spelling.split("<", 1)[0]
                    ):
                        usrs.setdefault(usr, set()).add((rel(fl[0]), fl[1]))
            if k == K.CALL_EXPR:
                stats["calls_seen"] += 1
                try:
                    on_call(ch)
                except Exception:
                    stats["calls_failed"] += 1
            elif k == K.CXX_BASE_SPECIFIER:
                try:
                    on_base(ch, node)
                except Exception:
                    stats["bases_failed"] += 1
                continue
            stack.append(ch)
    return main, pairs, usrs, stats, walked, errors[:3]


def _job(job):
    main, args, owned = job
    t = time.time()
    try:
        out = walk_unit(main, args, owned)
    except Exception as e:  # never abort the run for one unit
        stats = collections.Counter(units_failed=1)
        out = (main, {}, {}, stats, [], [f"{type(e).__name__}: {e}"])
    return out + (time.time() - t,)


# ---------------------------------------------------------------------------- driver


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ensure_bindings()
    root = os.path.normpath(os.path.abspath(sys.argv[1]))
    out_path = sys.argv[2]
    started = time.time()
    if os.path.exists(LIBCLANG):
        ci.Config.set_library_file(LIBCLANG)

    own, deps = include_dirs(root)
    flags = [f"-std={STD}", "-Wno-everything", "-ferror-limit=0"]
    if RESOURCE_DIR:
        flags += ["-resource-dir", RESOURCE_DIR]
    flags += [f"-I{d}" for d in own] + [f"-idirafter{d}" for d in deps]
    flags += shlex.split(os.environ.get("CODEGRAPH_CPP_FLAGS", ""))
    only = [
        os.path.normpath(os.path.join(root, d))
        for d in os.environ.get("CODEGRAPH_CPP_DIRS", "").split(",")
        if d.strip()
    ]

    def keep_main(f):
        return not only or any(f.startswith(d + os.sep) for d in only)

    files = list_files(root)
    graph = include_graph(files, own + deps)
    stats = collections.Counter()
    pairs = {}
    walked = set()
    usrs = {}
    slow = []
    errors = []
    targets_wanted = [f for f in files if keep_main(f)]
    with tempfile.TemporaryDirectory(prefix="codegraph-cpp-oracle-") as work:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(WORKERS, initializer=_init_worker, initargs=(root,)) as pool:
            todo = targets_wanted
            for phase in (1, 2, 3):
                if phase == 1:
                    units = plan(todo, graph, keep_main, BATCH)
                elif phase == 2:
                    units = plan(todo, graph, lambda f: True, 1)
                else:
                    # What the unit chosen to hold them still skipped: each file by itself.
                    units = [([f], [f]) for f in todo if not only_includes(f)]
                if not units:
                    break
                jobs = compile_db(units, root, flags, work, phase)
                # Widest units first, so the two processes finish together.
                jobs.sort(key=lambda j: -len(j[2]))
                for main_file, found, us, st, w, errs, secs in pool.imap_unordered(_job, jobs):
                    if st["conflicts"] and not main_file.startswith(root + os.sep):
                        # A batch of headers that clash: each again on its own (phase 2).
                        stats["batches_redone"] += 1
                        continue
                    for usr, sp in us.items():
                        usrs.setdefault(usr, set()).update(sp)
                    stats.update(st)
                    walked.update(w)
                    slow.append((secs, rel_to(main_file, root)))
                    if errs:
                        errors.append((rel_to(main_file, root), errs))
                    for key, (targets, outside) in found.items():
                        site = pairs.setdefault(key, [set(), False])
                        site[0] |= targets
                        site[1] |= outside
                # Files the unit meant to walk them never included (an #if): on their own.
                todo = sorted(set(f for f in todo) - walked)
    written = collections.Counter()
    with open(out_path, "w") as out:
        for (edge, path, line, name), (answers, outside) in sorted(pairs.items()):
            targets = set()
            for a in answers:
                if a[0] == "usr":
                    targets |= usrs.get(a[1], set())
                else:
                    targets.add(a)
            if not targets and not outside:
                continue
            out.write(
                json.dumps(
                    {
                        "edge": edge,
                        "path": path,
                        "line": line,
                        "name": name,
                        "targets": [{"path": p, "line": l} for p, l in sorted(targets)],
                        "external": not targets,
                    }
                )
                + "\n"
            )
            written[edge] += 1
    missed = [rel_to(f, root) for f in targets_wanted if f not in walked and not only_includes(f)]
    print(
        f"cpp oracle: {written['calls']} call sites, {written['inherits']} inherits sites; "
        f"{stats['units']} units parsed ({stats['units_with_errors']} with errors, "
        f"{stats['batches_redone']} batches redone one by one, "
        f"{stats['units_failed']} failed); {len(missed)} files not walked; "
        f"calls skipped: {stats['calls_unresolved']} unresolved in templates, "
        f"{stats['calls_through_variables']} through variables, "
        f"{stats['calls_in_macros']} made by macro bodies, "
        f"{stats['calls_failed']} errors; {stats['bases_unresolved']} bases dependent, "
        f"{stats['bases_in_macros']} written by macros; "
        f"{time.time() - started:.0f}s",
        file=sys.stderr,
    )
    if os.environ.get("CODEGRAPH_CPP_VERBOSE"):
        for secs, f in sorted(slow, reverse=True)[:10]:
            print(f"  {secs:6.1f}s {f}", file=sys.stderr)
        for f, errs in errors[:20]:
            print(f"  errors in {f}: {errs[0]}", file=sys.stderr)
        for f in missed[:20]:
            print(f"  not walked: {f}", file=sys.stderr)


def rel_to(path, root):
    return os.path.relpath(path, root)


if __name__ == "__main__":
    main()
