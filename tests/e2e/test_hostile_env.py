"""Issue 14, finding 1: the agent in privileged programs, and paths and
values from a hostile environment.

A setuid-root program linked with the agent (tests/workloads/setuid_probe.c)
is run as nobody with CGAGENT_* variables that would make a careless agent
create root-owned files where nobody cannot (CGAGENT_LOG_FILE,
CGAGENT_OUTPUT in a root-only directory), forge log lines
(CGAGENT_CPU_HZ with a newline) or print root-only files through its
config errors (CGAGENT_CONFIG=/etc/shadow, a root-only config).  The agent
must decide it is privileged before it reads any of them: no file, no
line, the same output and status as without the variables.  The same
holds for a non-root process with capabilities (ambient capabilities do
not set AT_SECURE).

These tests need root (to make the program setuid-root and to drop to
nobody with setpriv) and are skipped otherwise.
"""
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from e2e import profiles as P

PROBE_SRC = os.path.join(P.ROOT, "tests", "workloads", "setuid_probe.c")
KNOWN = os.path.join(P.WORKLOADS, "known_answer")
SETPRIV = shutil.which("setpriv")
AS_NOBODY = [SETPRIV or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
FORGED = "x\nroot2::0:0:root:/root:/bin/sh"


@unittest.skipUnless(P.can_drop_to_nobody(), "needs root, setpriv and the nobody user")
class PrivilegedPrograms(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cgagent-setuid-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)
        self.root_only = os.path.join(self.tmp, "root-only")
        os.mkdir(self.root_only, 0o700)
        self.open_dir = os.path.join(self.tmp, "open")
        os.mkdir(self.open_dir)
        os.chmod(self.open_dir, 0o1777)
        # nobody must be able to reach the program and the library it links:
        # the checkout may sit in a directory only root can enter (CI's
        # scratch clone is 0700), so both are built here, with the library
        # found by an absolute RUNPATH into this 0755 directory.
        shutil.copy(P.LIB, os.path.join(self.tmp, "libcgagent.so"))
        if P.SPLIT:  # the shim loads the agent from its own directory
            shutil.copy(P.IMPL, os.path.join(self.tmp, "libcgagent-impl.so"))
        self.setuid = os.path.join(self.tmp, "setuid_probe")
        subprocess.run([shutil.which("cc") or "cc", "-std=gnu11", "-O2", "-D_GNU_SOURCE",
                        "-o", self.setuid, PROBE_SRC, "-Wl,--no-as-needed", "-L" + self.tmp,
                        "-lcgagent", "-Wl,-rpath," + self.tmp], check=True,
                       capture_output=True, timeout=120)
        self.probe = os.path.join(self.tmp, "probe")  # the same program, not setuid
        shutil.copy(self.setuid, self.probe)
        os.chown(self.setuid, 0, 0)
        os.chmod(self.setuid, 0o4755)
        self.secret_conf = os.path.join(self.root_only, "secret.conf")
        with open(self.secret_conf, "w") as f:
            f.write("[default]\nprofiling_group = topsecret-group\n"
                    "[bogus]\nhush = topsecret-value\n")
        os.chmod(self.secret_conf, 0o600)

    def run_as_nobody(self, argv, extra_argv=(), **env):
        return P.run(AS_NOBODY + list(extra_argv) + ["--"] + argv, P.clean_env(**env), timeout=60)

    def root_only_files(self):
        return sorted(os.listdir(self.root_only))

    def assert_same_as_plain(self, plain, run):
        self.assertEqual(run.returncode, plain.returncode)
        self.assertEqual(run.stdout, plain.stdout)
        self.assertEqual(run.stderr, plain.stderr)

    def test_setuid_program_takes_no_orders_from_its_environment(self):
        plain = self.run_as_nobody([self.setuid])
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual(plain.stdout, b"setuid_probe: done\n")
        self.assertEqual(plain.stderr, b"")
        hostile = self.run_as_nobody(
            [self.setuid], CGAGENT_LOG="debug",
            CGAGENT_LOG_FILE=os.path.join(self.root_only, "x"),
            CGAGENT_OUTPUT=os.path.join(self.root_only, "out"),
            CGAGENT_CPU_HZ=FORGED)
        self.assertEqual(self.root_only_files(), ["secret.conf"], "a file was created")
        self.assert_same_as_plain(plain, hostile)
        for conf in ("/etc/shadow", self.secret_conf):
            r = self.run_as_nobody([self.setuid], CGAGENT_LOG="debug", CGAGENT_CONFIG=conf,
                                   CGAGENT_OUTPUT=os.path.join(self.open_dir, "out"))
            self.assert_same_as_plain(plain, r)
            self.assertNotIn(b"topsecret", r.stderr)
            self.assertNotIn(b"root", r.stderr)
        self.assertEqual(os.listdir(self.open_dir), [])

    def test_the_probe_runs_the_agent_when_not_setuid(self):
        # Control for the test above: the same program, without the setuid
        # bit, reads those variables (so their absence above means
        # something).  The bad value is logged on one line, escaped.
        out = os.path.join(self.open_dir, "out")
        r = self.run_as_nobody([self.probe], CGAGENT_OUTPUT=out, CGAGENT_CPU_HZ=FORGED)
        self.assertEqual(r.stdout, b"setuid_probe: done\n")
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('CGAGENT_CPU_HZ="x\\nroot2::0:0:root:/root:/bin/sh"', lines[0])
        r = self.run_as_nobody([self.probe, "0.3"], CGAGENT_OUTPUT=out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(P.documents(out)), 1)

    def test_non_root_user_with_capabilities_is_left_alone(self):
        caps = ["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"]
        out = os.path.join(self.open_dir, "out")
        r = self.run_as_nobody([self.probe, "0.3"], caps, CGAGENT_OUTPUT=out, CGAGENT_LOG="debug",
                               CGAGENT_LOG_FILE=os.path.join(self.open_dir, "log"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((r.stdout, r.stderr), (b"setuid_probe: done\n", b""))
        self.assertEqual(os.listdir(self.open_dir), [])


class PathsFromTheEnvironment(unittest.TestCase):
    def test_symlinked_log_file_is_refused_with_one_line(self):
        with P.TempDir() as tmp:
            target = os.path.join(tmp, "target")
            link = os.path.join(tmp, "log")
            os.symlink(target, link)
            out = os.path.join(tmp, "out")
            r = P.run_profiled([KNOWN, "0.1"], out, CGAGENT_LOG_FILE=link)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.lexists(target), "written through the link")
            lines = r.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("CGAGENT_LOG_FILE=%s: cannot open: it is a symbolic link" % link,
                          lines[0])
            self.assertEqual(len(P.documents(out)), 1, "the agent still runs")

    def test_symlinked_config_file_is_refused(self):
        with P.TempDir() as tmp:
            real = os.path.join(tmp, "real.conf")
            with open(real, "w") as f:
                f.write("[default]\ncpu_hz = 50\n")
            link = os.path.join(tmp, "cgagent.conf")
            os.symlink(real, link)
            out = os.path.join(tmp, "out")
            r = P.run_profiled([KNOWN, "0.1"], out, CGAGENT_CONFIG=link)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("%s: a symbolic link" % link, lines[0])
            self.assertFalse(os.path.exists(out), "the agent stays off")


if __name__ == "__main__":
    unittest.main()
