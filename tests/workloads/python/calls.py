"""A call-heavy Python program for `make bench` (tests/bench/python_bench.py):
recursive fib() and a loop of method calls (Counter.bump), a fixed amount
of work per unit, so CPU time with and without a profiler compare
directly.  Deep, short-lived Python frames on every sample: the most a
frame reader has to walk.  Output is deterministic.

usage: calls.py [UNITS]   (default 10; a unit is about 30 ms of CPU on
                           3.11-3.13, 80 ms on 3.9, on the build machine)
"""
import sys

FIB_N = 24
BUMPS = 400000


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Counter:
    def __init__(self):
        self.n = 0

    def bump(self, k):
        self.n += k
        return self.n


def bumps(m):
    c = Counter()
    for i in range(m):
        c.bump(i & 7)
    return c.n


def main():
    units = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    f = b = 0
    for _ in range(units):
        f += fib(FIB_N)
        b += bumps(BUMPS)
    print("calls: %d units, fib %d, bumps %d" % (units, f, b))


if __name__ == "__main__":
    main()
