/*
 * jit_unwind_tramp_test.c - unwind tables for generated trampolines: a
 * region of copies of CPython's x86-64 perf-trampoline stub is recognised,
 * unw_backtrace from a function called through a registered stub walks
 * through the stub into its caller, registration is idempotent and
 * bounded, and the stub's edges (before the stack adjustment, at the ret)
 * are reported unsafe as leaf PCs.
 */
#include "core/base/error.h"
#include "core/sample/jit_unwind.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

static const uint8_t stub[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1,
                               0x48, 0x83, 0xc4, 0x08, 0xc3};

typedef int (*eval_fn)(void *, void *, int);
typedef int (*tramp_fn)(void *, void *, int, eval_fn);

static void *g_pcs[64];
static int g_depth;

__attribute__((noinline)) static int record_stack(void *a, void *b, int c)
{
    (void)a;
    (void)b;
    g_depth = unw_backtrace(g_pcs, 64);
    return c + 1;
}

/* The caller the unwinder must reach beyond the stub. */
__attribute__((noinline)) static int call_through(tramp_fn t)
{
    int r = t(NULL, NULL, 41, record_stack);
    __asm__ volatile("" ::: "memory"); /* keep the call a call, not a jump */
    return r;
}

static uint8_t *make_region(size_t copies)
{
    size_t len = 65536;
    uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    for (size_t i = 0; i < copies; i++)
        memcpy(mem + i * sizeof(stub), stub, sizeof(stub));
    assert_int_equal(mprotect(mem, len, PROT_READ | PROT_EXEC), 0);
    return mem;
}

static int frame_in(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < g_depth; i++)
        if ((uintptr_t)g_pcs[i] >= lo && (uintptr_t)g_pcs[i] < hi)
            return i;
    return -1;
}

static void stub_is_recognised_with_and_without_endbr64(void **state)
{
    (void)state;
    struct cg_tramp_layout l;
    assert_true(cg_tramp_layout_recognise(stub, sizeof(stub), &l));
    assert_int_equal(l.copy_bytes, 11);
    assert_int_equal(l.body_start, 4);
    assert_int_equal(l.body_end, 10);
    assert_int_equal(l.cfa_offset, 16);
    uint8_t cet[15] = {0xf3, 0x0f, 0x1e, 0xfa};
    memcpy(cet + 4, stub, sizeof(stub));
    assert_true(cg_tramp_layout_recognise(cet, sizeof(cet), &l));
    assert_int_equal(l.body_start, 8);
    assert_int_equal(l.body_end, 14);
    /* A frame-pointer stub (push %rbp; mov %rsp,%rbp; ...) is not ours. */
    static const uint8_t fp[] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd1, 0x5d, 0xc3};
    assert_false(cg_tramp_layout_recognise(fp, sizeof(fp), &l));
    assert_false(cg_tramp_layout_recognise(stub, sizeof(stub) - 1, &l));
}

static void region_stride_is_found_back_to_back_or_padded(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    memcpy(buf, stub, sizeof(stub));
    assert_int_equal(cg_tramp_region_stride(buf, sizeof(buf), stub, sizeof(stub)), 0);
    memcpy(buf + sizeof(stub), stub, sizeof(stub));
    assert_int_equal(cg_tramp_region_stride(buf, sizeof(buf), stub, sizeof(stub)), 11);
    assert_int_equal(cg_tramp_region_stride(buf, sizeof(stub) * 2 - 1, stub, sizeof(stub)), 0);
    /* CPython 3.13: each copy padded to 16 bytes. */
    uint8_t padded[64] = {0};
    memcpy(padded, stub, sizeof(stub));
    memcpy(padded + 16, stub, sizeof(stub));
    assert_int_equal(cg_tramp_region_stride(padded, sizeof(padded), stub, sizeof(stub)), 16);
    padded[0] = 0x90;
    assert_int_equal(cg_tramp_region_stride(padded, sizeof(padded), stub, sizeof(stub)), 0);
}

static void backtrace_walks_through_a_registered_stub(void **state)
{
    (void)state;
    uint8_t *region = make_region(100);
    struct cg_tramp_layout l;
    assert_true(cg_tramp_layout_recognise(stub, sizeof(stub), &l));
    tramp_fn t = (tramp_fn)(void *)(region + 7 * sizeof(stub));
    assert_int_equal(cg_jit_unwind_register((uintptr_t)region, 65536, &l), 0);
    assert_int_equal(call_through(t), 42);
    int in_stub = frame_in((uintptr_t)region, (uintptr_t)region + 65536);
    assert_true(in_stub > 0);
    /* The return address right after `call *%rcx` in copy 7. */
    assert_int_equal((uintptr_t)g_pcs[in_stub], (uintptr_t)region + 7 * sizeof(stub) + 6);
    /* The next frame is in call_through, and the walk goes on above it. */
    uintptr_t next = (uintptr_t)g_pcs[in_stub + 1];
    assert_true(next > (uintptr_t)call_through && next < (uintptr_t)call_through + 256);
    assert_true(g_depth > in_stub + 2);
    /* The same region again is a no-op. */
    size_t n = cg_jit_unwind_regions();
    assert_int_equal(cg_jit_unwind_register((uintptr_t)region, 65536, &l), 0);
    assert_int_equal(cg_jit_unwind_regions(), n);
}

static void backtrace_walks_through_padded_copies(void **state)
{
    (void)state;
    size_t len = 65536;
    uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    for (size_t i = 0; i < 20; i++)
        memcpy(mem + i * 16, stub, sizeof(stub));
    assert_int_equal(mprotect(mem, len, PROT_READ | PROT_EXEC), 0);
    struct cg_tramp_layout l;
    assert_true(cg_tramp_layout_recognise(stub, sizeof(stub), &l));
    l.copy_bytes = cg_tramp_region_stride(mem, len, stub, sizeof(stub));
    assert_int_equal(l.copy_bytes, 16);
    assert_int_equal(cg_jit_unwind_register((uintptr_t)mem, len, &l), 0);
    assert_int_equal(call_through((tramp_fn)(void *)(mem + 5 * 16)), 42);
    int in_stub = frame_in((uintptr_t)mem, (uintptr_t)mem + len);
    assert_true(in_stub > 0);
    uintptr_t next = (uintptr_t)g_pcs[in_stub + 1];
    assert_true(next > (uintptr_t)call_through && next < (uintptr_t)call_through + 256);
    assert_true(cg_jit_unwind_leaf_unsafe_sigsafe((uintptr_t)mem + 5 * 16 + 12)); /* padding */
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe((uintptr_t)mem + 5 * 16 + 6));
}

static void stub_edges_are_unsafe_leaves(void **state)
{
    (void)state;
    uint8_t *region = make_region(10);
    struct cg_tramp_layout l;
    assert_true(cg_tramp_layout_recognise(stub, sizeof(stub), &l));
    assert_int_equal(cg_jit_unwind_register((uintptr_t)region, 65536, &l), 0);
    uintptr_t copy3 = (uintptr_t)region + 3 * 11;
    assert_true(cg_jit_unwind_leaf_unsafe_sigsafe(copy3 + 0));  /* sub */
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe(copy3 + 4)); /* call */
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe(copy3 + 6)); /* add */
    assert_true(cg_jit_unwind_leaf_unsafe_sigsafe(copy3 + 10)); /* ret */
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe((uintptr_t)region - 1));
    assert_false(cg_jit_unwind_leaf_unsafe_sigsafe((uintptr_t)stub_edges_are_unsafe_leaves));
}

static void bad_layouts_and_a_full_table_are_refused(void **state)
{
    (void)state;
    struct cg_tramp_layout l = {.copy_bytes = 11, .body_start = 6, .body_end = 4, .cfa_offset = 16};
    assert_int_equal(cg_jit_unwind_register(0x1000, 4096, &l), CG_EINVAL);
    l = (struct cg_tramp_layout){.copy_bytes = 11, .body_start = 4, .body_end = 10, .cfa_offset = 200};
    assert_int_equal(cg_jit_unwind_register(0x1000, 4096, &l), CG_EINVAL);
    assert_true(cg_tramp_layout_recognise(stub, sizeof(stub), &l));
    /* Fake, never-executed addresses fill the table. */
    int rc = 0;
    for (uintptr_t a = 0x10000; rc == 0 && a < 0x10000 + 200 * 0x10000; a += 0x10000)
        rc = cg_jit_unwind_register(a, 0x10000, &l);
    assert_int_equal(rc, CG_EFULL);
    assert_int_equal(cg_jit_unwind_regions(), CG_JIT_UNWIND_MAX_REGIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stub_is_recognised_with_and_without_endbr64),
        cmocka_unit_test(region_stride_is_found_back_to_back_or_padded),
        cmocka_unit_test(backtrace_walks_through_a_registered_stub),
        cmocka_unit_test(backtrace_walks_through_padded_copies),
        cmocka_unit_test(stub_edges_are_unsafe_leaves),
        cmocka_unit_test(bad_layouts_and_a_full_table_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
