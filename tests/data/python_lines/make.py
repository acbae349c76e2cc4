#!/usr/bin/env python3
"""make.py - ground truth for core/runtime/python_lines.c, taken from a
real CPython.

Run it with each interpreter whose line tables the agent decodes; it
writes X.Y.txt beside itself (standard library only):

    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do python$v make.py; done

It compiles the snippets below (loops, try/except/finally, with,
comprehensions, lambdas, nested defs, decorators, generators, async,
multi-line expressions, functions far longer than 255 lines with jumps
of more than 127 lines backwards, ...) and a few modules of its own
standard library, walks every code object
(recursively through co_consts) and writes, for each, its raw line table
(co_lnotab up to 3.9, co_linetable from 3.10), co_firstlineno, the
length of its bytecode and the line of every 2-byte code unit:

  3.10+   from co.co_lines() (on 3.11+ its spans are over co_code, which
          is as long as co_code_adaptive);
  <= 3.9  from dis.findlinestarts() spread over every offset.

Every expected line is also checked against the interpreter's own C
function PyCode_Addr2Line (through ctypes) before anything is written.

Format (one record per code object, text):
    # comment
    V <major> <minor> <micro>
    C <firstlineno> <bytecode length in bytes> <snippet>:<qualname>
    T <line table, hex; nothing after T when empty>
    L <line of each code unit, run-length: LINE or LINE*COUNT; "-" = no line>
"""
import ctypes
import dis
import importlib.util
import os
import sys
import textwrap

SNIPPETS = {}

SNIPPETS["basics"] = '''
# a module whose first lines hold no code


import os
x = 1
def f(a, b=2, *args, **kw):
    c = a + b
    return c
class K:
    attr = 3
    def method(self):
        return self.attr
    @property
    def prop(self):
        return 1
'''

SNIPPETS["control"] = '''
def loops(n):
    total = 0
    for i in range(n):
        if i % 2:
            continue
        total += i
    else:
        total -= 1
    while n > 0:
        n -= 1
        if n == 5:
            break
    else:
        total += 2
    return total

def exceptions(a):
    try:
        a.foo()
    except (KeyError, ValueError) as e:
        print(e)
    except Exception:
        raise
    else:
        print("else")
    finally:
        print("finally")
    try:
        return a.bar
    finally:
        a.close()

def withs(path, lock):
    with open(path) as f, lock:
        data = f.read()
    with lock:
        pass
    return data

def comprehensions(xs):
    a = [x * 2 for x in xs if x]
    b = {x: y for x, y in zip(xs, xs)}
    c = {x for x in xs}
    d = (x for x in xs)
    e = [[y for y in range(x)] for x in xs]
    return a, b, c, d, e

def lambdas(xs):
    f = lambda x: x + 1
    g = lambda: (lambda y:
                 y * 2)
    return sorted(xs, key=lambda v: -v), f, g
'''

SNIPPETS["nested"] = '''
def outer(a):
    def middle(b):
        def inner(c):
            return a + b + c
        return inner
    class Local:
        def m(self):
            return a
    return middle, Local

def decorate(fn):
    return fn

@decorate
@decorate
def decorated(x):
    return x

@decorate
class DecoratedClass:
    pass

def first_line_has_no_code(
        a,
        b,
):
    # a comment, then blank lines


    return a + b

def only_docstring():
    """Nothing but a docstring."""

def empty():
    pass
'''

SNIPPETS["multiline"] = '''
def calls(f, g, a, b):
    r = f(
        a,
        g(b,
          a),
        key=lambda z:
            z,
    )
    s = (a +
         b *
         a)
    t = {
        "k": a,
        "l": [b,
              a],
    }
    return (r
            .strip()
            .lower()), s, t

def conditional(a, b):
    return (a
            if b else
            b)
'''

SNIPPETS["generators"] = '''
def gen(n):
    for i in range(n):
        yield i
    yield from range(3)
    return 4

async def coro(x):
    await x
    async with x as y:
        await y
    async for z in x:
        print(z)
    return [w async for w in x]

async def agen(x):
    for i in x:
        yield i
        await i
'''

if sys.version_info >= (3, 10):
    SNIPPETS["match"] = '''
def matcher(cmd):
    match cmd:
        case ["go", direction]:
            return direction
        case {"x": x, **rest}:
            return x, rest
        case Point(x=0) | None:
            return 0
        case _:
            return None
'''

if sys.version_info >= (3, 11):
    SNIPPETS["exceptgroup"] = '''
def groups(f):
    try:
        f()
    except* ValueError as e:
        print(e)
    except* TypeError:
        pass
'''


def long_snippet():
    """Jumps of more than 255 lines, more than 127 lines backwards, and
    more than 255 bytes of code on one line."""
    s = ["def long_jumps(a, call):", "    total = 0"]
    s += ["    # filler"] * 300
    s.append("    total += a")                       # +300 lines forwards
    s.append("    for i in range(a):")
    s.append("        total += i")
    s += ["        # loop filler"] * 150
    s.append("        total -= 1")                   # loop back: -150
    s.append("    while total > 0:")
    s.append("        total -= 1")
    s += ["        # loop filler"] * 200
    s.append("        total -= 2")                   # condition again: -200
    s.append("    r = call(")
    s += ["        # argument filler"] * 180
    s.append("        a,")
    s.append("    )")                                # the call's line: -180
    s.append("    t = (" + ", ".join(["a"] * 150) + ")")  # > 255 bytes, one line
    s.append("    try:")
    s.append("        r = call(a)")
    s += ["        # try filler"] * 140
    s.append("    finally:")
    s += ["        # finally filler"] * 140
    s.append("        total = 0")
    s.append("    with call(a):")
    s.append("        r = 1")
    s += ["        # with filler"] * 260
    s.append("        r = 2")                        # exit at the with line
    s += ["    # tail filler"] * 1000
    s.append("    return r, t, total")               # +1000 lines
    return "\n".join(s) + "\n"


SNIPPETS["long"] = long_snippet()

# Real code too: a few modules of the interpreter's own standard library
# (each version's own copy, so the data records that version's compiler).
STDLIB = ("textwrap", "shlex", "contextlib", "asyncio.queues")


def stdlib_source(name):
    spec = importlib.util.find_spec(name)
    with open(spec.origin, encoding="utf-8") as f:
        return f.read()


def code_objects(co, prefix):
    yield prefix, co
    for c in co.co_consts:
        if isinstance(c, type(co)):
            yield from code_objects(c, prefix)


def name_of(co):
    return getattr(co, "co_qualname", co.co_name).replace(" ", "_")


def expected_lines(co):
    """The line of each 2-byte code unit (None: no line)."""
    n = len(co.co_code)
    lines = [None] * (n // 2)
    if sys.version_info >= (3, 10):
        for start, end, line in co.co_lines():
            for off in range(start, end, 2):
                lines[off // 2] = line
    else:
        starts = list(dis.findlinestarts(co))
        for i, (start, line) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else n
            for off in range(start, end, 2):
                lines[off // 2] = line
    return lines


_addr2line = ctypes.pythonapi.PyCode_Addr2Line
_addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
_addr2line.restype = ctypes.c_int


def check_against_interpreter(co, lines, what):
    for i, want in enumerate(lines):
        got = _addr2line(co, 2 * i)
        if got != (-1 if want is None else want):
            sys.exit("%s offset %d: PyCode_Addr2Line says %d, expected %r"
                     % (what, 2 * i, got, want))


def runs(lines):
    out = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j] == lines[i]:
            j += 1
        v = "-" if lines[i] is None else str(lines[i])
        out.append(v if j - i == 1 else "%s*%d" % (v, j - i))
        i = j
    return " ".join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ver = sys.version_info
    table_attr = "co_linetable" if ver >= (3, 10) else "co_lnotab"
    out = ["# python_lines ground truth: CPython %d.%d.%d, %s, written by make.py"
           % (ver[0], ver[1], ver[2], table_attr),
           "V %d %d %d" % (ver[0], ver[1], ver[2])]
    ncode = noff = 0
    biggest_back = biggest_fwd = 0
    sources = [(k, textwrap.dedent(v)) for k, v in SNIPPETS.items()]
    sources += [(name, stdlib_source(name)) for name in STDLIB]
    for snip, src in sources:
        top = compile(src, "<%s>" % snip, "exec")
        for _, co in code_objects(top, snip):
            what = "%s:%s" % (snip, name_of(co))
            lines = expected_lines(co)
            check_against_interpreter(co, lines, what)
            table = getattr(co, table_attr)
            out.append("C %d %d %s" % (co.co_firstlineno, len(co.co_code), what))
            out.append(("T " + table.hex()) if table else "T")
            out.append("L " + runs(lines))
            ncode += 1
            noff += len(lines)
            known = [x for x in lines if x is not None]
            for a, b in zip(known, known[1:]):
                biggest_back = min(biggest_back, b - a)
                biggest_fwd = max(biggest_fwd, b - a)
    out.insert(1, "# %d code objects, %d offsets; largest line steps: %+d, %+d"
               % (ncode, noff, biggest_fwd, biggest_back))
    path = os.path.join(here, "%d.%d.txt" % (ver[0], ver[1]))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("%s: %d code objects, %d offsets, steps %+d/%+d"
          % (path, ncode, noff, biggest_fwd, biggest_back))


if __name__ == "__main__":
    main()
