"""What every emulated service does with a request before its own logic.

DESIGN: Service.serve() is the single path from a parsed request to a
response: record it, name its operation, authenticate it (signed services),
apply a fault if one matches, otherwise route() it, then journal the record
and write the answer.  Subclasses (sts.py, imds.py, container.py,
codeguru.py) supply operation(), route(), error() and the table of
default error codes for injected faults; they never write to the socket.
"""
import threading
import traceback
import uuid

from .httpserver import Response
from .records import RecordedRequest

GARBAGE = b"\x00\xffgarbage <<{{ this is not the body you are looking for"


class Service:
    name = None              # sts, imds, container, codeguru
    signing_name = None      # SigV4 service name; None: unsigned service
    aws_request_ids = False  # send x-amzn-RequestId
    content_type = "text/plain"
    # default (status, code) for injected "error" faults
    fault_codes_by_status = {}
    fault_status_by_code = {}
    fault_messages = {}

    def __init__(self, emu):
        self.emu = emu

    # -- subclass interface --
    def operation(self, wire):
        return None

    def is_signed(self, operation):
        return self.signing_name is not None

    def route(self, req, wire):
        raise NotImplementedError

    def error(self, req, status, code, message):
        return Response(status, message + "\n", "text/plain", error_code=code)

    # -- shared --
    def fault_response(self, req, fault):
        status, code = fault.status, fault.code
        if status is None:
            status = self.fault_status_by_code.get(code, 400 if code else 500)
        if code is None:
            code = self.fault_codes_by_status.get(status, "InternalFailure")
        message = fault.message or self.fault_messages.get(
            code, "Injected fault %s" % code)
        if fault.echo:
            message += echo_of(req, fault.echo)
        return self.error(req, status, code, message)

    def serve(self, exchange, wire):
        emu = self.emu
        req = RecordedRequest(seq=emu.journal.next_seq(), service=self.name,
                              method=wire.method, target=wire.target,
                              headers=wire.headers, body=wire.body,
                              time=emu.clock.now())
        if self.aws_request_ids:
            req.request_id = str(uuid.uuid4())
        req.operation = self.operation(wire)
        if self.signing_name and self.is_signed(req.operation):
            req.auth = emu.identities.authenticate(
                wire, region=emu.region, service=self.signing_name,
                max_skew_s=emu.skew_tolerance_s, strict=emu.strict)
        resp = None
        fault = emu.faults.take(self.name, req.operation)
        if fault:
            req.fault = fault.kind
            if fault.delay_ms and not exchange.pause(fault.delay_ms):
                fault_kind = "drop"         # emulator stopping
            else:
                fault_kind = fault.kind
            if fault_kind in ("drop", "hold"):
                emu.journal.add_request(req)
                if fault_kind == "drop":
                    exchange.drop()
                else:
                    exchange.hold(fault.hold_ms)
                return
            if fault_kind == "error":
                resp = self.fault_response(req, fault)
            elif fault_kind == "garbage":
                resp = Response(200, GARBAGE if fault.body is None else fault.body,
                                self.content_type)
            elif fault_kind == "date":
                exchange.date_offset_s = fault.date_offset_s
        if resp is None:
            try:
                resp = self.route(req, wire)
            except Exception:  # an emulator bug must not look like a hang
                req.notes.append(traceback.format_exc())
                resp = self.error(req, 500, "InternalFailure",
                                  "emulator internal error (see notes)")
        if req.request_id:
            resp.headers.append(("x-amzn-RequestId", req.request_id))
        req.status, req.error_code = resp.status, resp.error_code
        req.response_body = resp.body
        emu.journal.add_request(req)
        exchange.send(resp)


def echo_of(req, shape):
    """What an endpoint that echoes the request adds to its message (see
    faults.py, echo): AWS's canonical-request paragraphs (rebuilt even when
    the signature matched), or the secret-bearing headers as received."""
    if shape == "canonical":
        v = req.auth.verification if req.auth is not None else None
        if v is None or not v.canonical_request:
            return ""
        return ("\n\nThe Canonical String for this request should have been\n'%s'"
                "\n\nThe String-to-Sign should have been\n'%s'\n"
                % (v.canonical_request, v.string_to_sign))
    return "".join("\n%s: %s" % (name, req.header(name))
                   for name in ("Authorization", "X-Amz-Security-Token")
                   if req.header(name) is not None)


class CredentialEndpoint(Service):
    """A metadata-style service (IMDS, container) configured by a DEFAULTS
    dict, handing out sessions of a configured role through a SessionCache."""
    DEFAULTS = {}

    def __init__(self, emu):
        super().__init__(emu)
        self.sessions = SessionCache(emu, self.name)
        self.reset()

    def reset(self):
        self.config = dict(self.DEFAULTS)
        self.sessions.rotate()

    def configure(self, **kw):
        unknown = set(kw) - set(self.DEFAULTS)
        if unknown:
            raise ValueError("unknown %s settings: %s" % (self.name, sorted(unknown)))
        self.check_settings(kw)
        self.config.update(kw)

    def check_settings(self, kw):
        """Raises ValueError for a bad value; kw holds only the changes."""

    def session(self, session_name):
        c = self.config
        return self.sessions.get(c["role"], session_name, c["lifetime_s"],
                                 c["rotate_before_s"])


class SessionCache:
    """The role session a metadata endpoint (IMDS, container) hands out:
    the same credentials until they are within rotate_before_s of expiry,
    then a fresh session, like the real endpoints rotate them."""

    def __init__(self, emu, source):
        self.emu = emu
        self.source = source
        self.lock = threading.Lock()
        self.current = None
        self.issued_at = None

    def get(self, role_arn, session_name, lifetime_s, rotate_before_s):
        identities = self.emu.identities
        with self.lock:
            now = self.emu.clock.now()
            cur = self.current
            if (cur is None or cur.role_arn != role_arn
                    or cur.expiration - now <= rotate_before_s):
                role = identities.role(role_arn)
                if role is None:
                    return None
                self.current = identities.issue_session(
                    role, session_name, lifetime_s, self.source)
                self.issued_at = now
            return self.current

    def rotate(self):
        with self.lock:
            self.current = None
