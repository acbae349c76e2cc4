/*
 * aws_request.h - one AWS API call, done the way the SDKs do it: signed
 * with SigV4 (sigv4/), sent over core/http, retried in "standard" mode,
 * with clock-skew correction.  Shared by the STS client (query protocol,
 * XML errors) and the CodeGuru Profiler client (rest-json, JSON errors).
 *
 * Retries (reference/aws-auth.md §5): up to max_attempts in all
 * (AWS_MAX_ATTEMPTS, default 3); retried are connection errors and
 * timeouts, HTTP 500/502/503/504, 429, the throttling and transient codes
 * of botocore's standard mode, and STS IDPCommunicationError.  Delay:
 * full jitter, rand[0,1) x min(2^(attempt-1), 20) s, or the server's
 * x-amz-retry-after.  A retry quota of 500 tokens per client (5 per retry,
 * 10 after a timeout, refunded on success) stops retry storms.
 *
 * Clock skew: every response's Date header is compared with our clock;
 * when they differ by 5 minutes or more the process-wide offset is set to
 * the difference and later requests are signed with now + offset.  A
 * request refused for its time (RequestTimeTooSkewed, RequestExpired,
 * InvalidSignatureException, SignatureDoesNotMatch "Signature expired",
 * RequestInTheFuture) is retried once after the correction.
 *
 * Owns: the client owns its HTTP handle and signing-key cache; a result
 * owns its body (wiped on cleanup).
 * Thread safety: one client per thread at a time (the upload thread,
 * `cgagent check`).  The skew offset is process-wide and atomic.
 * Signal safety: none (network, allocation).
 */
#ifndef CG_STS_AWS_REQUEST_H
#define CG_STS_AWS_REQUEST_H

#include "sts/credentials.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cg_aws_protocol {
    CG_AWS_QUERY_XML, /* STS: form POST, XML errors */
    CG_AWS_REST_JSON, /* CodeGuru Profiler: x-amzn-ErrorType, JSON errors */
};

/* Time and waiting, injectable for tests.  Defaults: the real clock and
 * an uninterruptible sleep. */
struct cg_aws_hooks {
    int64_t (*now)(void *ctx);                 /* epoch seconds */
    bool (*wait_ms)(void *ctx, uint64_t ms);   /* false: give up (stopping) */
    void *ctx;
};

struct cg_aws_client_options {
    const char *service;   /* signing name: "sts", "codeguru-profiler" */
    const char *region;    /* signing region */
    const char *endpoint;  /* "https://host[:port][/prefix]" */
    enum cg_aws_protocol protocol;
    uint32_t max_attempts; /* 0: 3 */
    uint32_t connect_timeout_ms; /* 0: 2000 */
    uint32_t timeout_ms;   /* per attempt; 0: 10000 */
    const char *ca_bundle; /* NULL: system store */
    struct cg_aws_hooks hooks;
};

struct cg_aws_client;

/* Returns NULL when the endpoint is not a valid http(s) URL or libcurl is
 * unavailable (one line logged). */
struct cg_aws_client *cg_aws_client_new(const struct cg_aws_client_options *opts);
void cg_aws_client_free(struct cg_aws_client *c);

struct cg_aws_call {
    const char *operation;    /* for messages: "AssumeRole" */
    const char *method;       /* "POST" */
    const char *path;         /* wire-encoded, appended to the endpoint's path */
    const char *query;        /* wire-encoded, without '?'; NULL: none */
    const char *content_type; /* with a body */
    const void *body;
    size_t body_len;
    const struct cg_credentials *credentials; /* NULL: unsigned (web identity) */
    uint64_t deadline_ms;     /* CLOCK_MONOTONIC ms after which no new attempt
                                 starts and waits end; 0: none */
};

struct cg_aws_result {
    long status;              /* last HTTP status; 0 when no answer */
    char *body;               /* last body, NUL-terminated, may be NULL */
    size_t body_len;
    /* Both masked (sts/sign_log.h, cg_sign_log_mask_text): a service may
     * echo the request's session token or signature in its message. */
    char error_code[128];     /* "AccessDenied", "ThrottlingException"... */
    char error_message[512];  /* the service's message, or the transport error */
    int attempts;
    bool transport_error;     /* no answer at all */
};

/* Sends the call.  Returns 0 on a 2xx answer; CG_EHTTP when the service
 * answered with an error (error_code/message say which); CG_ENET when it
 * never answered; CG_ESTATE when stopped by the deadline or hooks;
 * CG_ENOMEM/CG_EINVAL.  *res is always initialised; clean it up. */
int cg_aws_client_call(struct cg_aws_client *c, const struct cg_aws_call *call,
                       struct cg_aws_result *res);

void cg_aws_result_cleanup(struct cg_aws_result *res);

/* Standard-mode classification, exposed for tests and for callers that
 * decide about their own retries. */
bool cg_aws_is_throttling_code(const char *code);
bool cg_aws_is_retryable(long status, const char *code);
bool cg_aws_is_skew_error(const char *code, const char *message);

/* The process-wide clock offset in seconds (server minus local). */
int64_t cg_aws_clock_offset(void);
/* Feeds one Date header observed at local time `local_now`; returns true
 * when the offset changed. */
bool cg_aws_clock_observe(const char *http_date, int64_t local_now);
/* Resets the offset (tests). */
void cg_aws_clock_reset(void);

/* Full-jitter delay in ms before retry number `retry` (1 = first retry),
 * given a random fraction in [0,1). */
uint64_t cg_aws_backoff_ms(unsigned retry, double random_fraction);

/* Strict RFC 3986 percent-encoding for form values and query parts.
 * Returns a malloc'd string or NULL. */
char *cg_aws_uri_encode(const char *s);

/* CLOCK_MONOTONIC in ms. */
uint64_t cg_aws_monotonic_ms(void);

#endif
