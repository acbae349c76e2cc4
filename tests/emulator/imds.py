"""EC2 instance metadata service (IMDS): tokens, role credentials, metadata.

DESIGN: modes as an instance can be configured:
  v2-optional  PUT /latest/api/token works; GETs with or without a token
  v2-only      GETs without a valid token get 401 (HttpTokens=required)
  v1-only      the token PUT answers v1_put_status (403, 404 or 405) and
               token headers on GETs are ignored
A bad or expired token on a GET is 401 in the two v2 modes.  The hop-limit
problem (the PUT answer never arrives) is the fault
add_fault("imds", "hold", operation="PutToken").
Credentials are a session of the configured role, rotated by SessionCache.
"""
import json
import secrets

from .httpserver import Response
from .identity import iso8601
from .service import CredentialEndpoint

MODES = ("v2-optional", "v2-only", "v1-only")
CREDS_PREFIX = "/latest/meta-data/iam/security-credentials"
DOCUMENT_PATH = "/latest/dynamic/instance-identity/document"

DEFAULTS = {
    "mode": "v2-optional",
    "v1_put_status": 403,
    "role": None,                     # role ARN of the instance profile
    "instance_id": "i-0cgagent0000test1",
    "instance_type": "c5.large",
    "image_id": "ami-0cgagent00000test",
    "local_hostname": "ip-10-0-0-1.ec2.internal",
    "local_ipv4": "10.0.0.1",
    "availability_zone": None,        # default: region + "a"
    "lifetime_s": 21600,              # credential lifetime
    "rotate_before_s": 0,             # re-issue when this close to expiry
}


class Imds(CredentialEndpoint):
    name = "imds"
    content_type = "text/plain"
    DEFAULTS = DEFAULTS

    def __init__(self, emu):
        self.tokens = {}              # token -> expiry (emulator clock)
        super().__init__(emu)

    def reset(self):
        super().reset()
        self.tokens.clear()

    def check_settings(self, kw):
        if kw.get("mode", "v2-optional") not in MODES:
            raise ValueError("imds mode must be one of %s" % (MODES,))
        if kw.get("v1_put_status", 403) not in (403, 404, 405):
            raise ValueError("v1_put_status must be 403, 404 or 405")

    def operation(self, wire):
        path = wire.raw_path
        if path == "/latest/api/token":
            return "PutToken"
        if path.startswith(CREDS_PREFIX):
            return "GetRoleName" if path in (CREDS_PREFIX, CREDS_PREFIX + "/") \
                else "GetCredentials"
        if path == DOCUMENT_PATH:
            return "GetIdentityDocument"
        if path.startswith("/latest/meta-data"):
            return "GetMetadata"
        return None

    def error(self, req, status, code, message):
        # IMDS answers errors with bare HTML pages, not AWS error documents.
        body = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head>'
                '<title>%d - %s</title></head><body><h1>%d - %s</h1></body>'
                '</html>\n' % (status, code, status, code))
        return Response(status, body, "text/html", error_code=code)

    def _role_name(self):
        role = self.config["role"]
        return role.rsplit("/", 1)[-1] if role else None

    def _put_token(self, req, wire):
        if wire.method != "PUT":
            return self.error(req, 405, "Method Not Allowed", "")
        if self.config["mode"] == "v1-only":
            status = self.config["v1_put_status"]
            return self.error(req, status, {403: "Forbidden", 404: "Not Found",
                                            405: "Method Not Allowed"}[status], "")
        if wire.header("X-Forwarded-For") is not None:
            return self.error(req, 403, "Forbidden", "")
        ttl = (wire.header("X-aws-ec2-metadata-token-ttl-seconds") or "").strip()
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.error(req, 400, "Bad Request", "")
        token = secrets.token_urlsafe(42)
        self.tokens[token] = self.emu.clock.now() + int(ttl)
        return Response(200, token, "text/plain",
                        [("X-aws-ec2-metadata-token-ttl-seconds", ttl)])

    def _token_ok(self, wire):
        mode = self.config["mode"]
        if mode == "v1-only":
            return True
        token = wire.header("X-aws-ec2-metadata-token")
        if token is None:
            return mode == "v2-optional"
        expiry = self.tokens.get(token.strip())
        return expiry is not None and self.emu.clock.now() < expiry

    def _metadata(self):
        c = self.config
        az = c["availability_zone"] or self.emu.region + "a"
        return {"ami-id": c["image_id"], "instance-id": c["instance_id"],
                "instance-type": c["instance_type"],
                "local-hostname": c["local_hostname"],
                "hostname": c["local_hostname"], "local-ipv4": c["local_ipv4"],
                "placement/region": self.emu.region,
                "placement/availability-zone": az}

    def route(self, req, wire):
        if req.operation == "PutToken":
            return self._put_token(req, wire)
        if wire.method not in ("GET", "HEAD") or req.operation is None:
            return self.error(req, 404 if req.operation is None else 405,
                              "Not Found" if req.operation is None
                              else "Method Not Allowed", "")
        if not self._token_ok(wire):
            return self.error(req, 401, "Unauthorized", "")
        path = wire.raw_path
        c = self.config
        role_name = self._role_name()
        if req.operation == "GetRoleName":
            if not role_name:
                return self.error(req, 404, "Not Found", "")
            return Response(200, role_name, "text/plain")
        if req.operation == "GetCredentials":
            creds = self.session(c["instance_id"]) if role_name and \
                path.rstrip("/") == CREDS_PREFIX + "/" + role_name else None
            if creds is None:
                return self.error(req, 404, "Not Found", "")
            body = {"Code": "Success",
                    "LastUpdated": iso8601(self.sessions.issued_at),
                    "Type": "AWS-HMAC", "AccessKeyId": creds.access_key_id,
                    "SecretAccessKey": creds.secret_access_key,
                    "Token": creds.session_token,
                    "Expiration": creds.expiration_iso}
            return Response(200, json.dumps(body, indent=2), "text/plain")
        meta = self._metadata()
        if req.operation == "GetIdentityDocument":
            account = c["role"].split(":")[4] if c["role"] else "111111111111"
            doc = {"accountId": account, "architecture": "x86_64",
                   "availabilityZone": meta["placement/availability-zone"],
                   "imageId": c["image_id"], "instanceId": c["instance_id"],
                   "instanceType": c["instance_type"],
                   "pendingTime": "2026-01-01T00:00:00Z",
                   "privateIp": c["local_ipv4"], "region": self.emu.region,
                   "version": "2017-09-30"}
            return Response(200, json.dumps(doc, indent=2), "text/plain")
        key = path[len("/latest/meta-data"):].strip("/")
        if key == "":
            listing = sorted({k.split("/")[0] + ("/" if "/" in k else "")
                              for k in meta} | {"iam/"})
            return Response(200, "\n".join(listing), "text/plain")
        if key == "placement":
            return Response(200, "availability-zone\nregion", "text/plain")
        if key == "iam":
            return Response(200, "info\nsecurity-credentials/", "text/plain")
        if key == "iam/info" and role_name:
            info = {"Code": "Success", "LastUpdated": iso8601(self.emu.clock.now()),
                    "InstanceProfileArn": c["role"].replace(":role/", ":instance-profile/"),
                    "InstanceProfileId": "AIPACGAGENTTEST00001"}
            return Response(200, json.dumps(info, indent=2), "text/plain")
        if key in meta:
            return Response(200, meta[key], "text/plain")
        return self.error(req, 404, "Not Found", "")
