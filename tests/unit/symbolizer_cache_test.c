/*
 * symbolizer_cache_test.c - the per-PC cache in front of the symbol
 * tables: small for a program with few hot PCs, growing with them up to
 * its byte budget, and answering the same names before and after it grows
 * or is cleared.
 */
#include "core/symbols/symbolizer.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PCS 20000

/* PCs spread over libc's code: every 16th byte after a known function. */
static uintptr_t libc_pc(size_t i)
{
    static uintptr_t base;
    if (!base)
        base = (uintptr_t)dlsym(RTLD_DEFAULT, "qsort");
    return base + 16 * i;
}

static void resolve_all(struct cg_symbolizer *s, const char **names)
{
    for (size_t i = 0; i < PCS; i++) {
        struct cg_symbol sym;
        assert_int_equal(cg_symbolizer_resolve(s, libc_pc(i), &sym), 0);
        if (names[i])
            assert_ptr_equal(sym.name, names[i]); /* interned: same pointer */
        else
            names[i] = sym.name;
    }
}

static void a_new_symbolizer_holds_a_small_cache(void **state)
{
    (void)state;
    struct cg_symbolizer *big = cg_symbolizer_new(NULL);
    struct cg_symbolizer *small = cg_symbolizer_new(&(struct cg_symbolizer_options){.cache_budget_bytes = 1u << 20});
    assert_non_null(big);
    assert_non_null(small);
    /* The budget is a ceiling, not what a new symbolizer pays: an 8 MiB
     * budget and a 1 MiB one start the same size. */
    assert_int_equal(cg_symbolizer_bytes(big), cg_symbolizer_bytes(small));
    cg_symbolizer_free(big);
    cg_symbolizer_free(small);
}

static void the_cache_grows_with_hot_pcs_and_keeps_answers(void **state)
{
    (void)state;
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    assert_non_null(s);
    size_t before = cg_symbolizer_bytes(s);
    const char **names = calloc(PCS, sizeof(*names));
    assert_non_null(names);
    resolve_all(s, names);
    size_t after = cg_symbolizer_bytes(s);
    assert_true(after > before); /* grew (and loaded libc's table) */
    resolve_all(s, names);       /* cached answers equal the first ones */
    assert_int_equal(cg_symbolizer_bytes(s), after);
    free(names);
    cg_symbolizer_free(s);
}

static void a_cache_at_its_budget_is_cleared_not_grown(void **state)
{
    (void)state;
    /* 64 KiB holds a few thousand entries: 20,000 PCs clear it repeatedly. */
    struct cg_symbolizer *s = cg_symbolizer_new(&(struct cg_symbolizer_options){.cache_budget_bytes = 64u << 10});
    assert_non_null(s);
    const char **names = calloc(PCS, sizeof(*names));
    assert_non_null(names);
    resolve_all(s, names);
    size_t at_budget = cg_symbolizer_bytes(s);
    resolve_all(s, names);
    resolve_all(s, names);
    assert_int_equal(cg_symbolizer_bytes(s), at_budget); /* flat under churn */
    free(names);
    cg_symbolizer_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_symbolizer_holds_a_small_cache),
        cmocka_unit_test(the_cache_grows_with_hot_pcs_and_keeps_answers),
        cmocka_unit_test(a_cache_at_its_budget_is_cleared_not_grown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
