"""The Python API around the services: env_for, waiting, reset, config."""
import os
import threading
import unittest

from emulator import (CONTAINER_AUTH_TOKEN, WEB_IDENTITY_ROLE_ARN, WEB_IDENTITY_TOKEN,
                      WORKLOAD_ACCESS_KEY_ID, Emulator, client)
from emulator.testcase import EmulatorTestCase


class EnvFor(EmulatorTestCase):
    BASE = {"PATH": "/usr/bin", "AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIAHOST",
            "CGAGENT_LOG": "debug", "HTTPS_PROXY": "http://proxy:3128",
            "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x"}

    def test_common_variables_and_scrubbing(self):
        env = self.emu.env_for("imds", base=self.BASE)
        self.assertEqual(env["PATH"], "/usr/bin")
        for gone in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "CGAGENT_LOG", "HTTPS_PROXY",
                     "ECS_CONTAINER_METADATA_URI_V4"):
            self.assertNotIn(gone, env)
        self.assertEqual(env["AWS_ENDPOINT_URL_STS"], self.emu.sts_url)
        self.assertEqual(env["AWS_ENDPOINT_URL_CODEGURUPROFILER"], self.emu.codeguru_url)
        self.assertEqual(env["AWS_EC2_METADATA_SERVICE_ENDPOINT"], self.emu.imds_url)
        self.assertEqual(env["AWS_REGION"], "us-east-1")
        self.assertEqual(env["CGAGENT_ROLE_ARN"], "arn:aws:iam::222222222222:role/cgagent-central")
        self.assertEqual(env["AWS_CODEGURU_PROFILER_GROUP_NAME"], "cgagent-test")
        self.assertFalse(os.path.exists(env["AWS_CONFIG_FILE"]))
        self.assertNotIn("AWS_EC2_METADATA_DISABLED", env)

    def test_credential_modes(self):
        env = self.emu.env_for("user", base={})
        self.assertEqual(env["AWS_ACCESS_KEY_ID"], WORKLOAD_ACCESS_KEY_ID)

        env = self.emu.env_for("container", base={}, imds=False)
        self.assertEqual(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                         self.emu.container_credentials_url)
        self.assertEqual(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"], CONTAINER_AUTH_TOKEN)
        self.assertEqual(env["AWS_EC2_METADATA_DISABLED"], "true")
        env = self.emu.env_for("container", base={}, token_file=True)
        with open(env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) as f:
            self.assertEqual(f.read(), CONTAINER_AUTH_TOKEN)

        env = self.emu.env_for("web_identity", base={})
        self.assertEqual(env["AWS_ROLE_ARN"], WEB_IDENTITY_ROLE_ARN)
        with open(env["AWS_WEB_IDENTITY_TOKEN_FILE"]) as f:
            self.assertEqual(f.read(), WEB_IDENTITY_TOKEN)

        session = self.emu.issue_session("arn:aws:iam::222222222222:role/cgagent-central")
        env = self.emu.env_for(session, role_arn=None, base={})
        self.assertEqual(env["AWS_SESSION_TOKEN"], session.session_token)
        self.assertNotIn("CGAGENT_ROLE_ARN", env)

        env = self.emu.env_for("none", base={}, external_id="xid", AWS_MAX_ATTEMPTS="1")
        self.assertNotIn("AWS_ACCESS_KEY_ID", env)
        self.assertEqual((env["CGAGENT_EXTERNAL_ID"], env["AWS_MAX_ATTEMPTS"]), ("xid", "1"))
        with self.assertRaises(ValueError):
            self.emu.env_for("magic")

    def test_workdir_goes_away_at_stop(self):
        path = self.emu.write_web_identity_token()
        self.emu.stop()
        self.assertFalse(os.path.exists(path))


class Waiting(EmulatorTestCase):
    def test_wait_wakes_when_another_thread_makes_the_request(self):
        go = threading.Event()

        def agent():
            go.wait(5)
            client.assume_role(self.emu.sts_url, self.workload,
                               "arn:aws:iam::222222222222:role/cgagent-central")
        t = threading.Thread(target=agent)
        t.start()
        go.set()
        reqs = self.emu.wait_for_requests("sts", "AssumeRole", timeout=10,
                                          where=lambda r: r.status == 200)
        t.join()
        self.assertEqual(len(reqs), 1)

    def test_timeout_names_what_it_waited_for_and_what_it_saw(self):
        self.sts(self.workload, "GetCallerIdentity")
        with self.assertRaises(TimeoutError) as cm:
            self.emu.wait_for_profiles(count=1, timeout=0.1)
        self.assertIn("1 profile(s)", str(cm.exception))
        self.assertIn("GetCallerIdentity", str(cm.exception))

    def test_wait_wakes_when_the_clock_moves(self):
        session = self.emu.issue_session("arn:aws:iam::222222222222:role/cgagent-central",
                                         lifetime_s=60)
        t = threading.Thread(target=self.emu.clock.advance, args=(61,))
        t.start()
        self.emu.wait_for(lambda: session.expired(self.emu.clock.now()), timeout=10)
        t.join()

    def test_wait_for_any_predicate(self):
        self.sts(self.workload, "GetCallerIdentity")
        value = self.emu.wait_for(lambda: self.emu.requests("sts")[0].status, timeout=1)
        self.assertEqual(value, 200)


class ConfigAndReset(unittest.TestCase):
    def test_reset_forgets_requests_faults_and_optionally_identities(self):
        with Emulator({"users": [{"account": "555555555555", "name": "cfg",
                                  "access_key_id": "AKIACONFIGUREDUSER01"}]}) as emu:
            added = emu.add_user("666666666666", "added")
            emu.add_fault("sts", "error", count=None)
            client.sts_call(emu.sts_url, added, "GetCallerIdentity")
            emu.reset()
            self.assertEqual((emu.requests(), emu.faults.active()), ([], []))
            self.assertIsNotNone(emu.credentials(added.access_key_id))
            emu.reset(identities=True)
            self.assertIsNone(emu.credentials(added.access_key_id))
            self.assertIsNotNone(emu.credentials("AKIACONFIGUREDUSER01"))
            self.assertIsNotNone(emu.credentials())           # defaults too

    def test_without_defaults_and_bad_config(self):
        with Emulator(defaults=False, region="eu-west-1") as emu:
            self.assertIsNone(emu.credentials())
            self.assertEqual(emu.region, "eu-west-1")
        for bad in ({"colour": "red"}, {"imds": {"mode": "v3"}},
                    {"container": {"style": "lambda"}}, {"users": [{"account": "12"}]}):
            with self.subTest(config=bad), self.assertRaises((ValueError, TypeError)):
                Emulator(bad)

    def test_request_records_serialize(self):
        with Emulator() as emu:
            client.request(emu.imds_url + "/latest/meta-data/instance-id")
            d = emu.requests()[0].to_dict()
            self.assertEqual((d["service"], d["operation"], d["status"]),
                             ("imds", "GetMetadata", 200))
            self.assertEqual(d["response_body"], "i-0cgagent0000test1")


if __name__ == "__main__":
    unittest.main()
