"""CodeGuru Profiler (rest-json): ConfigureAgent and PostAgentProfile.

DESIGN: groups live in one account (the central account).  A call must be
signed for service "codeguru-profiler" in the emulator's region by
credentials of that account (and, when the group lists allowed principals,
by one of them), else 403 AccessDeniedException naming the IAM action.
ConfigureAgent answers the group's AgentConfiguration; PostAgentProfile
validates the document (profile.py), records a ProfilePost with its
problems and answers 204 (400 instead when reject_invalid_profiles is set).
A profileToken accepted twice for a group is marked duplicate.  Errors use
the x-amzn-ErrorType header plus a {"message": ...} body.
"""
import json
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from . import profile
from .httpserver import Response
from .records import ProfilePost
from .service import Service

_GROUP_PATH = re.compile(r"^/profilingGroups/([^/]+)/(configureAgent|agentProfile)$")
_GROUP_NAME = re.compile(r"^[\w-]{1,255}$", re.ASCII)
_TOKEN = re.compile(r"^[\w-]{1,64}$", re.ASCII)
OPERATIONS = {"configureAgent": "ConfigureAgent", "agentProfile": "PostAgentProfile"}
METADATA_KEYS = frozenset((
    "ComputePlatform", "AgentId", "AwsRequestId", "ExecutionEnvironment",
    "LambdaFunctionArn", "LambdaMemoryLimitInMB",
    "LambdaRemainingTimeInMilliseconds",
    "LambdaTimeGapBetweenInvokesInMilliseconds",
    "LambdaPreviousExecutionTimeInMilliseconds"))
PROFILE_TYPES = ("application/json", "application/x-amzn-ion")

DEFAULT_CONFIGURATION = {
    "shouldProfile": True,
    "periodInSeconds": 300,
    "agentParameters": {
        "SamplingIntervalInMilliseconds": "1000",
        "MinimumTimeForReportingInMilliseconds": "60000",
        "MaxStackDepth": "1000",
        "MemoryUsageLimitPercent": "10",
    },
}

AUTH_ERRORS = {
    "missing": (403, "MissingAuthenticationTokenException"),
    "incomplete": (400, "IncompleteSignatureException"),
    "scope": (403, "InvalidSignatureException"),
    "skew": (403, "InvalidSignatureException"),
    "signature": (403, "InvalidSignatureException"),
    "unknown_key": (403, "UnrecognizedClientException"),
    "token_invalid": (403, "UnrecognizedClientException"),
    "token_expired": (403, "ExpiredTokenException"),
}


@dataclass
class Group:
    name: str
    account: str
    configuration: dict = field(default_factory=lambda: json.loads(
        json.dumps(DEFAULT_CONFIGURATION)))
    allowed_principals: list = None     # ARNs (role ARN for sessions); None: any

    def arn(self, region):
        return "arn:aws:codeguru-profiler:%s:%s:profilingGroup/%s" % (
            region, self.account, self.name)

    def allows(self, principal):
        if principal.account != self.account:
            return False
        if self.allowed_principals is None:
            return True
        return principal.arn in self.allowed_principals or (
            principal.role_arn in self.allowed_principals)


def check_configuration(conf):
    """Raises ValueError unless conf is a valid AgentConfiguration."""
    if not isinstance(conf.get("shouldProfile"), bool):
        raise ValueError("shouldProfile must be a boolean")
    if not isinstance(conf.get("periodInSeconds"), int):
        raise ValueError("periodInSeconds must be an integer")
    params = conf.get("agentParameters", {})
    if not isinstance(params, dict) or not all(
            isinstance(v, str) for v in params.values()):
        raise ValueError("agentParameters values must be strings")


class CodeGuru(Service):
    name = "codeguru"
    signing_name = "codeguru-profiler"
    aws_request_ids = True
    content_type = "application/json"
    fault_codes_by_status = {400: "ValidationException", 402: "ServiceQuotaExceededException",
                             403: "AccessDeniedException", 404: "ResourceNotFoundException",
                             409: "ConflictException", 429: "ThrottlingException",
                             500: "InternalServerException",
                             503: "ServiceUnavailableException"}
    fault_status_by_code = {v: k for k, v in fault_codes_by_status.items()}
    fault_status_by_code.update({"ExpiredTokenException": 403,
                                 "UnrecognizedClientException": 403,
                                 "InvalidSignatureException": 403})
    fault_messages = {
        "ThrottlingException": "Rate exceeded",
        "InternalServerException": "An internal error occurred",
        "ExpiredTokenException": "The security token included in the request is expired"}

    def __init__(self, emu):
        super().__init__(emu)
        self.lock = threading.Lock()
        self.groups = {}
        self.reject_invalid_profiles = False

    def add_group(self, name, account, configuration=None, allowed_principals=None):
        if not _GROUP_NAME.match(name):
            raise ValueError("profiling group names are 1-255 of [A-Za-z0-9_-]")
        group = Group(name, account, allowed_principals=allowed_principals)
        if configuration is not None:
            self.set_configuration(group, configuration)
        with self.lock:
            self.groups[name] = group
        return group

    @staticmethod
    def set_configuration(group, configuration):
        merged = dict(group.configuration)
        merged.update(configuration)
        check_configuration(merged)
        group.configuration = merged

    def group(self, name):
        with self.lock:
            return self.groups.get(name)

    def operation(self, wire):
        m = _GROUP_PATH.match(wire.raw_path)
        return OPERATIONS[m.group(2)] if m else None

    def error(self, req, status, code, message):
        return Response(status, json.dumps({"message": message}), "application/json",
                        [("x-amzn-ErrorType", code + ":http://internal.amazon.com/"
                          "coral/com.amazonaws.codeguruprofiler/")], error_code=code)

    def route(self, req, wire):
        if req.operation is None or wire.method != "POST":
            return self.error(req, 404, "UnknownOperationException",
                              "Unknown operation %s %s" % (wire.method, wire.raw_path))
        if not req.auth.verified:
            status, code = AUTH_ERRORS[req.auth.kind]
            return self.error(req, status, code, req.auth.message)
        name = unquote(_GROUP_PATH.match(wire.raw_path).group(1))
        if not _GROUP_NAME.match(name):
            return self.error(req, 400, "ValidationException",
                              "1 validation error detected: Value '%s' at "
                              "'profilingGroupName' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: "
                              "^[\\w-]+$" % name)
        group = self.group(name)
        if group is None:
            return self.error(req, 404, "ResourceNotFoundException",
                              "Profiling group %s not found in %s"
                              % (name, self.emu.region))
        principal = req.auth.principal
        if not group.allows(principal):
            return self.error(req, 403, "AccessDeniedException",
                              "User: %s is not authorized to perform: "
                              "codeguru-profiler:%s on resource: %s"
                              % (principal.arn, req.operation,
                                 group.arn(self.emu.region)))
        if req.operation == "ConfigureAgent":
            return self._configure(req, wire, group)
        return self._post(req, wire, group)

    def _configure(self, req, wire, group):
        try:
            body = json.loads(wire.body) if wire.body else {}
        except ValueError:
            return self.error(req, 400, "SerializationException",
                              "the request body is not JSON")
        problems = []
        if not isinstance(body, dict):
            problems.append("the body must be a JSON object")
        else:
            fleet = body.get("fleetInstanceId")
            if fleet is not None and not (isinstance(fleet, str) and 1 <= len(fleet) <= 255):
                problems.append("fleetInstanceId must be a string of 1-255 characters")
            meta = body.get("metadata", {})
            if not isinstance(meta, dict):
                problems.append("metadata must be an object")
            else:
                for k, v in meta.items():
                    if k not in METADATA_KEYS:
                        problems.append("metadata key %r is not a MetadataField" % k)
                    if not isinstance(v, str):
                        problems.append("metadata[%r] must be a string" % k)
        if problems:
            return self.error(req, 400, "ValidationException", "; ".join(problems))
        return Response(200, json.dumps(group.configuration), "application/json")

    def _post(self, req, wire, group):
        query = dict(parse_qsl(wire.raw_query, keep_blank_values=True))
        token = query.get("profileToken")
        if token is not None and not _TOKEN.match(token):
            return self.error(req, 400, "ValidationException",
                              "profileToken must be 1-64 characters of [\\w-]")
        ctype = (wire.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in PROFILE_TYPES:
            return self.error(req, 400, "ValidationException",
                              "Content-Type must be one of %s, got %r"
                              % (", ".join(PROFILE_TYPES), ctype))
        if wire.header("Content-Encoding"):
            req.notes.append("Content-Encoding %r is not in the service model"
                             % wire.header("Content-Encoding"))
        doc, _ = profile.parse(wire.body)
        problems = profile.validate_profile(wire.body)
        if token is None:
            problems.insert(0, "no profileToken query parameter")
        accepted = not (problems and self.reject_invalid_profiles)
        journal = self.emu.journal
        with journal.cond:
            duplicate = accepted and token is not None and \
                journal.token_accepted(group.name, token)
            journal.add_profile(ProfilePost(
                seq=req.seq, group=group.name, token=token, body=wire.body,
                document=doc, problems=problems, accepted=accepted,
                duplicate=duplicate, account=req.auth.account, arn=req.auth.arn,
                time=req.time))
        if not accepted:
            return self.error(req, 400, "ValidationException",
                              "invalid profile: " + "; ".join(problems))
        return Response(204)
