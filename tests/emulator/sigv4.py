"""SigV4 verification as a server does it, from the bytes that arrived.

DESIGN: this module owns the server side of AWS Signature Version 4
(header mode): it rebuilds the canonical request from the request exactly as
it came off the wire (method, raw request-target, the headers named in
SignedHeaders, SHA-256 of the body), checks the credential scope against
the endpoint's region and service, checks X-Amz-Date against the server
clock, and compares signatures in constant time.  It knows nothing about
identities: the caller passes a function that maps an access key id to its
secret, and decides what session tokens and expiry mean (identity.py).

The HMAC key chain and the string to sign are shared with the test-side
signer (signer.py); everything that turns a request into a canonical request
is written here independently of that signer, and both are checked against
the official vectors in tests/data/sigv4/.

Strings are handled the way http.server hands them over: header values and
the request-target are latin-1 decoded bytes, so .encode("latin-1") gives
back the wire bytes (raw UTF-8 in a path stays raw UTF-8).
"""
import calendar
import hashlib
import hmac
import time
from dataclasses import dataclass, field

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_UNRESERVED = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_HEX = frozenset(b"0123456789abcdefABCDEF")


# --- shared with signer.py: key chain and string to sign -------------------

def signing_key(secret, date8, region, service):
    """kSigning = HMAC chain over date, region, service, "aws4_request"."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date8, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def string_to_sign(amz_date, scope, canonical_request):
    """The four-line string to sign; canonical_request is a str (latin-1)."""
    digest = hashlib.sha256(canonical_request.encode("latin-1")).hexdigest()
    return "\n".join((ALGORITHM, amz_date, scope, digest))


def compute_signature(secret, amz_date, region, service, canonical_request):
    scope = "/".join((amz_date[:8], region, service, "aws4_request"))
    sts = string_to_sign(amz_date, scope, canonical_request)
    key = signing_key(secret, amz_date[:8], region, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def amz_date(epoch_s):
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(epoch_s))


def parse_amz_date(text):
    """X-Amz-Date to epoch seconds, or None when malformed."""
    try:
        return calendar.timegm(time.strptime(text, AMZ_DATE_FORMAT))
    except (ValueError, TypeError):
        return None


# --- a request as it was on the wire ---------------------------------------

@dataclass
class WireRequest:
    method: str
    target: str                      # raw request-target, latin-1 decoded
    headers: list                    # [(name, value)] in arrival order
    body: bytes = b""

    def header_values(self, name):
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    def header(self, name):
        vals = self.header_values(name)
        return vals[0] if vals else None

    @property
    def raw_path(self):
        return self.target.split("?", 1)[0]

    @property
    def raw_query(self):
        return self.target.split("?", 1)[1] if "?" in self.target else ""


def parse_http_message(data):
    """Parses a request in the test-suite's text form (or a raw HTTP/1.1
    request) into a WireRequest.  The request line is METHOD SP target SP
    HTTP/1.1 where the target may hold spaces; a header line starting with
    whitespace continues the previous value; an empty line ends the headers."""
    text = data.decode("latin-1")
    head, sep, body = text.partition("\n\n")
    if not sep:
        head, sep, body = text.partition("\r\n\r\n")
    lines = [l[:-1] if l.endswith("\r") else l for l in head.split("\n")]
    method, _, rest = lines[0].partition(" ")
    target = rest[:-len(" HTTP/1.1")] if rest.endswith(" HTTP/1.1") else rest
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return WireRequest(method, target, headers, body.encode("latin-1"))


# --- canonical request, from the wire --------------------------------------

def _encode_bytes(data, keep_slash):
    out = []
    for b in data:
        if b in _UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _decode_percent(text):
    """Percent-decodes to bytes; '+' stays '+' (this is not form decoding)."""
    raw = text.encode("latin-1")
    out = bytearray()
    i = 0
    while i < len(raw):
        b = raw[i]
        if (b == 0x25 and i + 2 < len(raw) and raw[i + 1] in _HEX
                and raw[i + 2] in _HEX):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b)
            i += 1
    return bytes(out)


def _remove_dot_segments(path):
    stack = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if stack:
                stack.pop()
            continue
        stack.append(seg)
    out = "/" + "/".join(stack)
    if path.endswith("/") and out != "/":
        out += "/"
    return out


def canonical_uri(raw_path, normalize=True):
    """Non-S3 rule: normalize the wire path, then encode it once more."""
    path = raw_path or "/"
    if normalize:
        path = _remove_dot_segments(path)
    return _encode_bytes(path.encode("latin-1"), keep_slash=True)


def canonical_query(raw_query):
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((_encode_bytes(_decode_percent(key), False),
                      _encode_bytes(_decode_percent(value), False)))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def canonical_header_value(values):
    return ",".join(" ".join(v.split()) for v in values)


# --- verification ------------------------------------------------------------

# Failure kinds; each service maps them to its own error code and status.
MISSING = "missing"            # no Authorization header
INCOMPLETE = "incomplete"      # header present but malformed
SCOPE = "scope"                # date/region/service/terminator of the scope
SKEW = "skew"                  # X-Amz-Date too far from the server clock
UNKNOWN_KEY = "unknown_key"    # access key id not known
SIGNATURE = "signature"        # recomputed signature differs (or payload hash)


@dataclass
class Verification:
    ok: bool = False
    kind: str = ""                 # one of the failure kinds, "" when ok
    message: str = ""
    access_key_id: str = ""
    scope: str = ""
    signed_headers: list = field(default_factory=list)
    amz_date: str = ""
    canonical_request: str = ""
    string_to_sign: str = ""


def _parse_authorization(value):
    if not value.startswith(ALGORITHM + " "):
        return None
    fields = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val
    if not all(k in fields for k in ("Credential", "SignedHeaders", "Signature")):
        return None
    return fields


def _skew_message(amz, request_s, now_s, max_skew_s):
    minutes = "%g min." % (max_skew_s / 60.0)
    if request_s < now_s:
        return ("Signature expired: %s is now earlier than %s (%s - %s)"
                % (amz, amz_date(now_s - max_skew_s), amz_date(now_s), minutes))
    return ("Signature not yet current: %s is still later than %s (%s + %s)"
            % (amz, amz_date(now_s + max_skew_s), amz_date(now_s), minutes))


def verify(req, secret_for, *, region, service, now, max_skew_s=300,
           normalize=True):
    """Verifies a header-signed request.

    req: WireRequest.  secret_for(access_key_id) -> secret or None.
    now: server clock, epoch seconds.  Returns a Verification; never raises
    on bad input."""
    v = Verification()

    def fail(kind, message):
        v.kind, v.message = kind, message
        return v

    auths = req.header_values("Authorization")
    if not auths:
        return fail(MISSING, "Request is missing Authentication Token")
    fields = _parse_authorization(auths[0].strip()) if len(auths) == 1 else None
    if fields is None:
        return fail(INCOMPLETE, "Authorization header requires 'Credential', "
                    "'Signature' and 'SignedHeaders' parameters, after "
                    "'%s'." % ALGORITHM)
    cred = fields["Credential"].split("/")
    if len(cred) != 5:
        return fail(INCOMPLETE, "Credential should have 5 '/'-separated parts: "
                    "ACCESSKEY/DATE/REGION/SERVICE/aws4_request.")
    v.access_key_id = cred[0]
    v.scope = "/".join(cred[1:])
    v.signed_headers = fields["SignedHeaders"].split(";")
    amz = req.header("X-Amz-Date")
    request_s = parse_amz_date(amz.strip()) if amz else None
    if request_s is None:
        return fail(INCOMPLETE, "Authorization requires an X-Amz-Date header "
                    "in the form YYYYMMDD'T'HHMMSS'Z'.")
    v.amz_date = amz.strip()
    date8, scope_region, scope_service, terminator = cred[1:]
    if date8 != v.amz_date[:8]:
        return fail(SCOPE, "Date in Credential scope does not match YYYYMMDD "
                    "from ISO-8601 version of date from HTTP: '%s' != '%s'"
                    % (date8, v.amz_date[:8]))
    if scope_region != region:
        return fail(SCOPE, "Credential should be scoped to a valid region, "
                    "not '%s'. Expected '%s'." % (scope_region, region))
    if scope_service != service:
        return fail(SCOPE, "Credential should be scoped to correct service: "
                    "'%s'." % service)
    if terminator != "aws4_request":
        return fail(SCOPE, "Credential should be scoped with a valid "
                    "terminator: 'aws4_request', not '%s'." % terminator)
    if abs(now - request_s) > max_skew_s:
        return fail(SKEW, _skew_message(v.amz_date, request_s, now, max_skew_s))
    secret = secret_for(v.access_key_id)
    if secret is None:
        return fail(UNKNOWN_KEY, "The security token included in the request "
                    "is invalid.")
    if "host" not in v.signed_headers:
        return fail(SIGNATURE, "'Host' or ':authority' must be a 'SignedHeader' "
                    "in the AWS Authorization.")
    payload_hash = hashlib.sha256(req.body).hexdigest()
    declared = req.header("x-amz-content-sha256")
    if declared is not None and declared.strip() != payload_hash:
        return fail(SIGNATURE, "The provided 'x-amz-content-sha256' header "
                    "does not match what was computed.")
    lines = []
    for name in v.signed_headers:
        values = req.header_values(name)
        if not values:
            return fail(SIGNATURE, "The request signature we calculated does "
                        "not match the signature you provided: signed header "
                        "'%s' is not in the request." % name)
        lines.append("%s:%s\n" % (name, canonical_header_value(values)))
    v.canonical_request = "\n".join((
        req.method,
        canonical_uri(req.raw_path, normalize),
        canonical_query(req.raw_query),
        "".join(lines),
        ";".join(v.signed_headers),
        payload_hash))
    v.string_to_sign = string_to_sign(v.amz_date, v.scope, v.canonical_request)
    expected = compute_signature(secret, v.amz_date, region, service,
                                 v.canonical_request)
    if not hmac.compare_digest(expected, fields["Signature"].strip()):
        return fail(SIGNATURE, "The request signature we calculated does not "
                    "match the signature you provided. Check your AWS Secret "
                    "Access Key and signing method. Consult the service "
                    "documentation for details.\n\nThe Canonical String for "
                    "this request should have been\n'%s'\n\nThe String-to-Sign "
                    "should have been\n'%s'\n"
                    % (v.canonical_request, v.string_to_sign))
    v.ok = True
    return v
