"""A small AWS client for the Python tests: exact bytes, signed with signer.py.

DESIGN: http.client with no headers of its own (no automatic Host,
Accept-Encoding), so what the test signs is what goes on the wire.  Helpers
build the STS form body and CodeGuru paths the way the SDKs do and parse
STS XML by element name.  Used by the emulator's own tests and by
integration tests that need to act as a second client.
"""
import http.client
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from .identity import Credentials
from .signer import sign_url_request


@dataclass
class HttpResult:
    status: int
    headers: list
    body: bytes

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body) if self.body else None

    def xml(self, name):
        """Text of the first element with this local name, or None."""
        for el in ET.fromstring(self.body).iter():
            if el.tag.rsplit("}", 1)[-1] == name:
                return el.text
        return None

    @property
    def error_code(self):
        """The AWS error code, from x-amzn-ErrorType or the XML body."""
        etype = self.header("x-amzn-ErrorType")
        if etype:
            return etype.split(":")[0]
        if self.body.startswith(b"<"):
            try:
                return self.xml("Code")
            except ET.ParseError:
                return None
        return None


def request(url, method="GET", headers=(), body=b"", timeout=5.0, target=None,
            chunked=False):
    """Sends exactly these headers (Host from the URL unless given);
    chunked=True sends the body with Transfer-Encoding: chunked."""
    parts = urlsplit(url)
    if target is None:
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        names = {k.lower() for k, _ in headers}
        if "host" not in names:
            conn.putheader("Host", parts.netloc)
        for k, v in headers:
            conn.putheader(k, v)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            half = len(body) // 2
            conn.endheaders(iter([body[:half], body[half:]]), encode_chunked=True)
        else:
            if (body or method in ("POST", "PUT")) and "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
        resp = conn.getresponse()
        return HttpResult(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def signed_request(url, creds, *, service, region, method="POST", body=b"",
                   headers=(), now=None, timeout=5.0, chunked=False, **sign_kw):
    target, signed = sign_url_request(method, url, creds, region=region,
                                      service=service, body=body,
                                      headers=headers, now=now, **sign_kw)
    return request(url, method, signed, body, timeout, target, chunked)


def sts_call(sts_url, creds, action, params=None, *, region="us-east-1",
             now=None, timeout=5.0, sign=True, **sign_kw):
    """A form-encoded STS query call, signed unless sign=False (web identity)."""
    form = {"Action": action, "Version": "2011-06-15"}
    form.update(params or {})
    body = urlencode(form, quote_via=quote).encode()
    headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
    if not sign:
        return request(sts_url + "/", "POST", headers, body, timeout)
    return signed_request(sts_url + "/", creds, service="sts", region=region,
                          body=body, headers=headers, now=now, timeout=timeout,
                          **sign_kw)


def credentials_from_sts(result):
    """Credentials from an AssumeRole / AssumeRoleWithWebIdentity answer."""
    return Credentials(access_key_id=result.xml("AccessKeyId"),
                       secret_access_key=result.xml("SecretAccessKey"),
                       session_token=result.xml("SessionToken"),
                       arn=result.xml("Arn") or "")


def assume_role(sts_url, creds, role_arn, session_name="cgagent-test", **params):
    """AssumeRole; extra params are STS parameter names (DurationSeconds=...)."""
    form = {"RoleArn": role_arn, "RoleSessionName": session_name}
    form.update({k: str(v) for k, v in params.items()})
    return sts_call(sts_url, creds, "AssumeRole", form)


def configure_agent(codeguru_url, creds, group, body=None, *, region="us-east-1",
                    now=None, **sign_kw):
    body = json.dumps(body if body is not None else
                      {"fleetInstanceId": "cgagent-test-host",
                       "metadata": {"AgentId": str(uuid.uuid4())}}).encode()
    return signed_request("%s/profilingGroups/%s/configureAgent"
                          % (codeguru_url, quote(group, safe="")), creds,
                          service="codeguru-profiler", region=region, body=body,
                          headers=[("Content-Type", "application/json")], now=now,
                          **sign_kw)


def post_agent_profile(codeguru_url, creds, group, document, token=None, *,
                       region="us-east-1", content_type="application/json",
                       now=None, **sign_kw):
    """document: a dict (JSON-encoded here) or raw bytes."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    token = token or str(uuid.uuid4())
    return signed_request("%s/profilingGroups/%s/agentProfile?profileToken=%s"
                          % (codeguru_url, quote(group, safe=""), quote(token, safe="")),
                          creds,
                          service="codeguru-profiler", region=region, body=body,
                          headers=[("Content-Type", content_type)], now=now,
                          **sign_kw)


class ControlClient:
    """JSON calls to the control API of a CLI-started emulator."""

    def __init__(self, url, timeout=30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method, path, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        headers = [("Content-Type", "application/json")] if body else []
        res = request(self.url + path, method, headers, body, self.timeout)
        return res.status, res.json()

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, obj=None):
        return self.call("POST", path, obj if obj is not None else {})

    def delete(self, path):
        return self.call("DELETE", path)
