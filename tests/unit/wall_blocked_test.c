/*
 * wall_blocked_test.c - stacks of blocked threads, read without signals.
 */
#include "core/base/error.h"
#include "core/sample/wall.h"
#include "core/symbols/symbolizer.h"

#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static _Atomic pid_t target_tid;
static int pipe_fds[2];
static volatile int eintr_seen;

static __attribute__((noinline)) void blocked_in_read(void)
{
    char c;
    if (read(pipe_fds[0], &c, 1) < 0)
        eintr_seen = 1;
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void blocked_in_poll(void)
{
    if (poll(NULL, 0, 3000) < 0)
        eintr_seen = 1;
    __asm__ volatile("" ::: "memory");
}

/* Built with a frame pointer whatever the flags: its CFA is RBP-based, and
 * /proc gives no RBP, so the unwinder must recover it to reach fp_reader. */
static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void fp_frame(void)
{
    volatile char locals[200];
    locals[0] = 1;
    blocked_in_read();
    __asm__ volatile("" ::: "memory");
    locals[1] = locals[0];
}

static __attribute__((noinline)) void *fp_reader(void *arg)
{
    (void)arg;
    target_tid = (pid_t)syscall(SYS_gettid);
    fp_frame();
    __asm__ volatile("" ::: "memory");
    return NULL;
}

/* Frame-pointer code, DWARF-only code, frame-pointer code again. */
static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void fp_inner(void)
{
    volatile char locals[40];
    locals[0] = 1;
    blocked_in_read();
    __asm__ volatile("" ::: "memory");
    locals[1] = locals[0];
}

static __attribute__((noinline, optimize("omit-frame-pointer"))) void nofp_mid(void)
{
    volatile char locals[120];
    locals[0] = 1;
    fp_inner();
    __asm__ volatile("" ::: "memory");
    locals[1] = locals[0];
}

static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void fp_outer(void)
{
    volatile char locals[72];
    locals[0] = 1;
    nofp_mid();
    __asm__ volatile("" ::: "memory");
    locals[1] = locals[0];
}

static __attribute__((noinline)) void *mixed_reader(void *arg)
{
    (void)arg;
    target_tid = (pid_t)syscall(SYS_gettid);
    fp_outer();
    __asm__ volatile("" ::: "memory");
    return NULL;
}

/* A decoy frame record in a frame-pointer function's locals, below its
 * real one: a "saved RBP" further up this stack and a return address just
 * after a call, in another function (decoy_source).  Only the record the
 * decoy points at gives it away: it is empty. */
static __attribute__((noinline)) uint64_t where_called_from(void)
{
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

static __attribute__((noinline)) uint64_t decoy_source(void)
{
    uint64_t ret = where_called_from();
    __asm__ volatile("" : "+r"(ret) :: "memory");
    return ret;
}

static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void
fp_decoy(volatile uint64_t *up, uint64_t ret)
{
    volatile uint64_t fake[16];
    for (int i = 0; i < 16; i += 2) {
        fake[i] = (uint64_t)(uintptr_t)up;
        fake[i + 1] = ret;
    }
    blocked_in_read();
    __asm__ volatile("" ::: "memory");
    fake[0] = fake[1];
}

static __attribute__((noinline)) void *decoy_reader(void *arg)
{
    (void)arg;
    volatile uint64_t up[2] = {0, 0};
    uint64_t ret = decoy_source();
    target_tid = (pid_t)syscall(SYS_gettid);
    fp_decoy(up, ret);
    __asm__ volatile("" ::: "memory");
    up[0] = up[1];
    return NULL;
}

static void *reader(void *arg)
{
    pthread_setname_np(pthread_self(), (const char *)arg);
    target_tid = (pid_t)syscall(SYS_gettid);
    blocked_in_read();
    return NULL;
}

static void *poller(void *arg)
{
    (void)arg;
    target_tid = (pid_t)syscall(SYS_gettid);
    blocked_in_poll();
    return NULL;
}

/* Waits (bounded) until the thread is blocked in a system call. */
static int wait_blocked(pid_t tid, struct cg_wall_state *st)
{
    for (int i = 0; i < 2000; i++) {
        if (cg_wall_read_state(tid, st) == 0 && st->in_syscall)
            return 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Names the frames (return addresses are looked up at pc - 1). */
static void name_frames(const uint64_t *pcs, size_t n, char names[][64])
{
    struct cg_symbolizer *sym = cg_symbolizer_new(NULL);
    for (size_t i = 0; i < n; i++) {
        struct cg_symbol s;
        cg_symbolizer_resolve(sym, (uintptr_t)(pcs[i] - (i ? 1 : 0)), &s);
        snprintf(names[i], 64, "%s", s.name ? s.name : "?");
    }
    cg_symbolizer_free(sym);
}

/* True if `want` (NULL-terminated) appears as consecutive frames. */
static int has_run(char names[][64], size_t n, const char *const *want)
{
    size_t k = 0;
    while (want[k])
        k++;
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && strcmp(names[i + j], want[j]) == 0)
            j++;
        if (j == k)
            return 1;
    }
    return 0;
}

/* A whole thread stack ends in glibc's thread start (start_thread, then
 * clone3 or clone). */
static int reaches_thread_root(char names[][64], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], "start_thread") == 0 || strstr(names[i], "clone"))
            return 1;
    return 0;
}

/* Starts fn on a thread, waits until it blocks, unwinds it and checks that
 * `want` (innermost first) appears in order, with nothing between, and that
 * the stack goes on to the thread's root. */
static void run_and_check(void *(*fn)(void *), void *arg, const char *const *want)
{
    /* Under sanitizers read/poll go through interceptors built with frame
     * pointers: the frame-pointer recovery is what reaches the caller. */
    struct cg_wall *w = cg_wall_new();
    assert_non_null(w);
    target_tid = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    while (!target_tid)
        sched_yield();
    struct cg_wall_state st;
    assert_int_equal(wait_blocked(target_tid, &st), 0);
    assert_true(st.state == 'S');
    uint64_t pcs[128];
    size_t depth = 0;
    assert_int_equal(cg_wall_unwind(w, &st, pcs, 128, &depth), 0);
    static char names[128][64];
    name_frames(pcs, depth, names);
    if (depth < 3 || !has_run(names, depth, want) || !reaches_thread_root(names, depth)) {
        for (size_t i = 0; i < depth; i++) /* say what was found instead */
            print_message("  frame %zu: %s\n", i, names[i]);
        fail_msg("expected %s ... %s, then the thread's root", want[0], want[1]);
    }
    if (fn != poller)
        assert_int_equal(write(pipe_fds[1], "x", 1), 1);
    pthread_join(t, NULL);
    assert_int_equal(eintr_seen, 0); /* nobody interrupted it */
    cg_wall_free(w);
}

static void thread_blocked_in_read_unwinds_to_its_caller(void **state)
{
    (void)state;
    static const char *const want[] = {"blocked_in_read", "reader", NULL};
    run_and_check(reader, "a) b (c", want);
}

static void thread_blocked_in_poll_unwinds_to_its_caller(void **state)
{
    (void)state;
    static const char *const want[] = {"blocked_in_poll", "poller", NULL};
    run_and_check(poller, NULL, want);
}

static void frame_pointer_caller_is_stepped_through_to_the_thread_root(void **state)
{
    (void)state;
    static const char *const want[] = {"blocked_in_read", "fp_frame", "fp_reader", NULL};
    run_and_check(fp_reader, NULL, want);
}

static void frame_pointer_and_dwarf_frames_mixed_give_the_whole_stack(void **state)
{
    (void)state;
    static const char *const want[] = {"blocked_in_read", "fp_inner", "nofp_mid", "fp_outer",
                                       "mixed_reader", NULL};
    run_and_check(mixed_reader, NULL, want);
}

static void decoy_frame_record_in_locals_is_refused(void **state)
{
    (void)state;
    static const char *const want[] = {"blocked_in_read", "fp_decoy", "decoy_reader", NULL};
    run_and_check(decoy_reader, NULL, want);
}

static void bogus_stack_pointer_is_an_error_or_a_short_stack_never_a_crash(void **state)
{
    (void)state;
    struct cg_wall *w = cg_wall_new();
    struct cg_wall_state st = {.state = 'S', .in_syscall = 1, .nr = 0, .sp = 0x10,
                               .pc = (uint64_t)(uintptr_t)&blocked_in_poll + 4};
    uint64_t pcs[16];
    size_t depth = 0;
    int rc = cg_wall_unwind(w, &st, pcs, 16, &depth);
    assert_true(rc != 0 || depth <= 2);
    cg_wall_free(w);
}

static void running_and_missing_threads_have_no_stack(void **state)
{
    (void)state;
    struct cg_wall_state st;
    assert_int_equal(cg_wall_read_state((pid_t)syscall(SYS_gettid), &st), 0);
    assert_int_equal(st.state, 'R');
    assert_false(st.in_syscall);
    assert_int_equal(cg_wall_read_state(999999999, &st), CG_ENOTFOUND);
}

static int open_pipe(void **state)
{
    (void)state;
    return pipe(pipe_fds);
}

static int close_pipe(void **state)
{
    (void)state;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thread_blocked_in_read_unwinds_to_its_caller),
        cmocka_unit_test(thread_blocked_in_poll_unwinds_to_its_caller),
        cmocka_unit_test(frame_pointer_caller_is_stepped_through_to_the_thread_root),
        cmocka_unit_test(frame_pointer_and_dwarf_frames_mixed_give_the_whole_stack),
        cmocka_unit_test(decoy_frame_record_in_locals_is_refused),
        cmocka_unit_test(bogus_stack_pointer_is_an_error_or_a_short_stack_never_a_crash),
        cmocka_unit_test(running_and_missing_threads_have_no_stack),
    };
    return cmocka_run_group_tests(tests, open_pipe, close_pipe);
}
