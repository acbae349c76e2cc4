/*
 * cpu_timer_hz_test.c - reading the kernel's tick rate from its config.
 */
#include "core/cpu_timer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_text),
        cmocka_unit_test(this_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
