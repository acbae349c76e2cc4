"""Fault injection: what a service does instead of (or before) answering.

DESIGN: a FaultTable holds an ordered list of Fault rules.  For each request
the service asks take(service, operation); the first rule that matches (and,
when it has a probability, wins its seeded coin toss) is consumed and
returned.  A rule with count=N disappears after N uses; count=None never
runs out.  The table only decides; services.py carries the fault out.

Kinds:
  error    answer status + an AWS-shaped error body for that service
  delay    wait delay_ms, then answer normally
  drop     close the connection without any response
  garbage  200 with a body that is not what the protocol says (a fixed
           one, or the fault's `body`: e.g. almost-JSON with a secret in it)
  date     answer normally but with a Date header date_offset_s off
  hold     accept, read the request, never answer; the connection closes
           after hold_ms (or when the emulator stops)
Any kind may also carry delay_ms, applied first.

An error may also echo the signed request in its message (echo=...), as
an endpoint can, so that tests see what a client shows of it:
  canonical  AWS's InvalidSignatureException paragraphs: the canonical
             request and string to sign rebuilt from the request, its
             x-amz-security-token line included
  headers    the request's Authorization (signature included) and
             X-Amz-Security-Token headers as received, as a careless
             proxy or fake endpoint might
"""
import itertools
import random
import threading
from dataclasses import dataclass, field

KINDS = ("error", "delay", "drop", "garbage", "date", "hold")
SERVICES = ("sts", "imds", "container", "codeguru")
ECHOES = ("canonical", "headers")
DEFAULT_HOLD_MS = 10000

_ids = itertools.count(1)


@dataclass
class Fault:
    service: str
    kind: str = "error"
    operation: str = None       # None: any operation of the service
    count: int = 1              # uses left; None: unlimited
    probability: float = None   # None: always (while count lasts)
    seed: int = 0               # seeds this rule's RNG
    status: int = None          # error: HTTP status (default from the code)
    code: str = None            # error: AWS error code (default from status)
    message: str = None         # error: message text
    delay_ms: int = 0
    date_offset_s: float = 0.0  # date: how far the Date header is off
    hold_ms: int = DEFAULT_HOLD_MS
    body: str = None            # garbage: the body to send (None: a fixed one)
    echo: str = None            # error: "canonical" or "headers" (see above)
    id: int = field(default_factory=lambda: next(_ids))
    applied: int = 0

    def __post_init__(self):
        if self.service not in SERVICES:
            raise ValueError("unknown service %r (one of %s)" % (self.service, SERVICES))
        if self.kind not in KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (self.kind, KINDS))
        if self.echo not in (None,) + ECHOES:
            raise ValueError("unknown echo %r (one of %s)" % (self.echo, ECHOES))
        self._rng = random.Random(self.seed)

    def matches(self, service, operation):
        return service == self.service and (
            self.operation is None or self.operation == operation)

    def to_dict(self):
        return {k: getattr(self, k) for k in (
            "id", "service", "kind", "operation", "count", "probability",
            "seed", "status", "code", "message", "delay_ms", "date_offset_s",
            "hold_ms", "body", "echo", "applied")}


FAULT_FIELDS = frozenset(Fault.__dataclass_fields__) - {"id", "applied"}


class FaultTable:
    def __init__(self, on_change=None):
        self._lock = threading.Lock()
        self._faults = []
        self._on_change = on_change or (lambda: None)

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        self._on_change()
        return fault

    def take(self, service, operation):
        with self._lock:
            for fault in self._faults:
                if not fault.matches(service, operation):
                    continue
                if fault.probability is not None and \
                        fault._rng.random() >= fault.probability:
                    continue
                fault.applied += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def clear(self, service=None):
        with self._lock:
            self._faults = [f for f in self._faults
                            if service is not None and f.service != service]
        self._on_change()

    def active(self, service=None):
        with self._lock:
            return [f for f in self._faults if service in (None, f.service)]
