/*
 * sigv4_wipe_test.c - signing leaves no copy of the secret, the session
 * token or a derived key in freed memory, and the key cache is kept out
 * of core dumps.
 *
 * Regression tests for the review finding "secrets not wiped": sigv4.c
 * freed the canonical-header block (which holds x-amz-security-token)
 * and the query-form buffers without wiping them, and its growable
 * string used realloc, which may free the old copy unwiped.  Every free
 * and realloc of libcgcore.a passes through tests/unit/wipe_check.h.
 */
#include "core/base/error.h"
#include "sigv4/sigv4.h"
#include "sigv4/sigv4_internal.h"

#include <mbedtls/md.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/wipe_check.h"

/* Only RFC 3986 unreserved characters: the query form encodes them as
 * they are, so one needle finds every copy. */
static const char token[] = "FQoGZXIvYXdzEXAMPLEsessionTOKEN-wipe_check.0123456789~abcdef";
static const char secret[] = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
static unsigned char signing_key[32];

/* kSigning for (secret, 20150830, us-east-1, sts), as sigv4.c derives it. */
static void derive(void)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    char k0[64];
    snprintf(k0, sizeof(k0), "AWS4%s", secret);
    unsigned char k1[32], k2[32], k3[32];
    mbedtls_md_hmac(md, (const unsigned char *)k0, strlen(k0), (const unsigned char *)"20150830",
                    8, k1);
    mbedtls_md_hmac(md, k1, 32, (const unsigned char *)"us-east-1", 9, k2);
    mbedtls_md_hmac(md, k2, 32, (const unsigned char *)"sts", 3, k3);
    mbedtls_md_hmac(md, k3, 32, (const unsigned char *)"aws4_request", 12, signing_key);
}

static int setup(void **state)
{
    (void)state;
    derive();
    return 0;
}

static void watch_all(void)
{
    wipe_check_reset();
    wipe_check_watch("session token", token, strlen(token));
    wipe_check_watch("secret access key", secret, strlen(secret));
    wipe_check_watch("signing key", signing_key, sizeof(signing_key));
}

static void assert_nothing_leaked(void)
{
    assert_true(wipe_check.frees > 0); /* the wrap is in place */
    if (wipe_check.leaks)
        fail_msg("%d released block(s) still held a secret; first: %s", wipe_check.leaks,
                 wipe_check.first);
}

static const struct sigv4_header sts_headers[] = {
    {"Host", "sts.us-east-1.amazonaws.com"},
    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
};

static const struct sigv4_credentials cred = {
    .access_key_id = "ASIAEXAMPLEWIPECHECK", .secret_access_key = secret, .session_token = token,
};

static int sign(const struct sigv4_request *req, uint32_t presign_s, struct sigv4_key_cache *cache,
                struct sigv4_result *out)
{
    struct sigv4_options o = {
        .region = "us-east-1", .service = "sts", .time = 1440938160, /* 2015-08-30T12:36:00Z */
        .presign_expires_s = presign_s,
    };
    return sigv4_sign(req, &cred, &o, cache, out);
}

/* ---- the buffer's own contract, through its release seam ---- */

static struct {
    int released;
    int dirty; /* released blocks with a non-zero byte */
    size_t bytes;
} seam;

static void checking_release(void *block, size_t size)
{
    seam.released++;
    seam.bytes += size;
    for (size_t i = 0; i < size; i++)
        if (((unsigned char *)block)[i]) {
            seam.dirty++;
            break;
        }
    free(block);
}

static void buffer_wipes_old_blocks_on_growth_and_on_cleanup(void **state)
{
    (void)state;
    memset(&seam, 0, sizeof(seam));
    struct sigv4_buf b = {.release = checking_release};
    /* 256 -> 512 -> 1024 -> 2048 bytes: three blocks let go of on growth. */
    for (int i = 0; i < 20; i++)
        sigv4_buf_puts(&b, token);
    assert_false(b.oom);
    assert_int_equal(b.len, 20 * strlen(token));
    assert_int_equal(seam.released, 3);
    assert_int_equal(seam.bytes, 256 + 512 + 1024);
    assert_int_equal(seam.dirty, 0);
    assert_non_null(strstr(b.s, token));
    sigv4_buf_cleanup(&b);
    assert_int_equal(seam.released, 4);
    assert_int_equal(seam.bytes, 256 + 512 + 1024 + 2048);
    assert_int_equal(seam.dirty, 0);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    assert_true(b.release == checking_release); /* the seam stays for reuse */
    sigv4_buf_cleanup(&b);                      /* twice is fine */
    assert_int_equal(seam.released, 4);
}

static void buffer_take_hands_over_without_release(void **state)
{
    (void)state;
    memset(&seam, 0, sizeof(seam));
    struct sigv4_buf b = {.release = checking_release};
    sigv4_buf_puts(&b, "x-amz-security-token:");
    sigv4_buf_puts(&b, token);
    char *s = sigv4_buf_take(&b);
    assert_int_equal(seam.released, 0);
    assert_null(b.s);
    assert_non_null(strstr(s, token));
    watch_all();
    sigv4_free_secret(s);
    assert_nothing_leaked();
    /* Nothing put: nothing to take. */
    assert_null(sigv4_buf_take(&b));
}

static void buffer_never_reallocs(void **state)
{
    (void)state;
    watch_all();
    struct sigv4_buf b = {0};
    for (int i = 0; i < 50; i++)
        sigv4_buf_puts(&b, token);
    sigv4_buf_cleanup(&b);
    assert_nothing_leaked(); /* realloc of a block holding the token counts too */
}

/* ---- sigv4_sign as a whole ---- */

static void header_form_frees_no_copy_of_a_secret(void **state)
{
    (void)state;
    watch_all();
    struct sigv4_key_cache *cache = sigv4_key_cache_new();
    assert_non_null(cache);
    const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
    struct sigv4_request req = {
        .method = "POST", .path = "/", .headers = sts_headers, .n_headers = 2,
        .body = body, .body_len = strlen(body),
    };
    for (int round = 0; round < 2; round++) { /* a cache miss, then a hit */
        struct sigv4_result r;
        assert_int_equal(sign(&req, 0, cache, &r), 0);
        assert_non_null(strstr(r.canonical_request, token));
        sigv4_result_cleanup(&r);
    }
    sigv4_key_cache_free(cache);
    assert_nothing_leaked();
}

static void query_form_frees_no_copy_of_a_secret(void **state)
{
    (void)state;
    watch_all();
    struct sigv4_request req = {
        .method = "GET", .path = "/", .query = "Action=GetCallerIdentity&Version=2011-06-15",
        .headers = sts_headers, .n_headers = 1,
    };
    struct sigv4_result r;
    assert_int_equal(sign(&req, 900, NULL, &r), 0);
    assert_non_null(strstr(r.presigned_query, token));
    sigv4_result_cleanup(&r);
    assert_nothing_leaked();
}

static void failed_signing_frees_no_copy_of_a_secret(void **state)
{
    (void)state;
    watch_all();
    /* No Host: refused after the headers, token included, were built. */
    struct sigv4_request req = {
        .method = "POST", .path = "/", .headers = sts_headers + 1, .n_headers = 1,
    };
    struct sigv4_result r;
    assert_int_equal(sign(&req, 0, NULL, &r), CG_EINVAL);
    assert_null(r.canonical_request);
    assert_nothing_leaked();
}

static void canonical_query_frees_no_copy_of_a_token(void **state)
{
    (void)state;
    watch_all();
    char query[256];
    snprintf(query, sizeof(query), "b=1&X-Amz-Security-Token=%s&a=%%41", token);
    char *c = sigv4_canonical_query(query);
    assert_non_null(strstr(c, token));
    sigv4_free_secret(c);
    assert_nothing_leaked();
}

static void key_cache_is_excluded_from_core_dumps(void **state)
{
    (void)state;
    struct sigv4_key_cache *cache = sigv4_key_cache_new();
    assert_non_null(cache);
    assert_int_equal((uintptr_t)cache % 4096, 0);
    assert_int_equal(wipe_check_dontdump(cache), 1);
    sigv4_key_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buffer_wipes_old_blocks_on_growth_and_on_cleanup),
        cmocka_unit_test(buffer_take_hands_over_without_release),
        cmocka_unit_test(buffer_never_reallocs),
        cmocka_unit_test(header_form_frees_no_copy_of_a_secret),
        cmocka_unit_test(query_form_frees_no_copy_of_a_secret),
        cmocka_unit_test(failed_signing_frees_no_copy_of_a_secret),
        cmocka_unit_test(canonical_query_frees_no_copy_of_a_token),
        cmocka_unit_test(key_cache_is_excluded_from_core_dumps),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
