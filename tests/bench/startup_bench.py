"""`make bench`, section 3b: what short-lived processes pay for the agent,
in wall-clock milliseconds.

- Fork children that leave at once (tests/bench/fork_cost.c): by _exit,
  and by a failed exec followed by _exit(127).  Each child gets a fresh
  agent; one that recorded nothing must not wait for it
  (docs/internals.md, "Fork, exec, exit").  The program times each child
  from fork() to the parent's waitpid() and prints the mean; one run is
  one observation.
- `python -c pass` for CPython 3.9 and 3.12: interpreter start-up and
  exit, as a shell script or a test runner pays it, timed from outside
  (runs.run_measured's wall time, which includes the fork and exec of the
  child, the same in both columns).

Rounds run plain and profiled once each, in a shuffled order
(runs.interleave); each line gives the median of each with its 95%
interval and the median of the per-round differences with its interval
(stats.median_ci).  Nothing here asserts a timing.
"""
import glob
import os
import shutil
import subprocess

import runs
from stats import median_ci

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = ("none", "cgagent")


def fmt_ms(med, lo, hi, sign=""):
    f = "%" + sign + ".3f"
    if lo is None:
        return (f + " (CI n/a)") % med
    return (f + " [" + f + ", " + f + "]") % (med, lo, hi)


def line(label, per_name, unit):
    """Prints and returns {name: (med, lo, hi), "difference": (...)} of
    per-round values (rounds aligned by index)."""
    out = {n: median_ci(v) for n, v in per_name.items()}
    out["difference"] = median_ci([a - b for a, b in zip(per_name["cgagent"],
                                                         per_name["none"])])
    print("     %s (%s): none %s, cgagent %s,\n       difference %s" % (
        label, unit, fmt_ms(*out["none"]), fmt_ms(*out["cgagent"]),
        fmt_ms(*out["difference"], sign="+")))
    return out


def fork_cost_exe(build):
    exe = os.path.join(build, "bench", "fork_cost")
    subprocess.run(["make", "-s", "--no-print-directory", "BUILD=" + os.path.relpath(build, ROOT),
                    os.path.relpath(exe, ROOT)], cwd=ROOT, check=True)
    return exe


def fork_children(build, profs, rounds, children):
    """{mode: line()} for fork+_exit and fork+failed exec."""
    exe = fork_cost_exe(build)
    out = {}

    def measure(mode):
        def run(env):
            r = subprocess.run([exe, str(children), mode], env=env, capture_output=True,
                               text=True, check=True)
            words = r.stdout.split()
            return float(words[words.index("per_child_ms") + 1])
        return run

    for mode, label in (("exit", "fork + _exit"), ("exec-fail", "fork + failed exec + _exit")):
        res = runs.interleave(measure(mode), profs, NAMES, rounds, seed=3, aa=False)
        out[mode] = line("%s, %d children per run" % (label, children), res, "ms per child")
    return out


def python_exes():
    """[(version, path or None)] for CPython 3.9 and 3.12: ~/.pyenv first,
    then PATH."""
    out = []
    for v in ("3.9", "3.12"):
        found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s"
                                                    % (v, v))))
        out.append((v, found[-1] if found else shutil.which("python" + v)))
    return out


def python_start(profs, rounds):
    """{version: line()} of `python -c pass` wall time; a missing
    interpreter is said and skipped."""
    out = {}
    for v, exe in python_exes():
        if not exe:
            print("     python%s -c pass: (python%s not found: skipped)" % (v, v))
            continue
        argv = [exe, "-c", "pass"]
        res = runs.interleave(lambda env: runs.run_measured(argv, env)[1] * 1e3, profs, NAMES,
                              rounds, seed=4, aa=False)
        out[v] = line("python%s -c pass" % v, res, "ms")
        out[v]["exe"] = exe
    return out


def report(build, profs, quick):
    rounds = 11 if quick else 31
    print("   fork children (wall ms from fork to reaped, mean per run; median [95%% CI] "
          "of %d interleaved runs):" % rounds)
    results = {"fork": fork_children(build, profs, rounds, 20 if quick else 50)}
    print("   interpreter start-up and exit (wall ms per process; median [95%% CI] of %d "
          "interleaved runs):" % rounds)
    results["python"] = python_start(profs, rounds)
    results["rounds"] = rounds
    return results


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    b = os.path.abspath(os.path.join(ROOT, args.build))
    p = runs.Profilers(b)
    try:
        report(b, p, args.quick)
    finally:
        p.cleanup()
