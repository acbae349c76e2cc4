#!/usr/bin/env python3
"""`make bench`: what the agent costs.

1. Handler cost per sample, as the agent measures it (debugInfo
   genericMetrics handlerNsAverage: time inside the SIGPROF handler, from
   reserve to commit, averaged over every sample of the run).
2. Whole-process overhead on the known-answer workload and on xz: user+sys
   CPU with and without the agent, runs interleaved, median and spread.
3. Building and encoding a 50,000-node call tree (tests/bench/calltree_bench.c).

Numbers are printed; nothing here asserts timing (that is what benches are
for: unit tests stay free of timing claims).
"""
import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CGAGENT_", "AWS_")) and k != "LD_PRELOAD"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cpu_of(argv, env, stdout=subprocess.DEVNULL):
    """user+sys seconds of one run of argv (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def handler_cost(build, workload):
    with tempfile.TemporaryDirectory() as out:
        env = clean_env(LD_PRELOAD=os.path.join(build, "libcgagent.so"), CGAGENT_OUTPUT=out)
        subprocess.run([workload, "1.0"], env=env, stdout=subprocess.DEVNULL, check=True)
        doc = json.load(open(glob.glob(os.path.join(out, "*.json"))[0]))
    gm = doc.get("debugInfo", {}).get("genericMetrics", {})
    md = doc["agentMetadata"]
    return gm.get("handlerNsAverage"), md["numTimesSampled"], md.get("agentOverhead", {})


def python_exes():
    """[(version, path)] of CPython >= 3.12 in ~/.pyenv/versions or on PATH."""
    import shutil
    out = []
    for v in ("3.12", "3.13", "3.14"):
        found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (v, v))))
        exe = found[-1] if found else shutil.which("python" + v)
        if exe:
            out.append((v, exe))
    return out


def handler_run(build, argv, **extra):
    """(handler ns per sample, samples, mean frames per sample) of one run."""
    with tempfile.TemporaryDirectory() as out:
        env = clean_env(LD_PRELOAD=os.path.join(build, "libcgagent.so"), CGAGENT_OUTPUT=out,
                        **extra)
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        ns = n = frames = weighted = 0
        for path in glob.glob(os.path.join(out, "*.json")):
            doc = json.load(open(path))
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
    ka = os.path.join(ROOT, "tests", "workloads", "python", "ka.py")
    deep = os.path.join(build, "workloads", "deep_stack")
    runs = []
    for v, exe in python_exes():
        runs.append(("python %s, Python frames" % v, [exe, ka, "1.5"], {}))
        runs.append(("python %s, native only" % v, [exe, ka, "1.5"], {"PYTHONPERFSUPPORT": "0"}))
    if not runs:
        print("   (no CPython 3.12 or newer found)")
        return
    c_ns, c_n, c_depth = handler_run(build, [deep, "4.8", "20"])
    print("   %-30s %6.0f ns per sample, %4d samples, %4.1f frames" % (
        "C deep_stack (depth 20)", c_ns or 0, c_n, c_depth))
    for name, argv, extra in runs:
        ns, n, depth = handler_run(build, argv, **extra)
        print("   %-30s %6.0f ns per sample, %4d samples, %4.1f frames, %.2fx the C cost" % (
            name, ns or 0, n, depth, (ns or 0) / c_ns if c_ns else 0))


def overhead(build, argv, reps):
    lib = os.path.join(build, "libcgagent.so")
    base, prof = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(reps):
            base.append(cpu_of(argv, clean_env()))
            prof.append(cpu_of(argv, clean_env(LD_PRELOAD=lib, CGAGENT_OUTPUT=out)))
    mb, mp = statistics.median(base), statistics.median(prof)
    spread = (max(base) - min(base)) / mb * 100 if mb else 0
    return mb, mp, mp / mb if mb else float("nan"), spread


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    workload = os.path.join(build, "workloads", "known_answer")

    print("== 1. SIGPROF handler cost (measured inside the handler)")
    ns, samples, ovh = handler_cost(build, workload)
    print("   %s ns per sample over %d samples; agentOverhead %s"
          % ("%.0f" % ns if ns is not None else "n/a", samples, ovh))
    if ns is not None:
        print("   at 100 Hz that is %.3f%% of one busy thread's CPU" % (ns * 100 / 1e9 * 100))

    print("== 1b. Handler cost on CPython vs a C program of about the same depth")
    python_vs_c(build)

    print("== 2. Whole-process CPU overhead (user+sys; %d interleaved runs each)" % args.reps)
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data.txt")
        with open(data, "w") as f:
            for i in range(150000):
                f.write("line %d %x %o payload payload %d\n" % (i, i * 7919, i, i % 97))
        for name, argv in (("known_answer 0.5", [workload, "0.5"]),
                           ("xz -9 -T1", ["xz", "-9", "-T1", "-c", data])):
            mb, mp, ratio, spread = overhead(build, argv, args.reps)
            print("   %-18s base %.3f s  with agent %.3f s  ratio %.3f  (base spread %.1f%%)"
                  % (name, mb, mp, ratio, spread))

    print("== 3. Call tree: build and encode 50,000 nodes")
    src = os.path.join(ROOT, "tests", "bench", "calltree_bench.c")
    if os.path.exists(src):
        exe = os.path.join(build, "calltree_bench")
        subprocess.run(["make", "-s", "--no-print-directory", "BUILD=" + args.build,
                        os.path.relpath(exe, ROOT)], cwd=ROOT, check=True)
        subprocess.run([exe], check=True)
    else:
        print("   (tests/bench/calltree_bench.c not present)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
