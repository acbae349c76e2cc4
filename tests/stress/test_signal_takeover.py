"""Reliability: a program installs its own SIGPROF handler from inside a
signal handler (issue 28, review finding on cg_preload_app_took_signal).

sigaction is async-signal-safe, so a program may call it from a handler.
The agent's sigaction wrapper then stands aside; it used to take the
registry lock and log on the spot, and a handler that interrupted one of
the program's threads while that thread was registering itself (the
pthread_create trampoline, under that lock) deadlocked it for good.

tests/workloads/sigprof_in_handler.c forks SHOTS children (a fresh agent
each); each creates a thread on another CPU, sends it SIGUSR1 a sweeping
few microseconds later, and the SIGUSR1 handler installs the program's
SIGPROF handler; the child then arms ITIMER_PROF and waits for 5 of its
own ticks.  A child still running after 10 s is killed and counted hung.
Measured before the fix (2 cores): 14, 16 and 18 of 200 children hung in
three runs (about 1 in 12), so the odds of a clean run of 200 with the
bug are below 1 in 10^6.  After it: none, every child's own handler got
its ticks, and every child's log has the stand-down line exactly once.
Long form (CGAGENT_STRESS=long): 1000 children.
"""
import collections
import os
import re
import subprocess
import tempfile
import unittest

from e2e import profiles

WORKLOAD = os.path.join(profiles.WORKLOADS, "sigprof_in_handler")
LONG = os.environ.get("CGAGENT_STRESS") == "long"
SHOTS = 1000 if LONG else 200
LINE = "the application installed its own SIGPROF handler: profiling stops"


class SigprofFromAHandler(unittest.TestCase):
    def test_installing_sigprof_from_a_handler_never_hangs_and_logs_once(self):
        with profiles.TempDir() as out, tempfile.TemporaryDirectory() as logs:
            log = os.path.join(logs, "agent.log")
            env = profiles.clean_env(LD_PRELOAD=profiles.PRELOAD, CGAGENT_OUTPUT=out,
                                     CGAGENT_LOG_FILE=log)
            # Each child waits for at most 10 s; the whole run well within
            # SHOTS x 10 s even if every child hung.
            proc = subprocess.run([WORKLOAD, str(SHOTS)], env=env, capture_output=True,
                                  timeout=SHOTS * 12 + 60)
            self.assertEqual(proc.stdout.decode(), "shots %d hung 0 failed 0\n" % SHOTS,
                             proc.stderr.decode())
            self.assertEqual(proc.returncode, 0)
            self.assertEqual(proc.stderr, b"")
            with open(log, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        per_pid = collections.Counter()
        for line in lines:
            m = re.match(r"cgagent\[(\d+)\]: ", line)
            if m and LINE in line:
                per_pid[m.group(1)] += 1
        self.assertEqual(len(per_pid), SHOTS, "children whose stand-down line is missing")
        self.assertEqual(set(per_pid.values()), {1}, "a stand-down line logged twice")


if __name__ == "__main__":
    unittest.main()
