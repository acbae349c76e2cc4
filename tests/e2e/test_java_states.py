"""End to end: Java thread states from JVMTI at the wall interval
(docs/java.md, "Thread states").

tests/workloads/java/ThreadStates.java holds each state for the whole run:
two executor-pool threads in cpuWork (RUNNABLE), a thread sleeping inside
a synchronized block (holdLock: TIMED_WAITING), two threads contending for
that block (contended: BLOCKED), one in Thread.sleep (sleeping:
TIMED_WAITING) and one in Object.wait() (waitForever: WAITING).

Samples and the odds of a false failure.  RUN_S = 6 s at a 50 ms wall
interval gives about 100 wall ticks after the agent attaches; at each
tick every Java thread off the CPU is sampled once (GetAllStackTraces), so
the wall counts are not drawn at random: contended gets ~2 samples per
tick (two threads), holdLock, sleeping and waitForever ~1 each.  The JVM's
own Java threads add one or two more per state (Reference Handler and
Finalizer WAITING, Common-Cleaner TIMED_WAITING), so each asserted method
has 20% or more of its state's Java samples against a 10% threshold.  The
only sampled share is RUNNABLE: two threads in cpuWork at CGAGENT_CPU_HZ
=100 for 6 s give ~1,200 CPU samples when the machine is quiet and
hundreds when it is busy; cpuWork is ~90% of them, and with the threshold
at 30% a false failure needs it below a third of at least 100 samples: a
deviation of more than 12 standard errors (sqrt(.9 x .1 / 100) = 3
points), odds far below 1 in 1,000.  No thread is counted twice: the native
/proc view skips the threads JVMTI reported, so HotSpot's JVM_Sleep (the
native frame of Thread.sleep) is on no wall stack but the few taken before
the agent attached (measured: 9 against 117 samples of sleeping; counted
twice it would be about 234).

Skipped when `java` or `javac` is missing (make deps).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles as P

SRC = os.path.join(P.ROOT, "tests", "workloads", "java")
RUN_S = "6"
HAVE_JAVA = shutil.which("java") and shutil.which("javac")
METHODS = ("cpuWork", "holdLock", "contended", "sleeping", "waitForever")
WALL_KEYS = ("WAITING", "TIMED_WAITING", "BLOCKED")


def method_shares(doc, key):
    """{workload method: share of the key's samples whose stack holds it},
    over the samples that have a Java frame (a name with a '.' in a
    java./jdk./ThreadStates class) for wall keys, over all for RUNNABLE."""
    counts = dict.fromkeys(METHODS, 0)
    n = 0
    for names, c in P.stacks(doc, key):
        if key != "RUNNABLE" and not any(x.startswith(("java.", "jdk.", "ThreadStates."))
                                         for x in names):
            continue  # a native thread's wall sample (GC, compiler, VM)
        n += c
        for m in METHODS:
            if "ThreadStates." + m in names:
                counts[m] += c
    return {m: c / n for m, c in counts.items()} if n else {}, n


def above(shares, threshold):
    return {m for m, s in shares.items() if s >= threshold}


@unittest.skipUnless(HAVE_JAVA, "java and javac are not installed (make deps)")
class JavaThreadStates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cgagent-java-states-")
        classes = os.path.join(cls.tmp, "classes")
        out = os.path.join(cls.tmp, "out")
        subprocess.run(["javac", "-d", classes, os.path.join(SRC, "ThreadStates.java")],
                       check=True, capture_output=True, timeout=120)
        env = P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=out, CGAGENT_CPU_HZ=100,
                          AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS=50)
        cls.proc = subprocess.run(["java", "-cp", classes, "ThreadStates", RUN_S], env=env,
                                  capture_output=True, timeout=300)
        docs = P.documents(out)
        cls.doc = P.load(docs[0]) if len(docs) == 1 else None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr.decode())
        self.assertEqual(self.proc.stdout, b"thread states done: ok\n")
        self.assertIsNotNone(self.doc)

    def test_cpu_methods_are_runnable(self):
        shares, n = method_shares(self.doc, "RUNNABLE")
        self.assertGreater(n, 100)
        self.assertEqual(above(shares, 0.30), {"cpuWork"}, (shares, n))

    def test_contended_method_is_blocked(self):
        shares, n = method_shares(self.doc, "BLOCKED")
        self.assertGreater(n, 50)
        self.assertEqual(above(shares, 0.10), {"contended"}, (shares, n))

    def test_sleeping_methods_are_timed_waiting(self):
        shares, n = method_shares(self.doc, "TIMED_WAITING")
        self.assertGreater(n, 50)
        self.assertEqual(above(shares, 0.10), {"holdLock", "sleeping"}, (shares, n))

    def test_waiting_method_is_waiting(self):
        shares, n = method_shares(self.doc, "WAITING")
        self.assertGreater(n, 50)
        self.assertIn("waitForever", above(shares, 0.10), (shares, n))
        self.assertFalse(above(shares, 0.10) & {"cpuWork", "contended", "sleeping"},
                         (shares, n))

    def test_wall_samples_carry_java_frames_with_files(self):
        files = {name: f for path, _ in P.walk(self.doc["callgraph"]) for name, f in path[-1:]}
        self.assertEqual(files.get("ThreadStates.contended"), "ThreadStates.java")
        self.assertEqual(self.doc["agentMetadata"]["sampleWeights"]["TIMED_WAITING"], 20)

    def test_java_threads_are_not_counted_twice(self):
        sleeping = sum(c for names, c in P.stacks(self.doc, "TIMED_WAITING")
                       if "ThreadStates.sleeping" in names)
        native = sum(c for key in WALL_KEYS for names, c in P.stacks(self.doc, key)
                     if "JVM_Sleep" in names)
        # Counted twice, native would be about sleeping (holder and sleeper
        # both in JVM_Sleep at every tick: twice).  What is there comes
        # from the ticks before the agent attached (~0.1-0.3 s of start-up).
        self.assertLess(native, sleeping // 4, (native, sleeping))
