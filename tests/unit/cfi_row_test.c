/*
 * cfi_row_test.c - the unwind-table rows the frame rules are learned
 * from, held to libunwind's own step at thousands of code addresses of
 * libc and of this program: where a row is found its rule is libunwind's,
 * at the address and at both ends of the row, and rows are found for
 * nearly every address libunwind has a rule for.
 */
#include "core/sample/cfi_row.h"
#include "core/sample/frame_rules.h"
#include "core/sample/frame_rules_internal.h"
#include "tests/unit/code_range.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Compares rows and libunwind at `samples` addresses spread over the
 * object's code; returns how many of libunwind's rules had a row. */
static void compare(const char *object, unsigned samples)
{
    struct code_range t = code_range_of(object);
    assert_true(t.hi > t.lo);
    struct cg_frame_rules *r = cg_frame_rules_new(9);
    assert_non_null(r);
    struct cg_cfi_reader *mem = calloc(1, sizeof(*mem));
    assert_non_null(mem);
    unsigned ruled = 0, rowed = 0, agreed = 0;
    uint64_t stride = (t.hi - t.lo) / samples | 1;
    for (uint64_t a = t.lo; a < t.hi; a += stride) {
        uint64_t lu = cg_frame_rules_libunwind_rule(r, a);
        bool has_rule = cg_rule_kind(lu) != CG_RULE_NONE;
        ruled += has_rule;
        struct cg_cfi_row row;
        if (!cg_cfi_row_find(mem, a, &row))
            continue;
        rowed++;
        assert_true(row.start <= a && a < row.end);
        if (lu != cg_rule_of_row(&row))
            fprintf(stderr, "%s+%#llx: libunwind %#llx, row [%#llx, %#llx) %#llx\n", object,
                    (unsigned long long)(a - t.lo), (unsigned long long)lu,
                    (unsigned long long)(row.start - t.lo), (unsigned long long)(row.end - t.lo),
                    (unsigned long long)cg_rule_of_row(&row));
        assert_int_equal(lu, cg_rule_of_row(&row));
        /* The row's claim: the same rule from its first to its last byte. */
        assert_int_equal(cg_frame_rules_libunwind_rule(r, row.start), cg_rule_of_row(&row));
        assert_int_equal(cg_frame_rules_libunwind_rule(r, row.end - 1), cg_rule_of_row(&row));
        agreed++;
    }
    fprintf(stderr, "%s: %u addresses with libunwind rules, %u rows, all agreeing\n",
            object[0] ? object : "program", ruled, agreed);
    /* A row for nearly every address libunwind can step (PLT stubs and
     * DWARF expressions it can, rows cannot). */
    assert_true(agreed * 100 >= ruled * 95);
    assert_true(ruled >= samples / 2);
    free(mem);
    cg_frame_rules_free(r);
}

static void rows_agree_with_libunwind_in_libc(void **state)
{
    (void)state;
    compare("libc.so", 3000);
}

static void rows_agree_with_libunwind_in_the_program(void **state)
{
    (void)state;
    compare("", 1000);
}

/* One learned address teaches the whole row around it. */
static void learning_one_address_covers_its_row(void **state)
{
    (void)state;
    struct code_range t = code_range_of("libc.so");
    struct cg_frame_rules *r = cg_frame_rules_new(12);
    struct cg_cfi_reader *mem = calloc(1, sizeof(*mem));
    assert_non_null(r);
    assert_non_null(mem);
    unsigned wide_rows = 0;
    for (uint64_t a = t.lo; a < t.hi && wide_rows < 20; a += 4099) {
        struct cg_cfi_row row;
        if (!cg_cfi_row_find(mem, a, &row) || row.end - row.start < 64)
            continue;
        wide_rows++;
        assert_true(cg_frame_rules_learn(r, a));
        /* A granule wholly inside the row, 16 to 31 bytes from a. */
        uint64_t other = ((a + 31) & ~(uint64_t)15) + 8;
        if (other + 8 <= row.end)
            assert_int_equal(cg_frame_rules_state(r, other), CG_FRAME_RULE_KNOWN);
    }
    assert_true(wide_rows == 20);
    struct cg_frame_rules_stats st;
    cg_frame_rules_stats(r, &st);
    assert_true(st.rows >= 20);
    free(mem);
    cg_frame_rules_free(r);
}

static void memory_outside_any_object_has_no_row(void **state)
{
    (void)state;
    struct cg_cfi_reader *mem = calloc(1, sizeof(*mem));
    assert_non_null(mem);
    struct cg_cfi_row row;
    int local = 0;
    assert_false(cg_cfi_row_find(mem, (uint64_t)(uintptr_t)&local, &row));
    assert_false(cg_cfi_row_find(mem, (uint64_t)(uintptr_t)mem, &row));
    assert_false(cg_cfi_row_find(mem, 0x1000, &row));
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_agree_with_libunwind_in_libc),
        cmocka_unit_test(rows_agree_with_libunwind_in_the_program),
        cmocka_unit_test(learning_one_address_covers_its_row),
        cmocka_unit_test(memory_outside_any_object_has_no_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
