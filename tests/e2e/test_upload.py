"""Issue 7 end to end: a real program under LD_PRELOAD posts its profiles
into the central account's profiling group through the emulator, and
nothing is lost or counted twice when the network, the service or the
credentials misbehave.

Every run also writes the local sink (CGAGENT_OUTPUT), so each test can
check the service got exactly what was sampled: the RUNNABLE/WAITING
totals of the accepted, non-duplicate posts equal those of the local
documents of the same process.
"""
import collections
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from e2e import profiles
from emulator import CENTRAL_ACCOUNT, GROUP, Emulator

KNOWN = os.path.join(profiles.WORKLOADS, "known_answer")
KEYS = ("RUNNABLE", "WAITING", "BLOCKED", "TIMED_WAITING")
# Post every period: the service's minimum reporting time is set to 0 here.
FAST = {"MinimumTimeForReportingInMilliseconds": "0",
        "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"}


class UploadTestCase(unittest.TestCase):
    emulator_config = None

    def setUp(self):
        self.emu = Emulator(self.emulator_config).start()
        self.addCleanup(self.emu.stop)
        self.emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
        self.out = tempfile.mkdtemp(prefix="cgagent-upload-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def run_workload(self, unit="1.5", credentials="user", argv=None, timeout=120, **extra):
        settings = {"AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS": "1500"}
        settings.update(extra)
        env = self.emu.env_for(credentials, LD_PRELOAD=profiles.LIB, CGAGENT_OUTPUT=self.out,
                               **settings)
        start = time.monotonic()
        proc = profiles.run(argv or [KNOWN, unit], env, timeout=timeout)
        self.elapsed = time.monotonic() - start
        return proc

    def assert_host_unharmed(self, proc, unit="1.5"):
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertEqual(proc.stdout.decode(),
                         "known_answer: done (%g CPU-seconds of work)\n" % (4 * float(unit)))

    def local_totals(self):
        t = collections.Counter()
        for path in profiles.documents(self.out):
            doc = profiles.load(path)
            for key in KEYS:
                t[key] += profiles.total(doc, key)
        return t

    def service_totals(self, posts=None):
        t = collections.Counter()
        for p in posts if posts is not None else self.accepted():
            for key, n in p.totals().items():
                t[key] += n
        return t

    def accepted(self):
        return [p for p in self.emu.profiles(GROUP) if p.accepted and not p.duplicate]

    def assert_all_delivered_once(self):
        posts = self.accepted()
        self.assertTrue(posts, "nothing was posted")
        for p in posts:
            self.assertTrue(p.valid, p.problems)
        self.assertEqual(self.emu.duplicate_profile_tokens(GROUP), [],
                         "a profile was accepted twice")
        local = self.local_totals()
        self.assertGreater(local["RUNNABLE"], 100)
        self.assertEqual(self.service_totals(posts), local,
                         "the service must get exactly the samples taken")
        return posts


class Delivery(UploadTestCase):
    def test_every_period_reaches_the_central_group(self):
        proc = self.run_workload("1.5")
        self.assert_host_unharmed(proc)
        posts = self.assert_all_delivered_once()
        self.assertGreaterEqual(len(posts), 2, "several periods, several posts")
        for p in posts:
            self.assertEqual(p.account, CENTRAL_ACCOUNT)
            self.assertIn(":assumed-role/cgagent-central/", p.arn)
            doc = p.document
            self.assertEqual(doc["agentMetadata"]["agentInfo"]["type"], "cgagent")
            # Counts equal the samples the document says were taken.
            self.assertEqual(sum(p.totals().values()), doc["agentMetadata"]["numTimesSampled"])
        for r in self.emu.requests("codeguru"):
            self.assertTrue(r.verified, r.auth)
            self.assertTrue(r.auth.access_key_id.startswith("ASIA"))
        # ConfigureAgent first, then after reports.
        ops = [r.operation for r in self.emu.requests("codeguru")]
        self.assertEqual(ops[0], "ConfigureAgent")
        tokens = [p.token for p in self.emu.profiles(GROUP)]
        self.assertEqual(len(tokens), len(set(tokens)))

    def test_short_process_delivers_at_exit(self):
        proc = self.run_workload("0.2",
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        self.assert_host_unharmed(proc, "0.2")
        posts = self.accepted()
        self.assertEqual(len(posts), 1)
        self.assertEqual(self.service_totals(posts), self.local_totals())

    def test_minimum_reporting_time_is_respected(self):
        self.emu.set_group_configuration(GROUP, agentParameters=dict(
            FAST, MinimumTimeForReportingInMilliseconds="60000"))
        proc = self.run_workload("0.3", CGAGENT_LOG="info",
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        self.assert_host_unharmed(proc, "0.3")
        self.assertEqual(self.emu.profiles(GROUP), [])
        self.assertGreater(self.local_totals()["RUNNABLE"], 0, "the local sink always gets it")
        self.assertIn(b"shorter than the service's minimum", proc.stderr)

    def test_service_settings_applied_unless_user_set(self):
        self.emu.set_group_configuration(GROUP, periodInSeconds=1, agentParameters=dict(FAST))
        env_extra = {"AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS": None}
        env = self.emu.env_for("user", LD_PRELOAD=profiles.LIB, CGAGENT_OUTPUT=self.out)
        proc = profiles.run([KNOWN, "1.5"], env)
        self.assert_host_unharmed(proc)
        # The service's 1 s period (no user value) gives several posts.
        self.assertGreaterEqual(len(self.accepted()), 3)
        # SamplingIntervalInMilliseconds 100: wall samples weigh 10 per second
        # once the answer is in (the first period may predate it).
        weights = [p.document["agentMetadata"]["sampleWeights"].get("WAITING")
                   for p in self.accepted()]
        self.assertIn(10.0, weights, weights)
        del env_extra

    def test_should_profile_false_stops_sampling(self):
        self.emu.set_group_configuration(GROUP, shouldProfile=False)
        proc = self.run_workload("2.0", CGAGENT_LOG="info")
        self.assert_host_unharmed(proc, "2.0")
        # Nothing is sent, not even what was sampled before the answer.
        self.assertEqual(self.emu.profiles(GROUP), [])
        self.assertIn(b"sampling paused", proc.stderr)
        # 8 CPU-seconds at 100 Hz would be ~800 samples; sampling stopped
        # once ConfigureAgent answered (within about a second).
        self.assertLess(self.local_totals()["RUNNABLE"], 400)
        # Paused, the agent's thread wakes on its timers and no more.  It
        # once spun on a wall-clock deadline it no longer moved, from the
        # first missed tick to the end: 481 ms in this run, against 11-13
        # ms when it waits.
        spent = [profiles.load(p)["agentMetadata"]["agentOverhead"].get("timeInMs", 0)
                 for p in profiles.documents(self.out)]
        self.assertLess(sum(spent), 150, spent)


class ServiceRanges(UploadTestCase):
    def test_out_of_range_service_values_are_clamped(self):
        """Issue 14, finding 7: a periodInSeconds of 2^63-1 was multiplied
        into nanoseconds unchecked and wrapped to a negative period, so the
        agent reported (and posted) on every 100 ms drain.  Clamped to a
        day, a 1.5 s run posts once, at exit; each clamped or ignored
        setting says so in one line."""
        self.emu.set_group_configuration(GROUP, periodInSeconds=2**63 - 1, agentParameters={
            "MinimumTimeForReportingInMilliseconds": "0",
            "SamplingIntervalInMilliseconds": "1.5",
            "MaxStackDepth": "99999999999999999999"})
        env = self.emu.env_for("user", LD_PRELOAD=profiles.LIB, CGAGENT_OUTPUT=self.out)
        proc = profiles.run([KNOWN, "1.5"], env)
        self.assert_host_unharmed(proc)
        posts = self.assert_all_delivered_once()
        self.assertEqual(len(posts), 1, "one period of a day, posted at exit")
        err = proc.stderr.decode()
        for line in ("periodInSeconds 9223372036854775807 is outside 1-86400; using 86400",
                     "MaxStackDepth 9223372036854775807 is outside 1-10000; using 10000",
                     "SamplingIntervalInMilliseconds is not a whole number; ignored"):
            self.assertEqual(err.count(line), 1, err)
        # ConfigureAgent is asked again after the report: still one line each.
        self.assertGreaterEqual(len(self.emu.requests("codeguru", "ConfigureAgent")), 1)


class FleetInfo(UploadTestCase):
    def configure_bodies(self):
        return [r.json() for r in self.emu.requests("codeguru", "ConfigureAgent")]

    def test_ec2_instance(self):
        proc = self.run_workload("0.5", AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        self.assert_host_unharmed(proc, "0.5")
        imds = self.emu.imds.config
        fleet = self.accepted()[0].document["agentMetadata"]["fleetInfo"]
        self.assertEqual(fleet, {"computeType": "aws_ec2_instance",
                                 "hostName": imds["local_hostname"],
                                 "hostType": imds["instance_type"]})
        self.assertEqual(self.configure_bodies()[0]["fleetInstanceId"], imds["local_hostname"])
        # The local sink's document says the same (detection is the upload
        # thread's first act; a process much shorter than a second could
        # write its one local document before it is done).
        local = profiles.load(profiles.documents(self.out)[-1])
        self.assertEqual(local["agentMetadata"]["fleetInfo"], fleet)

    def test_ecs_task(self):
        proc = self.run_workload("0.3", credentials="container", ecs_metadata=True, imds=False,
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        self.assert_host_unharmed(proc, "0.3")
        fleet = self.accepted()[0].document["agentMetadata"]["fleetInfo"]
        self.assertEqual(fleet["computeType"], "aws_fargate_task")
        self.assertTrue(fleet["taskArn"].startswith("arn:aws:ecs:"))
        self.assertEqual(self.configure_bodies()[0]["fleetInstanceId"], fleet["taskArn"])

    def test_elsewhere_a_uuid(self):
        proc = self.run_workload("0.3", imds=False,
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        self.assert_host_unharmed(proc, "0.3")
        fleet = self.accepted()[0].document["agentMetadata"]["fleetInfo"]
        self.assertEqual(fleet["type"], "UNKNOWN")
        self.assertEqual(self.configure_bodies()[0]["fleetInstanceId"], fleet["id"])


class Faults(UploadTestCase):
    """Each fault: the host is untouched, nothing is accepted twice, and once
    the fault clears the service has every sample taken."""

    def check_fault(self, service="codeguru", operation="PostAgentProfile", unit="1.5",
                    **fault):
        self.emu.add_fault(service, operation=operation, **fault)
        proc = self.run_workload(unit)
        self.assert_host_unharmed(proc, unit)
        self.assertTrue([r for r in self.emu.requests(service, operation) if r.fault],
                        "the fault never fired")
        return self.assert_all_delivered_once()

    def test_server_errors(self):
        self.check_fault(kind="error", status=500, count=3)

    def test_throttling(self):
        self.check_fault(kind="error", status=429, count=4)

    def test_access_denied_then_recovers(self):
        posts = self.check_fault(kind="error", status=403, count=1, unit="2.0")
        self.assertTrue(posts)

    def test_slow_responses(self):
        self.check_fault(kind="delay", delay_ms=1500, count=2)

    def test_dropped_connections(self):
        # No answer: the service may have the profile, so the same bytes
        # are posted again with the same token.
        self.check_fault(kind="drop", count=4)
        sent = collections.Counter(r.query.get("profileToken")
                                   for r in self.emu.requests("codeguru", "PostAgentProfile"))
        token, times = sent.most_common(1)[0]
        # 3 attempts in the first delivery, then the same token again later.
        self.assertGreaterEqual(times, 4, sent)
        self.assertIn(token, [p.token for p in self.accepted()])

    def test_garbage_configure_answer(self):
        self.check_fault(operation="ConfigureAgent", kind="garbage", count=2)

    def test_wrong_server_date(self):
        # The service's clock is 20 minutes ahead: the first call is refused
        # as expired, the Date header corrects the agent's clock.
        self.emu.clock.offset_s = 1200
        proc = self.run_workload("1.0")
        self.assert_host_unharmed(proc, "1.0")
        self.assert_all_delivered_once()

    def test_sts_unavailable_at_first(self):
        self.check_fault(service="sts", operation="AssumeRole", kind="error", status=503,
                         count=3)

    def test_expired_session_is_refreshed(self):
        # The assumed-role session expires under the agent (the emulator's
        # clock jumps past it): the service says ExpiredTokenException, the
        # agent fetches new credentials and posts again.
        self.emu.session_lifetime_s = 900
        self.emu.add_fault("codeguru", operation="ConfigureAgent", kind="delay", delay_ms=1,
                           count=1)
        env_jump = {"done": False}

        def jump_after_first_post():
            if not env_jump["done"] and self.emu.profiles(GROUP):
                env_jump["done"] = True
                self.emu.clock.advance(1000)
            return False
        import threading
        stop = threading.Event()

        def watcher():
            while not stop.is_set():
                jump_after_first_post()
                time.sleep(0.05)
        t = threading.Thread(target=watcher)
        t.start()
        try:
            proc = self.run_workload("2.0")
        finally:
            stop.set()
            t.join()
        self.assert_host_unharmed(proc, "2.0")
        self.assertTrue(env_jump["done"])
        codes = [r.error_code for r in self.emu.requests("codeguru")]
        self.assertIn("ExpiredTokenException", codes)
        self.assertGreaterEqual(len(self.emu.requests("sts", "AssumeRole")), 2)
        self.assert_all_delivered_once()

    def test_service_unreachable_does_not_slow_the_host(self):
        """A black-holed service holds every request: the host's work must
        not wait on it (uploads have their own thread) and its exit waits at
        most the 5 s flush bound.  Time bounds here are hang checks with
        wide margins (twice the plain run, 2 s of slack), not performance
        claims: a busy machine slows both runs alike."""
        start = time.monotonic()
        plain = profiles.run([KNOWN, "1.0"], profiles.clean_env())
        plain_s = time.monotonic() - start
        self.assertEqual(plain.returncode, 0)
        self.emu.blackhole("codeguru")
        env = self.emu.env_for("user", LD_PRELOAD=profiles.LIB, CGAGENT_OUTPUT=self.out,
                               AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1500")
        start = time.monotonic()
        proc = subprocess.Popen([KNOWN, "1.0"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=60)
        # stdout is a pipe, so the program's one line arrives only with
        # its exit: the whole run is timed, the work and at most the 5 s
        # flush bound.
        total_s = time.monotonic() - start
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertEqual(out.decode(), "known_answer: done (4 CPU-seconds of work)\n")
        self.assertLess(total_s, 2 * plain_s + 5.0 + 2.0)


class CredentialRefresh(UploadTestCase):
    """Issue 4: credentials that expire every 60 s, over several refreshes."""
    emulator_config = {"session_lifetime_s": 60}

    def test_sixty_second_sessions_keep_posting(self):
        stress = os.path.join(profiles.WORKLOADS, "stress")
        proc = self.run_workload(argv=[stress, "eintr", "140"], timeout=240,
                                 AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="5000",
                                 AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS="100")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        posts = self.accepted()
        self.assertGreaterEqual(len(posts), 20)
        self.assertEqual(self.emu.duplicate_profile_tokens(GROUP), [])
        calls = self.emu.requests("codeguru")
        for r in calls:
            self.assertTrue(r.verified, r.auth)
            self.assertIsNone(r.error_code, "every call signed with valid credentials")
        keys = {r.auth.access_key_id for r in calls}
        self.assertGreaterEqual(len(keys), 3, "the role session was refreshed several times")
        self.assertEqual(self.service_totals(posts), self.local_totals())


if __name__ == "__main__":
    unittest.main()
