/*
 * wall_blocked_test.c - stacks of blocked threads, read without signals.
 */
#include "core/error.h"
#include "core/symbolizer.h"
#include "core/wall.h"

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

/* True if one of pcs (return addresses, looked up at pc - 1) is in the
 * function called `name`. */
static int stack_has(const uint64_t *pcs, size_t n, const char *name)
{
    struct cg_symbolizer *sym = cg_symbolizer_new(NULL);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        struct cg_symbol s;
        cg_symbolizer_resolve(sym, (uintptr_t)(pcs[i] - (i ? 1 : 0)), &s);
        found = strcmp(s.name, name) == 0;
    }
    cg_symbolizer_free(sym);
    return found;
}

static void run_and_check(void *(*fn)(void *), void *arg, const char *expect_fn)
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
    assert_true(depth >= 3);
    if (!stack_has(pcs, depth, expect_fn)) {
        /* Say what was found instead. */
        struct cg_symbolizer *sym = cg_symbolizer_new(NULL);
        for (size_t i = 0; i < depth; i++) {
            struct cg_symbol s;
            cg_symbolizer_resolve(sym, (uintptr_t)(pcs[i] - (i ? 1 : 0)), &s);
            print_message("  frame %zu: %s (looking for %s)\n", i, s.name, expect_fn);
        }
        cg_symbolizer_free(sym);
        fail();
    }
    if (fn == reader || fn == fp_reader)
        assert_int_equal(write(pipe_fds[1], "x", 1), 1);
    pthread_join(t, NULL);
    assert_int_equal(eintr_seen, 0); /* nobody interrupted it */
    cg_wall_free(w);
}

static void thread_blocked_in_read_unwinds_to_its_caller(void **state)
{
    (void)state;
    assert_int_equal(pipe(pipe_fds), 0);
    run_and_check(reader, "a) b (c", "blocked_in_read");
}

static void thread_blocked_in_poll_unwinds_to_its_caller(void **state)
{
    (void)state;
    run_and_check(poller, NULL, "blocked_in_poll");
}

static void frame_pointer_caller_is_stepped_through(void **state)
{
    (void)state;
    assert_int_equal(pipe(pipe_fds), 0);
    run_and_check(fp_reader, NULL, "fp_frame");
    run_and_check(fp_reader, NULL, "fp_reader");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thread_blocked_in_read_unwinds_to_its_caller),
        cmocka_unit_test(thread_blocked_in_poll_unwinds_to_its_caller),
        cmocka_unit_test(frame_pointer_caller_is_stepped_through),
        cmocka_unit_test(bogus_stack_pointer_is_an_error_or_a_short_stack_never_a_crash),
        cmocka_unit_test(running_and_missing_threads_have_no_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
