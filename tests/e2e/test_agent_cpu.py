"""The agent's own CPU by activity (debugInfo.genericMetrics
"agentCpuNs.<activity>", docs/format.md): present in every document,
never more than the agent's total (agentOverhead.timeInMs), and non-zero
where the work certainly happened.

Counts, not timings: each activity is a sum of CLOCK_THREAD_CPUTIME_ID
differences (nanosecond resolution), so work that ran is > 0 however fast
or loaded the machine is; no bound on an amount is asserted.  known_answer
burns a fixed amount of CPU per thread (busy_a 3 units, at least 3 x UNIT
seconds of wall time), so the run with a 1 s reporting interval writes at
least two documents whatever the load.
"""
import os
import shutil
import tempfile
import unittest

from e2e import profiles as P
from emulator import profile as validator

KNOWN = os.path.join(P.WORKLOADS, "known_answer")
ACTIVITIES = ("drain", "threadScan", "wallSampling", "symbolization", "encoding",
              "localWrite", "upload", "other")


def breakdown(doc):
    gm = doc["debugInfo"]["genericMetrics"]
    return {a: gm["agentCpuNs." + a] for a in ACTIVITIES}


class AgentCpuBreakdown(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cgagent-cpu-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def docs(self, unit, **extra):
        r = P.run_profiled([KNOWN, unit], self.tmp, **extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [P.load(p) for p in P.documents(self.tmp)]
        docs.sort(key=lambda d: d["start"])
        for d in docs:
            self.assertEqual(validator.validate_profile(d), [])
            cpu = breakdown(d)
            self.assertTrue(all(isinstance(v, int) and v >= 0 for v in cpu.values()), cpu)
            # timeInMs is truncated to whole ms and also holds the handler.
            total_ms = d["agentMetadata"]["agentOverhead"].get("timeInMs", 0)
            self.assertLessEqual(sum(cpu.values()), (total_ms + 1) * 1000000, (cpu, total_ms))
            self.assertEqual(cpu["upload"], 0, "no profiling group: no upload thread")
        return docs

    def test_one_report_counts_drain_and_symbolization(self):
        docs = self.docs("0.3")
        self.assertEqual(len(docs), 1)
        cpu = breakdown(docs[0])
        self.assertGreater(cpu["drain"], 0, cpu)
        self.assertGreater(cpu["symbolization"], 0, cpu)
        self.assertGreater(cpu["threadScan"], 0, cpu)

    def test_encoding_and_writing_go_to_the_next_period(self):
        docs = self.docs("0.6", AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS=1000)
        self.assertGreaterEqual(len(docs), 2)
        first = breakdown(docs[0])
        # The first document cannot hold its own encoding; the next one does.
        self.assertEqual(first["encoding"], 0, first)
        self.assertEqual(first["localWrite"], 0, first)
        second = breakdown(docs[1])
        self.assertGreater(second["encoding"], 0, second)
        self.assertGreater(second["localWrite"], 0, second)


if __name__ == "__main__":
    unittest.main()
