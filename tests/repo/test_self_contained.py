"""The repository stands alone: a user's clone has nothing beside it, so
no build file, script, test or demo may name a path outside it, and the
test data it needs (the SigV4 vectors) travels with it, notices included.
.ci/run also runs the whole suite from a clone in an empty directory."""
import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIGV4 = os.path.join(ROOT, "tests", "data", "sigv4")

# Ways a file could reach a sibling folder or this machine's own layout.
# The folder's name is assembled, so this file does not spell the path
# it looks for.
SIBLING = "sha" + "red"
OUTSIDE = [
    re.compile(r"\.\./(?:\.\./)*" + SIBLING + r"\b"),
    re.compile(r"""["']\.\.["']\s*,\s*["']""" + SIBLING + r"""["']"""),
    re.compile(r"/work/(?:" + SIBLING + r"|main)\b"),
    re.compile(r"test" + r"data/sigv4"),
]
CODE_SUFFIXES = (".c", ".h", ".cc", ".py", ".sh", ".map", ".mk")


def tracked_code_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for rel in out.stdout.decode().split("\0"):
        if not rel or rel.startswith("tests/data/"):
            continue
        base = os.path.basename(rel)
        if rel.endswith(CODE_SUFFIXES) or base in ("Makefile", "run") or rel.startswith(".ci/"):
            yield rel


@unittest.skipUnless(os.path.exists(os.path.join(ROOT, ".git")), "not a git checkout")
class SelfContained(unittest.TestCase):
    def test_no_code_names_a_path_outside_the_repository(self):
        hits = []
        for rel in tracked_code_files():
            if rel == "tests/repo/test_self_contained.py":
                continue  # the patterns themselves
            with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
                for no, line in enumerate(f, 1):
                    if any(p.search(line) for p in OUTSIDE):
                        hits.append("%s:%d: %s" % (rel, no, line.strip()))
        self.assertEqual(hits, [], "files that read outside the repository:\n" + "\n".join(hits))

    def test_the_checker_catches_a_sibling_path(self):
        self.assertTrue(any(p.search('TESTDATA = os.path.join(ROOT, "..", "%s")' % SIBLING)
                            for p in OUTSIDE))
        self.assertTrue(any(p.search('return "../%s/test%s/sigv4";' % (SIBLING, "data"))
                            for p in OUTSIDE))

    def test_sigv4_vectors_travel_with_their_notices(self):
        cases = [d for d in os.listdir(SIGV4)
                 if os.path.isfile(os.path.join(SIGV4, d, "context.json"))]
        self.assertEqual(len(cases), 38)
        for name in ("LICENSE", "NOTICE", "README.md"):
            self.assertTrue(os.path.isfile(os.path.join(SIGV4, name)), name)
        with open(os.path.join(SIGV4, "LICENSE")) as f:
            self.assertIn("Apache License", f.read())
        for case in cases:
            self.assertEqual(len(os.listdir(os.path.join(SIGV4, case))), 10, case)


if __name__ == "__main__":
    unittest.main()
