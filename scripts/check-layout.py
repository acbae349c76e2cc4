#!/usr/bin/env python3
"""The layout rules of the tree, checked (run by `make test` and
`make check-layout`; see docs/internals.md, "Layout and dependencies").

  1. Rooms and their order.  Every C file of the product lives in one room.
     A room may use (include, or call at link time) the rooms below it in
     ORDER, never one above it or beside it on the same level:

         shim                    the preload shim (libcgagent.so; preload/bridge.h and
                                 core/agent/config_privilege.c only)
         preload, cli            entry points (one level: neither uses the other)
         core/agent              orchestration
         core/runtime            language runtimes inside the process (JVM)
         core/upload             CodeGuru client, uploader, fleet, local sink
         core/profile            call tree and every output format
         core/symbols            ELF symbols, perf maps, demanglers
         core/sample             timers, rings, threads, wall clock
         sts                     credentials
         sigv4                   signing
         core/base               HTTP, logging, errors, strings

     A header named *_internal.h is private to its room.
  2. Sizes.  No source file over MAX_LINES lines, except those in
     SIZE_EXCEPTIONS, each with its reason.
  3. Headers.  Every header of a room opens with a comment that says what
     the module owns ("Owns:"), who may call it from which thread ("Thread
     safety:") and whether it is async-signal-safe ("Signal safety:").
  4. Docs.  Every path of the tree named in README.md, DEVELOPERS.md,
     docs/*.md and tests/README.md exists (a path with * must match; one
     with a <placeholder> is a pattern and is not checked).

With --build DIR, link edges are checked too: each undefined symbol of an
object in DIR/obj/ is looked up among the symbols the other objects
define, so a call that reaches up by name (say, to a function preload/
defines) fails even without an #include.  The libc names preload/
interposes (the global: list of preload/libcgagent.map, getenv among them)
count as libc's: calling getenv is not a call up into preload/.

Prints one line per problem and exits 1 if there is any; else one line
saying what was checked and exits 0.  Python 3 standard library; `nm` for
--build.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

ORDER = [  # bottom first; rooms in one tuple share a level
    ("core/base",),
    ("sigv4",),
    ("sts",),
    ("core/sample",),
    ("core/symbols",),
    ("core/profile",),
    ("core/upload",),
    ("core/runtime",),
    ("core/agent",),
    ("preload", "cli"),
    ("shim",),
]
LEVEL = {room: i for i, rooms in enumerate(ORDER) for room in rooms}
TOP_DIRS = ("shim", "preload", "cli", "core", "sts", "sigv4")

MAX_LINES = 600
# path -> why it may be longer.  Only generated or vendored data belongs
# here; code that grows past the limit is split along its seams instead.
SIZE_EXCEPTIONS = {
}
SOURCE_SUFFIXES = (".c", ".h", ".py", ".sh", ".mk")
SOURCE_NAMES = ("Makefile",)

HEADER_LABELS = ("Owns:", "Thread safety:", "Signal safety:")

DOCS = ("README.md", "DEVELOPERS.md", "tests/README.md", "docs/*.md")
DOC_PREFIXES = ("shim", "preload", "cli", "core", "sts", "sigv4", "scripts", "tests", "docs")
DOC_PATH = re.compile(r"(?<![\w./$-])((?:%s)/[\w./*<>-]*)" % "|".join(DOC_PREFIXES))
SKIP_DIRS = {".git", "build", "node_modules", "__pycache__"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def room_of(path):
    """The room of a repository-relative path, or None."""
    parts = path.split("/")
    if parts[0] == "core":
        return "core/" + parts[1] if len(parts) > 2 else None
    return parts[0] if parts[0] in TOP_DIRS and len(parts) > 1 else None


def below(rooms):
    return ", ".join(r for r in LEVEL if LEVEL[r] < LEVEL[rooms]) or "nothing"


def edge_problem(src_room, dst_room, dst):
    """None when src_room may use dst (in dst_room), else the problem."""
    if dst_room == src_room:
        return None
    if dst_room is None:
        return "outside", "is in no room"
    if dst.endswith("_internal.h"):
        return "private", "is private to %s" % dst_room
    if LEVEL[dst_room] > LEVEL[src_room]:
        return "up", "is above it (%s may use: %s)" % (src_room, below(src_room))
    if LEVEL[dst_room] == LEVEL[src_room]:
        return "sideways", "is beside it (%s may use: %s)" % (src_room, below(src_room))
    return None


def product_files(root):
    """(path, room) of every .c/.h under the product's top directories."""
    out = []
    for top in TOP_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for f in sorted(filenames):
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dirpath, f), root)
                    out.append((rel, room_of(rel)))
    return out


def source_files(root):
    """Every source file of the tree (git's list when it is a checkout)."""
    try:
        names = subprocess.run(
            ["git", "-C", root, "ls-files", "-co", "--exclude-standard"],
            capture_output=True, text=True, check=True).stdout.split("\n")
        if not subprocess.run(["git", "-C", root, "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True).stdout.strip() == \
                os.path.realpath(root):
            raise OSError("not the top of a checkout")
    except (OSError, subprocess.CalledProcessError):
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            names += [os.path.relpath(os.path.join(dirpath, f), root) for f in filenames]
    return sorted(n for n in names if n and os.path.isfile(os.path.join(root, n)) and
                  (n.endswith(SOURCE_SUFFIXES) or os.path.basename(n) in SOURCE_NAMES))


def check_rooms_and_includes(root, files, problems):
    edges = 0
    for path, room in files:
        if room is None or room not in LEVEL:
            problems.append("room: %s is in no room (rooms: %s)"
                            % (path, ", ".join(LEVEL)))
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                dst = m.group(1)
                edges += 1
                if not os.path.isfile(os.path.join(root, dst)):
                    problems.append("include: %s:%d includes %s, which does not exist "
                                    "(includes name paths from the top of the tree)"
                                    % (path, n, dst))
                    continue
                p = edge_problem(room, room_of(dst), dst)
                if p:
                    problems.append("%s: %s:%d (%s) includes %s, which %s"
                                    % (p[0], path, n, room, dst, p[1]))
    return edges


def nm_symbols(objects):
    """{object: (defined globals, undefined)} from one nm run."""
    out = {o: (set(), set()) for o in objects}
    if not objects:
        return out
    res = subprocess.run(["nm", "-P", "-A"] + objects, capture_output=True, text=True)
    for line in res.stdout.splitlines():
        m = re.match(r"^(.*?):\s*(\S+) (\S)", line)
        if not m or m.group(1) not in out:
            continue
        obj, sym, kind = m.groups()
        if kind == "U":
            out[obj][1].add(sym)
        elif kind.isupper() and kind not in "VW":
            out[obj][0].add(sym)
    return out


def exported_names(root):
    """The names the tree defines for the dynamic loader: the global: lists
    of the version scripts (libc's wrappers, the allocator preload/bridge.c
    forwards to the program's, and the shim's cgagent_shim_bridge_1, which the
    implementation finds in the program's scope by design: preload/bridge.h)."""
    names = set()
    for rel in ("preload/libcgagent.map", "preload/impl.map", "shim/libcgagent.map"):
        try:
            text = open(os.path.join(root, rel)).read()
        except OSError:
            continue
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        m = re.search(r"global:(.*?)local:", text, flags=re.S)
        if m:
            names |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*;", m.group(1)))
    return names


def check_links(root, build, problems):
    objdir = os.path.join(build, "obj")
    objects, source = [], {}
    for dirpath, _, filenames in os.walk(objdir):
        for f in filenames:
            if not f.endswith(".o"):
                continue
            obj = os.path.join(dirpath, f)
            src = os.path.relpath(obj, objdir)[:-2] + ".c"
            # Objects of sources that no longer exist are stale: skip them.
            if room_of(src) and os.path.isfile(os.path.join(root, src)):
                objects.append(obj)
                source[obj] = src
    syms = nm_symbols(sorted(objects))
    # libc's entry points that preload/ interposes (getenv, pthread_create,
    # ...) are libc's names: a call to one is a call to libc, not upward.
    interposed = exported_names(root)
    definer = {}
    for obj, (defined, _) in syms.items():
        for s in defined:
            if s not in interposed:
                definer.setdefault(s, source[obj])
    edges = 0
    for obj in sorted(syms):
        src = source[obj]
        for s in sorted(syms[obj][1]):
            dst = definer.get(s)
            if not dst:
                continue
            edges += 1
            p = edge_problem(room_of(src), room_of(dst), "")
            if p:
                problems.append("link %s: %s (%s) calls %s, defined in %s, which %s"
                                % (p[0], src, room_of(src), s, dst, p[1]))
    return len(objects), edges


def check_sizes(root, problems):
    files = source_files(root)
    for path in files:
        with open(os.path.join(root, path), "rb") as f:
            n = f.read().count(b"\n")
        if n > MAX_LINES and path not in SIZE_EXCEPTIONS:
            problems.append("size: %s has %d lines (at most %d; split it along its seams, "
                            "or list generated data in SIZE_EXCEPTIONS with the reason)"
                            % (path, n, MAX_LINES))
    for path in SIZE_EXCEPTIONS:
        if path not in files:
            problems.append("size: SIZE_EXCEPTIONS names %s, which is not in the tree" % path)
    return len(files)


def opening_comment(text):
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return m.group(1) if m else ""


def check_headers(root, files, problems):
    n = 0
    for path, room in files:
        if not path.endswith(".h") or room is None:
            continue
        n += 1
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            comment = opening_comment(f.read())
        missing = [l for l in HEADER_LABELS if l not in comment]
        if missing:
            problems.append("header: %s: its opening comment lacks %s"
                            % (path, ", ".join('"%s"' % l for l in missing)))
    return n


def check_docs(root, problems):
    n = 0
    for pattern in DOCS:
        for doc in sorted(glob.glob(os.path.join(root, pattern))):
            rel = os.path.relpath(doc, root)
            with open(doc, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    for m in DOC_PATH.finditer(line):
                        path = m.group(1).rstrip(".")
                        if "<" in path:  # a pattern such as tests/unit/<module>_test.c
                            continue
                        n += 1
                        if "*" in path:
                            ok = glob.glob(os.path.join(root, path))
                        else:
                            ok = os.path.exists(os.path.join(root, path))
                        if not ok:
                            problems.append("doc: %s:%d names %s, which is not in the tree"
                                            % (rel, lineno, path))
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="top of the tree (default: this script's checkout)")
    ap.add_argument("--build", help="build directory whose obj/ to check for link edges")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    problems = []
    files = product_files(root)
    includes = check_rooms_and_includes(root, files, problems)
    summary = ["%d files in %d rooms, %d include edges" % (len(files), len(LEVEL), includes)]
    if args.build:
        build = os.path.join(root, args.build) if not os.path.isabs(args.build) else args.build
        if os.path.isdir(os.path.join(build, "obj")):
            objs, links = check_links(root, build, problems)
            summary.append("%d objects, %d link edges" % (objs, links))
        else:
            summary.append("no objects in %s (link edges not checked)" % build)
    summary.append("%d source files within %d lines" % (check_sizes(root, problems), MAX_LINES))
    summary.append("%d headers" % check_headers(root, files, problems))
    summary.append("%d paths in docs" % check_docs(root, problems))
    for p in problems:
        print("check-layout: " + p)
    if problems:
        print("check-layout: %d problem%s" % (len(problems), "" if len(problems) == 1 else "s"))
        return 1
    print("check-layout: ok: " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
