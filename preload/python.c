/*
 * python.c - CPython hosts: what the preload does for the interpreter
 * before any of its threads runs.  Python frames themselves come from the
 * interpreter's frame chain (core/runtime/python.h), with no help from
 * the interpreter and no flag.
 *
 * DESIGN: the agent no longer turns on CPython's perf trampoline (it cost
 * Python code up to half its speed: docs/python.md).  A user who turns it
 * on (`-X perf`, PYTHONPERFSUPPORT=1, sys.activate_stack_trampoline) still
 * gets stacks that unwind through its stubs:
 *   - mprotect is ours: when a region becomes read+execute and holds
 *     copies of the interpreter's trampoline stub (_Py_trampoline_func_start
 *     .. _end, recognised by core/sample/jit_unwind.c), its unwind table is
 *     registered with libunwind before mprotect returns, so no stub of it
 *     has run yet;
 *   - the perf map the interpreter then writes is the user's: read like
 *     any JIT map, never removed by the agent.
 * On every CPython: the PLT sections of the object holding the
 * interpreter's loop (libpython, or the executable when libpython is
 * linked in) are described to libunwind with a plain rule
 * (core/sample/plt_unwind.h), before any thread of the program runs, so
 * samples interrupted in a PLT entry stay on the fast path: libpython
 * calls its own exported functions through its PLT.  The sections are
 * found from the file's section headers and must lie in the object's
 * loaded executable segments.
 *
 * What it won't do: set or answer environment variables, call into the
 * interpreter, or act on a process that is not CPython.
 */
#include "preload/preload.h"

#include "core/base/log.h"
#include "core/sample/jit_unwind.h"
#include "core/symbols/elf_sections.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The trampoline stub and its layout; g_tramp_ready once both are set. */
static const uint8_t *g_tramp_code;
static struct cg_tramp_layout g_tramp_layout;
static _Atomic bool g_tramp_ready;
static _Atomic bool g_full_logged;

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
    if (!eval)
        return;
    cg_elf_plt_describe(eval);
    const uint8_t *start = dlsym(RTLD_DEFAULT, "_Py_trampoline_func_start");
    const uint8_t *end = dlsym(RTLD_DEFAULT, "_Py_trampoline_func_end");
    if (start && end && end > start &&
        cg_tramp_layout_recognise(start, (size_t)(end - start), &g_tramp_layout)) {
        g_tramp_code = start;
        atomic_store_explicit(&g_tramp_ready, true, memory_order_release);
    }
}
