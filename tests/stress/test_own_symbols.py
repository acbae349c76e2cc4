"""Reliability: a program with its own jansson and mbedTLS symbols.

tests/workloads/own_symbols.c exports (-rdynamic) its own json_loadb,
json_dumps, json_pack, mbedtls_md_hmac, … that return errors and count
their calls, as a program that links those libraries statically (another
version, patched) would.  The agent's own calls (ConfigureAgent's JSON,
SigV4's HMACs) must not bind to them: the program sees no foreign call, and
the profile reaches the service.  libcgagent.so is a shim that loads the
agent (libcgagent-impl.so) with RTLD_DEEPBIND, so the agent's libraries come
first in its own lookups (docs/security.md, "The agent's own libraries").

Deep binding has a price the second test holds it to: the agent must still
use the program's allocator, because libc's strdup/getline and libraries
the program loaded allocate with it, and the program's environ.  The
program there runs tcmalloc's debug allocator, which aborts on a pointer it
did not hand out; without the shim's allocator bridge (preload/bridge.h)
the agent dies in glibc's free() on the first string libc allocated for it.

The agent's libcurl (loaded on the upload thread) is held to the same rule:
tests/workloads/own_tls_symbols.c exports OpenSSL and zlib names that abort
when called, and the agent's requests over HTTP and HTTPS (a TLS front in
this file, in front of the emulator) must neither call them nor bind to them
(LD_DEBUG=bindings), and the profile must arrive.  libcurl used to be opened
RTLD_LOCAL without deep binding: the program's OPENSSL_init_ssl ran at the
agent's curl_global_init (core/base/curl_load.c says how it is loaded now).

Sanitizer builds keep one library (their runtimes refuse RTLD_DEEPBIND), so
these tests need the split build.
"""
import glob
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from e2e import profiles
from emulator import GROUP, Emulator

WORKLOAD = os.path.join(profiles.WORKLOADS, "own_symbols")
FAST = {"MinimumTimeForReportingInMilliseconds": "0",
        "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"}


TCMALLOC_DEBUG = "libtcmalloc_minimal_debug.so.4"  # libgoogle-perftools-dev (make deps)
ALLOCATOR_PROBE = r"""
import ctypes, os
os.environ["CG_PROBE"] = "set after start"
getenv = ctypes.CDLL(None).getenv
getenv.restype = ctypes.c_char_p
print(getenv(b"CG_PROBE").decode())
n = 0
for i in range(4000000):
    n += i
"""


def have_library(name):
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    return name in out


@unittest.skipUnless(profiles.SPLIT, "sanitizer builds have no deep-bound agent")
class OwnSymbols(unittest.TestCase):
    def test_agent_calls_never_bind_to_the_programs_copies(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            proc = profiles.run([WORKLOAD, "1.0"], env)
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            self.assertEqual(proc.stdout.decode(),
                             "own_symbols: 18 own calls, 0 foreign calls\n",
                             proc.stderr.decode())
            posts = [p for p in emu.profiles(GROUP) if p.accepted]
            self.assertTrue(posts, "nothing reached the service: " + proc.stderr.decode())
            names = set()
            for p in posts:
                self.assertTrue(p.valid, p.problems)
                names |= set(profiles.self_counts(p.document))
            self.assertIn("own_symbols_work", names)

    @unittest.skipUnless(have_library(TCMALLOC_DEBUG), TCMALLOC_DEBUG + " is not installed")
    def test_agent_uses_the_programs_allocator_and_environment(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = emu.env_for("user", LD_PRELOAD=TCMALLOC_DEBUG + " " + profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            proc = profiles.run(["python3", "-c", ALLOCATOR_PROBE], env)
            err = proc.stderr.decode()
            self.assertEqual(proc.returncode, 0, err)
            # CPython keeps its own environ; libc's getenv sees it, the
            # agent beside it.
            self.assertEqual(proc.stdout.decode(), "set after start\n", err)
            self.assertNotIn("invalid pointer", err)
            posts = [p for p in emu.profiles(GROUP) if p.accepted]
            self.assertTrue(posts, "nothing reached the service: " + err)
            for p in posts:
                self.assertTrue(p.valid, p.problems)


TLS_WORKLOAD = os.path.join(profiles.WORKLOADS, "own_tls_symbols")
KNOWN_ANSWER = os.path.join(profiles.WORKLOADS, "known_answer")
OPENSSL_AT_EXIT = os.path.join(profiles.WORKLOADS, "openssl_at_exit")
# What own_tls_symbols.c exports (each aborts when called).
TLS_NAMES = {"OPENSSL_init_ssl", "OPENSSL_init_crypto", "TLS_client_method", "SSL_CTX_new",
             "SSL_CTX_set_options", "SSL_new", "SSL_set_fd", "SSL_connect", "SSL_write",
             "SSL_read", "SSL_get_error", "SSL_get1_peer_certificate", "ERR_get_error",
             "X509_free", "zlibVersion", "inflate", "inflateInit2_", "inflateEnd",
             "deflateInit_", "deflate"}
BINDING = re.compile(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: normal symbol `([^']+)'")


class TlsFront:
    """HTTPS on 127.0.0.1 in front of one of the emulator's services: each
    connection's TLS is terminated here and its bytes passed on unchanged
    (the Host header the agent signed included).  One thread per
    connection, one select loop each (an SSL object is not for two
    threads at once)."""

    def __init__(self, target_url, cert, key):
        u = urllib.parse.urlsplit(target_url)
        self.target = (u.hostname, u.port)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.handshakes = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=10)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn):
        conn.settimeout(30)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        with self.lock:
            self.handshakes += 1
        up = socket.create_connection(self.target, timeout=30)
        try:
            while True:
                ready = [tls] if tls.pending() else select.select([tls, up], [], [], 30)[0]
                if not ready:
                    return
                for src, dst in ((tls, up), (up, tls)):
                    if src in ready:
                        data = src.recv(65536)
                        if not data:
                            return
                        dst.sendall(data)
        except (ssl.SSLError, OSError):
            return
        finally:
            up.close()
            tls.close()


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (openssl, from Debian's
    openssl package, which ca-certificates needs)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@unittest.skipUnless(profiles.SPLIT, "sanitizer builds have no deep-bound agent")
class OwnTlsSymbols(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cgagent-tls-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        out = subprocess.run(["nm", "-D", "--defined-only", TLS_WORKLOAD], capture_output=True,
                             text=True, check=True).stdout
        exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
        self.assertLessEqual(TLS_NAMES, exported, "the workload must export every name")

    def run_workload(self, emu, env):
        proc = profiles.run([TLS_WORKLOAD, "1.0"], env)
        err = proc.stderr.decode()
        self.assertNotIn("foreign call", err)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(proc.stdout.decode(), "own_tls_symbols: done\n", err)
        posts = [p for p in emu.profiles(GROUP) if p.accepted]
        self.assertTrue(posts, "nothing reached the service: " + err)
        for p in posts:
            self.assertTrue(p.valid, p.problems)
        return err

    def https_fronts(self, emu, **extra):
        """TLS fronts (a fresh self-signed certificate; closed at cleanup)
        in front of the emulator's STS and CodeGuru endpoints, and the
        agent's environment, plus `extra`, pointed at them.  Returns (env,
        STS front, CodeGuru front)."""
        cert, key = make_certificate(self.tmp)
        sts, codeguru = TlsFront(emu.sts_url, cert, key), TlsFront(emu.codeguru_url, cert, key)
        self.addCleanup(sts.close)
        self.addCleanup(codeguru.close)
        env = emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                          AWS_ENDPOINT_URL_STS=sts.url,
                          AWS_ENDPOINT_URL_CODEGURUPROFILER=codeguru.url,
                          AWS_CA_BUNDLE=cert, **extra)
        return env, sts, codeguru

    def test_agent_over_http_neither_calls_nor_binds_to_the_programs_openssl_and_zlib(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            debug = os.path.join(self.tmp, "ld")
            env = emu.env_for("user", LD_PRELOAD=profiles.PRELOAD,
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000",
                              LD_DEBUG="bindings", LD_DEBUG_OUTPUT=debug)
            self.run_workload(emu, env)
        program = os.path.realpath(TLS_WORKLOAD)
        to_program, curl_to_ssl = [], False
        for path in glob.glob(debug + ".*"):
            with open(path, errors="replace") as f:
                for line in f:
                    m = BINDING.search(line)
                    if not m:
                        continue
                    src, dst, name = m.groups()
                    if name in TLS_NAMES and os.path.realpath(dst) == program \
                            and os.path.realpath(src) != program:
                        to_program.append(line.strip())
                    if name == "OPENSSL_init_ssl" and "libcurl" in src and "libssl" in dst:
                        curl_to_ssl = True
        self.assertEqual(to_program, [])
        # The agent's libcurl was loaded and bound (so the check above saw it).
        self.assertTrue(curl_to_ssl, "no binding of libcurl's OPENSSL_init_ssl was seen")

    def test_agent_over_https_never_calls_the_programs_openssl(self):
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env, sts, codeguru = self.https_fronts(
                emu, AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
            self.run_workload(emu, env)
            self.assertTrue(emu.requests("sts", "AssumeRole"))
        self.assertGreaterEqual(sts.handshakes, 1)
        self.assertGreaterEqual(codeguru.handshakes, 1)

    def test_a_program_that_exits_before_the_first_https_upload_exits_cleanly(self):
        """OpenSSL registers OPENSSL_cleanup with atexit at its first
        initialisation, which libcurl's was (on the upload thread, at its
        first client): it ran at exit before the agent's destructor had
        stopped the upload thread, and the final flush's first HTTPS
        request used OpenSSL's freed locks: SIGSEGV in RAND_status, in 3 of
        4 runs of a 0.2 s program here (any program that exits before the
        upload thread's random start delay of up to 1 s is over).  The
        agent now initialises the libcrypto libcurl brought in with
        OPENSSL_INIT_NO_ATEXIT (core/base/curl_load.c).  Three runs, of a
        program that exports nothing of OpenSSL's."""
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = self.https_fronts(emu)[0]
            for run in range(1, 4):
                with self.subTest(run=run):
                    proc = profiles.run([KNOWN_ANSWER, "0.05"], env)  # 0.2 s of CPU
                    err = proc.stderr.decode()
                    self.assertEqual(proc.returncode, 0, err)
                    self.assertEqual(len([p for p in emu.profiles(GROUP) if p.accepted]), run,
                                     "the final flush did not post: " + err)

    def test_a_program_whose_own_openssl_shuts_down_at_exit_exits_cleanly(self):
        """The same exit, in a program that loaded and initialised OpenSSL
        itself (tests/workloads/openssl_at_exit.c): the agent's libcurl
        shares that libcrypto, whose exit handler is the program's and
        stays.  It crashed the program in every run here (SIGSEGV in
        RAND_status).  The agent now registers with OPENSSL_atexit: no
        request starts once OpenSSL's cleanup has begun, one in flight is
        aborted, and the cleanup waits for it (core/base/openssl_exit.h).
        The final profile is then not posted (one warning says why); the
        program's output and exit status are its own.  Three runs."""
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
            env = self.https_fronts(emu)[0]
            posted = 0
            for run in range(1, 4):
                with self.subTest(run=run):
                    proc = profiles.run([OPENSSL_AT_EXIT], env)
                    err = proc.stderr.decode()
                    self.assertEqual(proc.returncode, 0, err)
                    self.assertEqual(proc.stdout, b"openssl_at_exit: done\n", err)
                    # It got to upload: posted before OpenSSL shut down, or
                    # says that OpenSSL's shutdown stopped it.
                    now = len([p for p in emu.profiles(GROUP) if p.accepted])
                    if now == posted:
                        self.assertIn("the TLS library was shut down", err)
                    posted = now


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(profiles.SPLIT, "sanitizer builds have no shim")
class ShimAlone(unittest.TestCase):
    def test_without_the_agent_beside_it_the_shim_says_so_and_stays_out_of_the_way(self):
        with tempfile.TemporaryDirectory() as d:
            shim = os.path.join(d, "libcgagent.so")
            shutil.copy(profiles.LIB, shim)
            out = os.path.join(d, "out")
            env = profiles.clean_env(LD_PRELOAD=shim, CGAGENT_OUTPUT=out)
            proc = profiles.run(["sh", "-c", "echo $((6 * 7)); exit 3"], env)
            self.assertEqual(proc.returncode, 3)
            self.assertEqual(proc.stdout, b"42\n")
            lines = proc.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertRegex(lines[0], r"^cgagent: cannot load the agent: .*libcgagent-impl\.so.*; "
                                       r"the agent stays off$")
            self.assertFalse(os.path.exists(out))

    def dynamic_symbols(self, lib, defined):
        out = subprocess.run(["nm", "-D", "--defined-only" if defined else "--undefined-only",
                              lib], capture_output=True, text=True, check=True).stdout
        return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}

    def test_the_shim_exports_the_wrappers_and_the_bridge_only(self):
        wrappers = {"pthread_create", "sigaction", "signal", "setitimer", "_exit", "_Exit",
                    "mprotect"}
        self.assertEqual(self.dynamic_symbols(profiles.LIB, True),
                         wrappers | {"cgagent_shim_bridge_1"})
        # The agent takes nothing else from the program's scope: every other
        # undefined name is defined by one of its libraries (the link cannot
        # use --no-undefined, because of the bridge).
        ldd = subprocess.run(["ldd", profiles.IMPL], capture_output=True, text=True,
                             check=True).stdout
        self.assertNotIn("not found", ldd)
        libs = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=> /" in l]
        provided = set()
        for lib in libs:
            provided |= self.dynamic_symbols(lib, True)
        out = subprocess.run(["nm", "-D", "--undefined-only", profiles.IMPL],
                             capture_output=True, text=True, check=True).stdout
        strong = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.split()[0] == "U"}
        self.assertEqual(strong - provided, {"cgagent_shim_bridge_1"})
