/*
 * sign_log_text_test.c - the free-text masker (sts/sign_log.h,
 * cg_sign_log_mask_text) takes every secret out of a quoted service
 * message and leaves the rest of it readable.
 *
 * Regression for issue 28, item 3: an InvalidSignatureException whose
 * message echoed the canonical request put "x-amz-security-token:<token>"
 * into the log file and into `cgagent check`'s text and --json.
 */
#include "sts/sign_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDmTOKENtoken"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SIG "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

/* Masks `in`, checks the result is `want`, and that masking it again
 * changes nothing. */
static void check(const char *in, const char *want)
{
    char *out = cg_sign_log_mask_text(in);
    assert_non_null(out);
    assert_string_equal(out, want);
    char *again = cg_sign_log_mask_text(out);
    assert_non_null(again);
    assert_string_equal(again, out);
    assert_true(strlen(out) <= 2 * strlen(in) + 15);
    free(again);
    free(out);
}

static void echoed_canonical_request_loses_the_token(void **state)
{
    (void)state;
    check("The request signature we calculated does not match the signature you provided. "
          "Check your AWS Secret Access Key and signing method.\n\n"
          "The Canonical String for this request should have been\n'POST\n"
          "/profilingGroups/g/configureAgent\n\ncontent-type:application/json\n"
          "host:127.0.0.1:8080\nx-amz-date:20150830T123600Z\nx-amz-security-token:" TOKEN "\n\n"
          "content-type;host;x-amz-date;x-amz-security-token\n"
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n",
          "The request signature we calculated does not match the signature you provided. "
          "Check your AWS Secret Access Key and signing method.\n\n"
          "The Canonical String for this request should have been\n'POST\n"
          "/profilingGroups/g/configureAgent\n\ncontent-type:application/json\n"
          "host:127.0.0.1:8080\nx-amz-date:20150830T123600Z\nx-amz-security-token:<redacted>\n\n"
          "content-type;host;x-amz-date;x-amz-security-token\n"
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n");
}

static void authorization_header_is_masked_to_its_line_end(void **state)
{
    (void)state;
    check("headers:\nAuthorization: AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/us-east-1/"
          "sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=" SIG "\nX-Amz-Security-Token: "
          TOKEN "\nnext line",
          "headers:\nAuthorization: <redacted>\nX-Amz-Security-Token: <redacted>\nnext line");
    check("{\"Authorization\": \"AWS4-HMAC-SHA256 Signature=" SIG "\", \"x\": 1}",
          "{\"Authorization\": \"<redacted>\", \"x\": 1}");
}

static void query_parameters_keep_the_access_key_id_only(void **state)
{
    (void)state;
    check("GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20150830"
          "%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Security-Token=IQoJ%2Bb3J%2F%3D"
          "&X-Amz-Signature=" SIG "&X-Amz-SignedHeaders=host",
          "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20150830"
          "%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Security-Token=<redacted>"
          "&X-Amz-Signature=<redacted>&X-Amz-SignedHeaders=host");
    check("Signature=" SIG ", signature: " SIG ";", "Signature=<redacted>, signature: <redacted>;");
}

static void credential_documents_in_every_spelling(void **state)
{
    (void)state;
    check("{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"" SECRET "\","
          "\"SessionToken\" : \"" TOKEN "\",\"Token\":\"x\"}",
          "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"<redacted>\","
          "\"SessionToken\" : \"<redacted>\",\"Token\":\"x\"}");
    check("<Credentials><SessionToken>" TOKEN "</SessionToken><SecretAccessKey>" SECRET
          "</SecretAccessKey><Expiration>2015-08-30T13:36:00Z</Expiration></Credentials>",
          "<Credentials><SessionToken><redacted></SessionToken><SecretAccessKey><redacted>"
          "</SecretAccessKey><Expiration>2015-08-30T13:36:00Z</Expiration></Credentials>");
    check("AWS_SESSION_TOKEN=" TOKEN " aws_secret_access_key = " SECRET " secret_key='" SECRET
          "' security_token:" TOKEN,
          "AWS_SESSION_TOKEN=<redacted> aws_secret_access_key = <redacted> secret_key='<redacted>'"
          " security_token:<redacted>");
}

static void a_bare_session_token_is_masked_by_its_shape(void **state)
{
    (void)state;
    char token[400], in[512], want[512];
    /* An emulator-style token: a fixed prefix and 300 base64 characters. */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    snprintf(token, sizeof(token), "IQoJb3JpZ2luX2Vj");
    for (size_t i = 0; i < 300; i++)
        token[16 + i] = b64[(i * 7 + 3) % 64];
    token[316] = '\0';
    snprintf(in, sizeof(in), "The security token included in the request is invalid: %s.",
             token);
    snprintf(want, sizeof(want),
             "The security token included in the request is invalid: <redacted>.");
    check(in, want);
    /* Hashes, ARNs, dates and group paths are not secrets. */
    const char *kept = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
                       "arn:aws:sts::222222222222:assumed-role/cgagent-central/cgagent-1 "
                       "20150830T123600Z 20150830/us-east-1/codeguru-profiler/aws4_request "
                       "/profilingGroups/cgagent-test/agentProfile?profileToken="
                       "0b7e2d60-6a44-4b6b-9f7e-5c1c6f0d8e4a";
    check(kept, kept);
}

static void prose_about_signatures_is_left_alone(void **state)
{
    (void)state;
    /* aws_request.c reads "Signature expired" to spot clock skew. */
    const char *const prose[] = {
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124000Z "
        "(20150830T124500Z - 5 min.)",
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123000Z",
        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        "The security token included in the request is expired",
        "Check your AWS Secret Access Key and signing method.",
        "Authorization: ",
        "x-amz-security-token:",
        "",
    };
    for (size_t i = 0; i < sizeof(prose) / sizeof(prose[0]); i++)
        check(prose[i], prose[i]);
}

static void masked_before_it_is_cut(void **state)
{
    (void)state;
    char small[40];
    cg_sign_log_mask_into("x-amz-security-token:" TOKEN, small, sizeof(small));
    assert_string_equal(small, "x-amz-security-token:<redacted>");
    cg_sign_log_mask_into("host:h\nx-amz-security-token:" TOKEN, small, 16);
    assert_string_equal(small, "host:h\nx-amz-se");
    cg_sign_log_mask_into("anything", small, 0); /* size 0: nothing written */
}

static void worst_case_growth_is_bounded(void **state)
{
    (void)state;
    /* Each "signature=a " (12 bytes) becomes 21: the most a name adds. */
    size_t n = 1000;
    char *in = malloc(12 * n + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        memcpy(in + 12 * i, i % 2 ? "Signature=a " : "signature:a ", 12);
    in[12 * n] = '\0';
    char *out = cg_sign_log_mask_text(in);
    assert_non_null(out);
    assert_int_equal(strlen(out), 21 * n);
    assert_null(strstr(out, "=a"));
    assert_null(strstr(out, ":a"));
    free(out);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echoed_canonical_request_loses_the_token),
        cmocka_unit_test(authorization_header_is_masked_to_its_line_end),
        cmocka_unit_test(query_parameters_keep_the_access_key_id_only),
        cmocka_unit_test(credential_documents_in_every_spelling),
        cmocka_unit_test(a_bare_session_token_is_masked_by_its_shape),
        cmocka_unit_test(prose_about_signatures_is_left_alone),
        cmocka_unit_test(masked_before_it_is_cut),
        cmocka_unit_test(worst_case_growth_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
