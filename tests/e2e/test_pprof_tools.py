"""The pprof output as pprof's own tool reads it: `go tool pprof` (Debian's
golang-go, scripts/deps.sh) on the known-answer workload's .pb.gz.

`-top` must name the program (`File: known_answer`, mapping 1), show a CPU
profile by default (`Type: cpu`, from default_sample_type) and the 75:25
split of CPU between busy_a and busy_b; `-raw` must list the four sample
types with cpu the default, the CPU period, and the program's build id.

Samples and the odds of a false failure: UNIT_S = 2 gives 8 CPU-seconds,
about 800 CPU samples at 100 Hz.  Read as independent draws (which
overstates the spread: each thread's count is set by its own CPU clock),
busy_a's 75% share has a standard error of sqrt(.75 x .25 / 800) = 1.53
points; the tolerance of 6 points is 3.9 standard errors, two-sided odds
of 1e-4 of a false failure.
"""
import os
import re
import shutil
import subprocess
import unittest

from e2e import profiles as P

WORKLOAD = os.path.join(P.WORKLOADS, "known_answer")
UNIT_S = "2.0"
TOLERANCE_POINTS = 6.0


def go_tool():
    go = shutil.which("go")
    if go:
        return go
    for d in sorted(os.listdir("/usr/lib"), reverse=True):
        if d.startswith("go-") and os.access("/usr/lib/%s/bin/go" % d, os.X_OK):
            return "/usr/lib/%s/bin/go" % d
    return None


GO = go_tool()


@unittest.skipUnless(GO, "go is not installed (Debian golang-go, scripts/deps.sh)")
class GoToolPprof(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = P.TempDir()
        cls.dir = cls._tmp.__enter__()
        out = os.path.join(cls.dir, "profiles")
        cls.run_result = P.run_profiled([WORKLOAD, UNIT_S], out)
        docs = P.documents(out)
        cls.pb = docs[0][:-len(".json")] + ".pb.gz" if docs else None
        cls.doc = P.load(docs[0]) if docs else None

    @classmethod
    def tearDownClass(cls):
        cls._tmp.__exit__(None, None, None)

    def pprof(self, *args):
        # A private HOME and cache: pprof and go write nothing of the user's.
        env = P.clean_env(HOME=self.dir, GOCACHE=os.path.join(self.dir, "gocache"),
                          PPROF_TMPDIR=self.dir, GOFLAGS="", GOTOOLCHAIN="local")
        r = subprocess.run([GO, "tool", "pprof", *args, self.pb], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def setUp(self):
        self.assertEqual(self.run_result.returncode, 0)
        self.assertIsNotNone(self.pb, "no profile written")

    def test_top_names_the_program_defaults_to_cpu_and_shows_the_split(self):
        out = self.pprof("-top", "-nodefraction=0", "-nodecount=1000")
        self.assertRegex(out, r"(?m)^File: known_answer$")
        self.assertRegex(out, r"(?m)^Build ID: [0-9a-f]{40}$")
        self.assertRegex(out, r"(?m)^Type: cpu$")
        # cum% per function: "flat flat% sum% cum cum% name"
        cum = {}
        for line in out.splitlines():
            m = re.match(r"\s*\S+\s+[\d.]+%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(\S+)$", line)
            if m:
                cum[m.group(2)] = float(m.group(1))
        for name in ("busy_a", "busy_b", "leaf_alpha", "leaf_beta", "leaf_gamma"):
            self.assertIn(name, cum, out)
        self.assertAlmostEqual(cum["busy_a"], 75.0, delta=TOLERANCE_POINTS, msg=out)
        self.assertAlmostEqual(cum["busy_b"], 25.0, delta=TOLERANCE_POINTS, msg=out)
        # and the total is the CPU time the document says, in pprof's units
        total = P.total(self.doc) / self.doc["agentMetadata"]["sampleWeights"]["RUNNABLE"]
        m = re.search(r"Total samples = ([\d.]+)(ms|s)\b", out)
        self.assertIsNotNone(m, out)
        seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        self.assertAlmostEqual(seconds, total, delta=0.011, msg=out)

    def test_raw_lists_the_types_period_and_main_mapping(self):
        out = self.pprof("-raw")
        self.assertRegex(out, r"(?m)^PeriodType: cpu nanoseconds$")
        hz = self.doc["agentMetadata"]["sampleWeights"]["RUNNABLE"]
        self.assertRegex(out, r"(?m)^Period: %d$" % round(1e9 / hz))
        self.assertRegex(out, r"(?m)^samples/count cpu/nanoseconds\[dflt\] "
                              r"waiting/nanoseconds blocked/nanoseconds\s*$")
        mappings = out[out.index("Mappings"):].splitlines()[1:]
        self.assertRegex(mappings[0], r"^\s*1: \S+ \S*/known_answer [0-9a-f]{40} ")

    def test_off_cpu_view_is_one_flag_away(self):
        out = self.pprof("-top", "-sample_index=waiting", "-nodefraction=0")
        self.assertRegex(out, r"(?m)^Type: waiting$")
        self.assertIn("sleep_a_while", out)


if __name__ == "__main__":
    unittest.main()
