"""CPython in `make bench`.

- python_vs_c (section 1b): handler cost per sample on CPython 3.9, 3.11,
  3.12 and 3.13 (Python frames read from the interpreter's frame chain)
  beside a C program of about the same stack depth, as the agent
  measures it inside the handler (debugInfo.genericMetrics.
  handlerNsAverage), with the ratio to the C cost.  The C program runs
  twice: its leaf a tight loop (every cache left to the handler), and its
  leaf touching a 2 MiB working set between samples (one core's share of
  L2 on the build machine), as an interpreter touches its code and
  objects (tests/workloads/deep_stack.c): the handler's cost is mostly
  cache misses, so the second is the like-for-like comparison
  (docs/python.md, "Cost").
- call_overhead (section 2b): whole-process CPU time of a call-heavy
  Python program (tests/workloads/python/calls.py: recursive fib and a
  loop of method calls, fixed work) with and without the agent at 100 Hz
  on 3.11, 3.12 and 3.13, in interleaved rounds (side by side on two
  CPUs when there are two, tests/bench/runs.py), with an A/A pair (plain
  beside plain) showing the machine's noise; the median of the per-round
  ratios with its 95% interval (stats.median_ci).

Nothing here asserts a timing.
"""
import glob
import json
import os
import shutil
import statistics
import subprocess
import tempfile

import runs
from stats import fmt_ratio, median_ci

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYDIR = os.path.join(ROOT, "tests", "workloads", "python")
HANDLER_VERSIONS = ("3.9", "3.11", "3.12", "3.13")
CALL_VERSIONS = ("3.11", "3.12", "3.13")
MIN_ROUNDS = 9
WORKING_SET_MIB = 2


def find_python(version):
    """The newest pythonX.Y in ~/.pyenv/versions, else on PATH, else None
    (as tests/e2e/test_python.py finds them)."""
    found = sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
    return found[-1] if found else shutil.which("python" + version)


def handler_run(build, argv, **extra):
    """(handler ns per sample, samples, mean frames per sample) of one run."""
    with tempfile.TemporaryDirectory() as out:
        env = runs.clean_env(LD_PRELOAD=os.path.join(build, "libcgagent.so"), CGAGENT_OUTPUT=out,
                             **extra)
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        ns = n = frames = weighted = 0
        for path in glob.glob(os.path.join(out, "*.json")):
            with open(path) as f:
                doc = json.load(f)
            gm = doc.get("debugInfo", {}).get("genericMetrics", {})
            calls = gm.get("handlerCalls", 0)
            ns += gm.get("handlerNsAverage", 0) * calls
            n += calls

            def walk(node, depth):
                nonlocal frames, weighted
                c = node.get("counts", {}).get("RUNNABLE", 0)
                frames += c * depth
                weighted += c
                for child in node.get("children", {}).values():
                    walk(child, depth + 1)
            walk(doc["callgraph"], 0)
    return (ns / n if n else None), n, (frames / weighted if weighted else 0)


def python_vs_c(build):
    """Prints, per CPython found, its handler ns per sample beside the C
    program's (tight loop, and with a working set) and the ratios;
    returns them."""
    ka = os.path.join(PYDIR, "ka.py")
    deep = os.path.join(build, "workloads", "deep_stack")
    c_ns, c_n, c_depth = handler_run(build, [deep, "4.8", "20"])
    print("   %-36s %6.0f ns per sample, %4d samples, %4.1f frames" % (
        "C deep_stack (depth 20)", c_ns or 0, c_n, c_depth))
    w_ns, w_n, w_depth = handler_run(build, [deep, "4.8", "20", str(WORKING_SET_MIB)])
    print("   %-36s %6.0f ns per sample, %4d samples, %4.1f frames" % (
        "C deep_stack, %d MiB working set" % WORKING_SET_MIB, w_ns or 0, w_n, w_depth))
    out = {"c": {"ns": c_ns, "samples": c_n, "frames": c_depth},
           "c_working_set": {"ns": w_ns, "samples": w_n, "frames": w_depth}}
    for v in HANDLER_VERSIONS:
        exe = find_python(v)
        if not exe:
            print("   (no CPython %s found)" % v)
            continue
        try:
            ns, n, depth = handler_run(build, [exe, ka, "1.5"])
        except subprocess.CalledProcessError as e:
            # Said, and the rest of the bench goes on.
            print("   python %s: ka.py FAILED under the agent (status %d)" % (v, e.returncode))
            out[v] = {"failed": e.returncode}
            continue
        ratio = (ns or 0) / c_ns if c_ns else 0
        ratio_w = (ns or 0) / w_ns if w_ns else 0
        print("   %-36s %6.0f ns per sample, %4d samples, %4.1f frames; "
              "%.2fx C, %.2fx C with its working set" % (
                  "python %s, Python frames" % v, ns or 0, n, depth, ratio, ratio_w))
        out[v] = {"ns": ns, "samples": n, "frames": depth, "vs_c": ratio,
                  "vs_c_working_set": ratio_w}
    return out


def call_overhead(profs, rounds, quick):
    """Per CPython 3.11-3.13 found: calls.py with and without the agent,
    `rounds` interleaved rounds (at least MIN_ROUNDS), and an A/A pair;
    prints each CPU ratio with its 95% interval and returns them."""
    rounds = max(rounds, MIN_ROUNDS)
    units = "10" if quick else "40"
    out = {}
    for v in CALL_VERSIONS:
        exe = find_python(v)
        if not exe:
            print("   (no CPython %s found)" % v)
            continue
        argv = [exe, os.path.join(PYDIR, "calls.py"), units]
        comps = [("cgagent", "none"), ("none (A/A)", "none")]
        try:
            if runs.two_cpus():
                method = "side by side on two CPUs"
                pairs = runs.concurrent_pairs(argv, profs, comps, rounds)
                plain = [rb[0] for rs in pairs.values() for _, rb in rs]
                rat = {a: median_ci([ra[0] / rb[0] for ra, rb in pairs[(a, b)]])
                       for a, b in comps}
            else:
                method = "one after another, interleaved"
                res = runs.interleaved(argv, profs, ["none", "cgagent"], rounds)
                plain = [r[0] for r in res["none"]]
                rat = {a: median_ci([x[0] / y[0] for x, y in zip(res[a], res["none"])])
                       for a, _ in comps}
        except RuntimeError as e:  # a run exited non-zero (runs.run_measured)
            print("   python %s calls.py %s FAILED: %s" % (v, units, e))
            out[v] = {"failed": str(e)}
            continue
        print("   python %s calls.py %s (%d rounds, %s): plain %.3f CPU-s median" % (
            v, units, rounds, method, statistics.median(plain)))
        for name, r in rat.items():
            print("     %-24s CPU ratio %s" % (name, fmt_ratio(*r)))
        out[v] = {"method": method, "rounds": rounds, "ratio": rat,
                  "plain_cpu_s": statistics.median(plain)}
    return out
