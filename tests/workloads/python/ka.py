"""Python known-answer workload: heavy() and Worker.light() burn thread CPU
3:1 by construction, in CYCLES rounds of HEAVY_S then LIGHT_S seconds of
this thread's CPU time (time.thread_time()), so the split holds whatever
the machine's speed or load.  Output is deterministic.

usage: ka.py [SCALE]   (default 1.0: 4 cycles of 0.6 s + 0.2 s)
"""
import sys
import time

CYCLES = 4
HEAVY_S = 0.6
LIGHT_S = 0.2


def burn(seconds):
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(500):
            x += i * i
    return x


def heavy(seconds):
    return burn(seconds)


class Worker:
    def light(self, seconds):
        return burn(seconds)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    w = Worker()
    for _ in range(CYCLES):
        heavy(HEAVY_S * scale)
        w.light(LIGHT_S * scale)
    print("ka: done (%d cycles)" % CYCLES)


if __name__ == "__main__":
    main()
