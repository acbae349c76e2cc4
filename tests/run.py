#!/usr/bin/env python3
"""Runs every cgagent test suite and prints one closing line.

Suites:
  layout       tests/layout/test_*.py: the tree's rooms, their one-way order,
               file sizes, header contracts and doc paths
               (scripts/check-layout.py), and that the checker catches each
  repo         tests/repo/test_*.py (the repository itself: self-contained)
  unit         each binary in BUILD/tests/ (cmocka), one per tests/unit/*_test.c
  emulator     tests/emulator/test_*.py  (the AWS emulator's own tests)
  integration  tests/integration/test_*.py (C code against the emulator)
  e2e          tests/e2e/test_*.py (real programs under LD_PRELOAD)
  stress       tests/stress/test_*.py (reliability: short form here, long form
               with CGAGENT_STRESS=long, `make stress`)
  fuzz         tests/fuzz/test_*.py (each fuzz target over its seed corpus)

Python suites are plain unittest modules; they find the build through the
CGAGENT_BUILD environment variable.  The last line is
"tests: N passed, M failed" and the exit status is 1 when anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_SUITES = ("layout", "repo", "emulator", "integration", "e2e", "stress", "fuzz")
UNIT_TIMEOUT_S = 300


def run_unit(build):
    passed = failed = 0
    bindir = os.path.join(build, "tests")
    if not os.path.isdir(bindir):
        print("unit: no test binaries in %s" % bindir)
        return 0, 1
    for name in sorted(os.listdir(bindir)):
        path = os.path.join(bindir, name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        t0 = time.monotonic()
        try:
            proc = subprocess.run([path], cwd=ROOT, capture_output=True,
                                  text=True, timeout=UNIT_TIMEOUT_S)
            out = proc.stdout + proc.stderr
            rc = proc.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            out += "\nTIMEOUT after %d s" % UNIT_TIMEOUT_S
            rc = -1
        ok = sum(int(m) for m in re.findall(r"\[  PASSED  \] (\d+) test", out))
        bad = sum(int(m) for m in re.findall(r"\[  FAILED  \] (\d+) test", out))
        if rc != 0 and bad == 0:
            bad = 1  # crashed, sanitizer report, or leak: count the binary
        passed += ok
        failed += bad
        status = "ok" if bad == 0 else "FAIL"
        print("unit: %-40s %3d passed %2d failed  %.1fs  %s"
              % (name, ok, bad, time.monotonic() - t0, status))
        if bad:
            print("".join("    | " + l + "\n" for l in out.splitlines()[-60:]))
    return passed, failed


class _CountingResult(unittest.TextTestResult):
    pass


def run_python(suite_name, build):
    d = os.path.join(ROOT, "tests", suite_name)
    if not os.path.isdir(d) or not any(
            f.startswith("test_") and f.endswith(".py") for f in os.listdir(d)):
        return 0, 0
    os.environ["CGAGENT_BUILD"] = os.path.abspath(build)
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    loader = unittest.TestLoader()
    suite = loader.discover(d, pattern="test_*.py", top_level_dir=os.path.join(ROOT, "tests"))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_CountingResult)
    print("== %s" % suite_name, flush=True)
    res = runner.run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    good = res.testsRun - bad - len(res.skipped)
    return good, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=("unit",) + PY_SUITES)
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    passed = failed = 0
    suites = [args.only] if args.only else ["layout", "repo", "unit"] + list(PY_SUITES[2:])
    for s in suites:
        p, f = run_unit(build) if s == "unit" else run_python(s, build)
        passed += p
        failed += f
    sys.stdout.flush()
    print("tests: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
