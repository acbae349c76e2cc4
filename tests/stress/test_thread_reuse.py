"""Reliability: thread ids reused after threads that left without their
exit hook (issue 14, finding 8).

The workload (tests/workloads/tid_reuse.c) runs in a fresh user and pid
namespace, where it may set the next thread id: each round a thread exits
with a raw SYS_exit (no TLS destructor, so the agent's slot for it stays
ACTIVE with a timer on the dead thread's clock), and the next thread gets
its id and burns CPU in reused_tid_worker().  Before the fix such a thread
adopted the stale slot and was never sampled: 0 samples of 148 expected.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles

WORKLOAD = os.path.join(profiles.WORKLOADS, "tid_reuse")
ROUNDS = int(os.environ.get("CGAGENT_STRESS_TID_ROUNDS", "5"))


def can_unshare():
    if not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "-Urpf", "--mount-proc", "sh", "-c",
                        "echo 10 > /proc/sys/kernel/ns_last_pid"],
                       capture_output=True, timeout=30)
    return p.returncode == 0


class ThreadIdReuse(unittest.TestCase):
    @unittest.skipUnless(can_unshare(), "no user+pid namespaces (unshare -Urpf) here")
    # ASan's runtime keeps per-thread state that a raw SYS_exit never
    # clears: the next thread's start fails its CHECK, with or without the
    # agent (asan_thread.cpp "AsanTSDGet()").
    @unittest.skipIf(profiles.PRELOAD_FIRST, "the sanitizer runtime cannot run threads that "
                     "leave by a raw SYS_exit")
    def test_threads_reusing_ids_of_hookless_exits_are_sampled(self):
        """ROUNDS threads of 0.3 CPU-seconds each at 100 Hz: about 30 samples
        each (148 seen for 5).  CPU-clock timers count the thread's own
        CPU time, so a loaded machine does not thin them; the bound asks
        for a fifth of the expected count, at least 5 per thread (false
        failure odds far below 1/1000 even at binomial spread)."""
        out = tempfile.mkdtemp(prefix="cgagent-tid-reuse-")
        self.addCleanup(shutil.rmtree, out, True)
        env = profiles.clean_env(CGAGENT_OUTPUT=out)
        # Only the workload is preloaded: unshare(CLONE_NEWUSER) refuses a
        # multithreaded caller, and the agent's thread would make unshare one.
        proc = subprocess.run(["unshare", "-Urpf", "--mount-proc", "env",
                               "LD_PRELOAD=" + profiles.PRELOAD, WORKLOAD, str(ROUNDS), "0.3"],
                              env=env, capture_output=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertEqual(proc.stdout.decode(),
                         "tid_reuse: %d of %d ids reused\n" % (ROUNDS, ROUNDS))
        n = 0
        for path in profiles.documents(out):
            n += profiles.self_counts(profiles.load(path)).get("reused_tid_worker", 0)
        self.assertGreaterEqual(n, max(5 * ROUNDS, ROUNDS * 30 // 5),
                                "threads that reused an id were not sampled")


if __name__ == "__main__":
    unittest.main()
