"""The control API: JSON over HTTP, for tests that are not Python.

DESIGN: a thin translation of Emulator methods to routes, served on its own
port by the same ServiceServer plumbing (but without faults or recording).
Everything is JSON in and out; errors are {"error": text} with 400 (bad
input), 404 (no such route) or 408 (a /wait that timed out).  POST /wait
blocks server-side on the journal's condition variable, so a C test can
wait for "the agent posted a profile" without polling or sleeping.
"""
import json
import threading
from urllib.parse import parse_qsl

from . import world
from .httpserver import Response

MAX_WAIT_S = 120.0


class ControlApp:
    def __init__(self, emu):
        self.emu = emu
        self.shutdown_requested = threading.Event()

    def serve(self, exchange, wire):
        path, _, query = wire.target.partition("?")
        q = dict(parse_qsl(query, keep_blank_values=True))
        try:
            body = json.loads(wire.body) if wire.body.strip() else {}
            status, payload = self.dispatch(wire.method, path.rstrip("/") or "/",
                                            q, body)
        except TimeoutError as e:
            status, payload = 408, {"error": str(e)}
        except (ValueError, KeyError, TypeError) as e:
            status, payload = 400, {"error": "%s: %s" % (type(e).__name__, e)}
        exchange.send(Response(status, json.dumps(payload, indent=1) + "\n",
                               "application/json"))

    def dispatch(self, method, path, q, body):
        emu = self.emu
        route = (method, path)
        if route == ("GET", "/"):
            return 200, {"urls": emu.urls(), "requests": len(emu.requests()),
                         "profiles": len(emu.profiles()),
                         "faults": [f.to_dict() for f in emu.faults.active()],
                         "clock_offset_s": emu.clock.offset_s}
        if route == ("GET", "/env"):
            role = q.get("role_arn", world.CENTRAL_ROLE_ARN) or None
            return 200, emu.env_for(q.get("credentials", "user"), role_arn=role,
                                    group=q.get("group", world.GROUP) or None,
                                    imds=q.get("imds", "true") != "false", base={})
        if route == ("POST", "/config"):
            emu.apply_config(body)
            return 200, {"ok": True}
        if route == ("POST", "/users"):
            return 200, emu.add_user(**body).to_dict()
        if route == ("POST", "/sessions"):
            return 200, emu.issue_session(**body).to_dict()
        if route == ("GET", "/faults"):
            return 200, [f.to_dict() for f in emu.faults.active(q.get("service"))]
        if route == ("POST", "/faults"):
            return 200, emu.add_fault(**body).to_dict()
        if route == ("DELETE", "/faults"):
            emu.clear_faults(q.get("service"))
            return 200, {"ok": True}
        if method == "POST" and path.startswith("/services/"):
            _, _, name, action = path.split("/")
            if action not in ("stop", "start"):
                raise ValueError("use /services/NAME/stop or /start")
            getattr(emu, action + "_service")(name)
            return 200, {"ok": True, "url": emu.url(name)}
        if route == ("POST", "/clock"):
            if "offset_s" in body:
                emu.clock.offset_s = body["offset_s"]
            emu.clock.advance(float(body.get("advance_s", 0)))
            return 200, {"offset_s": emu.clock.offset_s}
        if route == ("GET", "/requests"):
            reqs = emu.requests(q.get("service"), q.get("operation"),
                                int(q.get("since", 0)))
            return 200, [r.to_dict() for r in reqs]
        if route == ("GET", "/profiles"):
            posts = emu.profiles(q.get("group"), q.get("include_rejected") == "true")
            return 200, [p.to_dict() for p in posts]
        if route == ("POST", "/wait"):
            return 200, self._wait(body)
        if route == ("POST", "/reset"):
            emu.reset(identities=bool(body.get("identities")))
            return 200, {"ok": True}
        if route == ("POST", "/shutdown"):
            self.shutdown_requested.set()
            return 200, {"ok": True}
        return 404, {"error": "no route %s %s" % (method, path)}

    def _wait(self, body):
        """{"service", "operation", "status", "count", "timeout_s"} waits for
        requests; {"profiles": N, "group"} waits for accepted profiles."""
        timeout = min(float(body.get("timeout_s", 10)), MAX_WAIT_S)
        count = int(body.get("count", body.get("profiles", 1)))
        if "profiles" in body:
            posts = self.emu.wait_for_profiles(body.get("group"), count, timeout)
            return {"count": len(posts), "profiles": [p.to_dict() for p in posts]}
        status = body.get("status")
        reqs = self.emu.wait_for_requests(
            body["service"], body.get("operation"), count, timeout,
            where=None if status is None else (lambda r: r.status == status))
        return {"count": len(reqs), "requests": [r.to_dict() for r in reqs]}
