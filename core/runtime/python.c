/*
 * python.c - finding a CPython interpreter in this process, checking that
 * the agent's idea of its layout is right, and publishing the sampler
 * (docs/python.md).
 *
 * DESIGN: everything runs on the agent thread, from cg_py_poll.
 *   - Finding it: `_PyRuntime` is looked up (dlsym, then each loaded
 *     libpython by name, for an interpreter embedded with RTLD_LOCAL)
 *     after each library load, never in a process that has none.  The
 *     version is `Py_Version` (3.11+) or the string Py_GetVersion
 *     returns (it only formats constants).
 *   - Layout: the version's table (python_layout.h); on 3.13+ the
 *     interpreter's own _Py_DebugOffsets (cookie "xdebugpy" at the start
 *     of _PyRuntime) overrides every offset it gives.
 *   - Checking, through checked reads, before anything is published: the
 *     thread-state key is initialised and a valid key number; every
 *     thread state on the main interpreter's list points back at it; at
 *     least one thread's chain has been read and every frame on it names
 *     an object whose type is the exported PyCode_Type, whose name is a
 *     str.  Until a chain has been seen the check waits (an interpreter
 *     that is still starting); a failed check is one log line and native
 *     frames for the rest of the process.
 * What it won't do: call into the interpreter (but Py_GetVersion), take
 * its locks, or change a reference count.
 */
#include "core/runtime/python_internal.h"

#include "core/base/log.h"
#include "core/symbols/dynsym.h"
#include "core/symbols/python_names.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Checks in a row that find no code object but other things, before the
 * layout is given up on. */
#define BAD_CHECKS 3
/* _PyRuntime.interpreters is {mutex, head, main, ...} on 3.8-3.13: head
 * is the newest interpreter, main the one whose threads are the
 * program's. */
#define MAIN_AFTER_HEAD 8
/* Thread states looked at on one list, at most. */
#define MAX_THREADS 4096

struct cg_py *cg_py_new(void)
{
    struct cg_py *py = calloc(1, sizeof(*py));
    if (!py)
        return NULL;
    py->walk_mem = calloc(1, sizeof(*py->walk_mem));
    py->code_mem = calloc(1, sizeof(*py->code_mem));
    if (!py->walk_mem || !py->code_mem) {
        cg_py_free(py);
        return NULL;
    }
    py->pthread_tid_off = -1;
    return py;
}

void cg_py_free(struct cg_py *py)
{
    if (!py)
        return;
    cg_py_code_free(py);
    free(py->threads);
    free(py->walk_mem);
    free(py->code_mem);
    free(py);
}

static bool give_up(struct cg_py *py, const char *why)
{
    CG_WARN("python: CPython %u.%u: %s: native frames only (docs/python.md)", py->major,
            py->minor, why);
    py->failed = true;
    return false;
}

/* Copies out the path of the first libpython3 loaded.  Nothing is
 * opened here: the callback runs under the loader's lock, and a dlopen
 * from inside it deadlocks against a program thread in dlopen. */
static int find_libpython(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    char *path = data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libpython3") ||
        strlen(info->dlpi_name) >= PATH_MAX)
        return 0;
    strcpy(path, info->dlpi_name);
    return 1;
}

/* The interpreter's definition of `name`, wherever it was loaded (an
 * embedder may have loaded libpython RTLD_LOCAL). */
static void *py_symbol(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    if (p)
        return p;
    char path[PATH_MAX] = "";
    dl_iterate_phdr(find_libpython, path);
    void *h = path[0] ? dlopen(path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    if (!h)
        return NULL;
    p = dlsym(h, name);
    dlclose(h);
    return p;
}

static bool read_version(struct cg_py *py)
{
    const unsigned long *hex = py_symbol("Py_Version");
    if (hex) {
        py->major = (unsigned)(*hex >> 24);
        py->minor = (unsigned)((*hex >> 16) & 0xff);
        return true;
    }
    const char *(*get_version)(void) = (const char *(*)(void))py_symbol("Py_GetVersion");
    return get_version && sscanf(get_version(), "%u.%u", &py->major, &py->minor) == 2;
}

/* 3.13+: the interpreter's own offsets (pycore_debug_offsets.h). */
static bool apply_debug_offsets(struct cg_py *py)
{
    uint64_t d[64];
    if (!cg_py_read(py->code_mem, py->runtime, d, sizeof(d)) || memcmp(d, "xdebugpy", 8) != 0)
        return false;
    struct cg_py_layout *L = &py->L;
    /* Word indexes in _Py_DebugOffsets as 3.13 lays it out: cookie,
     * version, free_threaded, then each struct's size and fields. */
    if (d[2] != 0)
        return false; /* a free-threaded build: not supported */
    L->runtime_finalizing = (long)d[4];
    L->runtime_interpreters_head = (long)d[5];
    L->interp_threads_head = (long)d[9];
    L->tstate_next = (long)d[21];
    L->tstate_interp = (long)d[22];
    L->tstate_frame = (long)d[23];
    L->tstate_thread_id = (long)d[24];
    L->tstate_native_thread_id = (long)d[25];
    L->tstate_datastack_chunk = (long)d[26];
    L->frame_previous = (long)d[29];
    L->frame_code = (long)d[30];
    L->frame_instr = (long)d[31];
    L->frame_localsplus = (long)d[32];
    L->frame_owner = (long)d[33];
    L->code_filename = (long)d[35];
    L->code_name = (long)d[36];
    L->code_qualname = (long)d[37];
    L->code_linetable = (long)d[38];
    L->code_firstlineno = (long)d[39];
    L->code_argcount = (long)d[40];
    L->code_varnames = (long)d[41];
    L->code_adaptive = (long)d[43];
    return true;
}

#ifdef __GLIBC__
static bool find_eval_ranges(struct cg_py *py)
{
    void *eval = py_symbol("_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!eval || !dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
        return false;
    py->eval[0].start = (uintptr_t)eval;
    py->eval[0].end = (uintptr_t)eval + sym->st_size;
    py->n_eval = 1;
    return true;
}
#else
/* musl has no dladdr1: the size comes from the object's own dynamic
 * symbol table (core/symbols/dynsym.h), the object named by dladdr. */
static bool find_eval_ranges(struct cg_py *py)
{
    static const char *const names[] = {"_PyEval_EvalFrameDefault"};
    void *eval = py_symbol(names[0]);
    Dl_info info;
    struct cg_code_range r;
    if (!eval || !dladdr(eval, &info) || !info.dli_fname ||
        cg_dynsym_ranges(info.dli_fname, names, 1, &r, 1) != 1 || r.start != (uintptr_t)eval)
        return false;
    py->eval[0].start = r.start;
    py->eval[0].end = r.end;
    py->n_eval = 1;
    return true;
}
#endif

/* The offset of the kernel tid in glibc's (or musl's) struct pthread,
 * found in this thread's own: 3.10 and older know a thread by its
 * pthread_t only. */
static long find_pthread_tid_offset(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    const pid_t *p = (const pid_t *)(uintptr_t)pthread_self();
    for (long i = 0; i < 1024 / (long)sizeof(pid_t); i++)
        if (p[i] == tid)
            return i * (long)sizeof(pid_t);
    return -1;
}

static bool is_type(struct cg_py *py, uint64_t obj, uint64_t type)
{
    uint64_t t = 0;
    return cg_py_read_word(py->code_mem, obj + (uint64_t)py->L.object_type, &t) && t == type;
}

/* 1: the layout holds: frames read through it name code objects; 0: no
 * frame seen yet; -1: what was read is not what the layout says.  The
 * threads run while their chains are read, so one torn frame proves
 * nothing: a layout that finds real code objects at all is right (a
 * wrong one does not land on PyCode_Type-typed objects by chance), and
 * one that finds only other things is wrong once that repeats. */
static int check_layout(struct cg_py *py, uint64_t interp)
{
    const struct cg_py_layout *L = &py->L;
    uint64_t t = 0, words[CG_PY_WORDS * 64];
    if (!cg_py_read_word(py->code_mem, interp + (uint64_t)L->interp_threads_head, &t))
        return -1;
    size_t good = 0, bad = 0;
    for (unsigned i = 0; t && i < MAX_THREADS; i++) {
        uint64_t back = 0, next = 0;
        if (!cg_py_read_word(py->code_mem, t + (uint64_t)L->tstate_interp, &back) ||
            !cg_py_read_word(py->code_mem, t + (uint64_t)L->tstate_next, &next)) {
            bad++;
            break;
        }
        if (back != interp) {
            bad++;
            break; /* not a thread state of this interpreter: the list ends */
        }
        cg_own_mem_reset(py->walk_mem);
        size_t n = cg_py_walk_remote(L, py->walk_mem, t, words, sizeof(words) / sizeof(words[0]));
        for (size_t w = 0; w < n; w += CG_PY_WORDS) {
            uint64_t name = 0;
            if (is_type(py, words[w + 1], py->code_type) &&
                cg_py_read_word(py->code_mem, words[w + 1] + (uint64_t)L->code_name, &name) &&
                is_type(py, name, py->unicode_type))
                good++;
            else
                bad++;
        }
        t = next;
    }
    return good ? 1 : bad ? -1 : 0;
}

/* Once, when the interpreter is found: its layout and the symbols the
 * checks need.  False (and given up) when any is missing. */
static bool find_interpreter(struct cg_py *py)
{
    const struct cg_py_layout *table = cg_py_layout_find(py->major, py->minor);
    if (!table)
        return give_up(py, "no layout for this version");
    py->L = *table;
#if defined(__aarch64__)
    /* The tables are x86-64's.  Up to 3.11 the key sits after the GIL's
     * two pthread mutexes, 8 bytes larger each on aarch64; nothing else
     * read here moves (python_layout.h). */
    if (py->major == 3 && py->minor <= 11)
        py->L.runtime_tss_key += 16;
#endif
    cg_own_mem_reset(py->code_mem);
    if (py->major > 3 || (py->major == 3 && py->minor >= 13))
        if (!apply_debug_offsets(py))
            return give_up(py, "its debug offsets are missing or not as expected");
    py->code_type = (uint64_t)(uintptr_t)py_symbol("PyCode_Type");
    py->unicode_type = (uint64_t)(uintptr_t)py_symbol("PyUnicode_Type");
    py->bytes_type = (uint64_t)(uintptr_t)py_symbol("PyBytes_Type");
    py->tuple_type = (uint64_t)(uintptr_t)py_symbol("PyTuple_Type");
    if (!py->code_type || !py->unicode_type || !py->bytes_type || !py->tuple_type)
        return give_up(py, "it exports no PyCode_Type, PyUnicode_Type, PyBytes_Type or PyTuple_Type");
    if (!find_eval_ranges(py))
        return give_up(py, "its _PyEval_EvalFrameDefault cannot be found");
    return true;
}

/* Each poll until it succeeds: is the interpreter started, and does its
 * data read as the layout says? */
static bool attach(struct cg_py *py)
{
    struct {
        int initialized;
        unsigned key;
    } tss;
    uint64_t interp = 0;
    if (!cg_py_read_word(py->code_mem, py->runtime + (uint64_t)py->L.runtime_interpreters_head + MAIN_AFTER_HEAD,
                         &interp) ||
        !interp)
        return false; /* not initialised yet */
    if (!cg_py_read(py->code_mem, py->runtime + (uint64_t)py->L.runtime_tss_key, &tss, sizeof(tss)))
        return give_up(py, "its thread-state key cannot be read");
    if (tss.initialized != 1)
        return false; /* not initialised yet */
    if (tss.key >= 1024)
        return give_up(py, "its thread-state key is not one (wrong layout?)");
    int ok = check_layout(py, interp);
    if (ok < 0 && ++py->bad_checks >= BAD_CHECKS)
        return give_up(py, "its thread states or frames do not read as this version lays them "
                           "out");
    if (ok < 0)
        return false;
    py->bad_checks = 0;
    if (ok == 0)
        return false; /* no frame read yet: never trusted unseen */
    if (py->minor <= 10 && (py->pthread_tid_off = find_pthread_tid_offset()) < 0)
        CG_INFO("python: the thread id in struct pthread was not found: waiting threads "
                "show native frames only");
    py->lines_kind = py->minor <= 9 ? CG_PY_LNOTAB
                     : py->minor == 10 ? CG_PY_LINETABLE_310
                                       : CG_PY_LOCATIONS;
    py->roots = cg_python_roots_of_process();
    struct py_sampler *s = calloc(1, sizeof(*s));
    if (!s)
        return give_up(py, "out of memory");
    s->L = py->L;
    s->tss_key = (pthread_key_t)tss.key;
    s->finalizing = (const volatile uint64_t *)(uintptr_t)(py->runtime +
                                                          (uint64_t)py->L.runtime_finalizing);
    py->sampler = s;
    atomic_store_explicit(&cg_py_sampler, s, memory_order_release);
    py->attached = true;
    CG_INFO("python: CPython %u.%u: Python frames from the interpreter's frame chain", py->major,
            py->minor);
    return true;
}

bool cg_py_eval_range(const struct cg_py *py, uint64_t *start, uint64_t *end)
{
    if (!py || !py->n_eval)
        return false;
    *start = py->eval[0].start;
    *end = py->eval[0].end;
    return true;
}

void cg_py_begin(struct cg_py *py)
{
    if (!py)
        return;
    py->gen++;
    cg_own_mem_reset(py->code_mem);
}

bool cg_py_pending(const struct cg_py *py)
{
    return py && py->runtime && !py->attached && !py->failed;
}

bool cg_py_poll(struct cg_py *py, bool modules_changed)
{
    if (!py || py->failed)
        return false;
    if (py->attached)
        return true;
    if (!py->runtime) {
        if (!modules_changed && py->polls++ > 0)
            return false;
        py->polls = 0;
        py->runtime = (uint64_t)(uintptr_t)py_symbol("_PyRuntime");
        if (!py->runtime)
            return false;
        if (!read_version(py)) {
            py->runtime = 0;
            return false;
        }
        if (!find_interpreter(py))
            return false;
    }
    cg_own_mem_reset(py->code_mem);
    return attach(py);
}

/* The kernel thread id of thread state t; 0 when unreadable. */
static uint64_t tid_of(struct cg_py *py, struct cg_own_mem *m, uint64_t t)
{
    const struct cg_py_layout *L = &py->L;
    uint64_t id = 0, pt = 0;
    int32_t ktid = 0;
    if (L->tstate_native_thread_id >= 0)
        return cg_py_read_word(m, t + (uint64_t)L->tstate_native_thread_id, &id) ? id : 0;
    if (py->pthread_tid_off < 0 || !cg_py_read_word(m, t + (uint64_t)L->tstate_thread_id, &pt) ||
        !cg_py_read(m, pt + (uint64_t)py->pthread_tid_off, &ktid, sizeof(ktid)))
        return 0;
    return (uint64_t)(int64_t)ktid;
}

void cg_py_threads_snapshot(struct cg_py *py)
{
    if (!py || !py->attached)
        return;
    py->n_threads = 0;
    if (!py->threads && !(py->threads = calloc(MAX_THREADS, sizeof(*py->threads))))
        return;
    const struct cg_py_layout *L = &py->L;
    struct cg_own_mem *m = py->walk_mem;
    uint64_t interp = 0, t = 0;
    cg_own_mem_reset(m);
    if (!cg_py_read_word(m, py->runtime + (uint64_t)L->runtime_interpreters_head + MAIN_AFTER_HEAD,
                           &interp) ||
        !cg_py_read_word(m, interp + (uint64_t)L->interp_threads_head, &t))
        return;
    while (t && py->n_threads < MAX_THREADS) {
        uint64_t id = tid_of(py, m, t);
        if (id)
            py->threads[py->n_threads++] = (struct py_thread){id, t};
        if (!cg_py_read_word(m, t + (uint64_t)L->tstate_next, &t))
            return;
    }
}

size_t cg_py_walk_thread(struct cg_py *py, pid_t tid, uint64_t *words, size_t max_words)
{
    if (!py || !py->attached)
        return 0;
    for (size_t i = 0; i < py->n_threads; i++) {
        if (py->threads[i].tid == (uint64_t)tid) {
            cg_own_mem_reset(py->walk_mem);
            return cg_py_walk_remote(&py->L, py->walk_mem, py->threads[i].tstate, words,
                                     max_words);
        }
    }
    return 0;
}
