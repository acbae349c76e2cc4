#!/usr/bin/env python3
"""`make check`, part 3: the credentials and upload path under a sanitizer.

Runs the sanitizer build's `cgagent check` against the local AWS emulator
for each credential source, then a workload with the sanitizer build of
libcgagent.so preloaded that posts several profiles into the emulator's
central group.  Fails on any sanitizer report, a failed check, or a
profile the emulator did not accept.  Usage: check-upload.py BUILD_DIR
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from emulator import GROUP, Emulator  # noqa: E402


def main():
    build = os.path.abspath(sys.argv[1])
    rt = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                        text=True).stdout.strip()
    san = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
           "LSAN_OPTIONS": "suppressions=%s/tests/lsan.supp" % ROOT,
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    failed = 0
    with Emulator() as emu:
        emu.set_group_configuration(GROUP, agentParameters={
            "MinimumTimeForReportingInMilliseconds": "0"})
        for source in ("user", "imds", "container", "web_identity"):
            env = emu.env_for(source, **san)
            p = subprocess.run([os.path.join(build, "cgagent"), "check"], env=env,
                               capture_output=True, text=True, timeout=120)
            ok = p.returncode == 0 and "result: OK" in p.stdout and "ERROR" not in p.stderr
            print("check-upload: cgagent check (%s) %s" % (source, "ok" if ok else "FAILED"))
            if not ok:
                print(p.stdout, p.stderr[-3000:])
                failed = 1
        env = emu.env_for("user", LD_PRELOAD="%s %s/libcgagent.so" % (rt, build),
                          AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS="1000",
                          ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
                          UBSAN_OPTIONS=san["UBSAN_OPTIONS"])
        p = subprocess.run(["timeout", "-s", "KILL", "120",
                            os.path.join(build, "workloads", "known_answer"), "1"],
                           env=env, capture_output=True, text=True)
        posts = [x for x in emu.profiles(GROUP) if x.accepted and x.valid]
        ok = p.returncode == 0 and not p.stderr and len(posts) >= 2
        print("check-upload: preloaded upload, %d profiles posted %s"
              % (len(posts), "ok" if ok else "FAILED"))
        if not ok:
            print(p.stderr[-3000:])
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
