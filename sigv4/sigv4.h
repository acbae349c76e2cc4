/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256), header and
 * presigned-query forms, for non-S3 services (STS, CodeGuru Profiler).
 *
 * Pure computation: a request, credentials and a time go in; the
 * canonical request, string to sign, signature and the headers (or query)
 * to add come out.  No I/O, no globals, no logging: callers log the stages
 * at debug level (never the secret or the signing key).
 *
 * Rules (reference/aws-auth.md §1): path normalisation (., .., //) and
 * double URI encoding, both on by default; strict RFC 3986 encoding of
 * query keys and values after decoding them, sorted by key then value;
 * header names lower-cased, values trimmed with runs of white space
 * (folded lines included) squeezed to one space, repeated names merged
 * with ',' in order; host with its port when given; the session token
 * signed unless asked otherwise; User-Agent, Accept, Expect, Authorization
 * and X-Amzn-Trace-Id never signed (clients and proxies change them); the
 * scope date from the same timestamp as X-Amz-Date.
 *
 * Owns: everything in struct sigv4_result is owned by it and freed by
 * sigv4_result_cleanup (which wipes it).  Inputs are borrowed.  Every
 * intermediate copy of the secret, a derived key or the session token is
 * wiped before it is freed, on error paths too (docs/security.md).
 * Thread safety: sigv4_sign is reentrant; a key cache must not be shared
 * between threads without the caller's lock.
 * Signal safety: none (it allocates).
 */
#ifndef CG_SIGV4_H
#define CG_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;               /* "GET", "POST" */
    const char *path;                 /* as sent, without the query: "/a/b" */
    const char *query;                /* without '?', NULL or "" for none */
    const struct sigv4_header *headers; /* must include Host */
    size_t n_headers;
    const void *body;                 /* may be NULL */
    size_t body_len;
    const char *payload_hash;         /* hex SHA-256; NULL: hash body */
};

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;        /* NULL when none */
};

struct sigv4_options {
    const char *region;
    const char *service;
    time_t time;                      /* seconds since the epoch, UTC */
    bool no_normalize_path;           /* default: normalise */
    bool no_double_encode;            /* default: encode the path again */
    bool sign_content_sha256;         /* add and sign x-amz-content-sha256 */
    bool omit_session_token;          /* add the token but do not sign it */
    uint32_t presign_expires_s;       /* 0: header form; else presigned query */
};

/* A header the caller adds to the request (header form), in this order. */
#define SIGV4_MAX_ADDED 4

struct sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char signature[65];               /* hex */
    char amz_date[17];                /* 20150830T123600Z */
    char *signed_headers;             /* "host;x-amz-date" */
    struct {
        char name[32];
        char *value;
    } add[SIGV4_MAX_ADDED];           /* header form: headers to add */
    size_t n_add;
    char *presigned_query;            /* query form: "X-Amz-Algorithm=…&X-Amz-Signature=…" */
};

struct sigv4_key_cache;

/* Signs.  `cache` may be NULL.  Returns 0, CG_EINVAL (missing Host, bad
 * input), or CG_ENOMEM; on error *out is empty. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
               const struct sigv4_options *opts, struct sigv4_key_cache *cache,
               struct sigv4_result *out);

/* Frees and wipes a result.  Safe on a zeroed or cleaned result. */
void sigv4_result_cleanup(struct sigv4_result *res);

/* Derived signing keys per (secret, date, region, service): a day's key
 * is computed once.  Entries are wiped on eviction and on free.  The
 * cache is a page-aligned mapping of its own marked MADV_DONTDUMP, so
 * core dumps do not carry the keys.  new returns NULL when out of memory. */
struct sigv4_key_cache *sigv4_key_cache_new(void);
void sigv4_key_cache_free(struct sigv4_key_cache *cache);
/* Hits and misses so far (tests). */
void sigv4_key_cache_stats(const struct sigv4_key_cache *cache, uint64_t *hits, uint64_t *misses);

/* Hex SHA-256 of data into out[65].  Returns 0 or CG_EINVAL. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
