"""End to end: the host behaves as without the agent.

The process lives exactly as long as the program's threads, and the
program sees SIGPROF as it would without the agent.

glibc ends a process with exit(0) when its last thread ends by
pthread_exit or by returning; the agent's threads must not keep it alive
(preload/lifetime.c, docs/internals.md "Process lifetime").  Each case
runs the program with and without the agent and compares exit status and
output; stdout is a pipe, so block-buffered lines appear only if exit()
ran.  Nothing here is sampled statistically: the only bounds are
timeouts, generous against the under-a-second the programs need.
"""
import os
import signal
import subprocess
import time
import unittest

from e2e import profiles as P
from e2e.test_python import find_python

LAST_THREAD = os.path.join(P.WORKLOADS, "last_thread")

FORK_FROM_THREAD = r"""
import os, sys, threading
def run():
    pid = os.fork()
    if pid == 0:
        sum(i * i for i in range(200000))
        print("child done", flush=True)
        return  # the child's only thread returns from its start routine
    _, status = os.waitpid(pid, 0)
    print("child status", status, flush=True)
t = threading.Thread(target=run)
t.start()
t.join()
print("parent done", flush=True)
"""

# The child's thread returns at once, before the child's fresh agent
# thread may have recorded itself as the agent's: 20 times.
FORK_FROM_THREAD_AT_ONCE = r"""
import os, threading
def run():
    pid = os.fork()
    if pid == 0:
        return
    os.waitpid(pid, 0)
for i in range(20):
    t = threading.Thread(target=run)
    t.start()
    t.join()
print("parent done", flush=True)
"""

SIGPROF_VIEW = r"""
import signal
print(signal.getsignal(signal.SIGPROF))
print(signal.signal(signal.SIGPROF, signal.SIG_IGN))
print(signal.signal(signal.SIGPROF, signal.SIG_DFL))
print(signal.getsignal(signal.SIGPROF))
def spin():
    return sum(i * i for i in range(3000000))
spin()
print("alive")
"""


def pythons():
    found = [(v, find_python(v)) for v in ("3.9", "3.10", "3.11", "3.12", "3.13")]
    return [(v, exe) for v, exe in found if exe]


class ProcessLifetime(unittest.TestCase):
    def run_both(self, argv, timeout=20):
        plain = P.run(argv, P.clean_env(), timeout=timeout)
        with P.TempDir() as out:
            prof = P.run_profiled(argv, out, timeout=timeout)
            docs = [P.load(d) for d in P.documents(out)]
        self.assertEqual(prof.returncode, plain.returncode, prof.stderr)
        self.assertEqual(prof.stdout, plain.stdout)
        return plain, prof, docs

    def test_main_thread_pthread_exit_then_worker_returns(self):
        plain, _, docs = self.run_both([LAST_THREAD, "pthread_exit"])
        self.assertEqual(plain.returncode, 0)
        self.assertEqual(sorted(plain.stdout.split(b"\n")), [b"", b"main leaving", b"worker done"])
        self.assertEqual(len(docs), 1)
        # The final report runs after the main thread has gone: the
        # executable's symbols are still found (/proc/thread-self/exe).
        self.assertIn("burn_in_worker", P.self_counts(docs[0]))

    def test_worker_ends_by_pthread_exit(self):
        plain, _, _ = self.run_both([LAST_THREAD, "worker_exit"])
        self.assertEqual(plain.returncode, 0)
        self.assertIn(b"worker done", plain.stdout)

    def test_a_thread_made_without_pthread_create_is_waited_for(self):
        # Without the agent glibc's exit(0) ends the clone()d thread; with
        # it, the process ends when that thread does (0.8 s): same output
        # and status either way.
        plain, _, _ = self.run_both([LAST_THREAD, "raw_thread"])
        self.assertEqual(plain.returncode, 0)

    def test_sigterm_ends_a_process_left_with_only_agent_threads(self):
        """Before, such a process never ended and SIGTERM stayed pending in
        the agent's threads (they block every signal): only SIGKILL ended
        it.  Now it ends by itself; SIGTERM, sent once the worker thread
        has gone, must find it gone or kill it within 5 s."""
        with P.TempDir() as out:
            env = P.clean_env(LD_PRELOAD=P.PRELOAD, CGAGENT_OUTPUT=out)
            p = subprocess.Popen([LAST_THREAD, "pthread_exit"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                line = p.stderr.readline()  # "worker TID ending"
                self.assertTrue(line.startswith(b"worker "), line)
                task = "/proc/%d/task/%d" % (p.pid, int(line.split()[1]))
                deadline = time.monotonic() + 10
                while os.path.exists(task) and time.monotonic() < deadline:
                    time.sleep(0.01)
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                rc = p.wait(timeout=5)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertIn(rc, (0, -signal.SIGTERM))

    def run_python(self, exe, script, timeout):
        # -W ignore: 3.12+ warns about fork in a multi-threaded process
        # (docs/python.md); the output is compared.
        plain, _, _ = self.run_both([exe, "-W", "ignore", "-c", script], timeout=timeout)
        self.assertEqual(plain.returncode, 0)
        return plain.stdout

    def test_python_child_forked_from_a_thread_ends_when_its_thread_returns(self):
        found = pythons()
        if not found:
            self.skipTest("no CPython 3.9+ found")
        for version, exe in found:
            with self.subTest(python=version):
                out = self.run_python(exe, FORK_FROM_THREAD, timeout=30)
                self.assertIn(b"child status 0", out)
                self.assertIn(b"parent done", out)

    def test_python_children_whose_thread_returns_at_once_all_end(self):
        found = pythons()
        if not found:
            self.skipTest("no CPython 3.9+ found")
        out = self.run_python(found[0][1], FORK_FROM_THREAD_AT_ONCE, timeout=60)
        self.assertEqual(out, b"parent done\n")


class ProfileSignalView(unittest.TestCase):
    def test_python_sees_and_sets_sigprof_as_without_the_agent(self):
        """CPython reads every disposition at start: getsignal(SIGPROF) used
        to answer None, and signal(SIGPROF, SIG_DFL) made the agent's next
        timer expiry kill the process ("Profiling timer expired").  About
        0.3 s of CPU after the reset: ~30 samples, asserted > 5."""
        found = pythons()
        if not found:
            self.skipTest("no CPython 3.9+ found")
        version, exe = found[-1]
        argv = [exe, "-c", SIGPROF_VIEW]
        plain = P.run(argv, P.clean_env(), timeout=60)
        with P.TempDir() as out:
            prof = P.run_profiled(argv, out, timeout=60)
            docs = [P.load(d) for d in P.documents(out)]
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual((prof.returncode, prof.stdout), (0, plain.stdout), prof.stderr)
        self.assertEqual(len(docs), 1)
        self.assertGreater(P.total(docs[0]), 5)


if __name__ == "__main__":
    unittest.main()
