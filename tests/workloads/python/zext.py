"""A Python function calling into C extensions: squash() compresses with
zlib (libz's deflate under the zlib module) and encodes with _json."""
import json
import sys
import time
import zlib

DATA = bytes(range(256)) * 4096 + b"".join(b"%d," % i for i in range(100000))


def squash(seconds):
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += len(zlib.compress(DATA, 9))
        n += len(json.dumps({"k%d" % i: [i, str(i)] for i in range(2000)}))
    return n


if __name__ == "__main__":
    squash(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
    print("zext: done")
