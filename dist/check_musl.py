#!/usr/bin/env python3
"""Check the musl build's files (the last step of `make dist-musl`).

    python3 dist/check_musl.py --library lib/libcgagent.so \
        --exports preload/libcgagent.map --command bin/cgagent

Fails with one line per problem when
  - the library needs anything but musl's libc.so (every bundled library
    is linked in; libcurl is loaded at run time), or needs a symbol
    version (musl has none: a versioned reference is glibc's);
  - the library's defined dynamic symbols differ from the global names of
    its version script (the interposed libc entry points only);
  - the command is not static (it must run on glibc and musl images
    alike: `cgagent run` is the one entrypoint wrapper for both);
  - either has an RPATH or RUNPATH.
Prints "musl: ok: ..." and exits 0 otherwise.  Reads ELF with binutils'
readelf, through dist/check_portable.py's helpers; standard library only.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_portable import dynamic, export_problems, readelf  # noqa: E402

MUSL_LIBS = {"libc.so"}


def check_library(path, exports_map):
    problems = []
    needed, paths = dynamic(path)
    for lib in needed:
        if lib not in MUSL_LIBS:
            problems.append("%s needs %s, which is not musl's libc" % (path, lib))
    if "Name: " in readelf("-V", path):
        problems.append("%s needs versioned symbols (glibc's?)" % path)
    for kind, value in paths:
        problems.append("%s has a %s (%s)" % (path, kind, value))
    return problems + export_problems(path, exports_map)


def check_command(path):
    headers = readelf("-l", path)
    problems = []
    if "INTERP" in headers.split():
        problems.append("%s has a program interpreter: it is not static" % path)
    needed, paths = dynamic(path)
    if needed:
        problems.append("%s needs %s: it is not static" % (path, ", ".join(needed)))
    for kind, value in paths:
        problems.append("%s has a %s (%s)" % (path, kind, value))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--exports", required=True)
    ap.add_argument("--command", required=True)
    args = ap.parse_args()
    problems = check_library(args.library, args.exports) + check_command(args.command)
    for p in problems:
        print("musl: " + p)
    if problems:
        return 1
    print("musl: ok: %s needs only musl's libc.so and exports its version script's names; "
          "%s is static" % (os.path.basename(args.library), os.path.basename(args.command)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
