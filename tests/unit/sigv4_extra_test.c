/*
 * sigv4_extra_test.c - what the official suite does not cover: REST paths
 * with encoded bytes, ports, empty and given payload hashes, session
 * tokens, excluded headers, the STS form POST, the key cache, bad input.
 */
#include "core/base/error.h"
#include "sigv4/sigv4.h"
#include "sigv4/sigv4_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const struct sigv4_credentials CRED = {"AKIDEXAMPLE",
                                              "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
#define T_2015 1440938160 /* 2015-08-30T12:36:00Z */

static struct sigv4_options opts(void)
{
    struct sigv4_options o = {.region = "us-east-1", .service = "codeguru-profiler",
                              .time = T_2015};
    return o;
}

/* The second line of the canonical request. */
static char *uri_line(const struct sigv4_result *r)
{
    static char line[512];
    const char *a = strchr(r->canonical_request, '\n') + 1;
    const char *b = strchr(a, '\n');
    snprintf(line, sizeof(line), "%.*s", (int)(b - a), a);
    return line;
}

static void rest_path_with_percent_and_space_is_encoded_once_more(void **state)
{
    (void)state;
    char *u = sigv4_canonical_uri("/profilingGroups/my group/agentProfile", true, true);
    assert_string_equal(u, "/profilingGroups/my%20group/agentProfile");
    free(u);
    /* A path already carrying an escape is encoded again (non-S3 rule). */
    u = sigv4_canonical_uri("/profilingGroups/a%2Fb/configureAgent", true, true);
    assert_string_equal(u, "/profilingGroups/a%252Fb/configureAgent");
    free(u);
    u = sigv4_canonical_uri("", true, true);
    assert_string_equal(u, "/");
    free(u);
    u = sigv4_canonical_uri("/a/./b/../../..//c/", true, true);
    assert_string_equal(u, "/c/");
    free(u);
}

static void host_with_non_default_port_is_signed_as_given(void **state)
{
    (void)state;
    struct sigv4_header h[] = {{"Host", "127.0.0.1:8443"}};
    struct sigv4_request req = {"POST", "/profilingGroups/g/configureAgent", NULL, h, 1, "{}", 2,
                                NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    assert_non_null(strstr(r.canonical_request, "\nhost:127.0.0.1:8443\n"));
    sigv4_result_cleanup(&r);
}

static void payload_hash_defaults_to_the_body_and_empty_body_hashes_empty(void **state)
{
    (void)state;
    struct sigv4_header h[] = {{"Host", "h"}};
    struct sigv4_request req = {"POST", "/", NULL, h, 1, NULL, 0, NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    const char *tail = strrchr(r.canonical_request, '\n') + 1;
    assert_string_equal(tail, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sigv4_result_cleanup(&r);
    req.body = "abc";
    req.body_len = 3;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    tail = strrchr(r.canonical_request, '\n') + 1;
    assert_string_equal(tail, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sigv4_result_cleanup(&r);
    req.payload_hash = "UNSIGNED-PAYLOAD";
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    assert_non_null(strstr(r.canonical_request, "\nUNSIGNED-PAYLOAD"));
    sigv4_result_cleanup(&r);
}

static void session_token_is_signed_and_added_before_the_date(void **state)
{
    (void)state;
    struct sigv4_credentials c = CRED;
    c.session_token = "FQoGZXIvYXdzEXAMPLE//token+/=";
    struct sigv4_header h[] = {{"Host", "sts.eu-west-1.amazonaws.com"}};
    struct sigv4_request req = {"POST", "/", NULL, h, 1, "", 0, NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &c, &o, NULL, &r), 0);
    assert_string_equal(r.signed_headers, "host;x-amz-date;x-amz-security-token");
    assert_int_equal(r.n_add, 3);
    assert_string_equal(r.add[0].name, "X-Amz-Security-Token");
    assert_string_equal(r.add[0].value, c.session_token);
    assert_string_equal(r.add[1].name, "X-Amz-Date");
    assert_string_equal(r.add[1].value, "20150830T123600Z");
    assert_string_equal(r.add[2].name, "Authorization");
    assert_non_null(strstr(r.add[2].value, "Credential=AKIDEXAMPLE/20150830/us-east-1/"
                                           "codeguru-profiler/aws4_request, SignedHeaders=host;"
                                           "x-amz-date;x-amz-security-token, Signature="));
    sigv4_result_cleanup(&r);
}

static void headers_clients_change_are_never_signed(void **state)
{
    (void)state;
    struct sigv4_header h[] = {{"Host", "h"}, {"User-Agent", "cgagent/0.1"},
                               {"Accept", "*/*"}, {"Expect", "100-continue"},
                               {"Content-Type", "application/json"}};
    struct sigv4_request req = {"POST", "/", NULL, h, 5, "{}", 2, NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    assert_string_equal(r.signed_headers, "content-type;host;x-amz-date");
    sigv4_result_cleanup(&r);
}

static void missing_host_or_credentials_is_invalid(void **state)
{
    (void)state;
    struct sigv4_header h[] = {{"Content-Type", "x"}};
    struct sigv4_request req = {"GET", "/", NULL, h, 1, NULL, 0, NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), CG_EINVAL);
    assert_null(r.canonical_request);
    struct sigv4_credentials none = {NULL, NULL, NULL};
    struct sigv4_header hh[] = {{"Host", "h"}};
    req.headers = hh;
    assert_int_equal(sigv4_sign(&req, &none, &o, NULL, &r), CG_EINVAL);
}

static void sts_form_post_signs_the_real_body(void **state)
{
    (void)state;
    const char *body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                       "222222222222%3Arole%2Fcentral&RoleSessionName=cgagent-h-1";
    char want[65];
    sigv4_sha256_hex(body, strlen(body), want);
    struct sigv4_header h[] = {
        {"Host", "sts.eu-west-1.amazonaws.com"},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct sigv4_request req = {"POST", "/", NULL, h, 2, body, strlen(body), NULL};
    struct sigv4_options o = opts();
    o.service = "sts";
    o.region = "eu-west-1";
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &r), 0);
    assert_string_equal(strrchr(r.canonical_request, '\n') + 1, want);
    assert_non_null(strstr(r.canonical_request,
                           "content-type:application/x-www-form-urlencoded; charset=utf-8\n"));
    assert_non_null(strstr(r.string_to_sign, "\n20150830/eu-west-1/sts/aws4_request\n"));
    sigv4_result_cleanup(&r);
}

static void query_encoding_is_strict_and_sorted(void **state)
{
    (void)state;
    char *q = sigv4_canonical_query("b=2&a=x y&a=%7e&c&profileToken=5f1e-A~");
    /* %7e decodes to ~, which is unreserved; ~ (0x7E) sorts after x */
    assert_string_equal(q, "a=x%20y&a=~&b=2&c=&profileToken=5f1e-A~");
    free(q);
    q = sigv4_canonical_query("k=%zz&%");
    assert_string_equal(q, "%25=&k=%25zz");
    free(q);
    q = sigv4_canonical_query(NULL);
    assert_string_equal(q, "");
    free(q);
    (void)uri_line;
}

static void key_cache_hits_same_day_and_misses_on_change(void **state)
{
    (void)state;
    struct sigv4_key_cache *cache = sigv4_key_cache_new();
    struct sigv4_header h[] = {{"Host", "h"}};
    struct sigv4_request req = {"GET", "/", NULL, h, 1, NULL, 0, NULL};
    struct sigv4_options o = opts();
    struct sigv4_result r1, r2, r3;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, cache, &r1), 0);
    o.time += 3600; /* same day */
    assert_int_equal(sigv4_sign(&req, &CRED, &o, cache, &r2), 0);
    struct sigv4_result plain;
    assert_int_equal(sigv4_sign(&req, &CRED, &o, NULL, &plain), 0);
    assert_string_equal(r2.signature, plain.signature); /* cached key == fresh key */
    o.time += 86400; /* next day */
    assert_int_equal(sigv4_sign(&req, &CRED, &o, cache, &r3), 0);
    uint64_t hits, misses;
    sigv4_key_cache_stats(cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 2);
    struct sigv4_credentials other = CRED;
    other.secret_access_key = "another-secret";
    struct sigv4_result r4;
    assert_int_equal(sigv4_sign(&req, &other, &o, cache, &r4), 0);
    assert_string_not_equal(r4.signature, r3.signature);
    sigv4_key_cache_stats(cache, &hits, &misses);
    assert_int_equal(misses, 3);
    sigv4_result_cleanup(&r1);
    sigv4_result_cleanup(&r2);
    sigv4_result_cleanup(&r3);
    sigv4_result_cleanup(&r4);
    sigv4_result_cleanup(&plain);
    sigv4_key_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rest_path_with_percent_and_space_is_encoded_once_more),
        cmocka_unit_test(host_with_non_default_port_is_signed_as_given),
        cmocka_unit_test(payload_hash_defaults_to_the_body_and_empty_body_hashes_empty),
        cmocka_unit_test(session_token_is_signed_and_added_before_the_date),
        cmocka_unit_test(headers_clients_change_are_never_signed),
        cmocka_unit_test(missing_host_or_credentials_is_invalid),
        cmocka_unit_test(sts_form_post_signs_the_real_body),
        cmocka_unit_test(query_encoding_is_strict_and_sorted),
        cmocka_unit_test(key_cache_hits_same_day_and_misses_on_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
