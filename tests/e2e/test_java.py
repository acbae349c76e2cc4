"""End to end: Java programs under LD_PRELOAD get Java frames (docs/java.md).

tests/workloads/java/KnownAnswer.java burns CPU in heavyWork and in
lightWork, which heavyWork calls from its loop, in a 3:1 ratio metered by
the thread's own CPU clock (ThreadMXBean), so the answer does not depend on
how busy the machine is.  A sample belongs to lightWork when lightWork is
on its stack, to heavyWork when heavyWork is and lightWork is not (the
ThreadMXBean calls each makes are its own CPU time).  The work cycle (3
units of 4 ms heavy, 1 unit light: 16 ms of CPU) is a whole number of
timer periods at 250 Hz, so every cycle holds 3 heavy samples and 1 light
one whatever the phase; a cycle of one period (1 ms units) aliased with
the timer and gave shares from 71% to 80%.

Samples and the odds of a false failure.  Each run does RUN_S = 25 s of
work at CGAGENT_CPU_HZ=250: about 6,250 samples in the two methods.  Read
as independent draws (the binomial model overstates the spread of CPU-clock
sampling, which takes one sample per 4 ms of the thread's CPU), the 75%
share has a standard error of sqrt(.75 x .25 / 6250) = 0.55 points; the
2-point tolerance is 3.65 standard errors: two-sided odds of 2.6e-4 per
run, 5.2e-4 for the two runs (compiled and -Xint) together, under 1 in
1,000.  The `[unknown]` bound (1% of all samples) is not a sampled-share
claim: samples of Java code before the agent attaches (the first ~100 ms
of JDK start-up) are the only expected source.

Skipped when `java` or `javac` is missing (make deps installs
openjdk-17-jdk-headless).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles as P
from emulator import GROUP

SRC = os.path.join(P.ROOT, "tests", "workloads", "java")
RUN_S = "25"
HAVE_JAVA = shutil.which("java") and shutil.which("javac")
_classes = None


def setUpModule():
    global _classes
    if not HAVE_JAVA:
        return
    _classes = tempfile.mkdtemp(prefix="cgagent-java-")
    subprocess.run(["javac", "-d", _classes, os.path.join(SRC, "KnownAnswer.java")],
                   check=True, capture_output=True, timeout=120)


def tearDownModule():
    if _classes:
        shutil.rmtree(_classes, True)


def java(*args):
    return ["java", "-cp", _classes] + list(args)


def split(doc):
    """(heavy, light, unknown, all) RUNNABLE samples."""
    heavy = light = unknown = n = 0
    for names, c in P.stacks(doc):
        n += c
        if "KnownAnswer.lightWork" in names:
            light += c
        elif "KnownAnswer.heavyWork" in names:
            heavy += c
        if names[-1] == "[unknown]" or names[-1].startswith("[Java:"):
            unknown += c
    return heavy, light, unknown, n


@unittest.skipUnless(HAVE_JAVA, "java and javac are not installed (make deps)")
class JavaKnownAnswer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dirs = {mode: tempfile.mkdtemp(prefix="cgagent-java-") for mode in ("jit", "xint")}
        env = {mode: P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=d, CGAGENT_CPU_HZ=250)
               for mode, d in cls.dirs.items()}
        # One after the other: two JVMs at once (with their compiler and GC
        # threads) would overcommit 2 cores, where CPU-clock timers lean.
        argv = {"jit": java("KnownAnswer", RUN_S), "xint": java("-Xint", "KnownAnswer", RUN_S)}
        cls.results = {}
        for m in ("jit", "xint"):
            p = subprocess.Popen(argv[m], env=env[m], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            cls.results[m] = (p.communicate(timeout=600), p.returncode)
        cls.docs = {m: [P.load(f) for f in P.documents(d)] for m, d in cls.dirs.items()}

    @classmethod
    def tearDownClass(cls):
        for d in cls.dirs.values():
            shutil.rmtree(d, True)

    def check(self, mode):
        (out, err), rc = self.results[mode]
        self.assertEqual(rc, 0, err.decode())
        self.assertEqual(err, b"")
        self.assertEqual(out, b"known answer done: ok\n")
        self.assertEqual(len(self.docs[mode]), 1)
        heavy, light, unknown, n = split(self.docs[mode][0])
        self.assertGreater(heavy + light, 5000, (heavy, light))
        P.skip_if_busy(self, self.docs[mode])
        share = 100.0 * heavy / (heavy + light)
        self.assertAlmostEqual(share, 75.0, delta=2.0, msg=(mode, heavy, light))
        self.assertLess(100.0 * unknown / n, 1.0, (mode, unknown, n))

    def test_compiled_code_comes_out_75_to_25(self):
        self.check("jit")

    def test_interpreter_only_gives_the_same_answer(self):
        self.check("xint")

    def test_names_and_files_are_the_java_agents(self):
        doc = self.docs["jit"][0]
        files = {name: f for path, _ in P.walk(doc["callgraph"]) for name, f in path[-1:]}
        self.assertEqual(files.get("KnownAnswer.heavyWork"), "KnownAnswer.java")
        self.assertEqual(files.get("KnownAnswer.main"), "KnownAnswer.java")
        # JNI below a Java frame: the native code keeps its native name.
        self.assertTrue(any("sun.management.ThreadImpl.getThreadTotalCpuTime0" in names
                            and names[-1] != "sun.management.ThreadImpl.getThreadTotalCpuTime0"
                            for names, _ in P.stacks(doc)))


@unittest.skipUnless(HAVE_JAVA, "java and javac are not installed (make deps)")
class JavaHostUnchanged(unittest.TestCase):
    """stdout, stderr and the exit status of the JVM are the same bytes with
    and without the agent: a normal end, System.exit(3), an uncaught
    exception."""

    def compare(self, *args):
        plain = P.run(java("KnownAnswer", "0.6", *args), P.clean_env())
        with P.TempDir() as out:
            prof = P.run_profiled(java("KnownAnswer", "0.6", *args), out)
            docs = P.documents(out)
            self.assertEqual(len(docs), 1)
            names = {n for names, _ in P.stacks(P.load(docs[0])) for n in names}
        self.assertEqual(prof.returncode, plain.returncode)
        self.assertEqual(prof.stdout, plain.stdout)
        self.assertEqual(prof.stderr, plain.stderr)
        self.assertIn("KnownAnswer.heavyWork", names)
        return plain

    def test_normal_end(self):
        self.assertEqual(self.compare().returncode, 0)

    def test_system_exit_3(self):
        self.assertEqual(self.compare("exit").returncode, 3)

    def test_uncaught_exception(self):
        p = self.compare("throw")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"IllegalStateException", p.stderr)


@unittest.skipUnless(HAVE_JAVA, "java and javac are not installed (make deps)")
class JavaUpload(unittest.TestCase):
    def test_java_profile_reaches_the_central_group(self):
        from e2e.test_upload import UploadTestCase

        class Run(UploadTestCase):
            def runTest(self):
                pass

        t = Run()
        t.setUp()
        try:
            proc = t.run_workload(argv=java("KnownAnswer", "2"))
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            posts = t.assert_all_delivered_once()
            names = set()
            for p in posts:
                names |= {n for path, _ in P.walk(p.document["callgraph"]) for n, _ in path}
            self.assertIn("KnownAnswer.heavyWork", names)
            self.assertIn("KnownAnswer.lightWork", names)
            self.assertTrue(all(p.account == "222222222222" for p in posts))
            self.assertTrue(t.emu.profiles(GROUP))
        finally:
            t.doCleanups()
