"""Helpers for end-to-end tests: run programs under the agent, read the
profile documents it writes, and summarise them.

Profile documents are the CodeGuru JSON of SPEC §5; see docs/format.md.
"""
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CGAGENT_BUILD", os.path.join(ROOT, "build"))
# CGAGENT_DIST names an unpacked portable tarball (make dist; `make test`
# runs the end-to-end suite a second time with it): the agent and the
# command come from its lib/ and bin/, the workloads still from BUILD.
DIST = os.environ.get("CGAGENT_DIST", "")
AGENT_DIR = os.path.join(DIST, "lib") if DIST else BUILD
LIB = os.path.join(AGENT_DIR, "libcgagent.so")
# The agent proper, which the shim (LIB) loads deep-bound; sanitizer builds
# have one library instead (Makefile, SPLIT).
IMPL = os.path.join(AGENT_DIR, "libcgagent-impl.so")
SPLIT = os.path.exists(IMPL)
CLI = os.path.join(DIST, "bin", "cgagent") if DIST else os.path.join(BUILD, "cgagent")
WORKLOADS = os.path.join(BUILD, "workloads")
# What LD_PRELOAD names: the library, behind the sanitizer runtime a
# sanitizer build needs loaded first (`make stress-asan` sets
# CGAGENT_PRELOAD_FIRST to libasan.so; read here, before clean_env drops
# CGAGENT_ variables).
PRELOAD_FIRST = os.environ.get("CGAGENT_PRELOAD_FIRST", "")
PRELOAD = PRELOAD_FIRST + " " + LIB if PRELOAD_FIRST else LIB


def clean_env(**extra):
    """The test process's environment without any agent or AWS settings,
    plus `extra` (values of None remove a variable)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CGAGENT_", "AWS_")) and k != "LD_PRELOAD"}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run(argv, env, timeout=120, stdin=None, cwd=None):
    return subprocess.run(argv, env=env, capture_output=True, timeout=timeout,
                          stdin=stdin, cwd=cwd)


def run_profiled(argv, outdir, timeout=120, stdin=None, cwd=None, **extra):
    env = clean_env(LD_PRELOAD=PRELOAD, CGAGENT_OUTPUT=outdir, **extra)
    return run(argv, env, timeout=timeout, stdin=stdin, cwd=cwd)


def can_drop_to_nobody():
    """Whether this process can run a program as nobody with setpriv (it
    is root, setpriv is installed and the nobody user exists): the tests
    of setuid-root programs and of privilege drops need it."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return True


def documents(outdir):
    return sorted(glob.glob(os.path.join(outdir, "*.json")))


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def walk(node, path=()):
    """Yields (path, node) for every node below `node`; path is the tuple
    of (name, file) from the root."""
    for name, child in node.get("children", {}).items():
        p = path + ((name, child.get("file")),)
        yield p, child
        yield from walk(child, p)


def self_counts(doc, key="RUNNABLE"):
    """{frame name: self samples of `key`}."""
    out = {}
    for path, node in walk(doc["callgraph"]):
        c = node.get("counts", {}).get(key, 0)
        if c:
            out[path[-1][0]] = out.get(path[-1][0], 0) + c
    return out


def self_counts_by_file(doc, key="RUNNABLE"):
    """{(frame name, file): self samples of `key`}."""
    out = {}
    for path, node in walk(doc["callgraph"]):
        c = node.get("counts", {}).get(key, 0)
        if c:
            out[path[-1]] = out.get(path[-1], 0) + c
    return out


def stacks(doc, key="RUNNABLE"):
    """[(names root-first, self samples)] for every node with samples."""
    out = []
    for path, node in walk(doc["callgraph"]):
        c = node.get("counts", {}).get(key, 0)
        if c:
            out.append((tuple(n for n, _ in path), c))
    return out


def total(doc, key="RUNNABLE"):
    return sum(c for _, c in stacks(doc, key))


# CPU-clock timers are checked at scheduler ticks: when busy threads
# outnumber the cores, expiries are noticed late, arrive merged into one
# signal, and the places where they are noticed lean towards some code
# (docs/symbolizer.md, "Busy machines").  A test comparing sampled shares
# with a known answer is only fair on a machine that is not overcommitted.
MAX_MERGED = 0.05


def merged_fraction(docs):
    """Share of CPU samples that arrived merged into another's signal:
    under 1% on a quiet machine."""
    samples = signals = 0
    for doc in docs:
        samples += total(doc)
        signals += doc["debugInfo"].get("genericMetrics", {}).get("handlerCalls", 0)
    return 1.0 - signals / samples if samples else 0.0


def skip_if_busy(test, docs):
    """Skips `test`, saying why, when the run's samples show an
    overcommitted machine (not a verdict on the profiler either way)."""
    merged = merged_fraction(docs)
    if merged > MAX_MERGED:
        test.skipTest("the machine was busy during the run (%.0f%% of timer expiries came "
                      "merged; a fair share comparison needs <= %.0f%%)"
                      % (100 * merged, 100 * MAX_MERGED))


class TempDir:
    def __enter__(self):
        self._td = tempfile.TemporaryDirectory(prefix="cgagent-e2e-")
        return self._td.name

    def __exit__(self, *exc):
        self._td.cleanup()
