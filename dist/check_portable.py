#!/usr/bin/env python3
"""Check that ELF files load under every glibc since the floor.

    python3 dist/check_portable.py --floor 2.17 [--max-tls N] \
        [--exports FILE=MAP ...] FILE...

For each FILE (what `make dist` packs, and what tests/e2e/test_dist.py
unpacks), fails with one line per problem when
  - it needs a GLIBC_ version newer than the floor, or GLIBC_PRIVATE;
  - a DT_NEEDED entry is not one of glibc's own libraries;
  - it has an RPATH or RUNPATH;
  - (--exports) the dynamic symbols it defines differ from the global
    names of its version script;
  - (--max-tls, for the implementation, which is loaded with dlopen) its
    TLS segment is larger than N bytes: a dlopen'ed object's TLS comes out
    of the small static reserve every thread has.
Prints "portable: ok: ..." and exits 0 otherwise.  Reads ELF with
binutils' readelf; standard library only.
"""
import argparse
import re
import subprocess
import sys

GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
              "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), capture_output=True,
                          text=True, check=True).stdout


def version(text):
    return tuple(int(x) for x in text.split("."))


def glibc_versions(path):
    """Every version name the file needs (from .gnu.version_r)."""
    return set(re.findall(r"Name: (GLIBC_[\w.]+)", readelf("-V", path)))


def dynamic(path):
    out = readelf("-d", path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    paths = re.findall(r"\((RPATH|RUNPATH)\)\s+\w+ \w+: \[([^\]]*)\]", out)
    return needed, paths


def defined_symbols(path):
    names = set()
    for line in readelf("--dyn-syms", path).splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and f[0].endswith(":") and f[6] != "UND" and f[4] in ("GLOBAL", "WEAK"):
            names.add(f[7].split("@")[0])
    return names


def map_globals(path):
    with open(path) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    m = re.search(r"global:(.*?)local:", text, flags=re.S)
    return set(re.findall(r"([A-Za-z_]\w*);", m.group(1) if m else ""))


def export_problems(path, exports_map):
    """[] when the dynamic symbols `path` defines are exactly the global
    names of its version script, else the one line saying how they differ."""
    have, want = defined_symbols(path), map_globals(exports_map)
    if have == want:
        return []
    return ["%s exports %s; its version script %s"
            % (path, ", ".join(sorted(have - want)) or "nothing extra",
               "also names " + ", ".join(sorted(want - have)) if want - have else "names no more")]


def tls_size(path):
    for line in readelf("-l", path).splitlines():
        f = line.split()
        if f and f[0] == "TLS":
            return int(f[5], 16)
    return 0


def check(path, floor, exports_map, max_tls):
    problems = []
    for v in sorted(glibc_versions(path)):
        if v == "GLIBC_PRIVATE":
            problems.append("%s needs GLIBC_PRIVATE" % path)
        elif re.fullmatch(r"GLIBC_[\d.]+", v) and version(v[6:]) > floor:
            problems.append("%s needs %s, newer than the floor" % (path, v))
    needed, paths = dynamic(path)
    for lib in needed:
        if lib not in GLIBC_LIBS:
            problems.append("%s needs %s, which is not part of glibc" % (path, lib))
    for kind, value in paths:
        problems.append("%s has a %s (%s)" % (path, kind, value))
    if exports_map:
        problems += export_problems(path, exports_map)
    if max_tls is not None and tls_size(path) > max_tls:
        problems.append("%s has %d bytes of TLS, more than %d" % (path, tls_size(path), max_tls))
    return problems, needed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floor", default="2.17")
    ap.add_argument("--max-tls", action="append", default=[], metavar="FILE=BYTES")
    ap.add_argument("--exports", action="append", default=[], metavar="FILE=MAP")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    floor = version(args.floor)
    exports = dict(e.split("=", 1) for e in args.exports)
    max_tls = {k: int(v) for k, v in (t.split("=", 1) for t in args.max_tls)}
    problems, seen = [], set()
    for path in args.files:
        p, needed = check(path, floor, exports.get(path), max_tls.get(path))
        problems += p
        seen.update(needed)
    for p in problems:
        print("portable: " + p)
    if problems:
        return 1
    print("portable: ok: %d files, glibc %s or newer, needing only %s"
          % (len(args.files), args.floor, ", ".join(sorted(seen))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
