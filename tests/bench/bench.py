#!/usr/bin/env python3
"""`make bench`: what the agent costs, beside gperftools and no profiler.

1. Signal handler cost at stack depths 10, 50 and 200, and at depth 50
   in a busy process (100 more threads, 100 more libraries, a library
   crossed at every other frame): one process per measurement alternates
   a signal to an empty handler (bare delivery) with a SIGPROF to the
   agent's handler, spinning on the CPU between them
   (tests/bench/signal_cost.c), plus the agent's own measure
   (debugInfo.genericMetrics.handlerNsAverage).
   1b. The handler's ns per sample on CPython 3.9, 3.11, 3.12 and 3.13
   beside a C program of about the same depth (tests/bench/python_bench.py).
2. Whole-process CPU time at 100 Hz: the plain and the profiled program
   side by side, one per CPU, in shuffled rounds (tests/bench/runs.py);
   median of the per-pair ratios with a 95% confidence interval, an A/A
   pair (plain beside plain) that shows the machine's noise, cgagent
   beside gperftools directly, and "signals only" (an empty SIGPROF
   handler at 100 Hz, tests/bench/signal_floor.c: what being interrupted
   costs, whatever the profiler does): the known-answer workload in
   fixed-work mode, xz, and the Java known-answer workload.
   For xz, beside the ratios, what each profiler's own code spends per
   run (start-up, SIGPROF handler, other threads, exit), measured from
   outside it the same way for each (tests/bench/own_cost.py): settled
   where the ratios' noise is larger than the profilers' differences.
   2b. A call-heavy Python program (tests/workloads/python/calls.py) with
   and without the agent on CPython 3.11, 3.12 and 3.13, at least 9
   interleaved rounds, with its A/A pair (tests/bench/python_bench.py).
3. Fixed cost per process: /bin/true under each profiler.
   Beside them, the agent's own CPU per second of run time by activity
   (debugInfo.genericMetrics agentCpuNs.*, docs/format.md).
   3b. Short-lived processes in wall-clock time, with and without the
   agent (tests/bench/startup_bench.py): fork children that _exit at once
   or after a failed exec (tests/bench/fork_cost.c), and `python -c pass`
   for CPython 3.9 and 3.12.
4. Peak RSS of the xz run under each profiler.
5. A loopback server under load: one redis-server per profiler, side by
   side, and redis-benchmark bursts against each in turn (GET throughput
   and p99 latency), when both are installed.
6. Building and encoding a 50,000-node call tree.

Prints a table and writes everything as JSON to BUILD/bench/results.json.
Nothing here asserts a timing: `make test` stays free of timing claims.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import own_cost  # noqa: E402
import python_bench  # noqa: E402
import redis_bench  # noqa: E402
import runs  # noqa: E402
import startup_bench  # noqa: E402
from stats import fmt_ratio, median_ci  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


BUSY_THREADS, BUSY_LIBS = 100, 100


def hop_libraries(build, d):
    """BUSY_LIBS copies of build/bench/hop.so in d: distinct files, so the
    loader maps each one (it shares a library only by name or inode)."""
    src = os.path.join(build, "bench", "hop.so")
    for i in range(BUSY_LIBS):
        shutil.copy(src, os.path.join(d, "hop_%03d.so" % i))
    return d


def handler_costs(build, rounds, count):
    """Per case, `rounds` processes of signal_cost in paired mode under
    the agent: each alternates a signal to an empty handler (bare
    delivery) with a SIGPROF to the agent's handler, spinning on the CPU
    between them; one ratio of medians per process.  The busy case is
    depth 50 in a process with BUSY_THREADS more (idle) threads and
    BUSY_LIBS more libraries, its stack crossing a library every other
    frame."""
    exe = os.path.join(build, "bench", "signal_cost")
    lib = os.path.join(build, "libcgagent.so")
    out = {}
    with tempfile.TemporaryDirectory() as hop_dir:
        hop_libraries(build, hop_dir)
        cases = [(10, []), (50, []), (200, []),
                 ("50 busy", [str(BUSY_THREADS), hop_dir])]
        for depth, extra in cases:
            bare, agent, inside = [], [], []
            for _ in range(rounds):
                with tempfile.TemporaryDirectory() as d:
                    # CGAGENT_CPU_HZ=0: no CPU timer, so the handler runs
                    # for the measured signals only (the ring never fills).
                    r = subprocess.run(
                        [exe, str(depth).split()[0], str(count), "paired"] + extra,
                        env=runs.clean_env(LD_PRELOAD=lib, CGAGENT_OUTPUT=d, CGAGENT_CPU_HZ=0),
                        capture_output=True, text=True, check=True)
                    words = r.stdout.split()
                    agent.append(int(words[words.index("median_ns") + 1]))
                    bare.append(int(words[words.index("bare_median_ns") + 1]))
                    doc = json.load(open(glob.glob(os.path.join(d, "*.json"))[0]))
                    gm = doc["debugInfo"].get("genericMetrics", {})
                    inside.append(gm.get("handlerNsAverage", float("nan")))
            ratio = median_ci([a / b for a, b in zip(agent, bare)])
            out[depth] = {"bare_ns": statistics.median(bare),
                          "agent_ns": statistics.median(agent),
                          "handler_inside_ns": statistics.median(inside), "ratio": ratio}
            label = ("depth %3d" % depth if isinstance(depth, int) else
                     "depth  50, %d threads + %d libraries" % (BUSY_THREADS, BUSY_LIBS))
            print("   %s: bare signal %6.0f ns, with the agent's handler %6.0f ns, "
                  "ratio %s; inside the handler %6.0f ns"
                  % (label, out[depth]["bare_ns"], out[depth]["agent_ns"], fmt_ratio(*ratio),
                     out[depth]["handler_inside_ns"]))
    return out


def ratios(results, base="none"):
    """{name: (median, lo, hi)} of per-round CPU ratios against `base`."""
    cpu = {n: [r[0] for r in rs] for n, rs in results.items()}
    return {n: median_ci([a / b for a, b in zip(cpu[n], cpu[base])])
            for n in cpu if n != base}


ACTIVITIES = ("drain", "threadScan", "wallSampling", "symbolization", "encoding",
              "localWrite", "upload", "other")


def agent_cpu(profs, before, wall_s):
    """The agent's CPU by activity (debugInfo.genericMetrics agentCpuNs.*)
    summed over the documents of the cgagent runs made since `before` (a
    set of output directories), in CPU ms per second of the runs' wall
    time; with the handler's share beside them.  Also returns the
    handler's average ns per sample over those runs."""
    ns = dict.fromkeys(ACTIVITIES + ("handler",), 0.0)
    calls = 0
    for d in set(glob.glob(os.path.join(profs.tmp, "cg*"))) - before:
        for path in glob.glob(os.path.join(d, "*.json")):
            gm = json.load(open(path))["debugInfo"].get("genericMetrics", {})
            for a in ACTIVITIES:
                ns[a] += gm.get("agentCpuNs." + a, 0)
            ns["handler"] += gm.get("handlerNsAverage", 0) * gm.get("handlerCalls", 0)
            calls += gm.get("handlerCalls", 0)
    per_s = {a: v / 1e6 / wall_s for a, v in ns.items()} if wall_s > 0 else {}
    return per_s, (ns["handler"] / calls if calls else float("nan"))


def comparisons(names):
    """Which pairs run side by side: each profiler against no profiler, the
    A/A control, and cgagent against gperftools directly."""
    out = [(n, "none") for n in names if n != "none"] + [("none (A/A)", "none")]
    if "gperftools" in names:
        out.append(("cgagent", "gperftools"))
    return out


def overhead_table(label, argv, profs, names, rounds, side_by_side=True):
    """CPU-time ratios of argv under each profiler, from concurrent pairs
    (tests/bench/runs.py) when side_by_side and the machine has two CPUs,
    else from sequential interleaved rounds.  Side by side suits programs
    that compute in their caches; two copies of a memory-bound program
    (xz's 8 MiB dictionary) slow each other unevenly, so those run one
    after another."""
    before = set(glob.glob(os.path.join(profs.tmp, "cg*")))
    if side_by_side and runs.two_cpus():
        pairs = runs.concurrent_pairs(argv, profs, comparisons(names), rounds)
        method = "side by side on two CPUs"
        by_name = {}
        for (a, b), rs in pairs.items():
            for ra, rb in rs:
                by_name.setdefault(a, []).append(ra)
                by_name.setdefault(b, []).append(rb)
        rat = {("%s vs %s" % (a, b) if b != "none" else a):
               median_ci([ra[0] / rb[0] for ra, rb in rs]) for (a, b), rs in pairs.items()}
    else:
        by_name = runs.interleaved(argv, profs, names, rounds)
        method = "one after another, interleaved"
        rat = ratios(by_name)
        if "gperftools" in by_name:
            rat["cgagent vs gperftools"] = ratios(by_name, base="gperftools")["cgagent"]
    print("   %s (%d rounds, %s): plain %.3f CPU-s median" % (
        label, rounds, method, statistics.median(r[0] for r in by_name["none"])))
    for n, r in rat.items():
        print("     %-24s CPU ratio %s" % (n, fmt_ratio(*r)))
    per_s, handler_ns = agent_cpu(profs, before, sum(r[1] for r in by_name["cgagent"]))
    print("     cgagent's own CPU, ms per second of run time (last document's "
          "encoding and write not counted):")
    print("       " + ", ".join("%s %.3f" % (a, v) for a, v in per_s.items()))
    print("       total %.3f ms/s (%.2f%% of one CPU); the handler %.0f ns per sample"
          % (sum(per_s.values()), sum(per_s.values()) / 10, handler_ns))
    return {"method": method, "handler_ns_per_sample": handler_ns,
            "cpu_s": {n: [r[0] for r in rs] for n, rs in by_name.items()},
            "rss_kib": {n: statistics.median(r[2] for r in rs) for n, rs in by_name.items()},
            "ratio": rat, "agent_cpu_ms_per_s": per_s}


def java_overhead(profs, rounds, seconds):
    """The Java known-answer workload (tests/workloads/java/KnownAnswer.java,
    `seconds` of thread CPU by its own clock) with and without the agent,
    interleaved; None when java or javac is missing."""
    if not (shutil.which("java") and shutil.which("javac")):
        print("   (java / javac not installed: make deps installs openjdk-17-jdk-headless)")
        return None
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(["javac", "-d", classes,
                        os.path.join(ROOT, "tests", "workloads", "java", "KnownAnswer.java")],
                       check=True, capture_output=True)
        return overhead_table("java KnownAnswer %s" % seconds,
                              ["java", "-cp", classes, "KnownAnswer", seconds], profs,
                              ["none", "cgagent"], rounds)


def fixed_cost(profs, names, n):
    out = {}
    for name in names:
        cpu = [runs.run_measured(["/bin/true"], profs.env(name))[0] for _ in range(n)]
        out[name] = statistics.mean(cpu) * 1e3
    base = out["none"]
    for name in names:
        print("     %-12s %.3f ms CPU per process (+%.3f ms)" % (name, out[name], out[name] - base))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=21, help="rounds per workload")
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller inputs")
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    rounds = 3 if args.quick else args.rounds
    profs = runs.Profilers(build)
    names = profs.names()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
               "profilers": names, "rounds": rounds}
    if not profs.gperf:
        print("   (gperftools not installed: its lines are left out; make deps installs it)")
    try:
        print("== 1. One profiling signal: bare delivery vs the agent's handler")
        results["handler"] = handler_costs(build, 3 if args.quick else 7,
                                           100 if args.quick else 200)

        print("== 1b. Inside the handler: CPython vs a C program of about the same depth")
        results["python_handler"] = python_bench.python_vs_c(build)

        print("== 2. Whole-process CPU time at 100 Hz (median ratio [95% CI])")
        known = os.path.join(build, "workloads", "known_answer")
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data.txt")
            with open(data, "w") as f:
                for i in range(30000 if args.quick else 90000):  # 4 MB of text
                    f.write("line %d %x %o payload payload %d\n" % (i, i * 7919, i, i % 97))
            # Beside the profilers, the floor: an empty handler at 100 Hz.
            with_floor = names + [runs.SIGNALS_ONLY]
            results["known_answer"] = overhead_table(
                "known_answer 0.5 fixed", [known, "0.5", "fixed"], profs, with_floor, rounds)
            xz = ["xz", "-6", "-T1", "-c", data]
            results["xz"] = overhead_table("xz -6 -T1", xz, profs, with_floor,
                                           2 * rounds - 1, side_by_side=False)
            meter = own_cost.meter_path(build)
            if meter:
                results["xz_own_cost"] = own_cost.report("xz -6 -T1", own_cost.own_costs(
                    xz, profs, with_floor, 3 if args.quick else 11, meter))
        results["java_known_answer"] = java_overhead(profs, rounds, "1" if args.quick else "3")

        print("== 2b. CPython, call-heavy (tests/workloads/python/calls.py): whole-process "
              "CPU time at 100 Hz (median ratio [95% CI])")
        results["python_calls"] = python_bench.call_overhead(profs, rounds, args.quick)

        print("== 3. Fixed cost per process: /bin/true")
        results["fixed_cost_ms"] = fixed_cost(profs, names, 20 if args.quick else 100)

        print("== 3b. Short-lived processes: fork children, interpreter start-up (wall ms)")
        results["short_lived"] = startup_bench.report(build, profs, args.quick)

        print("== 4. Peak RSS of the xz run (median)")
        for n, kib in results["xz"]["rss_kib"].items():
            print("     %-12s %.1f MiB (+%.1f)" % (n, kib / 1024,
                                                   (kib - results["xz"]["rss_kib"]["none"]) / 1024))

        print("== 5. redis-server under redis-benchmark (GET, 20 clients; servers side by side, "
              "bursts in turn)")
        if redis_bench.available():
            reqs = 20000 if args.quick else 100000
            rr = redis_bench.alternating(profs, names, 3 if args.quick else 21, reqs)
            results["redis"] = rr
            base = [r["rps"] for r in rr["none"]]
            for n, rs in rr.items():
                rps = [r["rps"] for r in rs]
                med = median_ci([a / b for a, b in zip(rps, base)]) if n != "none" else None
                print("     %-12s %8.0f req/s median, p99 %.3f ms%s" % (
                    n, statistics.median(rps), statistics.median(r["p99_ms"] for r in rs),
                    "" if med is None else ", throughput ratio " + fmt_ratio(*med)))
        else:
            print("     (redis-server / redis-benchmark not installed)")

        print("== 6. Call tree: build and encode 50,000 nodes")
        exe = os.path.join(build, "calltree_bench")
        subprocess.run(["make", "-s", "--no-print-directory", "BUILD=" + args.build,
                        os.path.relpath(exe, ROOT)], cwd=ROOT, check=True)
        r = subprocess.run([exe], capture_output=True, text=True, check=True)
        print("   " + r.stdout.strip().replace("\n", "\n   "))
        results["calltree"] = r.stdout.strip()
    finally:
        profs.cleanup()
    outdir = os.path.join(build, "bench")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    print("results: %s" % os.path.join(outdir, "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
