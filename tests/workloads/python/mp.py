"""Processes and threads: the main process runs two threads in spin()
and two forked worker processes (multiprocessing) in work(); prints the same
lines every run."""
import multiprocessing
import sys
import threading
import time


def spin(seconds):
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(500):
            x += i
    return x


def work(seconds):
    spin(seconds)
    return 1


if __name__ == "__main__":
    s = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    threads = [threading.Thread(target=spin, args=(s,), name="spinner-%d" % i) for i in range(2)]
    for t in threads:
        t.start()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(s,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    done = sum(1 for p in procs if p.exitcode == 0)
    for t in threads:
        t.join()
    print("mp: %d workers done" % done)
