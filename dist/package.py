#!/usr/bin/env python3
"""Pack the portable build into its tarball (the last step of `make dist`).

    python3 dist/package.py --build build/dist/build --deps build/dist/deps \
        --name cgagent-0.1.0-linux-x86_64 --output build/cgagent-....tar.gz

The tarball holds one directory, NAME/:

    lib/libcgagent.so           the object to preload
    lib/libcgagent-impl.so      the agent, which it loads
    bin/cgagent                 the command
    share/man/man1/cgagent.1, share/man/man5/cgagent.conf.5
    share/doc/cgagent/README    what is inside, and docs/install.md's address
    share/doc/cgagent/deps.lock the Debian versions bundled
    share/doc/cgagent/licenses/ each bundled library's debian/copyright

Before packing, every ELF file is checked by dist/check_portable.py
(glibc floor, dependencies, exports, TLS): a failed check fails `make dist`.

With --musl (make dist-musl, dist/musl.mk) it packs the musl build
instead: lib/libcgagent.so (the one library), bin/cgagent (static), the
same man pages and licences plus musl's own (the command links it in),
checked by dist/check_musl.py.
The archive is reproducible: names sorted, owner root, times those of the
commit (SOURCE_DATE_EPOCH when set), gzip without a name or time.
Standard library only, plus binutils' strip and readelf.
"""
import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The implementation's TLS: the agent's own word (core/base/thread_tls.h)
# and libunwind's fast-trace cache (dist/build-deps.sh), 8 + 16 bytes, the
# same total as the stock build, where libunwind.so.8 holds its 16.
IMPL_MAX_TLS = 24

README = """cgagent %(version)s for Linux %(arch)s, portable build

lib/libcgagent.so       preload this: LD_PRELOAD=/path/to/lib/libcgagent.so
lib/libcgagent-impl.so  the agent; keep it beside libcgagent.so
bin/cgagent             the command (cgagent run, cgagent check, ...)

Runs on glibc %(floor)s and newer (Amazon Linux 2 and 2023, Debian,
Ubuntu, RHEL and their container images).  Needs nothing but glibc;
libcurl.so.4, when the host has it, is loaded at run time to send profiles
to CodeGuru Profiler (without it, profiles are written locally).

Bundled, from Debian's sources (share/doc/cgagent/deps.lock):
%(bundled)s
Their licences are in share/doc/cgagent/licenses/.
How to install and check it: docs/install.md in cgagent's repository.
"""

README_MUSL = """cgagent %(version)s for Linux %(arch)s, musl build

lib/libcgagent.so       preload this into programs built for musl (Alpine):
                        LD_PRELOAD=/path/to/lib/libcgagent.so
bin/cgagent             the command, linked statically: it runs on any
                        Linux, and `cgagent run` preloads the agent built
                        for the program's libc (lib/musl/ beside a glibc
                        install's lib/, docs/install.md)

Needs nothing but musl; libcurl.so.4, when the image has it (apk add
libcurl), is loaded at run time to send profiles to CodeGuru Profiler
(without it, profiles are written locally).

Bundled, from Debian's sources (share/doc/cgagent/deps.lock), and musl
%(musl)s in bin/cgagent:
%(bundled)s
Their licences are in share/doc/cgagent/licenses/.
How to install and check it: docs/install.md in cgagent's repository.
"""
MUSL_COPYRIGHT = "/usr/share/doc/musl/copyright"


def source_epoch():
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    out = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%ct"],
                         capture_output=True, text=True)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else 0


def locked(deps_lock):
    rows = []
    with open(deps_lock) as f:
        for line in f:
            f4 = line.split()
            if len(f4) == 4 and not line.startswith("#"):
                rows.append((f4[1], f4[2]))
    return rows


def stage(args, top):
    lib, bindir = os.path.join(top, "lib"), os.path.join(top, "bin")
    doc = os.path.join(top, "share", "doc", "cgagent")
    for d in (lib, bindir, os.path.join(doc, "licenses"),
              os.path.join(top, "share", "man", "man1"), os.path.join(top, "share", "man", "man5")):
        os.makedirs(d)
    files = {os.path.join(lib, "libcgagent.so"): "libcgagent.so",
             os.path.join(lib, "libcgagent-impl.so"): "libcgagent-impl.so",
             os.path.join(bindir, "cgagent"): "cgagent"}
    if args.musl:
        del files[os.path.join(lib, "libcgagent-impl.so")]
    for dst, name in files.items():
        shutil.copyfile(os.path.join(args.build, name), dst)
        # Debug sections off; the symbol table stays for crash reports.
        subprocess.run(["strip", "--strip-debug", dst], check=True)
    shutil.copyfile(os.path.join(ROOT, "man", "cgagent.1"),
                    os.path.join(top, "share", "man", "man1", "cgagent.1"))
    shutil.copyfile(os.path.join(ROOT, "man", "cgagent.conf.5"),
                    os.path.join(top, "share", "man", "man5", "cgagent.conf.5"))
    lock = os.path.join(ROOT, "dist", "deps.lock")
    shutil.copyfile(lock, os.path.join(doc, "deps.lock"))
    rows = locked(lock)
    for pkg, _ in rows:
        copyright_file = None
        for base, _dirs, names in os.walk(os.path.join(args.deps, "src", pkg)):
            if "copyright" in names and base.endswith(("debian", "/doc/" + pkg)):
                copyright_file = os.path.join(base, "copyright")
                break
        if not copyright_file:
            sys.exit("dist: no debian/copyright for %s in %s" % (pkg, args.deps))
        shutil.copyfile(copyright_file, os.path.join(doc, "licenses", pkg + ".copyright"))
    arch = args.name.split("-")[3]
    if args.musl:
        shutil.copyfile(MUSL_COPYRIGHT, os.path.join(doc, "licenses", "musl.copyright"))
        with open(os.path.join(doc, "README"), "w") as f:
            f.write(README_MUSL % {"version": args.name.split("-")[1], "arch": arch,
                                   "musl": musl_version(),
                                   "bundled": "".join("  %s %s\n" % r for r in rows)})
        check = [sys.executable, os.path.join(ROOT, "dist", "check_musl.py"),
                 "--library", os.path.join(lib, "libcgagent.so"),
                 "--exports", os.path.join(ROOT, "preload", "libcgagent.map"),
                 "--command", os.path.join(bindir, "cgagent")]
        if subprocess.run(check).returncode != 0:
            sys.exit("dist: the musl checks failed; nothing was packed")
        return
    with open(os.path.join(doc, "README"), "w") as f:
        f.write(README % {"version": args.name.split("-")[1], "arch": arch,
                          "floor": args.floor,
                          "bundled": "".join("  %s %s\n" % r for r in rows)})
    check = [sys.executable, os.path.join(ROOT, "dist", "check_portable.py"),
             "--floor", args.floor,
             "--exports", "%s=%s" % (os.path.join(lib, "libcgagent.so"),
                                     os.path.join(ROOT, "shim", "libcgagent.map")),
             "--exports", "%s=%s" % (os.path.join(lib, "libcgagent-impl.so"),
                                     os.path.join(ROOT, "preload", "impl.map")),
             "--max-tls", "%s=%d" % (os.path.join(lib, "libcgagent-impl.so"), IMPL_MAX_TLS)]
    if subprocess.run(check + sorted(files)).returncode != 0:
        sys.exit("dist: the portable checks failed; nothing was packed")


def musl_version():
    """The version of Debian's musl package the command was linked with."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "musl-dev"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "(unknown)"


def pack(top, output, epoch):
    base = os.path.dirname(top)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = [top]
        for d, dirs, names in os.walk(top):
            dirs.sort()
            paths += [os.path.join(d, n) for n in sorted(dirs + names)]
        for p in sorted(set(paths)):
            info = tar.gettarinfo(p, os.path.relpath(p, base))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = epoch
            executable = os.path.relpath(p, top).startswith("bin" + os.sep)
            info.mode = 0o755 if info.isdir() or executable else 0o644
            if info.isfile():
                with open(p, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    tmp = output + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                              mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue())
    os.replace(tmp, output)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--deps", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--floor", default="2.17")
    ap.add_argument("--musl", action="store_true", help="the musl build (make dist-musl)")
    args = ap.parse_args()
    staging = os.path.join(os.path.dirname(os.path.abspath(args.output)),
                           "dist-musl" if args.musl else "dist", "staging")
    shutil.rmtree(staging, ignore_errors=True)
    top = os.path.join(staging, args.name)
    stage(args, top)
    pack(top, args.output, source_epoch())
    print("  DIST    %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
