"""Container credential endpoint (ECS task role / EKS Pod Identity style).

DESIGN: one configured path answers GET with the JSON the SDKs read.  When
an auth_token is set the request's Authorization header must equal it
(AWS_CONTAINER_AUTHORIZATION_TOKEN, or the EKS token file's contents):
missing gives 401, different gives 403.  style "ecs" adds RoleArn, style
"eks" adds AccountId, as those agents do.  The same server also answers
the ECS task metadata v4 "/task" document under TASK_METADATA_BASE, for
fleet detection (ECS_CONTAINER_METADATA_URI_V4).
"""
import json

from .httpserver import Response
from .service import CredentialEndpoint

TASK_METADATA_BASE = "/v4/cgagent-task"

DEFAULTS = {
    "path": "/v2/credentials/cgagent-task",
    "auth_token": None,
    "role": None,               # role ARN whose sessions are handed out
    "style": "ecs",             # ecs: + RoleArn; eks: + AccountId
    "lifetime_s": 21600,
    "rotate_before_s": 0,
    "task_arn": None,           # default built from the role's account
}


class Container(CredentialEndpoint):
    name = "container"
    content_type = "application/json"
    DEFAULTS = DEFAULTS

    def check_settings(self, kw):
        if kw.get("style", "ecs") not in ("ecs", "eks"):
            raise ValueError("container style must be 'ecs' or 'eks'")
        if not kw.get("path", "/").startswith("/"):
            raise ValueError("container path must start with '/'")

    def operation(self, wire):
        if wire.raw_path == self.config["path"]:
            return "GetCredentials"
        if wire.raw_path.rstrip("/") == TASK_METADATA_BASE + "/task":
            return "GetTaskMetadata"
        return None

    def error(self, req, status, code, message):
        return Response(status, json.dumps({"code": code, "message": message}),
                        "application/json", error_code=code)

    def _account(self):
        role = self.config["role"]
        return role.split(":")[4] if role else "111111111111"

    def route(self, req, wire):
        if req.operation is None:
            return self.error(req, 404, "NotFound", "no such path: %s" % wire.raw_path)
        if wire.method != "GET":
            return self.error(req, 405, "MethodNotAllowed", "use GET")
        c = self.config
        if req.operation == "GetTaskMetadata":
            arn = c["task_arn"] or ("arn:aws:ecs:%s:%s:task/cgagent/0cgagenttest"
                                    % (self.emu.region, self._account()))
            return Response(200, json.dumps({
                "Cluster": "cgagent", "TaskARN": arn, "Family": "cgagent-test",
                "Revision": "1", "LaunchType": "FARGATE",
                "AvailabilityZone": self.emu.region + "a",
                "Limits": {"CPU": 0.5, "Memory": 1024}}), "application/json")
        token = c["auth_token"]
        if token is not None:
            got = wire.header("Authorization")
            if got is None:
                return self.error(req, 401, "Unauthorized",
                                  "Authorization header is required")
            if got != token:
                return self.error(req, 403, "AccessDenied",
                                  "Authorization token does not match")
        if not c["role"]:
            return self.error(req, 404, "NotFound", "no role is configured")
        creds = self.session("cgagent-task")
        if creds is None:
            return self.error(req, 500, "InternalError",
                              "role %s does not exist" % c["role"])
        body = {"AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "Token": creds.session_token,
                "Expiration": creds.expiration_iso}
        if c["style"] == "ecs":
            body["RoleArn"] = creds.role_arn
        else:
            body["AccountId"] = creds.account
        return Response(200, json.dumps(body), "application/json")
