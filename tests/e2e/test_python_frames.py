"""Python frames from the interpreter's own frame chain on every CPython
3.8-3.13, with no perf trampoline: CPU and wall-clock stacks named as
CodeGuru's Python agent names them (module from the path: the script's
directory and lib/pythonX.Y are roots, so ka_threads.py gives
`ka_threads:Worker:heavy` and queue.py `queue:Queue:get`), each Python
frame with the lines seen on it; CPython 3.12 and 3.13 under MDWE; no
perf map unless the user asks for one.  Interpreters are looked for in
~/.pyenv/versions and on PATH; a missing one is a skip that says which.

CPU known answer: samples and the odds of a false failure.
tests/workloads/python/ka_threads.py runs, on its worker thread, 4
cycles of 0.6 s in Worker.heavy then 0.2 s in Worker.light of that
thread's own CPU time (time.thread_time): 3.2 CPU-seconds, about 320
samples at 100 Hz per interpreter.  The argument of test_python.py holds
unchanged: a CPU-clock timer fires once per 10 ms of the thread's CPU, so
a stretch of L ms gets L/10 samples give or take one at each end; the 8
stretches' errors are independent with mean 0 and a standard deviation
of about 0.5 samples each, so the total's is sqrt(8) x 0.5 = 1.4 samples
= 0.45 points.  The 2-point tolerance is 4.4 of those: below 1 in
100,000 per interpreter, below 1 in 10,000 for all six.  The other
threads are off the CPU; the sleeper's wake-ups (every 0.2 s, a few
microseconds each) are not under Worker and are not counted.  The
worker's Python callers (Thread.run > Worker.run) must be on at least 90%
of the heavy samples (the frame chain is whole on every sample; the
margin is for a reader that gives up on a frame it cannot validate).

Waiting threads.  The wall-clock view (a 50 ms interval here,
AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS; all count keys but RUNNABLE)
samples each thread that is off the CPU at each tick: about 66 ticks in
the 3.3 s run, not random draws.  The sleeper is inside Sleeper.nap
(time.sleep, and the GIL re-take that happens inside it) except for the
few microseconds of Sleeper.run's loop every 0.2 s, well under 0.1% of
its off-CPU time; a thread waiting for the CPU is in state R and is not
wall-sampled.  The consumer sits in one queue.Queue.get from start to
end, the main thread in Thread.join.  So of the wall samples whose
stack holds a thread's own outer frame (Sleeper.run, Consumer.run,
ka_threads:<module>), essentially all hold the chain below it (Sleeper.nap;
Consumer.take > Queue.get; main > Thread.join); the test asks for at
least half, of at least 20 samples.  A false failure would need 10 or
more of the ~66 ticks to land in windows that are under 0.1% of the
time: odds far below one in a million.  What is checked is the reader,
not chance.  (Measured with a Python-level sampler, sys._current_frames
every 50 ms, on all six versions: 53-56 of 53-56 for each thread.)

Lines.  Every node of a function of ka_threads.py carries `line` ([n],
or [min, max] when several lines were seen) inside that function's
source lines, from the `def` line to its last line (`ast`), and each of
the ten functions the threads run is seen; every other Python frame's
`line`, when present, is well formed and inside its file.  Nothing here
is sampled by chance.

MDWE and the perf map: see the classes' docstrings.  Nothing there is
statistical; waits are on pipes, with a 60 s kill as the hang check.
"""
import ast
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import uuid

from e2e import pprof_reader
from e2e import profiles as P
from e2e.test_python import find_python, need, script

VERSIONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
KA_THREADS = script("ka_threads.py")
KA_THREADS_OUT = b"ka_threads: done (4 cycles, consumer took 'item')\n"
MOD = "ka_threads"
WALL_MS = 50
# Native frames of the interpreter's start (python's main, libpython's).
NATIVE_MAIN = {"main", "Py_BytesMain", "Py_RunMain"}


def wall_stacks(docs):
    """[(frames root first, count)] of every wall-clock count (every key
    but RUNNABLE: WAITING, TIMED_WAITING, BLOCKED, ...)."""
    out = []
    for doc in docs:
        for path, node in P.walk(doc["callgraph"]):
            for key, c in node.get("counts", {}).items():
                if key != "RUNNABLE":
                    out.append((tuple(n for n, _ in path), c))
    return out


def cpu_stacks(docs):
    return [s for doc in docs for s in P.stacks(doc, "RUNNABLE")]


def in_order(frames, chain):
    """True when `chain` appears in `frames` in that order (callers first),
    other frames allowed between."""
    i = 0
    for f in frames:
        if i < len(chain) and f == chain[i]:
            i += 1
    return i == len(chain)


def function_lines(path, module):
    """{CodeGuru name: (first line, last line)} of the functions in the
    file at `path`: module:function, module:Class:method, module:<module>,
    and module:Class for a class body, which runs as code of its own when
    the module is imported."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    tree = ast.parse(src)
    out = {"%s:<module>" % module: (1, len(src.splitlines()))}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out["%s:%s" % (module, node.name)] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            out["%s:%s" % (module, node.name)] = (node.lineno, node.end_lineno)
            for m in node.body:
                if isinstance(m, ast.FunctionDef):
                    out["%s:%s:%s" % (module, node.name, m.name)] = (m.lineno, m.end_lineno)
    return out


def line_range(test, where, node):
    """(min, max) of a node's `line`, checking its form."""
    line = node.get("line")
    test.assertIsInstance(line, list, "%s: no line list (%r)" % (where, line))
    test.assertIn(len(line), (1, 2), "%s: line %r" % (where, line))
    test.assertTrue(all(isinstance(n, int) and n >= 1 for n in line), "%s: %r" % (where, line))
    if len(line) == 2:
        test.assertLess(line[0], line[1], "%s: [min, max] with min >= max: %r" % (where, line))
    return line[0], line[-1]


_file_lengths = {}


def file_length(path):
    if path not in _file_lengths:
        try:
            with open(path, "rb") as f:
                _file_lengths[path] = f.read().count(b"\n") + 1
        except OSError:
            _file_lengths[path] = None
    return _file_lengths[path]


class KnownAnswerThreads(unittest.TestCase):
    """ka_threads.py once per interpreter under the agent (CPU at 100 Hz,
    wall ticks every 50 ms); each test reads those runs."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cgagent-py-frames-")
        cls.runs = {}
        for v in VERSIONS:
            exe = find_python(v)
            if not exe:
                continue
            out = os.path.join(cls.tmp, v)
            try:
                r = P.run_profiled([exe, KA_THREADS], out, timeout=120,
                                   AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS=WALL_MS)
            except subprocess.TimeoutExpired as e:  # a hang: each test says so
                r = subprocess.CompletedProcess(e.cmd, None, e.stdout or b"",
                                                b"hung for 120 s; " + (e.stderr or b""))
            docs = []
            for d in P.documents(out):
                try:
                    docs.append(P.load(d))
                except ValueError as e:  # e.g. a crash half-way through a write
                    r.stderr += ("; %s is not JSON: %s" % (d, e)).encode()
            cls.runs[v] = (r, docs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def each(self):
        """[(version, run, documents)] with a subTest each; missing
        versions are skips that say which."""
        out = []
        for v in VERSIONS:
            with self.subTest(python=v):
                need(self, v)
                out.append(v)
        return [(v,) + self.runs[v] for v in out]

    def check_run(self, r, docs):
        """The run each test reads ended well (its stderr is the next
        test's business)."""
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertEqual(r.stdout, KA_THREADS_OUT)
        self.assertTrue(docs, "no profile document")

    def test_output_status_and_one_process(self):
        for v, r, docs in self.each():
            with self.subTest(python=v):
                self.check_run(r, docs)
                self.assertEqual(r.stderr.decode(errors="replace"), "",
                                 "nothing on the host's stderr by default")
                self.assertEqual(len({d["debugInfo"]["processId"] for d in docs}), 1)

    def test_heavy_and_light_come_out_75_25_with_codeguru_names(self):
        heavy_name, light_name = MOD + ":Worker:heavy", MOD + ":Worker:light"
        for v, r, docs in self.each():
            with self.subTest(python=v):
                self.check_run(r, docs)
                heavy = light = with_callers = 0
                names = set()
                for frames, count in cpu_stacks(docs):
                    names.update(frames)
                    if heavy_name in frames:
                        heavy += count
                        if in_order(frames, ("threading:Thread:run", MOD + ":Worker:run",
                                             heavy_name)):
                            with_callers += count
                    elif light_name in frames:
                        light += count
                self.assertFalse([n for n in names if n.startswith("py::")])
                self.assertGreater(heavy + light, 200,
                                   "heavy %d light %d: no Python frames in CPU samples? names: %s"
                                   % (heavy, light, sorted(names)[:40]))
                P.skip_if_busy(self, docs)
                share = 100.0 * heavy / (heavy + light)
                self.assertAlmostEqual(share, 75.0, delta=2.0,
                                       msg="heavy %d light %d" % (heavy, light))
                # The worker thread's Python callers are kept, in order.
                self.assertGreaterEqual(with_callers, 0.9 * heavy,
                                        "%d of %d heavy samples under Thread.run > Worker.run"
                                        % (with_callers, heavy))
                files = {p[-1][1] for d in docs for p, _ in P.walk(d["callgraph"])
                         if p[-1][0] == heavy_name}
                self.assertEqual(files, {KA_THREADS})

    def test_waiting_threads_are_named_at_their_python_methods(self):
        # (the thread's own frame, what must be below it, in order)
        chains = {
            "sleeper": (MOD + ":Sleeper:run", MOD + ":Sleeper:nap"),
            "consumer": (MOD + ":Consumer:run", MOD + ":Consumer:take", "queue:Queue:get"),
            "main": (MOD + ":<module>", MOD + ":main", "threading:Thread:join"),
        }
        for v, r, docs in self.each():
            with self.subTest(python=v):
                self.check_run(r, docs)
                wall = wall_stacks(docs)
                seen = sorted({f for frames, _ in wall for f in frames if ":" in f})
                for thread, chain in chains.items():
                    own = [(frames, c) for frames, c in wall if chain[0] in frames]
                    n = sum(c for _, c in own)
                    k = sum(c for frames, c in own if in_order(frames, chain))
                    self.assertGreaterEqual(
                        n, 20, "%s: %d wall samples hold %s (Python names on wall stacks: %s)"
                        % (thread, n, chain[0], seen))
                    self.assertGreaterEqual(
                        2 * k, n, "%s: %d of %d wall samples hold %s"
                        % (thread, k, n, " > ".join(chain)))
                # The main thread's stack goes on up, through the
                # interpreter's native frames, to the program's main().
                mains = [(frames, c) for frames, c in wall if in_order(frames, chains["main"])]
                rooted = sum(c for frames, c in mains
                             if NATIVE_MAIN & set(frames[:frames.index(chains["main"][0])]))
                self.assertGreaterEqual(2 * rooted, sum(c for _, c in mains),
                                        "main thread: %d rooted in main(); %s"
                                        % (rooted, mains[:1]))

    def test_python_frames_carry_lines_inside_their_function(self):
        funcs = function_lines(KA_THREADS, MOD)
        for v, r, docs in self.each():
            with self.subTest(python=v):
                self.check_run(r, docs)
                checked = set()
                for doc in docs:
                    for path, node in P.walk(doc["callgraph"]):
                        name, f = path[-1]
                        where = " > ".join(n for n, _ in path[-4:])
                        if f == KA_THREADS:
                            self.assertIn(name, funcs, "a frame of ka_threads.py not named "
                                          "as CodeGuru names it: %s" % where)
                            lo, hi = line_range(self, where, node)
                            first, last = funcs[name]
                            self.assertTrue(first <= lo and hi <= last,
                                            "%s: line %r outside %s's lines %d-%d"
                                            % (where, node["line"], name, first, last))
                            checked.add(name)
                        elif f and f.endswith(".py") and "line" in node:
                            lo, hi = line_range(self, where, node)
                            n = file_length(f)
                            if n is not None:
                                self.assertLessEqual(hi, n, "%s: line past the end of %s"
                                                     % (where, f))
                # Every function the threads run has been seen with its lines.
                want = {MOD + x for x in (":<module>", ":main", ":burn", ":Worker:run",
                                          ":Worker:heavy", ":Worker:light", ":Sleeper:run",
                                          ":Sleeper:nap", ":Consumer:run", ":Consumer:take")}
                self.assertEqual(want - checked, set())
                # The pprof profile carries the same lines on its locations.
                seen = 0
                for gz in glob.glob(os.path.join(self.tmp, v, "*.pb.gz")):
                    for lines in pprof_reader.read(gz)["sample_lines"]:
                        for name, line in lines:
                            if name in funcs and line:
                                first, last = funcs[name]
                                self.assertTrue(first <= line <= last,
                                                "pprof: %s at line %d, outside %d-%d"
                                                % (name, line, first, last))
                                seen += 1
                self.assertGreater(seen, 0, "no pprof location of ka_threads.py has a line")


LAUNCHER = r"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    e = ctypes.get_errno()
    sys.stderr.write("mdwe-launcher: prctl(PR_SET_MDWE): %s\n" % os.strerror(e))
    sys.exit(125 if e == errno.EINVAL else 126)
env = dict(os.environ)
preload = env.pop("MDWE_LD_PRELOAD", None)
if preload:
    env["LD_PRELOAD"] = preload
os.execve(sys.argv[1], sys.argv[1:], env)
"""

MDWE_SELF_CHECK = r"""
import ctypes, mmap
print("mdwe", ctypes.CDLL(None).prctl(66, 0, 0, 0, 0))  # PR_GET_MDWE
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("wx allowed")
except OSError:
    print("wx refused")
"""


def kernel_at_least(major, minor):
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (major, minor)


class MemoryDenyWriteExecute(unittest.TestCase):
    """prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) in a launcher that then
    execs the interpreter: the flag is inherited across execve (checked
    below in the child: PR_GET_MDWE answers 1 and a writable+executable
    mapping is refused), so the interpreter and the agent run under it
    from their first instruction.  The agent must need no executable
    memory it makes itself (the perf trampoline did)."""

    def launch(self, argv, agent_out=None, **extra):
        env = P.clean_env(**extra)
        if agent_out is not None:
            env.update(MDWE_LD_PRELOAD=P.PRELOAD, CGAGENT_OUTPUT=agent_out)
        return P.run([sys.executable, "-c", LAUNCHER] + argv, env, timeout=120)

    def setUp(self):
        if not kernel_at_least(6, 3):
            self.skipTest("MDWE needs Linux >= 6.3; this kernel is %s" % platform.release())
        exe = next((find_python(v) for v in ("3.12", "3.13") if find_python(v)), None)
        if exe is None:
            self.skipTest("no CPython 3.12 or 3.13 in ~/.pyenv/versions or on PATH")
        r = self.launch([exe, "-c", MDWE_SELF_CHECK])
        if r.returncode == 125:
            self.skipTest("prctl(PR_SET_MDWE) answered EINVAL on kernel %s (no MDWE)"
                          % platform.release())
        self.assertEqual(r.returncode, 0, r.stderr)
        if r.stdout != b"mdwe 1\nwx refused\n":
            self.skipTest("MDWE is not in force after execve on kernel %s: %r"
                          % (platform.release(), r.stdout))

    def test_python_312_and_313_run_unchanged_with_the_agent(self):
        cases = (["ka.py", "0.5"], ["mp.py", "0.3"], ["zext.py", "0.5"])
        for v in ("3.12", "3.13"):
            with self.subTest(python=v):
                exe = need(self, v)
                for args in cases:
                    argv = [exe, "-W", "ignore", script(args[0])] + args[1:]
                    plain = self.launch(argv)
                    self.assertEqual(plain.returncode, 0,
                                     "%s without the agent under MDWE: %r"
                                     % (args[0], plain.stderr))
                    with tempfile.TemporaryDirectory() as out:
                        r = self.launch(argv, agent_out=out)
                        self.assertEqual(r.returncode, plain.returncode,
                                         "%s: %s" % (args[0], r.stderr.decode(errors="replace")))
                        self.assertEqual(r.stdout, plain.stdout, args[0])
                        self.assertEqual(r.stderr, plain.stderr, args[0])
                        docs = [P.load(d) for d in P.documents(out)]
                        self.assertTrue(docs, "%s: no profile under MDWE" % args[0])
                        if args[0] == "ka.py":
                            names = {f for d in docs for fr, _ in P.stacks(d) for f in fr}
                            self.assertIn("ka:heavy", names)


PERF_PROBE = r"""
import ctypes, os, sys
def probe_%(token)s():
    return sum(i * i for i in range(20000))
probe_%(token)s()
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
print(os.getpid(), getattr(sys, "is_stack_trampoline_active", lambda: None)(),
      libc.getenv(b"PYTHONPERFSUPPORT"), flush=True)
sys.stdin.readline()
probe_%(token)s()
print("done", flush=True)
"""


def perf_map(pid):
    return "/tmp/perf-%d.map" % pid


def map_names(pid, token):
    """True when /tmp/perf-PID.map exists and names this run's probe
    function (a stale map of an earlier process with the same pid cannot:
    the token is new each run)."""
    try:
        with open(perf_map(pid), "rb") as f:
            return ("py::probe_%s" % token).encode() in f.read()
    except FileNotFoundError:
        return False


class PerfMap(unittest.TestCase):
    """The agent leaves CPython's perf trampoline alone (3.12+): no
    /tmp/perf-PID.map while the program runs or after, getenv has no
    PYTHONPERFSUPPORT answer; the user's own `-X perf` or
    PYTHONPERFSUPPORT=1 keeps its map after exit."""

    def probe(self, exe, token, args=(), agent=True, **extra):
        code = PERF_PROBE % {"token": token}
        argv = [exe] + list(args) + ["-c", code]
        if agent:
            out = tempfile.mkdtemp(prefix="cgagent-perfmap-")
            self.addCleanup(shutil.rmtree, out, True)
            env = P.clean_env(LD_PRELOAD=P.PRELOAD, CGAGENT_OUTPUT=out, **extra)
        else:
            env = P.clean_env(**extra)
        return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def started(self, p, token):
        """(pid, first line's words) once the probe has run its function;
        the process is killed if it says nothing within 60 s.  A map this
        run left behind is removed at cleanup."""
        timer = threading.Timer(60, p.kill)
        timer.start()
        try:
            words = p.stdout.readline().split()
        finally:
            timer.cancel()
        self.assertEqual(len(words), 3, words)
        pid = int(words[0])
        self.addCleanup(lambda: map_names(pid, token) and os.unlink(perf_map(pid)))
        return pid, words

    @staticmethod
    def stop(p):
        """Lets the probe finish (one line on its stdin); (stdout, stderr)."""
        try:
            return p.communicate(b"\n", timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.communicate()

    def test_no_perf_map_while_running_or_after(self):
        for v in ("3.12", "3.13"):
            with self.subTest(python=v):
                exe = need(self, v)
                token = uuid.uuid4().hex[:12]
                p = self.probe(exe, token)
                try:
                    pid, words = self.started(p, token)
                    # While it waits on its stdin: no perf map open, none
                    # written, the trampoline off, getenv with no answer.
                    fds = []
                    for fd in os.listdir("/proc/%d/fd" % pid):
                        try:
                            fds.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                        except OSError:
                            pass
                    self.assertFalse([f for f in fds if f.startswith("/tmp/perf-")], fds)
                    self.assertFalse(map_names(pid, token),
                                     "%s written while the program runs" % perf_map(pid))
                    self.assertEqual(words[1:], [b"False", b"None"],
                                     "trampoline on, or getenv answers PYTHONPERFSUPPORT")
                finally:
                    out, err = self.stop(p)
                self.assertEqual((p.returncode, out), (0, b"done\n"), err)
                self.assertFalse(map_names(pid, token), "%s after exit" % perf_map(pid))

    def test_a_users_own_perf_map_is_kept(self):
        for v in ("3.12", "3.13"):
            for how, args, extra in (("-X perf", ["-X", "perf"], {}),
                                     ("PYTHONPERFSUPPORT=1", [], {"PYTHONPERFSUPPORT": "1"})):
                with self.subTest(python=v, how=how):
                    exe = need(self, v)
                    # Without the agent first: the interpreter writes the
                    # map and leaves it; then the same with the agent.
                    for agent in (False, True):
                        token = uuid.uuid4().hex[:12]
                        p = self.probe(exe, token, args, agent=agent, **extra)
                        try:
                            pid, words = self.started(p, token)
                            self.assertEqual(words[1], b"True", (agent, words))
                        finally:
                            out, err = self.stop(p)
                        self.assertEqual((p.returncode, out), (0, b"done\n"), err)
                        self.assertTrue(map_names(pid, token),
                                        "%s: %s gone after exit (%s)"
                                        % (how, perf_map(pid),
                                           "with the agent" if agent else "without the agent"))


EMBEDDED = """import time
def embedded_hot():
    t = time.thread_time()
    while time.thread_time() - t < 1.0:
        pass
embedded_hot()
"""


class Embedded(unittest.TestCase):
    """A C program that opens libpython with dlopen(RTLD_LOCAL) after
    start-up (tests/workloads/py_embed.c), as plugin hosts do: none of the
    interpreter's symbols is in the program's scope, and Python frames
    come all the same, in one stack under the program's own `main`.
    About 100 samples in `embedded_hot` (1 s of thread CPU); the agent
    finds the interpreter within 10 ms of its start, so nearly all of
    them carry the frame, and the test asks for half of the samples
    under PyRun_SimpleStringFlags: not a matter of chance."""

    def test_python_frames_in_a_program_that_embeds_libpython(self):
        for v in ("3.9", "3.12"):
            with self.subTest(python=v):
                exe = need(self, v)
                lib = os.path.join(os.path.dirname(os.path.dirname(exe)), "lib",
                                   "libpython%s.so.1.0" % v)
                if not os.path.exists(lib):
                    self.skipTest("no %s (a CPython %s built without --enable-shared)"
                                  % (lib, v))
                with tempfile.TemporaryDirectory() as out:
                    src = os.path.join(out, "emb.py")
                    with open(src, "w") as f:
                        f.write(EMBEDDED)
                    argv = [os.path.join(P.WORKLOADS, "py_embed"), lib, src]
                    plain = P.run(argv, P.clean_env())
                    prof_dir = os.path.join(out, "prof")
                    r = P.run_profiled(argv, prof_dir)
                    self.assertEqual((r.returncode, r.stdout), (plain.returncode, plain.stdout),
                                     r.stderr)
                    self.assertEqual(r.stdout, b"py_embed: done\n")
                    docs = [P.load(d) for d in P.documents(prof_dir)]
                    under = hot = 0
                    for frames, count in cpu_stacks(docs):
                        if "PyRun_SimpleStringFlags" in frames:
                            under += count
                            if "<string>:embedded_hot" in frames:
                                self.assertIn("main", frames[:frames.index(
                                    "<string>:embedded_hot")])
                                hot += count
                    self.assertGreater(under, 50, under)
                    self.assertGreaterEqual(2 * hot, under, (hot, under))


if __name__ == "__main__":
    unittest.main()
