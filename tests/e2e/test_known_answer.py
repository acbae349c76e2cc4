"""End to end: the known-answer workload under LD_PRELOAD.

tests/workloads/known_answer.c burns CPU in a fixed ratio: busy_a:busy_b =
3:1, and inside busy_a leaf_alpha:leaf_beta = 1:2 through route_one and
route_two.  It is built without frame pointers and its leaves are static.

Samples and the odds of a false failure.  UNIT_S = 4 gives 16 CPU-seconds:
about 1,600 RUNNABLE samples at 100 Hz, 1,200 of them in busy_a.  Each
thread's count is set by its own CPU clock (one sample per 10 ms of its CPU
time, expiries the kernel merges included), so the shares are close to
exact; but even read as independent draws (the binomial model, which
overstates the spread), the thread split 75% has a standard error of
sqrt(.75 x .25 / 1600) = 1.08 points and the 1:2 split inside busy_a
sqrt(.333 x .667 / 1200) = 1.36 points.  The tolerance of 5 points is
then 4.6 and 3.7 standard errors: two-sided odds of 4e-6 and 2.4e-4 of a
false failure, under 1 in 1,000 together.
"""
import os
import shutil
import subprocess
import unittest

from e2e import profiles as P

WORKLOAD = os.path.join(P.WORKLOADS, "known_answer")
UNIT_S = "4.0"  # 16 s of CPU in all: ~1,600 samples at 100 Hz (see above)
EXPECTED_SAMPLES = 1600


class KnownAnswer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plain = P.run([WORKLOAD, UNIT_S], P.clean_env())
        cls._tmp = P.TempDir()
        cls.outdir = cls._tmp.__enter__()
        # Wall-clock every 50 ms (default 1 s): many samples of the sleeper.
        cls.profiled = P.run_profiled([WORKLOAD, UNIT_S], cls.outdir,
                                      AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS=50)
        docs = P.documents(cls.outdir)
        cls.docs = docs
        cls.doc = P.load(docs[0]) if docs else None

    @classmethod
    def tearDownClass(cls):
        cls._tmp.__exit__(None, None, None)

    def test_exit_status_and_stdout_are_unchanged(self):
        self.assertEqual(self.plain.returncode, 0)
        self.assertEqual(self.profiled.returncode, self.plain.returncode)
        self.assertEqual(self.profiled.stdout, self.plain.stdout)
        self.assertEqual(self.profiled.stderr, b"")

    def test_exactly_one_document_at_exit(self):
        self.assertEqual(len(self.docs), 1, self.docs)
        base = os.path.basename(self.docs[0])
        self.assertTrue(base.startswith("known_answer-"), base)

    def test_document_has_the_codeguru_shape(self):
        d = self.doc
        self.assertLessEqual(d["start"], d["end"])
        md = d["agentMetadata"]
        self.assertEqual(md["sampleWeights"]["RUNNABLE"], 100.0)
        self.assertEqual(md["agentInfo"]["type"], "cgagent")
        self.assertIn("fleetInfo", md)
        self.assertGreater(md["numTimesSampled"], 0)
        self.assertEqual(d["debugInfo"]["processId"] > 0, True)
        self.assertEqual(P.total(d) + 0, sum(P.self_counts(d).values()))

    def test_sample_count_matches_cpu_time(self):
        # 16 CPU-seconds at 100 Hz: 1,600 samples.  Not a random count: one
        # per 10 ms of each thread's CPU, merged expiries included, so a
        # busy machine does not thin it out.  The band allows for the
        # threads' start and end and the vDSO clock reads.
        n = P.total(self.doc)
        self.assertGreater(n, 0.9 * EXPECTED_SAMPLES, n)
        self.assertLess(n, 1.1 * EXPECTED_SAMPLES, n)

    def test_thread_split_is_three_to_one(self):
        P.skip_if_busy(self, [self.doc])
        c = P.self_counts(self.doc)
        a = c.get("leaf_alpha", 0) + c.get("leaf_beta", 0)
        b = c.get("leaf_gamma", 0)
        self.assertGreater(a + b, 0, c)
        share_a = 100.0 * a / (a + b)
        self.assertAlmostEqual(share_a, 75.0, delta=5.0, msg=c)

    def test_function_split_in_busy_thread_is_one_to_two(self):
        P.skip_if_busy(self, [self.doc])
        c = P.self_counts(self.doc)
        alpha, beta = c.get("leaf_alpha", 0), c.get("leaf_beta", 0)
        share_alpha = 100.0 * alpha / (alpha + beta)
        self.assertAlmostEqual(share_alpha, 100.0 / 3, delta=5.0, msg=c)

    def test_static_leaves_are_named_and_cover_almost_all_samples(self):
        c = P.self_counts(self.doc)
        leaves = c.get("leaf_alpha", 0) + c.get("leaf_beta", 0) + c.get("leaf_gamma", 0)
        self.assertGreater(leaves / P.total(self.doc), 0.95, c)

    def test_callers_of_leaves_are_intact(self):
        for names, count in P.stacks(self.doc):
            leaf = names[-1]
            expect = {"leaf_alpha": ("busy_a", "route_one", "leaf_alpha"),
                      "leaf_beta": ("busy_a", "route_two", "leaf_beta"),
                      "leaf_gamma": ("busy_b", "leaf_gamma")}.get(leaf)
            if expect is None:
                continue
            self.assertEqual(names[-len(expect):], expect, names)
            # The thread's root is libc's thread start, not a stray frame.
            self.assertIn("start_thread", names, names)

    def test_most_samples_take_the_handlers_own_walk(self):
        """After the first drains have learned the frame rules of the few
        addresses these loops run, the handler's own walk unwinds the
        samples and libunwind only the first ones (measured: 27 of 1,616).
        Not sampled shares: a count of addresses, so no odds to state."""
        gm = self.doc["debugInfo"]["genericMetrics"]
        self.assertIn("handlerLibunwindCalls", gm)
        self.assertLess(gm["handlerLibunwindCalls"], 0.2 * gm["handlerCalls"], gm)

    def test_sleeping_thread_appears_only_under_waiting(self):
        waiting = P.stacks(self.doc, "WAITING")
        self.assertTrue(waiting, "no WAITING samples")
        sleeper = [names for names, _ in waiting if "sleep_a_while" in names]
        self.assertTrue(sleeper, waiting)
        for names in sleeper:
            self.assertEqual(names[-4:-2], ("sleeper", "sleep_a_while"), names)
            self.assertIn(names[-1], ("clock_nanosleep", "__GI___clock_nanosleep"), names)
        # Waking every 20 ms costs the sleeper a little CPU (a few ms over
        # the run), so it may own a sample or two of CPU time, never more
        # than 1% of them.
        sleeper_cpu = sum(n for names, n in P.stacks(self.doc) if "sleeper" in names)
        self.assertLessEqual(sleeper_cpu, 0.01 * P.total(self.doc), sleeper_cpu)
        # busy threads are on the CPU at every tick: never WAITING
        for names, _ in waiting:
            self.assertFalse({"leaf_alpha", "leaf_beta", "leaf_gamma"} & set(names), names)
        self.assertEqual(self.doc["agentMetadata"]["sampleWeights"]["WAITING"], 20.0)

    def test_pprof_output_reads_back_with_the_same_totals(self):
        from e2e import pprof_reader
        gz = self.docs[0][:-len(".json")] + ".pb.gz"
        prof = pprof_reader.read(gz)
        self.assertEqual(prof["types"], ["samples", "cpu", "waiting", "blocked"])
        self.assertEqual(prof["units"], ["count", "nanoseconds", "nanoseconds", "nanoseconds"])
        self.assertEqual(prof["default_type"], "cpu")
        self.assertEqual(prof["period_type"], ("cpu", "nanoseconds"))
        hz = self.doc["agentMetadata"]["sampleWeights"]["RUNNABLE"]
        self.assertEqual(prof["period"], round(1e9 / hz))
        wall_ns = round(1e9 / self.doc["agentMetadata"]["sampleWeights"]["WAITING"])
        self.assertEqual(prof["totals"]["samples"], P.total(self.doc))
        self.assertEqual(prof["totals"]["cpu"], P.total(self.doc) * prof["period"])
        self.assertEqual(prof["totals"]["waiting"], P.total(self.doc, "WAITING") * wall_ns)
        # The program first (pprof's "File:"), with its build id.
        mid, main_file, build_id = prof["mappings"][0]
        self.assertEqual(mid, 1)
        self.assertTrue(main_file.endswith("/known_answer"), prof["mappings"])
        self.assertRegex(build_id, r"^[0-9a-f]{40}$")
        # leaf first in pprof: the hottest sample's first frame is a leaf
        top = max(prof["samples"], key=lambda s: s[1][0])
        self.assertEqual(top[0][0], "leaf_beta")
        self.assertEqual(top[0][1], "route_two")

    @unittest.skipUnless(shutil.which("protoc"), "protoc is not installed")
    def test_pprof_decoded_by_protoc_has_the_same_totals(self):
        # Google's own protobuf decoder, with the part of pprof's
        # profile.proto that holds the samples and their types.
        import gzip
        import re
        import subprocess
        import tempfile
        schema = (
            'syntax = "proto3";\n'
            "message ValueType { int64 type = 1; int64 unit = 2; }\n"
            "message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; }\n"
            "message Profile { repeated ValueType sample_type = 1; repeated Sample sample = 2;\n"
            "  repeated string string_table = 6; }\n")
        gz = self.docs[0][:-len(".json")] + ".pb.gz"
        with gzip.open(gz, "rb") as f:
            raw = f.read()
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "profile.proto"), "w") as f:
                f.write(schema)
            r = subprocess.run(["protoc", "--proto_path", tmp, "--decode=Profile",
                                "profile.proto"], input=raw, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
        types = [strings[int(t)] for t in
                 re.findall(r"sample_type \{\s*type: (\d+)", text)]
        totals = [0] * len(types)
        for block in re.findall(r"sample \{(.*?)\}", text, re.S):
            for i, v in enumerate(re.findall(r"value: (\d+)", block)):
                totals[i] += int(v)
        hz = self.doc["agentMetadata"]["sampleWeights"]["RUNNABLE"]
        wall_ns = round(1e9 / self.doc["agentMetadata"]["sampleWeights"]["WAITING"])
        self.assertEqual(dict(zip(types, totals)),
                         {"samples": P.total(self.doc),
                          "cpu": P.total(self.doc) * round(1e9 / hz),
                          "waiting": P.total(self.doc, "WAITING") * wall_ns,
                          "blocked": P.total(self.doc, "BLOCKED") * wall_ns})

    def test_folded_output_sums_to_the_total(self):
        folded = self.docs[0][:-len(".json")] + ".folded"
        with open(folded) as f:
            n = sum(int(line.rsplit(" ", 1)[1]) for line in f if line.strip())
        self.assertEqual(n, P.total(self.doc))

    def test_leaf_frames_name_their_file(self):
        for (name, file), _ in P.self_counts_by_file(self.doc).items():
            if name.startswith("leaf_"):
                self.assertTrue(file.endswith("/known_answer"), file)


class TickCap(unittest.TestCase):
    """cpu_hz above the kernel's tick rate: one log line, and the weights
    say the rate that was really delivered, so count / weight is still the
    CPU time."""

    def test_rate_above_the_tick_is_capped_and_said(self):
        with P.TempDir() as out:
            r = P.run_profiled([WORKLOAD, "0.5"], out, CGAGENT_CPU_HZ="1000")
            self.assertEqual(r.returncode, 0)
            doc = P.load(P.documents(out)[0])
        weight = doc["agentMetadata"]["sampleWeights"]["RUNNABLE"]
        lines = r.stderr.decode().splitlines()
        if weight < 1000:
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("above the kernel's tick rate (CONFIG_HZ=%d)" % weight, lines[0])
        else:
            self.assertEqual(lines, [])  # a 1000 Hz kernel delivers it all
        # 2 CPU-seconds of work, whatever the rate.
        seconds = P.total(doc) / weight
        self.assertGreater(seconds, 1.6)
        self.assertLess(seconds, 2.4)


class BadConfiguration(unittest.TestCase):
    def test_bad_cpu_hz_logs_one_line_and_agent_stays_off(self):
        plain = P.run([WORKLOAD, "0.05"], P.clean_env())
        with P.TempDir() as out:
            r = P.run_profiled([WORKLOAD, "0.05"], out, CGAGENT_CPU_HZ="fast")
            self.assertEqual(r.returncode, plain.returncode)
            self.assertEqual(r.stdout, plain.stdout)
            lines = r.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("CGAGENT_CPU_HZ", lines[0])
            self.assertEqual(os.listdir(out), [])

    def test_unconfigured_agent_is_silent_and_writes_nothing(self):
        r = P.run([WORKLOAD, "0.05"], P.clean_env(LD_PRELOAD=P.LIB))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stderr, b"")

    def test_kill_switch_file_keeps_the_agent_off_with_one_line(self):
        # /var/tmp/killProfiler is machine-wide: creating it would switch
        # off every other agent on the machine (other tests running at the
        # same time included).  The test makes it in a private mount
        # namespace with its own /var/tmp instead.
        unshare = shutil.which("unshare")
        probe = unshare and subprocess.run(
            [unshare, "-m", "sh", "-c", "mount -t tmpfs none /var/tmp"], capture_output=True)
        if not probe or probe.returncode != 0:
            self.skipTest("needs a private mount namespace (unshare -m as root)")
        plain = P.run([WORKLOAD, "0.05"], P.clean_env())
        with P.TempDir() as out:
            # Only the workload gets the agent, not unshare, sh or mount.
            script = ("mount -t tmpfs none /var/tmp && touch /var/tmp/killProfiler && "
                      'LD_PRELOAD="$AGENT" CGAGENT_OUTPUT="$OUT" CGAGENT_LOG=info exec "$@"')
            r = P.run([unshare, "-m", "sh", "-c", script, "sh", WORKLOAD, "0.05"],
                      P.clean_env(AGENT=P.LIB, OUT=out))
            self.assertEqual(r.returncode, plain.returncode)
            self.assertEqual(r.stdout, plain.stdout)
            lines = r.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("killProfiler exists", lines[0])
            self.assertEqual(os.listdir(out), [])
        self.assertFalse(os.path.exists("/var/tmp/killProfiler"))

    def test_group_without_region_says_so_once_and_host_runs_on(self):
        with P.TempDir() as home:
            plain = P.run([WORKLOAD, "0.05"], P.clean_env())
            r = P.run([WORKLOAD, "0.05"], P.clean_env(LD_PRELOAD=P.LIB, HOME=home,
                                                      AWS_CODEGURU_PROFILER_GROUP_NAME="g1"))
        self.assertEqual(r.returncode, plain.returncode)
        self.assertEqual(r.stdout, plain.stdout)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("no region for profiling group g1", lines[0])

    def test_disabled_agent_writes_nothing(self):
        with P.TempDir() as out:
            r = P.run_profiled([WORKLOAD, "0.05"], out, AWS_CODEGURU_PROFILER_ENABLED="false")
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stderr, b"")
            self.assertEqual(os.listdir(out), [])


if __name__ == "__main__":
    unittest.main()
