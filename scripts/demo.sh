#!/bin/sh
# `make demo`: profile programs with no AWS account and show where their
# time goes.
#   1. the bundled known-answer workload (tests/workloads/known_answer.c);
#   2. xz, a real program nobody here wrote, compressing generated text;
#   3. a Java program (when a JDK is installed: make deps installs one);
#   4. a Python program (when a CPython is found).
# Profiles stay in a temporary directory, printed at the end.
set -eu
BUILD=${1:-build}
CG="$BUILD/cgagent"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/cgagent-demo.XXXXXX")

echo
echo "== 1. A workload with a known answer (tests/workloads/known_answer.c)"
echo "   thread busy_a burns 3x the CPU of busy_b; inside busy_a,"
echo "   leaf_alpha : leaf_beta = 1 : 2.  Expect about 50% leaf_beta,"
echo "   25% leaf_alpha, 25% leaf_gamma."
echo
"$CG" run --output "$OUT/known_answer" -- "$BUILD/workloads/known_answer" 0.5
"$CG" report --top 8 --flamegraph "$OUT/known_answer.svg" "$OUT/known_answer"

echo
echo "== 2. xz -9 compressing 4 MiB of generated text"
echo "   Debian's liblzma exports only its API, so its internal match finder"
echo "   and encoder show as liblzma.so.5+0xOFFSET (addr2line -e takes that)."
echo
python3 - "$OUT/data.txt" <<'PY'
import random, sys
rnd = random.Random(1)
words = ["w%d" % i for i in range(3000)]
with open(sys.argv[1], "w") as f:
    n = 0
    while n < 4 * 1024 * 1024:
        line = " ".join(rnd.choice(words) for _ in range(10)) + "\n"
        f.write(line)
        n += len(line)
PY
"$CG" run --output "$OUT/xz" -- xz -9 -T1 -c "$OUT/data.txt" > /dev/null
"$CG" report --top 8 --flamegraph "$OUT/xz.svg" "$OUT/xz"

echo
echo "== 3. A Java program (tests/workloads/java/KnownAnswer.java), no flag added"
if command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    echo "   heavyWork burns 3x the CPU of lightWork, counting the CPU-clock reads"
    echo "   that meter them (clock_gettime under ThreadImpl): expect about 3:1,"
    echo "   named as CodeGuru's Java agent names them (Class.method)."
    echo
    mkdir -p "$OUT/classes"
    javac -d "$OUT/classes" tests/workloads/java/KnownAnswer.java
    "$CG" run --output "$OUT/java" -- java -cp "$OUT/classes" KnownAnswer 3 > /dev/null
    "$CG" report --top 6 --flamegraph "$OUT/java.svg" "$OUT/java"
else
    echo "   (skipped: no JDK; make deps installs openjdk-17-jdk-headless)"
fi

echo
echo "== 4. A Python program (tests/workloads/python/ka.py), no flag added"
PY=""
for v in 3.13 3.12 3.11 3.10 3.9 3.8; do
    for c in "$HOME"/.pyenv/versions/$v.*/bin/python$v "$(command -v python$v || true)"; do
        if [ -z "$PY" ] && [ -x "$c" ]; then PY=$c; fi
    done
done
[ -n "$PY" ] || PY="$(command -v python3 || true)"
if [ -n "$PY" ]; then
    echo "   ($PY)"
    echo "   heavy burns 3x the CPU of Worker.light, both through burn().  The"
    echo "   Python frames come from the interpreter's own frame chain, with"
    echo "   the interpreter's C functions below them.  Expect ka:heavy about"
    echo "   75% and ka:Worker:light about 25% of the total, as CodeGuru's"
    echo "   Python agent names them:"
    echo
    "$CG" run --output "$OUT/python" -- "$PY" tests/workloads/python/ka.py 1.5 > /dev/null
    "$CG" report --top 40 --flamegraph "$OUT/python.svg" "$OUT/python" |
        sed -n '/^== RUNNABLE/,/^$/{/^==/p;/by total/,/^$/{/total   *function/p;/ ka:/p}}'
    echo "flame graph (RUNNABLE): $OUT/python.svg"
else
    echo "   (skipped: no CPython on PATH or in ~/.pyenv/versions)"
fi

echo
echo "Profiles (CodeGuru JSON, pprof .pb.gz, folded stacks) and flame graphs (.svg,"
echo "open them in a browser) are in $OUT"
