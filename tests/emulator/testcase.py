"""Shared pieces for tests that run against the emulator (any suite).

EmulatorTestCase starts a fresh Emulator per test (cheap: four loopback
servers) and stops it at cleanup; sample_profile() builds a document that
satisfies SPEC section 5, for tests that post profiles themselves.
"""
import copy
import time
import unittest

from . import client, world
from .emulator import Emulator

_SAMPLE = {
    "start": 1700000000000, "end": 1700000300000,
    "agentMetadata": {
        "sampleWeights": {"RUNNABLE": 100.0, "WAITING": 1.0},
        "durationInMs": 300000,
        "fleetInfo": {"id": "5b7f0e9e-0d5c-4bd1-9a43-2b5d4c1b2a10",
                      "type": "UNKNOWN", "vCPUs": 2},
        "agentInfo": {"type": "cgagent", "version": "0.1.0"},
        "agentOverhead": {"memoryInMB": 3, "timeInMs": 120},
        "runtimeVersion": "glibc-2.36",
        "cpuTimeInSeconds": 287.4,
        "metrics": {"numThreads": 4.0},
        "numTimesSampled": 300},
    "callgraph": {"children": {
        "start_thread": {"file": "/usr/lib/x86_64-linux-gnu/libc.so.6", "children": {
            "worker_main": {"file": "/srv/app/bin/server", "children": {
                "std::vector<int, std::allocator<int> >::push_back(int const&)": {
                    "file": "/srv/app/bin/server", "counts": {"RUNNABLE": 17}}}},
            "idle_loop": {"file": "/srv/app/bin/server",
                          "counts": {"WAITING": 3}}}}}},
    "debugInfo": {"processId": 4242, "droppedSamples": 0, "errorsCount": {}},
}


def sample_profile(now_ms=None):
    """A valid profile document (a fresh copy; mutate freely)."""
    doc = copy.deepcopy(_SAMPLE)
    if now_ms is not None:
        doc["start"], doc["end"] = now_ms - 300000, now_ms
    return doc


class EmulatorTestCase(unittest.TestCase):
    config = None           # extra config for every test of the class

    def setUp(self):
        self.emu = Emulator(self.config).start()
        self.addCleanup(self.emu.stop)

    @property
    def workload(self):
        return self.emu.credentials(world.WORKLOAD_ACCESS_KEY_ID)

    @property
    def outsider(self):
        return self.emu.credentials(world.OTHER_ACCESS_KEY_ID)

    def sts(self, creds, action, params=None, **kw):
        return client.sts_call(self.emu.sts_url, creds, action, params,
                               region=self.emu.region, **kw)

    def assume(self, creds=None, role_arn=world.CENTRAL_ROLE_ARN, **params):
        """AssumeRole that must succeed; returns the new Credentials."""
        res = client.assume_role(self.emu.sts_url, creds or self.workload,
                                 role_arn, **params)
        self.assertEqual(res.status, 200, res.body)
        return client.credentials_from_sts(res)

    def assert_aws_error(self, res, status, code):
        self.assertEqual((res.status, res.error_code), (status, code), res.body)

    def now_ms(self):
        return int(time.time() * 1000)
