"""The credential chain of SPEC §3 / issue 4, one test per source and per
failure mode, through `cgagent check` against the emulator."""
import os
import sys
import textwrap
import unittest

from emulator import (CENTRAL_ACCOUNT, CENTRAL_ROLE_ARN, WORKLOAD_ACCESS_KEY_ID,
                      WORKLOAD_SECRET_ACCESS_KEY, Emulator)
from emulator import world
from integration.helpers import check, write


class CredentialTestCase(unittest.TestCase):
    config = None

    def setUp(self):
        self.emu = Emulator(self.config).start()
        self.addCleanup(self.emu.stop)
        self.dir = self.emu.workdir

    def assert_ok(self, res, base_provider, base_arn=None):
        self.assertEqual(res.status, 0, res)
        self.assertIn(base_provider, res.fields.get("credentials from", ""), res)
        self.assertTrue(res.fields["assumed role"].startswith(
            "arn:aws:sts::%s:assumed-role/cgagent-central/" % CENTRAL_ACCOUNT), res)
        self.assertTrue(res.fields["access key id"].startswith("ASIA"), res)
        if base_arn:
            self.assertEqual(res.fields["base identity"], base_arn, res)
        self.assert_no_secrets(res)
        # The central role was assumed with a verified signature.
        assumed = [r for r in self.emu.requests("sts", "AssumeRole") if r.status == 200]
        self.assertTrue(assumed, "no successful AssumeRole")
        self.assertTrue(all(r.verified for r in assumed))

    def assert_no_secrets(self, res):
        secrets = [WORKLOAD_SECRET_ACCESS_KEY]
        for r in self.emu.requests():
            body = r.response_body or b""
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            for tag in ("SecretAccessKey", "SessionToken", "Token"):
                for marker in ('<%s>' % tag, '"%s": "' % tag):
                    i = body.find(marker)
                    if i >= 0:
                        j = i + len(marker)
                        end = body.find('<' if marker[0] == '<' else '"', j)
                        secrets.append(body[j:end])
        for s in secrets:
            if s and len(s) > 8:
                self.assertNotIn(s, res.stdout + res.stderr)

    def env(self, credentials="user", **kw):
        return self.emu.env_for(credentials, **kw)


class Sources(CredentialTestCase):
    def test_environment(self):
        res = check(self.env("user"))
        self.assert_ok(res, "environment variables",
                       "arn:aws:iam::111111111111:user/cgagent-workload")
        ar = self.emu.requests("sts", "AssumeRole")[-1]
        self.assertEqual(ar.account, "111111111111")
        form = dict(p.split("=", 1) for p in ar.body.decode().split("&"))
        self.assertEqual(form["DurationSeconds"], "3600")
        self.assertTrue(form["RoleSessionName"].startswith("cgagent-"))

    def test_shared_credentials_file_static_keys(self):
        creds = write(os.path.join(self.dir, "credentials"), textwrap.dedent("""\
            # a comment
            [default]
            aws_access_key_id = nobody
            aws_secret_access_key = nothing
            [app]
            aws_access_key_id = %s
            aws_secret_access_key = %s
            """ % (WORKLOAD_ACCESS_KEY_ID, WORKLOAD_SECRET_ACCESS_KEY)))
        res = check(self.env("none", imds=False, AWS_SHARED_CREDENTIALS_FILE=creds,
                             AWS_PROFILE="app"))
        self.assert_ok(res, "shared profile app (static keys)")

    def test_long_session_token_line(self):
        # Session tokens are often over 1,000 bytes on one line.
        session = self.emu.issue_session("arn:aws:iam::111111111111:role/cgagent-task")
        token = session.session_token + "X" * 0  # real token, kept whole
        creds = write(os.path.join(self.dir, "credentials"), textwrap.dedent("""\
            [default]
            aws_access_key_id = %s
            aws_secret_access_key = %s
            aws_session_token = %s
            """ % (session.access_key_id, session.secret_access_key, token)))
        res = check(self.env("none", imds=False, AWS_SHARED_CREDENTIALS_FILE=creds))
        self.assert_ok(res, "shared profile default (static keys)")

    def test_profile_role_with_source_profile(self):
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [profile central]
            role_arn = %s
            source_profile = base
            role_session_name = from-profile
            duration_seconds = 1800
            region = us-east-1
            [profile base]
            aws_access_key_id = %s
            aws_secret_access_key = %s
            """ % (CENTRAL_ROLE_ARN, WORKLOAD_ACCESS_KEY_ID, WORKLOAD_SECRET_ACCESS_KEY)))
        res = check(self.env("none", role_arn=None, imds=False, AWS_CONFIG_FILE=cfg,
                             AWS_PROFILE="central"))
        self.assertEqual(res.status, 0, res)
        self.assertEqual(res.fields["identity"],
                         "arn:aws:sts::222222222222:assumed-role/cgagent-central/from-profile")
        ar = self.emu.requests("sts", "AssumeRole")[-1]
        self.assertIn("DurationSeconds=1800", ar.body.decode())

    def test_environment_keys_win_over_the_profile(self):
        # As in the SDKs' default chains: environment first, even when the
        # profile (here a role with credential_source) would also work.
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            role_arn = %s
            credential_source = Environment
            """ % CENTRAL_ROLE_ARN))
        res = check(self.env("user", role_arn=None, group="cgagent-local",
                             AWS_CONFIG_FILE=cfg))
        self.assertEqual(res.status, 0, res)
        self.assertEqual(res.fields["credentials from"], "environment variables (AWS_ACCESS_KEY_ID)")
        self.assertFalse(self.emu.requests("sts", "AssumeRole"))

    def test_profile_credential_source_imds(self):
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            role_arn = %s
            credential_source = Ec2InstanceMetadata
            """ % CENTRAL_ROLE_ARN))
        res = check(self.env("none", role_arn=None, AWS_CONFIG_FILE=cfg))
        self.assertEqual(res.status, 0, res)
        self.assertTrue(self.emu.requests("imds", "GetCredentials"))
        self.assertIn("cgagent-central", res.fields["identity"])

    def test_credential_process(self):
        script = write(os.path.join(self.dir, "creds helper.py"), textwrap.dedent("""\
            import json, os, sys
            # the agent must not profile its own helper
            assert os.environ.get("AWS_CODEGURU_PROFILER_ENABLED") == "false"
            print(json.dumps({"Version": 1, "AccessKeyId": sys.argv[1],
                              "SecretAccessKey": sys.argv[2]}))
            """), mode=0o700)
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [profile helper]
            credential_process = %s "%s" %s '%s'
            """ % (sys.executable, script, WORKLOAD_ACCESS_KEY_ID, WORKLOAD_SECRET_ACCESS_KEY)))
        res = check(self.env("none", imds=False, AWS_CONFIG_FILE=cfg, AWS_PROFILE="helper"))
        self.assert_ok(res, "shared profile helper (credential_process)",
                       "arn:aws:iam::111111111111:user/cgagent-workload")

    def test_credential_process_failure_is_reported(self):
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            credential_process = %s -c "import sys; sys.stderr.write('token expired, run sso login\\\\n'); sys.exit(3)"
            """ % sys.executable))
        res = check(self.env("none", imds=False, AWS_CONFIG_FILE=cfg))
        self.assertEqual(res.status, 1, res)
        self.assertIn("exited with status 3", res.error)
        self.assertIn("token expired, run sso login", res.error)

    def test_web_identity_from_environment(self):
        res = check(self.env("web_identity"))
        self.assert_ok(res, "web identity",
                       "arn:aws:sts::111111111111:assumed-role/cgagent-web-identity/"
                       "cgagent-web-identity")
        wi = self.emu.requests("sts", "AssumeRoleWithWebIdentity")
        self.assertTrue(wi)
        self.assertIsNone(wi[0].header("Authorization"), "must be unsigned")

    def test_web_identity_from_profile(self):
        token = self.emu.write_web_identity_token()
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            role_arn = %s
            web_identity_token_file = %s
            """ % (world.WEB_IDENTITY_ROLE_ARN, token)))
        res = check(self.env("none", imds=False, AWS_CONFIG_FILE=cfg))
        self.assert_ok(res, "web identity")

    def test_web_identity_token_file_reread(self):
        # EKS rotates the token file: each fetch reads it again.
        env = self.env("web_identity")
        write(env["AWS_WEB_IDENTITY_TOKEN_FILE"], "not-a-valid-token")
        res = check(env)
        self.assertEqual(res.status, 1, res)
        self.assertIn("InvalidIdentityToken", res.error)

    def test_container_ecs_style_token(self):
        res = check(self.env("container"))
        self.assert_ok(res, "container credentials",
                       "arn:aws:sts::111111111111:assumed-role/cgagent-task/cgagent-task")
        got = self.emu.requests("container")
        self.assertEqual(got[0].header("Authorization"), self.emu.container.config["auth_token"])

    def test_container_pod_identity_token_file(self):
        res = check(self.env("container", token_file=True))
        self.assert_ok(res, "container credentials")

    def test_container_wrong_token(self):
        env = self.env("container")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        res = check(env)
        self.assertEqual(res.status, 1, res)
        self.assertIn("HTTP 403", res.error)
        self.assertIn("AWS_CONTAINER_AUTHORIZATION_TOKEN", res.error)

    def test_container_full_uri_host_not_allowed(self):
        env = self.env("container")
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://192.0.2.10/creds"
        res = check(env)
        self.assertEqual(res.status, 1, res)
        self.assertIn("plain http is allowed only to loopback", res.error)
        self.assertFalse(self.emu.requests("container"))

    def test_imds_v2(self):
        res = check(self.env("imds"))
        self.assert_ok(res, "EC2 instance metadata (IMDSv2, role cgagent-instance)")
        self.assertTrue(self.emu.requests("imds", "PutToken"))
        for r in self.emu.requests("imds", "GetCredentials"):
            self.assertIsNotNone(r.header("X-aws-ec2-metadata-token"))

    def test_imds_v1_fallback_on_403(self):
        self.emu.configure_imds(mode="v1-only", v1_put_status=403)
        res = check(self.env("imds"))
        self.assert_ok(res, "EC2 instance metadata (IMDSv1, role cgagent-instance)")

    def test_imds_v1_disabled(self):
        self.emu.configure_imds(mode="v1-only", v1_put_status=405)
        res = check(self.env("imds", AWS_EC2_METADATA_V1_DISABLED="true"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("IMDSv1 is disabled", res.error)
        self.assertFalse(self.emu.requests("imds", "GetRoleName"))

    def test_imds_hop_limit_case(self):
        # The token PUT's answer never arrives (hop limit 1 behind a bridge)
        # and the instance requires tokens: say what to fix.
        self.emu.configure_imds(mode="v2-only")
        self.emu.add_fault("imds", "delay", operation="PutToken", delay_ms=3000)
        res = check(self.env("imds"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("HttpPutResponseHopLimit", res.error)
        self.assertLess(res.seconds, 8, res)


class Failures(CredentialTestCase):
    def test_wrong_secret(self):
        env = self.env("user", AWS_SECRET_ACCESS_KEY="not-the-secret-at-all")
        res = check(env, "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("SignatureDoesNotMatch", res.error)
        self.assertIn(WORKLOAD_ACCESS_KEY_ID, res.error)
        self.assertIn("secret access key", res.error)
        self.assertNotIn("not-the-secret-at-all", res.stdout + res.stderr)
        # Not retried: a wrong key does not get better.
        self.assertEqual(len(self.emu.requests("sts", "AssumeRole")), 1)

    def test_role_assumption_denied_names_role_and_caller(self):
        res = check(self.env(self.emu.credentials(world.OTHER_ACCESS_KEY_ID)), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("AccessDenied", res.error) if "AccessDenied" in res.error else None
        self.assertIn(CENTRAL_ROLE_ARN, res.error)
        self.assertIn("arn:aws:iam::333333333333:user/outsider", res.error)
        self.assertIn("trust policy", res.error)

    def test_expired_session_token(self):
        session = self.emu.issue_session("arn:aws:iam::111111111111:role/cgagent-task",
                                         lifetime_s=60)
        self.emu.clock.advance(120)
        res = check(self.env(session), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("has expired", res.error)
        self.assertIn("ExpiredToken", res.error)

    def test_region_disabled(self):
        self.emu.disable_region(CENTRAL_ACCOUNT)
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("RegionDisabledException", res.error)

    def test_external_id(self):
        self.emu.add_role(CENTRAL_ACCOUNT, "strict-central", trust=["111111111111"],
                          external_id="xid-1")
        role = "arn:aws:iam::%s:role/strict-central" % CENTRAL_ACCOUNT
        res = check(self.env("user", role_arn=role), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn(role, res.error)
        res = check(self.env("user", role_arn=role, external_id="xid-1"), "--no-identity")
        self.assertEqual(res.status, 0, res)
        self.assertIn("ExternalId=xid-1", self.emu.requests("sts", "AssumeRole")[-1].body.decode())

    def test_role_chaining_asks_for_at_most_an_hour(self):
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            role_arn = %s
            credential_source = Ec2InstanceMetadata
            duration_seconds = 7200
            """ % CENTRAL_ROLE_ARN))
        res = check(self.env("none", role_arn=None, AWS_CONFIG_FILE=cfg))
        self.assertEqual(res.status, 0, res)
        self.assertIn("DurationSeconds=3600", self.emu.requests("sts", "AssumeRole")[-1].body.decode())

    def test_imds_unreachable_falls_through_quickly(self):
        self.emu.stop_service("imds")
        res = check(self.env("none"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("unreachable", res.error)
        self.assertLess(res.seconds, 3.0, res)

    def test_imds_blackholed_bounded(self):
        self.emu.blackhole("imds")
        res = check(self.env("none"))
        self.assertEqual(res.status, 1, res)
        self.assertLess(res.seconds, 5.0, res)

    def test_no_credentials_at_all(self):
        res = check(self.env("none", imds=False))
        self.assertEqual(res.status, 1, res)
        self.assertIn("no AWS credentials", res.error)

    def test_half_environment_keys(self):
        env = self.env("user")
        del env["AWS_SECRET_ACCESS_KEY"]
        res = check(env)
        self.assertEqual(res.status, 1, res)
        self.assertIn("AWS_SECRET_ACCESS_KEY", res.error)
        self.assertFalse(self.emu.requests("imds"), "must not fall through to IMDS")

    def test_missing_named_profile(self):
        res = check(self.env("none", AWS_PROFILE="nope"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("AWS_PROFILE=nope", res.error)

    def test_malformed_config_file_names_line(self):
        cfg = write(os.path.join(self.dir, "config"), "[default]\nregion = us-east-1\nthis is not ini\n")
        res = check(self.env("none", AWS_CONFIG_FILE=cfg))
        self.assertEqual(res.status, 1, res)
        self.assertIn("%s:3" % cfg, res.error)

    def test_source_profile_loop(self):
        cfg = write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [profile a]
            role_arn = %s
            source_profile = b
            [profile b]
            role_arn = %s
            source_profile = a
            """ % (CENTRAL_ROLE_ARN, CENTRAL_ROLE_ARN)))
        res = check(self.env("none", AWS_CONFIG_FILE=cfg, AWS_PROFILE="a"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("loop", res.error)

    def test_sts_throttling_is_retried(self):
        self.emu.add_fault("sts", "error", operation="AssumeRole", code="Throttling", count=2)
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 0, res)
        self.assertEqual(len(self.emu.requests("sts", "AssumeRole")), 3)

    def test_sts_keeps_failing(self):
        self.emu.add_fault("sts", "error", operation="AssumeRole", status=500, count=None)
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("after 3 attempts", res.error)

    def test_sts_garbage_answer(self):
        self.emu.add_fault("sts", "garbage", operation="AssumeRole")
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("not an STS AssumeRoleResponse", res.error)

    def test_sts_dropped_connection_is_retried(self):
        self.emu.add_fault("sts", "drop", operation="AssumeRole", count=1)
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 0, res)

    def test_clock_skew_is_corrected(self):
        # The emulator's clock runs 20 minutes ahead: the first signature is
        # refused as expired, the Date header gives the offset, the retry works.
        self.emu.clock.offset_s = 1200
        res = check(self.env("user"), "--no-identity")
        self.assertEqual(res.status, 0, res)
        self.assertIn("clock skew", res.stderr)


if __name__ == "__main__":
    unittest.main()
