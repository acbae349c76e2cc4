"""The CLI and the control API, driven the way a C test would."""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

from emulator import GROUP, Credentials, client

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "aws_emulator.py")


class Cli(unittest.TestCase):
    def start(self, config=None):
        tmp = tempfile.mkdtemp(prefix="cgagent-cli-test-")
        self.port_file = os.path.join(tmp, "ports.json")
        args = [sys.executable, SCRIPT, "--port-file", self.port_file]
        if config is not None:
            path = os.path.join(tmp, "config.json")
            with open(path, "w") as f:
                json.dump(config, f)
            args += ["--config", path]
        # cwd elsewhere: the script must find its package by itself
        self.stderr = open(os.path.join(tmp, "stderr.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr,
                                     cwd=tmp, text=True)
        self.addCleanup(self._kill)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        self.assertTrue(ready, "the emulator printed nothing within 20 s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            self.stderr.seek(0)
            self.fail("the emulator exited: %s" % self.stderr.read())
        urls = json.loads(line)
        with open(self.port_file) as f:
            self.assertEqual(json.load(f), urls)
        return urls, client.ControlClient(urls["control_url"])

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.stderr.close()

    def test_round_trip_through_the_control_api(self):
        urls, ctl = self.start({"session_lifetime_s": 120,
                                "groups": [{"name": "from-config",
                                            "account": "222222222222"}]})
        self.assertEqual(set(urls), {"sts_url", "imds_url", "container_url",
                                     "container_credentials_url", "codeguru_url",
                                     "control_url"})
        status, info = ctl.get("/")
        self.assertEqual((status, info["urls"]), (200, urls))

        status, user = ctl.post("/users", {"account": "444444444444", "name": "c-test"})
        self.assertEqual(status, 200)
        creds = Credentials(user["AccessKeyId"], user["SecretAccessKey"])
        res = client.sts_call(urls["sts_url"], creds, "GetCallerIdentity")
        self.assertEqual(res.xml("Account"), "444444444444")

        status, reqs = ctl.get("/requests?service=sts")
        self.assertEqual(reqs[-1]["auth"]["arn"], "arn:aws:iam::444444444444:user/c-test")
        self.assertTrue(reqs[-1]["auth"]["verified"])
        self.assertIn("GetCallerIdentity", reqs[-1]["body"])

        status, env = ctl.get("/env?credentials=user")
        self.assertEqual(env["AWS_ENDPOINT_URL_STS"], urls["sts_url"])
        self.assertEqual(env["AWS_ENDPOINT_URL_CODEGURUPROFILER"], urls["codeguru_url"])
        self.assertEqual(env["AWS_CODEGURU_PROFILER_GROUP_NAME"], GROUP)
        workload = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])

        status, fault = ctl.post("/faults", {"service": "sts", "kind": "error",
                                             "status": 503, "count": 1})
        self.assertEqual((status, fault["count"]), (200, 1))
        self.assertEqual(client.sts_call(urls["sts_url"], workload,
                                         "GetCallerIdentity").status, 503)
        self.assertEqual(ctl.get("/faults")[1], [])

        # /wait blocks until another client's request lands
        def later():
            client.assume_role(urls["sts_url"], workload,
                               "arn:aws:iam::222222222222:role/cgagent-central")
        status, got = ctl.post("/wait", {"service": "sts", "operation": "AssumeRole",
                                         "status": 200, "timeout_s": 0.2})
        self.assertEqual(status, 408)
        self.assertIn("timed out", got["error"])
        t = threading.Thread(target=later)
        t.start()
        status, got = ctl.post("/wait", {"service": "sts", "operation": "AssumeRole",
                                         "status": 200, "timeout_s": 10})
        t.join()
        self.assertEqual((status, got["count"]), (200, 1))
        self.assertIn("<Expiration>", got["requests"][0]["response_body"])

        status, body = ctl.post("/clock", {"advance_s": 30})
        self.assertEqual(body["offset_s"], 30.0)

        self.assertEqual(ctl.post("/config", {"groups": [{"name": "late"}]})[0], 200)
        self.assertEqual(ctl.post("/config", {"nonsense": 1})[0], 400)
        self.assertEqual(ctl.get("/nowhere")[0], 404)

        self.assertEqual(ctl.post("/services/imds/stop")[0], 200)
        with self.assertRaises(ConnectionRefusedError):
            client.request(urls["imds_url"] + "/latest/meta-data/instance-id")
        self.assertEqual(ctl.post("/services/imds/start")[0], 200)
        self.assertEqual(client.request(urls["imds_url"] +
                                        "/latest/meta-data/instance-id").status, 200)

        self.assertEqual(ctl.post("/reset")[0], 200)
        self.assertEqual(ctl.get("/requests")[1], [])
        self.assertEqual(ctl.get("/profiles")[1], [])

        self.assertEqual(ctl.post("/shutdown")[0], 200)
        self.assertEqual(self.proc.wait(10), 0)
        self.assertFalse(os.path.exists(self.port_file))

    def test_sigterm_stops_it(self):
        self.start()
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(10), 0)
        self.assertFalse(os.path.exists(self.port_file))

    def test_bad_config_fails_fast(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"no_such_key": 1}, f)
        self.addCleanup(os.unlink, f.name)
        proc = subprocess.run([sys.executable, SCRIPT, "--config", f.name],
                              capture_output=True, text=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no_such_key", proc.stderr)


if __name__ == "__main__":
    unittest.main()
