/*
 * aws_request.c - signed AWS calls with standard-mode retries and
 * clock-skew correction (see aws_request.h).
 *
 * DESIGN: an error answer's code and message are masked as they are read
 * (cg_sign_log_mask_text): a service may echo the canonical request, and
 * with it the session token, in its message (InvalidSignatureException
 * does), and every caller quotes the message in a log line or in
 * `cgagent check`.  Masking here, once, covers them all.
 */
#include "sts/aws_request.h"
#include "sts/aws_request_internal.h"

#include "core/base/error.h"
#include "core/base/http.h"
#include "core/base/log.h"
#include "sigv4/sigv4.h"
#include "sts/sign_log.h"
#include "sts/xml_fields.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_QUOTA 500
#define RETRY_COST 5
#define RETRY_COST_TIMEOUT 10
#define SKEW_THRESHOLD_S 300

struct cg_aws_client {
    struct cg_http *http;
    struct sigv4_key_cache *keys;
    struct cg_url url;
    char *service, *region, *endpoint;
    enum cg_aws_protocol protocol;
    uint32_t max_attempts, connect_timeout_ms, timeout_ms;
    int quota;
    struct cg_aws_hooks hooks;
};

static _Atomic int64_t clock_offset_s;

int64_t cg_aws_clock_offset(void)
{
    return atomic_load(&clock_offset_s);
}

void cg_aws_clock_reset(void)
{
    atomic_store(&clock_offset_s, 0);
}

bool cg_aws_clock_observe(const char *http_date, int64_t local_now)
{
    int64_t server;
    if (!http_date || !*http_date || cg_parse_http_date(http_date, &server) != 0)
        return false;
    int64_t offset = atomic_load(&clock_offset_s);
    int64_t diff = server - (local_now + offset);
    if (diff > -SKEW_THRESHOLD_S && diff < SKEW_THRESHOLD_S)
        return false;
    atomic_store(&clock_offset_s, server - local_now);
    CG_WARN("clock skew: the AWS server's clock is %+lld s from this host's; signing with "
            "that offset (fix the host's time sync)",
            (long long)(server - local_now));
    return true;
}

uint64_t cg_aws_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t default_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static bool default_wait(void *ctx, uint64_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return true;
}

bool cg_aws_is_throttling_code(const char *code)
{
    static const char *const codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException",
        "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
        "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    };
    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

bool cg_aws_is_retryable(long status, const char *code)
{
    static const char *const transient[] = {
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
        "IDPCommunicationError", "InternalFailure", "InternalServerException",
        "ServiceUnavailable", "ServiceUnavailableException",
    };
    if (status == 0 || status == 429 || status == 500 || status == 502 || status == 503 ||
        status == 504)
        return true;
    if (cg_aws_is_throttling_code(code))
        return true;
    for (size_t i = 0; code && i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strcmp(code, transient[i]) == 0)
            return true;
    return false;
}

bool cg_aws_is_skew_error(const char *code, const char *message)
{
    if (!code)
        return false;
    if (!strcmp(code, "RequestTimeTooSkewed") || !strcmp(code, "RequestExpired") ||
        !strcmp(code, "RequestInTheFuture") || !strcmp(code, "InvalidSignatureException"))
        return true;
    if (!strcmp(code, "SignatureDoesNotMatch") && message &&
        (strstr(message, "Signature expired") || strstr(message, "Signature not yet current")))
        return true;
    return !strcmp(code, "AuthFailure") && message && strstr(message, "expired");
}

uint64_t cg_aws_backoff_ms(unsigned retry, double random_fraction)
{
    double cap_s = 20.0, base = 1.0;
    for (unsigned i = 1; i < retry && base < cap_s; i++)
        base *= 2.0;
    if (base > cap_s)
        base = cap_s;
    if (random_fraction < 0)
        random_fraction = 0;
    if (random_fraction >= 1)
        random_fraction = 0.999999;
    return (uint64_t)(random_fraction * base * 1000.0);
}

char *cg_aws_uri_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct cg_aws_client *cg_aws_client_new(const struct cg_aws_client_options *opts)
{
    struct cg_aws_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (!opts->endpoint || cg_url_parse(opts->endpoint, &c->url) != 0) {
        CG_ERROR("%s endpoint '%s' is not an http(s) URL", opts->service,
                 opts->endpoint ? opts->endpoint : "");
        free(c);
        return NULL;
    }
    if (c->url.query) {
        CG_ERROR("%s endpoint '%s' must not have a query", opts->service, opts->endpoint);
        cg_url_cleanup(&c->url);
        free(c);
        return NULL;
    }
    struct cg_http_options hopts = {.ca_bundle = opts->ca_bundle};
    c->http = cg_http_new(&hopts);
    c->keys = sigv4_key_cache_new();
    c->service = strdup(opts->service);
    c->region = strdup(opts->region ? opts->region : "");
    /* The endpoint without a trailing '/': paths are appended to it. */
    size_t elen = strlen(opts->endpoint);
    while (elen && opts->endpoint[elen - 1] == '/')
        elen--;
    c->endpoint = strndup(opts->endpoint, elen);
    if (!c->http || !c->keys || !c->service || !c->region || !c->endpoint) {
        cg_aws_client_free(c);
        return NULL;
    }
    c->protocol = opts->protocol;
    c->max_attempts = opts->max_attempts ? opts->max_attempts : 3;
    c->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 2000;
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
    c->quota = RETRY_QUOTA;
    c->hooks = opts->hooks;
    if (!c->hooks.now)
        c->hooks.now = default_now;
    if (!c->hooks.wait_ms)
        c->hooks.wait_ms = default_wait;
    return c;
}

void cg_aws_client_free(struct cg_aws_client *c)
{
    if (!c)
        return;
    cg_http_free(c->http);
    sigv4_key_cache_free(c->keys);
    cg_url_cleanup(&c->url);
    free(c->service);
    free(c->region);
    free(c->endpoint);
    free(c);
}

void cg_aws_result_cleanup(struct cg_aws_result *res)
{
    if (!res)
        return;
    if (res->body) {
        explicit_bzero(res->body, res->body_len);
        free(res->body);
    }
    res->body = NULL;
    res->body_len = 0;
}

/* Fills error_code/error_message from the answer, masked (see DESIGN):
 * the whole message is masked before it is cut to the field's size. */
void cg_aws_parse_error(enum cg_aws_protocol protocol, const struct cg_http_response *hr,
                       struct cg_aws_result *res)
{
    res->error_code[0] = res->error_message[0] = '\0';
    if (protocol == CG_AWS_QUERY_XML) {
        struct cg_xml_field f[] = {{"Code", NULL}, {"Message", NULL}};
        if (hr->body && cg_xml_fields(hr->body, hr->body_len, f, 2) == 0) {
            cg_sign_log_mask_into(f[0].value ? f[0].value : "", res->error_code,
                                  sizeof(res->error_code));
            cg_sign_log_mask_into(f[1].value ? f[1].value : "", res->error_message,
                                  sizeof(res->error_message));
        }
        cg_xml_fields_cleanup(f, 2);
    } else {
        cg_sign_log_mask_into(hr->amzn_error_type, res->error_code, sizeof(res->error_code));
        json_t *doc = hr->body ? json_loadb(hr->body, hr->body_len, 0, NULL) : NULL;
        if (json_is_object(doc)) {
            const char *msg = json_string_value(json_object_get(doc, "message"));
            if (!msg)
                msg = json_string_value(json_object_get(doc, "Message"));
            const char *type = json_string_value(json_object_get(doc, "__type"));
            if (msg)
                cg_sign_log_mask_into(msg, res->error_message, sizeof(res->error_message));
            if (!res->error_code[0] && type) {
                const char *hash = strrchr(type, '#');
                cg_sign_log_mask_into(hash ? hash + 1 : type, res->error_code,
                                      sizeof(res->error_code));
            }
        }
        json_decref(doc);
    }
    if (!res->error_code[0]) {
        /* No AWS error document (a proxy, a load balancer, garbage). */
        snprintf(res->error_code, sizeof(res->error_code), "HTTP%ld", hr->status);
        if (!res->error_message[0])
            snprintf(res->error_message, sizeof(res->error_message),
                     "HTTP %ld with no AWS error document", hr->status);
    }
}

/* Builds URL, headers and signature, and sends one attempt. */
static int attempt(struct cg_aws_client *c, const struct cg_aws_call *call, uint32_t timeout_ms,
                   struct cg_http_response *hr)
{
    char *path = NULL, *url = NULL;
    const char *base_path = strcmp(c->url.path, "/") == 0 ? "" : c->url.path;
    size_t bl = strlen(base_path);
    while (bl && base_path[bl - 1] == '/')
        bl--;
    if (asprintf(&path, "%.*s%s", (int)bl, base_path, call->path) < 0)
        return CG_ENOMEM;
    char scheme_host[600];
    snprintf(scheme_host, sizeof(scheme_host), "%s://%s", c->url.https ? "https" : "http",
             c->url.host);
    if (asprintf(&url, "%s%s%s%s", scheme_host, path, call->query ? "?" : "",
                 call->query ? call->query : "") < 0) {
        free(path);
        return CG_ENOMEM;
    }

    struct sigv4_header sh[3];
    size_t nsh = 0;
    sh[nsh++] = (struct sigv4_header){"Host", c->url.host};
    if (call->content_type)
        sh[nsh++] = (struct sigv4_header){"Content-Type", call->content_type};
    struct cg_http_header hh[3 + SIGV4_MAX_ADDED];
    size_t nhh = 0;
    if (call->content_type)
        hh[nhh++] = (struct cg_http_header){"Content-Type", call->content_type};
    hh[nhh++] = (struct cg_http_header){"Accept", c->protocol == CG_AWS_REST_JSON
                                                      ? "application/json"
                                                      : "text/xml"};
    struct sigv4_result sig = {0};
    int rc = 0;
    if (call->credentials) {
        struct sigv4_request sreq = {
            .method = call->method, .path = path, .query = call->query,
            .headers = sh, .n_headers = nsh,
            .body = call->body, .body_len = call->body_len,
        };
        struct sigv4_credentials cred = {
            .access_key_id = call->credentials->access_key_id,
            .secret_access_key = call->credentials->secret_access_key,
            .session_token = call->credentials->session_token,
        };
        struct sigv4_options sopts = {
            .region = c->region, .service = c->service,
            .time = (time_t)(c->hooks.now(c->hooks.ctx) + cg_aws_clock_offset()),
        };
        rc = sigv4_sign(&sreq, &cred, &sopts, c->keys, &sig);
        if (rc != 0)
            goto out;
        if (cg_log_enabled(CG_LOG_DEBUG)) {
            char what[96];
            snprintf(what, sizeof(what), "%s %s", c->service, call->operation);
            cg_sign_log_debug(what, &sig);
        }
        for (size_t i = 0; i < sig.n_add && nhh < sizeof(hh) / sizeof(hh[0]); i++)
            hh[nhh++] = (struct cg_http_header){sig.add[i].name, sig.add[i].value};
    }
    struct cg_http_request hreq = {
        .method = call->method, .url = url, .headers = hh, .header_count = nhh,
        .body = call->body, .body_len = call->body_len,
        .connect_timeout_ms = c->connect_timeout_ms, .timeout_ms = timeout_ms,
    };
    rc = cg_http_perform(c->http, &hreq, hr);
out:
    sigv4_result_cleanup(&sig);
    free(path);
    free(url);
    return rc;
}

int cg_aws_client_call(struct cg_aws_client *c, const struct cg_aws_call *call,
                       struct cg_aws_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!c || !call || !call->method || !call->path)
        return CG_EINVAL;
    bool skew_retried = false;
    int rc = CG_ENET;
    for (unsigned n = 1;; n++) {
        uint32_t timeout = c->timeout_ms;
        if (call->deadline_ms) {
            uint64_t now = cg_aws_monotonic_ms();
            if (now >= call->deadline_ms) {
                if (n == 1 || res->status == 0)
                    snprintf(res->error_message, sizeof(res->error_message),
                             "gave up: out of time");
                return n == 1 ? CG_ESTATE : rc;
            }
            if (call->deadline_ms - now < timeout)
                timeout = (uint32_t)(call->deadline_ms - now);
        }
        struct cg_http_response hr;
        cg_aws_result_cleanup(res);
        res->attempts = (int)n;
        int hrc = attempt(c, call, timeout, &hr);
        if (hrc == CG_ENOMEM || hrc == CG_EINVAL) {
            cg_http_response_cleanup(&hr);
            return hrc;
        }
        bool timed_out = hr.timed_out;
        bool skew_changed = cg_aws_clock_observe(hr.date, c->hooks.now(c->hooks.ctx));
        res->status = hr.status;
        res->transport_error = hrc != 0;
        uint32_t retry_after = hr.retry_after_ms;
        if (hrc != 0) {
            res->error_code[0] = '\0';
            cg_sign_log_mask_into(hr.error, res->error_message, sizeof(res->error_message));
            rc = hrc == CG_ETOOBIG ? CG_EHTTP : CG_ENET;
        } else if (hr.status >= 200 && hr.status < 300) {
            res->body = hr.body;
            res->body_len = hr.body_len;
            hr.body = NULL;
            hr.body_len = 0;
            cg_http_response_cleanup(&hr);
            c->quota += n == 1 ? 1 : RETRY_COST;
            if (c->quota > RETRY_QUOTA)
                c->quota = RETRY_QUOTA;
            return 0;
        } else {
            cg_aws_parse_error(c->protocol, &hr, res);
            res->body = hr.body;
            res->body_len = hr.body_len;
            hr.body = NULL;
            hr.body_len = 0;
            rc = CG_EHTTP;
        }
        cg_http_response_cleanup(&hr);

        bool skew = hrc == 0 && cg_aws_is_skew_error(res->error_code, res->error_message);
        bool retry;
        if (skew)
            retry = !skew_retried && (skew_changed || cg_aws_clock_offset() != 0);
        else
            retry = hrc == CG_ENET ||
                    (hrc == 0 && cg_aws_is_retryable(res->status, res->error_code));
        if (!retry || n >= c->max_attempts)
            return rc;
        if (skew) {
            skew_retried = true; /* immediately, once, with the corrected clock */
            continue;
        }
        int cost = timed_out ? RETRY_COST_TIMEOUT : RETRY_COST;
        if (c->quota < cost) {
            CG_DEBUG("%s %s: retry quota exhausted; not retrying", c->service, call->operation);
            return rc;
        }
        c->quota -= cost;
        uint64_t delay = retry_after
                             ? retry_after
                             : cg_aws_backoff_ms(n, (double)arc4random() / 4294967296.0);
        if (call->deadline_ms) {
            uint64_t now = cg_aws_monotonic_ms();
            if (now + delay >= call->deadline_ms)
                return rc;
        }
        CG_DEBUG("%s %s: attempt %u failed (%s%s%s); retrying in %llu ms", c->service,
                 call->operation, n, res->error_code[0] ? res->error_code : "",
                 res->error_code[0] ? ": " : "", res->error_message,
                 (unsigned long long)delay);
        if (!c->hooks.wait_ms(c->hooks.ctx, delay))
            return rc;
    }
}
