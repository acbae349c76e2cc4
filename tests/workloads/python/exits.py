"""Ends as asked: `exit3` prints and calls sys.exit(3); `raise` prints and
dies of an uncaught exception (traceback on stderr, status 1)."""
import sys


def fail(what):
    print("exits: about to %s" % what)
    sys.stderr.write("exits: on stderr\n")
    if what == "exit3":
        sys.exit(3)
    raise RuntimeError("uncaught on purpose")


if __name__ == "__main__":
    fail(sys.argv[1])
