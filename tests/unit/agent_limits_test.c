/*
 * agent_limits_test.c - the agent's CPU self-limit rule.
 */
#include "core/agent/agent.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S 1000000000ull

static void under_the_limit_keeps_running(void **state)
{
    (void)state;
    assert_false(cg_agent_over_cpu_limit(S / 2, 60 * S, 10));   /* 0.8% */
    assert_false(cg_agent_over_cpu_limit(6 * S, 60 * S, 10));   /* exactly 10% */
}

static void over_the_limit_stops(void **state)
{
    (void)state;
    assert_true(cg_agent_over_cpu_limit(7 * S, 60 * S, 10));    /* 11.7% */
    assert_true(cg_agent_over_cpu_limit(2 * S, 11 * S, 1));
}

static void first_ten_seconds_never_trip(void **state)
{
    (void)state;
    /* The first report loads symbol tables: a burst is not a trend. */
    assert_false(cg_agent_over_cpu_limit(5 * S, 9 * S, 10));
    assert_false(cg_agent_over_cpu_limit(S, 0, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(under_the_limit_keeps_running),
        cmocka_unit_test(over_the_limit_stops),
        cmocka_unit_test(first_ten_seconds_never_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
