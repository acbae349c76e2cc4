"""`cgagent check` as the doctor (issue 18): for each failure the emulator
can produce, the exit status is 1 and one `cause: …; fix: …` line names
the cause; the effective configuration says where each value came from;
ConfigureAgent's answer is shown; `--json` says the same; no secret is
ever printed."""
import json
import os
import subprocess
import unittest

from emulator import CENTRAL_ACCOUNT, WORKLOAD_SECRET_ACCESS_KEY, Emulator
from integration.helpers import CLI, check, write


class Doctor(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)

    def diagnosed(self, env, cause, *args):
        res = check(env, *args, timeout=120)
        self.assertEqual(res.status, 1, res)
        lines = [l for l in res.stdout.splitlines() if l.startswith("cause: ")]
        self.assertEqual(len(lines), 1, res)
        self.assertTrue(lines[0].startswith("cause: " + cause), res)
        self.assertIn("; fix: ", lines[0])
        self.assertNotIn(WORKLOAD_SECRET_ACCESS_KEY, res.stdout + res.stderr)
        return lines[0]

    def test_no_credentials(self):
        self.diagnosed(self.emu.env_for("none", imds=False), "no credentials")

    def test_expired_web_identity_token(self):
        self.emu.add_web_identity_token("expired-token-for-doctor", expires_in_s=-10)
        env = self.emu.env_for("web_identity")
        write(env["AWS_WEB_IDENTITY_TOKEN_FILE"], "expired-token-for-doctor")
        self.diagnosed(env, "expired web identity token")

    def test_imds_hop_limit(self):
        self.emu.configure_imds(mode="v2-only")
        self.emu.add_fault("imds", "hold", operation="PutToken", count=None)
        line = self.diagnosed(self.emu.env_for("imds"), "IMDS hop limit")
        self.assertIn("--http-put-response-hop-limit 2", line)

    def test_assume_role_denied(self):
        line = self.diagnosed(self.emu.env_for(
            "user", role_arn="arn:aws:iam::333333333333:role/nobody-trusts-you"),
            "AssumeRole denied")
        self.assertIn("trust policy", line)

    def test_wrong_external_id(self):
        self.emu.add_role(CENTRAL_ACCOUNT, "with-xid", trust=["111111111111"],
                          external_id="the-right-one")
        role = "arn:aws:iam::%s:role/with-xid" % CENTRAL_ACCOUNT
        line = self.diagnosed(self.emu.env_for("user", role_arn=role, external_id="wrong-one"),
                              "wrong ExternalId")
        self.assertNotIn("wrong-one", line)  # the value is not echoed
        # and the right one works end to end
        res = check(self.emu.env_for("user", role_arn=role, external_id="the-right-one"))
        self.assertEqual(res.status, 0, res)

    def test_no_such_profiling_group(self):
        line = self.diagnosed(self.emu.env_for("user", group="no-such-group"),
                              "no such profiling group")
        self.assertIn("create-profiling-group --profiling-group-name no-such-group", line)

    def test_group_in_another_region(self):
        # The emulator (the group's region) is us-east-1; the agent says eu-west-1.
        line = self.diagnosed(self.emu.env_for("user", region="eu-west-1"),
                              "group in another region")
        self.assertIn("AWS_CODEGURU_PROFILER_TARGET_REGION=us-east-1", line)

    def test_configure_agent_denied(self):
        self.emu.add_group("locked", allowed_principals=[
            "arn:aws:iam::%s:role/someone-else" % CENTRAL_ACCOUNT])
        line = self.diagnosed(self.emu.env_for("user", group="locked"), "ConfigureAgent denied")
        self.assertIn("codeguru-profiler:ConfigureAgent", line)

    def test_clock_skew_is_named_and_survived(self):
        self.emu.clock.offset_s = 3600
        res = check(self.emu.env_for("user"))
        self.assertEqual(res.status, 0, res)  # the agent signs with the offset
        self.assertTrue(res.fields["warning"].startswith("clock skew: this host's clock is "
                                                         "-3600 s off"), res)
        self.assertIn("time sync", res.fields["warning"])

    def test_tls_failure(self):
        env = self.emu.env_for("user")
        env["AWS_ENDPOINT_URL_STS"] = self.emu.sts_url.replace("http://", "https://")
        env["AWS_MAX_ATTEMPTS"] = "1"
        self.diagnosed(env, "TLS failure talking to https://127.0.0.1:")

    def test_endpoint_unreachable(self):
        env = self.emu.env_for("user", AWS_MAX_ATTEMPTS="1")
        self.emu.stop_service("codeguru")
        line = self.diagnosed(env, "endpoint unreachable")
        self.assertIn(self.emu.codeguru_url, line)


class Report(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)

    def settings(self, res):
        out = {}
        for line in res.stdout.splitlines():
            if line.startswith("  ") and " = " in line:
                key, _, rest = line.strip().partition(" = ")
                value, _, src = rest.rpartition(" [")
                out[key.strip()] = (value.strip(), src.rstrip("]"))
        return out

    def test_each_value_says_where_it_came_from(self):
        conf = write(os.path.join(self.emu.workdir, "cgagent.conf"),
                     "[default]\ncpu_hz = 50\nmax_stack_depth = 64\n"
                     "[process server]\ncpu_hz = 99\n")
        env = self.emu.env_for("user", CGAGENT_CONFIG=conf, CGAGENT_MAX_STACK_DEPTH="77")
        res = check(env, "--program", "server", "--region", "us-east-1")
        self.assertEqual(res.status, 0, res)
        s = self.settings(res)
        self.assertEqual(s["cpu_hz"], ("99", "[process server] %s:5" % conf))
        self.assertEqual(s["max_stack_depth"], ("77", "env CGAGENT_MAX_STACK_DEPTH"))
        self.assertEqual(s["memory_limit_mb"], ("32", "built-in"))
        self.assertEqual(s["profiling_group"][1], "env AWS_CODEGURU_PROFILER_GROUP_NAME")
        self.assertEqual(s["region"], ("us-east-1", "command line"))
        # another program gets [default]
        s = self.settings(check(env, "--program", "other"))
        self.assertEqual(s["cpu_hz"], ("50", "[default] %s:2" % conf))
        # ConfigureAgent was asked, nothing was posted
        self.assertIn("shouldProfile=true", res.fields["configure agent"])
        self.assertTrue(self.emu.requests("codeguru", "ConfigureAgent"))
        self.assertEqual(self.emu.requests("codeguru", "PostAgentProfile"), [])

    def test_json_says_the_same_and_hides_the_external_id(self):
        self.emu.add_role(CENTRAL_ACCOUNT, "with-xid", trust=["111111111111"],
                          external_id="secret-ish-id")
        env = self.emu.env_for("user", role_arn="arn:aws:iam::%s:role/with-xid"
                               % CENTRAL_ACCOUNT, external_id="secret-ish-id")
        proc = subprocess.run([CLI, "check", "--json"], env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["result"], "ok")
        self.assertEqual(doc["settings"]["external_id"],
                         {"value": "(set)", "source": "env CGAGENT_EXTERNAL_ID",
                          "env": "CGAGENT_EXTERNAL_ID"})
        self.assertTrue(doc["credentials"]["assumed_role"].startswith(
            "arn:aws:sts::%s:assumed-role/with-xid/" % CENTRAL_ACCOUNT))
        self.assertEqual(doc["configure_agent"], {"should_profile": True, "period_s": 300})
        self.assertNotIn("secret-ish-id", proc.stdout + proc.stderr)
        self.assertNotIn(WORKLOAD_SECRET_ACCESS_KEY, proc.stdout + proc.stderr)

    def test_json_failure_has_cause_and_fix(self):
        proc = subprocess.run([CLI, "check", "--json"], env=self.emu.env_for(
            "none", imds=False), capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["result"], "error")
        self.assertEqual(doc["stage"], "credentials")
        self.assertTrue(doc["cause"].startswith("no credentials"))
        self.assertTrue(doc["fix"])


if __name__ == "__main__":
    unittest.main()
