"""The SigV4 verifier and the test-side signer against the official vectors
(tests/data/sigv4, header mode) and against each other."""
import json
import os
import random
import shutil
import subprocess
import unittest

from emulator import LOCAL_GROUP, WORKLOAD_ACCESS_KEY_ID, WORKLOAD_SECRET_ACCESS_KEY, sigv4
from emulator.signer import sign_headers
from emulator.testcase import EmulatorTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTDATA = os.path.join(ROOT, "tests", "data", "sigv4")


def load_cases():
    if not os.path.isdir(TESTDATA):
        raise AssertionError("SigV4 vectors not found at %s" % TESTDATA)
    cases = []
    for name in sorted(os.listdir(TESTDATA)):
        folder = os.path.join(TESTDATA, name)
        if not os.path.isfile(os.path.join(folder, "context.json")):
            continue

        def read(fname, folder=folder):
            with open(os.path.join(folder, fname), "rb") as f:
                return f.read()
        ctx = json.loads(read("context.json"))
        ctx["now"] = sigv4.parse_amz_date(
            ctx["timestamp"].replace("-", "").replace(":", ""))
        cases.append((name, ctx, read))
    return cases


def verify_case(ctx, req, **kw):
    creds = ctx["credentials"]
    return sigv4.verify(
        req, lambda k: creds["secret_access_key"] if k == creds["access_key_id"] else None,
        region=ctx["region"], service=ctx["service"], now=ctx["now"],
        normalize=ctx["normalize"], **kw)


def tamper_value(value):
    """Changes one character that canonicalization cannot hide: the last
    digit (so a date stays a valid date), else the first non-space."""
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if digits:
        i = digits[-1]
        new = str((int(value[i]) + 1) % 10)
    else:
        i = next(i for i, ch in enumerate(value) if not ch.isspace())
        new = "x" if value[i] != "x" else "y"
    return value[:i] + new + value[i + 1:]


def replace_header(req, name, fn):
    headers = list(req.headers)
    for i, (k, v) in enumerate(headers):
        if k.lower() == name:
            headers[i] = (k, fn(v))
            break
    return sigv4.WireRequest(req.method, req.target, headers, req.body)


class OfficialVectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cases = load_cases()

    def test_there_are_38_cases(self):
        self.assertEqual(len(self.cases), 38)

    def test_verifier_accepts_every_signed_request_stage_by_stage(self):
        for name, ctx, read in self.cases:
            with self.subTest(case=name):
                req = sigv4.parse_http_message(read("header-signed-request.txt"))
                v = verify_case(ctx, req)
                self.assertTrue(v.ok, v.message)
                self.assertEqual(v.canonical_request,
                                 read("header-canonical-request.txt").decode("latin-1"))
                self.assertEqual(v.string_to_sign,
                                 read("header-string-to-sign.txt").decode("latin-1"))

    def test_verifier_rejects_one_changed_byte_of_the_signature(self):
        for name, ctx, read in self.cases:
            with self.subTest(case=name):
                req = sigv4.parse_http_message(read("header-signed-request.txt"))

                def flip(auth):
                    i = auth.index("Signature=") + len("Signature=")
                    return auth[:i] + ("0" if auth[i] != "0" else "1") + auth[i + 1:]
                v = verify_case(ctx, replace_header(req, "authorization", flip))
                self.assertFalse(v.ok)
                self.assertEqual(v.kind, sigv4.SIGNATURE)

    def test_verifier_rejects_one_changed_byte_of_each_signed_header(self):
        for name, ctx, read in self.cases:
            req = sigv4.parse_http_message(read("header-signed-request.txt"))
            signed = verify_case(ctx, req).signed_headers
            self.assertIn("host", signed)
            for header in signed:
                with self.subTest(case=name, header=header):
                    v = verify_case(ctx, replace_header(req, header, tamper_value))
                    self.assertFalse(v.ok)
                    self.assertEqual(v.kind, sigv4.SIGNATURE, v.message)

    def test_signer_reproduces_every_signature(self):
        for name, ctx, read in self.cases:
            with self.subTest(case=name):
                creds = ctx["credentials"]
                req = sigv4.parse_http_message(read("request.txt"))
                out = sign_headers(
                    req.method, req.target, req.headers, req.body,
                    access_key_id=creds["access_key_id"],
                    secret_access_key=creds["secret_access_key"],
                    session_token=creds.get("token"), region=ctx["region"],
                    service=ctx["service"], now=ctx["now"],
                    normalize=ctx["normalize"],
                    sign_token=not ctx.get("omit_session_token"),
                    content_sha256_header=ctx["sign_body"])
                expected = sigv4.parse_http_message(read("header-signed-request.txt"))
                self.assertEqual(dict(out)["Authorization"],
                                 expected.header("Authorization"))
                self.assertTrue(dict(out)["Authorization"].endswith(
                    "Signature=" + read("header-signature.txt").decode().strip()))


SECRET = "verifier/test/Secret+Key/00000000000000"
AKID = "AKIAVERIFIERTEST0001"


def secret_for(akid):
    return SECRET if akid == AKID else None


def signed(method, target, headers, body=b"", now=1.8e9, **kw):
    args = dict(access_key_id=AKID, secret_access_key=SECRET, region="us-east-1",
                service="codeguru-profiler", now=now)
    args.update(kw)
    return sigv4.WireRequest(method, target,
                             sign_headers(method, target, headers, body, **args), body)


def check(req, now=1.8e9, service="codeguru-profiler", **kw):
    return sigv4.verify(req, secret_for, region="us-east-1", service=service,
                        now=now, **kw)


class VerifierRules(unittest.TestCase):
    HOST = [("Host", "127.0.0.1:45123")]

    def test_signer_and_verifier_agree_on_awkward_requests(self):
        rng = random.Random(7)
        alphabet = ["a", "Z", "0", "-", "_", ".", "~", "%20", "%2F", "%25", "+",
                    "=", "@", "%E1%88%B4", "!", "*", "(", ")", "'", ":"]
        for i in range(300):
            segs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
                    for _ in range(rng.randint(1, 4))]
            target = "/" + "/".join(segs)
            if rng.random() < 0.6:
                target += "?" + "&".join(
                    "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
                    + "=" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
                    for _ in range(rng.randint(1, 3)))
            headers = self.HOST + [("X-Custom", "  a   b  "), ("x-custom", "c"),
                                   ("Content-Type", "application/json")]
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
            with self.subTest(target=target):
                v = check(signed("POST", target, headers, body))
                self.assertTrue(v.ok, v.message)

    def test_wire_path_is_encoded_again(self):
        v = check(signed("POST", "/profilingGroups/a%20b/configureAgent", self.HOST))
        self.assertTrue(v.ok, v.message)
        self.assertIn("/profilingGroups/a%2520b/configureAgent", v.canonical_request)

    def test_changed_body_is_rejected(self):
        req = signed("POST", "/", self.HOST, b'{"a":1}')
        req.body = b'{"a":2}'
        self.assertEqual(check(req).kind, sigv4.SIGNATURE)

    def test_clock_skew_beyond_five_minutes_is_rejected_both_ways(self):
        req = signed("GET", "/", self.HOST, now=1.8e9)
        self.assertTrue(check(req, now=1.8e9 + 299).ok)
        late = check(req, now=1.8e9 + 301)
        self.assertEqual(late.kind, sigv4.SKEW)
        self.assertIn("Signature expired", late.message)
        early = check(req, now=1.8e9 - 301)
        self.assertEqual(early.kind, sigv4.SKEW)
        self.assertIn("not yet current", early.message)

    def test_scope_must_name_the_endpoints_region_and_service(self):
        self.assertEqual(check(signed("GET", "/", self.HOST, region="eu-west-1")).kind,
                         sigv4.SCOPE)
        self.assertEqual(check(signed("GET", "/", self.HOST, service="sts")).kind,
                         sigv4.SCOPE)

    def test_unknown_key_missing_and_malformed_authorization(self):
        self.assertEqual(check(signed("GET", "/", self.HOST,
                                      access_key_id="AKIANOBODY0000000000")).kind,
                         sigv4.UNKNOWN_KEY)
        bare = sigv4.WireRequest("GET", "/", list(self.HOST))
        self.assertEqual(check(bare).kind, sigv4.MISSING)
        bad = sigv4.WireRequest("GET", "/", self.HOST + [
            ("Authorization", "AWS4-HMAC-SHA256 Credential=x/y")])
        self.assertEqual(check(bad).kind, sigv4.INCOMPLETE)

    def test_host_must_be_signed(self):
        req = signed("GET", "/", [("X-Other", "1")])
        req.headers.append(("Host", "example"))
        v = check(req)
        self.assertEqual(v.kind, sigv4.SIGNATURE)
        self.assertIn("Host", v.message)

    def test_signed_header_missing_from_request_is_rejected(self):
        req = signed("GET", "/", self.HOST + [("X-Extra", "1")])
        req.headers = [h for h in req.headers if h[0] != "X-Extra"]
        self.assertEqual(check(req).kind, sigv4.SIGNATURE)


@unittest.skipUnless(shutil.which("curl"), "curl is not installed")
class CurlSigner(EmulatorTestCase):
    """A third implementation: libcurl's own SigV4 (curl --aws-sigv4)."""

    def curl(self, service, url, data, ctype):
        out = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
             "--aws-sigv4", "aws:amz:us-east-1:" + service,
             "--user", WORKLOAD_ACCESS_KEY_ID + ":" + WORKLOAD_SECRET_ACCESS_KEY,
             "-H", "Content-Type: " + ctype, "--data-binary", data, url],
            capture_output=True, text=True, timeout=30)
        return out.stdout

    def test_curl_signed_requests_verify(self):
        self.assertEqual(self.curl("sts", self.emu.sts_url + "/",
                                   "Action=GetCallerIdentity&Version=2011-06-15",
                                   "application/x-www-form-urlencoded"), "200")
        url = "%s/profilingGroups/%s/configureAgent" % (self.emu.codeguru_url, LOCAL_GROUP)
        self.assertEqual(self.curl("codeguru-profiler", url, "{}", "application/json"), "200")
        self.assertTrue(all(r.verified for r in self.emu.requests()))


if __name__ == "__main__":
    unittest.main()
