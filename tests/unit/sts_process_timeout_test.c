/*
 * sts_process_timeout_test.c - credential_process helpers that do not go
 * away: the fetch ends by its deadline, the helper's whole process group
 * is killed, and the helper is reaped (no zombie).
 *
 * Regression tests for the review finding "credential_process timeout not
 * enforced after the helper closes its pipes": the fetch used to block in
 * waitpid(pid, &status, 0) for as long as the helper lived, and a timeout
 * killed only the helper, not what it had started.
 *
 * The test process makes itself a child subreaper, so the helpers' own
 * children (orphaned when the helper dies) are reparented to it and it can
 * tell how they ended.
 */
#include "core/base/error.h"
#include "sts/aws_request.h"
#include "sts/credentials.h"
#include "sts/provider.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define CREDS_JSON \
    "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESSTEST\", \"SecretAccessKey\": \"s3cr3t\"}"

static char dir[] = "/tmp/cgagent-process-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/creds.json", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(CREDS_JSON, f) < 0 || fclose(f) != 0)
        return -1;
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static pid_t read_pid(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    long pid = -1;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return (pid_t)pid;
}

/* Reaps `pid` (an orphan reparented to us) within 5 s; returns its wait
 * status, or -1 when it is still running then. */
static int reap_orphan(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL); /* do not leave it behind */
    waitpid(pid, NULL, 0);
    return -1;
}

static int fetch(const char *script, uint64_t budget_ms, struct cg_credentials *c, char *err,
                 size_t err_size, uint64_t *elapsed_ms)
{
    char *command;
    assert_true(asprintf(&command, "/bin/sh -c '%s' helper %s", script, dir) > 0);
    struct cg_provider *p = cg_provider_process_new("test helper", command);
    free(command);
    assert_non_null(p);
    uint64_t t0 = cg_aws_monotonic_ms();
    int rc = cg_provider_fetch(p, t0 + budget_ms, c, err, err_size);
    *elapsed_ms = cg_aws_monotonic_ms() - t0;
    cg_provider_free(p);
    return rc;
}

/* The finding's case: credentials printed, stdout and stderr closed, then
 * the helper (and a child it started) sleep for a minute. */
static void helper_lingering_after_closing_its_output_is_killed_at_the_deadline(void **state)
{
    (void)state;
    const char *script = "cat \"$1/creds.json\"; "
                         "exec >&- 2>&-; "
                         "sleep 60 & echo $! >\"$1/grandchild\"; "
                         "echo $$ >\"$1/helper\"; "
                         "exec sleep 60";
    struct cg_credentials c = {0};
    char err[512] = "";
    uint64_t elapsed;
    int rc = fetch(script, 1500, &c, err, sizeof(err), &elapsed);
    assert_int_equal(rc, CG_ENET);
    assert_non_null(strstr(err, "closed its output but did not exit"));
    assert_non_null(strstr(err, "killed it and its process group"));
    assert_false(cg_credentials_valid(&c));
    assert_true(elapsed < 10000); /* 1.5 s deadline; the helper wanted 60 s */

    pid_t helper = read_pid("helper"), grandchild = read_pid("grandchild");
    assert_true(helper > 0);
    assert_true(grandchild > 0);
    /* The provider reaped its helper: no zombie, nothing left to wait for. */
    assert_int_equal(waitpid(helper, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(kill(helper, 0), -1);
    assert_int_equal(errno, ESRCH);
    /* The helper's child died with its process group, by SIGKILL. */
    int status = reap_orphan(grandchild);
    assert_int_not_equal(status, -1);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* The helper exits, but a child it started keeps stdout open: the read
 * times out and the whole group is killed, not just the (gone) helper. */
static void output_held_open_by_a_child_kills_the_group(void **state)
{
    (void)state;
    const char *script = "cat \"$1/creds.json\"; "
                         "sleep 60 & echo $! >\"$1/grandchild\"; "
                         "echo $$ >\"$1/helper\"; "
                         "exit 0";
    struct cg_credentials c = {0};
    char err[512] = "";
    uint64_t elapsed;
    int rc = fetch(script, 1500, &c, err, sizeof(err), &elapsed);
    assert_int_equal(rc, CG_ENET);
    assert_non_null(strstr(err, "did not finish within"));
    assert_true(elapsed < 10000);
    pid_t helper = read_pid("helper"), grandchild = read_pid("grandchild");
    assert_true(helper > 0 && grandchild > 0);
    assert_int_equal(waitpid(helper, NULL, WNOHANG), -1);
    int status = reap_orphan(grandchild);
    assert_int_not_equal(status, -1);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* A well-behaved helper is unaffected and quick. */
static void helper_that_exits_is_read_and_reaped(void **state)
{
    (void)state;
    const char *script = "cat \"$1/creds.json\"; echo $$ >\"$1/helper\"";
    struct cg_credentials c = {0};
    char err[512] = "";
    uint64_t elapsed;
    int rc = fetch(script, 30000, &c, err, sizeof(err), &elapsed);
    assert_int_equal(rc, 0);
    assert_string_equal(c.access_key_id, "AKIDPROCESSTEST");
    assert_string_equal(c.secret_access_key, "s3cr3t");
    assert_true(elapsed < 10000);
    pid_t helper = read_pid("helper");
    assert_true(helper > 0);
    assert_int_equal(waitpid(helper, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    cg_credentials_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(helper_lingering_after_closing_its_output_is_killed_at_the_deadline),
        cmocka_unit_test(output_held_open_by_a_child_kills_the_group),
        cmocka_unit_test(helper_that_exits_is_read_and_reaped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
