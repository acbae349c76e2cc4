/*
 * config_load_test.c - settings from env, config file and defaults.
 */
#include "core/agent/config.h"
#include "core/base/error.h"
#include "core/base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* A fake environment: NULL-terminated name/value pairs. */
struct fake_env {
    const char *const *pairs;
};

static const char *fake_getenv(const char *name, void *ctx)
{
    const struct fake_env *e = ctx;
    for (size_t i = 0; e->pairs && e->pairs[i]; i += 2)
        if (strcmp(e->pairs[i], name) == 0)
            return e->pairs[i + 1];
    return NULL;
}

static char log_path[] = "/tmp/cgagent-config-test-log-XXXXXX";
static char conf_path[] = "/tmp/cgagent-config-test-conf-XXXXXX";

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(log_path);
    close(fd);
    fd = mkstemp(conf_path);
    close(fd);
    cg_log_set_file(log_path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_log_set_file(NULL);
    unlink(log_path);
    unlink(conf_path);
    return 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");
    fputs(text, f);
    fclose(f);
}

/* Returns what was logged since the last call, and truncates the log. */
static char *take_log(void)
{
    static char buf[4096];
    FILE *f = fopen(log_path, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    truncate(log_path, 0);
    return buf;
}

static int load(struct cg_config *cfg, const char *const *env)
{
    struct fake_env fe = {env};
    struct cg_config_source src = {
        .getenv_fn = fake_getenv, .getenv_ctx = &fe,
        .exe_name = "server", .argv0_name = "srv",
        .default_config_path = "/nonexistent/cgagent.conf",
    };
    return cg_config_load(cfg, &src);
}

static void defaults_apply_when_nothing_is_set(void **state)
{
    (void)state;
    struct cg_config cfg;
    assert_int_equal(load(&cfg, NULL), 0);
    assert_true(cfg.enabled);
    assert_int_equal(cfg.cpu_hz, 100);
    assert_int_equal(cfg.wall_interval_ms, 1000);
    assert_int_equal(cfg.reporting_interval_ms, 300000);
    assert_int_equal(cfg.max_stack_depth, 1000);
    assert_int_equal(cfg.cpu_limit_percent, 10);
    assert_int_equal(cfg.memory_limit_mb, 32);
    assert_null(cfg.output_dir);
    assert_null(cfg.config_path);
    assert_false(cfg.user_wall_interval);
    assert_string_equal(cfg.program_name, "server");
    cg_config_cleanup(&cfg);
    assert_string_equal(take_log(), "");
}

static void env_values_are_read(void **state)
{
    (void)state;
    const char *env[] = {"CGAGENT_OUTPUT", "/tmp/out", "CGAGENT_CPU_HZ", "250",
                         "AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS", "500",
                         "AWS_REGION", "eu-west-1", NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), 0);
    assert_string_equal(cfg.output_dir, "/tmp/out");
    assert_int_equal(cfg.cpu_hz, 250);
    assert_int_equal(cfg.wall_interval_ms, 500);
    assert_true(cfg.user_wall_interval);
    assert_string_equal(cfg.region, "eu-west-1");
    cg_config_cleanup(&cfg);
}

static void bad_cpu_hz_fails_with_one_line_naming_the_variable(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "-5", "1001", "12x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {"CGAGENT_CPU_HZ", bad[i], NULL};
        struct cg_config cfg;
        assert_int_equal(load(&cfg, env), CG_EINVAL);
        char *log = take_log();
        assert_non_null(strstr(log, "CGAGENT_CPU_HZ="));
        assert_non_null(strstr(log, "stays off"));
        assert_non_null(strchr(log, '\n'));
        assert_null(strchr(strchr(log, '\n') + 1, '\n')); /* exactly one line */
    }
}

static void process_section_beats_default_and_env_beats_both(void **state)
{
    (void)state;
    write_conf("# shared by every process on the host\n"
               "[process server]\n"
               "cpu_hz = 50\n"
               "[default]\n"
               "cpu_hz = 20\n"
               "output_dir = /var/tmp/profiles\n"
               "max_stack_depth = 64\n");
    const char *env[] = {"CGAGENT_CONFIG", conf_path, NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), 0);
    assert_int_equal(cfg.cpu_hz, 50);
    assert_int_equal(cfg.max_stack_depth, 64);
    assert_true(cfg.user_max_stack_depth);
    assert_string_equal(cfg.output_dir, "/var/tmp/profiles");
    assert_string_equal(cfg.config_path, conf_path);
    cg_config_cleanup(&cfg);

    const char *env2[] = {"CGAGENT_CONFIG", conf_path, "CGAGENT_CPU_HZ", "75", NULL};
    assert_int_equal(load(&cfg, env2), 0);
    assert_int_equal(cfg.cpu_hz, 75);
    cg_config_cleanup(&cfg);
}

static void argv0_name_selects_a_process_section(void **state)
{
    (void)state;
    write_conf("[process srv]\nenabled = false\n");
    const char *env[] = {"CGAGENT_CONFIG", conf_path, NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), 0);
    assert_false(cfg.enabled);
    cg_config_cleanup(&cfg);
}

static void bad_file_value_names_file_line_and_key(void **state)
{
    (void)state;
    write_conf("[default]\noutput_dir = /tmp/x\n\n[process other]\ncpu_hz = lots\n");
    const char *env[] = {"CGAGENT_CONFIG", conf_path, NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), CG_EINVAL);
    char expect[256];
    snprintf(expect, sizeof(expect), "%s:5: cpu_hz = \"lots\"", conf_path);
    assert_non_null(strstr(take_log(), expect));
}

static void unknown_key_and_syntax_error_are_reported(void **state)
{
    (void)state;
    const char *env[] = {"CGAGENT_CONFIG", conf_path, NULL};
    struct cg_config cfg;
    write_conf("[default]\ncpu_herz = 10\n");
    assert_int_equal(load(&cfg, env), CG_EINVAL);
    assert_non_null(strstr(take_log(), ":2: unknown key cpu_herz"));
    write_conf("[default]\ncpu_hz = 10\nthis line has no equals sign\n");
    assert_int_equal(load(&cfg, env), CG_EPARSE);
    assert_non_null(strstr(take_log(), ":3: syntax error"));
}

static void missing_explicit_config_file_keeps_agent_off(void **state)
{
    (void)state;
    const char *env[] = {"CGAGENT_CONFIG", "/nonexistent/agent.conf", NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), CG_ENOTFOUND);
    assert_non_null(strstr(take_log(), "CGAGENT_CONFIG=/nonexistent/agent.conf: no such file"));
}

static void group_arn_gives_name_region_and_account(void **state)
{
    (void)state;
    const char *env[] = {"AWS_CODEGURU_PROFILER_GROUP_ARN",
                         "arn:aws:codeguru-profiler:eu-central-1:123456789012:profilingGroup/"
                         "checkout-svc",
                         "AWS_REGION", "us-east-1", NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env), 0);
    assert_string_equal(cfg.profiling_group, "checkout-svc");
    assert_string_equal(cfg.region, "eu-central-1"); /* the group's region, not AWS_REGION */
    assert_string_equal(cfg.account_id, "123456789012");
    cg_config_cleanup(&cfg);
}

static void group_arn_conflicts_and_garbage_are_rejected(void **state)
{
    (void)state;
    const char *arn = "arn:aws:codeguru-profiler:eu-central-1:123456789012:profilingGroup/g1";
    const char *env1[] = {"AWS_CODEGURU_PROFILER_GROUP_ARN", arn,
                          "AWS_CODEGURU_PROFILER_TARGET_REGION", "us-west-2", NULL};
    const char *env2[] = {"AWS_CODEGURU_PROFILER_GROUP_ARN", arn,
                          "AWS_CODEGURU_PROFILER_GROUP_NAME", "g2", NULL};
    const char *env3[] = {"AWS_CODEGURU_PROFILER_GROUP_ARN",
                          "arn:aws:s3:::bucket", NULL};
    struct cg_config cfg;
    assert_int_equal(load(&cfg, env1), CG_EINVAL);
    assert_non_null(strstr(take_log(), "contradicts the group ARN"));
    assert_int_equal(load(&cfg, env2), CG_EINVAL);
    assert_non_null(strstr(take_log(), "contradicts the group ARN"));
    assert_int_equal(load(&cfg, env3), CG_EINVAL);
    assert_non_null(strstr(take_log(), "AWS_CODEGURU_PROFILER_GROUP_ARN="));
}

static void session_names_follow_sts_rules(void **state)
{
    (void)state;
    assert_true(cg_config_session_name_valid("cgagent-host-42"));
    assert_true(cg_config_session_name_valid("a+b=c,d.e@f_g"));
    assert_false(cg_config_session_name_valid("x"));
    assert_false(cg_config_session_name_valid("has space"));
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    assert_false(cg_config_session_name_valid(long_name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply_when_nothing_is_set),
        cmocka_unit_test(env_values_are_read),
        cmocka_unit_test(bad_cpu_hz_fails_with_one_line_naming_the_variable),
        cmocka_unit_test(process_section_beats_default_and_env_beats_both),
        cmocka_unit_test(argv0_name_selects_a_process_section),
        cmocka_unit_test(bad_file_value_names_file_line_and_key),
        cmocka_unit_test(unknown_key_and_syntax_error_are_reported),
        cmocka_unit_test(missing_explicit_config_file_keeps_agent_off),
        cmocka_unit_test(group_arn_gives_name_region_and_account),
        cmocka_unit_test(group_arn_conflicts_and_garbage_are_rejected),
        cmocka_unit_test(session_names_follow_sts_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
