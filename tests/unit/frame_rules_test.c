/*
 * frame_rules_test.c - the handler's own stack walk against libunwind's
 * unw_backtrace, on stacks through libc, frame-pointer code and threads.
 *
 * Each case signals itself twice at the same place: the first signal
 * records unw_backtrace's stack (the truth), the rules of its addresses
 * are learned outside the handler, and the second signal walks the same
 * stack with the rules alone.  The *_from_tables cases learn nothing:
 * the second walk steps every frame with its object's compiled unwind
 * rows (core/sample/cfi_image.h).
 */
#include "core/base/error.h"
#include "core/sample/frame_rules.h"
#include "core/sample/frame_rules_internal.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <cmocka.h>

#define MAXF 256

static struct cg_frame_rules *rules;
static uint64_t stack_lo, stack_hi;
static uint64_t truth[MAXF], walked[MAXF];
static size_t truth_n, walked_n;
static unsigned walked_from_tables;
static enum cg_walk_result walk_rc;
static volatile int attempts = 4, steps = 7; /* volatile: loops not unrolled */
static bool tables_only; /* give the walk compiled tables, not learned rules */
/* Every walk of a real stack goes through a memo, as the handler's do:
 * the second and later signals of a case replay the root frames. */
static struct cg_walk_memo test_memo;

static void handler(int sig, siginfo_t *info, void *ucv)
{
    (void)sig, (void)info;
    ucontext_t *uc = ucv;
    struct cg_frame_regs regs = {(uint64_t)uc->uc_mcontext.gregs[REG_RIP],
                                 (uint64_t)uc->uc_mcontext.gregs[REG_RSP],
                                 (uint64_t)uc->uc_mcontext.gregs[REG_RBP]};
    void *buf[MAXF];
    int n = unw_backtrace(buf, MAXF);
    truth_n = 0;
    int skip = -1;
    for (int i = 0; i < n && skip < 0; i++)
        if ((uint64_t)buf[i] == regs.pc)
            skip = i;
    for (int i = skip < 0 ? n : skip; i < n; i++)
        truth[truth_n++] = (uint64_t)buf[i];
    walk_rc = cg_frame_rules_walk_sigsafe(rules, &regs, stack_lo, stack_hi, walked, MAXF,
                                          &walked_n, &walked_from_tables, &test_memo);
}

static void current_stack(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    assert_int_equal(pthread_getattr_np(pthread_self(), &attr), 0);
    assert_int_equal(pthread_attr_getstack(&attr, &addr, &size), 0);
    pthread_attr_destroy(&attr);
    stack_lo = (uint64_t)(uintptr_t)addr;
    stack_hi = stack_lo + size;
}

/* What the walk and the truth were, for a failure's log. */
static void dump(void)
{
    struct cg_frame_rules_stats st;
    cg_frame_rules_stats(rules, &st);
    fprintf(stderr, "walk result %d: %zu frames walked, %zu by unw_backtrace; "
            "rules learned %llu, refused %llu, evicted %llu\n", walk_rc, walked_n, truth_n,
            (unsigned long long)st.learned, (unsigned long long)st.refused,
            (unsigned long long)st.evicted);
    for (size_t i = 0; i < truth_n; i++) {
        uint64_t rule = cg_frame_rules_lookup_sigsafe(rules, i ? truth[i] - 1 : truth[0]);
        fprintf(stderr, "  %2zu truth %#lx walked %#lx rule kind %d cfa %+d rbp %+d\n", i,
                (unsigned long)truth[i], i < walked_n ? (unsigned long)walked[i] : 0ul,
                cg_rule_kind(rule), cg_rule_cfa_off(rule), cg_rule_rbp_off(rule));
    }
}

/* Signals itself until the walk knows every address of the stack (the
 * first signal teaches the rules).  Returns whether the walk equals
 * unw_backtrace's stack of the same signal (no assertion: it also runs on
 * other threads, where cmocka cannot fail a test). */
static bool walk_matches_here(void)
{
    current_stack();
    /* One raise() call site for every attempt: an unrolled loop would give
     * each attempt other return addresses. */
#pragma GCC unroll 1
    for (int attempt = 0; attempt < attempts; attempt++) {
        raise(SIGUSR1);
        __asm__ volatile("" ::: "memory"); /* the handler wrote the globals */
        if (truth_n < 3)
            continue; /* libunwind's very first trace in a process can fall short */
        if (walk_rc == CG_WALK_DONE)
            break;
        for (size_t i = 0; i < truth_n; i++) {
            uint64_t addr = i == 0 ? truth[0] : truth[i] - 1;
            if (tables_only)
                cg_frame_rules_copy_tables(rules, addr);
            else
                cg_frame_rules_learn(rules, addr);
        }
    }
    bool same = truth_n >= 3 && walk_rc == CG_WALK_DONE && walked_n == truth_n &&
                memcmp(walked, truth, truth_n * sizeof(truth[0])) == 0;
    if (!same)
        dump();
    return same;
}

static bool matched;

static void check_here(void)
{
    matched = walk_matches_here();
}

static __attribute__((noinline)) int recurse(int n)
{
    if (n == 0) {
        check_here();
        return 0;
    }
    int r = recurse(n - 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

static __attribute__((noinline, optimize("no-omit-frame-pointer"))) int with_frame_pointer(int n)
{
    volatile char locals[300];
    locals[0] = (char)n;
    /* Make the stack pointer move at run time, so only RBP finds the CFA. */
    volatile char *dyn = __builtin_alloca((size_t)n * 16 + 16);
    dyn[0] = 1;
    int r = recurse(n);
    __asm__ volatile("" ::: "memory");
    return r + locals[0] + dyn[0];
}

static int cmp_calls;
static int cmp_and_check(const void *a, const void *b)
{
    if (cmp_calls++ == 0)
        check_here(); /* inside libc's qsort, called back */
    return *(const int *)a - *(const int *)b;
}

static void setup_rules(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    cg_frame_rules_free(rules);
    /* The agent's size.  The table is a cache: a rule is pushed out only
     * when both of its slots (in two table pages) hold others, which the
     * half-dozen code pages here make unlikely: 0 failures in 500 runs
     * even with 2^14 entries, where one way failed 18 of 300. */
    rules = cg_frame_rules_new(16);
    assert_non_null(rules);
    tables_only = false;
    memset(&test_memo, 0, sizeof(test_memo));
}

/* With tables only, every frame of the walk came from them: none was
 * learned, and the walk says it used them. */
static void assert_walked_from_tables(void)
{
    struct cg_frame_rules_stats st;
    cg_frame_rules_stats(rules, &st);
    assert_int_equal(st.learned, 0);
    assert_true(walked_from_tables >= 3);
}

static void deep_stack_walks_from_tables(void **state)
{
    (void)state;
    setup_rules();
    tables_only = true;
    matched = false;
    recurse(40);
    assert_true(matched);
    assert_walked_from_tables();
}

static void frame_pointer_code_walks_from_tables(void **state)
{
    (void)state;
    setup_rules();
    tables_only = true;
    matched = false;
    with_frame_pointer(7);
    assert_true(matched);
    assert_walked_from_tables();
}

static void a_callback_from_libc_walks_from_tables(void **state)
{
    (void)state;
    setup_rules();
    tables_only = true;
    int v[8] = {5, 3, 8, 1, 9, 2, 7, 4};
    cmp_calls = 0;
    matched = false;
    qsort(v, 8, sizeof(v[0]), cmp_and_check);
    assert_true(matched);
    assert_walked_from_tables();
}

static void deep_stack_walks_as_libunwind_does(void **state)
{
    (void)state;
    setup_rules();
    matched = false;
    recurse(40);
    assert_true(matched);
    struct cg_frame_rules_stats st;
    cg_frame_rules_stats(rules, &st);
    assert_true(st.learned > 5);
}

static void frame_pointer_code_walks_by_rbp(void **state)
{
    (void)state;
    setup_rules();
    matched = false;
    with_frame_pointer(7);
    assert_true(matched);
    /* The frame-pointer function's return address has an RBP rule. */
    int found = 0;
    for (size_t i = 1; i < truth_n; i++) {
        uint64_t rule = cg_frame_rules_lookup_sigsafe(rules, truth[i] - 1);
        found += cg_rule_kind(rule) == CG_RULE_RBP;
    }
    assert_true(found >= 1);
}

static void a_callback_from_libc_walks_through_libc(void **state)
{
    (void)state;
    setup_rules();
    int v[8] = {5, 3, 8, 1, 9, 2, 7, 4};
    cmp_calls = 0;
    matched = false;
    qsort(v, 8, sizeof(v[0]), cmp_and_check);
    assert_true(matched);
}

static void *thread_body(void *arg)
{
    (void)arg;
    recurse(5);
    return NULL;
}

static void a_thread_stack_ends_at_its_start(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* libunwind frees a thread's trace cache from a TSD destructor that
     * runs after TSan has let go of the thread: TSan crashes in it. */
    skip();
#endif
    setup_rules();
    pthread_t t;
    matched = false;
    assert_int_equal(pthread_create(&t, NULL, thread_body, NULL), 0);
    pthread_join(t, NULL);
    assert_true(matched);
}

static void reads_outside_the_stack_are_misses(void **state)
{
    (void)state;
    setup_rules();
    current_stack();
    uint64_t saved_hi = stack_hi;
    /* One call site for every signal, so each sees the same stack: steps
     * 0-3 learn it, 4 walks it, 5 walks with a stack top below the stack
     * pointer (a miss, not a read past the top), 6 with a cleared table. */
#pragma GCC unroll 1
    for (int step = 0; step < steps; step++) {
        if (step == 5)
            stack_hi = stack_lo + 1;
        if (step == 6) {
            stack_hi = saved_hi;
            cg_frame_rules_clear(rules);
        }
        raise(SIGUSR1);
        __asm__ volatile("" ::: "memory"); /* the handler wrote the globals */
        if (step < 4 && walk_rc != CG_WALK_DONE)
            for (size_t i = 0; i < truth_n; i++)
                cg_frame_rules_learn(rules, i == 0 ? truth[0] : truth[i] - 1);
        if (step == 4)
            assert_int_equal(walk_rc, CG_WALK_DONE);
        if (step == 5) {
            assert_int_equal(walk_rc, CG_WALK_MISS);
            assert_int_equal(walked_n, 0);
        }
        if (step == 6) {
            /* The learned rules are gone; the objects are still loaded,
             * so their compiled tables (made while learning) walk it. */
            assert_int_equal(cg_frame_rules_state(rules, truth[0]), CG_FRAME_RULE_UNKNOWN);
            assert_int_equal(walk_rc, CG_WALK_DONE);
            assert_true(walked_from_tables >= 3);
        }
    }
}

static void code_in_no_object_has_no_rule(void **state)
{
    (void)state;
    setup_rules();
    void *heap = malloc(64);
    assert_false(cg_frame_rules_learn(rules, (uint64_t)(uintptr_t)heap));
    assert_int_equal(cg_frame_rules_state(rules, (uint64_t)(uintptr_t)heap),
                     CG_FRAME_RULE_REFUSED);
    assert_int_equal(cg_rule_kind(cg_frame_rules_lookup_sigsafe(rules, (uint64_t)(uintptr_t)heap)),
                     CG_RULE_NONE);
    free(heap);
}

/* A leaf interrupted in its epilogue, after `pop %rbp`: the tables still
 * put RBP's save slot at CFA - 16, now 8 bytes below RSP, in the red zone.
 * The walk reads it there (as libunwind does) and the caller's frame,
 * found through that RBP, is walked too.  A synthetic stack: no signal
 * lands on an exact instruction reliably. */
static void a_leaf_epilogue_reads_rbp_from_the_red_zone(void **state)
{
    (void)state;
    setup_rules();
    uint64_t stack[64] = {0};
    uint64_t base = (uint64_t)(uintptr_t)stack;
    const uint64_t leaf = 0x500000, caller = 0x600000;
    size_t sp = 32; /* index of the interrupted RSP */
    stack[sp] = caller + 5;               /* the leaf's return address */
    stack[sp - 1] = base + 8 * 40;        /* RBP as pushed, now popped */
    stack[41] = 0x10;                     /* caller's return address: no code */
    stack[40] = 0;                        /* caller's saved RBP */
    cg_frame_rules_store(rules, leaf, cg_rule_pack(CG_RULE_RSP, 8, -16));
    cg_frame_rules_store(rules, caller + 4, cg_rule_pack(CG_RULE_RBP, 16, -16));
    struct cg_frame_regs regs = {leaf, base + 8 * sp, 0x1234};
    uint64_t pcs[8];
    size_t n;
    unsigned from_tables;
    enum cg_walk_result rc = cg_frame_rules_walk_sigsafe(rules, &regs, base, base + sizeof(stack),
                                                         pcs, 8, &n, &from_tables, NULL);
    assert_int_equal(rc, CG_WALK_DONE);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[0], leaf);
    assert_int_equal(pcs[1], caller + 5);
    /* Past the red zone (here: a slot 136 bytes below RSP) is a miss. */
    cg_frame_rules_store(rules, leaf, cg_rule_pack(CG_RULE_RSP, 8, -144));
    rc = cg_frame_rules_walk_sigsafe(rules, &regs, base, base + sizeof(stack), pcs, 8, &n,
                                     &from_tables, NULL);
    assert_int_equal(rc, CG_WALK_MISS);
    /* And above the leaf, a slot below the frame's own stack pointer is
     * still a miss: only the interrupted frame has a red zone. */
    cg_frame_rules_store(rules, leaf, cg_rule_pack(CG_RULE_RSP, 8, CG_RBP_KEPT));
    regs.bp = base + 8 * 40;
    cg_frame_rules_store(rules, caller + 4, cg_rule_pack(CG_RULE_RSP, 16, -32));
    rc = cg_frame_rules_walk_sigsafe(rules, &regs, base, base + sizeof(stack), pcs, 8, &n,
                                     &from_tables, NULL);
    assert_int_equal(rc, CG_WALK_MISS);
}

/* The thread's last walk: a later walk that reaches one of its frames in
 * the same state takes the rest from it, but only while the stack words
 * it was read from still hold the same values.  A synthetic stack, with
 * rules stored by hand: leaf -> A -> B -> C (the outermost). */
static void a_walk_memo_replays_only_an_unchanged_stack(void **state)
{
    (void)state;
    setup_rules();
    uint64_t stack[32] = {0};
    uint64_t base = (uint64_t)(uintptr_t)stack;
    const uint64_t leaf = 0x500000, leaf2 = 0x500100, A = 0x600000, B = 0x700000, C = 0x800000,
                   D = 0x900000;
    stack[8] = A + 5;  /* leaf's return address; its CFA is &stack[9] */
    stack[10] = B + 5; /* A: CFA = RSP + 16 = &stack[11] */
    stack[12] = C + 5; /* B: the same, CFA &stack[13] */
    cg_frame_rules_store(rules, leaf, cg_rule_pack(CG_RULE_RSP, 8, CG_RBP_KEPT));
    cg_frame_rules_store(rules, leaf2, cg_rule_pack(CG_RULE_RSP, 8, CG_RBP_KEPT));
    cg_frame_rules_store(rules, A + 4, cg_rule_pack(CG_RULE_RSP, 16, CG_RBP_KEPT));
    cg_frame_rules_store(rules, B + 4, cg_rule_pack(CG_RULE_RSP, 16, CG_RBP_KEPT));
    cg_frame_rules_store(rules, C + 4, cg_rule_pack(CG_RULE_END, 0, 0));
    cg_frame_rules_store(rules, D + 4, cg_rule_pack(CG_RULE_END, 0, 0));
    struct cg_walk_memo *memo = calloc(1, sizeof(*memo));
    assert_non_null(memo);
    struct cg_frame_regs regs = {leaf, base + 8 * 8, 0};
    uint64_t pcs[8];
    size_t n;
    unsigned from_tables;
    uint64_t top = base + sizeof(stack);
    assert_int_equal(cg_frame_rules_walk_sigsafe(rules, &regs, base, top, pcs, 8, &n,
                                                 &from_tables, memo), CG_WALK_DONE);
    assert_int_equal(n, 4);
    /* B's rule gone: only the memo can finish a walk through B. */
    cg_frame_rules_store(rules, B + 4, cg_rule_pack(CG_RULE_NONE, 0, 0));
    regs.pc = leaf2;
    memset(pcs, 0, sizeof(pcs));
    assert_int_equal(cg_frame_rules_walk_sigsafe(rules, &regs, base, top, pcs, 8, &n,
                                                 &from_tables, memo), CG_WALK_DONE);
    assert_int_equal(n, 4);
    assert_int_equal(pcs[0], leaf2);
    assert_int_equal(pcs[1], A + 5);
    assert_int_equal(pcs[2], B + 5);
    assert_int_equal(pcs[3], C + 5);
    /* B now returns to D: the memo's C must not be replayed. */
    cg_frame_rules_store(rules, B + 4, cg_rule_pack(CG_RULE_RSP, 16, CG_RBP_KEPT));
    stack[12] = D + 5;
    assert_int_equal(cg_frame_rules_walk_sigsafe(rules, &regs, base, top, pcs, 8, &n,
                                                 &from_tables, memo), CG_WALK_DONE);
    assert_int_equal(n, 4);
    assert_int_equal(pcs[3], D + 5);
    /* A cleared table (a library unloaded) retires the memo. */
    cg_frame_rules_clear(rules);
    assert_int_equal(cg_frame_rules_walk_sigsafe(rules, &regs, base, top, pcs, 8, &n,
                                                 &from_tables, memo), CG_WALK_MISS);
    free(memo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deep_stack_walks_as_libunwind_does),
        cmocka_unit_test(frame_pointer_code_walks_by_rbp),
        cmocka_unit_test(a_callback_from_libc_walks_through_libc),
        cmocka_unit_test(a_thread_stack_ends_at_its_start),
        cmocka_unit_test(reads_outside_the_stack_are_misses),
        cmocka_unit_test(code_in_no_object_has_no_rule),
        cmocka_unit_test(deep_stack_walks_from_tables),
        cmocka_unit_test(frame_pointer_code_walks_from_tables),
        cmocka_unit_test(a_callback_from_libc_walks_from_tables),
        cmocka_unit_test(a_leaf_epilogue_reads_rbp_from_the_red_zone),
        cmocka_unit_test(a_walk_memo_replays_only_an_unchanged_stack),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_frame_rules_free(rules);
    return rc;
}
