"""The host behaves exactly as without the agent, part 2: file descriptors.

open(), pipe() and socket() return the lowest free number, and programs
count on it: one started with stdin closed (`prog <&-`) gets fd 0 from its
first open(); CPython started with 0 and 2 closed sets sys.stdin and
sys.stderr to None.  The agent used to take those numbers: libunwind's
memory-validation pipes (one made in the SIGPROF handler at the first
sample), the log file, libcurl's sockets and its wakeup socketpair.  Now
every descriptor it keeps sits at or above the floor (CG_FD_FLOOR, 100;
core/base/fd_floor.h, docs/internals.md "Descriptors").

Every run here lets the agent sample first: tests/workloads/fd_probe.c
burns 0.5 s of CPU (about 50 samples, the first of which used to make
libunwind's pipe) and sleeps 1.3 s (at least one wall-clock tick, which
used to make the generic unwinder's pipe), and the test checks the
profile has both.

Odds of a false failure.  The agent still opens short-lived files on its
own thread (/proc/self/task every second, /proc/self/task/TID/stat and
syscall at each wall tick, ELF files when libraries change, the report at
exit; the upload thread the CA bundle and its resolver's socketpair), each
at the lowest free number: the kernel has no "open at or above N".  Timed
here, the periodic ones hold a low number 1.6-2.2 us each, about 6 us in
every second (about 100 us under strace -ttt, which slows each system
call); the probe's open is one system call and its listing takes about
30 us, so one look coincides with one of ours with odds between 1 in
25,000 and 1 in 7,000.  So the probe looks 3 times, 0.35 s apart (never
at the same phase of the agent's 1 s and 100 ms cycles), and the tests go
by what 2 of the 3 looks agree on: a descriptor the agent keeps is in all
3, a short-lived one in at most 1.  A false failure needs two
coincidences: at most 3 x (1/7,000)^2, 6 in 100 million per check, about
1 in a million per run of this file.  The -w open (the log test) retries
the same way, three times at most.
"""
import collections
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from e2e import profiles as P
from e2e.test_python import find_python

PROBE = os.path.join(P.WORKLOADS, "fd_probe")
FLOOR = 100


def closing(*fds):
    """A preexec_fn that starts the program with `fds` closed."""
    def close():
        for fd in fds:
            os.close(fd)
    return close


def kind(target):
    """pipe:[123] -> pipe; a path stays a path (the stdout/stderr pipes
    and files the runner hands in are the same with and without us)."""
    return re.sub(r":\[\d+\]$", "", target)


class Probe:
    """fd_probe's report: per round its first open, its own pipe2 and
    {fd: kind} of its listing; the other lines as they are."""

    def __init__(self, text):
        self.text = text
        self.rounds = collections.defaultdict(lambda: {"fds": {}})
        self.lines = []
        for line in text.splitlines():
            m = re.match(r"round (\d+) (first-open|pipe2) (.*)$", line)
            if m:
                self.rounds[int(m.group(1))][m.group(2)] = m.group(3)
                continue
            m = re.match(r"round (\d+) fd (\d+) (.*)$", line)
            if m:
                self.rounds[int(m.group(1))]["fds"][int(m.group(2))] = kind(m.group(3))
                continue
            self.lines.append(line)

    def _settled(self, what):
        """What most rounds reported for `what` (None if they disagree)."""
        votes = collections.Counter(r.get(what) for r in self.rounds.values())
        value, count = votes.most_common(1)[0] if votes else (None, 0)
        return value if count * 2 > len(self.rounds) else None

    def first_open(self):
        value = self._settled("first-open")
        return int(value) if value is not None else None

    def pipe2(self):
        return self._settled("pipe2")

    def fds(self):
        """{fd: kind} of the descriptors most rounds saw."""
        votes = collections.Counter()
        for r in self.rounds.values():
            votes.update(r["fds"].items())
        return dict(item for item, count in votes.items() if count * 2 > len(self.rounds))

    def line(self, prefix):
        return [l for l in self.lines if l.startswith(prefix)]


class DescriptorTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cgagent-fd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.runs = 0

    def probe(self, args=(), closed=(), agent=True, env=None, argv=None):
        """Runs fd_probe (or argv, which must take the output path last)
        with `closed` closed; returns (Probe, output directory)."""
        self.runs += 1
        out = os.path.join(self.tmp, "out%d" % self.runs)
        prof = os.path.join(self.tmp, "prof%d" % self.runs)
        if env is None:
            env = P.clean_env()
        env = dict(env)
        if agent:
            env.update(LD_PRELOAD=P.PRELOAD, CGAGENT_OUTPUT=prof)
        cmd = (argv or [PROBE] + list(args) + ["-o"]) + [out]
        r = subprocess.run(cmd, env=env, preexec_fn=closing(*closed), capture_output=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            return Probe(f.read()), prof

    def assert_sampled(self, prof):
        """The agent took CPU samples and at least one wall-clock tick."""
        docs = [P.load(p) for p in P.documents(prof)]
        self.assertTrue(docs, "no profile written")
        self.assertGreaterEqual(sum(P.total(d, "RUNNABLE") for d in docs), 20)
        self.assertGreaterEqual(sum(P.total(d, "WAITING") for d in docs), 1)

    def assert_same_below_floor(self, plain, run):
        low = {fd: k for fd, k in run.fds().items() if fd < FLOOR}
        self.assertEqual(low, {fd: k for fd, k in plain.fds().items() if fd < FLOOR},
                         run.text)


class ClosedStandardDescriptors(DescriptorTestCase):
    def check_first_open_is_zero(self, closed):
        plain, _ = self.probe(closed=closed, agent=False)
        run, prof = self.probe(closed=closed)
        self.assert_sampled(prof)
        self.assertEqual(plain.first_open(), 0, plain.text)
        self.assertEqual(run.first_open(), 0, run.text)
        self.assert_same_below_floor(plain, run)

    def test_first_open_returns_0_with_stdin_and_stderr_closed(self):
        self.check_first_open_is_zero((0, 2))

    def test_first_open_returns_0_with_0_1_and_2_closed(self):
        self.check_first_open_is_zero((0, 1, 2))

    def test_log_lines_never_land_in_the_file_the_program_opened_as_fd_2(self):
        """Started with 2 closed, the agent's stderr is no stderr: the
        program's own open() gets 2, and the lines the agent logs at exit
        (info) must not go into that file.  A log file still gets them."""
        path = os.path.join(self.tmp, "program-file")
        run, prof = self.probe(["-w", path], closed=(0, 2),
                               env=P.clean_env(CGAGENT_LOG="info"))
        self.assert_sampled(prof)
        self.assertEqual(run.line("write-open")[-1], "write-open 2", run.text)
        with open(path) as f:
            self.assertEqual(f.read(), "fd_probe's own line\n")

        log = os.path.join(self.tmp, "agent.log")
        run, prof = self.probe(["-w", path], closed=(0, 2),
                               env=P.clean_env(CGAGENT_LOG="info", CGAGENT_LOG_FILE=log))
        self.assertEqual(run.line("write-open")[-1], "write-open 2", run.text)
        with open(path) as f:
            self.assertEqual(f.read(), "fd_probe's own line\n")
        with open(log) as f:
            text = f.read()
        self.assertIn("profiling fd_probe", text)
        self.assertIn("(final)", text)


class AgentDescriptors(DescriptorTestCase):
    def test_no_descriptor_below_the_floor_that_a_plain_run_lacks(self):
        plain, _ = self.probe(["-x"], agent=False)
        run, prof = self.probe(["-x"])
        self.assert_sampled(prof)
        self.assertEqual(run.first_open(), plain.first_open(), run.text)
        self.assert_same_below_floor(plain, run)
        # What the agent keeps (libunwind's two pipes) is above the floor,
        # and close-on-exec: a child the program execs inherits none of it.
        self.assertTrue([fd for fd in run.fds() if fd >= FLOOR], run.text)
        with open(os.path.join(self.tmp, "out1.child")) as f:
            plain_child = Probe(f.read())
        with open(os.path.join(self.tmp, "out2.child")) as f:
            child = Probe(f.read())
        self.assertEqual(child.fds(), plain_child.fds(), child.text)

    def test_the_programs_own_pipe2_still_gets_the_lowest_numbers(self):
        """The agent's pipe2 (preload/bridge.c) is defined only for the
        agent's own deep-bound scope: the program's calls reach libc's."""
        plain, _ = self.probe(["-p"], closed=(0,), agent=False)
        run, prof = self.probe(["-p"], closed=(0,))
        self.assert_sampled(prof)
        self.assertEqual(plain.pipe2(), "0 3", plain.text)
        self.assertEqual(run.pipe2(), "0 3", run.text)


PY_CODE = r"""
import os, sys, time
def burn(s):
    end = time.thread_time() + s
    while time.thread_time() < end:
        sum(range(1000))
burn(0.5)
time.sleep(1.3)
lines = ["stdin-none %s stderr-none %s" % (sys.stdin is None, sys.stderr is None)]
for r in range(3):
    if r:
        time.sleep(0.35)
    fd = os.open("/dev/null", os.O_RDONLY)
    lines.append("round %d first-open %d" % (r, fd))
    os.close(fd)
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(out, ("\n".join(lines) + "\n").encode())
"""


def pythons():
    """(name, interpreter, extra environment) for the CPythons to try: a
    3.12 or 3.13 (once the ones whose perf trampoline the agent turned on,
    whose map took fd 0 when 0 was closed), and the system's."""
    found = []
    new = next((exe for exe in map(find_python, ("3.13", "3.12")) if exe), None)
    if new:
        found.append(("3.12+", new, {}))
    if os.path.exists("/usr/bin/python3"):
        found.append(("system", "/usr/bin/python3", {}))
    return found


class Python(DescriptorTestCase):
    def run_python(self, exe, closed, **env):
        return self.probe(closed=closed, env=P.clean_env(**env), argv=[exe, "-c", PY_CODE])

    def test_python_started_with_stdin_and_stderr_closed_sees_none(self):
        """With a log file too: it used to be opened in the constructor, at
        fd 0, before the interpreter looked at its standard streams.  The
        interpreter looks at them once, at start-up, while the agent thread
        starts: 3,000 start-ups of the two interpreters here with 0 and 2
        closed all saw None."""
        if not pythons():
            self.skipTest("no CPython 3.12 or 3.13 found and no /usr/bin/python3")
        log = os.path.join(self.tmp, "agent.log")
        for name, exe, env in pythons():
            with self.subTest(python=name):
                run, prof = self.run_python(exe, (0, 2), CGAGENT_LOG_FILE=log, **env)
                self.assert_sampled(prof)
                self.assertEqual(run.line("stdin-none"), ["stdin-none True stderr-none True"],
                                 run.text)
                self.assertEqual(run.first_open(), 0, run.text)


class Uploads(DescriptorTestCase):
    def test_libcurls_descriptors_stay_above_the_floor(self):
        """Uploading to the emulator: the connections (kept alive between
        requests) and libcurl's wakeup socketpair, one per client, kept
        until the client is freed."""
        from emulator import Emulator, GROUP
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters={
                "MinimumTimeForReportingInMilliseconds": "0",
                "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"})
            env = emu.env_for("user", base=P.clean_env(),
                              AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1500")
            args = ["-s", "3.5", "-x"]
            plain, _ = self.probe(args, closed=(0, 2), agent=False, env=env)
            run, prof = self.probe(args, closed=(0, 2), env=env)
            self.assertTrue(emu.profiles(), "nothing was uploaded")
        self.assert_sampled(prof)
        self.assertEqual(run.first_open(), 0, run.text)
        self.assert_same_below_floor(plain, run)
        self.assertIn("socket", run.fds().values(), run.text)
        with open(os.path.join(self.tmp, "out1.child")) as f:
            plain_child = Probe(f.read())
        with open(os.path.join(self.tmp, "out2.child")) as f:
            child = Probe(f.read())
        self.assertEqual(child.fds(), plain_child.fds(), child.text)


OPEN_LOOP = os.path.join(P.WORKLOADS, "fd_open_loop")
OPEN_LOOP_LINE = re.compile(r"turns (\d+) max (\d+) at-or-above-100 (\d+) cloexec (\d+) "
                            r"not-3-4 (\d+)$")


class ProgramOpensWhileUploading(unittest.TestCase):
    ROUNDS = 4

    def test_program_opens_stay_low_and_inheritable_while_the_upload_thread_starts(self):
        """Review finding: libcurl's wakeup socketpair used to be made with
        every free number below the floor held (cg_fd_run_above_floor
        around each new HTTP client, on the upload thread), so a program
        thread that opened a file meanwhile got 100 or more, and up to 8
        numbers from the floor were then marked close-on-exec, the
        program's among them.  Now libcurl's own socket calls make
        close-on-exec descriptors and move them (core/base/curl_load.c):
        nothing of the program's is moved or marked.

        tests/workloads/fd_open_loop.c opens and closes two files without
        pause from a thread its constructor starts, microseconds after the
        agent's; the upload thread makes its HTTP clients (its fleet probe,
        then CodeGuru and STS) after a random start delay of up to 1 s and
        before its first ConfigureAgent, so the loop runs through all of
        them.  Whether the loop thread is on a CPU during one of those
        40-70 us windows is up to the scheduler: before the fix, 1 round in
        3 or 4 saw nothing wrong here, so the program runs ROUNDS times.
        (A short-lived open of the agent's can still make one turn get 4
        and 5 instead of 3 and 4, as any thread's open would: the numbers
        are held to "below the floor", not to exactly 3 and 4.)"""
        from emulator import Emulator, GROUP
        with Emulator() as emu:
            emu.set_group_configuration(GROUP, agentParameters={
                "MinimumTimeForReportingInMilliseconds": "0"})
            env = emu.env_for("user", base=P.clean_env(), LD_PRELOAD=P.PRELOAD)
            for rnd in range(1, self.ROUNDS + 1):
                with self.subTest(round=rnd):
                    self.run_round(emu, env, rnd)

    def run_round(self, emu, env, rnd):
        proc = subprocess.Popen([OPEN_LOOP], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(proc.stdout.readline(), b"running\n")
            emu.wait_for_requests("codeguru", "ConfigureAgent", count=rnd, timeout=60,
                                  where=lambda r: r.status == 200)
            out, err = proc.communicate(timeout=60)  # EOF on its stdin stops it
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err.decode())
        text = out.decode().strip()
        m = OPEN_LOOP_LINE.match(text)
        self.assertTrue(m, text)
        turns, high, above, cloexec, _ = map(int, m.groups())
        self.assertGreater(turns, 1000, text)
        self.assertEqual(above, 0, "the program's open() got the floor or more: " + text)
        self.assertLess(high, FLOOR, text)
        self.assertEqual(cloexec, 0, "the program's descriptors were made close-on-exec: " + text)

if __name__ == "__main__":
    unittest.main()
