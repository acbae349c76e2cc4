"""A loopback server under load: redis-server profiled (or not) while
redis-benchmark sends it GET requests; throughput and p99 latency.

Each measurement starts its own redis-server on a free loopback port with
persistence off, waits until it answers PING, runs redis-benchmark once
and shuts the server down.  Rounds interleave the profilers in a shuffled
order.  The request loop is bounded by -n; everything stays on 127.0.0.1.
"""
import csv
import io
import shutil
import socket
import subprocess
import time

import runs

SERVER = shutil.which("redis-server")
CLIENT = shutil.which("redis-benchmark")
CLI = shutil.which("redis-cli")


def available():
    return bool(SERVER and CLIENT and CLI)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(port), "ping"],
                           capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        time.sleep(0.05)  # a readiness poll with a deadline, not a timing claim
    raise RuntimeError("redis-server did not answer on port %d" % port)


def one(env, requests, clients=20):
    """{"rps": float, "p99_ms": float} of one server lifetime."""
    port = free_port()
    server = subprocess.Popen([SERVER, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        r = subprocess.run([CLIENT, "-h", "127.0.0.1", "-p", str(port), "-t", "get",
                            "-c", str(clients), "-n", str(requests), "--csv", "-q"],
                           capture_output=True, text=True, timeout=600, check=True)
        row = next(csv.DictReader(io.StringIO(r.stdout)))
        return {"rps": float(row["rps"]), "p99_ms": float(row["p99_latency_ms"])}
    finally:
        subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(port), "shutdown", "nosave"],
                       capture_output=True)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def interleaved(profs, names, rounds, requests, seed=2):
    return runs.interleave(lambda env: one(env, requests), profs, names, rounds, seed)
