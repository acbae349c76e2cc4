"""A loopback server under load: redis-server profiled (or not) while
redis-benchmark sends it GET requests; throughput and p99 latency.

alternating() starts one redis-server per profiler (and a second plain
one, the A/A control) on free loopback ports with persistence off, all
pinned to one CPU with redis-benchmark pinned to the other, and then runs
short bursts of requests against each server in turn, a shuffled order
per round, for many rounds.  Every server lives through the same minutes
of the machine, and each round's ratio compares bursts seconds apart: on
a virtual machine whose speed drifts by 10% from one minute to the next,
that is what lets a 1% difference show (one server lifetime per
measurement, one after another, spread by +-5%).  The request loop is
bounded by -n; everything stays on 127.0.0.1.
"""
import csv
import io
import os
import random
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


def stop(port, proc):
    """Shuts a server down (SHUTDOWN NOSAVE, then a kill after 10 s)."""
    subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(port), "shutdown", "nosave"],
                   capture_output=True)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def burst(port, requests, clients=20, cpu=None):
    """{"rps", "p99_ms"} of one redis-benchmark GET run against port."""
    pre = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    r = subprocess.run([CLIENT, "-h", "127.0.0.1", "-p", str(port), "-t", "get",
                        "-c", str(clients), "-n", str(requests), "--csv", "-q"],
                       capture_output=True, text=True, timeout=600, check=True,
                       preexec_fn=pre)
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    return {"rps": float(row["rps"]), "p99_ms": float(row["p99_latency_ms"])}


def alternating(profs, names, rounds, requests, seed=2):
    """{name: [burst, ...]}: one server per name plus "none (A/A)", all
    alive at once, `rounds` bursts each in shuffled rounds."""
    cpus = runs.two_cpus()
    server_cpu, client_cpu = cpus if cpus else (None, None)
    pre = (lambda: os.sched_setaffinity(0, {server_cpu})) if cpus else None
    servers = {}
    try:
        for n in names + ["none (A/A)"]:
            port = free_port()
            servers[n] = (port, subprocess.Popen(
                [SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"], env=profs.env("none" if n == "none (A/A)" else n),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pre))
        for port, _ in servers.values():
            wait_ready(port)
        for port, _ in servers.values():  # warm each server up once
            burst(port, min(requests, 10000), cpu=client_cpu)
        rnd = random.Random(seed)
        out = {n: [] for n in servers}
        for _ in range(rounds):
            order = list(servers)
            rnd.shuffle(order)
            for n in order:
                out[n].append(burst(servers[n][0], requests, cpu=client_cpu))
        return out
    finally:
        for port, proc in servers.values():
            stop(port, proc)
