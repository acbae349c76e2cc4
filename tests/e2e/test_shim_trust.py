"""Issue 28, item 1 and the shim's part of item 10: which file the shim
(libcgagent.so, shim/shim.c) loads as the agent, and where it loads none.

Before, the shim dlopen'ed whatever libcgagent-impl.so sat beside it, in
every process: a file another user dropped beside a root-owned shim ran
its constructor as root, and a setuid-root program linked with the shim,
run by nobody, mapped the agent and nine libraries (and ran a planted
file with euid 0).  Now (shim/impl_file.c):

  - a privileged process (AT_SECURE, ids that differ, a non-root user with
    capabilities) and one whose environment switches the agent off
    (AWS_CODEGURU_PROFILER_ENABLED=false) open and map nothing;
  - elsewhere the directory and the file must be owned by root or by the
    shim's owner and writable by neither group nor others, the file must
    be a regular file and not a symbolic link, and it is loaded through
    /proc/self/fd (no /proc: refused).  A refusal is one line on stderr;
    the program's output and status are unchanged.

A planted library (PLANTED below) stands for the attacker's file: its
constructor records the effective uid it ran with in $PLANTED_MARKER, so a
missing marker means its code never ran.  tests/workloads/maps_probe.c
prints the files mapped into it, so a missing libcgagent-impl.so means the
agent was never mapped.  tests/workloads/fd_dlopen.c loads a library of
its own through /proc/self/fd/K, as memfd loaders do, to show that the
name the agent was loaded by is not one a program would use.

Ownership by another user, the setuid program and the capabilities need
root (tests run as root here) and are skipped otherwise.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles as P

KNOWN = os.path.join(P.WORKLOADS, "known_answer")
MAPS_PROBE_SRC = os.path.join(P.ROOT, "tests", "workloads", "maps_probe.c")
FD_DLOPEN = os.path.join(P.WORKLOADS, "fd_dlopen")
SETPRIV = shutil.which("setpriv")
UNSHARE = shutil.which("unshare")
CC = shutil.which("cc") or "cc"
NOBODY = 65534
IMPL = "libcgagent-impl.so"
# The agent and libraries only it loads (maps name the files, so
# libjansson.so.4.14.0): none may be mapped where the agent is not.  The
# portable tarball's agent has them built in (CGAGENT_DIST).
AGENT_LIBS = ("libcgagent-impl.so",) + (() if P.DIST else (
    "libjansson.so", "libmbedcrypto.so", "libinih.so", "libunwind-ptrace.so"))
HELLO = ["sh", "-c", "echo $((6 * 7)); exit 3"]

PLANTED = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int planted_answer(void)
{
    return 42;
}
__attribute__((constructor)) static void planted(void)
{
    const char *m = getenv("PLANTED_MARKER");
    int fd = m ? open(m, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    if (fd >= 0) {
        dprintf(fd, "euid=%d\n", (int)geteuid());
        close(fd);
    }
}
"""


def is_root():
    return os.geteuid() == 0


def agent_libs(mapped):
    """Which of AGENT_LIBS are among the mapped file names."""
    return {lib for lib in AGENT_LIBS if any(m.startswith(lib) for m in mapped)}


def build(tmp):
    """Compiles the planted library and maps_probe (plain, and linked with
    the shim found by absolute RUNPATH in tmp) into tmp."""
    src = os.path.join(tmp, "planted.c")
    with open(src, "w") as f:
        f.write(PLANTED)
    planted = os.path.join(tmp, "planted.so")
    subprocess.run([CC, "-shared", "-fPIC", "-o", planted, src], check=True,
                   capture_output=True, timeout=120)
    probe = os.path.join(tmp, "maps_probe")
    subprocess.run([CC, "-std=gnu11", "-O2", "-o", probe, MAPS_PROBE_SRC], check=True,
                   capture_output=True, timeout=120)
    return planted, probe


class ShimTestCase(unittest.TestCase):
    def setUp(self):
        if not P.SPLIT:
            self.skipTest("sanitizer builds have no shim")
        self.tmp = tempfile.mkdtemp(prefix="cgagent-shim-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)
        self.planted, self.probe = build(self.tmp)
        self.marker = os.path.join(self.tmp, "marker")

    def install(self, name, impl=None, dir_mode=0o755):
        """A directory tmp/name holding a copy of the shim and, beside it,
        `impl` (a path: copied) as libcgagent-impl.so; returns the
        directory."""
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        os.chmod(d, dir_mode)
        shutil.copy(P.LIB, os.path.join(d, "libcgagent.so"))
        if impl:
            shutil.copy(impl, os.path.join(d, IMPL))
        return d

    def run_with(self, d, argv, **env):
        """argv with the shim in d preloaded (LD_PRELOAD=None: not)."""
        env = dict({"LD_PRELOAD": os.path.join(d, "libcgagent.so"),
                    "PLANTED_MARKER": self.marker}, **env)
        return P.run(argv, P.clean_env(**env), timeout=60)

    def planted_ran(self):
        if not os.path.exists(self.marker):
            return None
        with open(self.marker) as f:
            return f.read().strip()

    def mapped(self, res):
        self.assertIn(b"maps_probe: done\n", res.stdout, res)
        return set(res.stdout.decode().splitlines())

    def assert_refused(self, d, why):
        """The planted file beside the shim in d is not run: the program's
        output and status are those of a run without the agent, plus one
        line on stderr naming the file and `why`."""
        plain = P.run(HELLO, P.clean_env(), timeout=60)
        r = self.run_with(d, HELLO)
        self.assertIsNone(self.planted_ran(), "the planted library ran")
        self.assertEqual((r.returncode, r.stdout), (plain.returncode, plain.stdout))
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0], "cgagent: not loading %s: %s; the agent stays off"
                         % (os.path.join(os.path.realpath(d), IMPL), why))


@unittest.skipUnless(is_root(), "needs root (files owned by another user)")
class OnlyATrustedFileIsLoaded(ShimTestCase):
    def test_genuine_agent_beside_the_shim_is_loaded(self):
        d = self.install("lib", P.IMPL)
        out = os.path.join(self.tmp, "out")
        r = self.run_with(d, [KNOWN, "0.2"], CGAGENT_OUTPUT=out)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertEqual(len(P.documents(out)), 1, "the agent ran and wrote its profile")
        self.assertEqual(agent_libs(self.mapped(self.run_with(d, [self.probe]))),
                         set(AGENT_LIBS))

    def test_a_trusted_planted_file_runs_so_its_absence_below_means_something(self):
        # Control for the refusals: the checks are about who could have
        # written the file, not what it holds.
        d = self.install("lib", self.planted)
        r = self.run_with(d, HELLO)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(self.planted_ran(), "euid=0")

    def test_file_owned_by_another_user_is_refused(self):
        d = self.install("lib", self.planted)
        os.chown(os.path.join(d, IMPL), NOBODY, NOBODY)
        self.assert_refused(d, "owned by uid %d, not by root or by libcgagent.so's owner (uid 0)"
                            % NOBODY)

    def test_another_users_copy_of_the_genuine_agent_is_not_mapped(self):
        d = self.install("lib", P.IMPL)
        os.chown(os.path.join(d, IMPL), NOBODY, NOBODY)
        r = self.run_with(d, [self.probe])
        self.assertEqual(r.returncode, 0, r)
        self.assertFalse(agent_libs(self.mapped(r)))
        self.assertEqual(len(r.stderr.decode().splitlines()), 1, r.stderr)

    def test_group_or_other_writable_file_is_refused(self):
        for mode in (0o775, 0o757, 0o666):
            with self.subTest(mode=oct(mode)):
                d = self.install("lib-%o" % mode, self.planted)
                os.chmod(os.path.join(d, IMPL), mode)
                self.assert_refused(d, "writable by group or others (mode %04o)" % mode)

    def test_group_or_other_writable_directory_is_refused(self):
        # 1777 is the reproduced case: a root-owned shim in a sticky
        # world-writable directory, where anyone can add a file.
        for mode in (0o775, 0o757, 0o1777):
            with self.subTest(mode=oct(mode)):
                d = self.install("lib-%o" % mode, self.planted, dir_mode=mode)
                os.chmod(d, mode)  # past the umask
                self.assert_refused(d, "its directory %s is writable by group or others "
                                       "(mode %04o)" % (os.path.realpath(d), mode))

    def test_directory_owned_by_another_user_is_refused(self):
        d = self.install("lib", self.planted)
        os.chown(d, NOBODY, NOBODY)
        self.assert_refused(d, "its directory %s is owned by uid %d, not by root or by "
                               "libcgagent.so's owner (uid 0)" % (os.path.realpath(d), NOBODY))

    def test_symbolic_link_is_refused(self):
        elsewhere = self.install("elsewhere", self.planted)
        d = self.install("lib")
        os.symlink(os.path.join(elsewhere, IMPL), os.path.join(d, IMPL))
        self.assert_refused(d, "it is a symbolic link (the agent is loaded from a regular "
                               "file only)")

    def test_files_of_the_shims_owner_are_trusted(self):
        # A shim of nobody's already runs nobody's code in whoever preloads
        # it: nobody's agent beside it gives nobody nothing more.
        d = self.install("lib", P.IMPL)
        for f in (d, os.path.join(d, "libcgagent.so"), os.path.join(d, IMPL)):
            os.chown(f, NOBODY, NOBODY)
        out = os.path.join(self.tmp, "out")
        r = self.run_with(d, [KNOWN, "0.2"], CGAGENT_OUTPUT=out)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertEqual(len(P.documents(out)), 1)

    def test_without_proc_the_file_is_refused_not_loaded_by_its_path(self):
        if not UNSHARE or subprocess.run(
                [UNSHARE, "-m", "--propagation", "private", "sh", "-c", "umount -l /proc"],
                capture_output=True).returncode != 0:
            self.skipTest("cannot unmount /proc in a mount namespace")
        d = self.install("lib", self.planted)
        r = self.run_with(d, [UNSHARE, "-m", "--propagation", "private", "sh", "-c",
                              "umount -l /proc && env LD_PRELOAD=\"$SHIM\" sh -c "
                              "'echo $((6 * 7)); exit 3'"],
                          LD_PRELOAD=None, SHIM=os.path.join(d, "libcgagent.so"))
        self.assertIsNone(self.planted_ran(), "loaded by its path")
        self.assertEqual((r.returncode, r.stdout), (3, b"42\n"), r)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        impl = os.path.join(os.path.realpath(d), IMPL)
        self.assertEqual(lines[0], "cgagent: not loading %s: /proc is not mounted, and the agent "
                         "is loaded only through /proc/self/fd (the very file checked), never "
                         "by its path; the agent stays off" % impl)


class ProgramsOwnLoads(ShimTestCase):
    def test_a_program_loading_by_proc_self_fd_gets_its_own_library(self):
        # The agent is loaded through /proc/self/fd, and the loader answers
        # a later dlopen of the same name with the agent: had it been
        # loaded as /proc/self/fd/N, a program loading its own library
        # from descriptor N (memfd loaders do) would get the agent and
        # miss its symbols.
        d = self.install("lib", P.IMPL)
        plain = P.run([FD_DLOPEN, self.planted, "planted_answer"], P.clean_env(), timeout=60)
        self.assertEqual(plain.returncode, 0, plain)
        r = self.run_with(d, [FD_DLOPEN, self.planted, "planted_answer"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, plain.stdout, b""), r)


class SwitchedOff(ShimTestCase):
    def test_the_off_switch_keeps_the_agent_unmapped(self):
        d = self.install("lib", P.IMPL)
        for value in ("false", "0", "NO", "Off"):
            with self.subTest(value=value):
                r = self.run_with(d, [self.probe], AWS_CODEGURU_PROFILER_ENABLED=value)
                self.assertEqual((r.returncode, r.stderr), (0, b""), r)
                m = self.mapped(r)
                self.assertIn("libcgagent.so", m)
                self.assertFalse(agent_libs(m), value)

    def test_on_or_a_bad_value_is_left_to_the_agent(self):
        d = self.install("lib", P.IMPL)
        r = self.run_with(d, [self.probe], AWS_CODEGURU_PROFILER_ENABLED="true")
        self.assertIn(IMPL, self.mapped(r))
        r = self.run_with(d, [self.probe], AWS_CODEGURU_PROFILER_ENABLED="maybe")
        self.assertIn(IMPL, self.mapped(r))
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("AWS_CODEGURU_PROFILER_ENABLED", lines[0])


@unittest.skipUnless(P.can_drop_to_nobody(), "needs root, setpriv and the nobody user")
class PrivilegedProcessesMapNoAgent(ShimTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.install("lib", P.IMPL)
        # The probe linked with the shim: the loader ignores LD_PRELOAD
        # paths in setuid programs.  Found by absolute RUNPATH.
        self.linked = os.path.join(self.tmp, "maps_probe_linked")
        subprocess.run([CC, "-std=gnu11", "-O2", "-o", self.linked, MAPS_PROBE_SRC,
                        "-Wl,--no-as-needed", "-L" + self.dir, "-lcgagent",
                        "-Wl,-rpath," + self.dir], check=True, capture_output=True, timeout=120)
        self.setuid = os.path.join(self.tmp, "maps_probe_setuid")
        shutil.copy(self.linked, self.setuid)
        os.chown(self.setuid, 0, 0)
        os.chmod(self.setuid, 0o4755)

    def as_nobody(self, argv, extra=(), **env):
        return P.run([SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups"] +
                     list(extra) + ["--"] + argv,
                     P.clean_env(PLANTED_MARKER=self.marker, **env), timeout=60)

    def test_setuid_program_run_by_nobody_maps_no_agent(self):
        plain = self.mapped(self.as_nobody([self.linked]))
        self.assertIn(IMPL, plain, "control: the same program, not setuid, maps the agent")
        r = self.as_nobody([self.setuid])
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        m = self.mapped(r)
        self.assertIn("libcgagent.so", m)
        self.assertFalse(agent_libs(m))

    def test_setuid_program_run_by_nobody_runs_no_planted_file(self):
        os.remove(os.path.join(self.dir, IMPL))
        shutil.copy(self.planted, os.path.join(self.dir, IMPL))
        r = self.as_nobody([self.setuid])
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertIsNone(self.planted_ran(), "ran in the setuid program")

    def test_differing_user_ids_map_no_agent(self):
        r = P.run([SETPRIV, "--euid=nobody", "--", self.linked], P.clean_env(), timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertFalse(agent_libs(self.mapped(r)))

    def test_non_root_user_with_capabilities_maps_no_agent(self):
        shim = os.path.join(self.dir, "libcgagent.so")
        probe = os.path.join(self.tmp, "maps_probe")
        caps = ["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"]
        self.assertIn(IMPL, self.mapped(self.as_nobody([probe], LD_PRELOAD=shim)), "control")
        r = self.as_nobody([probe], caps, LD_PRELOAD=shim)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertFalse(agent_libs(self.mapped(r)))


if __name__ == "__main__":
    unittest.main()
