"""Reliability: reading CPython's frame chain from the signal handler while
the interpreter changes it as fast as it can (issue 25).

tests/workloads/python/chain_stress.py, at the highest CPU rate the
kernel delivers (250 Hz here), on every CPython 3.9, 3.11, 3.12 and 3.13
found: recursion crossing the data stack's chunk boundaries (3.11+ unmaps
a chunk while its current frame still points into it, until the next
store), generators and coroutines (frames inside their objects), 200
short threads (thread states made and freed) and daemon threads still in
Python while the interpreter finalises and frees their states.  Each run
must end as without the agent (status 0, "ok") with Python frames in its
profile; the short form runs once per version with 0.4 s of CPU per
kind, the long form (CGAGENT_STRESS=long) ten times with 1 s.  Nothing here is sampled by chance: a
fault in the handler ends the run with SIGSEGV.
"""
import glob
import os
import tempfile
import unittest

from e2e import profiles as P
from e2e.test_python import need

LONG = os.environ.get("CGAGENT_STRESS") == "long"
WORKLOAD = os.path.join(P.ROOT, "tests", "workloads", "python", "chain_stress.py")


class FrameChainChurn(unittest.TestCase):
    def test_the_host_survives_and_is_named(self):
        for v in ("3.9", "3.11", "3.12", "3.13"):
            with self.subTest(python=v):
                exe = need(self, v)
                for _ in range(10 if LONG else 1):
                    with tempfile.TemporaryDirectory() as out:
                        r = P.run_profiled([exe, WORKLOAD, "1.0" if LONG else "0.4"], out,
                                           timeout=300,
                                           CGAGENT_CPU_HZ="250")
                        self.assertEqual((r.returncode, r.stdout), (0, b"ok\n"), r.stderr)
                        # The folded file: stacks thousands of frames deep
                        # are more than a JSON reader's recursion allows.
                        names = set()
                        for path in glob.glob(os.path.join(out, "*.folded")):
                            if path.endswith(".waiting.folded"):
                                continue
                            with open(path, encoding="utf-8") as f:
                                for line in f:
                                    names.update(line.rsplit(" ", 1)[0].split(";"))
                        for fn in ("chain_stress:rec", "chain_stress:counting",
                                   "chain_stress:nested", "chain_stress:chunky"):
                            self.assertIn(fn, names)


if __name__ == "__main__":
    unittest.main()
