"""Python known answer with threads: one thread on the CPU, two waiting.

- worker: Worker.run calls Worker.heavy and Worker.light in CYCLES rounds
  of HEAVY_S then LIGHT_S seconds of this thread's CPU time
  (time.thread_time()), so the two methods burn CPU 3:1 by construction,
  whatever the machine's speed or load.
- sleeper: Sleeper.run loops on Sleeper.nap, which is time.sleep(NAP_S),
  until the worker is done.
- consumer: Consumer.run calls Consumer.take, which blocks in
  queue.Queue.get until main puts the one item after the worker is done.

The main thread waits in Thread.join.  Output is deterministic, and every
thread ends before the interpreter does (no daemon thread).

usage: ka_threads.py [SCALE]   (default 1.0: 4 cycles of 0.6 s + 0.2 s)
"""
import queue
import sys
import threading
import time

CYCLES = 4
HEAVY_S = 0.6
LIGHT_S = 0.2
NAP_S = 0.2


def burn(seconds):
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(500):
            x += i * i
    return x


class Worker:
    def __init__(self, scale):
        self.scale = scale

    def heavy(self):
        return burn(HEAVY_S * self.scale)

    def light(self):
        return burn(LIGHT_S * self.scale)

    def run(self):
        for _ in range(CYCLES):
            self.heavy()
            self.light()


class Sleeper:
    def __init__(self):
        self.stop = threading.Event()

    def nap(self):
        time.sleep(NAP_S)

    def run(self):
        while not self.stop.is_set():
            self.nap()


class Consumer:
    def __init__(self):
        self.q = queue.Queue()
        self.got = None

    def take(self):
        return self.q.get()

    def run(self):
        self.got = self.take()


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    worker, sleeper, consumer = Worker(scale), Sleeper(), Consumer()
    waiting = [threading.Thread(target=sleeper.run, name="sleeper"),
               threading.Thread(target=consumer.run, name="consumer")]
    for t in waiting:
        t.start()
    w = threading.Thread(target=worker.run, name="worker")
    w.start()
    w.join()
    sleeper.stop.set()
    consumer.q.put("item")
    for t in waiting:
        t.join()
    print("ka_threads: done (%d cycles, consumer took %r)" % (CYCLES, consumer.got))


if __name__ == "__main__":
    main()
