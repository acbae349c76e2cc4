"""Debian 11's glibc (2.31) and programs, to run under it.

    root = debian11.root()        # or raises unittest.SkipTest with the reason
    argv, env = debian11.command(root, ["usr/bin/python3.9", "-c", "..."])

The packages of tests/data/debian11.lock are fetched once from Debian's
archive with apt-get through a private configuration (lists, cache and
sources of its own under BUILD/debian11; the machine's apt sources and
state are never read or written) and unpacked with dpkg -x into
BUILD/debian11/root.  A program runs as on a Debian 11 host: a copy of it
whose interpreter is that glibc's loader (patchelf), with that glibc's
library directories first on the search path, so that everything it loads,
a preloaded agent's dependencies included, is Debian 11's.
"""
import os
import shutil
import subprocess
import unittest

from e2e import profiles as P

LOCK = os.path.join(P.ROOT, "tests", "data", "debian11.lock")
SUITE = "bullseye"
LIBDIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
LOADER = "lib/x86_64-linux-gnu/ld-2.31.so"


def locked():
    with open(LOCK) as f:
        return [line.split()[:2] for line in f if line.strip() and not line.startswith("#")]


def _fetch(top):
    apt, debs, root = (os.path.join(top, d) for d in ("apt", "debs", "root"))
    for d in (os.path.join(apt, "lists", "partial"),
              os.path.join(apt, "cache", "archives", "partial"), debs):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(apt, "sources.list"), "w") as f:
        f.write("deb http://deb.debian.org/debian %s main\n" % SUITE)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    opts = ["-q", "-o", "Dir::Etc::SourceList=" + os.path.join(apt, "sources.list"),
            "-o", "Dir::Etc::SourceParts=/dev/null", "-o", "Dir::State::Lists=" +
            os.path.join(apt, "lists"), "-o", "Dir::Cache=" + os.path.join(apt, "cache"),
            "-o", "Dir::State::status=/dev/null", "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=" + user]
    up = subprocess.run(["apt-get"] + opts + ["update"], capture_output=True, text=True)
    if up.returncode != 0:
        return "apt-get update of Debian %s failed: %s" % (SUITE, up.stderr.strip()[-300:])
    want = ["%s=%s" % (p, v) for p, v in locked()]
    got = subprocess.run(["apt-get"] + opts + ["download"] + want, cwd=debs,
                         capture_output=True, text=True)
    if got.returncode != 0:
        return "cannot fetch Debian 11's packages (%s): %s" % (
            " ".join(want), got.stderr.strip()[-300:])
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for deb in sorted(os.listdir(debs)):
        subprocess.run(["dpkg-deb", "-x", os.path.join(debs, deb), tmp], check=True)
    os.replace(tmp, root)
    return None


def root():
    """BUILD/debian11/root, fetched on first use; raises SkipTest naming
    what is missing when it cannot be had."""
    for tool in ("apt-get", "dpkg-deb", "patchelf"):
        if not shutil.which(tool):
            raise unittest.SkipTest("%s is not installed (make deps)" % tool)
    top = os.path.join(P.BUILD, "debian11")
    stamp = os.path.join(top, "root", ".lock")
    with open(LOCK) as f:
        lock_text = f.read()
    if not (os.path.exists(stamp) and open(stamp).read() == lock_text):
        why = _fetch(top)
        if why:
            raise unittest.SkipTest(why)
        with open(stamp, "w") as f:
            f.write(lock_text)
    return os.path.join(top, "root")


def command(rootdir, argv, workdir):
    """(argv, extra environment) that run Debian 11's program argv[0] (a
    path inside rootdir) under Debian 11's glibc.  The program is copied
    into workdir with its interpreter set to that glibc's loader."""
    prog = os.path.join(workdir, os.path.basename(argv[0]))
    shutil.copy(os.path.join(rootdir, argv[0]), prog)
    subprocess.run(["patchelf", "--set-interpreter", os.path.join(rootdir, LOADER), prog],
                   check=True)
    path = ":".join(os.path.join(rootdir, d) for d in LIBDIRS)
    return [prog] + list(argv[1:]), {"LD_LIBRARY_PATH": path}
