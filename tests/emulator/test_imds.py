"""IMDS: v2 tokens, v2-only, v1 fallback, v1-only, the hop-limit hold,
metadata documents, and the credentials it hands out."""
import json
import socket
import time
import unittest

from emulator import INSTANCE_ROLE_ARN, WORKLOAD_ACCOUNT, Credentials, client
from emulator.testcase import EmulatorTestCase

CREDS = "/latest/meta-data/iam/security-credentials/"


class Imds(EmulatorTestCase):
    def put_token(self, ttl="21600", headers=(), timeout=5.0):
        hdrs = [("X-aws-ec2-metadata-token-ttl-seconds", ttl)] if ttl else []
        return client.request(self.emu.imds_url + "/latest/api/token", "PUT",
                              hdrs + list(headers), timeout=timeout)

    def get(self, path, token=None):
        hdrs = [("X-aws-ec2-metadata-token", token)] if token else []
        return client.request(self.emu.imds_url + path, "GET", hdrs)

    def test_v2_flow_gives_credentials_of_the_instance_role(self):
        tok = self.put_token()
        self.assertEqual(tok.status, 200)
        self.assertEqual(tok.header("X-aws-ec2-metadata-token-ttl-seconds"), "21600")
        name = self.get(CREDS, tok.body.decode())
        self.assertEqual((name.status, name.body), (200, b"cgagent-instance"))
        res = self.get(CREDS + "cgagent-instance", tok.body.decode())
        self.assertEqual(res.status, 200)
        doc = json.loads(res.body)
        self.assertEqual(set(doc), {"Code", "LastUpdated", "Type", "AccessKeyId",
                                    "SecretAccessKey", "Token", "Expiration"})
        self.assertEqual((doc["Code"], doc["Type"]), ("Success", "AWS-HMAC"))
        self.assertRegex(doc["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        creds = Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        who = self.sts(creds, "GetCallerIdentity")
        self.assertEqual(who.xml("Arn"), "arn:aws:sts::111111111111:assumed-role/"
                         "cgagent-instance/i-0cgagent0000test1")
        ops = [r.operation for r in self.emu.requests("imds")]
        self.assertEqual(ops, ["PutToken", "GetRoleName", "GetCredentials"])

    def test_v2_only_requires_a_valid_token(self):
        self.emu.configure_imds(mode="v2-only")
        self.assertEqual(self.get(CREDS).status, 401)
        self.assertEqual(self.get(CREDS, "made-up-token").status, 401)
        tok = self.put_token(ttl="1").body.decode()
        self.assertEqual(self.get(CREDS, tok).status, 200)
        self.emu.clock.advance(2)
        self.assertEqual(self.get(CREDS, tok).status, 401)

    def test_v2_optional_allows_v1_but_not_a_bad_token(self):
        self.assertEqual(self.get(CREDS).status, 200)
        self.assertEqual(self.get(CREDS, "made-up-token").status, 401)

    def test_v1_only_refuses_the_token_put_as_configured(self):
        for status in (403, 404, 405):
            with self.subTest(status=status):
                self.emu.configure_imds(mode="v1-only", v1_put_status=status)
                self.assertEqual(self.put_token().status, status)
                self.assertEqual(self.get(CREDS).status, 200)
                self.assertEqual(self.get(CREDS, "stale-token").status, 200)

    def test_token_put_rules(self):
        for ttl in (None, "0", "21601", "abc"):
            with self.subTest(ttl=ttl):
                self.assertEqual(self.put_token(ttl=ttl).status, 400)
        self.assertEqual(self.put_token(headers=[("X-Forwarded-For", "10.0.0.2")]).status,
                         403)
        res = client.request(self.emu.imds_url + "/latest/api/token", "GET")
        self.assertEqual(res.status, 405)

    def test_hop_limit_hold_times_out_the_client_then_v1_works(self):
        self.emu.add_fault("imds", "hold", operation="PutToken", count=None,
                           hold_ms=20000)
        with self.assertRaises(socket.timeout):
            self.put_token(timeout=0.3)
        self.assertEqual(self.get(CREDS).status, 200)      # the v1 fallback
        self.assertEqual(self.emu.requests("imds", "PutToken")[0].fault, "hold")
        t0 = time.monotonic()
        self.emu.stop()                                     # releases the held thread
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_metadata_and_identity_document(self):
        expect = {"instance-id": "i-0cgagent0000test1", "instance-type": "c5.large",
                  "placement/region": "us-east-1",
                  "placement/availability-zone": "us-east-1a",
                  "local-hostname": "ip-10-0-0-1.ec2.internal"}
        for key, value in expect.items():
            with self.subTest(key=key):
                res = self.get("/latest/meta-data/" + key)
                self.assertEqual((res.status, res.body.decode()), (200, value))
        doc = json.loads(self.get("/latest/dynamic/instance-identity/document").body)
        self.assertEqual((doc["accountId"], doc["region"], doc["instanceId"],
                          doc["instanceType"]),
                         (WORKLOAD_ACCOUNT, "us-east-1", "i-0cgagent0000test1", "c5.large"))
        self.assertIn("instance-id", self.get("/latest/meta-data/").body.decode().split())
        self.assertEqual(self.get("/latest/meta-data/no-such-key").status, 404)

    def test_credentials_rotate_only_near_expiry(self):
        self.emu.configure_imds(lifetime_s=600, rotate_before_s=300)

        def key():
            return json.loads(self.get(CREDS + "cgagent-instance").body)["AccessKeyId"]
        first = key()
        self.assertEqual(key(), first)
        self.emu.clock.advance(301)
        second = key()
        self.assertNotEqual(second, first)
        self.assertEqual(key(), second)

    def test_no_instance_profile(self):
        self.emu.configure_imds(role=None)
        self.assertEqual(self.get(CREDS).status, 404)
        self.assertEqual(self.get(CREDS + "cgagent-instance").status, 404)

    def test_wrong_role_name(self):
        self.assertEqual(self.get(CREDS + "other-role").status, 404)
        self.assertEqual(self.emu.imds.config["role"], INSTANCE_ROLE_ARN)


if __name__ == "__main__":
    unittest.main()
