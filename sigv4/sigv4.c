/*
 * sigv4.c - SigV4 signing stages and the signing-key cache.
 *
 * DESIGN: named stages in order — canonical URI, canonical query (with the
 * X-Amz-* parameters in query form), canonical headers and signed-header
 * list, payload hash, canonical request, string to sign, signing key,
 * signature — each a small function; sigv4_sign runs them with one
 * cleanup at the bottom.  SHA-256 and HMAC come from mbedTLS's generic md
 * API (stable across mbedTLS 2.28 and 3.x).
 *
 * Secrets: the secret key, the derived keys and everything that may carry
 * the session token (canonical header values and block, canonical query
 * and request, the presigned query, encoded parameters) are wiped with
 * mbedtls_platform_zeroize before they are freed, on the error paths too.
 * Growable text lives in a struct sigv4_buf (buf.c), which wipes on
 * growth and never reallocs.  The key cache, which keeps derived signing
 * keys for a day, sits in its own page-aligned mapping marked
 * MADV_DONTDUMP so that a core dump of the host program does not carry
 * them.  The signature and the access key id are not secret.
 *
 * What it won't do: I/O, logging, clocks (the caller passes the time),
 * S3's single-encoding and unsigned-payload rules, SigV4a.
 */
#include "sigv4/sigv4.h"

#include "core/base/error.h"
#include "sigv4/sigv4_internal.h"

#include <ctype.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const mbedtls_md_info_t *sha256(void)
{
    return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[32];
    if (mbedtls_md(sha256(), data ? data : (const void *)"", len, d) != 0)
        return CG_EINVAL;
    to_hex(d, 32, out);
    return 0;
}

static int hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    return mbedtls_md_hmac(sha256(), key, key_len, (const unsigned char *)msg, strlen(msg), out)
               ? CG_EINVAL : 0;
}

/* ---- signing-key cache ---- */

#define CACHE_SLOTS 4

struct key_entry {
    bool valid;
    unsigned char secret_hash[32]; /* never the secret itself */
    char date[9];
    char region[64];
    char service[64];
    unsigned char key[32];
};

struct sigv4_key_cache {
    struct key_entry slots[CACHE_SLOTS];
    unsigned next;
    uint64_t hits, misses;
};

/* Rounded up to whole pages: the mapping holds nothing else. */
static size_t key_cache_bytes(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    return (sizeof(struct sigv4_key_cache) + p - 1) / p * p;
}

struct sigv4_key_cache *sigv4_key_cache_new(void)
{
    /* Anonymous mappings start zeroed.  MADV_DONTDUMP is best effort:
     * without it (EINVAL before Linux 3.4) the keys are still wiped. */
    void *m = mmap(NULL, key_cache_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    madvise(m, key_cache_bytes(), MADV_DONTDUMP);
    return m;
}

void sigv4_key_cache_free(struct sigv4_key_cache *cache)
{
    if (!cache)
        return;
    mbedtls_platform_zeroize(cache, sizeof(*cache));
    munmap(cache, key_cache_bytes());
}

void sigv4_key_cache_stats(const struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses)
{
    *hits = cache->hits;
    *misses = cache->misses;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int derive_key(const char *secret, const char *date, const char *region,
                      const char *service, unsigned char out[32])
{
    size_t n = strlen(secret) + 4;
    char *k0 = malloc(n + 1);
    if (!k0)
        return CG_ENOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, n - 4 + 1);
    unsigned char k1[32], k2[32], k3[32];
    int rc = hmac(k0, n, date, k1);
    if (!rc)
        rc = hmac(k1, 32, region, k2);
    if (!rc)
        rc = hmac(k2, 32, service, k3);
    if (!rc)
        rc = hmac(k3, 32, "aws4_request", out);
    mbedtls_platform_zeroize(k0, n);
    mbedtls_platform_zeroize(k1, sizeof(k1));
    mbedtls_platform_zeroize(k2, sizeof(k2));
    mbedtls_platform_zeroize(k3, sizeof(k3));
    free(k0);
    return rc;
}

static int signing_key(struct sigv4_key_cache *cache, const char *secret, const char *date,
                       const char *region, const char *service, unsigned char out[32])
{
    if (!cache || strlen(region) >= 64 || strlen(service) >= 64)
        return derive_key(secret, date, region, service, out);
    unsigned char sh[32]; /* lets a guessed secret be checked: wiped too */
    if (mbedtls_md(sha256(), (const unsigned char *)secret, strlen(secret), sh) != 0)
        return CG_EINVAL;
    for (unsigned i = 0; i < CACHE_SLOTS; i++) {
        struct key_entry *e = &cache->slots[i];
        if (e->valid && memcmp(e->secret_hash, sh, 32) == 0 && strcmp(e->date, date) == 0 &&
            strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0) {
            memcpy(out, e->key, 32);
            cache->hits++;
            mbedtls_platform_zeroize(sh, sizeof(sh));
            return 0;
        }
    }
    int rc = derive_key(secret, date, region, service, out);
    if (rc) {
        mbedtls_platform_zeroize(sh, sizeof(sh));
        return rc;
    }
    struct key_entry *e = &cache->slots[cache->next++ % CACHE_SLOTS];
    mbedtls_platform_zeroize(e, sizeof(*e)); /* the evicted key */
    e->valid = true;
    memcpy(e->secret_hash, sh, 32);
    snprintf(e->date, sizeof(e->date), "%s", date);
    snprintf(e->region, sizeof(e->region), "%s", region);
    snprintf(e->service, sizeof(e->service), "%s", service);
    memcpy(e->key, out, 32);
    cache->misses++;
    mbedtls_platform_zeroize(sh, sizeof(sh));
    return 0;
}

/* ---- headers ---- */

struct hdr {
    char *name;   /* lower-case */
    char *value;  /* canonical value (may be the session token: wiped) */
    size_t order; /* input order, for a stable sort */
};

static bool never_signed(const char *lname)
{
    static const char *const skip[] = {"user-agent", "accept", "expect", "authorization",
                                       "x-amzn-trace-id", "connection", "transfer-encoding"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcmp(lname, skip[i]) == 0)
            return true;
    return false;
}

static int cmp_hdr(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static int add_hdr(struct hdr *hs, size_t *n, const char *name, const char *value)
{
    char *lname = strdup(name);
    char *v = sigv4_canonical_header_value(value ? value : "");
    if (!lname || !v) {
        free(lname);
        sigv4_free_secret(v);
        return CG_ENOMEM;
    }
    for (char *p = lname; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (never_signed(lname)) {
        free(lname);
        sigv4_free_secret(v); /* e.g. an Authorization value */
        return 0;
    }
    hs[*n] = (struct hdr){lname, v, *n};
    (*n)++;
    return 0;
}

/* Canonical header block ("name:v1,v2\n"…) and the signed-header list. */
static int canonical_headers(struct hdr *hs, size_t n, struct sigv4_buf *block,
                             struct sigv4_buf *signed_list)
{
    qsort(hs, n, sizeof(*hs), cmp_hdr);
    bool has_host = false;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0) {
            /* a repeated name: values joined with ',' in input order */
            block->len--; /* drop the '\n' */
            sigv4_buf_puts(block, ",");
            sigv4_buf_puts(block, hs[i].value);
            sigv4_buf_puts(block, "\n");
            continue;
        }
        has_host |= strcmp(hs[i].name, "host") == 0;
        sigv4_buf_puts(block, hs[i].name);
        sigv4_buf_puts(block, ":");
        sigv4_buf_puts(block, hs[i].value);
        sigv4_buf_puts(block, "\n");
        if (signed_list->len)
            sigv4_buf_puts(signed_list, ";");
        sigv4_buf_puts(signed_list, hs[i].name);
    }
    if (block->oom || signed_list->oom)
        return CG_ENOMEM;
    return has_host ? 0 : CG_EINVAL;
}

void sigv4_result_cleanup(struct sigv4_result *r)
{
    char *strs[] = {r->canonical_request, r->string_to_sign, r->signed_headers,
                    r->presigned_query};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strs[i]) {
            mbedtls_platform_zeroize(strs[i], strlen(strs[i]));
            free(strs[i]);
        }
    }
    for (size_t i = 0; i < r->n_add; i++) {
        if (r->add[i].value) {
            mbedtls_platform_zeroize(r->add[i].value, strlen(r->add[i].value));
            free(r->add[i].value);
        }
    }
    mbedtls_platform_zeroize(r, sizeof(*r));
}

static int result_add(struct sigv4_result *r, const char *name, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return CG_ENOMEM;
    snprintf(r->add[r->n_add].name, sizeof(r->add[r->n_add].name), "%s", name);
    r->add[r->n_add++].value = v;
    return 0;
}

/* Appends "&name=enc(value)" (no '&' first) to a query under construction. */
static void put_param(struct sigv4_buf *q, const char *name, const char *value)
{
    char *enc = sigv4_uri_encode(value, strlen(value), false);
    if (!enc) {
        q->oom = true;
        return;
    }
    if (q->len)
        sigv4_buf_puts(q, "&");
    sigv4_buf_puts(q, name);
    sigv4_buf_puts(q, "=");
    sigv4_buf_puts(q, enc);
    sigv4_free_secret(enc); /* the encoded token */
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
               const struct sigv4_options *opts, struct sigv4_key_cache *cache,
               struct sigv4_result *out)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    char *uri = NULL, *cquery = NULL, *credential = NULL;
    struct hdr *hs = NULL;
    size_t nh = 0;
    struct sigv4_buf block = {0}, signed_list = {0}, creq = {0}, sts = {0}, q = {0}, all_q = {0},
                     tq = {0}, pq = {0}, auth = {0};
    unsigned char key[32], sig[32];
    char date[9], payload[65], creq_hash[65], scope[200];
    const bool presign = opts->presign_expires_s > 0;
    const bool token = cred->session_token && *cred->session_token;

    if (!req->method || !req->path || !cred->access_key_id || !cred->secret_access_key ||
        !opts->region || !opts->service) {
        rc = CG_EINVAL;
        goto done;
    }

    /* 1. time and scope */
    struct tm tm;
    if (!gmtime_r(&opts->time, &tm)) {
        rc = CG_EINVAL;
        goto done;
    }
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof(date), "%Y%m%d", &tm);
    if ((size_t)snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, opts->region,
                         opts->service) >= sizeof(scope)) {
        rc = CG_EINVAL;
        goto done;
    }

    /* 2. payload hash */
    if (req->payload_hash)
        snprintf(payload, sizeof(payload), "%s", req->payload_hash);
    else if ((rc = sigv4_sha256_hex(req->body, req->body_len, payload)) != 0)
        goto done;

    /* 3. headers: the request's, plus what header form adds and signs */
    hs = calloc(req->n_headers + 4, sizeof(*hs));
    if (!hs) {
        rc = CG_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < req->n_headers && rc == 0; i++)
        rc = add_hdr(hs, &nh, req->headers[i].name, req->headers[i].value);
    if (!presign) {
        if (!rc)
            rc = add_hdr(hs, &nh, "x-amz-date", out->amz_date);
        if (!rc && token && !opts->omit_session_token)
            rc = add_hdr(hs, &nh, "x-amz-security-token", cred->session_token);
        if (!rc && opts->sign_content_sha256)
            rc = add_hdr(hs, &nh, "x-amz-content-sha256", payload);
    }
    if (rc || (rc = canonical_headers(hs, nh, &block, &signed_list)) != 0)
        goto done;

    /* 4. canonical URI and query (query form signs its X-Amz-* parameters) */
    uri = sigv4_canonical_uri(req->path, !opts->no_normalize_path, !opts->no_double_encode);
    size_t cred_len = strlen(cred->access_key_id) + strlen(scope) + 2;
    credential = malloc(cred_len);
    if (!uri || !credential) {
        rc = CG_ENOMEM;
        goto done;
    }
    snprintf(credential, cred_len, "%s/%s", cred->access_key_id, scope);
    if (presign) {
        char expires[16];
        snprintf(expires, sizeof(expires), "%u", opts->presign_expires_s);
        put_param(&q, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
        put_param(&q, "X-Amz-Credential", credential);
        put_param(&q, "X-Amz-Date", out->amz_date);
        put_param(&q, "X-Amz-SignedHeaders", signed_list.s);
        put_param(&q, "X-Amz-Expires", expires);
        /* what is signed: the request's query plus these */
        if (req->query && *req->query)
            sigv4_buf_puts(&all_q, req->query);
        if (all_q.len)
            sigv4_buf_puts(&all_q, "&");
        sigv4_buf_puts(&all_q, q.s ? q.s : "");
        if (token && !opts->omit_session_token) {
            put_param(&tq, "X-Amz-Security-Token", cred->session_token);
            sigv4_buf_puts(&all_q, "&");
            sigv4_buf_puts(&all_q, tq.s ? tq.s : "");
        }
        if (all_q.oom || q.oom || tq.oom) {
            rc = CG_ENOMEM;
            goto done;
        }
        cquery = sigv4_canonical_query(all_q.s);
    } else {
        cquery = sigv4_canonical_query(req->query);
    }
    if (!cquery) {
        rc = CG_ENOMEM;
        goto done;
    }

    /* 5. canonical request */
    sigv4_buf_puts(&creq, req->method);
    sigv4_buf_puts(&creq, "\n");
    sigv4_buf_puts(&creq, uri);
    sigv4_buf_puts(&creq, "\n");
    sigv4_buf_puts(&creq, cquery);
    sigv4_buf_puts(&creq, "\n");
    sigv4_buf_puts(&creq, block.s);
    sigv4_buf_puts(&creq, "\n");
    sigv4_buf_puts(&creq, signed_list.s);
    sigv4_buf_puts(&creq, "\n");
    sigv4_buf_puts(&creq, payload);
    if (creq.oom) {
        rc = CG_ENOMEM;
        goto done;
    }

    /* 6. string to sign */
    if ((rc = sigv4_sha256_hex(creq.s, creq.len, creq_hash)) != 0)
        goto done;
    sigv4_buf_puts(&sts, "AWS4-HMAC-SHA256\n");
    sigv4_buf_puts(&sts, out->amz_date);
    sigv4_buf_puts(&sts, "\n");
    sigv4_buf_puts(&sts, scope);
    sigv4_buf_puts(&sts, "\n");
    sigv4_buf_puts(&sts, creq_hash);
    if (sts.oom) {
        rc = CG_ENOMEM;
        goto done;
    }

    /* 7. signature */
    if ((rc = signing_key(cache, cred->secret_access_key, date, opts->region, opts->service,
                          key)) != 0 ||
        (rc = hmac(key, sizeof(key), sts.s, sig)) != 0)
        goto done;
    to_hex(sig, 32, out->signature);

    /* 8. what the caller adds */
    if (presign) {
        sigv4_buf_puts(&pq, q.s);
        if (token)
            put_param(&pq, "X-Amz-Security-Token", cred->session_token);
        put_param(&pq, "X-Amz-Signature", out->signature);
        if (pq.oom) {
            rc = CG_ENOMEM;
            goto done;
        }
        out->presigned_query = sigv4_buf_take(&pq);
    } else {
        sigv4_buf_puts(&auth, "AWS4-HMAC-SHA256 Credential=");
        sigv4_buf_puts(&auth, credential);
        sigv4_buf_puts(&auth, ", SignedHeaders=");
        sigv4_buf_puts(&auth, signed_list.s);
        sigv4_buf_puts(&auth, ", Signature=");
        sigv4_buf_puts(&auth, out->signature);
        if (auth.oom) {
            rc = CG_ENOMEM;
            goto done;
        }
        if ((token && (rc = result_add(out, "X-Amz-Security-Token", cred->session_token))) ||
            (rc = result_add(out, "X-Amz-Date", out->amz_date)) ||
            (opts->sign_content_sha256 && (rc = result_add(out, "x-amz-content-sha256", payload))) ||
            (rc = result_add(out, "Authorization", auth.s)))
            goto done;
    }
    out->canonical_request = sigv4_buf_take(&creq);
    out->string_to_sign = sigv4_buf_take(&sts);
    out->signed_headers = sigv4_buf_take(&signed_list);

done:
    mbedtls_platform_zeroize(key, sizeof(key));
    for (size_t i = 0; i < nh; i++) {
        free(hs[i].name);
        sigv4_free_secret(hs[i].value);
    }
    free(hs);
    free(uri);
    sigv4_free_secret(cquery); /* query form: holds the token */
    free(credential);
    struct sigv4_buf *bufs[] = {&block, &signed_list, &creq, &sts, &q, &all_q, &tq, &pq, &auth};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        sigv4_buf_cleanup(bufs[i]);
    if (rc)
        sigv4_result_cleanup(out);
    return rc;
}
