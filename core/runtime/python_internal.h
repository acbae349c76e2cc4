/*
 * python_internal.h - what python.c (finding and checking the
 * interpreter), python_walk.c (reading a frame chain), python_code.c
 * (code objects to names and lines) and python_merge.c (one stack of
 * native and Python frames) share.  Private to core/runtime/.
 *
 * Owns: the layout of struct cg_py and of the published sampler.
 * Thread safety: the sampler is written once by the agent thread before
 * it is published (release) and never changed or freed; the rest of
 * struct cg_py is the agent thread's.
 * Signal safety: the sampler is read by the signal handler; only
 * cg_py_walk_sigsafe (python_walk.c) runs there.
 */
#ifndef CG_PYTHON_INTERNAL_H
#define CG_PYTHON_INTERNAL_H

#include "core/runtime/python.h"
#include "core/runtime/python_layout.h"
#include "core/runtime/python_lines.h"
#include "core/sample/own_mem.h"
#include "core/symbols/dynsym.h"

#include <pthread.h>
#include <stdatomic.h>

/* Most frames one walk reads: a loop in a corrupt chain ends here. */
#define CG_PY_MAX_FRAMES 512
/* Bytes of one frame read at once (3.8's PyFrameObject up to
 * f_localsplus[0] is the largest). */
#define CG_PY_FRAME_BYTES 512
/* Evaluator functions whose native frames Python frames replace. */
#define CG_PY_EVAL_RANGES 4

struct py_sampler {
    struct cg_py_layout L;     /* checked against the live interpreter */
    pthread_key_t tss_key;     /* the interpreter's key of each thread's state */
    const volatile uint64_t *finalizing; /* &_PyRuntime's finalizing thread state */
};

struct py_code;   /* python_code.c */
struct py_thread {
    uint64_t tid;
    uint64_t tstate;
};

/* A function handed out: its CodeGuru name and file (python_code.c). */
struct py_func {
    char *name;
    char *file;
};

struct cg_py {
    bool attached, failed;
    unsigned polls;            /* polls before an interpreter was found (the first looks anyway) */
    unsigned bad_checks;       /* layout checks in a row that failed */
    unsigned major, minor;
    uint64_t runtime;          /* &_PyRuntime */
    uint64_t code_type, unicode_type, bytes_type, tuple_type;
    struct cg_code_range eval[CG_PY_EVAL_RANGES];
    size_t n_eval;
    struct py_sampler *sampler; /* published copy: never freed */
    struct cg_py_layout L;
    enum cg_py_linetable lines_kind;
    long pthread_tid_off;      /* struct pthread's tid (3.10 and older); -1 */
    struct cg_own_mem *walk_mem; /* reads of one thread's chain */
    struct cg_own_mem *code_mem; /* reads of code objects, one drain */
    uint64_t gen;              /* drains so far: a code object is re-checked once per drain */
    struct py_thread *threads; /* the last snapshot: thread id to thread state */
    size_t n_threads;
    /* python_code.c */
    struct py_code *codes;     /* open addressing by code object address */
    size_t codes_cap, codes_used;
    struct py_func *funcs;     /* every (name, file) handed out; id = index + 1 */
    size_t funcs_n, funcs_cap;
    uint32_t *func_index;      /* open addressing over funcs by name and file */
    size_t func_index_cap;
    size_t bytes;
    struct cg_python_roots *roots;
};

/* The published sampler, NULL until attached. */
extern _Atomic(struct py_sampler *) cg_py_sampler;

/* Reads through a cg_own_mem (process_vm_readv): never faults. */
bool cg_py_read(struct cg_own_mem *m, uint64_t addr, void *buf, size_t n);
bool cg_py_read_word(struct cg_own_mem *m, uint64_t addr, uint64_t *out);

/* Walks the chain of thread state `tstate` with checked reads (agent
 * thread).  Same words as the handler writes. */
size_t cg_py_walk_remote(const struct cg_py_layout *L, struct cg_own_mem *m, uint64_t tstate,
                         uint64_t *words, size_t max_words);

/* Forgets the code cache (python_code.c): after a fork, or never. */
void cg_py_code_free(struct cg_py *py);

/* The name and file of a resolved frame's function id (python_code.c). */
const char *cg_py_func_name(const struct cg_py *py, uint64_t id, const char **file);

/* A UTF-8 copy of a str object (checked reads), or NULL. */
char *cg_py_read_str(struct cg_py *py, struct cg_own_mem *m, uint64_t obj);

#endif
