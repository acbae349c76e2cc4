"""The Lambda layer (`make lambda-layer`, scripts/lambda-layer.py,
docs/lambda.md): its exec wrapper run the way the Lambda runtime runs it
(`$AWS_LAMBDA_EXEC_WRAPPER RUNTIME-COMMAND ARGS`, with the variables
Lambda sets: function name, region, the function role's session keys)
preloads the agent, and the profile reaches the central group through
the emulator, when the environment is shut down (SIGTERM) and across a
freeze (SIGSTOP/SIGCONT, what Lambda does between invocations).

Workload: tests/workloads/exit_signal.c `spin 1` (1 CPU-second before
"ready", about 100 samples at 100 Hz; asserted > 50, which, as in
e2e/test_exit_signals.py, is 5 standard deviations even read as a
Poisson count: false-failure odds far below 1/1000).
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

from e2e import profiles as P
from e2e.test_dist import tarball
from e2e.test_exit_signals import kill_when_ready, start
from e2e.test_upload import UploadTestCase
from emulator import CENTRAL_ACCOUNT, GROUP, WORKLOAD_ACCOUNT

LAYER_SCRIPT = os.path.join(P.ROOT, "scripts", "lambda-layer.py")
PROG = os.path.join(P.WORKLOADS, "exit_signal")
FUNCTION = "orders-fn"


def build_layer(where, tgz):
    """Builds the layer zip from the portable tarball TGZ into WHERE and
    extracts it as Lambda does into WHERE/opt (modes kept); returns the
    zip's path and the opt directory."""
    zpath = os.path.join(where, "layer.zip")
    subprocess.run([sys.executable, LAYER_SCRIPT, "--dist", tgz, "--output", zpath],
                   check=True, capture_output=True)
    opt = os.path.join(where, "opt")
    with zipfile.ZipFile(zpath) as z:
        for info in z.infolist():
            z.extract(info, opt)
            os.chmod(os.path.join(opt, info.filename), (info.external_attr >> 16) & 0o7777)
    return zpath, opt


class LambdaLayer(UploadTestCase):
    def setUp(self):
        super().setUp()
        tgz = tarball()
        if not tgz:
            self.fail("no portable tarball: `make dist` failed (test_dist says why)")
        self.dir = tempfile.mkdtemp(prefix="cgagent-lambda-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.zip, self.opt = build_layer(self.dir, tgz)
        self.wrapper = os.path.join(self.opt, "cgagent-wrapper")
        self.emu.add_role(WORKLOAD_ACCOUNT, "orders-fn-role", trust=["*"])
        self.role_arn = "arn:aws:iam::%s:role/orders-fn-role" % WORKLOAD_ACCOUNT
        self.session = self.emu.issue_session(self.role_arn, session_name=FUNCTION)

    def lambda_env(self, **extra):
        """The variables Lambda gives a function's runtime, the function
        role's session keys, and the function's own variables (group and
        central role).  No LD_PRELOAD: the wrapper sets it."""
        env = self.emu.env_for(self.session, CGAGENT_OUTPUT=self.out, **extra)
        env.update({
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + FUNCTION,
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "AWS_LAMBDA_EXEC_WRAPPER": self.wrapper,
            "AWS_DEFAULT_REGION": env["AWS_REGION"],
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "_HANDLER": "handler.run",
            "TZ": ":UTC",
            "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
                               "/var/task:/var/task/lib:/opt/lib",
        })
        self.assertNotIn("LD_PRELOAD", env)
        return env

    def runtime(self, env, *argv):
        """What Lambda does: exec the wrapper with the runtime's command."""
        return [env["AWS_LAMBDA_EXEC_WRAPPER"], *argv]

    def assert_central(self, posts):
        self.assertTrue(posts, "nothing reached the central group")
        for p in posts:
            self.assertTrue(p.valid, p.problems)
            self.assertEqual(p.account, CENTRAL_ACCOUNT)
        (assume, *_) = self.emu.requests("sts", "AssumeRole")
        self.assertEqual(assume.arn, "arn:aws:sts::%s:assumed-role/orders-fn-role/%s"
                         % (WORKLOAD_ACCOUNT, FUNCTION))
        self.assertEqual(self.emu.duplicate_profile_tokens(GROUP), [])
        self.assertEqual(self.service_totals(posts), self.local_totals(),
                         "the service must get exactly the samples taken")
        self.assertGreater(self.local_totals()["RUNNABLE"], 50)

    def test_layer_holds_the_wrapper_and_the_tarballs_agent_and_no_other_library(self):
        with zipfile.ZipFile(self.zip) as z:
            names = {i.filename: (i.external_attr >> 16) for i in z.infolist()}
            elf = sorted(n for n in names if z.read(n)[:4] == b"\x7fELF")
        self.assertTrue(names["cgagent-wrapper"] & stat.S_IXUSR)
        # The portable build's three files, nothing copied from this
        # machine (Debian's libjansson, libunwind, ... and glibc before).
        self.assertEqual(elf, ["bin/cgagent", "lib/libcgagent-impl.so", "lib/libcgagent.so"])
        self.assertEqual(sorted(n for n in names if n.startswith("lib/")),
                         ["lib/libcgagent-impl.so", "lib/libcgagent.so"])
        self.assertIn("share/doc/cgagent/licenses/libunwind.copyright", names)
        with open(self.wrapper) as f, open(os.path.join(P.ROOT, "examples", "lambda",
                                                        "cgagent-wrapper")) as g:
            self.assertEqual(f.read(), g.read())

    def test_wrapper_execs_the_runtime_unchanged_with_the_agent_preloaded(self):
        env = self.lambda_env(CGAGENT_ENABLED="false")
        proc = subprocess.run(self.runtime(env, "sh", "-c",
                                           'printf "%s|" "$@" "$LD_PRELOAD"; read x; echo "$x"; exit 7',
                                           "bootstrap", "a", "b c"),
                              env=env, input=b"event\n", capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 7, proc.stderr)
        lib = os.path.join(os.path.realpath(self.opt), "lib", "libcgagent.so")
        self.assertEqual(proc.stdout.decode(), "a|b c|%s|event\n" % lib)
        self.assertEqual(proc.stderr, b"")

    def test_wrapper_started_by_a_relative_path_exports_absolute_paths(self):
        # Issue 28, item 6: here=$(dirname "$0") made LD_PRELOAD
        # ./opt/lib/libcgagent.so, which every descendant resolved against
        # its own working directory.
        env = self.lambda_env(CGAGENT_ENABLED="false")
        env["AWS_LAMBDA_EXEC_WRAPPER"] = "./opt/cgagent-wrapper"
        proc = subprocess.run(self.runtime(env, "sh", "-c",
                                           'cd / && printf "%s\\n" "$LD_PRELOAD" "$LD_LIBRARY_PATH"'
                                           " && grep -c /libcgagent.so /proc/self/maps"),
                              cwd=self.dir, env=env, capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"", "ld.so could not preload the agent")
        preload, libpath, mapped = proc.stdout.decode().splitlines()
        libdir = os.path.join(os.path.realpath(self.opt), "lib")
        self.assertEqual(preload, os.path.join(libdir, "libcgagent.so"))
        self.assertEqual(libpath, env["LD_LIBRARY_PATH"] + ":" + libdir)
        # A descendant in another working directory (grep, run from /) has
        # the agent loaded.
        self.assertGreater(int(mapped), 0)

    def test_a_layer_directory_ld_so_would_split_runs_the_program_without_the_agent(self):
        # A space, colon or semicolon would split LD_PRELOAD or
        # LD_LIBRARY_PATH into pieces relative to each process's working
        # directory; a control character could not be named on one line.
        for name, says in (("my layer", "holds a space, colon, semicolon or '$'"),
                           ("lay:er", "holds a space, colon, semicolon or '$'"),
                           ("lay;er", "holds a space, colon, semicolon or '$'"),
                           ("lay\ter", "holds a control character")):
            with self.subTest(name=name):
                top = os.path.join(self.dir, name)
                opt = os.path.join(top, "opt")
                shutil.copytree(self.opt, opt, symlinks=True)
                self.addCleanup(shutil.rmtree, top, True)
                env = self.lambda_env()
                env["AWS_LAMBDA_EXEC_WRAPPER"] = os.path.join(opt, "cgagent-wrapper")
                proc = subprocess.run(
                    self.runtime(env, "sh", "-c",
                                 'printf "%s|" "$@" "${LD_PRELOAD-unset}" "$LD_LIBRARY_PATH";'
                                 ' read x; echo "$x"; exit 7', "bootstrap", "a", "b c"),
                    env=env, input=b"event\n", capture_output=True, timeout=60)
                self.assertEqual(proc.returncode, 7, proc.stderr)
                self.assertEqual(proc.stdout.decode(),
                                 "a|b c|unset|%s|event\n" % env["LD_LIBRARY_PATH"])
                lines = proc.stderr.decode().splitlines()
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertTrue(lines[0].startswith("cgagent-wrapper: "), lines[0])
                self.assertIn(says, lines[0])
                self.assertTrue(lines[0].endswith("; running without the agent"), lines[0])

    def test_profile_reaches_the_central_group_when_the_environment_shuts_down(self):
        env = self.lambda_env(AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="300000")
        rc, out, err = kill_when_ready(start(self.runtime(env, PROG, "spin", "1"), env),
                                       signal.SIGTERM)
        self.assertEqual(rc, -signal.SIGTERM, err)
        self.assertEqual(out, b"")  # after "ready" (read by kill_when_ready)
        posts = self.accepted()
        self.assertEqual(len(posts), 1, "the last period was not posted on SIGTERM")
        self.assert_central(posts)

    def test_a_frozen_environment_reports_after_the_thaw_and_loses_nothing(self):
        env = self.lambda_env(AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000")
        proc = start(self.runtime(env, PROG, "spin", "1"), env)
        self.assertEqual(proc.stdout.readline(), b"ready\n")
        proc.send_signal(signal.SIGSTOP)
        with open("/proc/%d/stat" % proc.pid) as f:
            deadline = time.monotonic() + 30
            while f.read().rsplit(")", 1)[1].split()[0] != "T":
                self.assertLess(time.monotonic(), deadline, "never stopped")
                f.seek(0)
        seen = max((r.seq for r in self.emu.requests()), default=0)
        # The freeze itself: longer than a reporting interval, so a period
        # ends while the process cannot run (the scenario, not a wait).
        time.sleep(1.5)
        proc.send_signal(signal.SIGCONT)
        self.emu.wait_for_requests("codeguru", "PostAgentProfile", timeout=60,
                                   where=lambda r: r.seq > seen and r.status == 204)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        rc = proc.returncode
        self.assertEqual(rc, -signal.SIGTERM, err)
        self.assert_central(self.accepted())


if __name__ == "__main__":
    unittest.main()
