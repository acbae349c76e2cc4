"""STS query API: AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.

DESIGN: form-encoded POST (or GET with a query) in, XML out, with the
2011-06-15 namespace and ErrorResponse shape of the real service.  Checks
follow the service model and IAM: parameter constraints (ValidationError),
trust policy and ExternalId (AccessDenied), MaxSessionDuration and the
1-hour role-chaining cap, regions disabled per account.  Issued sessions
come from identity.Identities; their lifetime is the requested duration,
or the emulator's session_lifetime_s when that is shorter (refresh tests).
"""
import re
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from .httpserver import Response
from .identity import iso8601
from .service import Service

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
CHAIN_LIMIT_S = 3600

_SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*", re.ASCII)

AUTH_ERRORS = {   # identity/sigv4 failure kind -> (status, code)
    "missing": (403, "MissingAuthenticationToken"),
    "incomplete": (400, "IncompleteSignature"),
    "scope": (403, "SignatureDoesNotMatch"),
    "skew": (403, "SignatureDoesNotMatch"),
    "signature": (403, "SignatureDoesNotMatch"),
    "unknown_key": (403, "InvalidClientTokenId"),
    "token_invalid": (403, "InvalidClientTokenId"),
    "token_expired": (400, "ExpiredToken"),
}


def _xml(items, indent="    "):
    """[(tag, text-or-list)] to indented XML; None values are left out."""
    out = []
    for tag, value in items:
        if value is None:
            continue
        if isinstance(value, list):
            out.append("%s<%s>\n%s%s</%s>\n" % (indent, tag, _xml(value, indent + "  "),
                                                indent, tag))
        else:
            out.append("%s<%s>%s</%s>\n" % (indent, tag, escape(str(value)), tag))
    return "".join(out)


class _Invalid(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Sts(Service):
    name = "sts"
    signing_name = "sts"
    aws_request_ids = True
    content_type = "text/xml"
    fault_codes_by_status = {400: "Throttling", 403: "AccessDenied",
                             429: "Throttling", 500: "InternalFailure",
                             503: "ServiceUnavailable"}
    fault_status_by_code = {
        "Throttling": 400, "ExpiredToken": 400, "ExpiredTokenException": 400,
        "ValidationError": 400, "InvalidIdentityToken": 400,
        "IDPCommunicationError": 400, "AccessDenied": 403,
        "RegionDisabledException": 403, "InvalidClientTokenId": 403,
        "SignatureDoesNotMatch": 403, "IDPRejectedClaim": 403,
        "InternalFailure": 500, "ServiceUnavailable": 503}
    fault_messages = {
        "Throttling": "Rate exceeded",
        "ExpiredToken": "The security token included in the request is expired",
        "InternalFailure": "An internal error has occurred",
        "ServiceUnavailable": "Service is unavailable. Please try again later.",
        "IDPCommunicationError": "Couldn't connect to the identity provider"}

    ACTIONS = ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity")

    @staticmethod
    def params(wire):
        out = dict(parse_qsl(wire.raw_query, keep_blank_values=True))
        ctype = (wire.header("Content-Type") or "").lower()
        if wire.body and "x-www-form-urlencoded" in ctype:
            out.update(parse_qsl(wire.body.decode("utf-8", "replace"),
                                 keep_blank_values=True))
        return out

    def operation(self, wire):
        return self.params(wire).get("Action")

    def is_signed(self, operation):
        return operation != "AssumeRoleWithWebIdentity"

    def error(self, req, status, code, message):
        kind = "Receiver" if status >= 500 else "Sender"
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                % (NS, kind, escape(code), escape(message), req.request_id))
        return Response(status, body, "text/xml", error_code=code)

    def _result(self, req, action, members):
        body = ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n'
                '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
                '  </ResponseMetadata>\n</%sResponse>\n'
                % (action, NS, action, _xml(members), action, req.request_id,
                   action))
        return Response(200, body, "text/xml")

    def route(self, req, wire):
        p = self.params(wire)
        action = p.get("Action")
        if wire.method not in ("POST", "GET") or wire.raw_path not in ("/", ""):
            return self.error(req, 404, "UnknownOperation",
                              "Unknown operation %s %s" % (wire.method, wire.raw_path))
        if not action:
            return self.error(req, 400, "MissingAction", "Missing Action")
        if action not in self.ACTIONS or p.get("Version") != VERSION:
            if "Version" not in p:
                return self.error(req, 400, "MissingParameter",
                                  "The request must contain the parameter Version")
            return self.error(req, 400, "InvalidAction",
                              "Could not find operation %s for version %s"
                              % (action, p.get("Version")))
        if wire.header("Authorization") and not self.is_signed(action):
            req.notes.append("%s is unsigned in the SDKs, but this request "
                             "carried an Authorization header" % action)
        if req.auth is not None and not req.auth.verified:
            status, code = AUTH_ERRORS[req.auth.kind]
            return self.error(req, status, code, req.auth.message)
        try:
            return getattr(self, "_" + action)(req, p)
        except _Invalid as e:
            return self.error(req, e.status, e.code, e.message)

    # -- validation, as the service model constrains members --
    REQUIRED = ("roleArn", "roleSessionName", "webIdentityToken")
    LENGTHS = {"roleArn": (20, 2048), "roleSessionName": (2, 64),
               "webIdentityToken": (4, 20000), "externalId": (2, 1224)}
    PATTERNS = {"roleSessionName": _SESSION_NAME, "externalId": _EXTERNAL_ID}

    @classmethod
    def _validate(cls, p, members):
        """Raises ValidationError listing every broken constraint; returns
        DurationSeconds (default 3600)."""
        problems = []

        def bad(member, value, constraint):
            shown = "null" if value is None else "'%s'" % value
            problems.append("Value %s at '%s' failed to satisfy constraint: "
                            "Member must %s" % (shown, member, constraint))

        for member in members:
            value = p.get(member[0].upper() + member[1:])
            if value is None:
                if member in cls.REQUIRED:
                    bad(member, value, "not be null")
                continue
            lo, hi = cls.LENGTHS.get(member, (0, None))
            if len(value) < lo:
                bad(member, value, "have length greater than or equal to %d" % lo)
            elif hi is not None and len(value) > hi:
                bad(member, value, "have length less than or equal to %d" % hi)
            pattern = cls.PATTERNS.get(member)
            if pattern and not pattern.fullmatch(value):
                bad(member, value, "satisfy regular expression pattern: %s"
                    % pattern.pattern)
            if member == "durationSeconds":
                if not value.isdigit():
                    bad(member, value, "be a number")
                elif int(value) < 900:
                    bad(member, value, "have value greater than or equal to 900")
                elif int(value) > 43200:
                    bad(member, value, "have value less than or equal to 43200")
        if problems:
            raise _Invalid(400, "ValidationError", "%d validation error%s detected: %s"
                           % (len(problems), "" if len(problems) == 1 else "s",
                              "; ".join(problems)))
        return int(p.get("DurationSeconds") or 3600)

    def _check_role_limits(self, role, duration, chained):
        if duration > role.max_session_s:
            raise _Invalid(400, "ValidationError", "The requested DurationSeconds "
                           "exceeds the MaxSessionDuration set for this role.")
        if chained and duration > CHAIN_LIMIT_S:
            raise _Invalid(400, "ValidationError", "The requested DurationSeconds "
                           "exceeds the 1 hour session limit for roles assumed "
                           "by role chaining.")
        if self.emu.identities.region_disabled(role.account, self.emu.region):
            raise _Invalid(403, "RegionDisabledException",
                           "STS is not activated in this region for account:%s. "
                           "Your account administrator can activate STS in this "
                           "region using the IAM Console." % role.account)

    def _issue(self, role, session_name, duration, source):
        lifetime = duration
        if self.emu.session_lifetime_s:
            lifetime = min(duration, self.emu.session_lifetime_s)
        return self.emu.identities.issue_session(role, session_name, lifetime,
                                                 source)

    @staticmethod
    def _session_members(creds):
        return [("Credentials", [("AccessKeyId", creds.access_key_id),
                                 ("SecretAccessKey", creds.secret_access_key),
                                 ("SessionToken", creds.session_token),
                                 ("Expiration", creds.expiration_iso)]),
                ("AssumedRoleUser", [("AssumedRoleId", creds.user_id),
                                     ("Arn", creds.arn)])]

    # -- actions --
    def _AssumeRole(self, req, p):
        duration = self._validate(p, ("roleArn", "roleSessionName",
                                      "durationSeconds", "externalId"))
        caller = req.auth.principal
        role = self.emu.identities.role(p["RoleArn"])
        denied = role is None or not role.trusts(caller) or (
            role.external_id is not None and p.get("ExternalId") != role.external_id)
        if denied:
            raise _Invalid(403, "AccessDenied", "User: %s is not authorized to "
                           "perform: sts:AssumeRole on resource: %s"
                           % (caller.arn, p["RoleArn"]))
        self._check_role_limits(role, duration, chained=caller.temporary)
        creds = self._issue(role, p["RoleSessionName"], duration, "sts")
        return self._result(req, "AssumeRole", self._session_members(creds))

    def _AssumeRoleWithWebIdentity(self, req, p):
        duration = self._validate(p, ("roleArn", "roleSessionName",
                                      "webIdentityToken", "durationSeconds"))
        token = self.emu.identities.web_token(p["WebIdentityToken"])
        now = self.emu.clock.now()
        if token is None:
            raise _Invalid(400, "InvalidIdentityToken", "The web identity token "
                           "that was passed could not be validated by AWS. Get a "
                           "new identity token from the identity provider and "
                           "then retry the request.")
        if token.expires_at is not None and now >= token.expires_at:
            raise _Invalid(400, "ExpiredTokenException", "Token expired: current "
                           "date/time %s must be before the expiration date/time "
                           "%s" % (iso8601(now), iso8601(token.expires_at)))
        role = self.emu.identities.role(p["RoleArn"])
        if role is None or not role.web_identity:
            raise _Invalid(403, "AccessDenied",
                           "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        self._check_role_limits(role, duration, chained=False)
        creds = self._issue(role, p["RoleSessionName"], duration, "web-identity")
        members = self._session_members(creds)
        members[1:1] = [("SubjectFromWebIdentityToken", token.subject)]
        members += [("Provider", token.provider), ("Audience", token.audience)]
        return self._result(req, "AssumeRoleWithWebIdentity", members)

    def _GetCallerIdentity(self, req, p):
        caller = req.auth.principal
        if self.emu.identities.region_disabled(caller.account, self.emu.region):
            raise _Invalid(403, "RegionDisabledException", "STS is not activated "
                           "in this region for account:%s." % caller.account)
        return self._result(req, "GetCallerIdentity", [
            ("Arn", caller.arn), ("UserId", caller.user_id),
            ("Account", caller.account)])
