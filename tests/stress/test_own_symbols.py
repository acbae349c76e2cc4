"""Reliability: a program with its own jansson and mbedTLS symbols.

tests/workloads/own_symbols.c exports (-rdynamic) its own json_loadb,
json_dumps, json_pack, mbedtls_md_hmac, … that return errors and count
their calls, as a program that links those libraries statically (another
version, patched) would.  The agent's own calls (ConfigureAgent's JSON,
SigV4's HMACs) must not bind to them: the program sees no foreign call, and
the profile reaches the service.  Today the dynamic loader binds the
agent's calls to the program's definitions: docs/security.md, "Known
limits", says which libraries are affected and the planned fix.
"""
import os
import unittest

from e2e import profiles
from emulator import GROUP, Emulator

WORKLOAD = os.path.join(profiles.WORKLOADS, "own_symbols")
FAST = {"MinimumTimeForReportingInMilliseconds": "0",
        "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"}


class OwnSymbols(unittest.TestCase):
    @unittest.expectedFailure
    def test_agent_calls_never_bind_to_the_programs_copies(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            proc = profiles.run([WORKLOAD, "1.0"], env)
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            self.assertEqual(proc.stdout.decode(),
                             "own_symbols: 11 own calls, 0 foreign calls\n",
                             proc.stderr.decode())
            posts = [p for p in emu.profiles(GROUP) if p.accepted]
            self.assertTrue(posts, "nothing reached the service: " + proc.stderr.decode())
            names = set()
            for p in posts:
                self.assertTrue(p.valid, p.problems)
                names |= set(profiles.self_counts(p.document))
            self.assertIn("own_symbols_work", names)


if __name__ == "__main__":
    unittest.main()
