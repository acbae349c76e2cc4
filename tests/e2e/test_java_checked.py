"""End to end: the JVM's checked mode does not see the agent (issue 28,
item 7).

`java -Xcheck:jni` checks every JNI call's local references against the
frame's capacity, and every few milliseconds whether its SIGSEGV, SIGBUS,
... handlers are still the ones it installed.  Before the fix a run under
the agent printed "WARNING: JNI local refs: 797, exceeds capacity: 32"
(the classes GetLoadedClasses returns at attach, then the threads of each
wall tick's GetAllStackTraces) and "Warning: SIGSEGV handler modified!"
with the whole handler table (the fault guard around AsyncGetCallTrace):
the program's output changed.

tests/workloads/java/CheckedJni.java runs 80 sleeping threads and burns
CPU in spin() for 3 s, under -Xcheck:jni, with and without the agent, on
every JDK found in /usr/lib/jvm (here OpenJDK 17 and Temurin 25): stdout,
stderr and the exit status must be the same bytes.  The agent logs to a
file, so nothing of its own is ignored.  Its log must say it attached
with the fault guard on (so the comparison covered the guard), and the
profile must hold Java frames: spin() on the CPU, the sleepers'
sleeper() in TIMED_WAITING.  Skipped without javac.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles as P

SRC = os.path.join(P.ROOT, "tests", "workloads", "java", "CheckedJni.java")
SECONDS = "3"


def jdks():
    """One java launcher per JDK in /usr/lib/jvm (links resolved), else the
    one on PATH."""
    seen, found = set(), []
    for java in sorted(glob.glob("/usr/lib/jvm/*/bin/java")):
        real = os.path.realpath(java)
        if real not in seen and os.access(real, os.X_OK):
            seen.add(real)
            found.append(real)
    if not found and shutil.which("java"):
        found.append(shutil.which("java"))
    return found


@unittest.skipUnless(shutil.which("javac") and jdks(), "javac or java not installed (make deps)")
class CheckedJniUnchanged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.classes = tempfile.mkdtemp(prefix="cgagent-java-checked-")
        # Class files for Java 11, so that every JDK found runs them.
        subprocess.run(["javac", "--release", "11", "-d", cls.classes, SRC], check=True,
                       capture_output=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.classes, True)

    def check(self, java):
        argv = [java, "-Xcheck:jni", "-cp", self.classes, "CheckedJni", SECONDS]
        plain = P.run(argv, P.clean_env())
        self.assertEqual(plain.returncode, 0, plain.stderr.decode())
        self.assertEqual(plain.stdout, b"checked jni done: 80 threads\n",
                         "the JVM says more than the program without the agent")
        with P.TempDir() as out, tempfile.TemporaryDirectory() as logs:
            log = os.path.join(logs, "agent.log")
            prof = P.run_profiled(argv, out, CGAGENT_LOG_FILE=log, CGAGENT_LOG="info")
            with open(log, encoding="utf-8", errors="replace") as f:
                agent_log = f.read()
            docs = [P.load(d) for d in P.documents(out)]
        self.assertEqual(prof.stdout.decode(), plain.stdout.decode())
        self.assertEqual(prof.stderr.decode(), plain.stderr.decode())
        self.assertEqual(prof.returncode, plain.returncode)
        self.assertIn("Java frames on: attached to the JVM", agent_log)
        self.assertNotIn("no fault guard", agent_log)
        self.assertEqual(len(docs), 1)
        running = {n for names, _ in P.stacks(docs[0]) for n in names}
        waiting = {n for names, _ in P.stacks(docs[0], "TIMED_WAITING") for n in names}
        self.assertIn("CheckedJni.spin", running)
        self.assertIn("CheckedJni.sleeper", waiting)

    def test_checked_mode_output_is_unchanged_on_every_jdk(self):
        for java in jdks():
            with self.subTest(java=java):
                self.check(java)


if __name__ == "__main__":
    unittest.main()
