/*
 * cpu_timer_hz_test.c - the kernel's tick rate.  (That the tick really
 * caps what a thread CPU-clock timer delivers is a timing claim: the e2e
 * TickCap test checks its effect on a profile's thread-seconds.)
 */
#include "core/sample/cpu_timer.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

static uint32_t parse(const char *text)
{
    return cg_cpu_timer_parse_config_hz(text, strlen(text));
}

static void config_text(void **state)
{
    (void)state;
    assert_int_equal(parse("\nCONFIG_HZ_250=y\nCONFIG_HZ=250\nCONFIG_X=1\n"), 250);
    assert_int_equal(parse("\n# CONFIG_HZ is not set\nCONFIG_HZ=1000"), 1000);
    assert_int_equal(parse("\nCONFIG_HZ_PERIODIC=y\n"), 0);
    assert_int_equal(parse("\nCONFIG_HZ=abc\n"), 0);
    assert_int_equal(parse("\nCONFIG_HZ=99999999\n"), 0);
    assert_int_equal(parse(""), 0);
}

static void this_kernel(void **state)
{
    (void)state;
    /* Either unknown or a real tick rate. */
    uint32_t hz = cg_cpu_timer_kernel_hz();
    assert_true(hz == 0 || (hz >= 24 && hz <= 10000));
}

static void tick_lengths(void **state)
{
    (void)state;
    /* TICK_NSEC = (1e9 + HZ/2) / HZ for the HZ choices Kconfig offers. */
    static const uint32_t hzs[] = {100, 250, 300, 1000, 24, 10000};
    for (size_t i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++)
        assert_int_equal(cg_cpu_timer_hz_from_tick_ns((1000000000ull + hzs[i] / 2) / hzs[i]),
                         hzs[i]);
    assert_int_equal(cg_cpu_timer_hz_from_tick_ns(1), 0);        /* a hrtimer-like 1 ns */
    assert_int_equal(cg_cpu_timer_hz_from_tick_ns(0), 0);
    assert_int_equal(cg_cpu_timer_hz_from_tick_ns(1000000000ull), 0); /* 1 Hz */
}

/* When the running kernel's config is readable, the coarse clock's tick
 * agrees with its CONFIG_HZ. */
static void coarse_tick_agrees_with_the_kernel_config(void **state)
{
    (void)state;
    gzFile f = gzopen("/proc/config.gz", "rb");
    if (!f)
        skip();
    size_t cap = 1u << 20, len = 1;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\n';
    int n;
    while (len < cap && (n = gzread(f, buf + len, (unsigned)(cap - len))) > 0)
        len += (size_t)n;
    gzclose(f);
    uint32_t config_hz = cg_cpu_timer_parse_config_hz(buf, len);
    free(buf);
    if (!config_hz)
        skip();
    struct timespec res;
    assert_int_equal(clock_getres(CLOCK_MONOTONIC_COARSE, &res), 0);
    assert_int_equal(cg_cpu_timer_hz_from_tick_ns((uint64_t)res.tv_nsec), config_hz);
    assert_int_equal(cg_cpu_timer_kernel_hz(), config_hz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_text),
        cmocka_unit_test(this_kernel),
        cmocka_unit_test(tick_lengths),
        cmocka_unit_test(coarse_tick_agrees_with_the_kernel_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
