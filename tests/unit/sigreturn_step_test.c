/*
 * sigreturn_step_test.c - musl's signal trampoline for the unwinders
 * (core/sample/sigreturn.h), tried under glibc with a trampoline of the
 * test's own: its bytes are recognised and others refused; the walk's
 * step reads the interrupted registers from a ucontext and refuses
 * anything outside the stack bounds or not shaped like a signal frame;
 * and a real signal whose handler returns through the test's trampoline
 * (installed with rt_sigaction's restorer, as musl's sigaction does) is
 * unwound by unw_backtrace from inside the handler into the interrupted
 * code once the trampoline is registered: the frame after it is the
 * interrupted PC, then the function that raised the signal and its
 * caller.
 */
#include "core/base/error.h"
#include "core/sample/sigreturn.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <cmocka.h>

/* nop, then rt_sigreturn as musl writes it (src/signal/x86_64/restore.s). */
static const uint8_t tramp_code[] = {0x90, 0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                     0x00, 0x00, 0x0f, 0x05};

static void trampoline_bytes_are_recognised(void **state)
{
    (void)state;
    assert_true(cg_sigreturn_code_is_trampoline(tramp_code + 1));
    assert_false(cg_sigreturn_code_is_trampoline(tramp_code)); /* the nop */
    uint8_t other[9];
    memcpy(other, tramp_code + 1, sizeof(other));
    other[3] = 0x3c; /* mov $60,%rax: exit, not rt_sigreturn */
    assert_false(cg_sigreturn_code_is_trampoline(other));
    assert_int_equal(cg_sigreturn_register((uintptr_t)other), CG_EINVAL);
    assert_int_equal(cg_sigreturn_register(0), CG_EINVAL);
}

/* A stack of words with a ucontext at word 8 whose saved RSP is at word
 * 100, RIP 0x401234 and RBP 0x5555. */
static uint64_t g_stack[128];
#define UC (&g_stack[8])
#define GREG_AT(i) ((uint64_t *)((char *)UC + offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (i)))

static void fill_frame(void)
{
    memset(g_stack, 0, sizeof(g_stack));
    *GREG_AT(REG_RIP) = 0x401234;
    *GREG_AT(REG_RSP) = (uint64_t)(uintptr_t)&g_stack[100];
    *GREG_AT(REG_RBP) = 0x5555;
}

static bool step(uintptr_t tramp, uint64_t pc, uint64_t lo, uint64_t hi, uint64_t out[3])
{
    out[0] = pc;
    out[1] = (uint64_t)(uintptr_t)UC;
    out[2] = 0xbad;
    return cg_sigreturn_step_at_sigsafe(tramp, &out[0], &out[1], &out[2], lo, hi);
}

static void step_reads_the_ucontext_at_the_stack_pointer(void **state)
{
    (void)state;
    fill_frame();
    uintptr_t tramp = 0x7000;
    uint64_t lo = (uint64_t)(uintptr_t)g_stack, hi = lo + sizeof(g_stack), r[3];
    /* A handler's return address, and a PC interrupted inside. */
    assert_true(step(tramp, tramp, lo, hi, r));
    assert_int_equal(r[0], 0x401234);
    assert_int_equal(r[1], (uint64_t)(uintptr_t)&g_stack[100]);
    assert_int_equal(r[2], 0x5555);
    assert_true(step(tramp, tramp + 7, lo, hi, r));
    assert_int_equal(r[0], 0x401234);
    /* Not the trampoline: nothing is read, nothing changes. */
    assert_false(step(tramp, tramp + CG_SIGRETURN_CODE_BYTES, lo, hi, r));
    assert_int_equal(r[0], tramp + CG_SIGRETURN_CODE_BYTES);
    assert_int_equal(r[2], 0xbad);
    assert_false(step(tramp, tramp - 1, lo, hi, r));
    assert_false(step(0, 0, lo, hi, r));
}

static void step_stays_inside_the_stack(void **state)
{
    (void)state;
    fill_frame();
    uintptr_t tramp = 0x7000;
    uint64_t lo = (uint64_t)(uintptr_t)g_stack, hi = lo + sizeof(g_stack), r[3];
    uint64_t uc_end = (uint64_t)(uintptr_t)GREG_AT(REG_RIP) + 8;
    /* The ucontext below the bounds, or running past them. */
    assert_false(step(tramp, tramp, (uint64_t)(uintptr_t)UC + 8, hi, r));
    assert_false(step(tramp, tramp, lo, uc_end - 8, r));
    assert_true(step(tramp, tramp, lo, (uint64_t)(uintptr_t)&g_stack[100], r));
    /* The interrupted stack pointer inside the ucontext, or beyond the
     * stack: not a signal frame of this stack. */
    *GREG_AT(REG_RSP) = uc_end - 16;
    assert_false(step(tramp, tramp, lo, hi, r));
    *GREG_AT(REG_RSP) = hi + 8;
    assert_false(step(tramp, tramp, lo, hi, r));
    assert_int_equal(r[2], 0xbad);
}

/* A real signal through the test's own trampoline. */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static void *g_pcs[64];
static int g_depth;
static uint64_t g_interrupted;

static void on_signal(int signo, siginfo_t *info, void *ucontext)
{
    (void)signo;
    (void)info;
    g_interrupted = (uint64_t)((ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
    g_depth = unw_backtrace(g_pcs, 64);
}

__attribute__((noinline)) static void raise_here(void)
{
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    __asm__ volatile("" ::: "memory"); /* the signal arrives before this returns */
}

__attribute__((noinline)) static void raise_caller(void)
{
    raise_here();
    __asm__ volatile("" ::: "memory");
}

static int frame_of(uintptr_t fn, int from)
{
    for (int i = from; i < g_depth; i++)
        if ((uintptr_t)g_pcs[i] > fn && (uintptr_t)g_pcs[i] < fn + 256)
            return i;
    return -1;
}

static void backtrace_in_a_handler_reaches_the_interrupted_code(void **state)
{
    (void)state;
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    memcpy(page, tramp_code, sizeof(tramp_code));
    assert_int_equal(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);
    uintptr_t tramp = (uintptr_t)page + 1;

    assert_int_equal(cg_sigreturn_register(tramp), 0);
    assert_int_equal(cg_sigreturn_trampoline_sigsafe(), tramp);
    assert_int_equal(cg_sigreturn_register(tramp), 0); /* once per process */
    /* In no loaded object: no libc range around it. */
    assert_false(cg_sigreturn_in_libc(tramp + 20));
    assert_false(cg_sigreturn_in_libc(tramp));

    struct kernel_sigaction k = {(void *)on_signal, SA_SIGINFO | 0x04000000ul /* SA_RESTORER */,
                                 (void *)tramp, 0};
    assert_int_equal(syscall(SYS_rt_sigaction, SIGUSR1, &k, NULL, sizeof(k.mask)), 0);
    raise_caller();

    int at = -1;
    for (int i = 0; i < g_depth; i++)
        if ((uintptr_t)g_pcs[i] == tramp)
            at = i;
    assert_true(at >= 0);
    assert_true(at + 1 < g_depth);
    assert_int_equal((uint64_t)(uintptr_t)g_pcs[at + 1], g_interrupted);
    int here = frame_of((uintptr_t)raise_here, at + 1);
    assert_true(here > at);
    assert_true(frame_of((uintptr_t)raise_caller, here + 1) > here);
    signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trampoline_bytes_are_recognised),
        cmocka_unit_test(step_reads_the_ucontext_at_the_stack_pointer),
        cmocka_unit_test(step_stays_inside_the_stack),
        cmocka_unit_test(backtrace_in_a_handler_reaches_the_interrupted_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
