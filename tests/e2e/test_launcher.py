"""End to end: the cgagent command (run, report)."""
import os
import subprocess
import unittest

from e2e import profiles as P

WORKLOAD = os.path.join(P.WORKLOADS, "known_answer")


class Launcher(unittest.TestCase):
    def test_run_preloads_and_writes_to_default_dir_then_report_reads_it(self):
        with P.TempDir() as cwd:
            r = subprocess.run([P.CLI, "run", "--", WORKLOAD, "0.25"], cwd=cwd,
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"known_answer: done", r.stdout)
            outdir = os.path.join(cwd, "cgagent-profiles")
            docs = P.documents(outdir)
            self.assertEqual(len(docs), 1)
            rep = subprocess.run([P.CLI, "report", outdir], env=P.clean_env(),
                                 capture_output=True, timeout=60)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            text = rep.stdout.decode()
            self.assertIn("RUNNABLE", text)
            # leaf_beta has half the CPU: it heads the self list.
            self_section = text[text.index("RUNNABLE"):]
            first = [l for l in self_section.splitlines() if "leaf_" in l][0]
            self.assertIn("leaf_beta", first, text)

    def test_report_writes_a_flame_graph_svg_with_the_known_shares(self):
        import re
        import xml.etree.ElementTree as ET
        with P.TempDir() as d:
            out = os.path.join(d, "p")
            # 10 CPU-seconds, about 1,000 samples: leaf_beta's 50% then has
            # a binomial standard error of 1.6 points and busy_a's 75% of 1.4,
            # so the 6-point bands are 3.8 and 4.4 of them (odds below 2e-4).
            r = subprocess.run([P.CLI, "run", "--output", out, "--", WORKLOAD, "2.5"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0)
            svg = os.path.join(d, "flame.svg")
            rep = subprocess.run([P.CLI, "report", "--flamegraph", svg, out],
                                 env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            root = ET.parse(svg).getroot()  # well-formed, self-contained
            ns = "{http://www.w3.org/2000/svg}"
            titles = [t.text for t in root.iter(ns + "title")]
            share = {}
            for t in titles:
                m = re.match(r"(\S+) \[.*\]\n(\d+) samples, ([\d.]+)%", t)
                if m:
                    share[m.group(1)] = float(m.group(3))
            self.assertAlmostEqual(share["leaf_beta"], 50.0, delta=6)
            self.assertAlmostEqual(share["busy_a"], 75.0, delta=6)
            self.assertAlmostEqual(share["start_thread"], 100.0, delta=1)

    def test_run_passes_exit_status_through_and_reports_missing_command(self):
        with P.TempDir() as out:
            r = subprocess.run([P.CLI, "run", "--output", out, "--", "sh", "-c", "exit 7"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 7)
            r = subprocess.run([P.CLI, "run", "--output", out, "--", "/nonexistent/prog"],
                               env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 127)
            self.assertIn(b"cannot execute /nonexistent/prog", r.stderr)

    def test_report_on_a_garbage_file_says_so(self):
        with P.TempDir() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write("{not json")
            r = subprocess.run([P.CLI, "report", bad], env=P.clean_env(),
                               capture_output=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"bad.json", r.stderr + r.stdout)

    def test_usage_errors_exit_2(self):
        for argv in ([P.CLI], [P.CLI, "run"], [P.CLI, "frobnicate"], [P.CLI, "report"]):
            r = subprocess.run(argv, env=P.clean_env(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 2, argv)


if __name__ == "__main__":
    unittest.main()
