/*
 * plt_unwind_fast_test.c - PLT sections described to libunwind: the PLT
 * layouts linkers emit are recognised (lazy, IBT, .plt.got) and others
 * refused, and a sample interrupted on a real PLT entry (this program's
 * own call to getppid, reached by single-stepping with the trap flag)
 * unwinds through the entry to its caller on libunwind's fast trace: once
 * the thread's trace cache is warm, unw_backtrace calls unw_step at most
 * once there (as at any signal-interrupted PC), against one or more per frame before the PLT is described
 * (the slow path).  Registering must also flush libunwind's register-state
 * cache, which remembered the linker's rule for the entry.
 * unw_step is counted through libunwind's own PLT (this program exports
 * _ULx86_64_step, which libunwind's internal calls bind to).
 */
#include "core/sample/jit_unwind.h"
#include "core/sample/plt_unwind.h"
#include "core/symbols/elf_sections.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <cmocka.h>

/* ---- recognising layouts ---- */

static void put_entry(uint8_t *at, const uint8_t *e, size_t n, uint8_t operand)
{
    memcpy(at, e, n);
    /* Vary the operand bytes between entries, as a real PLT does. */
    for (size_t i = 0; i < n; i++)
        if (at[i] == 0xaa)
            at[i] = operand;
}

static void lazy_plt_is_recognised_without_plt0(void **state)
{
    (void)state;
    static const uint8_t plt0[16] = {0xff, 0x35, 1, 2, 3, 4, 0xff, 0x25, 5, 6, 7, 8,
                                     0x0f, 0x1f, 0x40, 0x00};
    static const uint8_t entry[16] = {0xff, 0x25, 0xaa, 0xaa, 0xaa, 0xaa, 0x68, 0xaa,
                                      0xaa, 0xaa, 0xaa, 0xe9, 0xaa, 0xaa, 0xaa, 0xaa};
    uint8_t sec[64];
    memcpy(sec, plt0, 16);
    for (int i = 1; i < 4; i++)
        put_entry(sec + 16 * i, entry, 16, (uint8_t)i);
    size_t first = 99;
    struct cg_tramp_layout l;
    assert_true(cg_plt_layout_recognise(sec, sizeof(sec), 16, &first, &l));
    assert_int_equal(first, 16);
    assert_int_equal(l.copy_bytes, 16);
    assert_int_equal(l.body_start, 0);
    assert_int_equal(l.body_end, 11); /* after the push the CFA is rsp + 16 */
    assert_int_equal(l.cfa_offset, 8);
}

static void ibt_plt_sec_and_plt_got_are_recognised(void **state)
{
    (void)state;
    size_t first;
    struct cg_tramp_layout l;
    /* .plt.sec: endbr64; bnd jmp *GOT(%rip); nopl. */
    static const uint8_t sec_entry[16] = {0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, 0xaa,
                                          0xaa, 0xaa, 0xaa, 0x0f, 0x1f, 0x44, 0x00, 0x00};
    uint8_t sec[48];
    for (int i = 0; i < 3; i++)
        put_entry(sec + 16 * i, sec_entry, 16, (uint8_t)(i + 1));
    assert_true(cg_plt_layout_recognise(sec, sizeof(sec), 16, &first, &l));
    assert_int_equal(first, 0);
    assert_int_equal(l.body_end, 16);
    /* IBT .plt: PLT0, then endbr64; push $n; bnd jmp PLT0; nop. */
    static const uint8_t ibt0[16] = {0xff, 0x35, 1, 2, 3, 4, 0xf2, 0xff, 0x25, 5, 6, 7, 8,
                                     0x0f, 0x1f, 0x00};
    static const uint8_t ibt_entry[16] = {0xf3, 0x0f, 0x1e, 0xfa, 0x68, 0xaa, 0xaa, 0xaa,
                                          0xaa, 0xf2, 0xe9, 0xaa, 0xaa, 0xaa, 0xaa, 0x90};
    memcpy(sec, ibt0, 16);
    put_entry(sec + 16, ibt_entry, 16, 1);
    put_entry(sec + 32, ibt_entry, 16, 2);
    assert_true(cg_plt_layout_recognise(sec, sizeof(sec), 16, &first, &l));
    assert_int_equal(first, 16);
    assert_int_equal(l.body_end, 9);
    /* .plt.got: jmp *GOT(%rip); xchg %ax,%ax. */
    static const uint8_t got_entry[8] = {0xff, 0x25, 0xaa, 0xaa, 0xaa, 0xaa, 0x66, 0x90};
    uint8_t got[24];
    for (int i = 0; i < 3; i++)
        put_entry(got + 8 * i, got_entry, 8, (uint8_t)(i + 1));
    assert_true(cg_plt_layout_recognise(got, sizeof(got), 8, &first, &l));
    assert_int_equal(first, 0);
    assert_int_equal(l.copy_bytes, 8);
    assert_int_equal(l.body_end, 8);
}

static void unknown_or_uneven_entries_are_refused(void **state)
{
    (void)state;
    size_t first;
    struct cg_tramp_layout l;
    static const uint8_t got_entry[8] = {0xff, 0x25, 0xaa, 0xaa, 0xaa, 0xaa, 0x66, 0x90};
    uint8_t got[24];
    for (int i = 0; i < 3; i++)
        put_entry(got + 8 * i, got_entry, 8, (uint8_t)(i + 1));
    assert_false(cg_plt_layout_recognise(got, sizeof(got), 12, &first, &l)); /* entsize */
    assert_false(cg_plt_layout_recognise(got, sizeof(got) - 1, 8, &first, &l));
    assert_false(cg_plt_layout_recognise(got, sizeof(got), 0, &first, &l));
    got[16 + 7] = 0xcc; /* the last entry's padding differs */
    assert_false(cg_plt_layout_recognise(got, sizeof(got), 8, &first, &l));
    /* Ordinary code (sub $8,%rsp; ...) is not a PLT. */
    static const uint8_t code[16] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83,
                                     0xc4, 0x08, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90};
    assert_false(cg_plt_layout_recognise(code, sizeof(code), 16, &first, &l));
}

/* ---- a sample on a real PLT entry ---- */

static int (*g_real_step)(unw_cursor_t *);
static _Atomic unsigned g_steps;

/* libunwind's fast trace calls unw_step once per new PC; its slow path
 * once per frame, every time.  Both go through libunwind's PLT. */
__attribute__((visibility("default"))) int unw_step(unw_cursor_t *c)
{
    g_steps++;
    return g_real_step(c);
}

struct plt_ranges {
    uintptr_t lo[4], hi[4];
    size_t n;
};
static struct plt_ranges g_plt;

struct sample {
    uintptr_t pc;
    void *pcs[64];
    int depth;
    unsigned steps; /* unw_step calls during this sample's unw_backtrace */
};
static struct sample g_sample;
static unsigned g_trap_budget;

static bool in_plt(uintptr_t pc)
{
    for (size_t i = 0; i < g_plt.n; i++)
        if (pc >= g_plt.lo[i] && pc < g_plt.hi[i])
            return true;
    return false;
}

static void on_trap(int signo, siginfo_t *info, void *ucontext)
{
    (void)signo;
    (void)info;
    ucontext_t *uc = ucontext;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    bool stop = --g_trap_budget == 0;
    if (in_plt(pc) && !g_sample.pc) {
        g_sample.pc = pc;
        unsigned before = g_steps;
        g_sample.depth = unw_backtrace(g_sample.pcs, 64);
        g_sample.steps = g_steps - before;
        stop = true;
    }
    if (stop)
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L; /* clear the trap flag */
}

/* Calls getppid through this program's PLT, single-stepping until the
 * first PLT instruction (the trap after `call` lands on it). */
__attribute__((noinline)) static pid_t step_into_plt(void)
{
    memset(&g_sample, 0, sizeof(g_sample));
    g_trap_budget = 100;
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq" ::: "memory", "cc");
    pid_t p = getppid();
    __asm__ volatile("pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq" ::: "memory", "cc");
    return p;
}

/* Single-steps into the PLT until a sample lands there (a step may be
 * taken elsewhere first on a busy machine); false after a few tries. */
static bool sample_in_plt(void)
{
    for (int tries = 0; tries < 5; tries++) {
        step_into_plt();
        if (g_sample.pc)
            return true;
    }
    return false;
}

/* Two samples at the same PLT PC on one new thread (a fresh trace
 * cache); the second's unw_step count.  No cmocka assertion runs on this
 * thread (a failing one would jump across threads): the outcome goes back
 * in second->pc, 0 when no sample landed in the PLT. */
static void *two_samples(void *arg)
{
    struct sample *second = arg;
    memset(second, 0, sizeof(*second));
    if (sample_in_plt() && sample_in_plt())
        *second = g_sample;
    return NULL;
}

static void second_sample_on_a_thread(struct sample *out)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, two_samples, out), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(out->pc != 0); /* both samples landed in the PLT */
}

static int exe_bias(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uintptr_t *)data = info->dlpi_addr; /* the first object is the program */
    return 1;
}

static void sample_on_a_plt_entry_unwinds_on_the_fast_path(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* TSan defers signal handlers to its own safe points: a SIGTRAP per
     * single-stepped instruction cannot be handled where it was raised. */
    skip();
#endif
    g_real_step = (int (*)(unw_cursor_t *))dlsym(RTLD_NEXT, "_ULx86_64_step");
    assert_non_null(g_real_step);
    uintptr_t bias = 0;
    dl_iterate_phdr(exe_bias, &bias);
    struct cg_elf_section secs[4];
    g_plt.n = cg_elf_plt_sections("/proc/self/exe", secs, 4);
    assert_true(g_plt.n >= 1);
    for (size_t i = 0; i < g_plt.n; i++) {
        g_plt.lo[i] = bias + secs[i].addr;
        g_plt.hi[i] = g_plt.lo[i] + secs[i].size;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGTRAP, &sa, &old), 0);
    getppid(); /* resolve a lazy binding first */

    /* Before: the linker's CFI (a DWARF expression) sends every sample
     * there to the unw_step loop, warm cache or not. */
    struct sample before;
    second_sample_on_a_thread(&before);
    assert_true(before.steps >= (unsigned)before.depth - 1);

    assert_true(cg_elf_plt_describe((const void *)step_into_plt) >= 1);
    struct sample after;
    second_sample_on_a_thread(&after);
    /* A warm signal-interrupted trace still re-steps one frame (as at an
     * ordinary PC); the unw_step loop would take one per frame. */
    assert_true(after.steps <= 1);
    assert_true(after.depth >= 5);
    /* The frames: the PLT entry, then step_into_plt right after the call,
     * then on up through the thread's start. */
    int at = -1;
    for (int i = 0; i < after.depth; i++)
        if ((uintptr_t)after.pcs[i] == after.pc) {
            at = i;
            break;
        }
    assert_true(at >= 0 && at + 2 < after.depth);
    uintptr_t caller = (uintptr_t)after.pcs[at + 1];
    assert_true(caller > (uintptr_t)step_into_plt && caller < (uintptr_t)step_into_plt + 512);
    assert_true((uintptr_t)after.pcs[at + 2] > (uintptr_t)two_samples &&
                (uintptr_t)after.pcs[at + 2] < (uintptr_t)two_samples + 512);
    /* The entry's jmp is a safe leaf; in a lazy entry the instructions
     * after its push (CFA = rsp + 16 there) are not. */
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe(after.pc));
    if (*(const uint8_t *)(after.pc + 6) == 0x68) {
        assert_false(cg_jit_unwind_leaf_unsafe_sigsafe(after.pc + 6));
        assert_true(cg_jit_unwind_leaf_unsafe_sigsafe(after.pc + 11));
    }
    assert_int_equal(sigaction(SIGTRAP, &old, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_plt_is_recognised_without_plt0),
        cmocka_unit_test(ibt_plt_sec_and_plt_got_are_recognised),
        cmocka_unit_test(unknown_or_uneven_entries_are_refused),
        cmocka_unit_test(sample_on_a_plt_entry_unwinds_on_the_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
