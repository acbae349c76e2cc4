"""CPython programs under the agent (issue 17, then the frame-chain
reader): Python frames with no flag on every CPython 3.8-3.13, read from
the interpreter's own frame chain (the agent leaves the perf trampoline
off), named as CodeGuru's Python agent names them, in one stack with the
interpreter's and C extensions' native frames; processes and threads;
the host's output, stderr and exit status unchanged.  Interpreters are
looked for in ~/.pyenv/versions and on PATH; a missing one is a skip
that says which.  tests/e2e/test_python_frames.py has the rest: threads
waiting at their Python callers, lines, MDWE, no perf map.

Known answer, samples and the odds of a false failure.  ka.py burns 4
cycles of 0.6 s in ka:heavy then 0.2 s in ka:Worker:light of its own
thread's CPU time: 3.2 CPU-seconds, about 320 samples at 100 Hz per
interpreter.  These are not independent draws: a CPU-clock timer fires
once per 10 ms of the thread's CPU, so a stretch of L ms gets L/10
samples, give or take one at each end (plus one kernel tick, 4 ms, of
lateness in noticing an expiry).  The 8 stretches can move at most about
8 x 1.4 = 11 samples: 3.5 points in the very worst case where every
stretch errs the same way, and the errors are independent with mean 0
and a standard deviation of about 0.5 samples each, so the total's is
sqrt(8) x 0.5 = 1.4 samples = 0.45 points.  The 2-point tolerance is
4.4 of those standard deviations: odds below 1 in 100,000 of a false
failure per interpreter.  (Read as 320 binomial draws, the standard
error would be 2.4 points; the CPU clock makes that model far too
pessimistic here.)
"""
import glob
import os
import shutil
import tempfile
import unittest

from e2e import profiles as P

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.join(os.path.dirname(HERE), "workloads", "python")


def find_python(version):
    """The newest pythonX.Y in ~/.pyenv/versions, else on PATH, else None."""
    home = os.path.expanduser("~/.pyenv/versions")
    found = sorted(glob.glob(os.path.join(home, version + ".*", "bin", "python" + version)))
    if found:
        return found[-1]
    return shutil.which("python" + version)


NEW = [(v, find_python(v)) for v in ("3.12", "3.13", "3.14")]
NEW_PRESENT = [(v, exe) for v, exe in NEW if exe]
PY311 = find_python("3.11")
# The versions each test runs on; a missing one is a skip naming it.
KNOWN_ANSWER = ("3.11", "3.12", "3.13")
PROCESSES = ("3.9", "3.12", "3.13")
C_EXTENSIONS = ("3.9", "3.11", "3.12", "3.13")
UPLOAD = ("3.9", "3.12", "3.13")


def script(name):
    return os.path.join(PYDIR, name)


def need(test, version):
    """The interpreter for `version`, or a skip (of the enclosing subTest)
    that names it."""
    exe = find_python(version)
    if not exe:
        test.skipTest("no CPython %s in ~/.pyenv/versions or on PATH" % version)
    return exe


def all_stacks(outdir):
    """[(frames root first, count, document)] over every document."""
    out = []
    for path in P.documents(outdir):
        doc = P.load(path)
        for frames, count in P.stacks(doc, "RUNNABLE"):
            out.append((frames, count, doc))
    return out


def no_perf_map(test, doc):
    """No perf map written by this process.  A map of the same name
    may be left over from an earlier process with the same pid (a run
    killed before it removed its own): only one written since this
    process started counts."""
    pid = doc["debugInfo"]["processId"]
    path = "/tmp/perf-%d.map" % pid
    started = doc["start"] / 1000.0  # the document's first sample, epoch ms
    try:
        written = os.stat(path).st_mtime
    except FileNotFoundError:
        return
    test.assertLess(written, started - 1.0,
                    "the agent leaves the perf trampoline off: no perf map (%s)" % path)


class KnownAnswer(unittest.TestCase):
    def test_heavy_and_light_come_out_75_25_with_codeguru_names(self):
        versions = KNOWN_ANSWER + tuple(v for v, _ in NEW_PRESENT if v not in KNOWN_ANSWER)
        for version in versions:
            with self.subTest(python=version), tempfile.TemporaryDirectory() as out:
                exe = need(self, version)
                plain = P.run([exe, script("ka.py")], P.clean_env())
                r = P.run_profiled([exe, script("ka.py")], out)
                self.assertEqual(r.returncode, plain.returncode, r.stderr)
                self.assertEqual(r.stdout, plain.stdout)
                self.assertEqual(r.stderr, b"")
                heavy = light = 0
                names = set()
                for frames, count, doc in all_stacks(out):
                    names.update(frames)
                    if "ka:heavy" in frames:
                        heavy += count
                    elif "ka:Worker:light" in frames:
                        light += count
                    no_perf_map(self, doc)
                self.assertFalse([n for n in names if n.startswith("py::")])
                self.assertIn("ka:main", names)
                self.assertGreater(heavy + light, 200, (heavy, light))
                P.skip_if_busy(self, [P.load(f) for f in P.documents(out)])
                share = 100.0 * heavy / (heavy + light)
                self.assertAlmostEqual(share, 75.0, delta=2.0,
                                       msg="heavy %d light %d" % (heavy, light))
                # Python frames carry their file; callers above the first
                # Python frame are kept: ka:main under ka:<module> under main().
                files = {}
                for path in P.documents(out):
                    for (name, f), _ in P.self_counts_by_file(P.load(path)).items():
                        files[name] = f
                for frames, count, doc in all_stacks(out):
                    if "ka:heavy" in frames:
                        i = frames.index("ka:heavy")
                        self.assertIn("ka:main", frames[:i])
                        self.assertIn("ka:<module>", frames[:i])
                        self.assertTrue(any("main" in f for f in frames[:4]), frames[:4])
                        break
                for path in P.documents(out):
                    for p, node in P.walk(P.load(path)["callgraph"]):
                        if p[-1][0] == "ka:heavy":
                            self.assertEqual(node.get("file"), script("ka.py"))


GETENV = ("import ctypes; libc = ctypes.CDLL(None); libc.getenv.restype = ctypes.c_char_p; "
          "print(libc.getenv(b'PYTHONPERFSUPPORT'))")
USER_ON = "import os, sys; print(sys.is_stack_trampoline_active(), os.getpid())"


class Interpreter(unittest.TestCase):
    def test_trampoline_stays_off_and_the_environment_is_untouched(self):
        """The agent no longer answers getenv("PYTHONPERFSUPPORT"): the
        trampoline stays off, os.environ and a child see what they saw
        before; a user's PYTHONPERFSUPPORT=1 still turns it on."""
        for version in ("3.12", "3.13"):
            with self.subTest(python=version), tempfile.TemporaryDirectory() as out:
                exe = need(self, version)
                plain = P.run([exe, script("probe.py")], P.clean_env())
                self.assertEqual(plain.stdout.decode(),
                                 "trampoline False\nenviron False\nchild False\n")
                r = P.run_profiled([exe, script("probe.py")], out)
                self.assertEqual(r.stdout.decode(), plain.stdout.decode(), r.stderr)
                r = P.run_profiled([exe, "-c", GETENV], out)
                self.assertEqual(r.stdout, b"None\n", r.stderr)
                # The user's own setting is theirs (here: on); the map it
                # leaves is the user's (test_python_frames.PerfMap), removed here.
                r = P.run_profiled([exe, "-c", USER_ON], out, PYTHONPERFSUPPORT="1")
                words = r.stdout.split()
                self.assertEqual(len(words), 2, r.stderr)
                if os.path.exists("/tmp/perf-%d.map" % int(words[1])):
                    os.unlink("/tmp/perf-%d.map" % int(words[1]))
                self.assertEqual(words[0], b"True", r.stderr)

    def test_c_extension_frames_sit_under_their_python_caller(self):
        for version in C_EXTENSIONS:
            with self.subTest(python=version), tempfile.TemporaryDirectory() as out:
                exe = need(self, version)
                r = P.run_profiled([exe, script("zext.py"), "1.5"], out)
                self.assertEqual(r.returncode, 0, r.stderr)
                under = {"zlib": 0, "json": 0}
                for frames, count, _ in all_stacks(out):
                    if "zext:squash" not in frames:
                        continue
                    below = frames[frames.index("zext:squash") + 1:]
                    if any(f.startswith(("deflate", "zlib_Compress", "zlib_compress"))
                           for f in below):
                        under["zlib"] += count
                    if any(f.startswith(("encoder_", "_json", "c_encode")) or "json" in f
                           for f in below):
                        under["json"] += count
                self.assertGreater(under["zlib"], 10, under)

    def test_forked_workers_and_threads_one_profile_per_process(self):
        for version in PROCESSES:
            with self.subTest(python=version), tempfile.TemporaryDirectory() as out:
                exe = need(self, version)
                plain = P.run([exe, script("mp.py"), "0.5"], P.clean_env())
                r = P.run_profiled([exe, script("mp.py"), "0.5"], out)
                self.assertEqual(r.returncode, plain.returncode, r.stderr)
                self.assertEqual(r.stdout, plain.stdout)
                by_pid = {}
                for path in P.documents(out):
                    doc = P.load(path)
                    by_pid.setdefault(doc["debugInfo"]["processId"], []).append(doc)
                self.assertEqual(len(by_pid), 3, sorted(by_pid))
                with_work = [pid for pid, docs in by_pid.items()
                             if any(P.self_counts(d) and any("mp:work" in fr
                                                             for fr, _ in P.stacks(d))
                                    for d in docs)]
                self.assertEqual(len(with_work), 2, "both workers' profiles name mp:work")
                parent = [docs for pid, docs in by_pid.items() if pid not in with_work][0]
                spin = sum(c for d in parent for fr, c in P.stacks(d) if "mp:spin" in fr)
                # Two threads of 0.5 s each: about 100 samples; both threads seen.
                self.assertGreater(spin, 60)
                self.assertGreaterEqual(
                    max(d["agentMetadata"]["metrics"]["numThreads"] for d in parent), 3)
                for docs in by_pid.values():
                    no_perf_map(self, docs[0])

    def test_exit_status_output_and_stderr_unchanged(self):
        for version in PROCESSES:
            for how, status in (("exit3", 3), ("raise", 1)):
                with self.subTest(python=version, how=how), \
                        tempfile.TemporaryDirectory() as out:
                    exe = need(self, version)
                    plain = P.run([exe, script("exits.py"), how], P.clean_env())
                    r = P.run_profiled([exe, script("exits.py"), how], out)
                    self.assertEqual(plain.returncode, status)
                    self.assertEqual(r.returncode, status)
                    self.assertEqual(r.stdout, plain.stdout)
                    self.assertEqual(r.stderr, plain.stderr)
                    # A run this short may end before its first sample (no
                    # document); never more than one.
                    self.assertLessEqual(len(P.documents(out)), 1)


class Upload(unittest.TestCase):
    def test_the_python_profile_reaches_the_central_group(self):
        from emulator import CENTRAL_ACCOUNT, GROUP, Emulator
        for version in UPLOAD:
            with self.subTest(python=version):
                exe = need(self, version)
                emu = Emulator().start()
                self.addCleanup(emu.stop)
                emu.set_group_configuration(GROUP, agentParameters={
                    "MinimumTimeForReportingInMilliseconds": "0",
                    "SamplingIntervalInMilliseconds": "100", "MaxStackDepth": "1000"})
                out = tempfile.mkdtemp(prefix="cgagent-py-upload-")
                self.addCleanup(shutil.rmtree, out, True)
                env = emu.env_for("user", LD_PRELOAD=P.LIB, CGAGENT_OUTPUT=out)
                plain = P.run([exe, script("ka.py"), "0.5"], P.clean_env())
                r = P.run(env=env, argv=[exe, script("ka.py"), "0.5"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, plain.stdout)
                posts = [p for p in emu.profiles(GROUP) if p.accepted and not p.duplicate]
                self.assertTrue(posts, "nothing was posted")
                names = set()
                lines = 0
                for post in posts:
                    self.assertTrue(post.valid, post.problems)
                    self.assertEqual(post.account, CENTRAL_ACCOUNT)
                    for frames, _ in P.stacks(post.document, "RUNNABLE"):
                        names.update(frames)
                    lines += sum(1 for p, node in P.walk(post.document["callgraph"])
                                 if p[-1][0].startswith("ka:") and "line" in node)
                self.assertIn("ka:heavy", names)
                self.assertIn("ka:Worker:light", names)
                self.assertGreater(lines, 0, "no Python frame reached the service with its line")


class Python311(unittest.TestCase):
    def test_python_frames_and_no_native_only_line(self):
        """3.11 has no perf trampoline; its frames come from the frame
        chain like every other version's: no "native frames only" line at
        info level, nothing on stderr by default, ka:heavy under ka:main."""
        if not PY311:
            self.skipTest("no CPython 3.11 in ~/.pyenv/versions or on PATH")
        with tempfile.TemporaryDirectory() as out:
            r = P.run_profiled([PY311, script("ka.py"), "0.3"], out)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stderr, b"", "nothing on the host's stderr by default")
            r = P.run_profiled([PY311, script("ka.py"), "0.3"], out, CGAGENT_LOG="info")
            self.assertEqual(r.returncode, 0)
            self.assertFalse([l for l in r.stderr.decode().splitlines()
                              if "native frames only" in l], r.stderr)
            heavy = [frames for frames, _, _ in all_stacks(out) if "ka:heavy" in frames]
            self.assertTrue(heavy, "no ka:heavy on 3.11")
            self.assertTrue(any("ka:main" in fr[:fr.index("ka:heavy")] for fr in heavy))


if __name__ == "__main__":
    unittest.main()
