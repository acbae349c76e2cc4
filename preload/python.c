/*
 * python.c - CPython hosts: Python frames without a flag from the user.
 *
 * DESIGN: the constructor asks the process for `Py_Version` (exported by
 * every CPython >= 3.11, whether libpython is shared or linked into the
 * executable).  On 3.12 and newer:
 *   - getenv is ours: while the agent runs, getenv("PYTHONPERFSUPPORT")
 *     answers "1" when the variable is not set, so the interpreter turns
 *     on its perf trampoline when it reads its configuration (after this
 *     constructor).  Nothing is written to the environment: os.environ
 *     and every child process stay as they were.  A value the user set
 *     (even "0") is returned as it is.  Every other name is looked up the
 *     way glibc's getenv does, in `environ`, with no allocation or lock,
 *     so it is safe before our constructor, in signal handlers and in
 *     threads;
 *   - mprotect is ours: when a region becomes read+execute and holds
 *     copies of the interpreter's trampoline stub (_Py_trampoline_func_start
 *     .. _end, recognised by core/sample/jit_unwind.c), its unwind table is
 *     registered with libunwind before mprotect returns, so no stub of it
 *     has run yet: the handler's unw_backtrace walks through every stub on
 *     its fast path (docs/python.md has the measurements);
 *   - the perf map the interpreter writes (/tmp/perf-PID.map) is removed
 *     at exit (destructor or _exit) when we are the reason it exists, after
 *     the agent's last report has read it.
 * On 3.11 and older: native frames only, said once at info level.
 * On every CPython: the PLT sections of the object holding the
 * interpreter's loop (libpython, or the executable when libpython is
 * linked in) are described to libunwind with a plain rule
 * (core/sample/plt_unwind.h), before any thread of the program runs, so
 * samples interrupted in a PLT entry stay on the fast path: libpython
 * calls its own exported functions through its PLT.  The sections are
 * found from the file's section headers and must lie in the object's
 * loaded executable segments.
 *
 * What it won't do: set environment variables, call into the interpreter,
 * or act on a process that is not CPython.
 */
#include "preload/preload.h"

#include "core/base/environ.h"
#include "core/base/log.h"
#include "core/sample/jit_unwind.h"
#include "core/symbols/elf_sections.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>


/* Set by the constructor (before the interpreter starts), read by getenv. */
static _Atomic bool g_answer_perf;
/* getenv answered "1" for PYTHONPERFSUPPORT: the perf map is ours. */
static _Atomic bool g_answered;
/* The trampoline stub and its layout; g_tramp_ready once both are set. */
static const uint8_t *g_tramp_code;
static struct cg_tramp_layout g_tramp_layout;
static _Atomic bool g_tramp_ready;
static _Atomic bool g_full_logged;

static const char PERF_VAR[] = "PYTHONPERFSUPPORT";

CG_NO_SANITIZE static char *environ_lookup(const char *name)
{
    char **env = cg_environ();
    if (!env || !name[0])
        return NULL;
    size_t len = strlen(name);
    for (; *env; env++)
        if ((*env)[0] == name[0] && strncmp(*env, name, len) == 0 && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

CG_EXPORT char *getenv(const char *name)
{
    char *v = environ_lookup(name);
    if (!v && atomic_load_explicit(&g_answer_perf, memory_order_relaxed) &&
        name[0] == 'P' && strcmp(name, PERF_VAR) == 0) {
        atomic_store_explicit(&g_answered, true, memory_order_relaxed);
        static char one[] = "1";
        return one;
    }
    return v;
}

CG_NO_SANITIZE static void note_exec_region(void *addr, size_t len)
{
    struct cg_tramp_layout l = g_tramp_layout;
    l.copy_bytes = cg_tramp_region_stride(addr, len, g_tramp_code, g_tramp_layout.copy_bytes);
    if (!l.copy_bytes)
        return;
    int rc = cg_jit_unwind_register((uintptr_t)addr, len, &l);
    if (rc == 0)
        CG_DEBUG("python: unwind table for trampolines at %p (%zu bytes)", addr, len);
    else if (!atomic_exchange(&g_full_logged, true))
        CG_INFO("python: no room for more trampoline unwind tables (%d regions); stacks "
                "through later ones end at the first Python frame",
                CG_JIT_UNWIND_MAX_REGIONS);
}

CG_EXPORT int mprotect(void *addr, size_t len, int prot)
{
    /* The system call itself, not libc's wrapper: nothing to resolve, so
     * this works before any constructor and cannot recurse. */
    long rc = syscall(SYS_mprotect, addr, len, prot);
    if (rc == 0 && prot == (PROT_READ | PROT_EXEC) &&
        atomic_load_explicit(&g_tramp_ready, memory_order_acquire)) {
        int saved_errno = errno;
        note_exec_region(addr, len);
        errno = saved_errno;
    }
    return (int)rc;
}

void cg_python_setup(void)
{
    /* Every CPython, whatever its version: see the DESIGN note. */
    const void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    if (eval)
        cg_elf_plt_describe(eval);
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    if (!version) {
        if (dlsym(RTLD_DEFAULT, "Py_GetVersion"))
            CG_INFO("python: CPython older than 3.11: native frames only (docs/python.md)");
        return;
    }
    unsigned major = (unsigned)(*version >> 24), minor = (unsigned)((*version >> 16) & 0xff);
    if (major < 3 || (major == 3 && minor < 12)) {
        CG_INFO("python: CPython %u.%u has no perf trampoline: native frames only "
                "(docs/python.md)", major, minor);
        return;
    }
    const uint8_t *start = dlsym(RTLD_DEFAULT, "_Py_trampoline_func_start");
    const uint8_t *end = dlsym(RTLD_DEFAULT, "_Py_trampoline_func_end");
    if (start && end && end > start &&
        cg_tramp_layout_recognise(start, (size_t)(end - start), &g_tramp_layout)) {
        g_tramp_code = start;
        atomic_store_explicit(&g_tramp_ready, true, memory_order_release);
    } else {
        CG_INFO("python: CPython %u.%u's trampoline is not one this agent can unwind: "
                "Python frames are the leaves' only (docs/python.md)", major, minor);
    }
    if (environ_lookup(PERF_VAR)) {
        CG_DEBUG("python: CPython %u.%u, %s set by the user", major, minor, PERF_VAR);
    } else if (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0) {
        /* The interpreter opens its perf map before it sets up its
         * standard streams: with 0, 1 or 2 closed the map would take that
         * number and sys.stdin (or stdout, stderr) would be it instead of
         * None (docs/internals.md, "Descriptors"). */
        CG_INFO("python: CPython %u.%u started with 0, 1 or 2 closed: the perf trampoline "
                "stays off, native frames only (docs/python.md)", major, minor);
        return;
    } else {
        CG_DEBUG("python: CPython %u.%u, turning the perf trampoline on", major, minor);
    }
    atomic_store_explicit(&g_answer_perf, true, memory_order_relaxed);
}

void cg_python_at_exit_sigsafe(void)
{
    if (!atomic_load_explicit(&g_answered, memory_order_relaxed))
        return;
    /* snprintf is not on the async-signal-safe list: format by hand. */
    char path[40] = "/tmp/perf-";
    char digits[16];
    size_t n = 0;
    for (unsigned long pid = (unsigned long)getpid(); n == 0 || pid; pid /= 10)
        digits[n++] = (char)('0' + pid % 10);
    size_t at = strlen(path);
    while (n)
        path[at++] = digits[--n];
    memcpy(path + at, ".map", 5);
    unlink(path);
}
