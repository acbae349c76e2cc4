/*
 * symbolizer_jit_churn_test.c - JIT names that churn for hours keep the
 * symbolizer's memory flat (issue 14, finding 6: every JIT name used to be
 * interned forever, 11 MB -> 28 MB within 184k names), and no name is freed
 * while its holder may still use it.
 *
 * One million distinct names go through a fake perf map over an hour of
 * simulated time (the map's clock is injected): each simulated second
 * appends about 280 lines naming reused code addresses, each is resolved,
 * and every 60 s a report ends a generation.  Names returned during the
 * last two generations are checked byte for byte after each generation
 * (under ASan a freed one would also be a use-after-free).
 */
#include "core/symbols/perfmap.h"
#include "core/symbols/symbolizer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#define NAMES 1000000u
#define SECONDS 3600u
#define REPORT_EVERY_S 60u
#define SLOTS 4096u   /* code objects of 0x100 bytes, reused */
#define BOUND (6u << 20) /* two generations of ~17k names, the map, the caches */

static uint64_t g_now_ns;

static uint64_t fake_clock(void)
{
    return g_now_ns;
}

static void name_of(unsigned n, char *buf, size_t size)
{
    snprintf(buf, size, "LazyCompile:*handler_%u /srv/app/routes/r%u.js:%u:%u", n, n % 977,
             n % 4093, n % 61);
}

struct held {
    const char *name;
    unsigned n;
};

static void check_held(const struct held *h, size_t count)
{
    char want[128];
    for (size_t i = 0; i < count; i++) {
        name_of(h[i].n, want, sizeof(want));
        assert_string_equal(h[i].name, want);
    }
}

static void churning_jit_names_stay_within_a_fixed_bound(void **state)
{
    (void)state;
    size_t len = SLOTS * 0x100;
    char *code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(code != MAP_FAILED);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/cgagent-jit-churn-%d.map", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);

    struct cg_perfmap_options po = {.path = path, .max_entries = 2 * SLOTS,
                                    .max_name_bytes = 512u << 10, .clock_ns = fake_clock};
    struct cg_symbolizer_options so = {.cache_budget_bytes = 64u << 10,
                                       .jit_name_budget_bytes = 256u << 10, .perfmap = &po};
    struct cg_symbolizer *s = cg_symbolizer_new(&so);
    assert_non_null(s);

    size_t per_s = (NAMES + SECONDS - 1) / SECONDS;
    size_t per_gen = per_s * REPORT_EVERY_S;
    /* Names handed out in this generation and the previous one. */
    struct held *cur = calloc(per_gen, sizeof(*cur)), *prev = calloc(per_gen, sizeof(*prev));
    assert_true(cur && prev);
    size_t n_cur = 0, n_prev = 0, max_bytes = 0;
    unsigned n = 0;
    char want[128];
    for (unsigned sec = 1; sec <= SECONDS && n < NAMES; sec++) {
        unsigned first = n;
        for (size_t i = 0; i < per_s && n < NAMES; i++, n++) {
            name_of(n, want, sizeof(want));
            fprintf(f, "%llx 100 %s\n",
                    (unsigned long long)(uintptr_t)(code + (size_t)(n % SLOTS) * 0x100), want);
        }
        fflush(f);
        g_now_ns += 1000000000ull;
        for (unsigned k = first; k < n; k++) {
            struct cg_symbol sym;
            uintptr_t pc = (uintptr_t)(code + (size_t)(k % SLOTS) * 0x100 + 0x10);
            assert_int_equal(cg_symbolizer_resolve(s, pc, &sym), 0);
            name_of(k, want, sizeof(want));
            assert_string_equal(sym.name, want);
            assert_string_equal(sym.file, "[jit]");
            cur[n_cur++] = (struct held){sym.name, k};
        }
        if (sec % REPORT_EVERY_S == 0) {
            /* The report is done with the previous generation's names. */
            check_held(prev, n_prev);
            check_held(cur, n_cur);
            cg_symbolizer_next_generation(s);
            check_held(cur, n_cur); /* still valid until the next call */
            struct held *t = prev;
            prev = cur;
            cur = t;
            n_prev = n_cur;
            n_cur = 0;
        }
        size_t b = cg_symbolizer_bytes(s);
        if (b > max_bytes)
            max_bytes = b;
        if (b >= BOUND)
            print_message("at %u s: %zu bytes\n", sec, b);
        assert_true(b < BOUND);
    }
    assert_int_equal(n, NAMES);
    print_message("%u JIT names over %u simulated s: at most %zu bytes held\n", n, SECONDS,
                  max_bytes);
    cg_symbolizer_free(s);
    free(cur);
    free(prev);
    fclose(f);
    unlink(path);
    munmap(code, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(churning_jit_names_stay_within_a_fixed_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
