"""The musl build (make dist-musl; dist/musl.mk), preloaded into programs
built with musl-gcc (Debian's musl-tools), as on Alpine.

The tests unpack the musl tarball BUILD/cgagent-*-linux-*-musl.tar.gz and
build their programs with musl-gcc, adding -Wl,--eh-frame-hdr as Alpine's
gcc links (Debian's musl-gcc wrapper leaves the search table out; such a
program is still profiled, but every sample of it goes through
libunwind).  They skip, with the reason, when musl-gcc is missing (make
deps installs musl-tools), when make dist-musl was not run, or when it
could not fetch a source from Debian's archive; a make dist-musl that ran
and failed otherwise fails them.

Known answer (tests/workloads/three_leaves.c): main -> half_caller ->
leaf_half spends 2 units of CPU, the threads quarter_a -> qa_caller ->
leaf_quarter_a and then quarter_b -> qb_caller -> leaf_quarter_b 1 unit
each, metered by each thread's CPU clock.  UNIT_S = 4 is 16 CPU-seconds:
at CGAGENT_CPU_HZ=250, about 4,000 RUNNABLE samples.  Each thread's count
is set by its own CPU-clock timer (one sample per 4 ms of its CPU time),
so the shares come out within a sample or two of exact; but even read as
independent draws (the binomial model, which overstates the spread),
leaf_half's 50% has a standard error of sqrt(.5 x .5 / 4000) = 0.79
points and each 25% one of sqrt(.25 x .75 / 4000) = 0.68 points.  The
3-point tolerance is then 3.8 and 4.4 standard errors: two-sided odds of
1.5e-4 and 2 x 1.2e-5 of a false failure, under 1 in 5,000 together.  On
a kernel ticking slower than 250 Hz (fewer than 3,600 samples, where those
odds no longer hold) the share test skips, saying so.  The stacks must
carry the callers: every sample of a leaf has its caller, its thread's
function (main for leaf_half) and the libc frame that called that as its
root (musl's libc has no unwind tables: its frames end the stacks).

dlopen under sampling: tests/workloads/dlopen_loop.c on 4 threads for
10 s, sampled at 1 kHz asked (the kernel's tick rate caps it), must not
hang (a 60 s timeout fails the test) and must exit 0 with its one line.
On musl every dlopen holds the loader's lock, which the handler would
wait for if it ever called dl_iterate_phdr (core/sample/loaded_objects.h).

Every profiled program prints and exits exactly as without the agent,
with nothing on stderr (the agent logs to CGAGENT_LOG_FILE here).  With a
profiling group and no libcurl for musl (this machine has none), the
agent logs one line and writes local profiles.  `cgagent run` (the
tarball's static command) preloads the musl agent into a musl program and
the glibc agent into a glibc program from one installation holding both
(lib/ and lib/musl/, cli/target_libc.h).
"""
import glob
import os
import shutil
import subprocess
import tarfile
import unittest

from e2e import profiles as P
from e2e.test_dist import built_tarball

MUSL_GCC = shutil.which("musl-gcc")
UNIT_S = "4.0"
CPU_HZ = "250"
MIN_SAMPLES = 3600
TOLERANCE = 3.0
DLOPEN_SECONDS = "10"
DLOPEN_THREADS = "4"
DLOPEN_COPIES = 32
SRC = os.path.join(P.ROOT, "tests", "workloads")

# Prints the path of every agent library mapped into this process, after
# 0.3 s of CPU (samples, so the agent writes a profile).
PROBE_SRC = r"""
#include <stdio.h>
#include <string.h>
#include <time.h>
static volatile unsigned long sink;
int main(void)
{
    while (clock() < CLOCKS_PER_SEC * 3 / 10)
        for (int i = 0; i < 100000; i++)
            sink = sink * 6364136223846793005ul + 1;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096], last[4096] = "";
    while (f && fgets(line, sizeof(line), f)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, "libcgagent") || strcmp(path, last) == 0)
            continue;
        strcpy(last, path);
        fputs(path, stdout);
    }
    return 0;
}
"""
TARGET_SRC = "int dl_target(int x) { return x * 3 + 1; }\n"


MUSL_DIR = os.path.join(P.BUILD, "dist-musl")


def musl_tarball():
    """The tarball; skips when make dist-musl was not run here, or could
    not fetch a source from Debian's archive; fails when it ran and
    failed otherwise."""
    found = built_tarball("cgagent-*-linux-*-musl.tar.gz", MUSL_DIR, "dist-musl")
    if found:
        return found
    if not os.path.isdir(MUSL_DIR):
        raise unittest.SkipTest("no musl tarball in %s (make dist-musl)" % P.BUILD)
    raise AssertionError("no musl tarball in %s: `make dist-musl` failed (its output says "
                         "why)" % P.BUILD)


class Musl:
    """The unpacked tarball and the programs built with musl-gcc, shared
    by the tests (setUpModule)."""
    tmp = None
    top = None
    lib = None
    cli = None
    bin = {}


def setUpModule():
    if not MUSL_GCC:
        raise unittest.SkipTest("musl-gcc not found (Debian's musl-tools; make deps)")
    tgz = musl_tarball()
    Musl.tmp = P.TempDir()
    d = Musl.tmp.__enter__()
    with tarfile.open(tgz) as t:
        t.extractall(d)
    Musl.top = glob.glob(os.path.join(d, "cgagent-*"))[0]
    Musl.lib = os.path.join(Musl.top, "lib", "libcgagent.so")
    Musl.cli = os.path.join(Musl.top, "bin", "cgagent")
    work = os.path.join(d, "work")
    os.makedirs(work)
    for name in ("three_leaves", "dlopen_loop"):
        Musl.bin[name] = compile_musl(os.path.join(SRC, name + ".c"), os.path.join(work, name))
    probe = os.path.join(work, "probe.c")
    with open(probe, "w") as f:
        f.write(PROBE_SRC)
    Musl.bin["probe"] = compile_musl(probe, os.path.join(work, "probe"))
    Musl.bin["probe_glibc"] = os.path.join(work, "probe_glibc")
    subprocess.run([shutil.which("cc") or "cc", "-O2", "-o", Musl.bin["probe_glibc"], probe],
                   check=True, capture_output=True, timeout=120)
    target = os.path.join(work, "target.c")
    with open(target, "w") as f:
        f.write(TARGET_SRC)
    so = compile_musl(target, os.path.join(work, "target.so"), "-fPIC", "-shared")
    # Copies under other names are other files to the loader: loaded anew.
    Musl.bin["targets"] = []
    for i in range(DLOPEN_COPIES):
        copy = os.path.join(work, "target%02d.so" % i)
        shutil.copyfile(so, copy)
        Musl.bin["targets"].append(copy)


def tearDownModule():
    if Musl.tmp:
        Musl.tmp.__exit__(None, None, None)


def compile_musl(src, out, *extra):
    subprocess.run([MUSL_GCC, "-std=gnu11", "-O2", "-g", "-fomit-frame-pointer", "-D_GNU_SOURCE",
                    "-Wl,--eh-frame-hdr", *extra, "-o", out, src, "-lpthread", "-ldl"],
                   check=True, capture_output=True, timeout=120)
    return out


def run_musl(argv, outdir, log, timeout=120, **extra):
    """Runs argv with the musl agent preloaded, its log in `log`."""
    env = P.clean_env(LD_PRELOAD=Musl.lib, CGAGENT_OUTPUT=outdir, CGAGENT_LOG_FILE=log, **extra)
    return P.run(argv, env, timeout=timeout)


def log_lines(path, levels=("warn", "error")):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l for l in f if any(": %s: " % lv in l for lv in levels)]


def leaf_stacks(doc, leaf):
    """[(stack root-first, samples)] of the RUNNABLE stacks ending in leaf."""
    return [(s, c) for s, c in P.stacks(doc) if s and s[-1] == leaf]


class KnownAnswer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        prog = Musl.bin["three_leaves"]
        cls.plain = P.run([prog, UNIT_S], P.clean_env())
        cls._tmp = P.TempDir()
        d = cls._tmp.__enter__()
        cls.outdir, cls.log = os.path.join(d, "out"), os.path.join(d, "agent.log")
        cls.profiled = run_musl([prog, UNIT_S], cls.outdir, cls.log, CGAGENT_CPU_HZ=CPU_HZ)
        cls.docs = P.documents(cls.outdir)
        cls.doc = P.load(cls.docs[0]) if cls.docs else None

    @classmethod
    def tearDownClass(cls):
        cls._tmp.__exit__(None, None, None)

    def test_output_and_exit_status_are_unchanged(self):
        self.assertEqual(self.plain.returncode, 0, self.plain.stderr)
        self.assertEqual(self.profiled.returncode, self.plain.returncode)
        self.assertEqual(self.profiled.stdout, self.plain.stdout)
        self.assertEqual(self.profiled.stderr, b"")

    def test_one_document_from_the_musl_agent(self):
        self.assertEqual(len(self.docs), 1, self.docs)
        self.assertEqual(self.doc["agentMetadata"]["runtimeVersion"], "musl")

    def test_leaf_shares_are_50_25_25_within_3_points(self):
        P.skip_if_busy(self, [self.doc])
        n = P.total(self.doc)
        if n < MIN_SAMPLES:
            self.skipTest("%d samples (the kernel's tick rate is below %s Hz): the 3-point "
                          "bound's odds need %d" % (n, CPU_HZ, MIN_SAMPLES))
        counts = P.self_counts(self.doc)
        for leaf, want in (("leaf_half", 50), ("leaf_quarter_a", 25), ("leaf_quarter_b", 25)):
            share = 100.0 * counts.get(leaf, 0) / n
            self.assertLessEqual(abs(share - want), TOLERANCE,
                                 "%s: %.1f%% of %d samples, want %d%%: %s"
                                 % (leaf, share, n, want, counts))

    def test_every_leaf_sample_carries_its_callers(self):
        chains = {"leaf_half": ("main", "half_caller"),
                  "leaf_quarter_a": ("quarter_a", "qa_caller"),
                  "leaf_quarter_b": ("quarter_b", "qb_caller")}
        for leaf, (fn, caller) in chains.items():
            stacks = leaf_stacks(self.doc, leaf)
            self.assertTrue(stacks, "no samples of %s: %s" % (leaf, P.stacks(self.doc)))
            for stack, count in stacks:
                # root: the libc frame that called the thread's function
                self.assertEqual(stack[1:], (fn, caller, leaf), (stack, count))
                self.assertIn("ld-musl", stack[0], (stack, count))


class DlopenUnderSampling(unittest.TestCase):
    def test_dlopen_on_four_threads_at_1khz_for_10s_does_not_hang(self):
        argv = [Musl.bin["dlopen_loop"], DLOPEN_SECONDS, DLOPEN_THREADS] + Musl.bin["targets"]
        plain = P.run([argv[0], "0.5"] + argv[2:], P.clean_env())
        self.assertEqual(plain.returncode, 0, plain.stderr)
        with P.TempDir() as d:
            out, log = os.path.join(d, "out"), os.path.join(d, "agent.log")
            try:
                r = run_musl(argv, out, log, timeout=60, CGAGENT_CPU_HZ="1000")
            except subprocess.TimeoutExpired:
                self.fail("dlopen_loop under the agent did not finish in 60 s (a deadlock "
                          "in the loader's lock?)")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, plain.stdout)
            self.assertEqual(r.stderr, b"")
            docs = P.documents(out)
            self.assertEqual(len(docs), 1)
            # Sampled throughout: 10 s of 4 threads' loader work.
            self.assertGreater(P.total(P.load(docs[0])), 500)
            self.assertEqual([l for l in log_lines(log, ("error",))], [])


class UploadsOffWithoutLibcurl(unittest.TestCase):
    def test_one_line_and_a_local_profile(self):
        if any(os.path.exists(os.path.join(p, "libcurl.so.4"))
               for p in ("/lib", "/usr/local/lib", "/usr/lib")):
            self.skipTest("a libcurl.so.4 where musl's loader looks: uploads would be tried")
        with P.TempDir() as d:
            out, log = os.path.join(d, "out"), os.path.join(d, "agent.log")
            r = run_musl([Musl.bin["three_leaves"], "0.1"], out, log,
                         AWS_CODEGURU_PROFILER_GROUP_NAME="cgagent-test", AWS_REGION="us-east-1",
                         AWS_ACCESS_KEY_ID="AKIACGAGENTMUSLTEST1",
                         AWS_SECRET_ACCESS_KEY="not-a-secret",
                         AWS_ENDPOINT_URL_CODEGURUPROFILER="http://127.0.0.1:9",
                         AWS_ENDPOINT_URL_STS="http://127.0.0.1:9",
                         AWS_EC2_METADATA_DISABLED="true")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            lines = log_lines(log)
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("libcurl", lines[0])
            docs = P.documents(out)
            self.assertEqual(len(docs), 1)
            self.assertGreater(P.total(P.load(docs[0])), 0)


class RunPicksTheLibraryByInterpreter(unittest.TestCase):
    """One installation with both agents: the glibc build's in lib/ (the
    stock build's, or the glibc tarball's), the musl tarball's in
    lib/musl/."""

    def install(self, prefix, command, musl=True):
        os.makedirs(os.path.join(prefix, "bin"))
        os.makedirs(os.path.join(prefix, "lib", "musl"))
        cli = os.path.join(prefix, "bin", "cgagent")
        shutil.copy2(command, cli)
        for lib in (P.LIB, P.IMPL) if P.SPLIT else (P.LIB,):
            shutil.copy2(lib, os.path.join(prefix, "lib"))
        if musl:
            shutil.copy2(Musl.lib, os.path.join(prefix, "lib", "musl"))
        return cli

    def run_probe(self, cli, prog, cwd):
        r = subprocess.run([cli, "run", "--output", os.path.join(cwd, "out"), "--", prog],
                           cwd=cwd, env=P.clean_env(), capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def check_both(self, command):
        with P.TempDir() as d:
            prefix = os.path.realpath(os.path.join(d, "opt"))
            cli = self.install(prefix, command)
            r = self.run_probe(cli, Musl.bin["probe"], d)
            self.assertEqual(r.stdout.decode().split(),
                             [os.path.join(prefix, "lib", "musl", "libcgagent.so")])
            r = self.run_probe(cli, Musl.bin["probe_glibc"], d)
            mapped = r.stdout.decode().split()
            self.assertIn(os.path.join(prefix, "lib", "libcgagent.so"), mapped)
            self.assertNotIn(os.path.join(prefix, "lib", "musl", "libcgagent.so"), mapped)
            # Each agent's profile says which libc it ran on.
            versions = sorted(P.load(p)["agentMetadata"]["runtimeVersion"]
                              for p in P.documents(os.path.join(d, "out")))
            self.assertEqual(len(versions), 2, versions)
            self.assertTrue(versions[0].startswith("glibc-"), versions)
            self.assertEqual(versions[1], "musl")
            # A script runs with its interpreter's libc: this machine's
            # /bin/sh is glibc's, and so is the program it execs.
            script = os.path.join(d, "entry.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\nexec %s\n" % Musl.bin["probe_glibc"])
            os.chmod(script, 0o755)
            r = self.run_probe(cli, script, d)
            self.assertIn(os.path.join(prefix, "lib", "libcgagent.so"), r.stdout.decode().split())

    def test_the_static_musl_command_runs_here_and_picks_each_programs_agent(self):
        self.check_both(Musl.cli)

    def test_the_glibc_command_picks_the_same_way(self):
        self.check_both(P.CLI)

    def test_a_musl_program_without_a_musl_agent_runs_unprofiled_with_one_line(self):
        with P.TempDir() as d:
            cli = self.install(os.path.join(d, "opt"), Musl.cli, musl=False)
            r = self.run_probe(cli, Musl.bin["probe"], d)
            self.assertEqual(r.stdout, b"")  # no agent mapped: it started all the same
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertIn(b"runs on musl", r.stderr)
            self.assertIn(b"without the agent", r.stderr)


if __name__ == "__main__":
    unittest.main()
