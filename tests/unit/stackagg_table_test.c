/*
 * stackagg_table_test.c - the raw-stack table between reports.
 */
#include "core/sample/stackagg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

struct tally {
    size_t stacks;
    uint64_t samples;
    uint64_t count_of_abc;
};

static void tally_one(const struct cg_stack_view *s, void *ctx)
{
    struct tally *t = ctx;
    t->stacks++;
    t->samples += s->count;
    if (s->depth == 3 && s->pcs[0] == 0xa && s->pcs[1] == 0xb && s->pcs[2] == 0xc && s->key == 0)
        t->count_of_abc = s->count;
}

static void same_stack_and_key_is_counted_once(void **state)
{
    (void)state;
    struct cg_stackagg *agg = cg_stackagg_new();
    uint64_t abc[] = {0xa, 0xb, 0xc};
    uint64_t ab[] = {0xa, 0xb};
    assert_int_equal(cg_stackagg_add(agg, abc, 3, 0, 0, 1), 0);
    assert_int_equal(cg_stackagg_add(agg, abc, 3, 0, 0, 4), 0);
    assert_int_equal(cg_stackagg_add(agg, abc, 3, 1, 0, 1), 0); /* other key */
    assert_int_equal(cg_stackagg_add(agg, ab, 2, 0, 0, 1), 0);  /* prefix */
    assert_int_equal(cg_stackagg_unique(agg), 3);
    assert_int_equal(cg_stackagg_samples(agg), 7);
    struct tally t = {0};
    cg_stackagg_for_each(agg, tally_one, &t);
    assert_int_equal(t.stacks, 3);
    assert_int_equal(t.samples, 7);
    assert_int_equal(t.count_of_abc, 5);
    cg_stackagg_free(agg);
}

static void many_stacks_survive_growth_and_clear_reuses_memory(void **state)
{
    (void)state;
    struct cg_stackagg *agg = cg_stackagg_new();
    uint64_t pcs[64];
    for (uint64_t i = 0; i < 20000; i++) {
        size_t depth = 1 + i % 64;
        for (size_t k = 0; k < depth; k++)
            pcs[k] = i * 1000 + k;
        assert_int_equal(cg_stackagg_add(agg, pcs, depth, 0, 0, 2), 0);
    }
    assert_int_equal(cg_stackagg_unique(agg), 20000);
    assert_int_equal(cg_stackagg_samples(agg), 40000);
    size_t bytes = cg_stackagg_bytes(agg);
    cg_stackagg_clear(agg);
    assert_int_equal(cg_stackagg_unique(agg), 0);
    for (uint64_t i = 0; i < 20000; i++) {
        size_t depth = 1 + i % 64;
        for (size_t k = 0; k < depth; k++)
            pcs[k] = i * 1000 + k;
        assert_int_equal(cg_stackagg_add(agg, pcs, depth, 0, 0, 1), 0);
    }
    assert_int_equal(cg_stackagg_bytes(agg), bytes); /* no new chunks */
    cg_stackagg_free(agg);
}

static void merge_moves_everything_and_empties_source(void **state)
{
    (void)state;
    struct cg_stackagg *a = cg_stackagg_new(), *b = cg_stackagg_new();
    uint64_t abc[] = {0xa, 0xb, 0xc}, x[] = {0x99};
    cg_stackagg_add(a, abc, 3, 0, 0, 2);
    cg_stackagg_add(b, abc, 3, 0, 0, 3);
    cg_stackagg_add(b, x, 1, 2, 0, 1);
    assert_int_equal(cg_stackagg_merge_into(a, b), 0);
    assert_int_equal(cg_stackagg_unique(a), 2);
    assert_int_equal(cg_stackagg_samples(a), 6);
    assert_int_equal(cg_stackagg_unique(b), 0);
    struct tally t = {0};
    cg_stackagg_for_each(a, tally_one, &t);
    assert_int_equal(t.count_of_abc, 5);
    cg_stackagg_free(a);
    cg_stackagg_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_stack_and_key_is_counted_once),
        cmocka_unit_test(many_stacks_survive_growth_and_clear_reuses_memory),
        cmocka_unit_test(merge_moves_everything_and_empties_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
