"""Regression check of the fuzz targets: each libFuzzer target
(tests/fuzz/*_fuzz.c, built by `make fuzz-bins` into build/fuzz/) runs
once over every input of its seed corpus, tests/fuzz/corpus/NAME/, with
no mutation (-runs=0): a crash, sanitizer report or broken invariant on a
seed fails.  Inputs that once found a bug belong in the corpus.  The long
runs are `make fuzz` (FUZZ_SECONDS each).
"""
import glob
import os
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ_BIN = os.path.join(ROOT, "build", "fuzz")
TARGETS = sorted(os.path.basename(p)[:-2]
                 for p in glob.glob(os.path.join(ROOT, "tests", "fuzz", "*_fuzz.c")))


class SeedCorpus(unittest.TestCase):
    def test_every_target_has_a_seed_corpus(self):
        for name in TARGETS:
            d = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
            self.assertTrue(os.path.isdir(d) and os.listdir(d), "no seeds for " + name)

    def test_every_target_passes_its_seeds(self):
        missing = [n for n in TARGETS if not os.access(os.path.join(FUZZ_BIN, n), os.X_OK)]
        if len(missing) == len(TARGETS):
            self.skipTest("fuzz targets not built (make fuzz-bins; needs clang)")
        self.assertEqual(missing, [], "some fuzz targets are not built")
        for name in TARGETS:
            with self.subTest(target=name):
                corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
                proc = subprocess.run([os.path.join(FUZZ_BIN, name), "-runs=0",
                                       "-timeout=10", corpus],
                                      capture_output=True, timeout=120)
                out = proc.stderr.decode(errors="replace")
                self.assertEqual(proc.returncode, 0, out[-3000:])
                self.assertIn("INITED", out)


if __name__ == "__main__":
    unittest.main()
