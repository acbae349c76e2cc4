"""Helpers for integration tests: run `cgagent check` (the C credential
chain, STS client and caching provider) against the emulator."""
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CGAGENT_BUILD", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "cgagent")


class Checked:
    """The outcome of one `cgagent check` run."""

    def __init__(self, proc, seconds):
        self.status = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        self.fields = {}
        for line in proc.stdout.splitlines():
            if ":" in line and not line.startswith(("error:", "result:")):
                key, _, value = line.partition(":")
                self.fields[key.strip()] = value.strip()
        self.error = next((l[len("error: "):] for l in proc.stdout.splitlines()
                           if l.startswith("error: ")), None)

    def __repr__(self):
        return "<check status=%d in %.1fs>\n%s%s" % (self.status, self.seconds,
                                                     self.stdout, self.stderr)


def check(env, *args, timeout=60):
    start = time.monotonic()
    proc = subprocess.run([CLI, "check", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    return Checked(proc, time.monotonic() - start)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path
