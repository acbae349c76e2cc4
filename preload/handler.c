/*
 * handler.c - the SIGPROF handler.
 *
 * DESIGN: everything here is async-signal-safe.  On each CPU-timer signal
 * the handler finds the thread's slot and ring (the agent's one
 * initial-exec thread-local, which never allocates, points at the slot's
 * block: core/base/thread_tls.h), reserves the largest record it could
 * need, lets
 * libunwind's unw_backtrace() write the stack straight into it, drops the
 * handler's own frames (everything above the interrupted PC taken from
 * the ucontext), and commits.  Any failure is a counted drop, never a
 * wait.  No malloc, locks, stdio, logging or getenv.
 *
 * The short walk first: the frame rules the agent thread learned
 * (core/sample/frame_rules.h) take the stack from the interrupted
 * registers in a few instructions a frame, reading only the thread's own
 * stack; a sample with an address the rules do not know goes to
 * unw_backtrace as below, flagged SLOW so the agent learns its addresses.
 * Threads whose stack bounds are unknown (found by the task scan, not
 * registered by themselves) always take unw_backtrace.
 *
 * Why unw_backtrace: on x86-64 it uses libunwind's per-thread trace cache
 * (no global lock, no sigprocmask once warm, ~1 µs for 35 frames), while
 * an unw_step loop takes a global lock and two sigprocmask syscalls per
 * frame with Debian's libunwind 1.6.2 (reference/native-profilers.md §3.5).
 * It unwinds with DWARF CFI, so code without frame pointers is fine.
 *
 * Why samples inside ld.so are not unwound: a cold unwind calls
 * dl_iterate_phdr, whose lock is recursive; a thread interrupted while
 * the loader updates its object list would walk a half-updated list.
 * Such samples keep the interrupted PC only (flag UNWIND_FAILED).  The
 * exception is __tls_get_addr's fast path, which changes no list and
 * holds no lock: code in shared libraries that reads thread-locals
 * (CPython's libpython, on every call) spends up to a tenth of its time
 * there, and those samples keep their stacks.  Its slow path
 * (__tls_get_addr_slow, a separate function) is not exempt.
 *
 * On musl (the musl build, CG_MUSL) libc.so is the loader too, and one
 * lock guards its object list: dlopen holds it for writing throughout,
 * dl_iterate_phdr takes it for reading.  Excluding samples by PC would
 * exclude all of libc and still not help: the deadlock is not only a
 * thread's own (interrupted inside dlopen) but also another's (this
 * thread holds malloc's lock, which that dlopen waits for while this
 * handler waits for its loader lock).  Of the two designs, wrapping
 * dlopen to know when some thread is inside the loader, or never asking
 * the loader from the handler, the second is taken: the handler's only
 * way to the loader is libunwind's cold path (dl_iterate_phdr), and in
 * that build every dl_iterate_phdr call is linked to a wrapper that, in
 * the handler, answers from the list of objects the agent thread keeps
 * (core/sample/loaded_objects.h).  A dlopen wrapper would have to catch
 * every way into the loader (dlopen through dlsym'd pointers, libraries
 * that open others), and to close the window between its check and the
 * handler's lock it would have to make dlopen wait for the handlers;
 * the list needs neither, costs nothing per sample, and only leaves
 * libraries loaded since the agent's last drain without libunwind
 * tables in the handler (musl never unloads, so the list never goes
 * stale).  libunwind's walk out of the handler passes musl's signal
 * trampoline, which it learns from core/sample/sigreturn.h.
 *
 * Why merged expiries are usually charged to the sample: the kernel
 * notices a CPU timer's expiry only at a tick when the thread is on the
 * CPU, so on a busy machine several expiries arrive as one signal
 * (si_overrun > 0).  That was CPU time of this thread, spent in the code
 * it was running, and the point where the kernel noticed is as random as
 * any sample: the record stands for 1 + si_overrun samples.  Measured on
 * 2 cores with two other busy processes: 35% of expiries came merged (up
 * to 20 in one signal), so one sample per signal under-reported CPU time
 * by a third.  The exception is a signal delivered when the thread
 * unblocks SIGPROF (pthread_sigmask, sigsuspend, swapcontext, ...): the
 * merged expiries are the blocked stretch's, spent elsewhere, so they are
 * counted as dropped instead of being piled onto the unblocking call.
 *
 * Python threads (core/runtime/python.h): once an interpreter is found,
 * the thread's Python frames follow its native ones in the record, read
 * from the interpreter's frame chain; the agent thread names them.
 *
 * Java threads (core/runtime/jvm.h): once a JVM is attached, the native
 * frames are kept up to CG_JAVA_NATIVE_MAX and the Java frames that
 * AsyncGetCallTrace finds follow them in the same record.  The native
 * unwind stops or goes astray at the first JIT or interpreter frame; the
 * agent keeps the native frames only up to the first one in no loaded
 * object, the part above the last Java frame (JNI code, the VM's runtime).
 */
#include "preload/preload.h"

#include "core/agent/agent.h"
#include "core/base/thread_tls.h"
#include "core/runtime/jvm.h"
#include "core/runtime/python.h"
#include "core/sample/count_key.h"
#include "core/sample/frame_rules.h"
#include "core/sample/jit_unwind.h"
#include "core/sample/ring.h"
#ifdef CG_MUSL
#include "core/sample/sigreturn.h"
#endif
#include "core/sample/threads.h"
#include "core/sample/ucontext_regs.h"
#include "core/symbols/dynsym.h"

#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Native frames kept in front of a Java stack: the rest of the record is
 * for Java frames (two words each, (1022 - 256) / 2 = 383 of them). */
#define CG_JAVA_NATIVE_MAX 256

static _Atomic(struct cg_threads *) g_threads;
static _Atomic(const struct cg_frame_rules *) g_rules;

/* [start, end) of ld.so's executable segment; 0,0 when unknown. */
static uintptr_t g_loader_start, g_loader_end;
/* [start, end) of ld.so's __tls_get_addr: unwound all the same (see the
 * DESIGN note); 0,0 when unknown. */
static uintptr_t g_tls_get_addr_start, g_tls_get_addr_end;

/* [start, end) of libc's functions that can unblock SIGPROF and so
 * deliver expiries merged while it was blocked; empty slots are 0,0.
 * Written once by the constructor before the handler is installed. */
#define CG_UNBLOCK_RANGES 24
static struct cg_code_range g_unblock[CG_UNBLOCK_RANGES];

void cg_handler_set_threads(struct cg_threads *threads)
{
    atomic_store_explicit(&g_threads, threads, memory_order_release);
}

void cg_handler_set_rules(const struct cg_frame_rules *rules)
{
    atomic_store_explicit(&g_rules, rules, memory_order_release);
}

void cg_handler_set_current_slot(struct cg_thread_slot *slot)
{
    if (slot)
        slot->block.owner = cg_thread_tls_self();
    cg_thread_tls_set_block(slot ? &slot->block : NULL);
}

static struct cg_thread_slot *slot_of_block(struct cg_thread_block *block)
{
    return (struct cg_thread_slot *)((char *)block - offsetof(struct cg_thread_slot, block));
}

/* The calling thread's ACTIVE slot, or NULL.  The thread's word caches its
 * block; without one (a thread the agent registered from its task scan,
 * or a cache gone stale) the slot is found by tid and cached. */
static struct cg_thread_slot *current_slot_sigsafe(struct cg_threads *threads)
{
    const void *self = cg_thread_tls_self();
    struct cg_thread_block *block = cg_thread_tls_block();
    if (block) {
        struct cg_thread_slot *slot = slot_of_block(block);
        /* The ring has one producer: write only while the slot is ACTIVE
         * and still ours (a retired slot can be claimed by another
         * thread, which zeroes the owner).  Acquire pairs with the release
         * in cg_threads_register. */
        if (atomic_load_explicit(&slot->state, memory_order_acquire) == CG_SLOT_ACTIVE &&
            block->owner == self)
            return slot;
        cg_thread_tls_set_block(NULL);
    }
    /* gettid is a plain system call, async-signal-safe; made only while
     * the thread has no block cached. */
    struct cg_thread_slot *slot = cg_threads_find_sigsafe(threads, (pid_t)syscall(SYS_gettid));
    if (!slot)
        return NULL;
    slot->block.owner = self;
    cg_thread_tls_set_block(&slot->block);
    return slot;
}

#ifdef CG_MUSL
/* No exclusion on musl: the handler never reaches its loader (see the
 * DESIGN note), and its loader's code is all of libc. */
void cg_handler_init_loader_range(void)
{
}

#else
static int find_loader(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "/ld-linux"))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            g_loader_start = info->dlpi_addr + ph->p_vaddr;
            g_loader_end = g_loader_start + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

void cg_handler_init_loader_range(void)
{
    dl_iterate_phdr(find_loader, NULL);
    static const char *const tls[] = {"__tls_get_addr"};
    struct cg_code_range r;
    if (cg_dynsym_ranges("/ld-linux", tls, 1, &r, 1) == 1) {
        g_tls_get_addr_start = r.start;
        g_tls_get_addr_end = r.end;
    }
}
#endif

void cg_handler_init_unblock_ranges(void)
{
    /* libc's own definitions, not an interposer's (a sanitizer's
     * pthread_sigmask ends in libc's anyway).  `syscall` is here because
     * it is how a program changes its mask without libc's wrappers. */
    static const char *const names[] = {
        "pthread_sigmask", "sigprocmask", "sigsuspend", "sigtimedwait", "sigwaitinfo",
        "setcontext",      "swapcontext", "ppoll",      "pselect",      "epoll_pwait",
        "epoll_pwait2",    "syscall",
    };
#ifdef CG_MUSL
    /* musl's libc.so is listed under its loader's name. */
    static const char libc_name[] = "/ld-musl-";
#else
    static const char libc_name[] = "/libc.so.6";
#endif
    cg_dynsym_ranges(libc_name, names, sizeof(names) / sizeof(names[0]), g_unblock,
                     CG_UNBLOCK_RANGES);
}

static bool pc_unblocks_sigprof_sigsafe(uintptr_t pc)
{
    for (size_t i = 0; i < CG_UNBLOCK_RANGES; i++)
        if (pc >= g_unblock[i].start && pc < g_unblock[i].end)
            return true;
    return false;
}

/* The short walk with the learned frame rules; false when it cannot
 * give the whole stack (then rec->pcs holds nothing useful). */
static bool walk_rules_sigsafe(struct cg_sample_rec *rec, const void *ucontext,
                               const struct cg_thread_slot *slot, size_t *depth, unsigned *flags)
{
#if defined(__x86_64__)
    const struct cg_frame_rules *rules = atomic_load_explicit(&g_rules, memory_order_acquire);
    uint64_t lo = atomic_load_explicit(&slot->stack_lo, memory_order_relaxed);
    uint64_t hi = atomic_load_explicit(&slot->stack_hi, memory_order_relaxed);
    if (!rules || !hi)
        return false;
    const ucontext_t *uc = ucontext;
    struct cg_frame_regs regs = {(uint64_t)uc->uc_mcontext.gregs[REG_RIP],
                                 (uint64_t)uc->uc_mcontext.gregs[REG_RSP],
                                 (uint64_t)uc->uc_mcontext.gregs[REG_RBP]};
    unsigned from_tables;
    enum cg_walk_result r =
        cg_frame_rules_walk_sigsafe(rules, &regs, lo, hi, rec->pcs, CG_MAX_UNWIND_FRAMES, depth,
                                    &from_tables, slot->walk_memo);
    if (r == CG_WALK_MISS)
        return false;
    if (from_tables)
        *flags |= CG_REC_LEARN;
    if (r == CG_WALK_FULL)
        *flags |= CG_REC_TRUNCATED;
    return true;
#else
    (void)rec, (void)ucontext, (void)slot, (void)depth, (void)flags;
    return false;
#endif
}

/* Unwinds into rec and trims the handler's own frames.  Returns the
 * number of frames kept. */
static size_t unwind_sigsafe(struct cg_sample_rec *rec, const void *ucontext,
                             const struct cg_thread_slot *slot, uintptr_t pc, unsigned *flags)
{
    /* ld.so: see the DESIGN note.  A generated trampoline's first or last
     * instruction: its registered unwind rule does not hold there
     * (core/sample/jit_unwind.h). */
    bool in_loader = pc >= g_loader_start && pc < g_loader_end &&
                     !(pc >= g_tls_get_addr_start && pc < g_tls_get_addr_end);
    if (in_loader || cg_jit_unwind_leaf_unsafe_sigsafe(pc)) {
        rec->pcs[0] = pc;
        *flags |= CG_REC_UNWIND_FAILED;
        return 1;
    }
    size_t walked;
    if (walk_rules_sigsafe(rec, ucontext, slot, &walked, flags))
        return walked;
    *flags |= CG_REC_SLOW;
    int n = unw_backtrace((void **)rec->pcs, CG_MAX_UNWIND_FRAMES);
    /* Frames above the signal frame are ours (this handler and the
     * sigreturn trampoline); the interrupted PC starts the real stack. */
    int skip = -1;
    for (int i = 0; i < n && i < 8; i++) {
        if (rec->pcs[i] == pc) {
            skip = i;
            break;
        }
    }
    if (skip < 0) {
        rec->pcs[0] = pc;
        *flags |= CG_REC_UNWIND_FAILED;
        return 1;
    }
    if (n == CG_MAX_UNWIND_FRAMES)
        *flags |= CG_REC_TRUNCATED;
    size_t depth = (size_t)(n - skip);
#ifdef CG_MUSL
    /* musl's libc has no unwind tables: past its first frame libunwind
     * only guesses.  The stack ends there, as in the rule walk
     * (core/sample/frame_learn.c). */
    for (size_t i = 0; i < depth; i++) {
        if (cg_sigreturn_in_libc(rec->pcs[i + (size_t)skip])) {
            depth = i + 1;
            *flags &= ~(unsigned)CG_REC_TRUNCATED;
            break;
        }
    }
#endif
    /* memmove is not on every async-signal-safe list; a loop is. */
    for (size_t i = 0; i < depth; i++)
        rec->pcs[i] = rec->pcs[i + (size_t)skip];
    return depth;
}

void cg_handler_sigsafe(int signo, siginfo_t *info, void *ucontext)
{
    (void)signo;
    int saved_errno = errno;
    /* Re-entry guard: a flag of the thread's word (core/base/thread_tls.h),
     * cleared again before the handler returns. */
    if (cg_thread_tls_has(CG_TLS_IN_HANDLER))
        goto out;
    cg_thread_tls_set_flag(CG_TLS_IN_HANDLER, true);
    /* Only our timers: a SIGPROF from kill(2) or someone's itimer is not
     * a CPU sample of this thread. */
    if (info->si_code != SI_TIMER)
        goto done;
    /* Acquire pairs with the release in cg_handler_set_threads. */
    struct cg_threads *threads = atomic_load_explicit(&g_threads, memory_order_acquire);
    if (!threads)
        goto done;
    struct cg_thread_slot *slot = current_slot_sigsafe(threads);
    if (!slot)
        goto done;
    /* clock_gettime is async-signal-safe (and a vDSO call, ~20 ns). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct cg_sample_rec *rec =
        cg_ring_reserve_sigsafe(slot->ring, cg_ring_record_bytes(CG_MAX_UNWIND_FRAMES));
    if (!rec)
        goto done; /* counted by the ring */
    unsigned flags = 0;
    uintptr_t pc = cg_ucontext_pc_sigsafe(ucontext);
    size_t depth = unwind_sigsafe(rec, ucontext, slot, pc, &flags);
    size_t native = depth < CG_JAVA_NATIVE_MAX ? depth : CG_JAVA_NATIVE_MAX;
    size_t java = cg_jvm_walk_sigsafe(ucontext, &rec->pcs[native], CG_MAX_UNWIND_FRAMES - native);
    if (java) {
        flags &= ~(unsigned)(CG_REC_TRUNCATED | CG_REC_UNWIND_FAILED);
        if (java >= CG_MAX_UNWIND_FRAMES - native - 1)
            flags |= CG_REC_TRUNCATED;
        depth = native + java;
    } else {
        /* Python frames after the native ones (core/runtime/python.h). */
        size_t room = CG_MAX_UNWIND_FRAMES - depth;
        size_t py = cg_py_walk_sigsafe(atomic_load_explicit(&slot->stack_lo, memory_order_relaxed),
                                       atomic_load_explicit(&slot->stack_hi, memory_order_relaxed),
                                       &rec->pcs[depth], room);
        if (py) {
            flags |= CG_REC_PYTHON;
            if ((rec->pcs[depth + py - CG_PY_WORDS] >> 32) & CG_PY_CUT)
                flags |= CG_REC_TRUNCATED;
            depth += py;
        }
    }
    rec->depth = (uint16_t)depth;
    rec->key = CG_KEY_RUNNABLE;
    rec->flags = (uint8_t)flags;
    /* Expiries the kernel merged into this signal: see the DESIGN note. */
    uint32_t merged = (uint32_t)(info->si_overrun > 0 ? info->si_overrun : 0);
    if (merged && pc_unblocks_sigprof_sigsafe(pc)) {
        rec->weight = 1;
        rec->missed = merged;
    } else {
        rec->weight = 1 + merged;
        rec->missed = 0;
    }
    rec->size_bytes = (uint32_t)cg_ring_record_bytes(depth);
    /* Deep stacks (Python's three words a frame on top of the native
     * ones) fill a ring in a few samples: past half, drain now. */
    if (cg_ring_commit_sigsafe(slot->ring, rec))
        cg_agent_drain_soon_sigsafe(atomic_load_explicit(&cg_preload_agent,
                                                         memory_order_acquire));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Only this thread writes these: relaxed add is enough. */
    atomic_fetch_add_explicit(&slot->handler_ns,
                              (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L +
                                         (t1.tv_nsec - t0.tv_nsec)),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->handler_calls, 1, memory_order_relaxed);
done:
    cg_thread_tls_set_flag(CG_TLS_IN_HANDLER, false);
out:
    errno = saved_errno;
}
