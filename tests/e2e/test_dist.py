"""The portable tarball (make dist; docs/install.md).

The tarball's files must load under every glibc since 2.17 and need
nothing else: checked on the files themselves (dist/check_portable.py:
glibc versions, GLIBC_PRIVATE, DT_NEEDED, RPATH/RUNPATH, exports, TLS),
and by running real programs under Debian 11's glibc 2.31
(tests/e2e/debian11.py): Debian 11's python3.9 and gzip, with the
tarball's agent preloaded, print and exit exactly as without it, and the
agent writes a profile with samples.  The stock build's shim, preloaded
into the same programs, must not stop them either: it says in one line
that the agent stays off (its implementation needs a newer glibc).

`make test` runs `make dist` first.  When Debian's archive cannot be
reached (no network, or a version gone from it), the tests that need what
it serves skip with the reason; a tarball that failed to build or check
for any other reason fails here.
"""
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unittest

from e2e import debian11
from e2e import profiles as P

DIST_DIR = os.path.join(P.BUILD, "dist")
FLOOR = "2.17"
# The implementation's TLS in the stock build plus libunwind.so.8's 16
# bytes, which the tarball's implementation carries (dist/package.py).
IMPL_MAX_TLS = 24

# Work that takes 1.5 s of CPU in named Python functions, then exits with a
# status of its own, printing a known answer.
PY_WORK = r"""
import sys, time
def leaf_spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
def caller():
    t0 = time.process_time(); total = 0
    while time.process_time() - t0 < 1.5:
        total += leaf_spin(20000) % 7
    return total
caller()
print("answer", sum(i * i for i in range(1000)))
sys.exit(3)
"""


def built_tarball(pattern, dist_dir, target):
    """The newest BUILD/`pattern`; None when there is none; a skip, saying
    why, when `make target` could not fetch a source from Debian's archive
    (dist_dir/deps/fetch-failed, dist/build-deps.sh)."""
    found = sorted(glob.glob(os.path.join(P.BUILD, pattern)))
    if found:
        return found[-1]
    why = os.path.join(dist_dir, "deps", "fetch-failed")
    if os.path.exists(why):
        raise unittest.SkipTest("no tarball: make %s could not fetch a source: %s"
                                % (target, open(why).read().strip()))
    return None


def tarball():
    return built_tarball("cgagent-*-linux-x86_64.tar.gz", DIST_DIR, "dist")


class DistTarball(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tgz = tarball()
        cls.tmp = P.TempDir()
        cls.dir = cls.tmp.__enter__()
        if cls.tgz:
            with tarfile.open(cls.tgz) as t:
                cls.names = t.getnames()
                cls.members = {m.name: m for m in t.getmembers()}
                t.extractall(cls.dir)
            cls.top = os.path.join(cls.dir, cls.names[0].split("/")[0])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def setUp(self):
        if not self.tgz:
            self.fail("no tarball in %s: `make dist` failed (its output says why)" % P.BUILD)

    def elf_files(self):
        out = []
        for d, _, names in os.walk(self.top):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        out.append(os.path.join(d, n))
        return sorted(out)

    def test_holds_the_agent_the_command_the_pages_and_the_licences_only(self):
        top = os.path.basename(self.top)
        want = {"lib/libcgagent.so", "lib/libcgagent-impl.so", "bin/cgagent",
                "share/man/man1/cgagent.1", "share/man/man5/cgagent.conf.5",
                "share/doc/cgagent/README", "share/doc/cgagent/deps.lock"}
        files = {n[len(top) + 1:] for n, m in self.members.items() if m.isfile()}
        self.assertTrue(want <= files, want - files)
        with open(os.path.join(P.ROOT, "dist", "deps.lock")) as f:
            bundled = [line.split()[1] for line in f
                       if line.strip() and not line.startswith("#")]
        licences = {"share/doc/cgagent/licenses/%s.copyright" % p for p in bundled}
        self.assertEqual(files - want, licences)
        # Three ELF files: no library beside the agent's own two.
        self.assertEqual([os.path.relpath(p, self.top) for p in self.elf_files()],
                         ["bin/cgagent", "lib/libcgagent-impl.so", "lib/libcgagent.so"])
        for name, m in self.members.items():
            self.assertEqual((m.uid, m.gid), (0, 0), name)
            self.assertFalse(m.mode & 0o022, "%s is group- or world-writable" % name)
            runnable = m.isdir() or name.startswith(top + "/bin/")
            self.assertEqual(m.mode & 0o111, 0o111 if runnable else 0, name)
        r = subprocess.run([os.path.join(self.top, "bin", "cgagent"), "--version"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_elf_file_needs_glibc_2_17_at_most_and_nothing_but_glibc(self):
        lib = os.path.join(self.top, "lib")
        argv = [sys.executable, os.path.join(P.ROOT, "dist", "check_portable.py"),
                "--floor", FLOOR,
                "--exports", "%s/libcgagent.so=%s/shim/libcgagent.map" % (lib, P.ROOT),
                "--exports", "%s/libcgagent-impl.so=%s/preload/impl.map" % (lib, P.ROOT),
                "--max-tls", "%s/libcgagent-impl.so=%d" % (lib, IMPL_MAX_TLS)]
        r = subprocess.run(argv + self.elf_files(), capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("portable: ok: 3 files", r.stdout)

    def test_the_checker_refuses_what_the_stock_build_needs(self):
        """The checks are not vacuous: the stock build, made on this
        machine's glibc, fails them (a newer glibc, Debian's sonames)."""
        if not os.path.exists(P.IMPL) or P.DIST:
            self.skipTest("needs the stock split build")
        r = subprocess.run([sys.executable, os.path.join(P.ROOT, "dist", "check_portable.py"),
                            "--floor", FLOOR, os.path.join(P.BUILD, "libcgagent-impl.so")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"needs GLIBC_2\.(1[89]|[2-9]\d), newer than the floor")
        self.assertRegex(r.stdout, r"needs libjansson\.so\.4, which is not part of glibc")


class UnderDebian11(unittest.TestCase):
    """Debian 11's programs under Debian 11's glibc 2.31."""

    @classmethod
    def setUpClass(cls):
        cls.tgz = tarball()
        if not cls.tgz:
            raise unittest.SkipTest("no tarball (DistTarball says why)")
        cls.root = debian11.root()
        cls.tmp = P.TempDir()
        cls.dir = cls.tmp.__enter__()
        with tarfile.open(cls.tgz) as t:
            t.extractall(cls.dir)
            cls.lib = os.path.join(cls.dir, t.getnames()[0].split("/")[0], "lib")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def run_both(self, argv, preload, stdin_path=None, **extra):
        """Runs Debian 11's argv without and with `preload` (each reading
        stdin_path, when given); returns both runs and the profile directory."""
        work = os.path.join(self.dir, "work")
        os.makedirs(work, exist_ok=True)
        cmd, env = debian11.command(self.root, argv, work)
        env.update(extra)
        outdir = tempfile.mkdtemp(dir=self.dir)
        runs = []
        for e in (P.clean_env(**env),
                  P.clean_env(LD_PRELOAD=preload, CGAGENT_OUTPUT=outdir, **env)):
            with open(stdin_path or os.devnull, "rb") as stdin:
                runs.append(P.run(cmd, e, stdin=stdin))
        return runs[0], runs[1], outdir

    def python(self, preload):
        return self.run_both(["usr/bin/python3.9", "-c", PY_WORK], preload,
                             PYTHONHOME=os.path.join(self.root, "usr"))

    def test_python39_unchanged_and_profiled_by_the_tarballs_agent(self):
        plain, agent, outdir = self.python(os.path.join(self.lib, "libcgagent.so"))
        self.assertEqual(plain.returncode, 3, plain.stderr)
        self.assertEqual(plain.stdout, b"answer 332833500\n")
        self.assertEqual((agent.returncode, agent.stdout, agent.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        docs = [P.load(p) for p in P.documents(outdir)]
        self.assertTrue(docs, "no profile written")
        samples = sum(P.total(d) for d in docs)
        # 1.5 s of CPU at 100 Hz: about 150 samples; 20 leaves room for a
        # slow machine and still shows the timer ran.
        self.assertGreaterEqual(samples, 20)
        names = {n for d in docs for n in P.self_counts(d)}
        self.assertTrue(any("leaf_spin" in n for n in names), sorted(names)[:20])
        # The tarball's command runs there too (its start file: cli/glibc_start.c).
        cmd, env = debian11.command(self.root, [os.path.join(os.path.dirname(self.lib), "bin",
                                                             "cgagent"), "report", outdir],
                                    os.path.join(self.dir, "work"))
        report = P.run(cmd, P.clean_env(**env))
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertIn(b"leaf_spin", report.stdout)

    def test_gzip_output_and_status_unchanged_by_the_tarballs_agent(self):
        data = os.path.join(self.dir, "input")
        with open(data, "wb") as f:
            f.write(b"".join(b"line %d of the input\n" % i for i in range(200000)))
        preload = os.path.join(self.lib, "libcgagent.so")
        plain, agent, _ = self.run_both(["bin/gzip", "-c", "-9"], preload, stdin_path=data)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual((agent.returncode, agent.stdout, agent.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        # A failing run fails the same way.
        plain, agent, _ = self.run_both(["bin/gzip", "-d", "-c", data], preload)
        self.assertEqual(plain.returncode, 1)
        self.assertEqual((agent.returncode, agent.stdout, agent.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))

    def test_the_stock_shim_stays_off_in_one_line_and_changes_nothing_else(self):
        if P.DIST or not os.path.exists(P.IMPL):
            self.skipTest("needs the stock split build")
        plain, agent, outdir = self.python(os.path.join(P.BUILD, "libcgagent.so"))
        self.assertEqual(plain.returncode, 3, plain.stderr)
        self.assertEqual((agent.returncode, agent.stdout), (plain.returncode, plain.stdout))
        lines = agent.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^cgagent: cannot load the agent: \S*libcgagent-impl\.so: "
                                   r".*version `GLIBC_2\.\d+' not found.*; the agent stays off$")
        self.assertNotIn("/proc/self/fd", lines[0])
        self.assertEqual(P.documents(outdir), [])


if __name__ == "__main__":
    unittest.main()
