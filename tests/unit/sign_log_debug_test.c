/*
 * sign_log_debug_test.c - the SigV4 debug log shows the stages and never
 * the secret, the session token, the signing key or the signature.
 */
#include "core/base/log.h"
#include "sigv4/sigv4.h"
#include "sts/sign_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char *sign_and_capture(enum cg_log_level level, uint32_t presign, struct sigv4_result *r)
{
    char path[] = "/tmp/cgagent-signlog-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    cg_log_set_file(path);
    cg_log_set_level(level);
    struct sigv4_header h[] = {{"Host", "sts.us-east-1.amazonaws.com"}};
    struct sigv4_request req = {"POST", "/", NULL, h, 1, "Action=GetCallerIdentity", 24, NULL};
    struct sigv4_credentials cred = {"AKIDEXAMPLE", "SECRETsecretSECRET", "TOKENtokenTOKEN"};
    struct sigv4_options o = {.region = "us-east-1", .service = "sts", .time = 1440938160,
                              .presign_expires_s = presign};
    assert_int_equal(sigv4_sign(&req, &cred, &o, NULL, r), 0);
    cg_sign_log_debug("sts GetCallerIdentity", r);
    cg_log_set_file(NULL);
    FILE *f = fopen(path, "r");
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

static void debug_log_shows_stages_without_secrets(void **state)
{
    (void)state;
    for (uint32_t presign = 0; presign <= 60; presign += 60) {
        struct sigv4_result r;
        char *log = sign_and_capture(CG_LOG_DEBUG, presign, &r);
        assert_non_null(strstr(log, "sts GetCallerIdentity: canonical request:"));
        assert_non_null(strstr(log, "sts GetCallerIdentity: string to sign:"));
        assert_non_null(strstr(log, "AWS4-HMAC-SHA256"));
        assert_non_null(strstr(log, "<redacted>"));
        assert_null(strstr(log, "SECRET"));
        assert_null(strstr(log, "TOKEN"));
        assert_null(strstr(log, r.signature));
        sigv4_result_cleanup(&r);
    }
}

static void nothing_is_logged_above_debug(void **state)
{
    (void)state;
    struct sigv4_result r;
    char *log = sign_and_capture(CG_LOG_INFO, 0, &r);
    assert_string_equal(log, "");
    sigv4_result_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(debug_log_shows_stages_without_secrets),
        cmocka_unit_test(nothing_is_logged_above_debug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
