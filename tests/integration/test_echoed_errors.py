"""Issue 28, items 3 and 4: what an endpoint says is shown masked and
escaped.

Item 3: AWS errors such as InvalidSignatureException echo the canonical
request, session token included, and a fake endpoint may echo the
Authorization header (the signature) or anything else.  Neither the
session token, nor the secret key, nor the signature may reach the agent's
log file, its profiles, or `cgagent check`'s text and --json.

Item 4: a message holding "\\r\\nresult: OK\\r\\n" and an OSC escape forged a
`result: OK` line and retitled the terminal.  Text output escapes control
bytes (C0, DEL, C1, bytes that are not UTF-8); --json stays valid and
carries no raw control byte.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles
from emulator import INSTANCE_ROLE_ARN, Emulator
from integration.helpers import CLI

HOSTILE = "bad\r\nresult: OK\r\n\x1b]0;pwned\x07\x1b[31m\x9b31m\x7f"
# Raw bytes no terminal should receive from us: C0 but newline, DEL, and
# C1 (raw, and as UTF-8: C2 80-C2 9F).
CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f-\x9f]|\xc2[\x80-\x9f]")


def run_check(env, *args):
    proc = subprocess.run([CLI, "check", *args], env=env, capture_output=True,
                          timeout=120)
    return proc


def signature(request):
    auth = request.header("Authorization") or ""
    m = re.search(r"Signature=([0-9a-f]{64})", auth)
    return m.group(1) if m else None


class Leaks:
    """Secrets of the signed requests an emulator saw, and where they show."""

    def __init__(self, emu, *extra):
        self.secrets = [s for s in extra if s]
        for r in emu.requests():
            if r.auth is None:
                continue
            principal = emu.credentials(r.auth.access_key_id)
            self.secrets += [r.header("X-Amz-Security-Token"), signature(r),
                             principal.secret_access_key if principal else None]
        self.secrets = sorted({s for s in self.secrets if s})

    def found_in(self, blob, window=16):
        """The secrets any 16-character piece of which is in blob (a
        message is cut to size, so a secret can show in part)."""
        hits = []
        for s in self.secrets:
            b = s.encode()
            if any(b[i:i + window] in blob for i in range(0, len(b) - window + 1, 4)):
                hits.append(s[:12] + "...")
        return hits


class EchoedSecrets(unittest.TestCase):
    """Item 3."""

    def setUp(self):
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)
        self.work = tempfile.mkdtemp(prefix="cgagent-echo-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def assert_clean(self, leaks, where, blob):
        self.assertTrue(leaks.secrets)
        self.assertEqual(leaks.found_in(blob), [], "%s shows a secret:\n%s"
                         % (where, blob.decode(errors="replace")))

    def test_check_shows_echoed_requests_masked(self):
        # The test's own session as the base credentials (the token and
        # secret are known here), then the central role as usual.
        creds = self.emu.issue_session(INSTANCE_ROLE_ARN)
        env = self.emu.env_for(creds)
        self.emu.add_fault("codeguru", "error", operation="ConfigureAgent",
                           code="InvalidSignatureException", echo="canonical", count=None)
        self.emu.add_fault("sts", "error", operation="GetCallerIdentity",
                           code="SignatureDoesNotMatch", echo="headers", count=None,
                           message="SecretAccessKey=%s; X-Amz-Security-Token=%s"
                           % (creds.secret_access_key, creds.session_token))
        text = run_check(env)
        as_json = run_check(env, "--json")
        self.assertTrue([r for r in self.emu.requests("codeguru") if r.fault])
        self.assertTrue([r for r in self.emu.requests("sts") if r.fault])
        leaks = Leaks(self.emu, creds.session_token, creds.secret_access_key)
        self.assertGreaterEqual(len([s for s in leaks.secrets if len(s) == 64]), 2)

        self.assertEqual(text.returncode, 1, text)
        self.assert_clean(leaks, "check's text", text.stdout + text.stderr)
        # The messages are there, masked: still useful for debugging.
        self.assertIn(b"x-amz-security-token:<redacted>", text.stdout)
        self.assertIn(b"Authorization: <redacted>", text.stdout)
        self.assertIn(b"SecretAccessKey=<redacted>", text.stdout)

        self.assertEqual(as_json.returncode, 1, as_json)
        self.assert_clean(leaks, "check --json", as_json.stdout + as_json.stderr)
        doc = json.loads(as_json.stdout)
        self.assertIn("x-amz-security-token:<redacted>\n", doc["error"])
        self.assertIn("X-Amz-Security-Token=<redacted>", doc["credentials"]["base_identity"])

    def test_agent_log_and_profiles_never_hold_an_echoed_secret(self):
        # The agent's own path: AssumeRole into the central role, then
        # ConfigureAgent signed with that session; both shapes of echo.
        for shape in ("canonical", "headers"):
            with self.subTest(echo=shape):
                self.emu.reset()
                out = os.path.join(self.work, shape)
                os.mkdir(out)
                log = os.path.join(self.work, shape + ".log")
                self.emu.add_fault("codeguru", "error", code="InvalidSignatureException",
                                   echo=shape, count=None)
                env = self.emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                                       CGAGENT_OUTPUT=out, CGAGENT_LOG_FILE=log,
                                       CGAGENT_LOG="debug",
                                       AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
                proc = profiles.run([os.path.join(profiles.WORKLOADS, "known_answer"), "0.3"],
                                    env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stdout.decode(), "known_answer: done (%g CPU-seconds of "
                                 "work)\n" % (4 * 0.3))
                faulted = [r for r in self.emu.requests("codeguru") if r.fault]
                self.assertTrue(faulted, "ConfigureAgent was never called")
                self.assertTrue(faulted[0].header("X-Amz-Security-Token"))
                leaks = Leaks(self.emu)
                with open(log, "rb") as f:
                    logged = f.read()
                self.assert_clean(leaks, "the log file", logged + proc.stderr)
                quoted = [l for l in logged.splitlines() if b"InvalidSignatureException:" in l]
                self.assertTrue(quoted, logged.decode(errors="replace"))
                self.assertIn(b"<redacted>", quoted[0])
                files = os.listdir(out)
                self.assertTrue(any(f.endswith(".json") for f in files), files)
                for name in files:
                    with open(os.path.join(out, name), "rb") as f:
                        self.assert_clean(leaks, name, f.read())


class EscapedText(unittest.TestCase):
    """Item 4."""

    def setUp(self):
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)

    def assert_no_control_bytes(self, out):
        self.assertIsNone(CONTROL.search(out), out)

    def result_lines(self, out):
        return [l for l in out.split(b"\n") if l.startswith(b"result:")]

    def test_a_message_cannot_forge_a_line(self):
        # check succeeds; only the base identity lookup fails, with the message
        # (STS speaks XML, which carries no ESC: the line breaks are the
        # attack here).
        env = self.emu.env_for(self.emu.issue_session(INSTANCE_ROLE_ARN))
        self.emu.add_fault("sts", "error", operation="GetCallerIdentity",
                           code="InvalidClientTokenId", message="nope\r\nresult: OK\r\nforged",
                           count=None)
        proc = run_check(env)
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(self.result_lines(proc.stdout), [b"result: OK"], proc.stdout)
        self.assertTrue(proc.stdout.endswith(b"\nresult: OK\n"))
        self.assert_no_control_bytes(proc.stdout)
        # XML turns CR LF into LF; either way the line break is shown escaped.
        self.assertRegex(proc.stdout, rb"nope(\\r)?\\nresult: OK(\\r)?\\nforged\)\n")

    def test_a_message_cannot_drive_the_terminal(self):
        env = self.emu.env_for("user")
        self.emu.add_fault("codeguru", "error", operation="ConfigureAgent",
                           code="ValidationException", message=HOSTILE, count=None)
        text = run_check(env)
        self.assertEqual(text.returncode, 1, text)
        self.assertEqual(self.result_lines(text.stdout), [], text.stdout)
        self.assert_no_control_bytes(text.stdout)
        errors = [l for l in text.stdout.split(b"\n") if l.startswith(b"error: ")]
        self.assertEqual(len(errors), 1, text.stdout)
        self.assertIn(b"bad\\r\\nresult: OK\\r\\n\\x1b]0;pwned\\x07\\x1b[31m\\xc2\\x9b31m\\x7f",
                      errors[0])
        # --json: valid, no raw control byte, and the text itself is kept.
        as_json = run_check(env, "--json")
        self.assertEqual(as_json.returncode, 1, as_json)
        self.assert_no_control_bytes(as_json.stdout)
        doc = json.loads(as_json.stdout)
        self.assertEqual(doc["result"], "error")
        self.assertIn(HOSTILE, doc["error"])

    def test_every_field_is_escaped(self):
        # A program name that is not UTF-8, on a run that succeeds.
        body = json.dumps({"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s3cr3t",
                           "Token": "t0k3n", "Expiration": "2099-01-01T00:00:00Z"})
        self.emu.add_fault("container", "garbage", body=body, count=None)
        env = self.emu.env_for("container", role_arn=None, group=None, imds=False)
        name = b"prog\xff\xfe\x1b]2;x\x07"
        text = run_check(env, "--no-identity", "--program", name)
        self.assertEqual(text.returncode, 0, text)
        self.assertEqual(self.result_lines(text.stdout), [b"result: OK"], text.stdout)
        self.assert_no_control_bytes(text.stdout)
        self.assertIn(b"program:             prog\\xff\\xfe\\x1b]2;x\\x07\n", text.stdout)
        as_json = run_check(env, "--no-identity", "--json", "--program", name)
        self.assertEqual(as_json.returncode, 0, as_json)
        self.assert_no_control_bytes(as_json.stdout)
        doc = json.loads(as_json.stdout)
        self.assertEqual(doc["program"], "prog\\xff\\xfe\x1b]2;x\x07")
        self.assertEqual(doc["result"], "ok")

    def test_credentials_with_control_bytes_are_refused_unquoted(self):
        # An endpoint's AccessKeyId holding the hostile text: refused
        # (a CR/LF in it would inject a header into every signed request),
        # and not quoted.
        body = json.dumps({"AccessKeyId": "ASIA" + HOSTILE, "SecretAccessKey": "s3cr3t",
                           "Token": "t0k3n", "Expiration": "2099-01-01T00:00:00Z"})
        self.emu.add_fault("container", "garbage", body=body, count=None)
        env = self.emu.env_for("container", role_arn=None, group=None, imds=False)
        for args in (("--no-identity",), ("--no-identity", "--json")):
            res = run_check(env, *args)
            self.assertEqual(res.returncode, 1, res)
            self.assert_no_control_bytes(res.stdout)
            self.assertEqual(self.result_lines(res.stdout), [], res.stdout)
            self.assertNotIn(b"pwned", res.stdout)
            self.assertIn(b"holds a space, control or non-ASCII byte", res.stdout)


if __name__ == "__main__":
    unittest.main()
