"""Hardening of the credential sources, through `cgagent check` against the
emulator: a credential_process helper that never exits is killed with what
it started, and malformed credential documents (credential_process, the
container endpoint, IMDS) are reported without quoting them, because the
parser's excerpt of the text around the error is often part of the secret.
"""
import os
import textwrap
import time
import unittest

from emulator import WORKLOAD_ACCESS_KEY_ID, Emulator
from integration.helpers import check, write

# Looks like a secret access key; no 6-character piece of it is an English
# word or part of a message the agent prints.
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYq9Zx3VbN2mLp8Kd"


def alive(pid):
    """True while pid runs (a zombie does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


class HardeningTestCase(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)
        self.dir = self.emu.workdir

    def assert_no_secret_fragment(self, res, secret=SECRET):
        text = res.stdout + res.stderr
        for i in range(len(secret) - 5):
            self.assertNotIn(secret[i:i + 6], text, res)

    def process_profile(self, script):
        helper = write(os.path.join(self.dir, "helper.sh"), textwrap.dedent(script), 0o700)
        return write(os.path.join(self.dir, "config"), textwrap.dedent("""\
            [default]
            credential_process = /bin/sh "%s" "%s"
            """ % (helper, self.dir)))


class LingeringHelper(HardeningTestCase):
    def read_pid(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return int(f.read())

    def wait_gone(self, pid, timeout=5):
        end = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        return not alive(pid)

    def test_helper_that_closes_its_output_and_sleeps_is_killed(self):
        # Valid credentials, then stdout and stderr closed, then a minute of
        # sleep (with a child doing the same): the fetch used to block in
        # waitpid() for that minute, holding the credential cache's lock.
        cfg = self.process_profile("""\
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}'
            exec >&- 2>&-
            sleep 60 &
            echo $! >"$1/grandchild.pid"
            echo $$ >"$1/helper.pid"
            exec sleep 60
            """ % (WORKLOAD_ACCESS_KEY_ID, SECRET))
        env = self.emu.env_for("none", imds=False, AWS_CONFIG_FILE=cfg)
        res = check(env, "--no-identity", timeout=120)
        self.assertEqual(res.status, 1, res)
        self.assertIn("shared profile default (credential_process)", res.error, res)
        self.assertIn("closed its output but did not exit within 30 s", res.error, res)
        self.assertIn("killed it and its process group", res.error, res)
        # By the 30 s limit plus a margin: well before the helper's 60 s.
        self.assertLess(res.seconds, 50, res)
        helper, grandchild = self.read_pid("helper.pid"), self.read_pid("grandchild.pid")
        self.assertTrue(self.wait_gone(helper), "helper %d still runs" % helper)
        self.assertTrue(self.wait_gone(grandchild), "its child %d still runs" % grandchild)
        self.assertFalse(self.emu.requests("sts", "AssumeRole"))
        self.assert_no_secret_fragment(res)


class MalformedDocuments(HardeningTestCase):
    def test_credential_process_output(self):
        # A bare word where the secret's string should be: the parser's
        # message would be "invalid token near 'wJalrXUtnFEMIK'".
        cfg = self.process_profile("""\
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": %s}'
            """ % (WORKLOAD_ACCESS_KEY_ID, SECRET))
        env = self.emu.env_for("none", imds=False, AWS_CONFIG_FILE=cfg)
        res = check(env, "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assert_no_secret_fragment(res)
        # ...and still says which source, what and where.
        self.assertIn("shared profile default (credential_process): output of '/bin/sh': "
                      "not valid JSON (invalid syntax at line 1, column", res.error, res)

    def test_container_answer(self):
        # An invalid escape in the middle of the secret.
        body = ('{"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "%s\\q%s", '
                '"Token": "t", "Expiration": "2030-01-01T00:00:00Z"}' % (SECRET[:14], SECRET[14:]))
        self.emu.add_fault("container", "garbage", body=body, count=None)
        res = check(self.emu.env_for("container"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assert_no_secret_fragment(res)
        # ...and still says which source, what and where.
        self.assertIn("container credentials (%s): not valid JSON (invalid syntax at line 1, "
                      "column" % self.emu.container_credentials_url, res.error, res)

    def test_container_key_with_a_header_in_it(self):
        # An AccessKeyId that would end the Authorization header and start
        # one of the endpoint's choosing in every signed request.
        body = ('{"AccessKeyId": "ASIAEXAMPLE\\r\\nX-Injected: yes", "SecretAccessKey": "%s", '
                '"Token": "t", "Expiration": "2030-01-01T00:00:00Z"}' % SECRET)
        self.emu.add_fault("container", "garbage", body=body, count=None)
        res = check(self.emu.env_for("container"))
        self.assertEqual(res.status, 1, res)
        self.assertIn("container credentials (%s): the answer's AccessKeyId, SecretAccessKey or "
                      "Token holds a space, control or non-ASCII byte"
                      % self.emu.container_credentials_url, res.error, res)
        self.assertFalse(self.emu.requests("sts"), "a request was signed with it")
        self.assert_no_secret_fragment(res)

    def test_container_error_message_is_masked(self):
        # The endpoint's refusal quotes the request's token back.
        token = "IQoJb3JpZ2luX2VjEHIaCXVzLWVhc3QtMSJHMEUCIQDx7aTq9Zk2ZrHj2Ylp0mRZa8nV4cK"
        self.emu.add_fault("container", "error", status=403, count=None,
                           message="denied: x-amz-security-token:%s" % token)
        res = check(self.emu.env_for("container"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assertIn("HTTP 403: denied: x-amz-security-token:", res.error, res)
        self.assert_no_secret_fragment(res, token)

    def test_imds_answer(self):
        # A raw tab inside the secret, on the document's second line.
        body = ('{"Code": "Success", "AccessKeyId": "ASIAEXAMPLE",\n'
                ' "SecretAccessKey": "%s\t%s", "Token": "t", '
                '"Expiration": "2030-01-01T00:00:00Z"}' % (SECRET[:14], SECRET[14:]))
        self.emu.add_fault("imds", "garbage", operation="GetCredentials", body=body, count=None)
        res = check(self.emu.env_for("imds"), "--no-identity")
        self.assertEqual(res.status, 1, res)
        self.assert_no_secret_fragment(res)
        # ...and still says which source, what and where.
        self.assertIn("IMDS role cgagent-instance: not valid JSON (invalid syntax at line 2, "
                      "column", res.error, res)


if __name__ == "__main__":
    unittest.main()
