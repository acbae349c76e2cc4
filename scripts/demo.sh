#!/bin/sh
# `make demo`: profile two programs with no AWS account and show where
# their time goes.
#   1. the bundled known-answer workload (tests/workloads/known_answer.c);
#   2. xz, a real program nobody here wrote, compressing generated text.
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
echo "Profiles (CodeGuru JSON, pprof .pb.gz, folded stacks) and flame graphs (.svg,"
echo "open them in a browser) are in $OUT"
