"""STS: AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity, and the
authentication errors every signed call can get."""
import calendar
import email.utils
import time
import unittest
import xml.etree.ElementTree as ET

from emulator import (CENTRAL_ACCOUNT, CENTRAL_ROLE_ARN, INSTANCE_ROLE_ARN,
                      WEB_IDENTITY_ROLE_ARN, WEB_IDENTITY_TOKEN,
                      WORKLOAD_ACCOUNT, Credentials, client)
from emulator.testcase import EmulatorTestCase

NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


class AssumeRole(EmulatorTestCase):
    def test_caller_identity_of_a_user(self):
        res = self.sts(self.workload, "GetCallerIdentity")
        self.assertEqual(res.status, 200, res.body)
        self.assertEqual(res.xml("Account"), WORKLOAD_ACCOUNT)
        self.assertEqual(res.xml("Arn"), "arn:aws:iam::111111111111:user/cgagent-workload")
        rec = self.emu.requests("sts")[-1]
        self.assertTrue(rec.verified)
        self.assertEqual((rec.account, rec.auth.access_key_id),
                         (WORKLOAD_ACCOUNT, self.workload.access_key_id))

    def test_success_has_the_real_shape_and_usable_credentials(self):
        before = time.time()
        res = client.assume_role(self.emu.sts_url, self.workload, CENTRAL_ROLE_ARN,
                                 "agent-1", DurationSeconds=900)
        self.assertEqual(res.status, 200, res.body)
        self.assertEqual(res.header("Content-Type"), "text/xml")
        root = ET.fromstring(res.body)
        self.assertEqual(root.tag, NS + "AssumeRoleResponse")
        creds = root.find(NS + "AssumeRoleResult/" + NS + "Credentials")
        self.assertTrue(creds.find(NS + "AccessKeyId").text.startswith("ASIA"))
        exp = creds.find(NS + "Expiration").text
        self.assertRegex(exp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertAlmostEqual(epoch(exp) - before, 900, delta=5)
        self.assertEqual(res.xml("Arn"),
                         "arn:aws:sts::222222222222:assumed-role/cgagent-central/agent-1")
        self.assertRegex(res.xml("AssumedRoleId"), r"^AROA[A-Z0-9]{17}:agent-1$")
        self.assertEqual(res.xml("RequestId"), res.header("x-amzn-RequestId"))
        central = client.credentials_from_sts(res)
        who = self.sts(central, "GetCallerIdentity")
        self.assertEqual(who.xml("Account"), CENTRAL_ACCOUNT)
        self.assertEqual(self.emu.requests("sts", "GetCallerIdentity")[-1].arn,
                         res.xml("Arn"))

    def test_untrusted_account_and_unknown_role_are_denied(self):
        for creds, arn in ((self.outsider, CENTRAL_ROLE_ARN),
                           (self.workload, "arn:aws:iam::222222222222:role/nope")):
            with self.subTest(arn=arn):
                res = client.assume_role(self.emu.sts_url, creds, arn)
                self.assert_aws_error(res, 403, "AccessDenied")
                self.assertEqual(res.xml("Type"), "Sender")
                self.assertIn("is not authorized to perform: sts:AssumeRole", res.xml("Message"))
                root = ET.fromstring(res.body)
                self.assertEqual(root.tag, NS + "ErrorResponse")
                self.assertIsNotNone(root.find(NS + "RequestId"))

    def test_external_id_must_match(self):
        role = self.emu.add_role(CENTRAL_ACCOUNT, "with-xid", trust=[WORKLOAD_ACCOUNT],
                                 external_id="cgagent-xid-42")
        for xid, status in ((None, 403), ("wrong-xid", 403), ("cgagent-xid-42", 200)):
            with self.subTest(external_id=xid):
                params = {"ExternalId": xid} if xid else {}
                res = client.assume_role(self.emu.sts_url, self.workload, role.arn, **params)
                self.assertEqual(res.status, status, res.body)

    def test_duration_limits(self):
        long_role = self.emu.add_role(CENTRAL_ACCOUNT, "long", trust=[WORKLOAD_ACCOUNT],
                                      max_session_s=43200)
        cases = ((CENTRAL_ROLE_ARN, 899, "greater than or equal to 900"),
                 (CENTRAL_ROLE_ARN, 43201, "less than or equal to 43200"),
                 (CENTRAL_ROLE_ARN, 7200, "MaxSessionDuration"),
                 (long_role.arn, 7200, None))
        for arn, duration, error in cases:
            with self.subTest(arn=arn, duration=duration):
                res = client.assume_role(self.emu.sts_url, self.workload, arn,
                                         DurationSeconds=duration)
                if error is None:
                    self.assertEqual(res.status, 200, res.body)
                else:
                    self.assert_aws_error(res, 400, "ValidationError")
                    self.assertIn(error, res.xml("Message"))

    def test_role_chaining_is_capped_at_one_hour(self):
        long_role = self.emu.add_role(CENTRAL_ACCOUNT, "long", trust=[WORKLOAD_ACCOUNT],
                                      max_session_s=43200)
        instance = self.emu.issue_session(INSTANCE_ROLE_ARN, "i-0123")
        res = client.assume_role(self.emu.sts_url, instance, long_role.arn,
                                 DurationSeconds=3601)
        self.assert_aws_error(res, 400, "ValidationError")
        self.assertIn("role chaining", res.xml("Message"))
        res = client.assume_role(self.emu.sts_url, instance, long_role.arn,
                                 DurationSeconds=3600)
        self.assertEqual(res.status, 200, res.body)

    def test_role_session_name_rules(self):
        for name in ("a", "x" * 65, "has space", "semi;colon"):
            with self.subTest(name=name):
                res = client.assume_role(self.emu.sts_url, self.workload,
                                         CENTRAL_ROLE_ARN, name)
                self.assert_aws_error(res, 400, "ValidationError")
                self.assertIn("roleSessionName", res.xml("Message"))
        ok = client.assume_role(self.emu.sts_url, self.workload, CENTRAL_ROLE_ARN,
                                "cgagent-ip_10.0.0.1@host=a,b+c")
        self.assertEqual(ok.status, 200, ok.body)

    def test_issued_credentials_expire_on_the_emulator_clock(self):
        self.emu.session_lifetime_s = 60
        central = self.assume(DurationSeconds=3600)
        res = client.assume_role(self.emu.sts_url, self.workload, CENTRAL_ROLE_ARN)
        self.assertAlmostEqual(epoch(res.xml("Expiration")),
                               self.emu.clock.now() + 60, delta=2)
        self.assertEqual(self.sts(central, "GetCallerIdentity").status, 200)
        self.emu.clock.advance(61)
        res = self.sts(central, "GetCallerIdentity")
        self.assert_aws_error(res, 400, "ExpiredToken")
        self.assertEqual(self.emu.requests("sts")[-1].auth.kind, "token_expired")

    def test_region_disabled_for_the_roles_account(self):
        self.emu.disable_region(CENTRAL_ACCOUNT)
        res = client.assume_role(self.emu.sts_url, self.workload, CENTRAL_ROLE_ARN)
        self.assert_aws_error(res, 403, "RegionDisabledException")

    def test_unknown_action_and_missing_version(self):
        self.assert_aws_error(self.sts(self.workload, "GetSessionTokenX"), 400,
                              "InvalidAction")
        res = self.sts(self.workload, "GetCallerIdentity", {"Version": "2010-01-01"})
        self.assert_aws_error(res, 400, "InvalidAction")

    def test_get_with_query_string_is_accepted(self):
        url = self.emu.sts_url + "/?Action=GetCallerIdentity&Version=2011-06-15"
        res = client.signed_request(url, self.workload, service="sts",
                                    region="us-east-1", method="GET")
        self.assertEqual(res.status, 200, res.body)


class Authentication(EmulatorTestCase):
    def test_unknown_key(self):
        nobody = Credentials("AKIANOBODY0000000000", "x" * 40)
        self.assert_aws_error(self.sts(nobody, "GetCallerIdentity"), 403,
                              "InvalidClientTokenId")

    def test_wrong_secret_shows_the_canonical_request(self):
        wrong = Credentials(self.workload.access_key_id, "y" * 40)
        res = self.sts(wrong, "GetCallerIdentity")
        self.assert_aws_error(res, 403, "SignatureDoesNotMatch")
        self.assertIn("The Canonical String for this request should have been",
                      res.xml("Message"))

    def test_session_token_missing_or_wrong(self):
        central = self.assume()
        # A wrong token differs in its last character (never "A" for "A").
        last = "B" if central.session_token.endswith("A") else "A"
        for token in (None, central.session_token[:-1] + last):
            with self.subTest(token=token and "wrong"):
                creds = Credentials(central.access_key_id, central.secret_access_key, token)
                self.assert_aws_error(self.sts(creds, "GetCallerIdentity"), 403,
                                      "InvalidClientTokenId")

    def test_server_clock_ahead_rejects_and_says_so_in_date(self):
        self.emu.clock.offset_s = 3600
        res = self.sts(self.workload, "GetCallerIdentity")
        self.assert_aws_error(res, 403, "SignatureDoesNotMatch")
        self.assertIn("Signature expired", res.xml("Message"))
        server = email.utils.parsedate_to_datetime(res.header("Date")).timestamp()
        self.assertAlmostEqual(server - time.time(), 3600, delta=5)
        # a client that corrects its clock from Date gets through
        ok = self.sts(self.workload, "GetCallerIdentity", now=server)
        self.assertEqual(ok.status, 200, ok.body)

    def test_scope_for_another_region(self):
        res = client.sts_call(self.emu.sts_url, self.workload, "GetCallerIdentity",
                              region="eu-west-1")
        self.assert_aws_error(res, 403, "SignatureDoesNotMatch")
        self.assertIn("region", res.xml("Message"))

    def test_strict_mode_wants_the_session_token_signed(self):
        central = self.assume()
        res = self.sts(central, "GetCallerIdentity", sign_token=False)
        self.assert_aws_error(res, 403, "SignatureDoesNotMatch")
        self.assertIn("strict", res.xml("Message"))
        self.emu.strict = False
        self.assertEqual(self.sts(central, "GetCallerIdentity", sign_token=False).status, 200)

    def test_missing_authorization(self):
        res = client.request(self.emu.sts_url + "/", "POST",
                             [("Content-Type", "application/x-www-form-urlencoded")],
                             b"Action=GetCallerIdentity&Version=2011-06-15")
        self.assert_aws_error(res, 403, "MissingAuthenticationToken")


class WebIdentity(EmulatorTestCase):
    def call(self, token=WEB_IDENTITY_TOKEN, role=WEB_IDENTITY_ROLE_ARN):
        return self.sts(None, "AssumeRoleWithWebIdentity", {
            "RoleArn": role, "RoleSessionName": "pod-1", "WebIdentityToken": token},
            sign=False)

    def test_unsigned_call_returns_the_web_identity_shape(self):
        res = self.call()
        self.assertEqual(res.status, 200, res.body)
        root = ET.fromstring(res.body)
        self.assertEqual(root.tag, NS + "AssumeRoleWithWebIdentityResponse")
        self.assertEqual(res.xml("SubjectFromWebIdentityToken"),
                         "system:serviceaccount:default:cgagent")
        self.assertIsNotNone(res.xml("Provider"))
        self.assertEqual(res.xml("Audience"), "sts.amazonaws.com")
        self.assertEqual(res.xml("Arn"), "arn:aws:sts::111111111111:assumed-role/"
                         "cgagent-web-identity/pod-1")
        rec = self.emu.requests("sts", "AssumeRoleWithWebIdentity")[-1]
        self.assertIsNone(rec.auth)
        # the session can go on to assume the central role (role chaining)
        central = self.assume(client.credentials_from_sts(res), DurationSeconds=3600)
        self.assertTrue(central.arn.startswith("arn:aws:sts::222222222222:"))

    def test_unknown_token_expired_token_and_untrusting_role(self):
        self.assert_aws_error(self.call("not-a-token"), 400, "InvalidIdentityToken")
        self.emu.add_web_identity_token("short-lived-token", expires_in_s=30)
        self.assertEqual(self.call("short-lived-token").status, 200)
        self.emu.clock.advance(31)
        self.assert_aws_error(self.call("short-lived-token"), 400, "ExpiredTokenException")
        self.assert_aws_error(self.call(role=CENTRAL_ROLE_ARN), 403, "AccessDenied")


if __name__ == "__main__":
    unittest.main()
