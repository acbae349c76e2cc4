"""Accounts, IAM users, roles, issued sessions and the emulator clock.

DESIGN: one Identities object per emulator is the only place that knows
which access key belongs to whom.  Users carry long-term AKIA keys; every
role session (STS AssumeRole, web identity, IMDS, container) is an ASIA key
with a secret, a session token and an expiry on the emulator clock.
authenticate() turns a wire request into an Auth record: the SigV4 result
from sigv4.verify plus the session-token and expiry rules.  It does not
decide authorization (trust policies, group ownership): the services do.
"""
import datetime
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field

from . import sigv4


class Clock:
    """Emulator time: wall time plus an offset tests can move.

    advance(s) makes issued credentials expire without sleeping; a non-zero
    offset also makes the server's Date header and its SigV4 skew check
    disagree with the client's clock."""

    def __init__(self, offset_s=0.0, on_change=None):
        self._offset_s = float(offset_s)
        self._on_change = on_change or (lambda: None)

    @property
    def offset_s(self):
        return self._offset_s

    @offset_s.setter
    def offset_s(self, value):
        self._offset_s = float(value)
        self._on_change()        # waiters re-check time-based predicates

    def now(self):
        return time.time() + self._offset_s

    def advance(self, seconds):
        self.offset_s = self._offset_s + seconds


def iso8601(epoch_s):
    """2026-11-24T20:02:40Z, the shape STS, IMDS and ECS use."""
    return datetime.datetime.fromtimestamp(
        int(epoch_s), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_rng = random.SystemRandom()
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_SECRET_CHARS = string.ascii_letters + string.digits + "+/"


def _random(chars, n):
    return "".join(_rng.choice(chars) for _ in range(n))


def new_access_key(prefix):
    return prefix + _random(_UPPER_DIGITS, 16)


def new_unique_id(prefix):
    """IAM unique ids (AIDA... users, AROA... roles) are 21 characters."""
    return prefix + _random(_UPPER_DIGITS, 17)


def new_secret():
    return _random(_SECRET_CHARS, 40)


def new_session_token():
    return "IQoJb3JpZ2luX2Vj" + _random(_SECRET_CHARS, 300)


@dataclass
class Credentials:
    """What a client signs with, and who the emulator says it is."""
    access_key_id: str
    secret_access_key: str
    session_token: str = None
    expiration: float = None        # epoch seconds, emulator clock; None: never
    account: str = ""
    arn: str = ""                   # user ARN or assumed-role ARN
    user_id: str = ""               # AIDA... or AROA...:session
    role_arn: str = None            # the role behind an assumed-role session
    source: str = "static"          # static, sts, web-identity, imds, container

    @property
    def temporary(self):
        return self.session_token is not None

    def expired(self, now):
        return self.expiration is not None and now >= self.expiration

    @property
    def expiration_iso(self):
        return iso8601(self.expiration) if self.expiration is not None else None

    def to_dict(self):
        return {"AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "SessionToken": self.session_token,
                "Expiration": self.expiration_iso,
                "Account": self.account, "Arn": self.arn,
                "RoleArn": self.role_arn, "Source": self.source}

    def env(self):
        """AWS_ACCESS_KEY_ID etc. for a child process."""
        out = {"AWS_ACCESS_KEY_ID": self.access_key_id,
               "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            out["AWS_SESSION_TOKEN"] = self.session_token
        return out


@dataclass
class Role:
    account: str
    name: str
    trust: list = field(default_factory=list)   # account ids, ARNs, or "*"
    external_id: str = None                     # required ExternalId
    max_session_s: int = 3600                   # MaxSessionDuration
    web_identity: bool = False                  # trusts the OIDC provider
    role_id: str = field(default_factory=lambda: new_unique_id("AROA"))

    @property
    def arn(self):
        return "arn:aws:iam::%s:role/%s" % (self.account, self.name)

    def trusts(self, caller):
        for entry in self.trust:
            if entry in ("*", caller.account, caller.arn):
                return True
            if entry == "arn:aws:iam::%s:root" % caller.account:
                return True
            if caller.role_arn and entry == caller.role_arn:
                return True
        return False


@dataclass
class WebIdentityToken:
    token: str
    subject: str = "system:serviceaccount:default:cgagent"
    audience: str = "sts.amazonaws.com"
    provider: str = "oidc.eks.us-east-1.amazonaws.com/id/CGAGENTTEST"
    expires_at: float = None        # emulator clock; None: never


@dataclass
class Auth:
    """Outcome of authenticating one request (recorded with it)."""
    verified: bool
    kind: str = ""          # sigv4 failure kind, or "token_invalid"/"token_expired"
    message: str = ""
    access_key_id: str = ""
    account: str = ""
    arn: str = ""
    principal: Credentials = None
    verification: sigv4.Verification = None

    def to_dict(self):
        return {"verified": self.verified, "error": self.kind or None,
                "message": self.message, "access_key_id": self.access_key_id,
                "account": self.account, "arn": self.arn}


ACCOUNT_RE = re.compile(r"^\d{12}$")
ROLE_ARN_RE = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")


class Identities:
    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.RLock()
        self.accounts = {}        # id -> {"disabled_regions": set()}
        self.keys = {}            # access key id -> Credentials
        self.roles = {}           # arn -> Role
        self.web_tokens = {}      # token -> WebIdentityToken

    def add_account(self, account, disabled_regions=()):
        if not ACCOUNT_RE.match(account):
            raise ValueError("account id must be 12 digits: %r" % account)
        with self.lock:
            entry = self.accounts.setdefault(account, {"disabled_regions": set()})
            entry["disabled_regions"].update(disabled_regions)
        return account

    def region_disabled(self, account, region):
        with self.lock:
            return region in self.accounts.get(account, {}).get(
                "disabled_regions", ())

    def add_user(self, account, name, access_key_id=None,
                 secret_access_key=None):
        self.add_account(account)
        creds = Credentials(
            access_key_id=access_key_id or new_access_key("AKIA"),
            secret_access_key=secret_access_key or new_secret(),
            account=account, arn="arn:aws:iam::%s:user/%s" % (account, name),
            user_id=new_unique_id("AIDA"))
        with self.lock:
            self.keys[creds.access_key_id] = creds
        return creds

    def add_role(self, account, name, trust=(), external_id=None,
                 max_session_s=3600, web_identity=False):
        self.add_account(account)
        role = Role(account, name, list(trust), external_id,
                    int(max_session_s), bool(web_identity))
        with self.lock:
            self.roles[role.arn] = role
        return role

    def role(self, arn):
        with self.lock:
            return self.roles.get(arn)

    def add_web_identity_token(self, token, **kw):
        entry = WebIdentityToken(token, **kw)
        with self.lock:
            self.web_tokens[token] = entry
        return entry

    def web_token(self, token):
        with self.lock:
            return self.web_tokens.get(token)

    def issue_session(self, role, session_name, lifetime_s, source):
        """A new role session that expires lifetime_s from now."""
        creds = Credentials(
            access_key_id=new_access_key("ASIA"),
            secret_access_key=new_secret(),
            session_token=new_session_token(),
            expiration=float(int(self.clock.now() + lifetime_s)),
            account=role.account,
            arn="arn:aws:sts::%s:assumed-role/%s/%s" % (role.account,
                                                        role.name, session_name),
            user_id="%s:%s" % (role.role_id, session_name),
            role_arn=role.arn, source=source)
        with self.lock:
            self.keys[creds.access_key_id] = creds
        return creds

    def lookup(self, access_key_id):
        with self.lock:
            return self.keys.get(access_key_id)

    def clear(self):
        with self.lock:
            self.accounts.clear()
            self.keys.clear()
            self.roles.clear()
            self.web_tokens.clear()

    def authenticate(self, wire, *, region, service, max_skew_s, strict):
        """SigV4 plus session-token rules.  strict adds what the product
        contract requires beyond AWS: the session token and (with a body)
        Content-Type must be signed."""
        now = self.clock.now()

        def secret_for(akid):
            found = self.lookup(akid)
            return found.secret_access_key if found else None

        v = sigv4.verify(wire, secret_for, region=region, service=service,
                         now=now, max_skew_s=max_skew_s)
        auth = Auth(verified=False, kind=v.kind, message=v.message,
                    access_key_id=v.access_key_id, verification=v)
        if not v.ok:
            return auth
        principal = self.lookup(v.access_key_id)
        auth.principal = principal
        auth.account, auth.arn = principal.account, principal.arn
        token = wire.header("X-Amz-Security-Token")
        if token is not None:
            token = token.strip()
        if token != principal.session_token:
            auth.kind = "token_invalid"
            auth.message = "The security token included in the request is invalid."
            return auth
        if principal.expired(now):
            auth.kind = "token_expired"
            auth.message = "The security token included in the request is expired"
            return auth
        if strict:
            missing = []
            if token is not None and "x-amz-security-token" not in v.signed_headers:
                missing.append("x-amz-security-token")
            if wire.body and "content-type" not in v.signed_headers:
                missing.append("content-type")
            if missing:
                auth.kind = sigv4.SIGNATURE
                auth.message = ("emulator strict signing: %s must be in "
                                "SignedHeaders (got %s)" % (
                                    ", ".join(missing), ";".join(v.signed_headers)))
                return auth
        auth.verified, auth.kind, auth.message = True, "", ""
        return auth
