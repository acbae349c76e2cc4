"""JIT code named through /tmp/perf-PID.map: a Node.js script run with
--perf-basic-prof under the agent shows its hot JavaScript function by
name, with the file "[jit]", on stacks that reach back through the JIT
frames to main (issue 6).

Odds of a false failure: 2 s of the script's CPU time, about 200 samples (at least 100
asserted), about 96% of them in the hot function; against the 70% floor
that is 13 binomial standard errors (2 points each): never by chance."""
import os
import shutil
import tempfile
import unittest

from e2e import profiles as P

NODE = shutil.which("node")

SCRIPT = """
function hotLoopForProfiler(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) { acc = (acc * 31 + i) % 1000003; }
  return acc;
}
let total = 0;
// 2 s of this process's CPU, not of the clock: a busy machine must not
// thin out the samples.
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
const end = cpuUs() + 2000000;
while (cpuUs() < end) total += hotLoopForProfiler(100000);
console.log("done", total > 0);
"""


@unittest.skipUnless(NODE, "node is not installed")
class NodeJit(unittest.TestCase):
    def test_hot_javascript_function_is_named(self):
        with tempfile.TemporaryDirectory(prefix="cgagent-jit-") as tmp:
            script = os.path.join(tmp, "hot.js")
            with open(script, "w") as f:
                f.write(SCRIPT)
            out = os.path.join(tmp, "out")
            # V8 leaves an isolate log in its working directory: keep it here.
            plain = P.run([NODE, script], P.clean_env(), timeout=60, cwd=tmp)
            r = P.run_profiled([NODE, "--perf-basic-prof", script], out, timeout=60, cwd=tmp)
            self.assertEqual(r.returncode, plain.returncode, r.stderr)
            self.assertEqual(r.stdout, plain.stdout)
            leaves = {}
            total = through = 0
            files = set()
            for path in P.documents(out):
                doc = P.load(path)
                pid = doc["debugInfo"]["processId"]
                self.addCleanup(lambda p=pid: os.path.exists("/tmp/perf-%d.map" % p)
                                and os.unlink("/tmp/perf-%d.map" % p))
                for frames, count in P.stacks(doc, "RUNNABLE"):
                    leaves[frames[-1]] = leaves.get(frames[-1], 0) + count
                    total += count
                    # The handler's unwinder walks through JIT frames (V8
                    # keeps frame pointers) back into node's own C++ code.
                    if ("hotLoopForProfiler" in frames[-1] and "Builtins_JSEntry" in frames
                            and any("main" in f for f in frames[:4])):
                        through += count
                files |= {f for (name, f) in P.self_counts_by_file(doc)
                          if "hotLoopForProfiler" in name}
            hot = sum(n for name, n in leaves.items() if "hotLoopForProfiler" in name)
            self.assertGreater(total, 100)
            # Nearly all CPU is in the one JIT-compiled function.
            self.assertGreater(hot / total, 0.7, sorted(leaves.items(), key=lambda x: -x[1])[:5])
            for name in leaves:
                if "hotLoopForProfiler" in name:
                    self.assertIn(script, name)  # V8 names the script and line
            self.assertEqual(files, {"[jit]"})
            self.assertGreater(through / hot, 0.5)


if __name__ == "__main__":
    unittest.main()
