"""Reliability: an emulator soak with every fault mode in compressed time.

A program under the agent (tests/workloads/churn.c `soak`: one thread
burning a little under half a core in soak_work, the main thread blocked
in read) reports every second into the central group while the emulator
injects one fault after another.  Each step adds its fault, waits until
the emulator saw it fire, then waits for the next accepted post (the
agent recovered) before the next step: events, never sleeps.  When the
steps are done the test closes the program's input and it exits.

Asserted, for the whole run:
  - the host is unharmed: exit status 0, its one line of output, nothing
    on stderr but the agent's own lines;
  - every accepted post is a valid document, and no profile token was
    accepted twice (the emulator marks duplicates);
  - every sample taken (the local sink, CGAGENT_OUTPUT, gets every
    period) is either in an accepted post or counted as dropped in one
    (debugInfo.errorsCount.unsentSamplesDropped); when nothing was
    dropped, the RUNNABLE/WAITING/BLOCKED totals match exactly.

Short form (make test): 500, 429, a dropped connection, garbage in
ConfigureAgent and garbage in a post's answer.  Long form
(CGAGENT_STRESS=long, `make stress`): every fault kind (500, 429, 403,
delay, drop, garbage in ConfigureAgent and in a post's answer, a wrong Date header,
server clock skew, a held request, a black-holed service, STS down,
an expired session through the emulator clock) in turn, round after
round, for SOAK_SECONDS (default 180).
"""
import collections
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from e2e import profiles
from emulator import GROUP, Emulator

WORKLOAD = os.path.join(profiles.WORKLOADS, "churn")
LONG = os.environ.get("CGAGENT_STRESS") == "long"
SOAK_SECONDS = float(os.environ.get("CGAGENT_STRESS_SOAK_SECONDS", "180"))
# Only these steps (comma-separated names), to look into one fault.
ONLY = [s for s in os.environ.get("CGAGENT_STRESS_SOAK_STEPS", "").split(",") if s]
KEYS = ("RUNNABLE", "WAITING", "BLOCKED")
FAST = {"MinimumTimeForReportingInMilliseconds": "0",
        "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"}
# Hang checks only: with 1 s periods a step takes a few seconds; the
# longest designed wait is the black hole (held requests time out).
STEP_TIMEOUT_S = 90
POST = "PostAgentProfile"


def post_fault(kind, **kw):
    def add(emu):
        emu.add_fault("codeguru", kind, operation=POST, **kw)
    return add


def configure_fault(kind, **kw):
    def add(emu):
        emu.add_fault("codeguru", kind, operation="ConfigureAgent", **kw)
    return add


def clock_skew(emu):
    # The service's clock jumps 20 minutes ahead of the agent's corrected
    # one; the agent corrects from the Date header.  Always forward (as
    # clock.advance is): a jump back would keep the next round's session
    # from expiring.
    emu.clock.offset_s += 1200


def black_hole(emu):
    emu.blackhole("codeguru", hold_ms=2000)


def sts_down_and_session_expired(emu):
    # The session the agent holds expires under it (the emulator clock
    # jumps past it); the first AssumeRole for a new one fails.
    emu.add_fault("sts", "error", operation="AssumeRole", status=503, count=1)
    emu.clock.advance(emu.session_lifetime_s + 60)


# (name, setup, the service whose requests show the fault fired,
#  undo once it fired or None)
SHORT_STEPS = [
    ("error 500", post_fault("error", status=500, count=2), "codeguru", None),
    ("error 429", post_fault("error", status=429, count=2), "codeguru", None),
    ("drop", post_fault("drop", count=2), "codeguru", None),
    ("garbage ConfigureAgent", configure_fault("garbage", count=2), "codeguru", None),
    ("garbage post answer", post_fault("garbage", count=1), "codeguru", None),
]
LONG_STEPS = SHORT_STEPS + [
    ("error 403", post_fault("error", status=403, count=1), "codeguru", None),
    ("delay", post_fault("delay", delay_ms=1500, count=2), "codeguru", None),
    ("wrong Date header", post_fault("date", date_offset_s=3600, count=1), "codeguru", None),
    ("server clock skew", clock_skew, "codeguru", None),
    ("hold", post_fault("hold", hold_ms=3000, count=1), "codeguru", None),
    ("black hole", black_hole, "codeguru", lambda emu: emu.clear_faults("codeguru")),
    ("STS down, session expired", sts_down_and_session_expired, "sts", None),
]


# A 200 with a body that is not CodeGuru's (PostAgentProfile answers 204
# with no body; this is what a proxy or captive portal sends): the agent
# cannot know whether the profile arrived, so it posts the same bytes with
# the same token again.  (Before, it took such an answer as delivered and
# freed the profile: 46 of 123 samples lost in one run, counted nowhere.)
class FaultSoak(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator({"session_lifetime_s": 900}).start()
        self.addCleanup(self.emu.stop)
        self.emu.set_group_configuration(GROUP, agentParameters=dict(FAST))
        self.out = tempfile.mkdtemp(prefix="cgagent-soak-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def accepted(self):
        return [p for p in self.emu.profiles(GROUP) if p.accepted and not p.duplicate]

    def fired(self, service, since):
        return [r for r in self.emu.requests(service, since=since) if r.fault
                or r.error_code in ("ExpiredTokenException", "InvalidSignatureException")]

    def step(self, name, setup, service, undo):
        since = max([r.seq for r in self.emu.requests()] or [0])
        setup(self.emu)
        self.emu.wait_for(lambda: self.fired(service, since), timeout=STEP_TIMEOUT_S,
                          what="fault %r to fire" % name)
        if undo:
            undo(self.emu)
        n = len(self.accepted())
        self.emu.wait_for(lambda: len(self.accepted()) > n, timeout=STEP_TIMEOUT_S,
                          what="an accepted post after %r" % name)
        self.done.append(name)

    def test_every_sample_posted_once_or_counted_as_dropped(self):
        env = self.emu.env_for("user", LD_PRELOAD=profiles.PRELOAD, CGAGENT_OUTPUT=self.out,
                               AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
        proc = subprocess.Popen([WORKLOAD, "soak"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.done = []
        try:
            self.emu.wait_for(lambda: self.accepted(), timeout=STEP_TIMEOUT_S,
                              what="the first accepted post")
            steps = LONG_STEPS if LONG else SHORT_STEPS
            if ONLY:
                steps = [s for s in LONG_STEPS if s[0] in ONLY]
            end = time.monotonic() + SOAK_SECONDS
            while True:
                for name, setup, service, undo in steps:
                    self.step(name, setup, service, undo)
                if not LONG or time.monotonic() >= end:
                    break
        finally:
            out, err = proc.communicate(timeout=120)  # closes stdin: the program ends
        err = err.decode("utf-8", "replace")

        # The host.
        self.assertEqual(proc.returncode, 0, err[-4000:])
        self.assertEqual(out.decode(), "churn: soak done, 0 bytes read\n")
        for line in err.splitlines():
            self.assertTrue(line.startswith("cgagent["), line)

        # Nothing accepted twice, every document valid.
        posts = self.accepted()
        self.assertEqual(self.emu.duplicate_profile_tokens(GROUP), [],
                         "a profile was accepted twice")
        tokens = [p.token for p in posts]
        self.assertEqual(len(tokens), len(set(tokens)))
        for p in posts:
            self.assertTrue(p.valid, p.problems)

        # Every sample taken is posted or counted as dropped.
        local = collections.Counter()
        for path in profiles.documents(self.out):
            doc = profiles.load(path)
            for key in KEYS:
                local[key] += profiles.total(doc, key)
        service = collections.Counter()
        dropped = 0
        for p in posts:
            for key, n in p.totals().items():
                service[key] += n
            errors = p.document.get("debugInfo", {}).get("errorsCount", {})
            dropped += errors.get("unsentSamplesDropped", 0)
        self.assertGreater(local["RUNNABLE"], 10 * len(self.done), local)
        self.assertEqual(sum(service.values()) + dropped, sum(local.values()),
                         "steps: %s; service %s + %d dropped vs local %s"
                         % (self.done, dict(service), dropped, dict(local)))
        if dropped == 0:
            self.assertEqual(service, local)


if __name__ == "__main__":
    unittest.main()
