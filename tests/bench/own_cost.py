"""What each profiler's own code spends in a process, measured from outside
the profiler and the same way for every one (tests/bench/cost_meter.c).

Whole-process CPU ratios carry the machine's noise: on the build machine a
plain xz run varies by about 5% from one run to the next, so 41 rounds
bound a median ratio to about +-2%, while the profilers differ by a few
tenths of a percent.  The meter splits each run's CPU time into the
profiler's start-up, its SIGPROF handler, its other threads and its exit,
and those parts are small enough that the same 5% noise on them is a few
hundredths of a millisecond: what each profiler does itself is settled
even where the ratios are not.  What the meter cannot see is the program
running slower after each interruption (caches and TLB refilled): the
"signals only" line of the ratio table bounds that for an empty handler.
"""
import os
import statistics
import tempfile

import runs
from stats import median_ci

PARTS = ("start", "handler", "threads", "exit")


def metered_env(env, meter, out):
    """env with the meter preloaded after the profiler (if any)."""
    env = dict(env)
    env["LD_PRELOAD"] = (env["LD_PRELOAD"] + ":" if env.get("LD_PRELOAD") else "") + meter
    env["COST_METER_OUT"] = out
    return env


def measure(argv, env, meter):
    """{start, handler, threads, exit: ms, calls, cpu_ms} of one run."""
    with tempfile.NamedTemporaryFile(prefix="cost-meter-") as f:
        cpu_s, _, _ = runs.run_measured(argv, metered_env(env, meter, f.name))
        words = open(f.name).read().split()
    if len(words) != 5:
        raise RuntimeError("%s: the cost meter wrote %r (did it leave by _exit()?)" % (argv[0], words))
    start_ns, handler_ns, calls, main_ns, others_ns = (int(w) for w in words)
    cpu_ms = cpu_s * 1e3
    return {"start": start_ns / 1e6, "handler": handler_ns / 1e6, "calls": calls,
            "threads": others_ns / 1e6,
            # rusage counts in microseconds: the exit may round to a hair
            # below zero.
            "exit": cpu_ms - (main_ns + others_ns) / 1e6, "cpu_ms": cpu_ms}


def own_costs(argv, profs, names, rounds, meter, seed=2):
    """{name: [measure(), ...]}, rounds of every name in a shuffled order."""
    return runs.interleave(lambda env: measure(argv, env, meter), profs, names, rounds,
                           seed, aa=False)


def fmt_ms(med, lo, hi):
    if lo is None:
        return "%+.2f (CI n/a)" % med
    return "%+.2f [%+.2f, %+.2f]" % (med, lo, hi)


def own(run):
    return sum(run[p] for p in PARTS)


def report(label, by_name):
    """Prints the table; returns its numbers for results.json."""
    none = by_name["none"]
    plain_ms = statistics.median(r["cpu_ms"] for r in none)
    print("   %s (%d rounds): what each profiler's own code spends, ms per run (median)"
          % (label, len(none)))
    print("     %-14s %7s %9s %8s %8s %8s   %-26s %s" % (
        "", "start", "handler", "calls", "threads", "exit", "extra vs none [95% CI]",
        "of plain CPU"))
    out = {}
    for n, rs in by_name.items():
        med = {p: statistics.median(r[p] for r in rs) for p in PARTS + ("calls",)}
        extra = median_ci([own(r) - own(b) for r, b in zip(rs, none)])
        out[n] = {"median_ms": med, "extra_ms": extra, "runs": rs}
        per_call = med["handler"] * 1e3 / med["calls"] if med["calls"] else 0
        print("     %-14s %7.2f %9.2f %8.0f %8.2f %8.2f   %-26s %s" % (
            n, med["start"], med["handler"], med["calls"], med["threads"], med["exit"],
            "-" if n == "none" else fmt_ms(*extra),
            "" if n == "none" else "%.2f%%, handler %.1f us/call" % (
                100 * extra[0] / plain_ms, per_call)))
    if "gperftools" in by_name and "cgagent" in by_name:
        d = median_ci([own(a) - own(b) for a, b in zip(by_name["cgagent"], by_name["gperftools"])])
        out["cgagent - gperftools"] = d
        print("     cgagent - gperftools: %s ms per run (%.2f%% of plain CPU)"
              % (fmt_ms(*d), 100 * d[0] / plain_ms))
    return out


def meter_path(build):
    path = os.path.join(build, "bench", "cost_meter.so")
    return path if os.path.exists(path) else None
