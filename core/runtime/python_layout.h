/*
 * python_layout.h - where CPython keeps what the agent reads: byte
 * offsets into the interpreter's structures, one table per minor version
 * 3.8 .. 3.13, computed on x86-64 from each version's own headers by
 * scripts/python-layouts.py and committed as data (python_layouts.c).
 * aarch64 (also LP64) has the same offsets but one: on 3.8 .. 3.11
 * runtime_tss_key is 16 bytes further there, as gilstate follows
 * _PyRuntimeState.ceval, whose GIL holds two pthread_mutex_t (40 bytes on
 * x86-64, 48 on aarch64).  3.12 and 3.13 match.  (Found by compiling the
 * headers with aarch64's glibc pthread sizes, not on an aarch64 machine.)
 *
 * On 3.13 and newer the interpreter publishes most of these itself, in
 * the _Py_DebugOffsets at the start of _PyRuntime (cookie "xdebugpy");
 * python.c prefers those and takes from the table only what they lack
 * (the thread-state key, the stack chunk's fields).  Every table is
 * validated against the running interpreter before it is used
 * (python.c): a wrong one costs the Python frames, never a fault.
 *
 * Owns: nothing (constant data).
 * Thread safety: read-only; any thread.
 * Signal safety: the tables are plain constant data; reading them is
 * async-signal-safe.
 */
#ifndef CG_PYTHON_LAYOUT_H
#define CG_PYTHON_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* Which frame chain a version has. */
enum cg_py_chain {
    CG_PY_CHAIN_FRAMEOBJ = 1, /* 3.8-3.10: PyThreadState.frame -> PyFrameObject.f_back */
    CG_PY_CHAIN_CFRAME,       /* 3.11-3.12: tstate.cframe->current_frame -> _PyInterpreterFrame */
    CG_PY_CHAIN_IFRAME,       /* 3.13+: tstate.current_frame -> _PyInterpreterFrame */
};

/* Byte offsets; -1: the version has no such field. */
struct cg_py_layout {
    unsigned major, minor;
    enum cg_py_chain chain;
    /* _PyRuntimeState */
    long runtime_interpreters_head; /* PyInterpreterState *interpreters.head */
    long runtime_tss_key;           /* Py_tss_t autoTSSkey (gilstate.autoTSSkey to 3.11) */
    long runtime_finalizing;        /* PyThreadState *: non-NULL once the
                                       interpreter is being finalised */
    /* PyInterpreterState */
    long interp_threads_head;       /* tstate_head (to 3.10), threads.head (3.11+) */
    /* PyThreadState */
    long tstate_next;
    long tstate_interp;
    long tstate_thread_id;          /* unsigned long: the pthread_t */
    long tstate_native_thread_id;   /* unsigned long: the kernel tid (3.11+) */
    long tstate_frame;              /* frame (to 3.10), cframe (3.11, 3.12),
                                       current_frame (3.13+) */
    long tstate_datastack_chunk;    /* _PyStackChunk * (3.11+) */
    /* _PyCFrame (3.11, 3.12) */
    long cframe_current_frame;
    /* _PyStackChunk (3.11+) */
    long chunk_previous;
    long chunk_size;                /* size_t: bytes of the whole chunk */
    /* PyFrameObject (to 3.10) or _PyInterpreterFrame (3.11+) */
    long frame_previous;            /* f_back / previous */
    long frame_code;                /* f_code / f_executable */
    long frame_instr;               /* int f_lasti (to 3.10; 3.10 counts code
                                       units, earlier ones bytes), or
                                       _Py_CODEUNIT *prev_instr (3.11, 3.12),
                                       *instr_ptr (3.13+) */
    long frame_owner;               /* char owner (3.11+) */
    long frame_is_entry;            /* bool is_entry (3.11 only) */
    long frame_localsplus;          /* PyObject *localsplus[] / f_localsplus[] */
    long frame_size;                /* bytes worth reading for one frame */
    /* PyCodeObject */
    long code_argcount;             /* int */
    long code_firstlineno;          /* int */
    long code_name;                 /* PyUnicodeObject * */
    long code_qualname;             /* PyUnicodeObject * (3.11+) */
    long code_filename;             /* PyUnicodeObject * */
    long code_linetable;            /* PyBytesObject *: co_lnotab (to 3.9),
                                       co_linetable (3.10+) */
    long code_varnames;             /* tuple: co_varnames (to 3.10),
                                       co_localsplusnames (3.11+) */
    long code_adaptive;             /* co_code_adaptive[] (3.11+): the
                                       instructions, inside the object */
    long code_size;                 /* bytes worth reading for one code object */
    /* Plain objects */
    long object_type;               /* ob_type */
    long type_name;                 /* const char *tp_name */
    long bytes_size, bytes_data;    /* PyBytesObject ob_size, ob_sval */
    long tuple_size, tuple_items;   /* PyTupleObject ob_size, ob_item */
    long unicode_length, unicode_state; /* PyASCIIObject length, state */
    long unicode_ascii_size;        /* sizeof(PyASCIIObject): compact ASCII data */
    long unicode_compact_size;      /* sizeof(PyCompactUnicodeObject): other
                                       compact data */
    /* _PyInterpreterFrame.owner values (3.11+) */
    int owner_generator, owner_cstack; /* -1: none on that version */
};

/* The table for major.minor, or NULL when there is none. */
const struct cg_py_layout *cg_py_layout_find(unsigned major, unsigned minor);

#endif
