"""How `make bench` runs a program under each profiler and measures it.

Profilers: none, cgagent (LD_PRELOAD=libcgagent.so, a local output
directory, 100 Hz) and gperftools (LD_PRELOAD=libprofiler.so with
CPUPROFILE and CPUPROFILE_FREQUENCY=100, its documented way to profile a
whole program without relinking).  Each run's cost is the child's own
user+sys CPU time and its peak RSS, from wait4.
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


class Profilers:
    """Environments for each profiler; files go to one scratch directory."""

    def __init__(self, build, hz=100):
        self.lib = os.path.join(build, "libcgagent.so")
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


def interleave(measure, profs, names, rounds, seed=1):
    """{name: [measure(env), ...]} with every round measuring each name
    once in a shuffled order, plus an "A/A" second plain run per round."""
    rnd = random.Random(seed)
    out = {n: [] for n in names + ["none (A/A)"]}
    for _ in range(rounds):
        order = names + ["none (A/A)"]
        rnd.shuffle(order)
        for n in order:
            out[n].append(measure(profs.env("none" if n == "none (A/A)" else n)))
    return out


def interleaved(argv, profs, names, rounds, seed=1):
    """{name: [(cpu, wall, rss), ...]} of argv, as interleave() runs it."""
    return interleave(lambda env: run_measured(argv, env), profs, names, rounds, seed)
