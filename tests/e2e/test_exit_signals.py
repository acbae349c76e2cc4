"""Issue 14, finding 9: a process killed by SIGTERM, SIGINT or SIGHUP (at
their default action) still reports its last period, and dies by the same
signal with the same wait status as without the agent.

Workload: tests/workloads/exit_signal.c.  `spin 1` burns 1 CPU-second,
prints "ready" and burns on; the test sends the signal when it reads
"ready", so the last (and only) period holds at least 1 CPU-s: about 100
samples at 100 Hz, asserted > 50.  A CPU-clock timer gives one sample per
10 ms of the thread's CPU (merged expiries included), so this is not a
random draw; even read as a Poisson count, 50 of 100 is 5 standard
deviations (odds far below 1/1000).

Every child starts with the three signals at SIG_DFL (preexec), whatever
the test runner's own dispositions (a background job ignores SIGINT).
"""
import os
import signal
import subprocess
import unittest

from e2e import profiles as P
from e2e.test_upload import UploadTestCase
from emulator import GROUP

PROG = os.path.join(P.WORKLOADS, "exit_signal")
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def default_dispositions():
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)


def start(argv, env):
    return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=default_dispositions)


def kill_when_ready(proc, signo, timeout=60):
    line = proc.stdout.readline()
    if line != b"ready\n":
        proc.kill()
        raise AssertionError("no ready line: %r %r" % (line, proc.stderr.read()))
    proc.send_signal(signo)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


class ExitSignals(unittest.TestCase):
    def test_killed_by_each_signal_reports_and_dies_the_same_way(self):
        for signo in SIGNALS:
            with self.subTest(signal=signo.name), P.TempDir() as out:
                plain = kill_when_ready(start([PROG, "spin", "1"], P.clean_env()), signo)
                self.assertEqual(plain[0], -signo)
                env = P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=out)
                rc, stdout, stderr = kill_when_ready(start([PROG, "spin", "1"], env), signo)
                self.assertEqual(rc, plain[0], stderr)  # WIFSIGNALED, same signal, no core
                self.assertEqual((stdout, stderr), (plain[1], plain[2]))
                docs = P.documents(out)
                self.assertEqual(len(docs), 1, os.listdir(out))
                doc = P.load(docs[0])
                self.assertGreater(P.total(doc), 50)
                self.assertIn("burn_cpu", P.self_counts(doc))

    def test_program_with_its_own_handler_gets_the_signal(self):
        with P.TempDir() as out:
            plain = kill_when_ready(start([PROG, "handler"], P.clean_env()), signal.SIGTERM)
            env = P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=out)
            prof = kill_when_ready(start([PROG, "handler"], env), signal.SIGTERM)
            self.assertEqual(plain, (3, b"handled\n", b""))
            self.assertEqual(prof, plain)

    def test_program_sees_the_default_disposition(self):
        with P.TempDir() as out:
            plain = P.run([PROG, "query"], P.clean_env())
            prof = P.run_profiled([PROG, "query"], out)
            self.assertEqual(plain.returncode, 0)
            self.assertIn(b"Terminated: sigaction SIG_DFL (siginfo 0, flags 0), signal SIG_DFL",
                          plain.stdout)
            self.assertEqual((prof.returncode, prof.stdout, prof.stderr),
                             (plain.returncode, plain.stdout, plain.stderr))

    def test_ignored_signal_stays_ignored(self):
        with P.TempDir() as out:
            env = P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=out)
            proc = start([PROG, "ignore"], env)
            self.assertEqual(proc.stdout.readline(), b"ready\n")
            proc.send_signal(signal.SIGTERM)  # discarded when sent: it is ignored
            out_b, err = proc.communicate(b"go on\n", timeout=60)
            self.assertEqual((proc.returncode, out_b, err), (0, b"alive\n", b""))

    def test_agent_holds_the_signals_the_program_leaves_at_default(self):
        # The kernel's view (SigCgt) of a program that left them alone: the
        # agent's handler is there (while the program's sigaction says
        # SIG_DFL, test above).
        env = P.clean_env(LD_PRELOAD=P.LIB, CGAGENT_OUTPUT="/nonexistent/never")
        proc = start([PROG, "spin", "0.05"], env)
        self.assertEqual(proc.stdout.readline(), b"ready\n")
        with open("/proc/%d/status" % proc.pid) as f:
            caught = int([l for l in f if l.startswith("SigCgt:")][0].split()[1], 16)
        proc.kill()
        proc.communicate(timeout=60)
        for s in SIGNALS:
            self.assertTrue(caught & (1 << (s - 1)), s.name)


class ExitSignalUpload(UploadTestCase):
    def test_last_period_is_posted_when_killed_by_sigterm(self):
        env = self.emu.env_for("user", LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=self.out,
                               AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        rc, _, err = kill_when_ready(start([PROG, "spin", "1"], env), signal.SIGTERM)
        self.assertEqual(rc, -signal.SIGTERM, err)
        posts = self.accepted()
        self.assertEqual(len(posts), 1, "the last period was not posted before the signal")
        self.assertTrue(posts[0].valid, posts[0].problems)
        self.assertEqual(self.service_totals(posts), self.local_totals())
        self.assertGreater(self.local_totals()["RUNNABLE"], 50)


if __name__ == "__main__":
    unittest.main()
