"""Fault injection: every kind, per operation, counts, seeded probability,
stopped services and black holes."""
import email.utils
import http.client
import socket
import time
import unittest

from emulator import GROUP, Emulator, client
from emulator.faults import Fault, FaultTable
from emulator.testcase import EmulatorTestCase


class Faults(EmulatorTestCase):
    def caller_identity(self, **kw):
        return self.sts(self.workload, "GetCallerIdentity", **kw)

    def test_sts_error_is_aws_shaped_and_clears_itself(self):
        self.emu.add_fault("sts", "error", status=500)
        res = self.caller_identity()
        self.assert_aws_error(res, 500, "InternalFailure")
        self.assertEqual(res.xml("Type"), "Receiver")
        self.assertEqual(res.xml("RequestId"), res.header("x-amzn-RequestId"))
        self.assertEqual(self.caller_identity().status, 200)
        self.assertEqual([r.fault for r in self.emu.requests("sts")], ["error", None])

    def test_error_defaults_per_service(self):
        central = self.assume()
        cases = (("sts", {"code": "Throttling"}, 400, "Throttling"),
                 ("sts", {"code": "ExpiredToken"}, 400, "ExpiredToken"),
                 ("sts", {"status": 403}, 403, "AccessDenied"),
                 ("sts", {"status": 503}, 503, "ServiceUnavailable"),
                 ("codeguru", {"status": 429}, 429, "ThrottlingException"),
                 ("codeguru", {"code": "ThrottlingException", "status": 400}, 400,
                  "ThrottlingException"),
                 ("codeguru", {"code": "ExpiredTokenException"}, 403, "ExpiredTokenException"),
                 ("codeguru", {"status": 500}, 500, "InternalServerException"))
        for service, kw, status, code in cases:
            with self.subTest(service=service, **kw):
                self.emu.add_fault(service, "error", **kw)
                if service == "sts":
                    res = self.caller_identity()
                else:
                    res = client.configure_agent(self.emu.codeguru_url, central, GROUP)
                self.assert_aws_error(res, status, code)

    def test_fault_for_one_operation_only_and_count(self):
        central = self.assume()
        self.emu.add_fault("codeguru", "error", status=503, operation="PostAgentProfile",
                           count=2)
        self.assertEqual(client.configure_agent(self.emu.codeguru_url, central,
                                                GROUP).status, 200)
        statuses = [client.post_agent_profile(self.emu.codeguru_url, central, GROUP,
                                              {"x": 1}).status for _ in range(3)]
        self.assertEqual(statuses, [503, 503, 204])
        self.assertEqual(self.emu.faults.active(), [])

    def test_probability_is_reproducible_with_a_seed(self):
        def outcomes(seed):
            table = FaultTable()
            table.add(Fault("sts", probability=0.3, count=None, seed=seed))
            return [table.take("sts", "AssumeRole") is not None for _ in range(200)]
        first = outcomes(11)
        self.assertEqual(first, outcomes(11))
        self.assertNotEqual(first, outcomes(12))
        self.assertTrue(40 <= sum(first) <= 80, sum(first))

    def test_delay(self):
        self.emu.add_fault("sts", "delay", delay_ms=300)
        t0 = time.monotonic()
        self.assertEqual(self.caller_identity().status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_drop_closes_without_a_response(self):
        self.emu.add_fault("sts", "drop")
        with self.assertRaises(http.client.RemoteDisconnected):
            self.caller_identity()
        rec = self.emu.requests("sts")[-1]
        self.assertEqual((rec.fault, rec.status, rec.operation),
                         ("drop", None, "GetCallerIdentity"))
        self.assertTrue(rec.verified)       # authenticated before the fault

    def test_garbage_body_with_200(self):
        self.emu.add_fault("imds", "garbage", operation="GetCredentials")
        res = client.request(self.emu.imds_url +
                             "/latest/meta-data/iam/security-credentials/cgagent-instance")
        self.assertEqual(res.status, 200)
        with self.assertRaises(ValueError):
            res.json()

    def test_garbage_with_a_given_body(self):
        self.emu.add_fault("container", "garbage", body='{"AccessKeyId": "A", oops')
        res = client.request(self.emu.container_credentials_url,
                             headers=[("Authorization", self.emu.container.config["auth_token"])])
        self.assertEqual((res.status, res.body), (200, b'{"AccessKeyId": "A", oops'))
        self.assertEqual(self.emu.requests("container")[-1].fault, "garbage")

    def test_wrong_date_header(self):
        self.emu.add_fault("sts", "date", date_offset_s=7200)
        res = self.caller_identity()
        self.assertEqual(res.status, 200)
        date = email.utils.parsedate_to_datetime(res.header("Date")).timestamp()
        self.assertAlmostEqual(date - time.time(), 7200, delta=5)

    def test_hold_never_answers_and_is_bounded(self):
        self.emu.add_fault("container", "hold", hold_ms=300)
        t0 = time.monotonic()
        with self.assertRaises(http.client.RemoteDisconnected):
            client.request(self.emu.container_credentials_url, timeout=5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_blackhole_then_clear(self):
        self.emu.blackhole("codeguru")
        with self.assertRaises(socket.timeout):
            client.request(self.emu.codeguru_url + "/", timeout=0.2)
        self.emu.clear_faults("codeguru")
        self.assertEqual(client.request(self.emu.codeguru_url + "/").status, 404)

    def test_stop_and_start_a_service_on_the_same_port(self):
        url = self.emu.imds_url
        self.emu.stop_service("imds")
        with self.assertRaises(ConnectionRefusedError):
            client.request(url + "/latest/meta-data/instance-id")
        self.assertEqual(self.caller_identity().status, 200)   # others unaffected
        self.emu.start_service("imds")
        self.assertEqual(self.emu.imds_url, url)
        self.assertEqual(client.request(url + "/latest/meta-data/instance-id").status, 200)

    def test_error_echoes_the_signed_request(self):
        central = self.assume()
        self.emu.add_fault("codeguru", "error", code="InvalidSignatureException",
                           echo="canonical")
        res = client.configure_agent(self.emu.codeguru_url, central, GROUP)
        self.assert_aws_error(res, 403, "InvalidSignatureException")
        msg = res.json()["message"]
        self.assertIn("The Canonical String for this request should have been\n'POST\n"
                      "/profilingGroups/%s/configureAgent\n" % GROUP, msg)
        self.assertIn("\nx-amz-security-token:%s\n" % central.session_token, msg)
        self.assertIn("The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n", msg)
        self.emu.add_fault("sts", "error", code="SignatureDoesNotMatch", message="no",
                           echo="headers")
        res = self.caller_identity()
        self.assert_aws_error(res, 403, "SignatureDoesNotMatch")
        sent = self.emu.requests("sts")[-1]
        self.assertEqual(res.xml("Message"),
                         "no\nAuthorization: %s" % sent.header("Authorization"))
        self.assertIn("Signature=", sent.header("Authorization"))
        # Without echo the message is unchanged.
        self.emu.add_fault("codeguru", "error", code="InvalidSignatureException")
        res = client.configure_agent(self.emu.codeguru_url, central, GROUP)
        self.assertEqual(res.json()["message"], "Injected fault InvalidSignatureException")
        with self.assertRaises(ValueError):
            self.emu.add_fault("sts", "error", echo="everything")

    def test_fault_from_config_and_bad_fault_specs(self):
        with Emulator({"faults": [{"service": "sts", "kind": "error", "status": 503}]}) as emu:
            res = client.sts_call(emu.sts_url, emu.credentials(), "GetCallerIdentity")
            self.assertEqual(res.status, 503)
        for bad in ({"service": "s3"}, {"service": "sts", "kind": "explode"},
                    {"service": "sts", "colour": "red"}):
            with self.subTest(spec=bad), self.assertRaises(ValueError):
                self.emu.add_fault(**bad)


if __name__ == "__main__":
    unittest.main()
