"""The profile-document validator (SPEC section 5) and its readers."""
import json
import unittest

from emulator import stacks, totals, validate_profile
from emulator.testcase import sample_profile


def problems_after(mutate):
    doc = sample_profile()
    mutate(doc)
    return validate_profile(json.dumps(doc).encode())


class Validator(unittest.TestCase):
    def test_the_sample_document_is_valid(self):
        self.assertEqual(validate_profile(json.dumps(sample_profile())), [])
        self.assertEqual(validate_profile(sample_profile()), [])

    def test_each_departure_is_reported(self):
        md = "agentMetadata"
        leaf = ("callgraph", "children", "start_thread", "children", "worker_main",
                "children", "std::vector<int, std::allocator<int> >::push_back(int const&)")

        def at(doc, path):
            for key in path:
                doc = doc[key]
            return doc

        cases = {
            "start is missing": lambda d: d.pop("start"),
            "end (1699999999999) is before start": lambda d: d.update(end=d["start"] - 1),
            "start must be integer epoch milliseconds": lambda d: d.update(start=1700000000),
            "end must be integer": lambda d: d.update(end=1.7e12),
            "extra is not in the contract": lambda d: d.update(extra=1),
            "agentMetadata.sampleWeights is missing": lambda d: d[md].pop("sampleWeights"),
            "count key WAITING is used but has no sampleWeights entry":
                lambda d: d[md]["sampleWeights"].pop("WAITING"),
            "sampleWeights has BLOCKED but no node counts it":
                lambda d: d[md]["sampleWeights"].update(BLOCKED=2.0),
            "sampleWeights key 'WALL_TIME'":
                lambda d: d[md]["sampleWeights"].update(WALL_TIME=1.0),
            "sampleWeights['RUNNABLE'] must be a positive number":
                lambda d: d[md]["sampleWeights"].update(RUNNABLE=0),
            "agentMetadata.agentInfo must be": lambda d: d[md].update(agentInfo={"type": 1}),
            "agentMetadata.fleetInfo must be": lambda d: d[md].update(fleetInfo={"x": "y"}),
            "agentMetadata.numTimesSampled must be":
                lambda d: d[md].update(numTimesSampled=-1),
            "agentMetadata.agentOverhead must be":
                lambda d: d[md].update(agentOverhead={"memoryInMB": "3"}),
            "counts key 'CPU'": lambda d: at(d, leaf)["counts"].update(CPU=1),
            "must be a positive integer, got 0":
                lambda d: at(d, leaf)["counts"].update(RUNNABLE=0),
            "must be a positive integer, got 1.5":
                lambda d: at(d, leaf)["counts"].update(RUNNABLE=1.5),
            "must be a positive integer, got True":
                lambda d: at(d, leaf)["counts"].update(RUNNABLE=True),
            "children must be an object keyed by frame name":
                lambda d: d["callgraph"].update(children=[]),
            "has unknown key 'name'": lambda d: at(d, leaf).update(name="x"),
            ".file must be a non-empty string": lambda d: at(d, leaf).update(file=7),
            "callgraph has no samples":
                lambda d: d.update(callgraph={"children": {"main": {"file": "/a"}}}),
            "callgraph root has counts": lambda d: d["callgraph"].update(counts={"RUNNABLE": 1}),
            "debugInfo.processId must be": lambda d: d["debugInfo"].update(processId="1"),
            "debugInfo.droppedSamples must be":
                lambda d: d["debugInfo"].update(droppedSamples=-1),
        }
        for expected, mutate in cases.items():
            with self.subTest(expected=expected):
                found = problems_after(mutate)
                self.assertTrue(any(expected in p for p in found),
                                "%r not in %r" % (expected, found))

    def test_not_json_or_not_an_object(self):
        self.assertIn("not JSON", validate_profile(b"\xff{")[0])
        self.assertEqual(validate_profile(b"[]"), ["the document must be a JSON object"])

    def test_readers(self):
        doc = sample_profile()
        self.assertEqual(totals(doc), {"RUNNABLE": 17, "WAITING": 3})
        self.assertIn((("start_thread", "idle_loop"), {"WAITING": 3}), stacks(doc))
        self.assertEqual(stacks(json.dumps(doc)), stacks(doc))


if __name__ == "__main__":
    unittest.main()
