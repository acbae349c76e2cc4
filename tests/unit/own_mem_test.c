/*
 * own_mem_test.c - fault-proof cached reads of our own memory, and the
 * unwind tables of loaded objects found without reading files.
 */
#include "core/base/error.h"
#include "core/sample/own_mem.h"
#include "core/sample/unwind_table.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

static void reads_match_memory_across_line_boundaries(void **state)
{
    (void)state;
    struct cg_own_mem *m = calloc(1, sizeof(*m));
    unsigned char *buf = malloc(4 * CG_OWN_MEM_LINE);
    for (size_t i = 0; i < 4 * CG_OWN_MEM_LINE; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    /* Every offset and a length that crosses into the next line. */
    for (size_t off = 0; off + 300 <= 4 * CG_OWN_MEM_LINE; off += 37) {
        unsigned char out[300];
        assert_true(cg_own_mem_read(m, (uintptr_t)buf + off, out, sizeof(out)));
        assert_memory_equal(out, buf + off, sizeof(out));
    }
    free(buf);
    free(m);
}

static void repeated_reads_cost_one_call_per_line_until_reset(void **state)
{
    (void)state;
    struct cg_own_mem *m = calloc(1, sizeof(*m));
    uint64_t *words = aligned_alloc(CG_OWN_MEM_LINE, CG_OWN_MEM_LINE);
    for (size_t i = 0; i < CG_OWN_MEM_LINE / 8; i++)
        words[i] = i;
    uint64_t v;
    for (size_t i = 0; i < CG_OWN_MEM_LINE / 8; i++) {
        assert_true(cg_own_mem_read(m, (uintptr_t)&words[i], &v, sizeof(v)));
        assert_int_equal(v, i);
    }
    assert_int_equal(m->calls, 1);
    /* A snapshot: a change is seen only after a reset. */
    words[3] = 99;
    assert_true(cg_own_mem_read(m, (uintptr_t)&words[3], &v, sizeof(v)));
    assert_int_equal(v, 3);
    cg_own_mem_reset(m);
    assert_true(cg_own_mem_read(m, (uintptr_t)&words[3], &v, sizeof(v)));
    assert_int_equal(v, 99);
    assert_int_equal(m->calls, 2);
    free(words);
    free(m);
}

static void unreadable_memory_is_an_error_not_a_fault(void **state)
{
    (void)state;
    struct cg_own_mem *m = calloc(1, sizeof(*m));
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0x5a, (size_t)page);
    assert_int_equal(mprotect(p + page, (size_t)page, PROT_NONE), 0);
    unsigned char out[16];
    assert_true(cg_own_mem_read(m, (uintptr_t)p + (uintptr_t)page - 16, out, 16));
    assert_int_equal(out[15], 0x5a);
    /* Straddling into the unreadable page, wholly in it, and address 0. */
    assert_false(cg_own_mem_read(m, (uintptr_t)p + (uintptr_t)page - 8, out, 16));
    assert_false(cg_own_mem_read(m, (uintptr_t)p + (uintptr_t)page, out, 8));
    assert_false(cg_own_mem_read(m, 0, out, 8));
    assert_false(cg_own_mem_read(m, UINT64_MAX - 4, out, 8));
    munmap(p, (size_t)page * 2);
    free(m);
}

static __attribute__((noinline)) int a_function_here(int x)
{
    __asm__ volatile("" ::: "memory");
    return x + 1;
}

static void the_table_of_our_own_code_is_found_in_memory(void **state)
{
    (void)state;
    assert_int_equal(a_function_here(1), 2);
    unw_dyn_info_t di;
    uintptr_t ip = (uintptr_t)a_function_here + 2;
    assert_int_equal(cg_unwind_table_find(ip, &di), 0);
    assert_int_equal(di.format, UNW_INFO_FORMAT_REMOTE_TABLE);
    assert_true(di.start_ip <= ip && ip < di.end_ip);
    assert_true(di.u.rti.table_len > 0);
    /* The table lies after the header, both in our own readable memory. */
    assert_true(di.u.rti.table_data > di.u.rti.segbase);
    struct cg_own_mem *m = calloc(1, sizeof(*m));
    unsigned char version;
    assert_true(cg_own_mem_read(m, di.u.rti.segbase, &version, 1));
    assert_int_equal(version, 1);
    free(m);
    /* libc too (another object), found by one of its functions. */
    assert_int_equal(cg_unwind_table_find((uintptr_t)&memcpy, &di), 0);
    assert_true(di.start_ip <= (uintptr_t)&memcpy && (uintptr_t)&memcpy < di.end_ip);
}

static void memory_of_no_object_has_no_table(void **state)
{
    (void)state;
    unw_dyn_info_t di;
    void *heap = malloc(64);
    assert_int_equal(cg_unwind_table_find((uintptr_t)heap, &di), CG_ENOTFOUND);
    assert_int_equal(cg_unwind_table_find(0, &di), CG_ENOTFOUND);
    free(heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_match_memory_across_line_boundaries),
        cmocka_unit_test(repeated_reads_cost_one_call_per_line_until_reset),
        cmocka_unit_test(unreadable_memory_is_an_error_not_a_fault),
        cmocka_unit_test(the_table_of_our_own_code_is_found_in_memory),
        cmocka_unit_test(memory_of_no_object_has_no_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
