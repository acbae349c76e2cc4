"""Issue 14, finding 2: the output directory is walked without following
other users' links, and profiles are private unless asked to be shared.

Each run is known_answer (0.1 CPU-s per thread) under the agent; its
output and status must be those of a plain run, and a refused directory
gets exactly one log line and no file.
"""
import glob
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from e2e import profiles as P

KNOWN = os.path.join(P.WORKLOADS, "known_answer")
NOBODY = 65534


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class OutputDirectory(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cgagent-out-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)
        self.plain = P.run([KNOWN, "0.1"], P.clean_env())
        self.assertEqual(self.plain.returncode, 0)
        old = os.umask(0o022)
        self.addCleanup(os.umask, old)

    def profiled(self, out, **extra):
        r = P.run_profiled([KNOWN, "0.1"], out, **extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.plain.stdout)
        return r

    def written(self, out):
        return sorted(glob.glob(os.path.join(out, "*")))

    def test_private_by_default_and_report_reads_them(self):
        out = os.path.join(self.tmp, "a", "b", "profiles")
        r = self.profiled(out)
        self.assertEqual(r.stderr, b"")
        files = self.written(out)
        self.assertTrue(any(f.endswith(".json") for f in files), files)
        self.assertTrue(any(f.endswith(".pb.gz") for f in files), files)
        for d in ("a", "a/b", "a/b/profiles"):
            self.assertEqual(mode(os.path.join(self.tmp, d)), 0o700, d)
        for f in files:
            self.assertEqual(mode(f), 0o600, f)
        rep = P.run([P.CLI, "report", P.documents(out)[0]], P.clean_env())
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn(b"RUNNABLE", rep.stdout)

    def test_shared_mode_gives_readable_files(self):
        out = os.path.join(self.tmp, "shared", "profiles")
        self.profiled(out, CGAGENT_OUTPUT_MODE="shared")
        self.assertEqual(mode(os.path.join(self.tmp, "shared")), 0o755)
        self.assertEqual(mode(out), 0o755)
        files = self.written(out)
        self.assertTrue(files)
        for f in files:
            self.assertEqual(mode(f), 0o644, f)

    def assert_refused(self, out, words, **extra):
        r = self.profiled(out, **extra)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(words, lines[0])
        self.assertIn("profile not written locally", lines[0])
        return r

    @unittest.skipUnless(os.geteuid() == 0, "needs root to plant another user's link")
    def test_symlink_planted_by_another_user_is_refused(self):
        target = os.path.join(self.tmp, "root-only")
        os.mkdir(target, 0o700)
        public = os.path.join(self.tmp, "public")
        os.mkdir(public)
        os.chmod(public, 0o1777)
        link = os.path.join(public, "profiles")
        os.symlink(target, link)
        os.lchown(link, NOBODY, NOBODY)  # as if nobody had made it
        self.assert_refused(link, "is a symbolic link owned by uid %d" % NOBODY)
        self.assertEqual(os.listdir(target), [], "written through nobody's link")
        # Also as a directory on the way.
        self.assert_refused(os.path.join(link, "sub"), "symbolic link owned by uid %d" % NOBODY)
        self.assertEqual(os.listdir(target), [])

    def test_links_of_our_own_user_are_followed(self):
        target = os.path.join(self.tmp, "real")
        os.mkdir(target, 0o700)
        link = os.path.join(self.tmp, "profiles")
        os.symlink(target, link)
        r = self.profiled(link)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(len(P.documents(target)), 1)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a directory away")
    def test_directory_of_another_user_is_refused(self):
        out = os.path.join(self.tmp, "theirs")
        os.mkdir(out, 0o755)
        os.chown(out, NOBODY, NOBODY)
        self.assert_refused(out, "is owned by another user (uid %d" % NOBODY)
        self.assertEqual(os.listdir(out), [])

    def test_world_writable_directory_without_sticky_bit_is_refused(self):
        out = os.path.join(self.tmp, "everyone")
        os.mkdir(out)
        os.chmod(out, 0o777)
        self.assert_refused(out, "writable by every user and not sticky")
        self.assertEqual(os.listdir(out), [])
        os.chmod(out, 0o1777)  # sticky, like /tmp: fine
        self.assertEqual(self.profiled(out).stderr, b"")
        self.assertEqual(len(P.documents(out)), 1)


if __name__ == "__main__":
    unittest.main()
