"""Reliability: a program with its own jansson and mbedTLS symbols.

tests/workloads/own_symbols.c exports (-rdynamic) its own json_loadb,
json_dumps, json_pack, mbedtls_md_hmac, … that return errors and count
their calls, as a program that links those libraries statically (another
version, patched) would.  The agent's own calls (ConfigureAgent's JSON,
SigV4's HMACs) must not bind to them: the program sees no foreign call, and
the profile reaches the service.  libcgagent.so is a shim that loads the
agent (libcgagent-impl.so) with RTLD_DEEPBIND, so the agent's libraries come
first in its own lookups (docs/security.md, "The agent's own libraries").

Deep binding has a price the second test holds it to: the agent must still
use the program's allocator, because libc's strdup/getline and libraries
the program loaded allocate with it, and the program's environ.  The
program there runs tcmalloc's debug allocator, which aborts on a pointer it
did not hand out; without the shim's allocator bridge (preload/bridge.h)
the agent dies in glibc's free() on the first string libc allocated for it.

Sanitizer builds keep one library (their runtimes refuse RTLD_DEEPBIND), so
both tests need the split build.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles
from emulator import GROUP, Emulator

WORKLOAD = os.path.join(profiles.WORKLOADS, "own_symbols")
FAST = {"MinimumTimeForReportingInMilliseconds": "0",
        "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"}


TCMALLOC_DEBUG = "libtcmalloc_minimal_debug.so.4"  # libgoogle-perftools-dev (make deps)
ALLOCATOR_PROBE = r"""
import ctypes, os
os.environ["CG_PROBE"] = "set after start"
getenv = ctypes.CDLL(None).getenv
getenv.restype = ctypes.c_char_p
print(getenv(b"CG_PROBE").decode())
n = 0
for i in range(4000000):
    n += i
"""


def have_library(name):
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    return name in out


@unittest.skipUnless(profiles.SPLIT, "sanitizer builds have no deep-bound agent")
class OwnSymbols(unittest.TestCase):
    def test_agent_calls_never_bind_to_the_programs_copies(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            proc = profiles.run([WORKLOAD, "1.0"], env)
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            self.assertEqual(proc.stdout.decode(),
                             "own_symbols: 21 own calls, 0 foreign calls\n",
                             proc.stderr.decode())
            posts = [p for p in emu.profiles(GROUP) if p.accepted]
            self.assertTrue(posts, "nothing reached the service: " + proc.stderr.decode())
            names = set()
            for p in posts:
                self.assertTrue(p.valid, p.problems)
                names |= set(profiles.self_counts(p.document))
            self.assertIn("own_symbols_work", names)

    @unittest.skipUnless(have_library(TCMALLOC_DEBUG), TCMALLOC_DEBUG + " is not installed")
    def test_agent_uses_the_programs_allocator_and_environment(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = emu.env_for("user", LD_PRELOAD=TCMALLOC_DEBUG + " " + profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            proc = profiles.run(["python3", "-c", ALLOCATOR_PROBE], env)
            err = proc.stderr.decode()
            self.assertEqual(proc.returncode, 0, err)
            # CPython keeps its own environ; libc's getenv sees it, the
            # agent beside it.
            self.assertEqual(proc.stdout.decode(), "set after start\n", err)
            self.assertNotIn("invalid pointer", err)
            posts = [p for p in emu.profiles(GROUP) if p.accepted]
            self.assertTrue(posts, "nothing reached the service: " + err)
            for p in posts:
                self.assertTrue(p.valid, p.problems)


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(profiles.SPLIT, "sanitizer builds have no shim")
class ShimAlone(unittest.TestCase):
    def test_without_the_agent_beside_it_the_shim_says_so_and_stays_out_of_the_way(self):
        with tempfile.TemporaryDirectory() as d:
            shim = os.path.join(d, "libcgagent.so")
            shutil.copy(profiles.LIB, shim)
            out = os.path.join(d, "out")
            env = profiles.clean_env(LD_PRELOAD=shim, CGAGENT_OUTPUT=out)
            proc = profiles.run(["sh", "-c", "echo $((6 * 7)); exit 3"], env)
            self.assertEqual(proc.returncode, 3)
            self.assertEqual(proc.stdout, b"42\n")
            lines = proc.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertRegex(lines[0], r"^cgagent: cannot load the agent: .*libcgagent-impl\.so.*; "
                                       r"the agent stays off$")
            self.assertFalse(os.path.exists(out))

    def dynamic_symbols(self, lib, defined):
        out = subprocess.run(["nm", "-D", "--defined-only" if defined else "--undefined-only",
                              lib], capture_output=True, text=True, check=True).stdout
        return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}

    def test_the_shim_exports_the_wrappers_and_the_bridge_only(self):
        wrappers = {"pthread_create", "sigaction", "signal", "setitimer", "_exit", "_Exit",
                    "mprotect"}
        self.assertEqual(self.dynamic_symbols(profiles.LIB, True),
                         wrappers | {"cgagent_shim_bridge_1"})
        # The agent takes nothing else from the program's scope: every other
        # undefined name is defined by one of its libraries (the link cannot
        # use --no-undefined, because of the bridge).
        ldd = subprocess.run(["ldd", profiles.IMPL], capture_output=True, text=True,
                             check=True).stdout
        self.assertNotIn("not found", ldd)
        libs = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=> /" in l]
        provided = set()
        for lib in libs:
            provided |= self.dynamic_symbols(lib, True)
        out = subprocess.run(["nm", "-D", "--undefined-only", profiles.IMPL],
                             capture_output=True, text=True, check=True).stdout
        strong = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.split()[0] == "U"}
        self.assertEqual(strong - provided, {"cgagent_shim_bridge_1"})
