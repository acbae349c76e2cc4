"""CodeGuru Profiler: ConfigureAgent, PostAgentProfile, the account check,
validation of the document, duplicate tokens, and the auth errors."""
import json
import unittest

from emulator import (CENTRAL_ACCOUNT, CENTRAL_ROLE_ARN, GROUP, LOCAL_GROUP,
                      WORKLOAD_ACCOUNT, Credentials, client)
from emulator.testcase import EmulatorTestCase, sample_profile


class CodeGuru(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.central = self.assume(RoleSessionName="cgagent-host-1")

    def configure(self, creds=None, group=GROUP, body=None, **kw):
        return client.configure_agent(self.emu.codeguru_url, creds or self.central,
                                      group, body, **kw)

    def post(self, document=None, token=None, creds=None, group=GROUP, **kw):
        doc = sample_profile(self.now_ms()) if document is None else document
        return client.post_agent_profile(self.emu.codeguru_url, creds or self.central,
                                         group, doc, token, **kw)

    def test_configure_agent_answers_the_groups_configuration(self):
        res = self.configure()
        self.assertEqual(res.status, 200, res.body)
        conf = res.json()
        self.assertEqual((conf["shouldProfile"], conf["periodInSeconds"]), (True, 300))
        self.assertTrue(all(isinstance(v, str) for v in conf["agentParameters"].values()))
        self.emu.set_group_configuration(GROUP, shouldProfile=False, periodInSeconds=60)
        conf = self.configure().json()
        self.assertEqual((conf["shouldProfile"], conf["periodInSeconds"]), (False, 60))
        rec = self.emu.requests("codeguru", "ConfigureAgent")[-1]
        self.assertEqual(rec.json()["fleetInstanceId"], "cgagent-test-host")
        self.assertEqual(rec.account, CENTRAL_ACCOUNT)

    def test_configure_agent_body_is_validated(self):
        for body in ({"metadata": {"NotAField": "x"}}, {"metadata": {"AgentId": 5}},
                     {"fleetInstanceId": "x" * 256}):
            with self.subTest(body=body):
                self.assert_aws_error(self.configure(body=body), 400, "ValidationException")

    def test_post_valid_profile(self):
        res = self.post(token="tok-1")
        self.assertEqual((res.status, res.body), (204, b""))
        post = self.emu.wait_for_profiles(GROUP, 1)[0]
        self.assertEqual((post.token, post.problems, post.account, post.duplicate),
                         ("tok-1", [], CENTRAL_ACCOUNT, False))
        self.assertEqual(post.totals(), {"RUNNABLE": 17, "WAITING": 3})
        frames = [s for s, c in post.stacks() if "RUNNABLE" in c][0]
        self.assertEqual(frames[0], "start_thread")

    def test_chunked_upload(self):
        self.assertEqual(self.post(token="chunked", chunked=True).status, 204)
        self.assertEqual(self.emu.profiles()[-1].problems, [])
        self.assertEqual(self.emu.requests("codeguru")[-1].header("Transfer-Encoding"),
                         "chunked")

    def test_invalid_profile_is_recorded_and_optionally_rejected(self):
        doc = sample_profile(self.now_ms())
        doc["end"] = doc["start"] - 1
        self.assertEqual(self.post(doc).status, 204)
        post = self.emu.profiles(GROUP)[-1]
        self.assertFalse(post.valid)
        self.assertIn("before start", post.problems[0])
        self.emu.codeguru.reject_invalid_profiles = True
        self.assert_aws_error(self.post(doc), 400, "ValidationException")
        self.assertEqual(len(self.emu.profiles(GROUP)), 1)
        self.assertEqual(len(self.emu.profiles(GROUP, include_rejected=True)), 2)

    def test_unparsable_body_is_a_problem(self):
        self.assertEqual(self.post(b"{not json").status, 204)
        self.assertIn("not JSON", self.emu.profiles(GROUP)[-1].problems[0])

    def test_credentials_of_another_account_are_denied(self):
        res = self.configure(creds=self.workload)
        self.assert_aws_error(res, 403, "AccessDeniedException")
        self.assertTrue(res.header("x-amzn-ErrorType").startswith("AccessDeniedException:"))
        msg = res.json()["message"]
        self.assertIn("codeguru-profiler:ConfigureAgent", msg)
        self.assertIn("arn:aws:codeguru-profiler:us-east-1:222222222222:profilingGroup/"
                      + GROUP, msg)
        res = self.post(creds=self.workload)
        self.assertIn("codeguru-profiler:PostAgentProfile", res.json()["message"])
        # but the workload account's own group is fine without a role
        self.assertEqual(self.configure(creds=self.workload, group=LOCAL_GROUP).status, 200)
        self.assertEqual(self.emu.profiles(), [])

    def test_allowed_principals(self):
        self.emu.add_group("locked", CENTRAL_ACCOUNT,
                           allowed_principals=["arn:aws:iam::222222222222:role/other"])
        self.assert_aws_error(self.configure(group="locked"), 403, "AccessDeniedException")
        self.emu.add_group("open", CENTRAL_ACCOUNT, allowed_principals=[CENTRAL_ROLE_ARN])
        self.assertEqual(self.configure(group="open").status, 200)

    def test_unknown_group_and_bad_name(self):
        self.assert_aws_error(self.configure(group="nope"), 404, "ResourceNotFoundException")
        self.assert_aws_error(self.configure(group="bad.name"), 400, "ValidationException")

    def test_duplicate_token_is_detected_but_a_retry_after_failure_is_not(self):
        self.emu.add_fault("codeguru", "error", status=500, operation="PostAgentProfile")
        self.assertEqual(self.post(token="retry-me").status, 500)
        self.assertEqual(self.post(token="retry-me").status, 204)
        self.assertEqual(self.emu.duplicate_profile_tokens(), [])
        self.assertEqual(self.post(token="retry-me").status, 204)
        self.assertEqual(self.emu.duplicate_profile_tokens(), ["retry-me"])
        self.assertEqual([p.duplicate for p in self.emu.profiles()], [False, True])

    def test_token_and_content_type_rules(self):
        self.assert_aws_error(self.post(token="bad token!"), 400, "ValidationException")
        self.assert_aws_error(self.post(content_type="text/plain"), 400,
                              "ValidationException")
        url = "%s/profilingGroups/%s/agentProfile" % (self.emu.codeguru_url, GROUP)
        res = client.signed_request(url, self.central, service="codeguru-profiler",
                                    region="us-east-1",
                                    body=json.dumps(sample_profile()).encode(),
                                    headers=[("Content-Type", "application/json")])
        self.assertEqual(res.status, 204)
        self.assertIn("no profileToken query parameter", self.emu.profiles()[-1].problems)

    def test_auth_errors_use_rest_json_codes(self):
        self.emu.session_lifetime_s = 60
        short = self.assume()
        self.emu.clock.advance(61)
        self.assert_aws_error(self.configure(creds=short), 403, "ExpiredTokenException")
        self.assertEqual(self.emu.requests("codeguru")[-1].auth.kind, "token_expired")
        self.emu.clock.offset_s = 0
        nobody = Credentials("AKIANOBODY0000000000", "x" * 40)
        self.assert_aws_error(self.configure(creds=nobody), 403,
                              "UnrecognizedClientException")
        url = "%s/profilingGroups/%s/configureAgent" % (self.emu.codeguru_url, GROUP)
        res = client.signed_request(url, self.central, service="codeguru",
                                    region="us-east-1", body=b"{}",
                                    headers=[("Content-Type", "application/json")])
        self.assert_aws_error(res, 403, "InvalidSignatureException")
        self.emu.clock.offset_s = -600
        res = self.configure()
        self.assert_aws_error(res, 403, "InvalidSignatureException")
        self.assertIn("Signature not yet current", res.json()["message"])

    def test_unknown_route(self):
        url = self.emu.codeguru_url + "/profilingGroups"
        res = client.signed_request(url, self.central, service="codeguru-profiler",
                                    region="us-east-1", method="GET")
        self.assert_aws_error(res, 404, "UnknownOperationException")

    def test_workload_account_is_not_central(self):
        self.assertNotEqual(WORKLOAD_ACCOUNT, CENTRAL_ACCOUNT)


if __name__ == "__main__":
    unittest.main()
