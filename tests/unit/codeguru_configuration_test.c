/*
 * codeguru_configuration_test.c - ConfigureAgent answers: every setting
 * the agent applies is clamped to its documented range (issue 14,
 * finding 7: a huge periodInSeconds wrapped the period's nanoseconds),
 * and fractions and text are ignored rather than misread.
 */
#include "core/upload/codeguru.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static struct cg_agent_configuration parse(const char *json)
{
    struct cg_agent_configuration c;
    assert_int_equal(cg_codeguru_parse_configuration(json, strlen(json), &c, NULL), 0);
    return c;
}

static void in_range_values_pass_unchanged(void **state)
{
    (void)state;
    struct cg_agent_configuration c = parse(
        "{\"shouldProfile\":true,\"periodInSeconds\":300,\"agentParameters\":{"
        "\"SamplingIntervalInMilliseconds\":\"1000\","
        "\"MinimumTimeForReportingInMilliseconds\":\"60000\",\"MaxStackDepth\":\"1000\"}}");
    assert_true(c.should_profile);
    assert_int_equal(c.period_s, 300);
    assert_int_equal(c.sampling_interval_ms, 1000);
    assert_int_equal(c.min_reporting_ms, 60000);
    assert_int_equal(c.max_stack_depth, 1000);
}

static void huge_values_are_clamped_to_the_top(void **state)
{
    (void)state;
    struct cg_agent_configuration c = parse(
        "{\"configuration\":{\"shouldProfile\":true,\"periodInSeconds\":9223372036854775807,"
        "\"agentParameters\":{\"SamplingIntervalInMilliseconds\":\"99999999999999999999999\","
        "\"MinimumTimeForReportingInMilliseconds\":\"9223372036854775807\","
        "\"MaxStackDepth\":\"4294967296\"}}}");
    assert_int_equal(c.period_s, CG_SVC_PERIOD_S_MAX);
    assert_int_equal(c.sampling_interval_ms, CG_SVC_SAMPLING_MS_MAX);
    assert_int_equal(c.min_reporting_ms, CG_SVC_MIN_REPORTING_MS_MAX);
    assert_int_equal(c.max_stack_depth, CG_SVC_MAX_STACK_DEPTH_MAX);
    /* The period in nanoseconds (agent_loop.c) no longer wraps. */
    uint64_t ns = (uint64_t)c.period_s * 1000u * 1000000u;
    assert_true(ns / 1000000000u == (uint64_t)c.period_s);
}

static void negative_and_zero_values_are_clamped_to_the_bottom(void **state)
{
    (void)state;
    struct cg_agent_configuration c = parse(
        "{\"shouldProfile\":false,\"periodInSeconds\":-5,\"agentParameters\":{"
        "\"SamplingIntervalInMilliseconds\":\"0\","
        "\"MinimumTimeForReportingInMilliseconds\":\"-1\",\"MaxStackDepth\":\"-9223372036854775808\"}}");
    assert_false(c.should_profile);
    assert_int_equal(c.period_s, CG_SVC_PERIOD_S_MIN);
    assert_int_equal(c.sampling_interval_ms, CG_SVC_SAMPLING_MS_MIN);
    assert_int_equal(c.min_reporting_ms, 0);
    assert_int_equal(c.max_stack_depth, CG_SVC_MAX_STACK_DEPTH_MIN);
    c = parse("{\"shouldProfile\":true,\"periodInSeconds\":0,\"agentParameters\":{"
              "\"MaxStackDepth\":\"0\",\"MinimumTimeForReportingInMilliseconds\":\"0\"}}");
    assert_int_equal(c.period_s, CG_SVC_PERIOD_S_MIN);
    assert_int_equal(c.max_stack_depth, CG_SVC_MAX_STACK_DEPTH_MIN);
    assert_int_equal(c.min_reporting_ms, 0);
}

static void fractions_and_text_are_ignored(void **state)
{
    (void)state;
    struct cg_agent_configuration c = parse(
        "{\"shouldProfile\":true,\"periodInSeconds\":1.5,\"agentParameters\":{"
        "\"SamplingIntervalInMilliseconds\":\"1.5\","
        "\"MinimumTimeForReportingInMilliseconds\":\"soon\",\"MaxStackDepth\":\"\"}}");
    assert_int_equal(c.period_s, -1);
    assert_int_equal(c.sampling_interval_ms, -1);
    assert_int_equal(c.min_reporting_ms, -1);
    assert_int_equal(c.max_stack_depth, -1);
    c = parse("{\"shouldProfile\":true,\"periodInSeconds\":\"300\",\"agentParameters\":{"
              "\"SamplingIntervalInMilliseconds\":\"100x\",\"MaxStackDepth\":true,"
              "\"MinimumTimeForReportingInMilliseconds\":[1]}}");
    assert_int_equal(c.period_s, 300); /* a decimal string is a whole number */
    assert_int_equal(c.sampling_interval_ms, -1);
    assert_int_equal(c.max_stack_depth, -1);
    assert_int_equal(c.min_reporting_ms, -1);
}

static void absent_values_stay_unset(void **state)
{
    (void)state;
    struct cg_agent_configuration c =
        parse("{\"shouldProfile\":true,\"agentParameters\":\"not an object\"}");
    assert_int_equal(c.period_s, -1);
    assert_int_equal(c.sampling_interval_ms, -1);
    assert_int_equal(c.min_reporting_ms, -1);
    assert_int_equal(c.max_stack_depth, -1);
}

static void answers_that_are_not_a_configuration_are_refused(void **state)
{
    (void)state;
    struct cg_agent_configuration c;
    const char *bad[] = {"", "[]", "{}", "{\"shouldProfile\":\"yes\"}", "{\"shouldProfile\":tr",
                         "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cg_codeguru_parse_configuration(bad[i], strlen(bad[i]), &c, NULL), -1);
    assert_int_equal(cg_codeguru_parse_configuration(NULL, 0, &c, NULL), -1);
}

static void a_clamp_warns_once_per_setting(void **state)
{
    (void)state;
    unsigned warned = 0;
    struct cg_agent_configuration c;
    const char *j = "{\"shouldProfile\":true,\"periodInSeconds\":100000000}";
    assert_int_equal(cg_codeguru_parse_configuration(j, strlen(j), &c, &warned), 0);
    assert_int_equal(warned, 1u);
    assert_int_equal(cg_codeguru_parse_configuration(j, strlen(j), &c, &warned), 0);
    assert_int_equal(warned, 1u);
    assert_int_equal(c.period_s, CG_SVC_PERIOD_S_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_range_values_pass_unchanged),
        cmocka_unit_test(huge_values_are_clamped_to_the_top),
        cmocka_unit_test(negative_and_zero_values_are_clamped_to_the_bottom),
        cmocka_unit_test(fractions_and_text_are_ignored),
        cmocka_unit_test(absent_values_stay_unset),
        cmocka_unit_test(answers_that_are_not_a_configuration_are_refused),
        cmocka_unit_test(a_clamp_warns_once_per_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
