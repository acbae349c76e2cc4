"""Python workload that churns the interpreter's frame chain under the
profiler: recursion that keeps crossing the data stack's chunk boundaries
(3.11+ maps and unmaps a chunk each time), generators and coroutines
(frames that live inside their objects), 200 short threads (thread states
made and freed) and two daemon threads still running Python while the
interpreter finalises.  Output: "ok".

usage: chain_stress.py [SECONDS]   (default 1.0 of CPU per kind)
"""
import asyncio
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
sys.setrecursionlimit(100000)


def rec(n):
    if n == 0:
        return 0
    return rec(n - 1) + 1


def chunky():
    end = time.thread_time() + SECONDS
    while time.thread_time() < end:
        for depth in (150, 160, 170, 180, 200, 250, 400):
            rec(depth)


def counting(n):
    for i in range(n):
        yield i


def gens():
    end = time.thread_time() + SECONDS
    while time.thread_time() < end:
        sum(x for x in counting(1000))


async def nested(n):
    if n == 0:
        await asyncio.sleep(0)
        return 1
    return await nested(n - 1) + 1


async def awaiting(end):
    while time.thread_time() < end:
        await nested(50)


def coroutines():
    # One event loop for the whole stretch: its set-up would be most of
    # the time otherwise.
    asyncio.run(awaiting(time.thread_time() + SECONDS))


def churn():
    for _ in range(200):
        t = threading.Thread(target=rec, args=(50,))
        t.start()
        t.join()


def forever():
    while True:
        rec(100)


for _ in range(2):
    threading.Thread(target=forever, daemon=True).start()
workers = [threading.Thread(target=f) for f in (chunky, gens, coroutines, churn)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("ok")
