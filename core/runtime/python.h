/*
 * python.h - Python frames from a CPython interpreter's own frame chain,
 * in any process that runs one (python3, or a program embedding
 * libpython), 3.8 to 3.13, with no flag and no trampoline (docs/python.md).
 *
 * The agent thread polls: once an interpreter is loaded and initialised
 * it checks the version's layout (core/runtime/python_layout.h) against
 * the live interpreter and publishes a sampler.  The signal handler
 * (cg_py_walk_sigsafe) then appends the interrupted thread's Python
 * frames to its record as tagged words (three per frame: tag word with
 * the instruction offset, code object, and on 3.10 and older the type of
 * the frame's first argument); the agent thread reads the same chain for
 * threads that wait (cg_py_walk_thread), turns each frame into a name,
 * file and line at drain time (cg_py_resolve), and the report puts them
 * in place of the evaluator's native frames (cg_py_merge).
 *
 * Owns: the sampler (never freed once published: a handler may hold it),
 * the code-object cache and every name and file string it hands out
 * (valid until cg_py_free).
 * Thread safety: everything but cg_py_walk_sigsafe on the agent thread.
 * Signal safety: cg_py_walk_sigsafe is async-signal-safe (no lock, no
 * allocation, no reference count; reads bounded and checked as python.c
 * explains); nothing else is.
 */
#ifndef CG_PYTHON_H
#define CG_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_py;

/* Python frames travel after a record's native frames, three words each
 * (core/sample/ring.h keeps the tag apart from PCs and Java words):
 *   word 0: CG_PY_WORD_TAG | flags << 32 | low 32 bits
 *   word 1: raw: the code object; resolved: a function id
 *   word 2: raw: the type of the first argument (3.10 and older), or 0
 * The low 32 bits hold the instruction's byte offset in the raw form and
 * the source line (0: unknown) once resolved. */
#define CG_PY_WORD_MASK 0xffff000000000000ull
#define CG_PY_WORD_TAG 0xc0de000000000000ull
#define CG_PY_WORDS 3
#define CG_PY_ENTRY (1u << 0)    /* first frame an evaluator call ran */
#define CG_PY_RESOLVED (1u << 1) /* word 1 is a function id */
#define CG_PY_CUT (1u << 2)      /* on the last frame: the chain went on (out
                                    of room or frames); its root side is lost */
#define CG_PY_NO_OFFSET 0xffffffffu

static inline bool cg_word_is_py(uint64_t w)
{
    return (w & CG_PY_WORD_MASK) == CG_PY_WORD_TAG;
}

/* Small and inert until an interpreter shows up.  NULL when out of
 * memory. */
struct cg_py *cg_py_new(void);
void cg_py_free(struct cg_py *py);

/* Agent thread, before each drain (the final one too) and each wall
 * tick: what was read of code objects before is read again, once, before
 * it is trusted. */
void cg_py_begin(struct cg_py *py);

/* Agent thread, every drain.  modules_changed: libraries were loaded or
 * unloaded since the last call.  Returns true while a sampler is
 * published. */
bool cg_py_poll(struct cg_py *py, bool modules_changed);

/* Agent thread: an interpreter was found but is not attached yet (it is
 * starting), and not given up on. */
bool cg_py_pending(const struct cg_py *py);

/* Appends the interrupted thread's Python frames (leaf first) to words,
 * at most max_words.  [stack_lo, stack_hi): the thread's stack, 0,0 when
 * unknown.  Returns the words written (a multiple of CG_PY_WORDS), 0 when
 * no interpreter is attached or the thread runs no Python code.
 * Async-signal-safe; only from the profiling signal's handler. */
size_t cg_py_walk_sigsafe(uint64_t stack_lo, uint64_t stack_hi, uint64_t *words,
                          size_t max_words);

/* Agent thread, before a round of cg_py_walk_thread calls: reads which
 * thread state belongs to which thread (one walk of the interpreter's
 * thread list, checked reads). */
void cg_py_threads_snapshot(struct cg_py *py);

/* Agent thread: the Python frames of thread `tid` (another thread of this
 * process, stopped or not; found in the last snapshot), read through
 * checked reads; same words as the handler writes.  Returns the words
 * written, 0 when none. */
size_t cg_py_walk_thread(struct cg_py *py, pid_t tid, uint64_t *words, size_t max_words);

/* Agent thread, at drain: copies n words to out, rewriting raw Python
 * frames as resolved ones (a frame whose code object no longer reads as
 * one is dropped).  Returns the words written (at most n). */
size_t cg_py_resolve(struct cg_py *py, const uint64_t *in, size_t n, uint64_t *out);

/* One frame of a merged stack: a native PC, or a resolved Python frame. */
struct cg_py_merged {
    bool python;
    uint64_t pc;      /* native: the PC as recorded */
    bool leaf;        /* native: the interrupted PC, not a return address */
    const char *name; /* Python: "module:Class:function" */
    const char *file;
    int line;         /* 0: unknown */
};

/* Agent thread, at report: the stack (leaf first, as stackagg holds it:
 * native PCs, then resolved Python words) as one list, leaf first, each
 * run of Python frames in place of the evaluator frame that ran it.
 * Returns the entries written to out (at most max). */
size_t cg_py_merge(const struct cg_py *py, const uint64_t *words, size_t n,
                   struct cg_py_merged *out, size_t max);

/* The evaluator function's code, [*start, *end); false when unknown. */
bool cg_py_eval_range(const struct cg_py *py, uint64_t *start, uint64_t *end);

/* Bytes held by the cache and names. */
size_t cg_py_bytes(const struct cg_py *py);

#endif
