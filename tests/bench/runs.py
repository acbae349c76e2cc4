"""How `make bench` runs a program under each profiler and measures it.

Profilers: none, cgagent (LD_PRELOAD=libcgagent.so, a local output
directory, 100 Hz), gperftools (LD_PRELOAD=libprofiler.so with
CPUPROFILE and CPUPROFILE_FREQUENCY=100, its documented way to profile a
whole program without relinking) and, for the CPU-time tables, "signals
only" (an empty SIGPROF handler at 100 Hz: the floor).  Each run's cost is the child's own
user+sys CPU time and its peak RSS, from wait4.

Two ways to compare:
- interleave(): rounds that run each profiler once, one after another,
  in a shuffled order (for redis, which needs the whole machine);
- concurrent_pairs(): each comparison runs the plain program and the
  profiled one AT THE SAME TIME, each pinned to its own CPU, swapping CPUs
  every round.  On a virtual machine the same work costs 10-30% more CPU
  time from one minute to the next (other tenants, the host's caches);
  two runs side by side see the same minute, so their ratio keeps only
  the profiler's cost and a few percent of noise, where one run after the
  other keeps all of it (measured on the build machine: plain xz, 6 runs
  in a row 4.66-6.42 CPU-s; 5 simultaneous pairs, ratios 0.93-1.05).
"""
import os
import random
import shutil
import subprocess
import tempfile
import time

GPERF_LIBS = ("/usr/lib/x86_64-linux-gnu/libprofiler.so.0", "/usr/lib/libprofiler.so.0")


def gperftools_lib():
    for p in GPERF_LIBS:
        if os.path.exists(p):
            return p
    return None


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CGAGENT_", "AWS_", "CPUPROFILE")) and k != "LD_PRELOAD"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


# An empty SIGPROF handler at the same rate (tests/bench/signal_floor.c):
# the floor under every sampling profiler's cost.
SIGNALS_ONLY = "signals only"


class Profilers:
    """Environments for each profiler; files go to one scratch directory."""

    def __init__(self, build, hz=100):
        self.lib = os.path.join(build, "libcgagent.so")
        self.floor = os.path.join(build, "bench", "signal_floor.so")
        self.gperf = gperftools_lib()
        self.hz = hz
        self.tmp = tempfile.mkdtemp(prefix="cgagent-bench-")
        self.n = 0

    def names(self):
        return ["none", "cgagent"] + (["gperftools"] if self.gperf else [])

    def env(self, name):
        self.n += 1
        if name == "none":
            return clean_env()
        if name == "cgagent":
            return clean_env(LD_PRELOAD=self.lib, CGAGENT_CPU_HZ=self.hz,
                             CGAGENT_OUTPUT=os.path.join(self.tmp, "cg%d" % self.n))
        if name == "gperftools":
            return clean_env(LD_PRELOAD=self.gperf, CPUPROFILE_FREQUENCY=self.hz,
                             CPUPROFILE=os.path.join(self.tmp, "gp%d.prof" % self.n))
        if name == SIGNALS_ONLY:
            return clean_env(LD_PRELOAD=self.floor, SIGNAL_FLOOR_HZ=self.hz)
        raise ValueError(name)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_measured(argv, env, stdin=None):
    """(cpu_s, wall_s, maxrss_kib) of one run; raises on failure."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError("%s exited %d" % (argv[0], proc.returncode))
    return ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss


def interleave(measure, profs, names, rounds, seed=1, aa=True):
    """{name: [measure(env), ...]} with every round measuring each name
    once in a shuffled order, plus (aa) an "A/A" second plain run per
    round."""
    rnd = random.Random(seed)
    names = list(names) + (["none (A/A)"] if aa else [])
    out = {n: [] for n in names}
    for _ in range(rounds):
        order = list(names)
        rnd.shuffle(order)
        for n in order:
            out[n].append(measure(profs.env("none" if n == "none (A/A)" else n)))
    return out


def interleaved(argv, profs, names, rounds, seed=1):
    """{name: [(cpu, wall, rss), ...]} of argv, as interleave() runs it."""
    return interleave(lambda env: run_measured(argv, env), profs, names, rounds, seed)


def _pinned(cpu):
    return lambda: os.sched_setaffinity(0, {cpu})


def run_pair(argv, env_a, env_b, cpus):
    """Runs argv under env_a on cpus[0] and under env_b on cpus[1] at the
    same time; returns ((cpu_s, wall_s, maxrss_kib) of a, ... of b)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, preexec_fn=_pinned(cpu))
             for env, cpu in ((env_a, cpus[0]), (env_b, cpus[1]))]
    out = {}
    for _ in procs:
        pid, status, ru = os.wait4(-1, 0)
        p = next(p for p in procs if p.pid == pid)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            for q in procs:
                if q.returncode is None:
                    q.kill()
            raise RuntimeError("%s exited %d" % (argv[0], p.returncode))
        out[pid] = (ru.ru_utime + ru.ru_stime, time.monotonic() - t0, ru.ru_maxrss)
    return out[procs[0].pid], out[procs[1].pid]


def two_cpus():
    """Two CPUs this process may use, or None."""
    cpus = sorted(os.sched_getaffinity(0))
    return tuple(cpus[:2]) if len(cpus) >= 2 else None


def concurrent_pairs(argv, profs, comparisons, rounds, seed=1):
    """{(a, b): [(run_a, run_b), ...]} for each (a, b) in comparisons, a
    and b running side by side (run_pair), rounds times, the comparisons
    in a shuffled order each round and the CPUs swapped every round.  A
    name "none (A/A)" runs the plain program again."""
    cpus = two_cpus()
    if cpus is None:
        raise RuntimeError("concurrent pairs need two CPUs")
    rnd = random.Random(seed)
    out = {c: [] for c in comparisons}
    env = lambda n: profs.env("none" if n == "none (A/A)" else n)  # noqa: E731
    for r in range(rounds):
        order = list(comparisons)
        rnd.shuffle(order)
        for a, b in order:
            c = cpus if r % 2 == 0 else cpus[::-1]
            out[(a, b)].append(run_pair(argv, env(a), env(b), c))
    return out
