"""The commands in the docs work as written.  A fenced block whose info
string is `sh test` (README.md, docs/quickstart.md) is run with `sh -e`
in an empty directory holding links to the clone's build/, scripts/,
tests/ and examples/ (as if run from the clone), with no AWS or agent
variables inherited: AWS is the local emulator the block itself starts
(tests/emulator/).  Each block must exit 0, and each line of
`echo "..."` text in it must appear in its output: what the doc says
happens.  Blocks marked plain `sh` are shown, not run (real AWS, make)."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CGAGENT_BUILD", os.path.join(ROOT, "build"))
DOCS = ("README.md", "docs/quickstart.md")
FENCE = re.compile(r"^```sh test\n(.*?)^```$", re.S | re.M)
ECHO = re.compile(r'echo "([^"$]+)"')


def blocks(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return FENCE.findall(f.read())


class DocCommands(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(os.path.join(BUILD, "libcgagent.so")):
            self.skipTest("no build")

    def run_block(self, rel, i, text):
        d = tempfile.mkdtemp(prefix="cgagent-doc-")
        self.addCleanup(shutil.rmtree, d, True)
        os.symlink(os.path.abspath(BUILD), os.path.join(d, "build"))
        for name in ("scripts", "tests", "examples"):
            os.symlink(os.path.join(ROOT, name), os.path.join(d, name))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "CGAGENT_")) and k != "LD_PRELOAD"
               and "proxy" not in k.lower()}
        env["NO_PROXY"] = "127.0.0.1,localhost"
        proc = subprocess.run(["sh", "-e", "-c", text], cwd=d, env=env, capture_output=True,
                              text=True, timeout=300, start_new_session=True)
        where = "%s block %d" % (rel, i + 1)
        self.assertEqual(proc.returncode, 0, "%s failed:\n%s\n%s" % (where, proc.stdout,
                                                                      proc.stderr))
        for said in ECHO.findall(text):
            self.assertIn(said, proc.stdout, where)

    def test_readme_and_quickstart_blocks_run(self):
        found = 0
        for rel in DOCS:
            for i, text in enumerate(blocks(rel)):
                found += 1
                with self.subTest(doc=rel, block=i + 1):
                    unfetched = os.path.join(BUILD, "dist", "deps", "fetch-failed")
                    if ".tar.gz" in text and os.path.exists(unfetched) and \
                            not glob.glob(os.path.join(BUILD, "cgagent-*.tar.gz")):
                        # Uses the portable tarball, which needs Debian's archive.
                        self.skipTest("no tarball: " + open(unfetched).read().strip())
                    self.run_block(rel, i, text)
        self.assertGreaterEqual(found, 3, "no runnable blocks found")

    def test_quickstart_has_a_section_per_platform(self):
        with open(os.path.join(ROOT, "docs", "quickstart.md")) as f:
            heads = re.findall(r"^## (.*)$", f.read(), re.M)
        for platform in ("Plain host", "EC2", "ECS", "EKS", "Lambda"):
            self.assertTrue([h for h in heads if platform in h], platform)


if __name__ == "__main__":
    unittest.main()
