/*
 * sigv4_suite_test.c - the official AWS SigV4 test suite, kept in this
 * repository under tests/data/sigv4 (see its README.md for origin and
 * licence; the Makefile passes the absolute path): for every case,
 * header and presigned-query forms, the canonical request, string to
 * sign, signature and the signed request must match byte for byte.
 */
#include "core/base/error.h"
#include "sigv4/sigv4.h"

#include <dirent.h>
#include <stdbool.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#ifndef CG_TEST_DATA_DIR
#error "CG_TEST_DATA_DIR (the repository's tests/data) must be defined"
#endif

static const char *suite_dir(void)
{
    return CG_TEST_DATA_DIR "/sigv4";
}

static char *slurp(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t r = fread(s, 1, (size_t)n, f);
    s[r] = '\0';
    fclose(f);
    return s;
}

/* A request.txt, parsed as the suite's README describes. */
struct parsed {
    char method[16];
    char target[1024]; /* path and query as written */
    char path[1024];
    char query[1024];
    char *raw_headers; /* the header lines as written, each ending in \n */
    struct sigv4_header hdrs[16];
    char *names[16], *values[16];
    size_t n;
    char *body;
};

static void parse_request(const char *text, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    const char *nl = strchr(text, '\n');
    size_t first_len = nl ? (size_t)(nl - text) : strlen(text);
    char first[2048];
    memcpy(first, text, first_len);
    first[first_len] = '\0';
    char *suffix = strstr(first, " HTTP/1.1");
    assert_non_null(suffix);
    *suffix = '\0';
    char *sp = strchr(first, ' ');
    *sp = '\0';
    snprintf(p->method, sizeof(p->method), "%.15s", first);
    snprintf(p->target, sizeof(p->target), "%.1000s", sp + 1);
    char *q = strchr(sp + 1, '?');
    if (q) {
        *q = '\0';
        snprintf(p->query, sizeof(p->query), "%.1000s", q + 1);
    }
    snprintf(p->path, sizeof(p->path), "%.1000s", sp + 1);
    const char *line = nl ? nl + 1 : text + first_len;
    size_t raw_cap = strlen(text) + 2;
    p->raw_headers = calloc(1, raw_cap);
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len == 0) {
            p->body = strdup(end ? end + 1 : "");
            return;
        }
        strncat(p->raw_headers, line, len);
        strcat(p->raw_headers, "\n");
        if ((line[0] == ' ' || line[0] == '\t') && p->n > 0) {
            /* continuation: part of the previous value */
            char *v = p->values[p->n - 1];
            size_t vl = strlen(v);
            v = realloc(v, vl + len + 2);
            v[vl] = '\n';
            memcpy(v + vl + 1, line, len);
            v[vl + 1 + len] = '\0';
            p->values[p->n - 1] = v;
        } else {
            const char *colon = memchr(line, ':', len);
            assert_non_null(colon);
            p->names[p->n] = strndup(line, (size_t)(colon - line));
            p->values[p->n] = strndup(colon + 1, len - (size_t)(colon - line) - 1);
            p->n++;
        }
        if (!end)
            break;
        line = end + 1;
    }
    p->body = strdup("");
}

static void free_parsed(struct parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->raw_headers);
    free(p->body);
}

static time_t parse_time(const char *iso)
{
    struct tm tm = {0};
    assert_non_null(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

static int run_case(const char *dir, const char *name, bool query_form)
{
    char cdir[1024];
    snprintf(cdir, sizeof(cdir), "%s/%s", dir, name);
    char *ctx_text = slurp(cdir, "context.json");
    char *req_text = slurp(cdir, "request.txt");
    const char *pre = query_form ? "query" : "header";
    char f1[64], f2[64], f3[64], f4[64];
    snprintf(f1, sizeof(f1), "%s-canonical-request.txt", pre);
    snprintf(f2, sizeof(f2), "%s-string-to-sign.txt", pre);
    snprintf(f3, sizeof(f3), "%s-signature.txt", pre);
    snprintf(f4, sizeof(f4), "%s-signed-request.txt", pre);
    char *want_creq = slurp(cdir, f1), *want_sts = slurp(cdir, f2), *want_sig = slurp(cdir, f3),
         *want_signed = slurp(cdir, f4);
    assert_non_null(ctx_text);
    assert_non_null(req_text);
    assert_non_null(want_creq);
    json_t *ctx = json_loads(ctx_text, 0, NULL);
    assert_non_null(ctx);
    json_t *c = json_object_get(ctx, "credentials");
    struct sigv4_credentials cred = {
        json_string_value(json_object_get(c, "access_key_id")),
        json_string_value(json_object_get(c, "secret_access_key")),
        json_string_value(json_object_get(c, "token")),
    };
    bool sign_body = json_is_true(json_object_get(ctx, "sign_body"));
    struct sigv4_options o = {
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .time = parse_time(json_string_value(json_object_get(ctx, "timestamp"))),
        .no_normalize_path = !json_is_true(json_object_get(ctx, "normalize")),
        .sign_content_sha256 = sign_body,
        .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
        .presign_expires_s = query_form
            ? (uint32_t)json_integer_value(json_object_get(ctx, "expiration_in_seconds")) : 0,
    };
    struct parsed p;
    parse_request(req_text, &p);
    for (size_t i = 0; i < p.n; i++)
        p.hdrs[i] = (struct sigv4_header){p.names[i], p.values[i]};
    char body_hash[65];
    sigv4_sha256_hex(p.body, strlen(p.body), body_hash);
    struct sigv4_request req = {
        p.method, p.path, p.query, p.hdrs, p.n, p.body, strlen(p.body),
        sign_body ? body_hash : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    struct sigv4_result r;
    assert_int_equal(sigv4_sign(&req, &cred, &o, NULL, &r), 0);

    int failures = 0;
#define CHECK(what, got, want)                                                            \
    do {                                                                                  \
        if (strcmp((got), (want)) != 0) {                                                 \
            printf("%s [%s] %s differs:\n--- got\n%s\n--- want\n%s\n", name, pre, what, (got), \
                   (want));                                                               \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)
    CHECK("canonical request", r.canonical_request, want_creq);
    CHECK("string to sign", r.string_to_sign, want_sts);
    CHECK("signature", r.signature, want_sig);

    /* The signed request as the suite writes it. */
    size_t cap = strlen(req_text) + 8192;
    char *signed_req = malloc(cap);
    if (query_form) {
        snprintf(signed_req, cap, "%s %s%s%s%s HTTP/1.1\n%s\n%s", p.method, p.target,
                 strchr(p.target, '?') ? "&" : "?", "", r.presigned_query, p.raw_headers, p.body);
    } else {
        snprintf(signed_req, cap, "%s %s HTTP/1.1\n%s", p.method, p.target, p.raw_headers);
        for (size_t i = 0; i < r.n_add; i++) {
            strcat(signed_req, r.add[i].name);
            strcat(signed_req, ":");
            strcat(signed_req, r.add[i].value);
            strcat(signed_req, "\n");
        }
        strcat(signed_req, "\n");
        strcat(signed_req, p.body);
    }
    CHECK("signed request", signed_req, want_signed);
    free(signed_req);
    sigv4_result_cleanup(&r);
    free_parsed(&p);
    json_decref(ctx);
    free(ctx_text);
    free(req_text);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    free(want_signed);
    return failures;
}

static int count_and_run(bool query_form)
{
    DIR *d = opendir(suite_dir());
    if (!d) {
        printf("SigV4 test suite not found at %s\n", suite_dir());
        fail();
    }
    struct dirent *e;
    int cases = 0, failures = 0;
    while ((e = readdir(d)) != NULL) {
        char ctx[1024];
        struct stat st;
        snprintf(ctx, sizeof(ctx), "%s/%s/context.json", suite_dir(), e->d_name);
        if (e->d_name[0] == '.' || stat(ctx, &st) != 0)
            continue;
        cases++;
        failures += run_case(suite_dir(), e->d_name, query_form) ? 1 : 0;
    }
    closedir(d);
    printf("    %s form: %d cases, %d failed\n", query_form ? "query" : "header", cases, failures);
    assert_int_equal(cases, 38);
    return failures;
}

static void every_case_matches_in_header_form(void **state)
{
    (void)state;
    assert_int_equal(count_and_run(false), 0);
}

static void every_case_matches_in_presigned_query_form(void **state)
{
    (void)state;
    assert_int_equal(count_and_run(true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case_matches_in_header_form),
        cmocka_unit_test(every_case_matches_in_presigned_query_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
