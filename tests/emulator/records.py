"""What the emulator saw: every request, every profile, and waiting on them.

DESIGN: the Journal is an append-only log guarded by one condition
variable.  Services append a record *before* they write the response, so by
the time a client has its answer the record is there.  wait_for() re-checks
a predicate each time anything is appended (or clock/faults change through
notify()), so tests wait for events instead of sleeping.
"""
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from . import profile


@dataclass
class RecordedRequest:
    seq: int
    service: str                    # sts, imds, container, codeguru
    method: str
    target: str                     # raw request-target
    headers: list                   # [(name, value)] as received
    body: bytes
    time: float                     # emulator clock at arrival
    operation: str = None           # AssumeRole, PostAgentProfile, PutToken...
    request_id: str = ""            # x-amzn-RequestId sent back (AWS services)
    auth: object = None             # identity.Auth, None for unsigned services
    fault: str = None               # fault kind applied, if any
    status: int = None              # None when dropped or held
    error_code: str = None          # AWS error code returned, if any
    response_body: bytes = b""
    notes: list = field(default_factory=list)

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    @property
    def query(self):
        return dict(parse_qsl(self.target.split("?", 1)[1], keep_blank_values=True)
                    ) if "?" in self.target else {}

    def header(self, name):
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    @property
    def verified(self):
        return bool(self.auth and self.auth.verified)

    @property
    def account(self):
        return self.auth.account if self.auth else None

    @property
    def arn(self):
        return self.auth.arn if self.auth else None

    def summary(self):
        who = ""
        if self.auth is not None:
            who = " as %s" % self.auth.arn if self.auth.verified else (
                " auth=%s" % self.auth.kind)
        return "#%d %s %s %s%s -> %s%s%s" % (
            self.seq, self.service, self.method, self.target[:80],
            " [%s]" % self.operation if self.operation else "", self.status,
            " %s" % self.error_code if self.error_code else "",
            who + (" fault=%s" % self.fault if self.fault else ""))

    def to_dict(self):
        out = {"seq": self.seq, "service": self.service,
               "operation": self.operation, "request_id": self.request_id,
               "method": self.method,
               "target": self.target, "path": self.path,
               "headers": [[k, v] for k, v in self.headers],
               "time": self.time, "status": self.status,
               "error_code": self.error_code, "fault": self.fault,
               "auth": self.auth.to_dict() if self.auth else None,
               "notes": self.notes}
        out.update(_body_fields("body", self.body))
        out.update(_body_fields("response_body", self.response_body))
        return out


def _body_fields(name, data):
    try:
        return {name: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {name + "_base64": base64.b64encode(data).decode("ascii")}


@dataclass
class ProfilePost:
    """One PostAgentProfile the service accepted (204) or rejected as invalid."""
    seq: int                        # the RecordedRequest's seq
    group: str
    token: str
    body: bytes
    document: object                # parsed JSON, None if unparsable
    problems: list                  # validation problems (empty: valid)
    accepted: bool
    duplicate: bool                 # token already accepted for this group
    account: str
    arn: str
    time: float

    @property
    def valid(self):
        return not self.problems

    def stacks(self):
        """[(frames root-first, {count key: n})], see profile.stacks."""
        return profile.stacks(self.document) if self.document else []

    def totals(self):
        return profile.totals(self.document) if self.document else {}

    def to_dict(self):
        return {"seq": self.seq, "group": self.group, "token": self.token,
                "document": self.document, "problems": self.problems,
                "accepted": self.accepted, "duplicate": self.duplicate,
                "account": self.account, "arn": self.arn, "time": self.time}


class Journal:
    def __init__(self):
        self.cond = threading.Condition(threading.RLock())
        self._requests = []
        self._profiles = []
        self._seq = 0

    def next_seq(self):
        with self.cond:
            self._seq += 1
            return self._seq

    def add_request(self, req):
        with self.cond:
            self._requests.append(req)
            self.cond.notify_all()

    def add_profile(self, post):
        with self.cond:
            self._profiles.append(post)
            self.cond.notify_all()

    def notify(self):
        with self.cond:
            self.cond.notify_all()

    def requests(self, service=None, operation=None, since=0):
        with self.cond:
            return [r for r in self._requests
                    if (service is None or r.service == service)
                    and (operation is None or r.operation == operation)
                    and r.seq > since]

    def profiles(self, group=None, accepted=True):
        with self.cond:
            return [p for p in self._profiles
                    if (group is None or p.group == group)
                    and (accepted is None or p.accepted == accepted)]

    def token_accepted(self, group, token):
        with self.cond:
            return any(p.accepted and p.group == group and p.token == token
                       for p in self._profiles)

    def clear(self):
        with self.cond:
            self._requests.clear()
            self._profiles.clear()
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=10.0, what=None):
        """Returns predicate()'s first truthy value; raises TimeoutError
        (listing the last requests) when none comes within timeout s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = "\n  ".join(r.summary() for r in self._requests[-15:])
                    raise TimeoutError("emulator: timed out after %.1fs waiting "
                                       "for %s; last requests:\n  %s"
                                       % (timeout, what or "condition",
                                          recent or "(none)"))
                self.cond.wait(left)
