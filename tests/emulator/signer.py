"""SigV4 signing for the Python tests (the client side).

DESIGN: tests use this to send correctly (or deliberately wrongly) signed
requests to the emulator.  It builds the canonical request with urllib's
quoting and posixpath, a different code path from the byte-level wire
canonicalization in sigv4.py, so a bug in one is not hidden by the same bug
in the other; only the HMAC key chain and the string-to-sign layout are
shared.  Both are checked against the official vectors (test_sigv4.py).
"""
import hashlib
import posixpath
import time
from urllib.parse import parse_qsl, quote, urlsplit

from .sigv4 import ALGORITHM, amz_date, compute_signature

_UNRESERVED_SAFE = "-_.~"


def _canonical_path(path, normalize):
    if not path:
        return "/"
    if normalize:
        trailing = path.endswith("/")
        path = posixpath.normpath(path)
        if path.startswith("//"):          # normpath keeps a leading "//"
            path = "/" + path.lstrip("/")
        if path == ".":
            path = "/"
        if trailing and not path.endswith("/"):
            path += "/"
    # the wire path is quoted once more: "%" becomes "%25"
    return quote(path.encode("latin-1"), safe="/" + _UNRESERVED_SAFE)


def _canonical_query(query):
    # parse_qsl is form decoding ('+' means space); SigV4 is not, so keep '+'.
    pairs = parse_qsl(query.replace("+", "%2B"), keep_blank_values=True,
                      encoding="latin-1")
    encoded = sorted((quote(k.encode("latin-1"), safe=_UNRESERVED_SAFE),
                      quote(v.encode("latin-1"), safe=_UNRESERVED_SAFE))
                     for k, v in pairs)
    return "&".join(k + "=" + v for k, v in encoded)


def sign_headers(method, target, headers, body=b"", *, access_key_id,
                 secret_access_key, session_token=None, region, service,
                 now=None, normalize=True, sign_token=True,
                 content_sha256_header=False):
    """Signs a request in header mode.

    target: raw request-target as sent (path plus optional "?query").
    headers: [(name, value)] the request will carry; must include Host.
    Returns the full header list to send: the input plus X-Amz-Date,
    X-Amz-Security-Token (when session_token; left out of the signature
    when sign_token is False), x-amz-content-sha256 (when asked) and
    Authorization.  Every header given is signed."""
    now = time.time() if now is None else now
    date = amz_date(now)
    payload_hash = hashlib.sha256(body).hexdigest()
    out = list(headers) + [("X-Amz-Date", date)]
    if content_sha256_header:
        out.append(("x-amz-content-sha256", payload_hash))
    to_sign = list(out)
    if session_token:
        out.append(("X-Amz-Security-Token", session_token))
        if sign_token:
            to_sign.append(("X-Amz-Security-Token", session_token))
    grouped = {}
    for name, value in to_sign:
        grouped.setdefault(name.lower(), []).append(" ".join(value.split()))
    names = sorted(grouped)
    path, _, query = target.partition("?")
    creq = "\n".join([
        method,
        _canonical_path(path, normalize),
        _canonical_query(query),
        "".join("%s:%s\n" % (n, ",".join(grouped[n])) for n in names),
        ";".join(names),
        payload_hash])
    sig = compute_signature(secret_access_key, date, region, service, creq)
    scope = "%s/%s/%s/aws4_request" % (date[:8], region, service)
    out.append(("Authorization", "%s Credential=%s/%s, SignedHeaders=%s, "
                "Signature=%s" % (ALGORITHM, access_key_id, scope,
                                  ";".join(names), sig)))
    return out


def sign_url_request(method, url, creds, *, region, service, body=b"",
                     headers=(), now=None, **kw):
    """sign_headers for a full URL and a Credentials-like object (anything
    with access_key_id, secret_access_key, session_token).  Adds Host from
    the URL.  Returns (target, headers)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    base = [("Host", parts.netloc)] + list(headers)
    signed = sign_headers(method, target, base, body,
                          access_key_id=creds.access_key_id,
                          secret_access_key=creds.secret_access_key,
                          session_token=creds.session_token, region=region,
                          service=service, now=now, **kw)
    return target, signed
