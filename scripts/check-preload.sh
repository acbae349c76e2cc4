#!/bin/sh
# `make check`, part 2: the injected object itself under a sanitizer, inside
# real programs (unit tests cannot reach the handler, the wrappers or the
# agent thread).  Usage: check-preload.sh BUILD_DIR asan|tsan
#
# `make check` uses asan only.  Under TSan the agent thread, created with
# libc's pthread_create on purpose (it must bypass interposers, ours
# included), has no TSan thread state, so instrumented agent code crashes;
# TSan covers the concurrent pieces (ring, registry) in the unit tests.
#
# The sanitizer runtime must come first in LD_PRELOAD.  Programs are ones
# whose exit does not run libcurl's dependencies' destructors under ASan
# (p11-kit deadlocks there with or without the agent), and every run is
# bounded by a hard kill so a hang fails the check instead of stalling it.
set -u
BUILD=$1
KIND=$2
case $KIND in
asan) RT=$(gcc -print-file-name=libasan.so)
      export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
      export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ;;
tsan) RT=$(gcc -print-file-name=libtsan.so)
      export TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0 ;;
*) echo "usage: $0 BUILD asan|tsan" >&2; exit 2 ;;
esac
OUT=$(mktemp -d "${TMPDIR:-/tmp}/cgagent-check.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
fail=0
run() {
    name=$1; shift
    if timeout -s KILL 120 env LD_PRELOAD="$RT $BUILD/libcgagent.so" CGAGENT_OUTPUT="$OUT/$name" \
        "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"; then
        if [ -s "$OUT/$name.stderr" ]; then
            echo "check-preload ($KIND): $name: unexpected stderr:"; head -40 "$OUT/$name.stderr"; fail=1
        else
            echo "check-preload ($KIND): $name ok"
        fi
    else
        echo "check-preload ($KIND): $name FAILED (exit $?)"; head -60 "$OUT/$name.stderr"; fail=1
    fi
}
run known_answer "$BUILD/workloads/known_answer" 0.3
run thread_churn "$BUILD/workloads/thread_churn" 2000
run fork_exec sh -c "$BUILD/workloads/known_answer 0.05 >/dev/null; perl -e 'fork or exit 3; wait; exit((\$? >> 8) - 3)'"
run sigblock "$BUILD/workloads/stress" sigblock
run fastexit "$BUILD/workloads/stress" fastexit
exit $fail
