"""Handler cost on CPython (with and without Python frames) beside a C
program of about the same stack depth, as the agent measures it inside
the handler (debugInfo.genericMetrics.handlerNsAverage)."""
import glob
import json
import os
import subprocess
import tempfile

import runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def python_exes():
    """[(version, path)] of CPython >= 3.12 in ~/.pyenv/versions or on PATH."""
    import shutil
    out = []
    for v in ("3.12", "3.13", "3.14"):
        found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (v, v))))
        exe = found[-1] if found else shutil.which("python" + v)
        if exe:
            out.append((v, exe))
    return out


def handler_run(build, argv, **extra):
    """(handler ns per sample, samples, mean frames per sample) of one run."""
    with tempfile.TemporaryDirectory() as out:
        env = runs.clean_env(LD_PRELOAD=os.path.join(build, "libcgagent.so"), CGAGENT_OUTPUT=out,
                        **extra)
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        ns = n = frames = weighted = 0
        for path in glob.glob(os.path.join(out, "*.json")):
            doc = json.load(open(path))
            gm = doc.get("debugInfo", {}).get("genericMetrics", {})
            calls = gm.get("handlerCalls", 0)
            ns += gm.get("handlerNsAverage", 0) * calls
            n += calls

            def walk(node, depth):
                nonlocal frames, weighted
                c = node.get("counts", {}).get("RUNNABLE", 0)
                frames += c * depth
                weighted += c
                for child in node.get("children", {}).values():
                    walk(child, depth + 1)
            walk(doc["callgraph"], 0)
    return (ns / n if n else None), n, (frames / weighted if weighted else 0)


def python_vs_c(build):
    ka = os.path.join(ROOT, "tests", "workloads", "python", "ka.py")
    deep = os.path.join(build, "workloads", "deep_stack")
    cases = []
    for v, exe in python_exes():
        cases.append(("python %s, Python frames" % v, [exe, ka, "1.5"], {}))
        cases.append(("python %s, native only" % v, [exe, ka, "1.5"], {"PYTHONPERFSUPPORT": "0"}))
    if not cases:
        print("   (no CPython 3.12 or newer found)")
        return
    c_ns, c_n, c_depth = handler_run(build, [deep, "4.8", "20"])
    print("   %-30s %6.0f ns per sample, %4d samples, %4.1f frames" % (
        "C deep_stack (depth 20)", c_ns or 0, c_n, c_depth))
    for name, argv, extra in cases:
        ns, n, depth = handler_run(build, argv, **extra)
        print("   %-30s %6.0f ns per sample, %4d samples, %4.1f frames, %.2fx the C cost" % (
            name, ns or 0, n, depth, (ns or 0) / c_ns if c_ns else 0))
