/*
 * config_privilege_test.c - which processes the agent must not configure
 * from their environment, and the output_mode setting.
 *
 * Regression for issue 14, finding 1: the constructor read CGAGENT_LOG_FILE
 * and the config file before the AT_SECURE check.
 */
#include "core/agent/config.h"
#include "core/base/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static struct cg_process_ids user(uid_t uid)
{
    struct cg_process_ids p = {0, uid, uid, uid, uid, uid, uid, 0};
    return p;
}

static void ordinary_processes_are_not_privileged(void **state)
{
    (void)state;
    struct cg_process_ids p = user(1000);
    assert_null(cg_config_privilege_reason(&p));
    p = user(0);
    p.cap_permitted = ~0ull; /* root with every capability: its own env */
    assert_null(cg_config_privilege_reason(&p));
}

static void at_secure_is_privileged(void **state)
{
    (void)state;
    struct cg_process_ids p = user(1000);
    p.at_secure = 1;
    assert_non_null(strstr(cg_config_privilege_reason(&p), "AT_SECURE"));
}

static void differing_ids_are_privileged(void **state)
{
    (void)state;
    struct cg_process_ids p = user(65534);
    p.euid = 0;
    assert_non_null(cg_config_privilege_reason(&p));
    p = user(65534);
    p.suid = 0; /* dropped for now, can come back */
    assert_non_null(cg_config_privilege_reason(&p));
    p = user(65534);
    p.egid = 42;
    assert_non_null(strstr(cg_config_privilege_reason(&p), "group"));
    p = user(65534);
    p.sgid = 42;
    assert_non_null(cg_config_privilege_reason(&p));
}

static void capabilities_of_a_non_root_user_are_privileged(void **state)
{
    (void)state;
    struct cg_process_ids p = user(65534);
    p.cap_permitted = 1ull << 10; /* CAP_NET_BIND_SERVICE */
    assert_non_null(strstr(cg_config_privilege_reason(&p), "capabilities"));
}

static void this_test_process_reads_as_it_runs(void **state)
{
    (void)state;
    struct cg_process_ids p;
    cg_config_process_ids(&p);
    assert_int_equal(p.ruid, getuid());
    assert_int_equal(p.euid, geteuid());
    assert_int_equal(p.rgid, getgid());
}

static const char *const *g_pairs;

static const char *fake_getenv(const char *name, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; g_pairs && g_pairs[i]; i += 2)
        if (strcmp(g_pairs[i], name) == 0)
            return g_pairs[i + 1];
    return NULL;
}

static void output_mode_is_private_unless_shared(void **state)
{
    (void)state;
    struct cg_config_source src = {.getenv_fn = fake_getenv,
                                   .default_config_path = "/nonexistent/cgagent.conf"};
    struct cg_config cfg;
    g_pairs = NULL;
    assert_int_equal(cg_config_load(&cfg, &src), 0);
    assert_false(cfg.output_shared);
    cg_config_cleanup(&cfg);
    static const char *const shared[] = {"CGAGENT_OUTPUT_MODE", "shared", NULL};
    g_pairs = shared;
    assert_int_equal(cg_config_load(&cfg, &src), 0);
    assert_true(cfg.output_shared);
    cg_config_cleanup(&cfg);
    static const char *const bad[] = {"CGAGENT_OUTPUT_MODE", "0777", NULL};
    g_pairs = bad;
    assert_int_equal(cg_config_load(&cfg, &src), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_processes_are_not_privileged),
        cmocka_unit_test(at_secure_is_privileged),
        cmocka_unit_test(differing_ids_are_privileged),
        cmocka_unit_test(capabilities_of_a_non_root_user_are_privileged),
        cmocka_unit_test(this_test_process_reads_as_it_runs),
        cmocka_unit_test(output_mode_is_private_unless_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
