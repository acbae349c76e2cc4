"""Reliability: memory pressure at the agent's limit.

docs/usage.md: past CGAGENT_MEMORY_LIMIT_MB the agent stops "the same way"
as the kill switch: one log line, sampling stops, what was collected is
still reported.  tests/workloads/churn.c `paths` descends a fresh random
path of DEPTH calls through eight functions for every slice of CPU, so
nearly every sample is a stack never seen before: the stack table and each
period's call tree grow as fast as the agent samples (a depth of 150 gives
about 300 tree nodes a sample).  Reporting every second with the smallest
limit (4 MB), the first period's tree (about 50,000 nodes, 5-6 MB) is over
it.

The test waits for the stop line (no timing), then closes the program's
input: each thread then burns 0.3 s of its CPU in after_input_work.  The
timers are deleted before the line is written, and a pending signal is
delivered before the thread runs another instruction, so that function
has no sample at all; the samples taken before the stop (in path_leaf,
under path_N frames) are in the documents.

Long form (CGAGENT_STRESS=long): four threads, depth 200, an 8 MB limit.
"""
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

from e2e import profiles

WORKLOAD = os.path.join(profiles.WORKLOADS, "churn")
LONG = os.environ.get("CGAGENT_STRESS") == "long"
THREADS, DEPTH, LIMIT_MB = (4, 200, 8) if LONG else (2, 150, 4)
LIMIT_LINE = "CGAGENT_MEMORY_LIMIT_MB"
# Hang check only: the first period ends a second after start.
STOP_WAIT_S = 180


def stderr_lines(proc):
    """Queue of the process's stderr lines (None at end of file)."""
    q = queue.Queue()

    def pump():
        for line in proc.stderr:
            q.put(line.decode("utf-8", "replace"))
        q.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return q


class MemoryLimit(unittest.TestCase):
    def setUp(self):
        # Call trees DEPTH frames deep: the JSON nests twice as deep.
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20 * DEPTH))
        self.addCleanup(sys.setrecursionlimit, old)
        self.out = tempfile.mkdtemp(prefix="cgagent-memlimit-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def test_stops_once_at_the_limit_and_keeps_what_it_had(self):
        env = profiles.clean_env(LD_PRELOAD=profiles.PRELOAD, CGAGENT_OUTPUT=self.out,
                                 CGAGENT_CPU_HZ="250", CGAGENT_MEMORY_LIMIT_MB=str(LIMIT_MB),
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
        proc = subprocess.Popen([WORKLOAD, "paths", str(THREADS), str(DEPTH)], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = stderr_lines(proc)
        seen = []
        while True:
            try:
                line = lines.get(timeout=STOP_WAIT_S)
            except queue.Empty:
                self.fail("no stop at the memory limit within %d s: %s" % (STOP_WAIT_S, seen))
            self.assertIsNotNone(line, "the program ended before the agent stopped: %s" % seen)
            seen.append(line)
            if LIMIT_LINE in line:
                break
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=120), 0, "".join(seen))
        out = proc.stdout.read().decode()
        while True:
            line = lines.get(timeout=30)
            if line is None:
                break
            seen.append(line)

        # The host: its output and status, nothing but agent lines on stderr.
        self.assertEqual(out, "churn: paths done\n")
        for line in seen:
            self.assertTrue(line.startswith("cgagent["), line)
        # One line, naming the limit and the setting.
        stops = [line for line in seen if LIMIT_LINE in line]
        self.assertEqual(len(stops), 1, seen)
        self.assertIn("(limit %d MB, %s): profiling stops" % (LIMIT_MB, LIMIT_LINE), stops[0])
        self.assertEqual(len([line for line in seen if "profiling stops" in line]), 1, seen)

        # What was sampled before the stop is reported; nothing after it.
        counts = {}
        docs = profiles.documents(self.out)
        self.assertTrue(docs, "no profile written")
        for path in docs:
            for names, n in profiles.stacks(profiles.load(path)):
                for name in set(names):  # samples at or under each function
                    counts[name] = counts.get(name, 0) + n
        self.assertGreater(counts.get("path_leaf", 0), 0, sorted(counts.items())[:20])
        self.assertEqual(counts.get("after_input_work", 0), 0,
                         "sampled after the agent said it stopped")


if __name__ == "__main__":
    unittest.main()
