#!/usr/bin/env python3
"""Generates core/runtime/python_layouts.c: the byte offsets into CPython's
structures that the agent reads (struct cg_py_layout, declared in
core/runtime/python_layout.h), one row per minor version 3.8 .. 3.13.

For each version it takes the newest pyenv install of that minor version
($PYENV_ROOT, else ~/.pyenv: versions/3.X.*, with the internal headers
under include/python3.X/internal/), writes a small C program that includes
the version's own headers with Py_BUILD_CORE defined (Python.h, the
frame object's header and the internal pycore_*.h that hold the runtime,
interpreter and frame structures), compiles it with
`$CC -I<include dir> -I<include dir>/internal` (cc by default), runs it
and reads back an offsetof() or sizeof() for every field of the struct.
The program also finds, by setting each bitfield in a zeroed
PyASCIIObject, the bits of state.kind, state.compact and state.ascii; the
output states them in a comment per version.

Run it from the top of the tree:

    python3 scripts/python-layouts.py > core/runtime/python_layouts.c

The output is committed data: building the agent needs no Python headers.
A version whose headers are missing fails the run with nothing on stdout
(the redirection above has emptied the file by then: `git checkout` it).
tests/repo/test_python_layouts.py reruns the measurement for
every version whose headers this machine has and checks the committed
row against it.  The offsets are x86-64's, so it runs on x86-64 only
(python_layout.h says how aarch64's differ).

Python 3 standard library only.
"""
import glob
import os
import platform
import re
import subprocess
import sys
import tempfile

MAJOR = 3
MINORS = (8, 9, 10, 11, 12, 13)

CHAIN = {8: "CG_PY_CHAIN_FRAMEOBJ", 9: "CG_PY_CHAIN_FRAMEOBJ", 10: "CG_PY_CHAIN_FRAMEOBJ",
         11: "CG_PY_CHAIN_CFRAME", 12: "CG_PY_CHAIN_CFRAME", 13: "CG_PY_CHAIN_IFRAME"}

# The state bitfields of PyASCIIObject whose bits the output reports.
STATE_BITS = ("kind", "compact", "ascii")


def pyenv_root():
    return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def find_install(minor, root=None):
    """(version, include dir) of the newest 3.<minor>.* install with its
    internal headers, or None."""
    root = root or pyenv_root()
    best = None
    for d in glob.glob(os.path.join(root, "versions", "%d.%d.*" % (MAJOR, minor))):
        m = re.fullmatch(r"%d\.%d\.(\d+)" % (MAJOR, minor), os.path.basename(d))
        inc = os.path.join(d, "include", "python%d.%d" % (MAJOR, minor))
        if not m or not os.path.isfile(os.path.join(inc, "internal", "pycore_pystate.h")):
            continue
        if best is None or int(m.group(1)) > best[0]:
            best = (int(m.group(1)), os.path.basename(d), inc)
    return best and best[1:]


def includes(minor):
    """The headers a version's program includes, in order."""
    inc = ["Python.h"]
    if minor <= 10:
        inc.append("frameobject.h")  # PyFrameObject
    inc.append("pycore_pystate.h" if minor == 8 else "pycore_runtime.h")
    if minor >= 9:
        inc.append("pycore_interp.h")  # PyInterpreterState
    if minor >= 11:
        inc += ["pycore_frame.h", "pycore_code.h"]
    return inc


def fields(minor):
    """[(field, C expression or None)] in the struct's order (after major,
    minor and chain); None: the version has no such field (-1)."""
    old = minor <= 10             # PyFrameObject chain
    frame = "PyFrameObject" if old else "_PyInterpreterFrame"
    f = [
        ("runtime_interpreters_head", "offsetof(_PyRuntimeState, interpreters.head)"),
        ("runtime_tss_key", "offsetof(_PyRuntimeState, gilstate.autoTSSkey)" if minor <= 11
         else "offsetof(_PyRuntimeState, autoTSSkey)"),
        ("runtime_finalizing", "offsetof(_PyRuntimeState, %s)"
         % ("finalizing" if minor == 8 else "_finalizing")),
        ("interp_threads_head", "offsetof(PyInterpreterState, tstate_head)" if old
         else "offsetof(PyInterpreterState, threads.head)"),
        ("tstate_next", "offsetof(PyThreadState, next)"),
        ("tstate_interp", "offsetof(PyThreadState, interp)"),
        ("tstate_thread_id", "offsetof(PyThreadState, thread_id)"),
        ("tstate_native_thread_id",
         None if old else "offsetof(PyThreadState, native_thread_id)"),
        ("tstate_frame", "offsetof(PyThreadState, %s)"
         % ("frame" if old else "cframe" if minor <= 12 else "current_frame")),
        ("tstate_datastack_chunk", None if old else "offsetof(PyThreadState, datastack_chunk)"),
        ("cframe_current_frame",
         "offsetof(_PyCFrame, current_frame)" if minor in (11, 12) else None),
        ("chunk_previous", None if old else "offsetof(_PyStackChunk, previous)"),
        ("chunk_size", None if old else "offsetof(_PyStackChunk, size)"),
        ("frame_previous", "offsetof(%s, %s)" % (frame, "f_back" if old else "previous")),
        ("frame_code", "offsetof(%s, %s)"
         % (frame, "f_code" if minor <= 12 else "f_executable")),
        ("frame_instr", "offsetof(%s, %s)" % (frame, "f_lasti" if old else
                                              "prev_instr" if minor <= 12 else "instr_ptr")),
        ("frame_owner", None if old else "offsetof(_PyInterpreterFrame, owner)"),
        ("frame_is_entry", "offsetof(_PyInterpreterFrame, is_entry)" if minor == 11 else None),
        ("frame_localsplus", "offsetof(%s, %s)" % (frame, "f_localsplus" if old else "localsplus")),
        ("frame_size", "offsetof(%s, %s) + 8" % (frame, "f_localsplus" if old else "localsplus")),
        ("code_argcount", "offsetof(PyCodeObject, co_argcount)"),
        ("code_firstlineno", "offsetof(PyCodeObject, co_firstlineno)"),
        ("code_name", "offsetof(PyCodeObject, co_name)"),
        ("code_qualname", None if old else "offsetof(PyCodeObject, co_qualname)"),
        ("code_filename", "offsetof(PyCodeObject, co_filename)"),
        ("code_linetable", "offsetof(PyCodeObject, %s)"
         % ("co_lnotab" if minor <= 9 else "co_linetable")),
        ("code_varnames", "offsetof(PyCodeObject, %s)"
         % ("co_varnames" if old else "co_localsplusnames")),
        ("code_adaptive", None if old else "offsetof(PyCodeObject, co_code_adaptive)"),
    ]
    # Every code field above lies inside the first code_size bytes.
    code = [e for n, e in f if n.startswith("code_") and e]
    f.append(("code_size", "CG_MAX%d(%s) + 8" % (len(code), ", ".join(code))))
    f += [
        ("object_type", "offsetof(PyObject, ob_type)"),
        ("type_name", "offsetof(PyTypeObject, tp_name)"),
        ("bytes_size", "offsetof(PyBytesObject, ob_base.ob_size)"),
        ("bytes_data", "offsetof(PyBytesObject, ob_sval)"),
        ("tuple_size", "offsetof(PyTupleObject, ob_base.ob_size)"),
        ("tuple_items", "offsetof(PyTupleObject, ob_item)"),
        ("unicode_length", "offsetof(PyASCIIObject, length)"),
        # The bitfields inside state have no offsetof, but the struct that
        # holds them does; the program checks it against the end of hash,
        # the field before it, and against where the bits land.
        ("unicode_state", "offsetof(PyASCIIObject, state)"),
        ("unicode_ascii_size", "sizeof(PyASCIIObject)"),
        ("unicode_compact_size", "sizeof(PyCompactUnicodeObject)"),
        ("owner_generator", None if old else "FRAME_OWNED_BY_GENERATOR"),
        ("owner_cstack", "FRAME_OWNED_BY_CSTACK" if minor >= 12 else None),
    ]
    return f


PROGRAM = r"""
#define Py_BUILD_CORE 1
%(includes)s
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CG_MAX2(a, b) ((long)(a) > (long)(b) ? (long)(a) : (long)(b))
%(maxes)s

/* Sets one bitfield of state to all ones in a zeroed PyASCIIObject and
   prints where its bits are in the 32-bit state word. */
#define STATE_BITS(name) do { \
    PyASCIIObject o; unsigned int w; \
    memset(&o, 0, sizeof(o)); \
    o.state.name = ~0u; \
    if (sizeof(o.state) != 4 || nonzero_bytes((const unsigned char *)&o, sizeof(o), state_at) != 0) \
        return fail("state." #name " is not in the 4 bytes at offsetof(state)"); \
    memcpy(&w, (const unsigned char *)&o + state_at, 4); \
    printf("bits %%s %%d %%d\n", #name, __builtin_ctz(w), __builtin_popcount(w)); \
} while (0)

static int fail(const char *why)
{
    fprintf(stderr, "%%s\n", why);
    return 1;
}

/* How many non-zero bytes lie outside [at, at + 4). */
static int nonzero_bytes(const unsigned char *p, size_t n, size_t at)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += p[i] && (i < at || i >= at + 4);
    return c;
}

int main(void)
{
    size_t state_at = offsetof(PyASCIIObject, state);
    if (state_at != offsetof(PyASCIIObject, hash) + sizeof(Py_hash_t))
        return fail("PyASCIIObject.state does not follow hash");
%(prints)s
%(bits)s
    return 0;
}
"""


def program(minor):
    fs = [(n, e) for n, e in fields(minor) if e]
    k = max(len(re.findall(r"offsetof", e)) for n, e in fs if n == "code_size")
    maxes = "\n".join("#define CG_MAX%d(a, ...) CG_MAX2(a, CG_MAX%d(__VA_ARGS__))" % (i, i - 1)
                      for i in range(3, k + 1))
    return PROGRAM % {
        "includes": "\n".join("#include <%s>" % h for h in includes(minor)),
        "maxes": maxes,
        "prints": "\n".join('    printf("%%s %%ld\\n", "%s", (long)(%s));' % (n, e) for n, e in fs),
        "bits": "\n".join("    STATE_BITS(%s);" % b for b in STATE_BITS),
    }


def measure(minor, inc, cc=None):
    """{field: value} and {bitfield: (shift, width)} for one version, from
    the headers in inc; raises RuntimeError when the program fails."""
    cc = cc or os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory(prefix="python-layouts-") as tmp:
        src = os.path.join(tmp, "layout.c")
        exe = os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write(program(minor))
        res = subprocess.run([cc, "-std=gnu11", "-w", "-I", inc, "-I", os.path.join(inc, "internal"),
                              "-o", exe, src], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("3.%d: %s failed:\n%s" % (minor, cc, res.stderr))
        res = subprocess.run([exe], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("3.%d: %s" % (minor, res.stderr.strip()))
    values, bits = {}, {}
    for line in res.stdout.splitlines():
        p = line.split()
        if p[0] == "bits":
            bits[p[1]] = (int(p[2]), int(p[3]))
        else:
            values[p[0]] = int(p[1])
    for n, e in fields(minor):
        values.setdefault(n, -1)
    return values, bits


def render_bits(minor, version, bits):
    """The comment line of one version's state bits."""
    def one(name):
        shift, width = bits[name]
        where = "bit %d" % shift if width == 1 else "bits %d-%d" % (shift, shift + width - 1)
        return "%s %s (mask 0x%x)" % (name, where, ((1 << width) - 1) << shift)
    return " * %d.%d (%s): %s" % (MAJOR, minor, version, ", ".join(one(b) for b in STATE_BITS))


def render_row(minor, values):
    """One row of the table: a designated initializer, one field a line."""
    lines = ["    {", "        .major = %d," % MAJOR, "        .minor = %d," % minor,
             "        .chain = %s," % CHAIN[minor]]
    lines += ["        .%s = %d," % (n, values[n]) for n, e in fields(minor)]
    lines.append("    },")
    return "\n".join(lines)


HEAD = """\
/*
 * python_layouts.c - generated by scripts/python-layouts.py from CPython's
 * headers; do not edit.  Regenerate with
 *     python3 scripts/python-layouts.py > core/runtime/python_layouts.c
 *
 * DESIGN: one row of struct cg_py_layout per minor version (see
 * python_layout.h for what each field is; -1: the version has none),
 * measured with offsetof/sizeof on x86-64 from these installs' headers:
%(versions)s
 * unicode_state is offsetof(PyASCIIObject, state), the struct that holds
 * the bitfields (they have no offsetof of their own); the generator checks
 * that it equals offsetof(hash) + sizeof(Py_hash_t) and that every bit
 * of the fields below lands in those 4 bytes.
 *
 * PyASCIIObject.state bits (in the 32-bit word read little-endian; found
 * by setting each bitfield in a zeroed object):
%(bits)s
 */
#include "core/runtime/python_layout.h"

#include <stddef.h>

static const struct cg_py_layout layouts[] = {
%(rows)s
};

const struct cg_py_layout *cg_py_layout_find(unsigned major, unsigned minor)
{
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
        if (layouts[i].major == major && layouts[i].minor == minor)
            return &layouts[i];
    return NULL;
}
"""


def generate(minors=MINORS, root=None):
    versions, bits, rows = [], [], []
    for minor in minors:
        found = find_install(minor, root)
        if not found:
            raise RuntimeError("no headers of %d.%d under %s/versions (pyenv install %d.%d)"
                               % (MAJOR, minor, root or pyenv_root(), MAJOR, minor))
        version, inc = found
        values, b = measure(minor, inc)
        versions.append(" *   %s" % version)
        bits.append(render_bits(minor, version, b))
        rows.append(render_row(minor, values))
    return HEAD % {"versions": "\n".join(versions), "bits": "\n".join(bits),
                   "rows": "\n".join(rows)}


def main():
    if platform.machine() != "x86_64":
        print("python-layouts: the table is x86-64's; this machine is %s"
              % platform.machine(), file=sys.stderr)
        return 1
    try:
        text = generate()
    except RuntimeError as e:
        print("python-layouts: %s" % e, file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
