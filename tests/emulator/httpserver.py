"""HTTP plumbing: one ThreadingHTTPServer per service on 127.0.0.1.

DESIGN: ServiceServer owns a listening socket, its serve thread and the
open connections, so a service can be stopped (port closed, every held or
idle connection shut) and started again on the same port without touching
the others.  The handler speaks HTTP/1.1 with keep-alive (libcurl reuses
connections), reads the body (Content-Length or chunked), and hands the
exchange to an app object: app.serve(exchange, wire_request).  The
exchange lets the app answer, drop the connection, or hold it.  Waits are
on the server's `stopping` event, so stop() releases them at once.
"""
import email.utils
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .sigv4 import WireRequest

MAX_BODY = 64 * 1024 * 1024


class Response:
    def __init__(self, status, body=b"", content_type=None, headers=(),
                 error_code=None):
        self.status = status
        self.error_code = error_code    # the AWS error code, for the record
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = list(headers)
        if content_type and self.body:
            self.headers.append(("Content-Type", content_type))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, app, clock, verbose):
        self.app = app
        self.clock = clock
        self.verbose = verbose
        self.stopping = threading.Event()
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address):
        # a client that hangs up mid-answer is normal here (timeouts, drops)
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cgagent-emulator"
    sys_version = ""
    timeout = 60          # an idle keep-alive connection ends after this

    date_offset_s = 0.0

    # -- connection bookkeeping --
    def setup(self):
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)
        if self.server.stopping.is_set():   # raced with stop()
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.connection)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(
            self.server.clock.now() + self.date_offset_s, usegmt=True)

    # -- request --
    def _serve(self):
        self.date_offset_s = 0.0
        body = self._read_body()
        if body is None:
            return
        # self.path may have been rewritten (http.server folds a leading
        # "//"); the signature covers what was really sent.
        line = self.raw_requestline.decode("latin-1").rstrip("\r\n")
        target = line.split(" ", 1)[1].rsplit(" ", 1)[0] if " " in line else self.path
        wire = WireRequest(self.command, target, list(self.headers.items()), body)
        self.server.app.serve(self, wire)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.send_error(400, "bad chunk size")
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return None
        if n < 0 or n > MAX_BODY:
            self.send_error(413, "body too large")
            return None
        return self.rfile.read(n)

    # -- what an app can do with the exchange --
    def send(self, resp):
        self.send_response(resp.status)
        for name, value in resp.headers:
            self.send_header(name, value)
        if resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.wfile.write(resp.body)
        self.wfile.flush()

    def pause(self, ms):
        """Sleeps ms, cut short by stop(); returns False when stopping."""
        return not self.server.stopping.wait(ms / 1000.0)

    def drop(self):
        """Closes the connection without writing a byte."""
        self.close_connection = True

    def hold(self, ms):
        """Never answers; the connection closes after ms or at stop()."""
        self.server.stopping.wait(ms / 1000.0)
        self.close_connection = True


class ServiceServer:
    def __init__(self, name, app, clock, port=0, verbose=False):
        self.name = name
        self.app = app
        self.clock = clock
        self.port = port
        self.verbose = verbose
        self._server = None
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def running(self):
        return self._server is not None

    def start(self):
        if self._server:
            return
        self._server = _Server(("127.0.0.1", self.port), self.app, self.clock,
                               self.verbose)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="emulator-%s" % self.name, daemon=True)
        self._thread.start()

    def stop(self):
        server, self._server = self._server, None
        if not server:
            return
        server.stopping.set()
        server.shutdown()
        with server.conns_lock:
            conns = list(server.conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()      # joins the handler threads
        self._thread.join()
