/*
 * sts_wipe_test.c - the credentials path leaves no copy of a secret in
 * freed memory, and keeps the secret and the token out of core dumps.
 *
 * Regression tests for the review finding "secrets not wiped" as it
 * applies to sts/: cg_xml_fields trimmed a pretty-printed value by moving
 * it left, and the moved-over tail of the secret stayed past the new end,
 * where cleanup (which wipes up to the NUL) never reached; expat's input
 * buffer, which holds the whole STS answer, was freed unwiped; and the
 * secret and token were heap strings that every core dump carried.  Every
 * free and realloc of libcgcore.a passes through tests/unit/wipe_check.h.
 */
#include "core/base/error.h"
#include "sts/aws_config.h"
#include "sts/credentials.h"
#include "sts/provider.h"
#include "sts/xml_fields.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/wipe_check.h"

static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETTAILzz";
static const char tail[] = "zzSECRETTAILzz"; /* the secret's last 14 characters */
static const char token[] = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENwipecheck0123456789";

static void watch_all(void)
{
    wipe_check_reset();
    wipe_check_watch("secret access key", secret, strlen(secret));
    wipe_check_watch("end of the secret access key", tail, strlen(tail));
    wipe_check_watch("session token", token, strlen(token));
}

static void assert_nothing_leaked(void)
{
    assert_true(wipe_check.frees > 0); /* the wrap is in place */
    if (wipe_check.leaks)
        fail_msg("%d released block(s) still held a secret; first: %s", wipe_check.leaks,
                 wipe_check.first);
}

static void credentials_keep_secret_and_token_out_of_core_dumps(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    struct cg_credentials c = {0}, copy = {0};
    assert_int_equal(cg_credentials_set(&c, "ASIAEXAMPLE", secret, token, 1795550560), 0);
    assert_string_equal(c.secret_access_key, secret);
    assert_string_equal(c.session_token, token);
    assert_int_equal((uintptr_t)c.secret_access_key % (uintptr_t)page, 0);
    assert_int_equal(wipe_check_dontdump(c.secret_access_key), 1);
    assert_int_equal(wipe_check_dontdump(c.session_token), 1);
    /* Copies too; each has its own pages. */
    assert_int_equal(cg_credentials_copy(&copy, &c), 0);
    assert_ptr_not_equal(copy.secret_access_key, c.secret_access_key);
    assert_int_equal(wipe_check_dontdump(copy.secret_access_key), 1);
    assert_string_equal(copy.session_token, token);
    cg_credentials_clear(&c);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);
    assert_null(c.secret_pages);
    assert_string_equal(copy.secret_access_key, secret); /* independent */
    cg_credentials_clear(&copy);
    /* Long-term keys: no token. */
    assert_int_equal(cg_credentials_set(&c, "AKIAEXAMPLE", secret, NULL, 0), 0);
    assert_null(c.session_token);
    assert_int_equal(wipe_check_dontdump(c.secret_access_key), 1);
    cg_credentials_clear(&c);
    cg_credentials_clear(&c); /* twice is fine */
}

static void credentials_set_copy_clear_free_no_copy_of_a_secret(void **state)
{
    (void)state;
    watch_all();
    struct cg_credentials c = {0}, copy = {0};
    assert_int_equal(cg_credentials_set(&c, "ASIAEXAMPLE", secret, token, 0), 0);
    assert_int_equal(cg_credentials_copy(&copy, &c), 0);
    cg_credentials_clear(&c);
    cg_credentials_clear(&copy);
    free(malloc(1)); /* at least one free() seen */
    assert_nothing_leaked();
}

/* An STS answer pretty-printed with the values on lines of their own. */
static void xml_fields_leave_no_copy_of_a_pretty_printed_secret(void **state)
{
    (void)state;
    char doc[2048];
    snprintf(doc, sizeof(doc),
             "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
             "  <AssumeRoleResult>\n"
             "    <Credentials>\n"
             "      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
             "      <SecretAccessKey>\n"
             "                      %s\n"
             "      </SecretAccessKey>\n"
             "      <SessionToken>\n"
             "                      %s\n"
             "      </SessionToken>\n"
             "      <Expiration>2026-11-24T20:02:40Z</Expiration>\n"
             "    </Credentials>\n"
             "  </AssumeRoleResult>\n"
             "</AssumeRoleResponse>\n",
             secret, token);
    watch_all();
    struct cg_xml_field f[] = {{"SecretAccessKey", NULL}, {"SessionToken", NULL}};
    assert_int_equal(cg_xml_fields(doc, strlen(doc), f, 2), 0);
    assert_string_equal(f[0].value, secret);
    assert_string_equal(f[1].value, token);
    cg_xml_fields_cleanup(f, 2);
    assert_nothing_leaked();
    /* A malformed answer is cleaned up the same way. */
    doc[strlen(doc) - 3] = '\0';
    watch_all();
    assert_int_equal(cg_xml_fields(doc, strlen(doc), f, 2), CG_EPARSE);
    assert_null(f[0].value);
    assert_nothing_leaked();
}

static void credential_documents_free_no_copy_of_a_secret(void **state)
{
    (void)state;
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"Code\": \"Success\", \"AccessKeyId\": \"ASIAEXAMPLE\", \"SecretAccessKey\": "
             "\"%s\", \"Token\": \"%s\", \"Expiration\": \"2026-11-24T20:02:40Z\"}",
             secret, token);
    watch_all();
    struct cg_credentials c = {0};
    char err[256];
    assert_int_equal(cg_parse_credentials_json(doc, strlen(doc), "Token", true, "imds", &c, err,
                                               sizeof(err)),
                     0);
    assert_string_equal(c.secret_access_key, secret);
    cg_credentials_clear(&c);
    free(malloc(1));
    assert_nothing_leaked();
}

static void shared_credentials_file_frees_no_copy_of_a_secret(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof(text),
             "[default]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = %s\n"
             "aws_session_token = %s\n[other]\naws_secret_access_key = %s\n",
             secret, token, secret);
    watch_all();
    struct cg_aws_config cfg;
    char err[256];
    assert_int_equal(cg_aws_config_load_text(&cfg, NULL, text, err, sizeof(err)), 0);
    cg_aws_config_cleanup(&cfg);
    assert_nothing_leaked();
}

static void credential_process_output_is_wiped(void **state)
{
    (void)state;
    char command[1024];
    snprintf(command, sizeof(command),
             "/bin/sh -c 'printf \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"ASIAEXAMPLE\\\", "
             "\\\"SecretAccessKey\\\": \\\"%s\\\", \\\"SessionToken\\\": \\\"%s\\\"}\"'",
             secret, token);
    struct cg_provider *p = cg_provider_process_new("test helper", command);
    assert_non_null(p);
    watch_all();
    struct cg_credentials c = {0};
    char err[512] = "";
    int rc = cg_provider_fetch(p, 0, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("fetch failed: %s", err);
    assert_string_equal(c.secret_access_key, secret);
    assert_string_equal(c.session_token, token);
    cg_credentials_clear(&c);
    cg_provider_free(p);
    assert_nothing_leaked();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(credentials_keep_secret_and_token_out_of_core_dumps),
        cmocka_unit_test(credentials_set_copy_clear_free_no_copy_of_a_secret),
        cmocka_unit_test(xml_fields_leave_no_copy_of_a_pretty_printed_secret),
        cmocka_unit_test(credential_documents_free_no_copy_of_a_secret),
        cmocka_unit_test(shared_credentials_file_frees_no_copy_of_a_secret),
        cmocka_unit_test(credential_process_output_is_wiped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
